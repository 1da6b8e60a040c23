"""Stack files: pydantic models at the edge, errors that name the field path, the generated
schema, YAML 1.2 numbers and bounded YAML, round trip to a scenario and back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hundredx.errors import InputError
from hundredx.stackfile import load_stack, load_steps, parse_stack, schema, stack_file
from hundredx.stackfile.schema import KernelSection, WorkloadSection

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
LLAMA = {"model": {"id": "meta-llama/Llama-3.1-70B-Instruct", "weights": "bf16"},
         "kernel": {"tp": 8}, "chip": {"system": "hgx-h100-8", "devices": 8}, "workload": {"isl": 512, "osl": 256}}


def _with(section: str, **values) -> dict:
    data = json.loads(json.dumps(LLAMA))
    data[section].update(values)
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_and_round_trip(path):
    scn = load_stack(path)
    assert scn.devices >= 1 and scn.name and scn.source == str(path)
    again = parse_stack(stack_file(scn), name=scn.name)
    assert again.stack.runtime == scn.stack.runtime and again.system == scn.system
    assert again.model.quant.weight == scn.model.quant.weight and again.model.quant.kv == scn.model.quant.kv
    assert (again.workload, again.batch_auto) == (scn.workload, scn.batch_auto)


def test_llama_stack_fields():
    scn = parse_stack(LLAMA)
    assert scn.runtime.tp == 8 and scn.runtime.dp == 1
    assert scn.system.id == "hgx-h100-8"
    assert scn.workload.isl == 512 and scn.batch_auto and math.isinf(scn.workload.tpot_limit_s)


@pytest.mark.parametrize("section,values,field,text", [
    ("kernel", {"tp": 3}, "kernel.tp", "must divide the 64 attention heads"),
    ("kernel", {"tpp": 2}, "kernel.tpp", "Extra inputs are not permitted"),
    ("kernel", {"tp": "8"}, "kernel.tp", "valid integer"),
    ("kernel", {"fused": 1}, "kernel.fused", "valid boolean"),
    ("kernel", {"attention": "fa9"}, "kernel.attention", "must be one of"),
    ("kernel", {"overlap_comm": 1.5}, "kernel.overlap_comm", "less than or equal to 1"),
    ("kernel", {"overlap_comm": float("inf")}, "kernel.overlap_comm", "finite"),
    ("kernel", {"speculative": {"acceptance": 2}}, "kernel.speculative", "must be in [0, 1]"),
    ("kernel", {"speculative": {"acceptanse": 0.5}}, "kernel.speculative.acceptanse", "Unexpected keyword"),
    ("kernel", {"scheduler": {"max_seqs": 0}}, "kernel.scheduler", "max_seqs"),
    ("kernel", {"ep": 2}, "kernel.ep", "dense"),
    ("chip", {"devices": 12}, "chip.devices", "not a multiple of the replica"),
    ("chip", {"system": "h1000"}, "chip.system", "unknown"),
    ("chip", {"nodes": 0}, "chip.nodes", "greater than or equal to 1"),
    ("chip", {"price_per_hour": -1.0}, "chip.price_per_hour", "greater than or equal to 0"),
    ("workload", {"isl": 0}, "workload.isl", "greater than or equal to 1"),
    ("workload", {"batch": "lots"}, "workload.batch", "auto"),
    ("model", {"weights": "fp3"}, "model.weights", "unknown number format"),
    ("model", {"id": "no-such-model"}, "model.id", "not a zoo model"),
])
def test_errors_name_the_field(section, values, field, text):
    with pytest.raises(InputError) as exc:
        parse_stack(_with(section, **values))
    assert exc.value.field == field, str(exc.value)
    assert text in str(exc.value)


def test_missing_section_unknown_key_and_short_forms():
    with pytest.raises(InputError) as exc:
        parse_stack({"model": "meta-llama/Llama-3.1-8B-Instruct"})
    assert exc.value.field == "chip"
    with pytest.raises(InputError) as exc:
        parse_stack({**LLAMA, "chips": {}})
    assert exc.value.field == "chips"
    short = parse_stack({"model": "meta-llama/Llama-3.1-8B-Instruct", "chip": "h100-sxm"})
    assert short.system.id == "hgx-h100-8" and short.devices == 1
    with pytest.raises(InputError, match="exactly one"):
        parse_stack(_with("chip", chip="h100-sxm"))


def test_file_limits_yaml12_and_bombs(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "#" * 300_000)
    with pytest.raises(InputError, match="limit"):
        load_stack(big)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(InputError, match="YAML"):
        load_stack(bad)
    with pytest.raises(InputError, match="no such file"):
        load_stack(tmp_path / "missing.yaml")
    numbers = tmp_path / "numbers.yaml"
    numbers.write_text("model: meta-llama/Llama-3.1-8B-Instruct\nchip: h100-sxm\nworkload: {tpot_limit_s: 5e-2}\n")
    assert load_stack(numbers).workload.tpot_limit_s == 0.05  # YAML 1.2: 5e-2 is a number
    bomb = tmp_path / "bomb.yaml"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [f"{c}: &{c} [" + ", ".join([f"*{p}"] * 10) + "]"
                                                        for p, c in zip("abcdefg", "bcdefgh")]
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 600
    with pytest.raises(InputError, match="too many nodes") as exc:
        load_stack(bomb)
    assert len(str(exc.value)) < 200


def test_schema_is_generated_and_validates_the_examples():
    jsonschema = pytest.importorskip("jsonschema")
    from hundredx import yamlio

    s = schema()
    assert set(s["$defs"]["KernelSection"]["properties"]) == set(KernelSection.model_fields)
    assert set(s["$defs"]["WorkloadSection"]["properties"]) == set(WorkloadSection.model_fields)
    assert s["$defs"]["KernelSection"]["additionalProperties"] is False
    for path in EXAMPLES:
        jsonschema.validate(yamlio.read(path), s)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**LLAMA, "kernel": {"tpp": 1}}, s)


def test_step_files(tmp_path):
    step = tmp_path / "step.yaml"
    step.write_text("name: weights\nchanges: {model.weights: nvfp4}\n")
    full = ROOT / "examples" / "llama70b-b200-fp8.yaml"
    steps = load_steps([str(step), str(full)])
    assert steps[0] == ("weights", {"model.weights": "nvfp4"}) and steps[1].system.id == "hgx-b200-8"
    step.write_text("name: weights\nchanges: {model.weights: nvfp4}\nextra: 1\n")
    with pytest.raises(InputError) as exc:
        load_steps([str(step)])
    assert exc.value.field == "extra"

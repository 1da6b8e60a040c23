"""Stack files: parsing, errors that name the field path, schema agreement, mixing sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hundredx.errors import InputError
from hundredx.stackfile import SCHEMA_PATH, compose, load_stack, parse_stack, with_changes
from hundredx.stackfile.sections import KERNEL_KEYS, WORKLOAD_KEYS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
LLAMA = {"model": {"id": "meta-llama/Llama-3.1-70B-Instruct", "weights": "bf16"},
         "kernel": {"tp": 8}, "chip": {"system": "hgx-h100-8", "devices": 8}, "workload": {"isl": 512, "osl": 256}}


def _with(section: str, **values) -> dict:
    data = json.loads(json.dumps(LLAMA))
    data[section].update(values)
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load(path):
    sf = load_stack(path)
    assert sf.stack.runtime.devices >= 1
    assert set(sf.layers()) == {"model", "kernel", "chip"}


def test_llama_stack_fields():
    sf = parse_stack(LLAMA)
    assert sf.stack.runtime.tp == 8 and sf.stack.runtime.dp == 1
    assert sf.stack.system.id == "hgx-h100-8"
    assert sf.workload.isl == 512 and sf.scenario.batch_auto
    assert sf.scenario.price_per_hour == sf.stack.chip.price_per_hour


@pytest.mark.parametrize("section,values,field,text", [
    ("kernel", {"tp": 3}, "kernel.tp", "must divide the 64 attention heads"),
    ("kernel", {"tpp": 2}, "kernel.tpp", "unknown key"),
    ("kernel", {"attention": "fa9"}, "kernel.attention", "must be one of"),
    ("kernel", {"overlap_comm": 1.5}, "kernel.overlap_comm", "[0.0, 1.0]"),
    ("kernel", {"speculative": {"acceptance": 2}}, "kernel.speculative.acceptance", "[0.0, 1.0]"),
    ("kernel", {"ep": 2}, "kernel.ep", "dense"),
    ("chip", {"devices": 12}, "chip.devices", "not a multiple of tp*pp*cp"),
    ("chip", {"system": "h1000"}, "chip.system", "unknown"),
    ("chip", {"nodes": 0}, "chip.nodes", ">= 1"),
    ("workload", {"isl": 0}, "workload.isl", ">= 1"),
    ("workload", {"batch": "lots"}, "workload.batch", "integer"),
    ("model", {"weights": "fp3"}, "model.weights", "unknown number format"),
    ("model", {"id": "no-such-model"}, "model.id", "not a zoo model"),
])
def test_errors_name_the_field(section, values, field, text):
    with pytest.raises(InputError) as exc:
        parse_stack(_with(section, **values))
    assert exc.value.field == field, str(exc.value)
    assert text in str(exc.value)


def test_missing_section_and_top_level_key():
    with pytest.raises(InputError, match="chip"):
        parse_stack({"model": "meta-llama/Llama-3.1-8B-Instruct"})
    with pytest.raises(InputError, match="unknown top-level key"):
        parse_stack({**LLAMA, "chips": {}})


def test_file_limits(tmp_path):
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


def test_schema_matches_parsers_and_examples():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    props = schema["properties"]
    assert set(props["kernel"]["properties"]) == set(KERNEL_KEYS)
    assert set(props["workload"]["properties"]) == set(WORKLOAD_KEYS)
    for path in EXAMPLES:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_compose_and_changes():
    a = parse_stack(LLAMA, name="A")
    b = parse_stack(_with("chip", system="hgx-b200-8") | {"kernel": {"tp": 4, "attention": "fa4"}}, name="B")
    mixed = compose({"model": a, "kernel": b, "chip": a})
    # fa4 does not exist on H100: the nearest runnable combination uses auto, and says so
    assert mixed.stack.runtime.attention_kernel == "auto"
    assert any("fa4" in n for n in mixed.scenario.adjustments)
    assert mixed.stack.chip.id == "h100-sxm" and mixed.stack.runtime.tp == 4
    changed = with_changes(a, {"model.weights": "fp8", "chip": {"system": "hgx-b200-8", "devices": 8}})
    assert changed.stack.model.quant.weight.name == "fp8" and changed.stack.chip.id == "b200"
    c = parse_stack(_with("chip", devices=16) | {"kernel": {"tp": 16}} | {"chip": {"system": "hgx-h100-8", "devices": 16}})
    with pytest.raises(InputError, match="chip.devices"):
        compose({"model": a, "kernel": c, "chip": parse_stack(_with("kernel", tp=2) | {"chip": {"system": "hgx-h100-8", "devices": 6}})},
                adjust=False)

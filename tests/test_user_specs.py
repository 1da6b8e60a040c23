"""A user's own chip and system files, models from dicts / transformers configs, and the Hub fetch
(issue 16, item 2): validated like the catalog, user-provided figures shown as assumptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hundredx
from hundredx.cli import app
from hundredx.errors import InputError

RUN = CliRunner()
ZOO = Path(hundredx.__file__).parent / "zoo" / "meta-llama" / "Llama-3.1-8B-Instruct" / "config.json"
CHIP = """id: my-npu
name: My NPU
vendor: Acme
peak_flops_per_s: {bf16: 5.0e+14, fp8: 1.0e+15}
mem_bytes: 6.4e+10
mem_bytes_per_s: 2.0e+12
scaleup_bytes_per_s: 2.0e+11
generation: hopper
"""
SYSTEM = """id: my-pod
name: My pod of 4
chip: chip.yaml
devices_per_node: 4
scaleup_domain: 4
topology: switched
scaleup_bytes_per_s: 2.0e+11
scaleup_latency_s: 3.0e-06
scaleout_bytes_per_s: 2.5e+10
scaleout_latency_s: 6.0e-06
sources: ["Acme pod datasheet rev 2 (https://example.com/pod)"]
"""


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "chip.yaml").write_text(CHIP + "user_provided: true\nsystem: hgx-h100-8\n")
    (tmp_path / "sys.yaml").write_text(SYSTEM)
    return tmp_path


def test_chip_file_needs_sources_or_user_provided(tmp_path):
    bare = tmp_path / "bare.yaml"
    bare.write_text(CHIP)
    with pytest.raises(InputError, match="user_provided: true"):
        hundredx.load_chip(bare)
    bare.write_text(CHIP + "sources: [datasheet]\nbogus_key: 1\n")
    with pytest.raises(InputError, match="unknown keys"):
        hundredx.load_chip(bare)
    bare.write_text(CHIP + "sources: [Acme datasheet]\n")
    chip = hundredx.load_chip(str(bare))
    assert chip.id == "my-npu" and chip.sources == ("Acme datasheet",) and chip.peak("fp8") == 1e15


def test_user_chip_and_system_predict_with_assumptions(files):
    chip = hundredx.load_chip(files / "chip.yaml")
    assert any(s.startswith("user-provided:") for s in chip.sources)
    system = hundredx.load_system(files / "sys.yaml")
    assert system.id == "my-pod" and system.chip.id == "my-npu" and system.scaleup_domain == 4
    p = hundredx.predict("meta-llama/Llama-3.1-8B-Instruct", str(files / "sys.yaml"), batch=8, isl=1024, osl=128,
                         tp=4)
    assert p.devices == 4 and p.tpot_s > 0
    assert any("chip.yaml" in a for a in p.provenance["assumptions"])  # the chip file is user-provided
    assert not any("sys.yaml" in a for a in p.provenance["assumptions"])  # the system file is sourced


def test_cli_chip_and_system_files(files):
    r = RUN.invoke(app, ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", str(files / "chip.yaml"),
                         "--tp", "2", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["chip"] == "my-npu" and d["system"] == "hgx-h100-8+my-npu"
    assert any("wiring of catalog system hgx-h100-8" in a for a in d["provenance"]["assumptions"])
    text = RUN.invoke(app, ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip",
                            str(files / "chip.yaml")])
    assert text.exit_code == 0 and "assumption: user-provided:" in text.output
    r = RUN.invoke(app, ["serve", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--system", str(files / "sys.yaml"),
                         "--tp", "4", "--requests", "10", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["system"] == "my-pod"
    r = RUN.invoke(app, ["op", "collective", "--system", str(files / "sys.yaml"), "--ranks", "4", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["chip"] == "my-npu"
    r = RUN.invoke(app, ["op", "gemm", "--chip", str(files / "chip.yaml"), "--m", "64", "--n", "512", "--k", "512",
                         "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["chip"] == "my-npu"
    both = RUN.invoke(app, ["predict", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--chip", "h100-sxm",
                            "--system", str(files / "sys.yaml")])
    assert both.exit_code == 2 and "exactly one of --chip" in both.output


def test_stack_file_names_a_chip_file_relative_to_itself(files):
    (files / "stack.yaml").write_text("model: meta-llama/Llama-3.1-8B-Instruct\nkernel: {tp: 2}\n"
                                      "chip: chip.yaml\nworkload: {isl: 512, osl: 64, batch: 4}\n")
    from hundredx.stackfile import load_stack

    scn = load_stack(files / "stack.yaml")
    assert scn.system.chip.id == "my-npu" and scn.devices == 2
    from hundredx.stackfile import parse_stack, stack_file

    normal = stack_file(scn)  # names the chip file, so it reads back
    assert normal["chip"]["system"] == str((files / "chip.yaml").resolve())
    again = parse_stack(normal)
    assert again.system.chip.id == "my-npu" and again.system.id == scn.system.id


def test_model_from_dict_and_pretrained_config():
    cfg = json.loads(ZOO.read_text())

    class FakePretrainedConfig:  # what transformers.PretrainedConfig offers: .to_dict(), .name_or_path
        name_or_path = "me/my-llama"

        def to_dict(self):
            return dict(cfg)

    zoo = hundredx.load_model("meta-llama/Llama-3.1-8B-Instruct")
    for ref in (cfg, FakePretrainedConfig()):
        spec = hundredx.load_model(ref)
        assert spec.num_layers == zoo.num_layers and spec.hidden_size == zoo.hidden_size
    assert hundredx.load_model(FakePretrainedConfig()).id == "me/my-llama"
    a = hundredx.predict(FakePretrainedConfig(), "h100-sxm", batch=8, isl=1024, osl=256, tp=1)
    b = hundredx.predict("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", batch=8, isl=1024, osl=256, tp=1)
    assert a.tpot_s == pytest.approx(b.tpot_s, rel=1e-9)


def test_hub_refuses_clearly_offline_and_uses_its_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNDREDX_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = RUN.invoke(app, ["model", "show", "hf:someone/not-cached", "--json"])
    assert r.exit_code == 2 and "offline" in r.output and "Traceback" not in r.output
    from hundredx.model.hub import cache_path

    cached = cache_path("someone/cached")
    cached.parent.mkdir(parents=True)
    cached.write_text(ZOO.read_text())
    r = RUN.invoke(app, ["model", "show", "hf:someone/cached", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["num_layers"] == 32
    bad = RUN.invoke(app, ["model", "show", "hf:../etc"])
    assert bad.exit_code == 2


def test_chip_show_reads_a_file(files):
    r = RUN.invoke(app, ["chip", "show", str(files / "chip.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["id"] == "my-npu" and d["standard_system"] == "hgx-h100-8+my-npu"
    assert any(s.startswith("user-provided:") for s in d["sources"])


def test_hub_unreachable_is_one_line(tmp_path, monkeypatch):
    """With the network down, hf_hub_download raises; the refusal names the model and the way out."""
    import sys
    import types

    fake = types.ModuleType("huggingface_hub")

    def hf_hub_download(repo_id, filename):
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    fake.hf_hub_download = hf_hub_download
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    monkeypatch.setenv("HUNDREDX_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(InputError, match="ConnectionError.*pass a config.json path"):
        hundredx.load_model("hf:someone/model")
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # the extra not installed
    with pytest.raises(InputError, match=r"hundredx\[hub\]"):
        hundredx.load_model("hf:someone/model")

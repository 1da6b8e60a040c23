"""Chip/system catalog: every file loads with sources; conventions (dense, per direction) hold."""

from __future__ import annotations

import dataclasses

import pytest

from hundredx.chip import list_chips, list_systems, load_chip, load_system
from hundredx.chip.catalog import CATALOG_DIR, chip_from_dict
from hundredx.chip.topology import torus_slice_dims
from hundredx.errors import InputError

SCHEMA_CHIPS = ["a100-sxm-80gb", "h100-sxm", "h100-pcie", "h800-sxm", "h20", "h200-sxm", "b200", "b300", "gb200",
                "gb300", "rubin", "mi300x", "mi325x", "mi355x", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7", "trainium2",
                "trainium3", "groq-lpu", "cerebras-wse3", "ascend-910c"]


def test_catalog_has_every_schema_chip():
    assert sorted(SCHEMA_CHIPS) == list_chips()


@pytest.mark.parametrize("chip_id", SCHEMA_CHIPS)
def test_chip_loads_with_sources(chip_id):
    chip = load_chip(chip_id)
    assert chip.id == chip_id
    assert len(chip.sources) >= 2 and all(isinstance(s, str) and s for s in chip.sources)
    assert chip.peak("bf16") > 0 and chip.mem_bytes_per_s > 0 and chip.mem_bytes > 0
    assert chip.scaleup_bytes_per_s > 0


@pytest.mark.parametrize("system_id", list_systems())
def test_system_loads_with_sources(system_id):
    system = load_system(system_id)
    assert system.sources and system.chip.id in SCHEMA_CHIPS
    assert system.scaleup_bytes_per_s > 0 and system.scaleup_domain >= 1


def test_every_chip_has_a_standard_system():
    expected = {"h100-sxm": "hgx-h100-8", "gb200": "gb200-nvl72", "a100-sxm-80gb": "hgx-a100-8",
                "mi300x": "mi300x-8", "tpu-v5e": "tpu-v5e-256", "trainium2": "trn2-16", "rubin": "vr200-nvl72"}
    for chip_id in SCHEMA_CHIPS:
        assert load_system(chip_id).chip.id == chip_id
    for chip_id, system_id in expected.items():
        assert load_system(chip_id).id == system_id


def test_bandwidths_are_per_direction():
    # NVLink4 900 GB/s bidirectional -> 450 per direction; NVLink3 600 -> 300; NVLink5 1800 -> 900
    assert load_chip("h100-sxm").scaleup_bytes_per_s == pytest.approx(450e9)
    assert load_chip("a100-sxm-80gb").scaleup_bytes_per_s == pytest.approx(300e9)
    assert load_chip("b200").scaleup_bytes_per_s == pytest.approx(900e9)
    assert load_chip("h800-sxm").scaleup_bytes_per_s == pytest.approx(200e9)
    assert load_chip("h100-sxm").scaleout_bytes_per_s == pytest.approx(50e9)  # ConnectX-7 400 Gb/s


def test_dense_peaks_and_missing_format_paths():
    assert load_chip("h100-sxm").peak("bf16") == pytest.approx(989.4e12)  # dense, not the 1979 sparse figure
    for chip_id in ("a100-sxm-80gb", "tpu-v5e", "ascend-910c"):
        assert load_chip(chip_id).peak("fp8") == 0.0
    for chip_id in ("h100-sxm", "h200-sxm", "h800-sxm", "h20", "a100-sxm-80gb", "mi300x"):
        assert load_chip(chip_id).peak("fp4") == 0.0
    assert load_chip("b200").peak("fp4") == pytest.approx(2 * load_chip("b200").peak("fp8"))


def test_chips_name_no_kernels():
    """Chips describe hardware only: which kernels run where is the kernel catalog's (kernel/catalog.py)."""
    from hundredx.chip.spec import ChipSpec

    assert "attention_kernels" not in ChipSpec.__slots__
    for chip_id in list_chips():
        text = (CATALOG_DIR / f"{chip_id}.yaml").read_text()
        assert "attention_kernels" not in text and "flash-attention" not in text.lower(), chip_id
    old = dict(dataclasses.asdict(load_chip("h100-sxm")), attention_kernels=["fa3"])
    with pytest.raises(InputError, match="kernel catalog"):
        chip_from_dict(old)


def test_preliminary_flags():
    assert load_chip("rubin").preliminary and not load_chip("h100-sxm").preliminary


def test_unknown_ids_raise_input_error():
    with pytest.raises(InputError, match="unknown chip"):
        load_chip("h900")
    with pytest.raises(InputError, match="system"):
        load_system("no-such-system")
    with pytest.raises(InputError, match="devices"):
        load_system("h100-sxm", devices=0)


def test_validation_rejects_bad_entries():
    good = {f.name: getattr(load_chip("h100-sxm"), f.name) for f in dataclasses.fields(load_chip("h100-sxm"))}
    with pytest.raises(InputError, match="unknown keys"):
        chip_from_dict({**good, "peak_bf16": 1.0}, "x")
    with pytest.raises(InputError, match="negative"):
        chip_from_dict({**good, "peak_flops_per_s": {"bf16": -1.0}}, "x")
    with pytest.raises(InputError, match="sources"):
        chip_from_dict({**good, "sources": []}, "x")
    with pytest.raises(InputError):
        chip_from_dict({**good, "mem_bytes_per_s": "fast"}, "x")


def test_torus_slices():
    assert torus_slice_dims(64, 3) == (4, 4, 4)
    assert torus_slice_dims(256, 2) == (16, 16)
    sliced = load_system("tpu-v5p", devices=64)
    assert sliced.scaleup_domain == 64 and sliced.torus_dims == (4, 4, 4)
    multi = load_system("h100-sxm", devices=64)
    assert multi.devices == 64 and multi.nodes == 8 and multi.scaleup_domain == 8


def test_shipped_files_cite_no_absolute_paths():
    """Data files are cited relative to the repository (data/...) with a sha256, never as /work/..."""
    import re
    from pathlib import Path

    package = CATALOG_DIR.parents[1]
    for path in list(package.rglob("*.yaml")) + list(package.rglob("*.json")):
        text = path.read_text()
        assert "/work/" not in text, path
    for chip_id in list_chips():
        for source in load_chip(chip_id).sources:
            if "datasheets.csv" in source:
                assert source.startswith("data/chips/datasheets.csv") and re.search(r"sha256 [0-9a-f]{64}", source)
    shared = Path(__file__).resolve().parents[1] / "data" / "chips" / "datasheets.csv"
    if shared.is_file():
        import hashlib

        digest = hashlib.sha256(shared.read_bytes()).hexdigest()
        assert all(digest in s for c in list_chips() for s in load_chip(c).sources if "datasheets.csv" in s)

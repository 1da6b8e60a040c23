"""Architecture families (chip/family.py): derived from chip data, overridable in the YAML."""

from __future__ import annotations

import dataclasses

import pytest

from hundredx.chip import load_chip
from hundredx.chip.catalog import chip_from_dict, list_chips
from hundredx.chip.family import derive_family


@pytest.mark.parametrize("chip_id,family", [
    ("h100-sxm", "hopper"), ("h200-sxm", "hopper"), ("h800-sxm", "hopper"), ("h20", "hopper"),
    ("h100-pcie", "hopper"), ("b200", "blackwell"), ("b300", "blackwell"), ("gb200", "blackwell"),
    ("gb300", "blackwell"), ("rubin", "rubin"), ("a100-sxm-80gb", "ampere"), ("mi300x", "cdna"),
    ("mi355x", "cdna"), ("tpu-v5e", "tpu_v5"), ("tpu-v5p", "tpu_v5"), ("tpu-v6e", "tpu_v6"), ("tpu-v7", "tpu_v7"),
    ("trainium2", "trainium"), ("groq-lpu", "sram_dataflow"), ("cerebras-wse3", "sram_dataflow"),
    ("ascend-910c", "ascend")])
def test_catalog_families(chip_id, family):
    assert load_chip(chip_id).family == family


def test_every_catalog_chip_has_a_family():
    assert all(load_chip(c).family for c in list_chips())


def test_unknown_generation_is_its_own_family_and_yaml_may_name_one():
    assert derive_family("some_new_arch", "X1", "x1") == "x1"
    raw = dataclasses.asdict(load_chip("h200-sxm"))
    raw.update(id="h200-test", family="", sources=("test",))
    assert chip_from_dict(raw).family == "hopper"
    raw["family"] = "custom"
    assert chip_from_dict(raw).family == "custom"

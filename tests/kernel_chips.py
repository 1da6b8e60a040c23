"""Test helper: ChipSpec objects for the kernel-layer tests, from the catalog when its loader exists."""

from __future__ import annotations

from pathlib import Path

import yaml

from hundredx.chip.spec import ChipSpec

CATALOG = Path(__file__).resolve().parents[1] / "src" / "hundredx" / "chip" / "catalog"


def chip(chip_id: str) -> ChipSpec:
    """The catalog chip (through hundredx.chip.load_chip when available, else the YAML read directly)."""
    try:
        from hundredx.chip import load_chip
    except ImportError:
        load_chip = None
    if load_chip is not None:
        return load_chip(chip_id)
    data = yaml.safe_load((CATALOG / f"{chip_id}.yaml").read_text())
    fields = set(ChipSpec.__slots__)
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in fields}
    return ChipSpec(**kwargs)


def toy_chip(**overrides) -> ChipSpec:
    """A hand-made chip with round numbers for hand-computed expectations (Hopper kernels of the kernel catalog)."""
    base = dict(id="toy", name="toy", vendor="test", peak_flops_per_s={"bf16": 1e15, "fp8": 2e15},
                mem_bytes=80e9, mem_bytes_per_s=1e12, num_sms=100, gemm_tile_m=128, gemm_tile_n=128,
                kernel_launch_s=4e-6, generation="hopper", sources=("test",))
    base.update(overrides)
    return ChipSpec(**base)

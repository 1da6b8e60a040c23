"""Number formats: element bits, block scales and the tensor-core path each one uses.

A format's storage cost is `bits/8` per element plus `scale_bits/8` per `block` elements
(e.g. NVFP4: 4-bit E2M1 values with one FP8 E4M3 scale per 16 elements = 4.5 bits/elem;
MXFP4: one E8M0 scale per 32 = 4.25 bits; FP8 block-128 (DeepSeek-V3): one FP32 scale per
128x128 weight block, per 1x128 activation group; int4 with group size g: a 16-bit scale per g).
`compute` names the peak-FLOP/s key of a chip that executes GEMMs in that format
(`bf16`, `fp16`, `fp8`, `fp4`, `int8`, `tf32`, `fp32`); weight-only formats (int4 with
bf16 activations) compute in the activation format, which the kernel layer decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from hundredx.errors import InputError


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """One number format. `bytes_per_element` includes the amortised block-scale bytes."""

    name: str
    bits: int
    compute: str
    block: int = 0
    scale_bits: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        if self.bits <= 0:
            raise ValueError(f"format {self.name}: bits={self.bits} must be positive")
        if self.block < 0 or (self.block == 0) != (self.scale_bits == 0):
            raise ValueError(f"format {self.name}: block={self.block} and scale_bits={self.scale_bits} "
                             "must be set together")

    @property
    def bytes_per_element(self) -> float:
        scale = self.scale_bits / self.block if self.block else 0.0
        return (self.bits + scale) / 8.0


COMPUTE_CLASSES = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp6", "fp4")

FORMATS: dict[str, NumberFormat] = {
    f.name: f
    for f in (
        NumberFormat("fp32", 32, "fp32", description="IEEE single precision"),
        NumberFormat("tf32", 32, "tf32", description="fp32 storage, TF32 tensor-core math"),
        NumberFormat("bf16", 16, "bf16", description="bfloat16"),
        NumberFormat("fp16", 16, "fp16", description="IEEE half"),
        NumberFormat("fp8", 8, "fp8", description="FP8 E4M3 with per-tensor scale"),
        NumberFormat("fp8_e4m3", 8, "fp8", description="FP8 E4M3 with per-tensor scale"),
        NumberFormat("fp8_e5m2", 8, "fp8", description="FP8 E5M2 with per-tensor scale"),
        NumberFormat("fp8_block128", 8, "fp8", block=128, scale_bits=32,
                     description="FP8 E4M3, one FP32 scale per 128 elements (DeepSeek-V3 1x128 / 128x128 blocks)"),
        NumberFormat("mxfp8", 8, "fp8", block=32, scale_bits=8, description="OCP MX FP8, E8M0 scale per 32"),
        NumberFormat("int8", 8, "int8", description="INT8 with per-channel scale"),
        NumberFormat("mxfp6", 6, "fp6", block=32, scale_bits=8, description="OCP MX FP6, E8M0 scale per 32"),
        NumberFormat("nvfp4", 4, "fp4", block=16, scale_bits=8,
                     description="NVIDIA NVFP4: E2M1, FP8 E4M3 scale per 16"),
        NumberFormat("mxfp4", 4, "fp4", block=32, scale_bits=8, description="OCP MX FP4: E2M1, E8M0 scale per 32"),
        NumberFormat("fp4", 4, "fp4", block=16, scale_bits=8, description="alias of nvfp4"),
        NumberFormat("int4", 4, "int4", block=128, scale_bits=16,
                     description="INT4 weights, fp16 scale per group of 128"),
    )
}

ALIASES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "half": "fp16", "e4m3": "fp8", "e5m2": "fp8_e5m2",
           "fp8_block": "fp8_block128", "w4a16": "int4", "fp8-block128": "fp8_block128"}


def get_format(name: str, field: str = "format") -> NumberFormat:
    """Look a format up by name; 'int4_g64' gives int4 with group size 64."""
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key in FORMATS:
        return FORMATS[key]
    if key.startswith("int4_g") and key[6:].isdigit() and int(key[6:]) > 0:
        return NumberFormat(key, 4, "int4", block=int(key[6:]), scale_bits=16,
                            description=f"INT4, fp16 scale per {key[6:]}")
    raise InputError(field, name, f"unknown number format; known: {', '.join(sorted(FORMATS))}, int4_g<N>")

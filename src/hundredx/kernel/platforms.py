"""The software platform of each chip architecture: which mechanisms of the kernel layer apply to it.

Kernel-layer mechanisms were first written for (and fitted on) NVIDIA GPUs. A mechanism that
belongs to one vendor's software must not be applied to another's chips (issue 11, item 4), so
each architecture names its platform here, and the models read the platform's properties:

| platform | archs | GEMM stride penalty | collectives | engine overheads |
|---|---|---|---|---|
| cuda | ampere, hopper, blackwell(_ultra), rubin | yes (cuBLAS/CUTLASS: TMA 16-B strides) | nccl | fitted |
| rocm | cdna3, cdna4 | yes (hipBLASLt 16-B vector loads) | rccl | fitted (vLLM/SGLang) |
| xla | tpu | no: XLA pads to (8,128) / MXU tiles (tile model) | xla | not applied |
| neuron | trainium | no: Neuron compiler / NKI tiles | neuron | not applied |
| cann | davinci | no: CANN cube fractal layout | hccl | not applied |
| dataflow | lpu, wse | no: compiler-scheduled SRAM dataflow | dataflow | not applied |

* **Stride penalty** (`stride_penalty`): `gemm.unaligned` / `gemm.odd` / `gemm.unaligned_mem` are the
  cuBLAS/hipBLASLt loss when a row stride breaks the vector-load / TMA alignment (measured on H100).
  XLA, Neuron and CANN lay operands out themselves (padding to the tile, priced by the tile/wave model);
  a dataflow compiler places weights in SRAM at any width.
* **Collective library** (`collective`): the catalog row predictions use when the stack names none.
* **Engine overheads** (`engine_fitted`): kernel/fitted/engine.json was fitted on GPU serving engines
  (vLLM, SGLang, TensorRT-LLM cases); on other platforms nothing identifies them, so they are not
  applied and the prediction's fallbacks say so.
Sources: NVIDIA CUDA / cuBLAS docs (TMA 16-byte alignment); ROCm hipBLASLt docs; XLA TPU layout
docs (cloud.google.com/tpu/docs/performance-guide: dimensions padded to multiples of 8 and 128);
AWS Neuron docs (NKI tiles); Huawei CANN docs; Groq / Cerebras architecture papers (compiler-scheduled,
weights resident in on-chip SRAM).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Platform:
    """One software platform (module docstring's table)."""

    name: str
    archs: tuple[str, ...]
    stride_penalty: bool
    collective: str
    engine_fitted: bool
    sram_dataflow: bool = False
    source: str = ""


PLATFORMS: tuple[Platform, ...] = (
    Platform("cuda", ("ampere", "hopper", "blackwell", "blackwell_ultra", "rubin"), True, "nccl", True,
             source="CUDA programming guide (TMA: 16-byte aligned global strides); measured H100 stride loss"),
    Platform("rocm", ("cdna3", "cdna4"), True, "rccl", True,
             source="ROCm hipBLASLt (16-byte vectorized loads); vLLM/SGLang ROCm builds"),
    Platform("xla", ("tpu",), False, "xla", False,
             source="Cloud TPU performance guide: XLA pads array dimensions to multiples of 8 and 128"),
    Platform("neuron", ("trainium",), False, "neuron", False, source="AWS Neuron NKI: tiles of 128 partitions"),
    Platform("cann", ("davinci",), False, "hccl", False, source="Huawei CANN: cube unit 16x16x16 fractal layout"),
    Platform("dataflow", ("lpu", "wse"), False, "dataflow", False, True,
             source="Groq TSP (ISCA 2020) / Cerebras WSE: compiler-scheduled, weights resident in on-chip SRAM"),
)
_BY_ARCH = {arch: p for p in PLATFORMS for arch in p.archs}
UNKNOWN = Platform("unknown", (), True, "nccl", False, source="ASSUMPTION: an unlisted architecture is priced "
                   "with the GPU mechanisms and flagged")


def platform_of(chip) -> Platform:
    """The platform of a chip's architecture (`generation`); UNKNOWN for one the table does not list."""
    return _BY_ARCH.get(getattr(chip, "generation", ""), UNKNOWN)


def engine_note(chip) -> str:
    """'' where the fitted engine overheads apply, else the note a prediction carries."""
    p = platform_of(chip)
    if p.engine_fitted:
        return ""
    return (f"engine overheads (kernel/fitted/engine.json, fitted on GPU serving engines) not applied on "
            f"{chip.id} ({p.name} platform): no case identifies them there")


def grouped_library(chip) -> str:
    """The grouped-GEMM row `auto` uses on `chip`: the first fused one (catalog order) that runs there,
    else torch_mm_loop where that runs; "deepgemm" where nothing does (priced as if it did and flagged
    by catalog.library_note: Trainium, Groq, Cerebras have no grouped-GEMM row)."""
    from hundredx.kernel import catalog

    on = catalog.kernels_on(chip, "grouped_gemm")
    fused = [k for k in on if k != "torch_mm_loop"]
    return fused[0] if fused else (on[0] if on else "deepgemm")

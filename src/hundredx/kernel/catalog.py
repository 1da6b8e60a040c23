"""The kernel catalog: one row per attention kernel, GEMM library, grouped-GEMM library and
collective / MoE-dispatch library — the one home of what software runs where.

A `KernelRow` says which chip architectures the kernel runs on (matched against
`ChipSpec.generation`; "*" = every chip), the shapes and formats it supports (fused or
unfused attention, FlashMLA's shared latent: at most one KV head of width >= 256, dtypes),
whether it is modelled (has efficiency parameters) and those parameters (name, analytic
default, fit bounds, meaning: `attn.eff.<k>`, `gemm.lib.<l>`, `grouped.lib.<l>`), with the
sources of all of it. `kernel/params.py` builds its per-kernel `ParamSpec`s from the rows,
`kernel/attention.py` reads row properties (fused, seq_underfill, head_dim_scaling, the
shape limits auto respects) instead of names, `RuntimeSpec` validates against the rows.

Order matters: rows of a kind keep catalog order, so `attention_kernels_on(chip)` lists the
kernels of a chip in the order the chip YAMLs listed them before this catalog existed, and
ties between equally fast kernels go to the earlier row (kernel/attention.py).

Extensible at run time: `register(row)` adds a row (and its parameters, with their defaults,
to kernel/params.PARAMS), `unregister(kind, name)` removes it. docs/kernels.md has a worked
example of adding an attention kernel as one row plus its parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hundredx.errors import InputError

KINDS = ("attention", "gemm", "grouped_gemm", "collective")
PARAM_PREFIX = {"attention": "attn.eff.", "gemm": "gemm.lib.", "grouped_gemm": "grouped.lib."}
ANY = "*"

NVIDIA = ("ampere", "hopper", "blackwell", "blackwell_ultra", "rubin")
BLACKWELL_ON = ("blackwell", "blackwell_ultra", "rubin")
AMD = ("cdna3", "cdna4")
GPUS = NVIDIA + AMD


@dataclass(frozen=True, slots=True)
class EffParam:
    """One efficiency parameter of a row: full name, analytic default, fit bounds, meaning, source."""

    name: str
    default: float
    lo: float
    hi: float
    doc: str
    source: str = "ASSUMPTION: analytic prior; fitted per chip where measured cases exist (kernel/fitted/)"

    def __post_init__(self) -> None:
        if not self.lo <= self.default <= self.hi:
            raise InputError(f"param {self.name}", self.default, f"default must lie in [{self.lo}, {self.hi}]")


@dataclass(frozen=True, slots=True)
class KernelRow:
    """One kernel or library. Attention-only fields: fused .. head_dim_scaling; collectives: the last two."""

    name: str
    kind: str
    archs: tuple[str, ...]
    sources: tuple[str, ...]
    params: tuple[EffParam, ...] = ()
    modelled: bool = True
    dtypes: tuple[str, ...] = ()
    fused: bool = True              # attention: one kernel (no materialised S)
    max_kv_heads: int = 0           # attention: 0 = any; FlashMLA 1 (one shared latent)
    min_head_dim: int = 0           # attention: max(d, dv) at least this (FlashMLA: latent width 256)
    max_head_dim: int = 0           # attention: 0 = no limit encoded
    seq_underfill: bool = True      # attention: the short-KV underfill law applies
    head_dim_scaling: bool = True   # attention: hd(d) applies (False: FlashMLA's native 576/512 tiles)
    dispatch_modes: tuple[str, ...] = ()  # collective: MoE dispatch/combine modes it implements
    one_shot_all_reduce: bool = False     # collective: has a one-shot (direct) all-reduce kernel
    prior_only: bool = False              # efficiency an analytic prior no measured case constrains (flagged)
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise InputError("row.name", self.name, "must be a non-empty identifier (letters, digits, _)")
        if self.kind not in KINDS:
            raise InputError("row.kind", self.kind, f"must be one of {', '.join(KINDS)}")
        if not self.archs or not self.sources:
            raise InputError(f"row {self.name}", self.archs, "archs and sources must be non-empty")
        prefix = PARAM_PREFIX.get(self.kind)
        if prefix and self.modelled != bool(self.params):
            raise InputError(f"row {self.name}", self.modelled, "modelled rows have efficiency params, others none")
        if prefix and self.params and self.params[0].name != prefix + self.name:
            raise InputError(f"row {self.name}", self.params[0].name, f"first param must be {prefix}{self.name}")

    def runs_on(self, generation: str) -> bool:
        return ANY in self.archs or generation in self.archs


FA_README = ("FlashAttention README (Dao-AILab/flash-attention): FA2 Ampere/Ada/Hopper, FA3 Hopper (H100/H800), "
             "FA4 (flash_attn.cute) Blackwell; deepseek-ai/FlashMLA: Hopper SM90 and Blackwell SM100")
ROCM_FA = ("ROCm/flash-attention (Composable Kernel and Triton backends for MI200/MI300) provides FA2-style kernels "
           "on CDNA")
PALLAS = "Pallas TPU flash/splash attention kernels (jax.experimental.pallas.ops.tpu)"
LISTED = "ASSUMPTION: listed for this architecture as the chip catalog did before the kernel catalog (2026-11)"
PRIOR = ("ASSUMPTION: analytic prior, no measured case on this platform (prior_only: a prediction using it "
         "lists it in fallbacks)")
TORCH_GPU = "PyTorch CUDA and ROCm builds (pytorch.org/get-started): torch runs on NVIDIA and AMD data-center GPUs"


def _attn(name: str, archs, eff: float, sources, *, source: str = "", **kw) -> KernelRow:
    doc = f"{name}: max fraction of the 16-bit peak, long non-causal prefill, head_dim 128"
    param = EffParam(f"attn.eff.{name}", eff, 0.02, 1.0, doc, **({"source": source} if source else {}))
    return KernelRow(name, "attention", tuple(archs), tuple(sources), (param,), **kw)


def _lib(kind: str, name: str, archs, default: float, sources, doc: str, lo: float, hi: float,
         source: str = "") -> KernelRow:
    param = EffParam(PARAM_PREFIX[kind] + name, default, lo, hi, doc, **({"source": source} if source else {}))
    return KernelRow(name, kind, tuple(archs), tuple(sources), (param,))


def _gemm(name: str, archs, sources) -> KernelRow:
    return _lib("gemm", name, archs, 1.0, sources, f"{name} compute efficiency relative to gemm.eff (1 = same)",
                0.3, 1.3, "ASSUMPTION: 1 = the library reaches gemm.eff (fitted where the cases name it)")


def _grouped(name: str, archs, default: float, sources, source: str) -> KernelRow:
    return _lib("grouped_gemm", name, archs, default, sources,
                f"{name}: grouped-GEMM compute efficiency relative to a dense GEMM", 0.2, 1.3, source)


def _coll(name: str, archs, sources, **kw) -> KernelRow:
    return KernelRow(name, "collective", tuple(archs), tuple(sources), **kw)


_HALF = ("bf16", "fp16")
_SHIPPED: tuple[KernelRow, ...] = (
    # ---- attention, in the per-chip order the chip YAMLs used (ties go to the earlier row)
    _attn("fa2", ("ampere", "hopper") + AMD, 0.40,
          (FA_README, ROCM_FA, "Dao 2023, FlashAttention-2 (arXiv:2307.08691)"),
          dtypes=_HALF, notes="FA README: head dims up to 256 (not enforced here)"),
    _attn("fa3", ("hopper",), 0.66, (FA_README, "Shah et al. 2024, FlashAttention-3 (arXiv:2407.08608)"),
          dtypes=_HALF + ("fp8",), notes="FA3 paper: up to 740 TFLOP/s BF16 (75% of H100) at long sequences"),
    _attn("fa4", BLACKWELL_ON, 0.70, (FA_README, LISTED + " (rubin)"), dtypes=_HALF),
    _attn("flashmla", ("hopper",) + BLACKWELL_ON, 0.50,
          (FA_README,
           "deepseek-ai/FlashMLA README: MLA decode on SM90/SM100, one shared latent KV head (d 576, dv 512)",
           LISTED + " (blackwell_ultra, rubin)"),
          dtypes=("bf16", "fp8"), max_kv_heads=1, min_head_dim=256, seq_underfill=False, head_dim_scaling=False,
          notes="runs only a shared latent: MLA absorbed decode, DeepSeek-V4 MQA-style attention"),
    _attn("cudnn", NVIDIA, 0.60, ("NVIDIA cuDNN frontend: fused flash SDPA for Ampere (SM80) and later", LISTED),
          dtypes=_HALF + ("fp8",)),
    _attn("flashinfer", NVIDIA, 0.55, ("flashinfer-ai/flashinfer README: Ampere, Hopper, Blackwell kernels", LISTED),
          dtypes=_HALF + ("fp8",)),
    # ---- each non-NVIDIA platform's own fused kernels (issue 11 item 4). No measured case exists for any
    # of them: their efficiency is an analytic prior (prior_only), and a prediction that uses one says so.
    _attn("pallas_flash", ("tpu",), 0.55, (PALLAS, "jax.experimental.pallas.ops.tpu.flash_attention / "
                                           "splash_attention: fused flash attention on the TPU MXU"),
          source=PRIOR, dtypes=_HALF, prior_only=True),
    _attn("ragged_paged_attention", ("tpu",), 0.50,
          ("vllm-project/tpu-inference and JAX Pallas ops: ragged_paged_attention (one kernel for mixed "
           "prefill/decode batches over a paged KV cache, TPU)",),
          source=PRIOR, dtypes=_HALF + ("fp8",), prior_only=True),
    _attn("nki_flash", ("trainium",), 0.50,
          ("AWS Neuron NKI kernels: flash attention (nki.kernels / neuronxcc.nki.kernels.attention) on Trainium",),
          source=PRIOR, dtypes=_HALF, prior_only=True),
    _attn("npu_fusion_attention", ("davinci",), 0.50,
          ("Ascend Extension for PyTorch: torch_npu.npu_fusion_attention (fused FlashAttention on Ascend)",),
          source=PRIOR, dtypes=_HALF, prior_only=True),
    _attn("aiter", AMD, 0.55, ("ROCm/aiter README: AI Tensor Engine for ROCm, CK/assembly flash-attention and "
                               "paged-attention (incl. MLA decode) kernels for MI300/MI355",),
          source=PRIOR, dtypes=_HALF + ("fp8",), prior_only=True),
    _attn("dataflow_attention", ("lpu", "wse"), 0.50,
          ("Groq TSP / Cerebras WSE: attention compiled into the static dataflow schedule (scores stay in "
           "on-chip SRAM; no separate kernel library)",),
          source=PRIOR, dtypes=_HALF, prior_only=True),
    _attn("triton", GPUS, 0.40, ("Triton fused-attention tutorial (triton-lang/triton, tutorials/06-fused-attention); "
                                 "Triton targets NVIDIA SM80+ and AMD CDNA", LISTED), dtypes=_HALF + ("fp8",)),
    _attn("sdpa_flash", GPUS, 0.36, ("torch.nn.functional.scaled_dot_product_attention, flash backend "
                                     "(CUDA FlashAttention-2 kernels; ROCm AOTriton/CK)", TORCH_GPU), dtypes=_HALF),
    _attn("sdpa_math", GPUS, 0.60, ("torch SDPA math backend: matmul + softmax + matmul", TORCH_GPU),
          fused=False, dtypes=_HALF + ("fp32",)),
    _attn("eager_unfused", (ANY,), 0.60, ("separate matmul + softmax + matmul calls run on any accelerator",),
          fused=False, notes="the fallback: priced at gemm.eff.bf16 with the S matrix through HBM"),
    # ---- dense GEMM libraries
    _gemm("cublas", NVIDIA, ("NVIDIA cuBLAS (CUDA toolkit): NVIDIA GPUs only",)),
    _gemm("cublaslt", NVIDIA, ("NVIDIA cuBLASLt (CUDA toolkit): NVIDIA GPUs only",)),
    _gemm("torch", GPUS, (TORCH_GPU + " (torch.mm, torch._scaled_mm)",)),
    _gemm("cutlass", NVIDIA, ("NVIDIA/cutlass README: CUDA C++ templates for NVIDIA GPUs (SM70+)",)),
    _gemm("deepgemm", ("hopper",) + BLACKWELL_ON, ("deepseek-ai/DeepGEMM README: FP8 GEMMs for SM90 and SM100",
                                                   LISTED + " (blackwell_ultra, rubin)")),
    # ---- grouped GEMM (MoE experts) libraries
    _grouped("deepgemm", ("hopper",) + BLACKWELL_ON, 1.0,
             ("deepseek-ai/DeepGEMM README: contiguous and masked grouped GEMMs, SM90 and SM100",),
             "ASSUMPTION: 1 = a dense GEMM's efficiency (fitted on h800-sxm DeepGEMM cases)"),
    _grouped("torch_grouped_mm", ("hopper",) + BLACKWELL_ON, 0.85,
             ("torch._grouped_mm (PyTorch 2.8+): CUTLASS grouped GEMM, SM90 and later",),
             "ASSUMPTION: analytic 0.85, no measured data yet"),
    _grouped("torch_mm_loop", GPUS, 1.0, (TORCH_GPU + " (one torch.mm per expert)",),
             "1 = each expert is a dense GEMM (priced by gemm_time per expert)"),
    _grouped("sonicmoe", ("hopper",), 0.95, ("SonicMoE: IO- and tile-aware MoE kernels for Hopper",),
             "ASSUMPTION: analytic 0.95, no measured data yet"),
    _grouped("scattermoe", GPUS, 0.70, ("shawntan/scattermoe: Triton kernels (NVIDIA and AMD GPUs)",),
             "ASSUMPTION: analytic 0.70, no measured data yet"),
    _grouped("megablocks", NVIDIA, 0.75, ("databricks/megablocks: block-sparse MoE kernels for NVIDIA GPUs",),
             "ASSUMPTION: analytic 0.75, no measured data yet"),
    _grouped("megablox", ("tpu",), 0.70, ("jax.experimental.pallas.ops.tpu.megablox: grouped matmul (gmm) for "
                                          "MoE on TPU; XLA jax.lax.ragged_dot",), PRIOR),
    _grouped("npu_grouped_matmul", ("davinci",), 0.70,
             ("Ascend Extension for PyTorch: torch_npu.npu_grouped_matmul (MoE grouped GEMM on Ascend)",), PRIOR),
    # ---- collective and MoE-dispatch libraries (alpha-beta physics in chip/collectives.py; dispatch in
    # kernel/moe_dispatch.py)
    _coll("nccl", NVIDIA, ("NVIDIA NCCL: collectives over NVLink/NVSwitch and InfiniBand/RoCE",)),
    _coll("rccl", AMD, ("ROCm RCCL: NCCL-compatible collectives for AMD GPUs (xGMI, RoCE)",)),
    _coll("deepep", ("hopper",) + BLACKWELL_ON, ("deepseek-ai/DeepEP README (2025): normal and low-latency "
                                                 "expert-parallel dispatch/combine kernels (Hopper, NVLink + RDMA)",
                                                 LISTED + " (blackwell family)"),
          dispatch_modes=("normal", "low_latency")),
    _coll("nvshmem", NVIDIA, ("NVIDIA NVSHMEM: one-sided GPU-initiated communication (NVLink, InfiniBand)",)),
    _coll("trtllm", NVIDIA, ("NVIDIA TensorRT-LLM custom all-reduce: one-shot and two-shot kernels over NVLink",),
          one_shot_all_reduce=True),
    _coll("xla", ("tpu",), ("XLA / JAX collectives over TPU ICI (jax.lax.psum, all_gather, all_to_all)",)),
    _coll("neuron", ("trainium",), ("AWS Neuron collective communication over NeuronLink and EFA",)),
    _coll("hccl", ("davinci",), ("Huawei HCCL (Huawei Collective Communication Library) over HCCS / Unified Bus",)),
    _coll("dataflow", ("lpu", "wse"), ("Groq TSP / Cerebras WSE: chip-to-chip transfers scheduled by the compiler "
                                       "(no collective library; the links' alpha-beta is the chip layer's)",)),
)

_ROWS: dict[tuple[str, str], KernelRow] = {}
_STATE = {"version": 0}
_ON_CHIP: dict[tuple, list[str]] = {}


def _changed() -> None:
    _STATE["version"] += 1
    _ON_CHIP.clear()
    from hundredx.kernel import params  # params builds its specs from the rows: refresh them

    params.rebuild()


def version() -> int:
    """Incremented by every register / unregister (caches key on it)."""
    return _STATE["version"]


def register(row: KernelRow, *, before: str | None = None, replace: bool = False) -> KernelRow:
    """Add a row (at the end of its kind, or before the row `before` of the same kind); its
    efficiency parameters join kernel/params.PARAMS with their analytic defaults."""
    if not isinstance(row, KernelRow):
        raise InputError("row", row, "must be a KernelRow")
    key = (row.kind, row.name)
    if key in _ROWS and not replace:
        raise InputError(f"{row.kind} kernel", row.name, "already in the kernel catalog (pass replace=True)")
    if before is not None and (row.kind, before) not in _ROWS:
        raise InputError("before", before, f"no {row.kind} row of that name")
    items = [(k, r) for k, r in _ROWS.items() if k != key]
    at = next((i for i, (k, _) in enumerate(items) if k == (row.kind, before)), len(items))
    items.insert(at, (key, row))
    _ROWS.clear()
    _ROWS.update(items)
    _changed()
    return row


def unregister(kind: str, name: str) -> KernelRow:
    """Remove a row and its parameters; returns it."""
    row = get(kind, name)
    del _ROWS[(kind, name)]
    _changed()
    return row


def rows(kind: str | None = None) -> list[KernelRow]:
    """Rows of one kind (or all), in catalog order."""
    return [r for r in _ROWS.values() if kind is None or r.kind == kind]


def get(kind: str, name: str) -> KernelRow:
    """The row of `name` among `kind`; InputError naming the known rows otherwise."""
    try:
        return _ROWS[(kind, name)]
    except KeyError:
        known = ", ".join(r.name for r in rows(kind))
        raise InputError(f"{kind} kernel", name, f"not in the kernel catalog; known: {known}") from None


def names(kind: str, modelled: bool | None = None) -> tuple[str, ...]:
    """Names of one kind in catalog order (only modelled / unmodelled ones when asked)."""
    return tuple(r.name for r in rows(kind) if modelled is None or r.modelled == modelled)


def is_known(kind: str, name: str, modelled: bool | None = None) -> bool:
    row = _ROWS.get((kind, name))
    return row is not None and (modelled is None or row.modelled == modelled)


def eff_params() -> list[EffParam]:
    """Every row's efficiency parameters, in catalog order."""
    return [p for r in _ROWS.values() for p in r.params]


def attention_kernels_on(chip) -> list[str]:
    """Attention kernels (modelled or not) that run on `chip`, in catalog order."""
    key = (chip.generation, _STATE["version"])
    if key not in _ON_CHIP:
        _ON_CHIP[key] = [r.name for r in rows("attention") if r.runs_on(chip.generation)]
    return list(_ON_CHIP[key])


def kernels_on(chip, kind: str) -> list[str]:
    """Rows of `kind` that run on `chip`, in catalog order."""
    return [r.name for r in rows(kind) if r.runs_on(chip.generation)]


def runs_on(name: str, chip, kind: str | None = None) -> tuple[bool, str]:
    """(whether `name` runs on `chip`, why). `kind` disambiguates names used by several kinds."""
    found = [r for r in _ROWS.values() if r.name == name and (kind is None or r.kind == kind)]
    if not found:
        return False, f"{name} is not in the kernel catalog"
    row = found[0]
    where = "every chip" if ANY in row.archs else ", ".join(row.archs)
    if row.runs_on(chip.generation):
        return True, f"{name} runs on {where}; {chip.id} is {chip.generation}"
    return False, f"{name} runs on {where}; {chip.id} is {chip.generation or 'of no listed architecture'}"


def library_note(kind: str, name: str, chip) -> str:
    """'' when library `name` runs on `chip`, else the fallback note an op priced with it records."""
    ok, why = runs_on(name, chip, kind)
    if ok:
        return ""
    param = PARAM_PREFIX.get(kind, "") + name
    return (f"{kind.replace('_', ' ')} library {name} does not run on {chip.id} ({why}); "
            f"priced with {param} as if it did")


class NameView(Sequence):
    """A live, read-only sequence of catalog names (plus fixed `extra` names first), for validation
    lists that must follow rows registered at run time (RuntimeSpec, stack files)."""

    def __init__(self, kind: str, modelled: bool | None = True, extra: tuple[str, ...] = ()):
        self.kind, self.modelled, self.extra = kind, modelled, extra

    def _names(self) -> tuple[str, ...]:
        return self.extra + names(self.kind, self.modelled)

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self.extra or (isinstance(name, str) and is_known(self.kind, name, self.modelled))

    def __repr__(self) -> str:
        return f"NameView({self.kind}: {', '.join(self._names())})"


for _row in _SHIPPED:
    _ROWS[(_row.kind, _row.name)] = _row

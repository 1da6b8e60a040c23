"""Each collective library's own model: the algorithms it runs and the link constants it reaches.

The chip layer (chip/collectives.py) prices one algorithm on one topology with alpha-beta physics
and the constants of its `FIT` (fitted on NCCL sweeps on NVIDIA systems). A library is software on
those links: it picks from its own algorithms, and reaches its own fraction of the line rate. Each
`LibraryModel` names

- `algorithms`: the chip-layer algorithms the library implements (`ring` always; `tree` stands for
  any log-step algorithm: NCCL double binary tree, HCCL / Neuron recursive halving-doubling (RHD),
  whose bandwidth term is the ring's within the tree_bw factor; `direct` for one-shot / mesh;
  `nvls` / `collnet` NVIDIA's in-switch / in-network reduction; `hierarchical` the two-tier scheme).
- `overrides`: FIT constants it replaces, each fitted on data/validation/collective.jsonl
  (calibrate/comm_fit.py, scripts/fit_comm_libs.py) where its cases identify them.
- `assumed`: the FIT constants it keeps from the NCCL fit with no case of its own: each is an
  ASSUMPTION that `assumptions(library)` lists and predictions carry in their fallbacks. RCCL is a
  fork of NCCL (ROCm/rccl README: "based on NCCL"; same LL/LL128/Simple protocols and tuner), so the
  constants its cases leave open are NCCL's code, not an assumption across vendors (`fork_of`).

On a TPU torus XLA's all-reduce is a bidirectional ring along every torus axis of the slice, all
axes at once on disjoint shards (dimension-ordered reduce-scatter / all-gather; JAX scaling book,
jax-ml.github.io/scaling-book, "How to Think About TPUs" and "Sharded Matrices": an all-reduce over
X axes moves 2(N-1)/N·S at the summed bandwidth of their 2·X link directions). chip/topology.py
gives that ring's bandwidth (2 links per axis with wraparound, 1 without) and its sum(k_i - 1)
hops per pass, so t = 2·sum(k_i - 1)·alpha + 2(N-1)/N·S / (lanes·B_link·eff).
Sources of the algorithm sets: NCCL docs (ring, tree, NVLS, CollNet); RCCL docs (ring, tree; no
NVLS: RCCL has no NVLink SHARP); HCCL user guide, CANN 9.0 "Algorithm Overview" (hiascend.com
hcclug_000114: intra-server Mesh / Ring / Double-Ring, inter-server Ring / RHD / pipeline);
AWS Neuron "Intra-node Collective Communications" and "Inter-node ..." (awsdocs-neuron,
neuron-runtime/explore: Ring, Mesh, KangaRing, RDH on the Trainium 2D torus; Ring / Mesh / RDH on
EFA); Groq / Cerebras: compiler-scheduled chip-to-chip transfers (ring or one-shot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from hundredx.chip.collectives import FIT

# constants a library could have of its own (the rest of FIT, NVLS / PCIe, are NVIDIA- or host-only)
LIBRARY_CONSTANTS = ("eff_scaleup", "eff_scaleout", "latency_scale", "ramp_bytes", "ramp_p", "tree_bw")


@dataclass(frozen=True, slots=True)
class LibraryModel:
    """One collective library (module docstring)."""

    name: str
    algorithms: tuple[str, ...]
    overrides: dict = field(default_factory=dict)   # FIT key -> value fitted on this library's cases
    fitted_on: tuple[str, ...] = ()                 # case ids of the fit
    not_identified: str = ""                        # what the cases leave unidentified (why it stays assumed)
    source: str = ""
    fork_of: str = ""   # a library built from another's code keeps that one's unidentified constants as its own

    @property
    def assumed(self) -> tuple[str, ...]:
        """FIT constants this library takes from the NCCL fit unmeasured (empty for NCCL itself and for a fork
        of NCCL, whose protocols and tuner are NCCL's code: `fork_of`)."""
        if self.name == "nccl" or self.fork_of == "nccl":
            return ()
        unused = () if "tree" in self.algorithms else ("tree_bw",)
        return tuple(k for k in LIBRARY_CONSTANTS if k not in self.overrides and k not in unused)

    def fit(self) -> dict:
        """The chip layer's FIT with this library's constants (built once per library)."""
        return _merged(self.name) if self.overrides else FIT


_ALL = ("ring", "tree", "nvls", "collnet", "direct", "hierarchical")

# Fitted by scripts/fit_comm_libs.py (calibrate/comm_fit.py) on data/validation/collective.jsonl;
# tests/test_comm_libs.py refits and checks these values.
LIBRARIES: dict[str, LibraryModel] = {m.name: m for m in (
    LibraryModel("nccl", _ALL,
                 source="NCCL docs: ring, tree, NVLS, CollNet; chip/collectives.FIT fitted on its sweeps"),
    LibraryModel("rccl", ("ring", "tree", "direct", "hierarchical"),
                 overrides={"eff_scaleup": 0.708, "ramp_bytes": 1.016e7, "ramp_p": 1.04},
                 fitted_on=("nn-mi300x-rccl-allreduce-8gpu-1M", "nn-mi300x-rccl-allreduce-8gpu-134M",
                            "nn-mi300x-rccl-allreduce-8gpu-1G", "nn-mi300x-rccl-allreduce-8gpu-8G"),
                 not_identified="the 4 cases are one rank count (8) on one size sweep: the ramp's rank exponent, the "
                                "per-step latency, tree and scale-out constants are not identified",
                 source="ROCm RCCL docs: ring and tree (no NVLS); xGMI full mesh of MI300X", fork_of="nccl"),
    LibraryModel("xla", ("ring", "hierarchical"),
                 overrides={"eff_scaleup": 0.809},
                 fitted_on=("nn-tpu-v6e-xla-psum-ici-256chips-bf16-606MB",),
                 not_identified="one case (one size, one 16x16 slice): only the link efficiency is identified",
                 source="JAX scaling book: bidirectional rings along every ICI torus axis; DCN across slices"),
    LibraryModel("neuron", ("ring", "tree", "direct", "hierarchical"),
                 not_identified="no public Neuron collective case in data/validation/collective.jsonl",
                 source="AWS Neuron runtime docs: Ring, Mesh, KangaRing, RDH (intra-node); Ring, Mesh, RDH (EFA)"),
    LibraryModel("hccl", ("ring", "tree", "direct", "hierarchical"),
                 not_identified="no public HCCL collective case in data/validation/collective.jsonl",
                 source="HCCL user guide (CANN 9.0): Mesh / Ring / Double-Ring intra-server; Ring / RHD / pipeline "
                        "inter-server"),
    LibraryModel("dataflow", ("ring", "direct"),
                 not_identified="no public Groq / Cerebras collective case in data/validation/collective.jsonl",
                 source="Groq TSP (ISCA 2020) / Cerebras WSE: compiler-scheduled chip-to-chip transfers"),
)}


def library_model(name: str) -> LibraryModel | None:
    """The model of a collective library (None for a catalog row with none of its own: deepep, nvshmem,
    trtllm are priced with NCCL's constants and algorithms)."""
    return LIBRARIES.get(name)


@cache
def _merged(name: str) -> dict:
    return {**FIT, **LIBRARIES[name].overrides}


@cache
def assumptions(name: str) -> str:
    """'' when every constant the library's collectives use was fitted on its own cases, else the ASSUMPTION
    line a prediction lists in its fallbacks."""
    model = LIBRARIES.get(name)
    if model is None or not model.assumed:
        return ""
    fitted = (f"{', '.join(sorted(model.overrides))} fitted on {len(model.fitted_on)} {name} case(s); "
              if model.overrides else "")
    return (f"{name} collectives: {fitted}{', '.join(model.assumed)} taken from the NCCL fit "
            f"(ASSUMPTION: {model.not_identified})")

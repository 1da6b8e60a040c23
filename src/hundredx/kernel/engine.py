"""Serving engines as models: documented scheduler and CUDA-graph defaults plus fitted overheads.

An `EngineProfile` (kernel/engines/engines.yaml, each value with the engine file and version it was
read from) says which decode batches replay as CUDA graphs (the rest run eagerly: every kernel pays
the host launch, kernel/memory.launch_latency), whether a batch is padded to the next captured
size, whether the scheduler overlaps host work with the GPU, the running-sequence cap and token
budget, MTP support, how much KV an admitted sequence reserves (`kv_reserve`: TensorRT-LLM's
GUARANTEED_NO_EVICT capacity scheduler holds isl + osl from admission, paged engines the blocks
generated so far), the KV format a quantized checkpoint brings (`quantized_kv`) and what its KV memory
fraction is a fraction of (`kv_memory`: TensorRT-LLM's free_gpu_memory_fraction of the memory left after
loading, `free`; vLLM's gpu_memory_utilization and SGLang's mem_fraction_static of the device's memory,
which weights, activations and the KV pool share, `total`). An engine
without a documented profile (or an unknown name) is `generic` and says so (`EngineProfile.note`).

step_time = gpu_time_factor * D + H            (no overlap scheduling)
          = max(gpu_time_factor * D, H)        (overlap: the host prepares step n+1 during step n)
with D the sum of kernel and collective times and H = per_seq_step_s * sequences:
  - gpu_time_factor: gaps between kernels, epilogues and quantize steps that microbenchmarks do
    not see, imperfect overlap inside an engine iteration (dimensionless, >= 1);
  - per_seq_step_s: host work per sequence per iteration (scheduling, sampling, stop checks,
    detokenisation) that grows with the batch and does not shrink on a faster chip.
Both are fitted by `scripts/fit_engine.py` on the public serving cases (fitted/engine.json records
the cases, date and fit quality): a generic pair on every case, and a pair per engine only where
that engine has at least MIN_ENGINE_CASES cases from at least MIN_ENGINE_SOURCES sources; any
other engine inherits the generic pair and says so. Inside an engine, gpu_time_factor is refitted
per chip architecture family (chip/family.py) where that family's cases of the engine alone meet
the same identifiability rule (per_seq_step_s stays the engine's): the factor also carries what
the family's kernel fits do not see in a served step (a family with no attention or memory cases
runs those ops on default efficiencies), and a family's cases pin it while other families' cannot.
A family that does not meet the rule inherits the engine's factor and the provenance says so.
A RuntimeSpec may override both (1.0 / 0.0
turns them off, which is how the fit itself evaluates the pure kernel-model step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hundredx.kernel.runtime import RuntimeSpec

FITTED = Path(__file__).resolve().parent / "fitted" / "engine.json"
PROFILES = Path(__file__).resolve().parent / "engines" / "engines.yaml"
DEFAULT = {"gpu_time_factor": 1.0, "per_seq_step_s": 0.0}
MIN_ENGINE_CASES = 20
MIN_ENGINE_SOURCES = 2


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """One engine's documented defaults (module docstring); `graphs` None = every batch runs a graph."""

    name: str
    graphs: tuple[int, ...] | None
    padding: bool
    overlap: bool
    max_seqs: int
    max_batched_tokens: int
    mtp: bool
    version: str
    sources: tuple[str, ...]
    note: str = ""
    kv_reserve: str = "paged"  # "full": isl + osl reserved at admission; "paged": blocks as tokens come
    quantized_kv: str | None = None  # KV format of a quantized checkpoint that records none
    kv_memory: str = "free"  # the KV fraction's base: "free" memory after weights and activations, or "total"

    def graph_batch(self, batch):
        """(batch each decode step is priced at, True where it runs eagerly), element-wise."""
        b = np.asarray(batch, dtype=float)
        if self.graphs is None:
            return batch, np.zeros(b.shape, dtype=bool)
        sizes = np.asarray(self.graphs, dtype=float)
        idx = np.searchsorted(sizes, np.ceil(b - 1e-9))
        inside = idx < sizes.size
        nxt = sizes[np.minimum(idx, sizes.size - 1)]
        exact = inside & (nxt == np.ceil(b - 1e-9))
        graphed = inside if self.padding else exact
        padded = np.where(graphed & self.padding, np.maximum(nxt, b), b)
        return (float(padded) if np.ndim(padded) == 0 else padded), ~graphed


def _sizes(rule: str, top: int) -> tuple[int, ...]:
    """The capture sizes each engine generates up to `top` (engines.yaml sources)."""
    if rule == "trtllm":  # no padding: 1..31, 32, 64, 128, then powers of two
        out = [*range(1, 32), 32, 64, 128, *(2 ** i for i in range(8, 16))]
    elif rule == "vllm":
        out = [1, 2, 4, *range(8, top + 1, 8)]
    else:  # sglang
        out = [1, 2, 4, 8, 12, *range(16, 257, 8), *range(272, 513, 16), *range(544, top + 1, 32)]
    return tuple(sorted(x for x in set(out) if x <= top))


@lru_cache(maxsize=1)
def _profiles() -> dict:
    import yaml

    return yaml.safe_load(PROFILES.read_text())


def engine_profile(name: str, tp: int = 1) -> EngineProfile:
    """The documented profile of an engine (module docstring); `tp` picks SGLang's tp-dependent graph cap."""
    docs = _profiles()
    note = ""
    if name not in docs:
        note = f"engine {name!r}: no documented profile, generic defaults"
        name_used = "generic"
    else:
        name_used = name
    d = docs[name_used]
    graphs = d["graphs"]
    if isinstance(graphs, dict):
        top = int(graphs.get("max_tp4") or graphs["max"]) if tp >= 4 else int(graphs["max"])
        sizes: tuple[int, ...] | None = _sizes(graphs["rule"], top)
    else:
        sizes = None if graphs in (None, "none") else tuple(int(x) for x in graphs)
    return EngineProfile(name, sizes, bool(d["padding"]), bool(d["overlap"]), int(d["max_seqs"]),
                         int(d["max_batched_tokens"]), bool(d["mtp"]), str(d.get("version", "")),
                         tuple(d.get("sources", ())), note, str(d.get("kv_reserve", "paged")),
                         d.get("quantized_kv"), str(d.get("kv_memory", "free")))


@dataclass(frozen=True, slots=True)
class EngineOverhead:
    gpu_time_factor: float
    per_seq_step_s: float
    source: str
    overlap: bool = False
    fitted: str = ""  # which fit the values come from, or why the engine inherits the generic one


@lru_cache(maxsize=1)
def _fitted() -> dict:
    if not FITTED.is_file():
        return {}
    return json.loads(FITTED.read_text())


def fitted_values(engine: str, family: str = "") -> tuple[dict, str]:
    """(values, what they are): the engine's fit on the chip family's cases where it has one, else the
    engine's own fit, else the generic fit, saying so (module docstring)."""
    doc = _fitted()
    if not doc:
        return dict(DEFAULT), "analytic (no fitted engine overheads)"
    own = doc.get("engines", {}).get(engine)
    if own is not None:
        prov = own.get("provenance", {})
        values = {**DEFAULT, **own["values"]}
        fam = own.get("families", {}).get(family)
        if fam is not None:
            fprov = fam.get("provenance", {})
            return ({**values, **fam["values"]},
                    f"fitted on {fprov.get('cases', '?')} {engine} cases on {family} chips")
        return values, f"fitted on {prov.get('cases', '?')} {engine} cases"
    why = doc.get("not_fitted", {}).get(engine, "no public cases of this engine")
    return {**DEFAULT, **doc.get("values", {})}, f"generic fit ({engine}: {why})" if engine != "generic" else \
        "generic fit"


def engine_overhead(runtime: RuntimeSpec, family: str = "") -> EngineOverhead:
    """The runtime's overrides where set, else the engine's fitted values for the chip `family`
    (chip/family.py; "" = the engine's own); overlap from its profile."""
    values, fitted = fitted_values(runtime.engine, family)
    factor = runtime.gpu_time_factor if runtime.gpu_time_factor is not None else values["gpu_time_factor"]
    per_seq = runtime.per_seq_step_s if runtime.per_seq_step_s is not None else values["per_seq_step_s"]
    source = f"fitted:{FITTED.name}" if _fitted() else "analytic (no fitted engine overheads)"
    if runtime.gpu_time_factor is not None or runtime.per_seq_step_s is not None:
        source, fitted = "runtime", "set in the runtime"
    overlap = engine_profile(runtime.engine, runtime.tp).overlap
    return EngineOverhead(float(factor), float(per_seq), source, overlap, fitted)


def engine_provenance(runtime: RuntimeSpec, family: str = "") -> dict:
    """What a prediction assumed of its engine: the profile (or that it is generic), graphs, overheads."""
    prof = engine_profile(runtime.engine, runtime.tp)
    over = engine_overhead(runtime, family)
    graphs = "every batch" if prof.graphs is None else f"up to {max(prof.graphs)}" + (", padded" if prof.padding else
                                                                                     ", exact sizes only")
    return {"name": runtime.engine, "profile": prof.note or prof.version or "generic",
            "cuda_graphs": graphs if runtime.cuda_graphs else "off", "overlap_scheduling": prof.overlap,
            "max_seqs": prof.max_seqs, "max_batched_tokens": prof.max_batched_tokens,
            "gpu_time_factor": over.gpu_time_factor, "per_seq_step_s": over.per_seq_step_s, "overheads": over.fitted}

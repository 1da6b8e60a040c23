"""The fitted domain: which shapes, formats and kernels a set of fitted parameters has seen.

A fit records, per kernel kind and per *key* (the category its main parameter hangs on: the
compute class of a GEMM or grouped GEMM, the attention kernel, "memory" for memory-bound
ops), the categorical settings of its cases (library, alignment class, phase, mask, memory op,
...) and the log2 range of their sizes. A case or op is then

* **covered** by a fit when the fit holds its kind and key (the parameter that sets its
  efficiency was informed by data) — otherwise the next source down answers for it
  (chip fit -> family -> analytic, kernel/intervals.py), and
* **in** the domain when, besides, every categorical setting was seen and every size lies
  within the seen range widened by `MARGIN_LOG2` (a factor of 2, the distance the profile
  lookup interpolates over, docs/calibration.md) — else **out** (extrapolation: a wider
  interval); **new** when the GEMM library was never seen (its efficiency a default: wider still).

`describe_case(case, chip, kernel)` and `describe_op(op, chip, kernel)` give the `Descriptor`
of a validation case or a model op; `domain_of(descriptors)` the JSON-able domain stored in a
fitted file; `merge` unions domains (a family's); `place(descriptor, domain)` says "in", "out"
or None (not covered).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, cast

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel.gemm import resolve_compute
from hundredx.model.ops import AttentionShape, ExpertGemmShape, GemmShape, Op

MARGIN_LOG2 = 1.0
DECODE_MAX_Q = 16


class Descriptor(NamedTuple):
    """What the fitted domain is checked against: kind, key, categorical settings, log2 sizes (lo, hi)."""

    kind: str
    key: str
    cats: tuple[tuple[str, str], ...]
    dims: tuple[tuple[str, float, float], ...]


def _log2(x) -> tuple[float, float]:
    if isinstance(x, (int, float)):
        v = math.log2(max(float(x), 1.0))
        return v, v
    a = np.asarray(x, float)
    return math.log2(max(float(np.min(a)), 1.0)), math.log2(max(float(np.max(a)), 1.0))


def _alignment(n, k, dtype: str, chip: ChipSpec) -> str:
    bits = get_format(dtype, "dtype").bits
    if isinstance(n, (int, float)) and isinstance(k, (int, float)):
        ok = all((s * bits / 8.0) % chip.alignment_bytes < 1e-6 for s in (float(k), float(n)))
        return "aligned" if ok else "unaligned"
    strides = (np.asarray(k, float) * bits / 8.0, np.asarray(n, float) * bits / 8.0)
    ok = all(bool(np.all(np.mod(s, chip.alignment_bytes) < 1e-6)) for s in strides)
    return "aligned" if ok else "unaligned"


def _gemm(chip: ChipSpec, dtype: str, library: str, m, n, k) -> Descriptor:
    cls = resolve_compute(dtype, chip)[0]
    dims = tuple((name, *_log2(v)) for name, v in (("m", m), ("n", n), ("k", k)))
    return Descriptor("gemm", cls, (("library", library), ("alignment", _alignment(n, k, dtype, chip))), dims)


def _attention(kernel: str, dtype: str, causal: bool, direction: str, sq, skv, hd) -> Descriptor:
    phase = "decode" if _log2(sq)[1] <= math.log2(DECODE_MAX_Q) else "prefill"
    cls = "fp8" if get_format(dtype, "dtype").compute == "fp8" else "16-bit"
    cats = (("dtype", cls), ("phase", phase), ("causal", str(bool(causal))), ("direction", direction))
    dims = tuple((name, *_log2(v)) for name, v in (("seqlen_q", sq), ("seqlen_kv", skv), ("head_dim", hd)))
    return Descriptor("attention", kernel, cats, dims)


def _kernel_name(kernel) -> str:
    arr = np.asarray(kernel).reshape(-1)
    return str(arr[0]) if arr.size else "auto"


def describe_case(case: dict, chip: ChipSpec, kernel=None) -> Descriptor:
    """The descriptor of a kernel case (docs/cases.md); `kernel`: the attention kernel `auto` chose."""
    cfg, kind = case.get("config", {}), case.get("kind")
    try:
        if kind == "gemm":
            return _gemm(chip, cfg.get("dtype") or "bf16", cfg.get("library") or "auto", cfg["m"], cfg["n"], cfg["k"])
        if kind == "attention":
            name = cfg.get("kernel") or (_kernel_name(kernel) if kernel is not None else "auto")
            return _attention(name, cfg.get("dtype") or "bf16", bool(cfg.get("causal", False)),
                              cfg.get("direction") or "forward", cfg["seqlen_q"], cfg["seqlen_kv"], cfg["head_dim"])
        if kind == "memory":
            return Descriptor("memory", "memory", (("op", str(cfg["op"])),), (("bytes", *_log2(cfg["bytes"])),))
        if kind == "grouped_gemm":
            rows = sum(cfg["tokens_per_group"]) if cfg.get("tokens_per_group") else cfg["tokens_total"]
            dims = tuple((name, *_log2(v)) for name, v in (("rows", rows), ("n", cfg["n"]), ("k", cfg["k"])))
            return Descriptor("grouped_gemm", resolve_compute(cfg.get("dtype") or "bf16", chip)[0],
                              (("library", cfg.get("library") or "deepgemm"),), dims)
    except KeyError as exc:
        raise InputError(f"config.{exc.args[0]}", None, "missing") from None
    raise InputError("kind", kind, "kernel cases are gemm, attention, memory, grouped_gemm")


def describe_op(op: Op, chip: ChipSpec, kernel: str = "", memory_op: str = "copy") -> Descriptor | None:
    """The descriptor of a (sharded) model op; None for kinds no fit describes (recurrent)."""
    if op.kind == "gemm":
        g = cast(GemmShape, op.shape)
        return _gemm(chip, op.compute, "auto", g.m, g.n, g.k)
    if op.kind == "attention":
        a = cast(AttentionShape, op.shape)
        return _attention(kernel or "auto", op.compute, bool(a.causal), "forward", a.seqlen_q, a.seqlen_kv, a.head_dim)
    if op.kind in ("memory", "embedding", "router"):
        return Descriptor("memory", "memory", (("op", memory_op),), (("bytes", *_log2(op.bytes_total)),))
    if op.kind == "grouped_gemm":
        e = cast(ExpertGemmShape, op.shape)
        dims = tuple((name, *_log2(v)) for name, v in (("rows", e.tokens_total), ("n", e.n), ("k", e.k)))
        return Descriptor("grouped_gemm", resolve_compute(op.compute, chip)[0], (("library", "auto"),), dims)
    return None


def domain_of(descriptors: Iterable[Descriptor]) -> dict:
    """{kind: {key: {"n", "cats": {name: [values]}, "dims": {name: [lo, hi]}}}} (log2 sizes)."""
    out: dict = {}
    for d in descriptors:
        cell = out.setdefault(d.kind, {}).setdefault(d.key, {"n": 0, "cats": {}, "dims": {}})
        cell["n"] += 1
        for name, value in d.cats:
            values = cell["cats"].setdefault(name, [])
            if value not in values:
                values.append(value)
                values.sort()
        for name, lo, hi in d.dims:
            old = cell["dims"].get(name)
            cell["dims"][name] = [lo, hi] if old is None else [min(old[0], lo), max(old[1], hi)]
    return out


def merge(domains: Iterable[dict]) -> dict:
    """The union of several domains (a family's: its members')."""
    out: dict = {}
    for dom in domains:
        for kind, keys in dom.items():
            for key, cell in keys.items():
                into = out.setdefault(kind, {}).setdefault(key, {"n": 0, "cats": {}, "dims": {}})
                into["n"] += cell["n"]
                for name, values in cell["cats"].items():
                    into["cats"][name] = sorted(set(into["cats"].get(name, [])) | set(values))
                for name, (lo, hi) in cell["dims"].items():
                    old = into["dims"].get(name)
                    into["dims"][name] = [lo, hi] if old is None else [min(old[0], lo), max(old[1], hi)]
    return out


def place(d: Descriptor, domain: dict | None) -> str | None:
    """"in" / "out" of the domain, "new" (a library it never saw), or None when the domain does not cover the
    descriptor's kind and key."""
    cell = (domain or {}).get(d.kind, {}).get(d.key)
    if cell is None:
        return None
    cats = cell["cats"]
    if any(name == "library" and value != "auto" and value not in cats.get(name, ()) for name, value in d.cats):
        return "new"  # a GEMM library the fit never saw: its gemm.lib.* efficiency is a default
    for name, value in d.cats:
        if value not in cats.get(name, ()):
            return "out"
    dims = cell["dims"]
    for name, lo, hi in d.dims:
        seen = dims.get(name)
        if seen is None or lo < seen[0] - MARGIN_LOG2 or hi > seen[1] + MARGIN_LOG2:
            return "out"
    return "in"

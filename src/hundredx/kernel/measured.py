"""Measured efficiencies: calibration profiles for a chip, interpolated at a kernel's shape.

Owns (1) the work of a measured case — the FLOPs its kernel executes (kernel/roofline.py:
GEMM 2·m·n·k; attention 2·b·hq·sq·s_att·(d+dv) over the exact attended keys s_att) and its
DRAM bytes (memory: `config.bytes`), (2) its speed-of-light time on a `ChipSpec`, t_SOL =
roofline.sol_time (max(FLOPs / peak, bytes / bw), no launch latency), (3) the wall time a
case's reported value implies (`measured_time_s`: reported TFLOP/s count FLOPs by the
docs/cases.md metric convention, roofline.case_metric_flops, e.g. attention halved only when
causal and sq = skv), and (4) the lookup `measured_efficiency(kind, chip_id, **shape)`,
where efficiency = t_SOL / t_measured, so a cost model predicts t = t_SOL / efficiency.

Interpolation: cases of the same kind and chip whose categorical keys match (GEMM dtype,
library when asked, operand alignment class; attention phase, causal, dtype, kernel when
asked; grouped GEMM dtype, library when asked; memory op when asked) are placed in log2
space over the shape dims (`DIMS`). "Close enough" = Euclidean log2 distance ≤
`max_distance_log2` (default 1.0: a factor 2 in one dim, or ~1.41x in two). The answer is
the inverse-distance-weighted geometric mean of the efficiencies of up to 4 such neighbours
(an exact match returns its own value); nothing close enough -> (None, reason).

Profiles, in this order: every `*.json` in `$HUNDREDX_HOME/profiles/` (where `hundredx
calibrate run` writes; kernel/loading.py), `kernel/profiles/<chip-id>*.json` shipped with the
package, and files or directories listed in the env var `HUNDREDX_PROFILES`
(os.pathsep-separated); cases are kept when their `hardware` is the chip. A profile file larger
than MAX_PROFILE_BYTES (64 MiB) is refused with an InputError naming its path. Chips not
in the catalog (e.g. `cpu`) get a *measured roofline*: the best FLOP/s and bytes/s seen in
their own profiles; the source string says so.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.formats import get_format
from hundredx.kernel.loading import profiles_dir
from hundredx.kernel.roofline import case_metric_flops, case_work_flops, sol_time

PROFILE_FORMAT = "hundredx-profile/1"
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
ENV_VAR = "HUNDREDX_PROFILES"
# a full sweep is well under 1 MB; refuse what cannot be a profile (calibrate/profile.py too)
MAX_PROFILE_BYTES = 64 << 20
KINDS = ("gemm", "attention", "memory", "grouped_gemm")
DIMS = {
    "gemm": ("m", "n", "k"),
    "attention": ("batch", "seqlen_q", "seqlen_kv", "heads_q", "heads_kv", "head_dim"),
    "memory": ("bytes",),
    "grouped_gemm": ("groups", "tokens_per_group_mean", "n", "k"),
}
MATCH = {
    "gemm": ("dtype", "library", "aligned"),
    "attention": ("phase", "causal", "dtype", "kernel"),
    "memory": ("op",),
    "grouped_gemm": ("dtype", "library"),
}
DEFAULTS = {"dtype": "bf16"}
MAX_NEIGHBOURS = 4
_CACHE: dict[tuple[str, int, int], list[dict]] = {}
_PREPARED: dict[tuple, tuple | None] = {}


# ---------------------------------------------------------------- work and speed of light
def _fmt(name: str) -> tuple[float, str]:
    f = get_format(name, field="config.dtype")
    return f.bytes_per_element, f.compute


def _gemm_work(c: dict) -> tuple[float, float, str]:
    m, n, k = float(c["m"]), float(c["n"]), float(c["k"])
    in_b, compute = _fmt(c.get("dtype", "bf16"))
    out_b, _ = _fmt(c.get("out_dtype") or ("bf16" if in_b < 2 else c.get("dtype", "bf16")))
    return case_work_flops("gemm", c), (m * k + k * n) * in_b + m * n * out_b, compute


def tokens_per_group(c: dict) -> list[int]:
    """Rows of A per expert: `tokens_per_group`, or `tokens_total` split evenly over `groups`."""
    if c.get("tokens_per_group"):
        return [int(t) for t in c["tokens_per_group"]]
    g, total = int(c["groups"]), int(c["tokens_total"])
    return [total // g + (1 if i < total % g else 0) for i in range(g)]


def _grouped_work(c: dict) -> tuple[float, float, str]:
    tokens = tokens_per_group(c)
    t, g, n, k = float(sum(tokens)), float(len(tokens)), float(c["n"]), float(c["k"])
    in_b, compute = _fmt(c.get("dtype", "bf16"))
    out_b, _ = _fmt(c.get("out_dtype") or ("bf16" if in_b < 2 else c.get("dtype", "bf16")))
    return 2.0 * t * n * k, (t * k + g * k * n) * in_b + t * n * out_b, compute


def _attention_work(c: dict) -> tuple[float, float, str]:
    b, sq, skv = float(c["batch"]), float(c["seqlen_q"]), float(c["seqlen_kv"])
    hq, hkv, d = float(c["heads_q"]), float(c.get("heads_kv", c["heads_q"])), float(c["head_dim"])
    dv = float(c.get("head_dim_v") or d)
    el_b, compute = _fmt(c.get("dtype", "bf16"))
    flops = case_work_flops("attention", c)  # exact attended pairs (kernel/roofline.py)
    nbytes = b * (sq * hq * d + skv * hkv * (d + dv) + sq * hq * dv) * el_b
    return flops, nbytes, compute


def case_work(kind: str, config: dict) -> tuple[float, float, str]:
    """(FLOPs the kernel executes, DRAM bytes read + written, compute class) of one measured case."""
    try:
        if kind == "gemm":
            return _gemm_work(config)
        if kind == "grouped_gemm":
            return _grouped_work(config)
        if kind == "attention":
            return _attention_work(config)
        if kind == "memory":
            return 0.0, float(config["bytes"]), "bf16"
    except KeyError as exc:
        raise InputError(f"config.{exc.args[0]}", None, f"required for kind {kind!r}") from None
    raise InputError("kind", kind, f"no measured-efficiency model; known: {', '.join(KINDS)}")


def metric_flops(kind: str, config: dict) -> float:
    """FLOPs a case's reported TFLOP/s count (docs/cases.md convention, kernel/roofline.py)."""
    try:
        return case_metric_flops(kind, config)
    except KeyError as exc:
        raise InputError(f"config.{exc.args[0]}", None, f"required for kind {kind!r}") from None


def sol_time_s(kind: str, config: dict, chip: ChipSpec) -> float | None:
    """Roofline speed-of-light time on `chip`; None when the chip has no path for the compute class."""
    flops, nbytes, compute = case_work(kind, config)
    peak = chip.peak(compute)
    if flops > 0 and peak <= 0:
        return None
    return float(sol_time(flops, nbytes, peak, chip.mem_bytes_per_s))


def measured_time_s(case: dict) -> float:
    """Wall time of one call implied by a case's metric and value (tflops: docs/cases.md FLOP convention)."""
    metric, value = case["metric"], float(case["value"])
    if metric == "tflops":
        return metric_flops(case["kind"], case["config"]) / (value * 1e12)
    if metric == "bandwidth_gbps":
        return case_work(case["kind"], case["config"])[1] / (value * 1e9)
    if metric == "time_s":
        return value
    raise InputError("metric", metric, "measured efficiency needs tflops, bandwidth_gbps or time_s")


# ---------------------------------------------------------------- profiles
def _read_profile(path: Path) -> list[dict]:
    stat = path.stat()
    if stat.st_size > MAX_PROFILE_BYTES:
        raise InputError("profile", str(path), f"{stat.st_size} bytes, larger than {MAX_PROFILE_BYTES >> 20} MiB: "
                                               "refusing to read it")
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError("profile", str(path), f"cannot read: {exc}") from None
        cases = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(cases, list) or data.get("format") != PROFILE_FORMAT:
            raise InputError("profile", str(path), f"not a {PROFILE_FORMAT} file (needs 'format' and a 'cases' list)")
        cases = [dict(c, profile=str(path)) for c in data["cases"] if isinstance(c, dict)]
        _CACHE[key] = cases
    return _CACHE[key]


def profile_paths(chip_id: str) -> list[Path]:
    """$HUNDREDX_HOME/profiles/*.json, the shipped profiles for `chip_id`, every JSON file named by
    HUNDREDX_PROFILES (in that order)."""
    home = profiles_dir()
    paths = sorted(home.glob("*.json")) if home.is_dir() else []
    paths += sorted(PROFILE_DIR.glob(f"{chip_id}*.json")) if PROFILE_DIR.is_dir() else []
    for entry in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        p = Path(entry).expanduser()
        if p.is_dir():
            paths.extend(sorted(p.glob("*.json")))
        elif p.is_file():
            paths.append(p)
        else:
            raise InputError(ENV_VAR, entry, "no such file or directory")
    return paths


def load_profiles(chip_id: str) -> list[dict]:
    """Every measured case for `chip_id` (case.hardware == chip_id), each tagged with its `profile` path."""
    cases: list[dict] = []
    for path in profile_paths(chip_id):
        cases.extend(c for c in _read_profile(path) if c.get("hardware") == chip_id)
    return cases


# ---------------------------------------------------------------- chip and lookup
def roofline_chip(chip_id: str, cases: list[dict]) -> ChipSpec:
    """A ChipSpec whose peaks are the best FLOP/s and bytes/s measured in `cases` (chips without a catalog entry).
    Every case's bytes/s counts, not only the memory cases': a small GEMV whose operands sit in cache moves
    its bytes faster than a DRAM copy, and a roofline below a measured rate would give an efficiency > 1."""
    peaks: dict[str, float] = {}
    best_bw = 0.0
    for case in cases:
        flops, nbytes, compute = case_work(case["kind"], case["config"])
        t = measured_time_s(case)
        if flops > 0:
            peaks[compute] = max(peaks.get(compute, 0.0), flops / t)
        best_bw = max(best_bw, nbytes / t)
    return ChipSpec(id=chip_id, name=f"{chip_id} (measured roofline)", vendor="measured", peak_flops_per_s=peaks,
                    mem_bytes=0.0, mem_bytes_per_s=max(best_bw, 1.0),
                    sources=(f"measured roofline: best FLOP/s and bytes/s in the {chip_id} calibration profiles",))


def chip_for(chip_id: str, cases: list[dict]) -> tuple[ChipSpec, str]:
    """The catalog chip, else the measured roofline of `cases`; with a word on which."""
    try:
        from hundredx.chip.catalog import load_chip

        return load_chip(chip_id), "catalog"
    except (InputError, KeyError, FileNotFoundError):
        return roofline_chip(chip_id, cases), "measured roofline"


def _keys(kind: str, config: dict) -> dict:
    keys = {k: config.get(k, DEFAULTS.get(k)) for k in MATCH[kind]}
    if kind == "gemm":
        el_b, _ = _fmt(config.get("dtype", "bf16"))
        keys["aligned"] = all(float(config[d]) * el_b % 16 == 0 for d in ("n", "k"))
    if kind == "attention":
        keys["causal"] = bool(config.get("causal", False))
    return keys


def _point(kind: str, config: dict) -> np.ndarray:
    c = dict(config)
    if kind == "grouped_gemm":
        tokens = tokens_per_group(c)
        c["groups"], c["tokens_per_group_mean"] = len(tokens), max(sum(tokens) / len(tokens), 1.0)
    if kind == "attention":
        c.setdefault("heads_kv", c.get("heads_q"))
    return np.log2(np.array([float(c[d]) for d in DIMS[kind]]))


def efficiency_table(kind: str, chip: ChipSpec, cases: list[dict]) -> list[tuple[dict, float]]:
    """(case, t_SOL / t_measured) for every case of `kind` on `chip` with a compute path."""
    out = []
    for case in cases:
        if case.get("kind") != kind:
            continue
        sol = sol_time_s(kind, case["config"], chip)
        if sol is not None:
            out.append((case, sol / measured_time_s(case)))
    return out


def _prepared(kind: str, chip_id: str, chip: ChipSpec | None) -> tuple | None:
    """(chip, how, cases, keys, log2 points [n, dims], efficiencies [n]) for `kind`, cached per profile-file state."""
    files = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in profile_paths(chip_id))
    fingerprint = None if chip is None else (chip.id, tuple(sorted(chip.peak_flops_per_s.items())),
                                             chip.mem_bytes_per_s)
    key = (kind, chip_id, files, fingerprint)
    if key not in _PREPARED:
        cases = load_profiles(chip_id)
        if not cases:
            _PREPARED[key] = None
            return None
        chip, how = chip_for(chip_id, cases) if chip is None else (chip, "given chip")
        table = efficiency_table(kind, chip, cases)
        points = np.array([_point(kind, c["config"]) for c, _ in table]).reshape(len(table), len(DIMS[kind]))
        _PREPARED[key] = (chip, how, [c for c, _ in table], [_keys(kind, c["config"]) for c, _ in table], points,
                          np.array([e for _, e in table], dtype=float))
    return _PREPARED[key]


def measured_efficiency(kind: str, chip_id: str, *, chip: ChipSpec | None = None, max_distance_log2: float = 1.0,
                        exclude_id: str | None = None, **shape) -> tuple[float | None, str]:
    """Interpolated measured efficiency (t_SOL / t) of `kind` at `shape` on `chip_id`, and where it came from.

    `shape` holds the case-config fields of docs/cases.md (gemm: m, n, k, dtype, library; attention: phase, batch,
    seqlen_q, seqlen_kv, heads_q, heads_kv, head_dim, causal, dtype, kernel; grouped_gemm: k, n, dtype,
    tokens_per_group or groups + tokens_total, library; memory: op, bytes). Returns (None, reason) when no
    matching case lies within `max_distance_log2`. `exclude_id` leaves the profile case of that id out
    (leave-one-case-out interpolation: `hundredx validate --calibration profile`).
    """
    if kind not in KINDS:
        raise InputError("kind", kind, f"measured efficiencies exist for {', '.join(KINDS)}")
    try:
        want, point = _keys(kind, shape), _point(kind, shape)
    except KeyError as exc:
        raise InputError(f"shape.{exc.args[0]}", None, f"required to look up a measured {kind}") from None
    prepared = _prepared(kind, chip_id, chip)
    if prepared is None:
        return None, f"no calibration profile for {chip_id}"
    chip, how, cases, keys, points, effs = prepared
    idx = np.array([i for i, k in enumerate(keys) if all(v is None or k[f] == v for f, v in want.items())
                    and (exclude_id is None or cases[i].get("id") != exclude_id)], dtype=int)
    if idx.size == 0:
        return None, f"no measured {kind} on {chip_id} with {_show(want)}"
    dist = np.linalg.norm(points[idx] - point, axis=1)
    order = np.argsort(dist, kind="stable")[:MAX_NEIGHBOURS]
    order = order[dist[order] <= max_distance_log2]
    if order.size == 0:
        nearest = cases[int(idx[np.argmin(dist)])]
        return None, (f"no measured {kind} on {chip_id} within {max_distance_log2} log2 of the shape "
                      f"(nearest {_show(nearest['config'], DIMS[kind])} at {dist.min():.2f})")
    if dist[order[0]] < 1e-9:
        order = order[:1]
    weights = 1.0 / np.maximum(dist[order], 1e-9)
    eff = float(np.exp(np.sum(weights * np.log(effs[idx[order]])) / np.sum(weights)))
    near = cases[int(idx[order[0]])]
    src = (f"measured: {len(order)} case(s) within {dist[order].max():.2f} log2, nearest "
           f"{_show(near['config'], DIMS[kind])} from {Path(near.get('profile', '?')).name} "
           f"({near.get('source', 'unknown source')}); SOL from {how} {chip.id}")
    return eff, src


def _show(config: dict, keys: tuple[str, ...] | None = None) -> str:
    items = config.items() if keys is None else ((k, config.get(k)) for k in keys if k in config)
    return ", ".join(f"{k}={v}" for k, v in items if v is not None and not (isinstance(v, float) and math.isnan(v)))

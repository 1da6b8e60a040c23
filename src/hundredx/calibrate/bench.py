"""`hundredx calibrate run`: run the sweep on a backend and turn each timing into a measured case.

Each benchmark (kind, config) from `sweeps.plan` is built by the backend with fresh random
inputs, timed (`backend.time_fn`: warm-up, median of repeats, L2 flush on CUDA), and
recorded as a case in the validation format (docs/cases.md): GEMM, grouped GEMM and
attention as `tflops` = useful FLOPs / median time (FLOPs from
`hundredx.kernel.measured.metric_flops`, the SCHEMA convention: 2·m·n·k; 4·b·sq·skv·hq·d,
halved for square causal), memory ops as `bandwidth_gbps` = (bytes read + written) / median time. What ran
(library, SDPA backend, RMSNorm implementation) goes into `config`; the quartiles into
`notes`; `source` = "hundredx calibrate run, <device>, <date>". Benchmarks the backend
cannot run are listed under `skipped` with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable

from hundredx.calibrate.backend import Skip, get_backend
from hundredx.calibrate.devices import provenance, resolve_chip
from hundredx.calibrate.sweeps import plan
from hundredx.kernel.measured import PROFILE_FORMAT, case_work, metric_flops

Progress = Callable[[int, int, str], None]


def _label(kind: str, c: dict) -> str:
    if kind == "gemm":
        return f"gemm-{c['dtype']}-m{c['m']}-n{c['n']}-k{c['k']}"
    if kind == "attention":
        return (f"attn-{c['phase']}-{c['dtype']}-b{c['batch']}-sq{c['seqlen_q']}-skv{c['seqlen_kv']}-h{c['heads_q']}"
                f"-kv{c['heads_kv']}-d{c['head_dim']}{'-causal' if c['causal'] else ''}")
    if kind == "grouped_gemm":
        t = c["tokens_per_group"]
        return (f"grouped-{c['library']}-{c['dtype']}-g{len(t)}-t{sum(t)}-{c['distribution']}"
                f"-n{c['n']}-k{c['k']}")
    return f"{c['op']}-{c['dtype']}-{'x'.join(str(s) for s in c['shape'])}"


def build(backend, kind: str, config: dict) -> tuple[Callable[[], object], dict]:
    """The callable for one benchmark and its config completed with what actually ran."""
    c = dict(config)
    if kind == "gemm":
        c["library"] = backend.library
        m, n, k = c["m"], c["n"], c["k"]
        fn = backend.fp8_gemm(m, n, k) if c["dtype"] == "fp8" else backend.gemm(m, n, k, c["dtype"])
    elif kind == "attention":
        fn, c["kernel"] = backend.attention(c)
        c["variant"] = "mha" if c["heads_kv"] == c["heads_q"] else "gqa"
    elif kind == "grouped_gemm":
        c["groups"], c["tokens_total"] = len(c["tokens_per_group"]), sum(c["tokens_per_group"])
        fn = backend.grouped_gemm(c["tokens_per_group"], c["n"], c["k"], c["dtype"], c["library"])
    elif c["op"] == "copy":
        fn = backend.copy(c["bytes"] // 2)
        c["impl"] = f"{backend.library} device-to-device copy"
    else:
        fn, c["impl"] = backend.rmsnorm(c["shape"][0], c["shape"][1], c["dtype"])
    return fn, c


def measure(backend, kind: str, config: dict) -> tuple[dict, dict]:
    """Run one benchmark: (completed config, timing summary). Raises Skip with the reason."""
    try:
        fn, c = build(backend, kind, config)
        timing = backend.time_fn(fn)
    except Skip:
        raise
    except (RuntimeError, MemoryError) as exc:  # out of memory, unsupported shape inside the library
        _free(backend)
        raise Skip(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    return c, timing


def _free(backend) -> None:
    if getattr(backend, "is_cuda", False):
        backend.torch.cuda.empty_cache()


def to_case(kind: str, config: dict, timing: dict, chip: str, source: str) -> dict:
    """A docs/cases.md case from one timing."""
    t = timing["median_s"]
    if kind == "memory":
        metric, value = "bandwidth_gbps", case_work(kind, config)[1] / t / 1e9
    else:
        metric, value = "tflops", metric_flops(kind, config) / t / 1e12
    return {"id": f"cal-{chip}-{_label(kind, config)}", "kind": kind, "hardware": chip, "n_devices": 1,
            "config": config, "metric": metric, "value": value, "source": source,
            "notes": (f"median {t:.4g} s of {timing['reps']} timed calls (quartiles {timing['q1_s']:.4g} - "
                      f"{timing['q3_s']:.4g} s)")}


def make_backend(device: str, impl: str = "auto", quick: bool = False):
    """The backend for `device` (InputError when it cannot run here); `quick` times fewer repeats."""
    timing = {"target_s": 0.02, "min_reps": 3, "max_reps": 50} if quick else {}
    return get_backend(device, impl, **timing)


def run_calibration(device: str = "cuda", chip: str | None = None, quick: bool = False, impl: str = "auto",
                    on_progress: Progress | None = None, command: list[str] | None = None,
                    only: tuple[str, ...] = (), backend=None) -> dict:
    """Run the whole sweep on `device`; returns the profile dict (format, provenance, cases, skipped)."""
    backend = backend or make_backend(device, impl, quick)
    info = backend.info()
    chip_id = resolve_chip(device, info["device_name"], chip)
    prov = provenance(info, chip_id, command)
    prov["sweep"] = "quick" if quick else "full"
    source = f"hundredx calibrate run, {info['device_name']}, {prov['date'][:10]}"
    benches = [(k, c) for k, c in plan(backend, quick) if not only or k in only]
    cases, skipped, seen = [], [], set()
    for i, (kind, config) in enumerate(benches):
        if on_progress:
            on_progress(i, len(benches), f"{kind} {_label(kind, dict(config, library=config.get('library', '')))}")
        try:
            c, t = measure(backend, kind, config)
        except Skip as why:
            skipped.append({"kind": kind, "config": config, "reason": str(why)})
            continue
        case = to_case(kind, c, t, chip_id, source)
        while case["id"] in seen:
            case["id"] += "-dup"
        seen.add(case["id"])
        cases.append(case)
    if on_progress:
        on_progress(len(benches), len(benches), "done")
    return {"format": PROFILE_FORMAT, "provenance": prov, "cases": cases, "skipped": skipped}

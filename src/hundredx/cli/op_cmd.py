"""`hundredx op ...`: the cost of one kernel on one chip (gemm, grouped-gemm, attention, memory).

Each command prints the speed-of-light time, the predicted time, efficiency (SOL/predicted),
the bound, the achieved TFLOP/s or GB/s, where the efficiency came from ("fitted:<file>",
"family:<file>", "measured: ..." or "analytic"), and the 80% interval of the time and of the
rate (`interval_s`, `interval_tflops` / `interval_gbps`) from the measured cross-validation
error of that source (kernel/intervals.py; `source_class`, `domain`: inside or outside the
fitted domain). `--calibration` restricts the sources (kernel/loading.py); under `profile` the
time is interpolated from the chip's measured profiles where they cover the shape, else it is
priced by the fitted parameters and `fallback` says so. --json prints one JSON object.
"""

from __future__ import annotations

import numpy as np
import typer

from hundredx.cli.common import MAX_BYTES, MAX_DIM, bounded, print_json, print_table, user_errors
from hundredx.errors import InputError

op_app = typer.Typer(no_args_is_help=True, help="Cost of one kernel on one chip: SOL, predicted time, bound, source.")


def _load_chip(chip_id: str):
    try:
        from hundredx.chip import load_chip
    except ImportError:
        raise InputError("chip", chip_id,
                         "the chip catalog loader (hundredx.chip.load_chip) is not available") from None
    return load_chip(chip_id)


CHIP_HELP = "chip id or chip YAML file (hundredx chip list)"
DTYPE_HELP = "operand format: bf16, fp16, fp8, nvfp4, mxfp4, int8, ..."
CALIBRATION_HELP = "sources the price may use: auto, profile, fitted, family (nothing of the chip itself), analytic"


def _setup(chip_id: str, calibration: str):
    from hundredx.kernel.loading import load_params

    chip = _load_chip(chip_id)
    return chip, load_params(chip, calibration=calibration)


def _measured(kind: str, chip, shape: dict, sol_s: float) -> tuple[float | None, str]:
    """(time from the chip's measured profiles, source) or (None, why) — `--calibration profile`."""
    from hundredx.kernel.measured import measured_efficiency

    eff, source = measured_efficiency(kind, chip.id, chip=chip, **shape)
    return (None, source) if eff is None else (sol_s / eff, source)


def _report(title: str, chip, params, t, extra: dict, as_json: bool, shape: dict | None = None) -> None:
    from hundredx.kernel.domain import describe_case
    from hundredx.kernel.intervals import classify, load_table, time_factors, withheld

    time_s, sol_s = float(np.asarray(t.time_s)), float(np.asarray(t.sol_s))
    source, fallback = params.source, str(extra.pop("fallback", ""))
    fallback = "; ".join(f for f in (chip.preliminary_note, fallback) if f)
    shape = dict(shape or {})
    measured = None
    if params.calibration == "profile":
        measured, why = _measured(title, chip, shape, float(np.asarray(t.sol_s)))
        if measured is None:
            fallback = "; ".join(f for f in (fallback, f"calibration=profile: {why}; priced by {source}") if f)
        else:
            time_s, source = measured, why
    c, m, lat = (float(np.asarray(v)) for v in (t.compute_s, t.memory_s, t.latency_s))
    bound = "latency" if lat >= max(c, m) else ("compute" if c >= m else "memory")
    flops, nbytes = float(np.asarray(t.flops)), float(np.asarray(t.bytes))
    desc = describe_case({"kind": title, "config": shape}, chip, t.parts.get("kernel"))
    cls, where = classify(desc, params, measured is not None)
    table = load_table()
    lo, hi = time_factors(table, cls, title, where)
    interval = [time_s * float(np.exp(-hi)), time_s * float(np.exp(-lo))]
    unmeasured = withheld(chip, table)  # nothing measures the error on this platform: no interval
    if unmeasured:
        fallback = "; ".join(f for f in (fallback, unmeasured) if f)
    out = {"op": title, "chip": chip.id, "sol_s": sol_s, "time_s": time_s, "efficiency": sol_s / time_s,
           "bound": bound, "compute_s": c, "memory_s": m, "latency_s": lat,
           "tflops": flops / time_s / 1e12, "gbps": nbytes / time_s / 1e9, "source": source,
           "calibration": params.calibration, "source_class": cls, "domain": where,
           "interval_s": None if unmeasured else interval,
           "interval_tflops": None if unmeasured else [flops / interval[1] / 1e12, flops / interval[0] / 1e12],
           "interval_gbps": None if unmeasured else [nbytes / interval[1] / 1e9, nbytes / interval[0] / 1e9],
           "unsupported": t.unsupported, "notes": t.parts.get("notes", ""), "fallback": fallback, **extra}
    if as_json:
        print_json(out)
        return
    show = lambda v: f"{v:.4g}" if isinstance(v, float) else (  # noqa: E731
        f"[{v[0]:.4g}, {v[1]:.4g}]" if isinstance(v, list) else str(v))
    rows = [[k, show(v)] for k, v in out.items() if v != ""]
    print_table(f"{title} on {chip.id}", ["field", "value"], rows)


@op_app.command("gemm")
def gemm_cmd(chip: str = typer.Option(..., "--chip", help=CHIP_HELP),
             m: int = typer.Option(..., "--m", help="rows of A and C (unit: elements)"),
             n: int = typer.Option(..., "--n", help="columns of B and C (unit: elements)"),
             k: int = typer.Option(..., "--k", help="reduction dimension (unit: elements)"),
             dtype: str = typer.Option("bf16", help=DTYPE_HELP),
             library: str = typer.Option("auto", help="GEMM library of the kernel catalog (auto, "
                                                      "cublas, cutlass, ...)"),
             calibration: str = typer.Option("auto", help=CALIBRATION_HELP),
             as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Dense GEMM C[m,n] = A[m,k] B[k,n]."""
    from hundredx.kernel.gemm import gemm_time

    with user_errors():
        for name, v in (("m", m), ("n", n), ("k", k)):
            bounded(name, v, 1, MAX_DIM)
        spec, params = _setup(chip, calibration)
        t = gemm_time(m, n, k, spec, params, dtype, library)
        shape = {"m": m, "n": n, "k": k, "dtype": dtype, **({"library": library} if library != "auto" else {})}
        _report("gemm", spec, params, t, {"m": m, "n": n, "k": k, "dtype": dtype, "fallback": t.parts["fallback"],
                                          "tile_wave_eff": float(t.parts["tile_wave_eff"]),
                                          "align": float(t.parts["align"])}, as_json, shape)


@op_app.command("grouped-gemm")
def grouped_cmd(chip: str = typer.Option(..., "--chip", help=CHIP_HELP),
                k: int = typer.Option(..., "--k", help="reduction dimension (unit: elements)"),
                n: int = typer.Option(..., "--n", help="output columns per expert (unit: elements)"),
                tokens_per_group: str = typer.Option("", "--tokens-per-group", help="tokens routed to each "
                                                     "group, comma list, e.g. 128,256 (unit: tokens)"),
                groups: int = typer.Option(0, "--groups", help="experts (groups) of the GEMM (unit: groups)"),
                tokens: int = typer.Option(0, "--tokens", help="routed rows over all groups (unit: tokens)"),
                distribution: str = typer.Option("uniform", help="tokens over groups: uniform, random, skewed, "
                                                                 "tile_rounded"),
                library: str = typer.Option("deepgemm", help="grouped GEMM library of the kernel catalog"),
                dtype: str = typer.Option("bf16", help=DTYPE_HELP),
                calibration: str = typer.Option("auto", help=CALIBRATION_HELP),
                as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """MoE grouped GEMM over experts."""
    from hundredx.kernel.grouped_gemm import grouped_gemm_time

    with user_errors():
        bounded("k", k, 1, MAX_DIM), bounded("n", n, 1, MAX_DIM)
        tpg = None
        if tokens_per_group:
            try:
                tpg = [int(x) for x in tokens_per_group.split(",") if x.strip()]
            except ValueError:
                raise InputError("tokens-per-group", tokens_per_group, "must be a comma list of integers") from None
            if not tpg or any(not 0 <= x <= MAX_DIM for x in tpg) or not any(tpg):
                raise InputError("tokens-per-group", tokens_per_group, f"need integers in [0, {MAX_DIM}], not all 0")
        elif groups < 1 or tokens < 1:
            raise InputError("groups/tokens", (groups, tokens),
                             "give --tokens-per-group, or --groups and --tokens >= 1")
        spec, params = _setup(chip, calibration)
        t = grouped_gemm_time(spec, params, k, n, tpg, groups or None, tokens or None, distribution, library, dtype)
        shape = {"k": k, "n": n, "dtype": dtype, "library": library,
                 **({"tokens_per_group": tpg} if tpg else {"groups": groups, "tokens_total": tokens})}
        _report("grouped_gemm", spec, params, t, {"padded_rows": float(np.asarray(t.parts["padded_rows"])),
                                                  "active_experts": float(np.asarray(t.parts["active_experts"]))},
                as_json, shape)


@op_app.command("attention")
def attention_cmd(chip: str = typer.Option(..., "--chip", help=CHIP_HELP),
                  phase: str = typer.Option("prefill", help="prefill or decode"),
                  batch: int = typer.Option(1, help="sequences (unit: sequences)"),
                  seqlen_q: int = typer.Option(0, "--seqlen-q", help="query tokens per sequence; 0: 1 in decode, "
                                                                     "seqlen-kv in prefill (unit: tokens)"),
                  seqlen_kv: int = typer.Option(..., "--seqlen-kv", help="key/value tokens per sequence (unit: "
                                                                         "tokens)"),
                  heads_q: int = typer.Option(..., "--heads-q", help="query heads (unit: heads)"),
                  heads_kv: int = typer.Option(0, "--heads-kv", help="key/value heads; 0: as --heads-q (unit: heads)"),
                  head_dim: int = typer.Option(128, "--head-dim", help="head dimension (unit: elements)"),
                  causal: bool = typer.Option(False, "--causal", help="causal mask"),
                  kernel: str = typer.Option("auto", help="fa2, fa3, fa4, flashmla, flashinfer, cudnn, ..."),
                  dtype: str = typer.Option("bf16", help=DTYPE_HELP),
                  calibration: str = typer.Option("auto", help=CALIBRATION_HELP),
                  as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Attention prefill or decode."""
    from hundredx.kernel.attention import attention_time

    with user_errors():
        if phase not in ("prefill", "decode"):
            raise InputError("phase", phase, "must be prefill or decode")
        for name, v in (("batch", batch), ("seqlen-kv", seqlen_kv), ("heads-q", heads_q), ("head-dim", head_dim)):
            bounded(name, v, 1, MAX_DIM)
        bounded("seqlen-q", seqlen_q, 0, MAX_DIM), bounded("heads-kv", heads_kv, 0, MAX_DIM)
        if heads_kv and heads_q % heads_kv:
            raise InputError("heads-kv", heads_kv, f"must divide --heads-q {heads_q}")
        sq = seqlen_q or (1 if phase == "decode" else seqlen_kv)
        spec, params = _setup(chip, calibration)
        t = attention_time(spec, params, batch, sq, seqlen_kv, heads_q, heads_kv or heads_q, head_dim,
                           causal=causal, kernel=kernel, dtype=dtype)
        shape = {"phase": phase, "batch": batch, "seqlen_q": sq, "seqlen_kv": seqlen_kv, "heads_q": heads_q,
                 "heads_kv": heads_kv or heads_q, "head_dim": head_dim, "causal": causal, "dtype": dtype,
                 **({"kernel": kernel} if kernel != "auto" else {})}
        _report("attention", spec, params, t, {"phase": phase, "kernel": str(t.parts["kernel"])}, as_json, shape)


@op_app.command("memory")
def memory_cmd(chip: str = typer.Option(..., "--chip", help=CHIP_HELP),
               op: str = typer.Option("copy", help="memory op: copy, read, add, triad, rmsnorm, activation, rope, "
                                                   "quantize, gather"),
               nbytes: float = typer.Option(..., "--bytes", help="bytes read plus written (unit: bytes)"),
               calibration: str = typer.Option("auto", help=CALIBRATION_HELP),
               as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """Memory-bound op moving --bytes (read + written)."""
    from hundredx.kernel.memory import memory_time

    with user_errors():
        bounded("bytes", nbytes, 1, MAX_BYTES)
        spec, params = _setup(chip, calibration)
        _report("memory", spec, params, memory_time(nbytes, spec, params, op), {"memory_op": op}, as_json,
                {"op": op, "bytes": nbytes})


@op_app.command("moe_layer")
def moe_layer_cmd(chip: str = typer.Option(..., "--chip", help=CHIP_HELP),
                  tokens: int = typer.Option(..., "--tokens", help="tokens of the layer, per rank under ep "
                                                                   "(unit: tokens)"),
                  hidden: int = typer.Option(..., "--hidden", help="model width H (unit: elements)"),
                  intermediate: int = typer.Option(..., "--intermediate", help="expert width I (unit: elements)"),
                  experts: int = typer.Option(..., "--experts", help="routed experts E (unit: experts)"),
                  topk: int = typer.Option(..., "--topk", help="experts per token k (unit: experts)"),
                  dtype: str = typer.Option("bf16", help="bf16, fp16, fp8, fp32"),
                  library: str = typer.Option("deepgemm", help="grouped GEMM library of the kernel catalog"),
                  distribution: str = typer.Option("uniform", help="tokens over experts: uniform, random, skewed, "
                                                                   "tile_rounded"),
                  ep: int = typer.Option(1, "--ep", help="expert-parallel ranks; > 1 adds dispatch/combine on the "
                                                         "chip's standard system (unit: ranks)"),
                  calibration: str = typer.Option("auto", help=CALIBRATION_HELP),
                  as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """A whole MoE layer: permute, grouped GEMMs up+gate and down, activation, unpermute (+ dispatch/combine)."""
    from hundredx.kernel.moe_layer import moe_layer_time

    with user_errors():
        for name, v in (("tokens", tokens), ("hidden", hidden), ("intermediate", intermediate),
                        ("experts", experts), ("topk", topk), ("ep", ep)):
            bounded(name, v, 1, MAX_DIM)
        spec, params = _setup(chip, calibration)
        system = None
        if ep > 1:
            from hundredx.chip.catalog import load_system

            system = load_system(spec.id)
        t = moe_layer_time(spec, params, tokens, hidden, intermediate, experts, topk, dtype, library, distribution,
                           ep, system)
        out = {"op": "moe_layer", "chip": spec.id, **t.to_dict(), "tflops": t.flops / t.time_s / 1e12}
        if as_json:
            print_json(out)
            return
        rows = [[k, f"{v:.4g}"] for k, v in t.steps.items()] + [["total time_s", f"{t.time_s:.4g}"],
                                                                 ["tflops", f"{out['tflops']:.4g}"]]
        if t.notes:
            rows.append(["notes", t.notes])
        print_table(f"moe_layer on {spec.id}", ["kernel", "time_s"], rows)


def register(app: typer.Typer) -> None:
    try:
        from hundredx.cli.op_collective import register_collective

        register_collective(op_app)
    except ModuleNotFoundError:
        pass
    app.add_typer(op_app, name="op")

"""`hundredx serve`: request-level simulation of a stack (the Pareto view of a search is cli/pareto_cmd.py)."""

from __future__ import annotations

from typing import Any

import typer

from hundredx.cli.common import (
    CHIP_HELP,
    OUT_HELP,
    SYSTEM_HELP,
    check_table_path,
    chip_ref,
    print_json,
    print_table,
    user_errors,
    write_table,
)
from hundredx.errors import InputError


def _pair(text: str | None, field: str) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        p, d = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError(field, text, "expected P:D, e.g. 8:8") from None
    return p, d


def _spec(text: str | None):
    from hundredx.kernel.runtime import SpeculativeSpec

    if not text:
        return None
    parts = text.split(":")
    try:
        method, k, accept = parts[0], int(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        raise InputError("spec", text, "expected METHOD:K:ACCEPT, e.g. mtp:3:0.7") from None
    if method not in ("mtp", "draft", "eagle"):
        raise InputError("spec", text, "METHOD must be mtp, draft or eagle")
    return SpeculativeSpec(method=method, draft_tokens=k, acceptance=accept)


def build_workload(isl: int, osl: int, requests: int | None, concurrency: int | None, rate: float | None,
                   trace: str | None, ttft_limit: float | None = None, tpot_limit: float | None = None,
                   warmup: int = 0):
    """The simulator's workload: closed loop (--concurrency), Poisson (--rate), a trace, or offline."""
    import math

    from hundredx.scenario import Workload

    if sum(x is not None for x in (concurrency, rate, trace)) > 1:
        raise InputError("concurrency/rate/trace", "", "give at most one of --concurrency, --rate, --trace")
    common: dict[str, Any] = {"isl": isl, "osl": osl, "num_requests": requests,
                              "ttft_limit_s": ttft_limit or math.inf, "tpot_limit_s": tpot_limit or math.inf,
                              "warmup_requests": warmup}
    if trace:  # parsed here, before any progress bar, so a bad file fails with one clean line
        from hundredx.serve import load_trace

        if requests is not None:
            raise InputError("requests", requests, "a trace replays its own rows; --requests does not apply")
        if warmup:
            raise InputError("warmup", warmup, "a trace replay measures every row; --warmup does not apply")
        return load_trace(trace)
    if rate is not None:
        return Workload(arrival="poisson", rate_per_s=rate, **common)
    if concurrency is not None:
        return Workload(arrival="closed", concurrency=concurrency, **common)
    return Workload(arrival="offline", **common)


def _check_lengths(model, workload, isl: int, osl: int) -> None:
    """Every request's prompt + output within the model's context (scenario.rules.check_context)."""
    from hundredx.scenario.rules import check_context

    inp, out = getattr(workload, "input_len", None), getattr(workload, "output_len", None)
    if inp is None or out is None or not len(inp):
        check_context(model, isl, osl)
        return
    row = int((inp + out).argmax())
    try:
        check_context(model, int(inp[row]), int(out[row]))
    except InputError as exc:
        raise InputError(f"trace.input_length[row {row}]", int(inp[row]), exc.why) from None


def _fallbacks(scn) -> list[str]:
    """The substitutions the step costs make (fp4->fp8 on Hopper, a kernel the chip lacks), as predict reports
    them: the simulator prices its steps with the same kernel layer, so they are never silent."""
    from hundredx.predict import predict

    try:
        notes = predict(scn).mismatches
    except (InputError, ValueError):
        return []
    by_note: dict[str, list[str]] = {}
    for item in notes:
        op, _, note = item.partition(": ")
        by_note.setdefault(note or op, []).append(op)
    return [f"{note} ({', '.join(ops[:4])}{', ...' if len(ops) > 4 else ''})" for note, ops in by_note.items()]


def _check_defined(data: dict, trace: str | None, isl: int, osl: int) -> None:
    """A run whose headline metrics are undefined is an input error, not a table of NaN."""
    import math

    if not data.get("output_tokens"):
        raise InputError("trace" if trace else "isl", trace or isl,
                         "no request completed: none fits the KV cache of a replica "
                         "(shorter prompts, more devices or a smaller KV format)")
    tpot = data.get("tpot_p50_s")
    if not (isinstance(tpot, float) and math.isfinite(tpot)):
        raise InputError("trace.output_length" if trace else "osl", trace or osl,
                         "no request has a second output token, so TPOT is undefined; give >= 2 output tokens")


def register(app: typer.Typer) -> None:
    _register_serve(app)


def _register_serve(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(model: str = typer.Option(..., help="zoo id, name, config.json path or folder"),
              chip: str | None = typer.Option(None, help=CHIP_HELP),
              system: str | None = typer.Option(None, help=SYSTEM_HELP),
              devices: int | None = typer.Option(None, help="devices in total, aggregated serving (default tp*pp*dp) "
                                                            "(unit: devices)"),
              tp: int | None = typer.Option(None, help="tensor parallel degree per replica (unit: ways)"),
              pp: int = typer.Option(1, help="pipeline parallel degree per replica (unit: stages)"),
              ep: int = typer.Option(1, help="expert parallel degree (unit: ways)"),
              dp: int | None = typer.Option(None, help="data parallel replicas (default devices / replica) (unit: "
                                                       "replicas)"),
              attention_dp: bool = typer.Option(False, "--attention-dp",
                                                help="attention data-parallel over the tp ranks"),
              weights: str | None = typer.Option(None, help="weight format (bf16, fp8, nvfp4, ...)"),
              kv: str | None = typer.Option(None, help="KV-cache format"),
              concurrency: int | None = typer.Option(None, help="closed loop: requests in flight over the deployment "
                                                                "(unit: requests)"),
              rate: float | None = typer.Option(None, help="open loop: Poisson arrival rate (unit: requests/s)"),
              requests: int | None = typer.Option(None, help="requests to simulate (default 1000) (unit: requests)"),
              isl: int = typer.Option(1024, help="input tokens per request (unit: tokens)"),
              osl: int = typer.Option(256, help="output tokens per request (unit: tokens)"),
              trace: str | None = typer.Option(None, help="CSV/Parquet: "
                                                         "timestamp,input_length,output_length[,prefix_id]"),
              disagg: str | None = typer.Option(None, help="P:D prefill and decode devices (P/D disaggregation)"),
              prefill_tp: int | None = typer.Option(None,
                                                    help="tensor parallelism of the prefill pool (with --disagg) "
                                                         "(unit: ways)"),
              prefill_chip: str | None = typer.Option(None, help="chip of the prefill pool (with --disagg; "
                                                                 "default --chip, which runs the decode pool)"),
              afd: str | None = typer.Option(None, help="A:F attention and FFN devices per replica"),
              spec: str | None = typer.Option(None, help="speculative decoding METHOD:K:ACCEPT, e.g. mtp:3:0.7"),
              prefix_cache: bool = typer.Option(False, "--prefix-cache", help="reuse cached KV of shared prefixes"),
              max_seqs: int = typer.Option(256, help="engine cap on running sequences per replica (unit: sequences)"),
              max_batched_tokens: int = typer.Option(8192, help="engine token budget per step (chunked prefill) "
                                                                "(unit: tokens)"),
              ttft_limit: float | None = typer.Option(None, help="TTFT limit for goodput (unit: s)"),
              tpot_limit: float | None = typer.Option(None, help="TPOT limit for goodput (unit: s)"),
              seed: int = typer.Option(0, help="random seed of arrivals, lengths and acceptance (unit: integer seed)"),
              warmup: int = typer.Option(0, help="leave the first N requests out of the metrics (benchmark "
                                                 "warm-up, e.g. --concurrency of them) (unit: requests)"),
              as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
              out: str | None = typer.Option(None, "--out", help=OUT_HELP + "; CSV/Parquet: one row per "
                                             "request")) -> None:
        """Simulate serving at request level: queues, continuous batching, paged KV, disaggregation."""
        from hundredx.serve import simulate

        with user_errors():
            chip = chip_ref(chip, system)
            check_table_path(out)
            engine = dict(max_seqs=max_seqs, max_batched_tokens=max_batched_tokens, prefix_cache=prefix_cache)
            scn, deployment = _deployment(model, chip, devices, tp, pp, ep, dp, attention_dp, weights, kv, disagg,
                                          prefill_tp, afd, spec, engine, prefill_chip)
            workload = build_workload(isl, osl, requests, concurrency, rate, trace, ttft_limit, tpot_limit, warmup)
            _check_lengths(scn.model, workload, isl, osl)
            result = _run(simulate, deployment, workload, seed, quiet=as_json)
            _check_defined(result.to_dict(), trace, isl, osl)
            data = {**result.to_dict(), "model": scn.model.id, "system": scn.system.id, "fallbacks": _fallbacks(scn)}
            if out:
                write_table(out, result, data)
        _print_serve(scn, data, as_json)


def _deployment(model, chip, devices, tp, pp, ep, dp, attention_dp, weights, kv, disagg, prefill_tp, afd, spec,
                engine: dict, prefill_chip: str | None = None):
    """(scenario, deployment) of `hundredx serve`'s options: aggregated, --disagg P:D (the prefill pool on
    `prefill_chip` when given) or --afd A:F; `engine`: the SchedulerSpec fields."""
    from hundredx.cli.predict_cmd import build_scenario
    from hundredx.kernel.runtime import Disaggregation, SchedulerSpec
    from hundredx.serve.from_stack import deployment_from_stack

    pair = _pair(disagg, "disagg")
    afd_pair = _pair(afd, "afd")
    if pair and afd_pair:
        raise InputError("afd", afd, "choose --disagg or --afd, not both")
    if prefill_tp is not None and pair is None:
        raise InputError("prefill-tp", prefill_tp, "applies to a disaggregated deployment (--disagg P:D) only")
    if (pair or afd_pair) and devices is not None:
        raise InputError("devices", devices, "with --disagg P:D or --afd A:F the pools set the devices")
    if prefill_chip is not None and pair is None:
        raise InputError("prefill-chip", prefill_chip, "applies to a disaggregated deployment (--disagg P:D) only")
    pools = Disaggregation(pair[0], pair[1], prefill_tp) if pair else None
    if prefill_chip is not None and pair:
        pools = Disaggregation(pair[0], pair[1], prefill=_prefill_pool(pair[0], prefill_tp or tp or 1, pp, ep,
                                                                      attention_dp, prefill_chip))
    scheduler = SchedulerSpec(**engine)
    scn = build_scenario(model, chip, devices, tp, pp, ep, dp, weights, kv, attention_dp=attention_dp,
                         speculative=_spec(spec), scheduler=scheduler, disaggregation=pools)
    return scn, deployment_from_stack(scn.stack, afd=afd_pair)


def _prefill_pool(devices: int, tp: int, pp: int, ep: int, attention_dp: bool, chip: str):
    """The prefill PoolSpec of --disagg P:D on another chip: P / (tp pp) workers of the CLI's layout."""
    from hundredx.kernel.runtime import PoolSpec

    if devices % (tp * pp):
        raise InputError("disagg", devices, f"the prefill devices are not whole workers of tp*pp = {tp * pp}")
    ep_ = min(ep, tp) if tp % min(ep, tp) == 0 else 1
    return PoolSpec(workers=devices // (tp * pp), tp=1 if attention_dp else tp, pp=pp,
                    attention_dp=tp if attention_dp else 1, moe_ep=ep_, chip=chip)


def _print_serve(scn, data: dict, as_json: bool) -> None:
    data.update({"model": scn.model.id, "system": scn.system.id})
    if as_json:
        print_json(data)
        return
    keys = ["output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user", "ttft_p50_s",
            "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "e2e_p90_s", "goodput_fraction", "kv_peak_utilization",
            "preemptions", "usd_per_million_output_tokens", "joules_per_output_token"]
    print_table(f"{scn.model.id} on {scn.system.id}", ["metric", "value"],
                [[k, f"{data[k]:.4g}" if isinstance(data.get(k), float) else data.get(k)] for k in keys if k in data])
    if data.get("fallbacks"):
        typer.echo("fallbacks (substitutions the model made): " + "; ".join(data["fallbacks"]))


def _run(simulate, deployment, workload, seed: int, quiet: bool):
    if quiet:
        return simulate(deployment, workload, seed=seed)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=1.0)
        return simulate(deployment, workload, seed=seed, progress=lambda f: bar.update(task, completed=f))

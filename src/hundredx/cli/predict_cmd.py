"""`hundredx predict`: one stack on one workload, with bounds, bottleneck and breakdown.

`--concurrency C` loads the deployment with C requests in flight (batch ceil(C / dp) per replica) and
adds the steady state a closed-loop benchmark at C sees (`steady_state`: in-flight TTFT with chunked
prefill and queue wait, TPOT, throughput; predict/steady.py); the static model's TTFT is also
reported under the name that says what it is, `static_batch_prefill_s`;
`--disagg P:D` predicts prefill/decode pools (predict/pools.py: each pool its own parallelism,
`--prefill-*` for the prefill pool, the stack's own for the decode pool, `--decode-chip` for another
chip under the decode pool, `--concurrency` for closed-loop clients over the deployment, rate-matched);
`--what-if model.KEY=V` / `chip.KEY=V` changes the model or chip spec (search/whatif.py), so
every row of `hundredx search` is one command.
"""

from __future__ import annotations

from dataclasses import replace
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


def build_scenario(model: Any, chip: Any, devices: int | None, tp: int | None, pp: int, ep: int,
                   dp: int | None, weights: str | None = None, kv: str | None = None, act: str | None = None,
                   attention_kernel: str = "auto", attention_dp: bool = False, nodes: int | None = None, cp: int = 1,
                   workload=None, **runtime):
    """The CLI's stack, built by scenario.build (the one place stacks are built and checked)."""
    from hundredx.scenario import build

    return build(model, chip, devices=devices, nodes=nodes, tp=tp, pp=pp, ep=ep, dp=dp, cp=cp,
                 attention_dp=attention_dp, weights=weights, kv=kv, act=act, attention_kernel=attention_kernel,
                 workload=workload, source="cli", **runtime)


def apply_what_ifs(model: str, chip: str, total_devices: int, items: list[str]) -> tuple[Any, Any]:
    """(model, chip) with `--what-if` changes applied: specs when changed, the ids otherwise."""
    if not items:
        return model, chip
    from hundredx.scenario.build import resolve_model, resolve_system
    from hundredx.search.whatif import chip_variant, model_variant, parse_what_ifs

    m, c = parse_what_ifs(items)
    spec = model_variant(resolve_model(model), m) if m else model
    system = chip_variant(resolve_system(chip, total_devices), c) if c else chip
    return spec, system


def _pair(text: str) -> tuple[int, int]:
    try:
        p, d = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError("disagg", text, "expected P:D prefill and decode devices, e.g. 8:8") from None
    return p, d


def _disaggregated(model, chip, o: dict, spec) -> dict:
    """predict --disagg: both pools through scenario.build, composed by predict/pools.py."""
    from hundredx.predict.pools import pool_scenarios, predict_disaggregated

    if o["devices"] is not None or o["dp"] is not None:
        raise InputError("disagg", o["disagg"], "the pools set the devices: give --batch (decode) and "
                                                "--prefill-batch, not --devices or --dp")
    if o["concurrency"] is not None and o["batch"] != 1:
        raise InputError("concurrency", o["concurrency"], "give --batch (per decode replica) or --concurrency")
    p, d = _pair(o["disagg"])
    model, chip = apply_what_ifs(model, chip, p + d, o["what_if"])
    decode = {"tp": o["tp"], "pp": o["pp"], "ep": o["ep"], "attention_dp": o["attention_dp"], "batch": o["batch"]}
    prefill = {"tp": o["prefill_tp"] or o["tp"], "pp": o["prefill_pp"] or o["pp"], "ep": o["prefill_ep"] or o["ep"],
               "attention_dp": o["prefill_attention_dp"], "batch": o["prefill_batch"]}
    pre, dec, system = pool_scenarios(model, chip, p, d, prefill, decode, o["isl"], o["osl"], o["decode_chip"],
                                      weights=o["weights"], kv=o["kv"], act=o["act"],
                                      attention_kernel=o["attention_kernel"], moe_routing=o["moe_routing"],
                                      expert_placement=o["expert_placement"], speculative=spec, engine=o["engine"])
    if o["concurrency"] is not None:  # closed loop: the clients spread over the decode workers
        dec = replace(dec, workload=replace(dec.workload, batch=max(-(-o["concurrency"] // dec.runtime.dp), 1)))
    data = predict_disaggregated(pre, dec, system, concurrency=o["concurrency"])
    data.update({"model": dec.stack.model.id, "chip": pre.chip.id, "decode_chip": dec.chip.id, "system": system.id,
                 "workload": {"isl": o["isl"], "osl": o["osl"], "concurrency": o["concurrency"]}})
    return data


def _aggregated(model, chip, o: dict, spec) -> tuple[dict, Any, Any]:
    from hundredx.predict import predict
    from hundredx.scenario import Workload

    if o["concurrency"] is not None and o["batch"] != 1:
        raise InputError("concurrency", o["concurrency"], "give --batch (per replica) or --concurrency, not both")
    total = o["devices"] or (o["tp"] or 1) * o["pp"] * o["cp"] * (o["dp"] or 1)
    model, chip = apply_what_ifs(model, chip, total, o["what_if"])
    load = {"concurrency": o["concurrency"]} if o["concurrency"] is not None else {"batch": o["batch"]}
    scn = build_scenario(model, chip, o["devices"], o["tp"], o["pp"], o["ep"], o["dp"], o["weights"], o["kv"],
                         o["act"], o["attention_kernel"], o["attention_dp"], o["nodes"], cp=o["cp"],
                         workload=Workload(isl=o["isl"], osl=o["osl"], **load), moe_routing=o["moe_routing"],
                         expert_placement=o["expert_placement"], speculative=spec, engine=o["engine"])
    result = predict(scn, calibration=o["calibration"])
    stack, rt = scn.stack, scn.runtime
    data = result.to_dict()
    data.update({"model": stack.model.id, "chip": stack.chip.id, "system": stack.system.id, "mode": "agg",
                 "devices": result.devices,
                 "parallelism": {"tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "dp": rt.dp, "cp": rt.cp,
                                 "attention_dp": rt.attention_dp},
                 "workload": {"isl": o["isl"], "osl": o["osl"], "batch": scn.workload.batch,
                              "concurrency": o["concurrency"]}})
    data["static_batch_prefill_s"] = result.ttft_s  # `ttft_s` of the static model: the whole batch's prefill
    if o["concurrency"] is not None:
        from hundredx.predict.steady import predict_steady

        data["steady_state"] = predict_steady(stack, o["isl"], o["osl"], concurrency=o["concurrency"])
    return data, scn, result


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict_command(
        model: str = typer.Option(..., help="zoo id, name, config.json path or folder"),
        chip: str | None = typer.Option(None, help=CHIP_HELP),
        system: str | None = typer.Option(None, help=SYSTEM_HELP),
        devices: int | None = typer.Option(None, help="devices in total (default tp*pp*cp*dp; "
                                                      "without --tp, tp fills them) (unit: devices)"),
        nodes: int | None = typer.Option(None, help="nodes the devices span (checked against the system) (unit: "
                                                    "nodes)"),
        tp: int | None = typer.Option(None, help="tensor parallel degree (unit: ways)"),
        pp: int = typer.Option(1, help="pipeline parallel degree (unit: stages)"),
        ep: int = typer.Option(1, help="expert parallel degree (unit: ways)"),
        dp: int | None = typer.Option(None, help="data parallel replicas (default devices / (tp*pp*cp), else 1) "
                                                 "(unit: replicas)"),
        cp: int = typer.Option(1, help="context parallel degree (ring attention over long prompts) (unit: ways)"),
        attention_dp: bool = typer.Option(False, "--attention-dp", help="attention data-parallel over the tp ranks"),
        weights: str | None = typer.Option(None, help="weight format (bf16, fp8, fp8_block128, nvfp4, mxfp4, int4...)"),
        kv: str | None = typer.Option(None, help="KV-cache format"),
        act: str | None = typer.Option(None, help="activation format"),
        attention_kernel: str = typer.Option("auto", help="fa2, fa3, fa4, flashmla, flashinfer, cudnn, ..."),
        moe_routing: str = typer.Option("uniform", help="MoE routing: uniform, random, skewed, tile_rounded"),
        expert_placement: str = typer.Option("uniform-random", help="busiest-EP-rank load model (kernel/ep_load.py): "
                                             "uniform-random (static placement, engines' default), balanced, eplb"),
        engine: str = typer.Option("generic", help="serving engine: trtllm, vllm, sglang (documented CUDA-graph, "
                                                   "scheduler and overlap defaults; kernel/engine.py) or generic"),
        spec: str | None = typer.Option(None, help="speculative decoding METHOD:K:ACCEPT, e.g. mtp:1:0.85"),
        isl: int = typer.Option(1024, help="input tokens per request (unit: tokens)"),
        osl: int = typer.Option(128, help="output tokens per request (unit: tokens)"),
        batch: int = typer.Option(1, help="sequences in flight per replica (with --disagg: per decode replica) "
                                          "(unit: sequences)"),
        concurrency: int | None = typer.Option(None, help="requests in flight over the deployment (batch "
                                                          "= ceil(concurrency / dp) per replica) (unit: requests)"),
        disagg: str | None = typer.Option(None, help="P:D prefill and decode devices (P/D disaggregation)"),
        prefill_tp: int | None = typer.Option(None, help="prefill pool tensor parallelism (default --tp) (unit: ways)"),
        prefill_pp: int | None = typer.Option(None, help="prefill pool pipeline parallelism (default --pp) (unit: "
                                                         "stages)"),
        prefill_ep: int | None = typer.Option(None, help="prefill pool expert parallelism (default --ep) (unit: ways)"),
        prefill_attention_dp: bool = typer.Option(False, "--prefill-attention-dp",
                                                  help="prefill pool attention data-parallel"),
        prefill_batch: int = typer.Option(1, help="prompts prefilled together per prefill replica (unit: sequences)"),
        decode_chip: str | None = typer.Option(None, help="chip of the decode pool (default --chip; with --disagg)"),
        what_if: list[str] = typer.Option([], "--what-if", help="model.KEY=VALUE or chip.KEY=VALUE spec change "
                                                                "(hundredx search's model and chip axes)"),
        top: int = typer.Option(8, help="ops shown in the breakdown table (unit: rows)"),
        calibration: str = typer.Option("auto", help="sources the kernel prices may use: auto, profile, fitted, "
                                        "family (nothing fitted or measured on the chip itself), analytic"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
        out: str | None = typer.Option(None, "--out", help=OUT_HELP + "; CSV/Parquet: one row per op and phase"),
    ) -> None:
        """Predict TTFT, TPOT, throughput and memory of MODEL on CHIP, with bounds and a per-op breakdown."""
        from hundredx.search.space import parse_spec

        with user_errors():
            chip = chip_ref(chip, system)
            check_table_path(out)
        o = dict(locals())
        with user_errors():
            from hundredx.cli.common import bounded

            bounded("concurrency", concurrency, 1, 1 << 20), bounded("top", top, 0, 10_000)
            speculative = parse_spec(spec, "spec") if spec else None
            if disagg is None:
                for name in ("prefill_tp", "prefill_pp", "prefill_ep", "decode_chip"):
                    if o[name] is not None:
                        raise InputError(name.replace("_", "-"), o[name], "applies with --disagg P:D only")
                data, scn, result = _aggregated(model, chip, o, speculative)
            else:
                data, scn, result = _disaggregated(model, chip, o, speculative), None, None
            if out:
                write_table(out, result, data)
        if as_json or scn is None:
            print_json(data)
            return
        _print_prediction(result, scn, data, top, o["calibration"])


def _op_span(interval, fmt) -> str:
    """An op's 80% interval as text ("not given" where the chip's platform has no measured case)."""
    return f"{fmt(interval[0])} – {fmt(interval[1])}" if interval else "not given"


def _print_prediction(result, scn, data: dict, top: int, calibration: str) -> None:
    """The metric table (predicted, 80% interval, lower bound) and the decode step's top ops."""
    from hundredx.units import fmt_bytes, fmt_time

    stack = scn.stack
    mem = data["memory_per_device_bytes"]
    iv = result.intervals
    span = lambda key, f: f"{f(iv[key][0])} – {f(iv[key][1])}" if iv.get(key) else "not given"  # noqa: E731
    count = lambda v: f"{v:,.0f}"  # noqa: E731
    rows = [["TTFT", fmt_time(result.ttft_s), span("ttft_s", fmt_time), fmt_time(result.lower_bound["ttft_s"])],
            ["TPOT", fmt_time(result.tpot_s), span("tpot_s", fmt_time), fmt_time(result.lower_bound["tpot_s"])],
            ["output tokens/s", count(result.output_tokens_per_s), span("output_tokens_per_s", count), ""],
            ["  per device", count(result.output_tokens_per_s_per_device),
             span("output_tokens_per_s_per_device", count), ""],
            ["  per user", f"{result.tokens_per_s_per_user:,.1f}", span("tokens_per_s_per_user", count), ""],
            ["memory/device", f"{fmt_bytes(mem['total'])} of {fmt_bytes(mem['usable'])}", "",
             f"weights {fmt_bytes(mem['weights'])}, KV {fmt_bytes(mem['kv_cache'])}"],
            ["bottleneck (decode)", result.bottleneck, "", ""]]
    rows[0][0] = "TTFT (static-batch prefill)"
    st = data.get("steady_state")
    if st:  # what a closed-loop benchmark at this concurrency measures (predict/steady.py)
        siv = st["intervals"]
        sspan = lambda key, f: (f"{f(siv[key][0])} – {f(siv[key][1])}" if key in siv  # noqa: E731
                                else "" if siv else "not given")
        rows += [["steady TTFT (in flight)", fmt_time(st["ttft_s"]), sspan("ttft_s", fmt_time),
                  f"queue {fmt_time(st['queue_wait_s'])}, {st['prefill_steps']:.0f} prefill step(s)"],
                 ["steady TPOT", fmt_time(st["tpot_s"]), sspan("tpot_s", fmt_time),
                  f"{st['running_per_replica']:.0f} running / {st['slots_per_replica']} slots a replica"],
                 ["steady output tokens/s", count(st["output_tokens_per_s"]), sspan("output_tokens_per_s", count),
                  f"{st['requests_per_s']:.2f} requests/s"]]
    print_table(f"{stack.model.id} on {stack.system.id} ({result.devices} devices; calibration {calibration})",
                ["metric", "predicted", "80% interval", "lower bound / detail"], rows)
    ops = sorted((r for r in result.breakdown if r["phase"] == "decode"), key=lambda r: -r["time_s"])[:top]
    print_table("decode step breakdown (top ops)",
                ["op", "kind", "time", "80% interval", "share", "bound", "efficiency", "source"],
                [[r["op"], r["kind"], fmt_time(r["time_s"]),
                  _op_span(r["interval_s"], fmt_time), f"{100 * r['share']:.1f}%",
                  r["bound"], f"{r['efficiency']:.2f}", r["source"]] for r in ops], keep=("op",))
    for note in result.provenance.get("assumptions", []):
        typer.echo(f"assumption: {note}")
    if result.mismatches:
        typer.echo("fallbacks (substitutions the model made): " + "; ".join(result.mismatches))

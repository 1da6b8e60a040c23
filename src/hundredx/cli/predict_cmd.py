"""`hundredx predict`: one stack on one workload, with bounds, bottleneck and breakdown.

`--concurrency C` loads the deployment with C requests in flight (batch ceil(C / dp) per replica);
`--disagg P:D` predicts prefill/decode pools (search/pools.py: each pool its own parallelism,
`--prefill-*` for the prefill pool, the stack's own for the decode pool, rate-matched);
`--what-if model.KEY=V` / `chip.KEY=V` changes the model or chip spec (search/whatif.py), so
every row of `hundredx search` is one command.
"""

from __future__ import annotations

from typing import Any

import typer

from hundredx.cli.common import print_json, print_table, user_errors
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
    """predict --disagg: both pools through scenario.build, composed by search.pools."""
    from hundredx.search.pools import pool_scenarios, predict_disaggregated

    if o["concurrency"] is not None or o["devices"] is not None or o["dp"] is not None:
        raise InputError("disagg", o["disagg"], "the pools set the devices: give --batch (decode) and "
                                                "--prefill-batch, not --concurrency, --devices or --dp")
    p, d = _pair(o["disagg"])
    model, chip = apply_what_ifs(model, chip, p + d, o["what_if"])
    decode = {"tp": o["tp"], "pp": o["pp"], "ep": o["ep"], "attention_dp": o["attention_dp"], "batch": o["batch"]}
    prefill = {"tp": o["prefill_tp"] or o["tp"], "pp": o["prefill_pp"] or o["pp"], "ep": o["prefill_ep"] or o["ep"],
               "attention_dp": o["prefill_attention_dp"], "batch": o["prefill_batch"]}
    pre, dec, system = pool_scenarios(model, chip, p, d, prefill, decode, o["isl"], o["osl"], weights=o["weights"],
                                      kv=o["kv"], act=o["act"], attention_kernel=o["attention_kernel"],
                                      moe_routing=o["moe_routing"], speculative=spec)
    data = predict_disaggregated(pre, dec, system)
    data.update({"model": dec.stack.model.id, "chip": dec.chip.id, "system": system.id,
                 "workload": {"isl": o["isl"], "osl": o["osl"]}})
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
                         speculative=spec)
    result = predict(scn, calibration=o["calibration"])
    stack, rt = scn.stack, scn.runtime
    data = result.to_dict()
    data.update({"model": stack.model.id, "chip": stack.chip.id, "system": stack.system.id, "mode": "agg",
                 "devices": result.devices,
                 "parallelism": {"tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "dp": rt.dp, "cp": rt.cp,
                                 "attention_dp": rt.attention_dp},
                 "workload": {"isl": o["isl"], "osl": o["osl"], "batch": scn.workload.batch,
                              "concurrency": o["concurrency"]}})
    return data, scn, result


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict_command(
        model: str = typer.Option(..., help="zoo id, name, config.json path or folder"),
        chip: str = typer.Option(..., help="chip id or system id (hundredx chip list)"),
        devices: int | None = typer.Option(None, help="devices in total (default tp*pp*cp*dp; "
                                                      "without --tp, tp fills them)"),
        nodes: int | None = typer.Option(None, help="nodes the devices span (checked against the system)"),
        tp: int | None = typer.Option(None, help="tensor parallel degree"),
        pp: int = typer.Option(1, help="pipeline parallel degree"),
        ep: int = typer.Option(1, help="expert parallel degree"),
        dp: int | None = typer.Option(None, help="data parallel replicas (default devices / (tp*pp*cp), else 1)"),
        cp: int = typer.Option(1, help="context parallel degree (ring attention over long prompts)"),
        attention_dp: bool = typer.Option(False, "--attention-dp", help="attention data-parallel over the tp ranks"),
        weights: str | None = typer.Option(None, help="weight format (bf16, fp8, fp8_block128, nvfp4, mxfp4, int4...)"),
        kv: str | None = typer.Option(None, help="KV-cache format"),
        act: str | None = typer.Option(None, help="activation format"),
        attention_kernel: str = typer.Option("auto", help="fa2, fa3, fa4, flashmla, flashinfer, cudnn, ..."),
        moe_routing: str = typer.Option("uniform", help="MoE routing: uniform, random, skewed, tile_rounded"),
        spec: str | None = typer.Option(None, help="speculative decoding METHOD:K:ACCEPT, e.g. mtp:1:0.85"),
        isl: int = typer.Option(1024, help="input tokens per request"),
        osl: int = typer.Option(128, help="output tokens per request"),
        batch: int = typer.Option(1, help="sequences in flight per replica (with --disagg: per decode replica)"),
        concurrency: int | None = typer.Option(None, help="requests in flight over the deployment "
                                                          "(batch = ceil(concurrency / dp) per replica)"),
        disagg: str | None = typer.Option(None, help="P:D prefill and decode devices (P/D disaggregation)"),
        prefill_tp: int | None = typer.Option(None, help="prefill pool tensor parallelism (default --tp)"),
        prefill_pp: int | None = typer.Option(None, help="prefill pool pipeline parallelism (default --pp)"),
        prefill_ep: int | None = typer.Option(None, help="prefill pool expert parallelism (default --ep)"),
        prefill_attention_dp: bool = typer.Option(False, "--prefill-attention-dp",
                                                  help="prefill pool attention data-parallel"),
        prefill_batch: int = typer.Option(1, help="prompts prefilled together per prefill replica"),
        what_if: list[str] = typer.Option([], "--what-if", help="model.KEY=VALUE or chip.KEY=VALUE spec change "
                                                                "(hundredx search's model and chip axes)"),
        top: int = typer.Option(8, help="ops shown in the breakdown table"),
        calibration: str = typer.Option("auto", help="sources the kernel prices may use: auto, profile, fitted, "
                                        "family (nothing fitted or measured on the chip itself), analytic"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    ) -> None:
        """Predict TTFT, TPOT, throughput and memory of MODEL on CHIP, with bounds and a per-op breakdown."""
        from hundredx.search.space import parse_spec

        o = dict(locals())
        with user_errors():
            from hundredx.cli.common import bounded

            bounded("concurrency", concurrency, 1, 1 << 20), bounded("top", top, 0, 10_000)
            speculative = parse_spec(spec, "spec") if spec else None
            if disagg is None:
                for name in ("prefill_tp", "prefill_pp", "prefill_ep"):
                    if o[name] is not None:
                        raise InputError(name.replace("_", "-"), o[name], "applies with --disagg P:D only")
                data, scn, result = _aggregated(model, chip, o, speculative)
            else:
                data, scn, result = _disaggregated(model, chip, o, speculative), None, None
        if as_json or scn is None:
            print_json(data)
            return
        _print_prediction(result, scn, data, top, o["calibration"])


def _print_prediction(result, scn, data: dict, top: int, calibration: str) -> None:
    """The metric table (predicted, 80% interval, lower bound) and the decode step's top ops."""
    from hundredx.units import fmt_bytes, fmt_time

    stack = scn.stack
    mem = data["memory_per_device_bytes"]
    iv = result.intervals
    span = lambda key, f: f"{f(iv[key][0])} – {f(iv[key][1])}"  # noqa: E731
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
    print_table(f"{stack.model.id} on {stack.system.id} ({result.devices} devices; calibration {calibration})",
                ["metric", "predicted", "80% interval", "lower bound / detail"], rows)
    ops = sorted((r for r in result.breakdown if r["phase"] == "decode"), key=lambda r: -r["time_s"])[:top]
    print_table("decode step breakdown (top ops)",
                ["op", "kind", "time", "80% interval", "share", "bound", "efficiency", "source"],
                [[r["op"], r["kind"], fmt_time(r["time_s"]),
                  f"{fmt_time(r['interval_s'][0])} – {fmt_time(r['interval_s'][1])}", f"{100 * r['share']:.1f}%",
                  r["bound"], f"{r['efficiency']:.2f}", r["source"]] for r in ops])
    if result.mismatches:
        typer.echo("fallbacks (substitutions the model made): " + "; ".join(result.mismatches))

"""`hundredx predict`: one stack on one workload, with bounds, bottleneck and breakdown."""

from __future__ import annotations

import typer

from hundredx.cli.common import print_json, print_table, user_errors


def build_scenario(model: str, chip: str, devices: int | None, tp: int | None, pp: int, ep: int,
                   dp: int | None, weights: str | None = None, kv: str | None = None, act: str | None = None,
                   attention_kernel: str = "auto", attention_dp: bool = False, nodes: int | None = None, cp: int = 1,
                   workload=None, **runtime):
    """The CLI's stack, built by scenario.build (the one place stacks are built and checked)."""
    from hundredx.scenario import build

    return build(model, chip, devices=devices, nodes=nodes, tp=tp, pp=pp, ep=ep, dp=dp, cp=cp,
                 attention_dp=attention_dp, weights=weights, kv=kv, act=act, attention_kernel=attention_kernel,
                 workload=workload, source="cli", **runtime)


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
        isl: int = typer.Option(1024, help="input tokens per request"),
        osl: int = typer.Option(128, help="output tokens per request"),
        batch: int = typer.Option(1, help="sequences in flight per replica"),
        top: int = typer.Option(8, help="ops shown in the breakdown table"),
        calibration: str = typer.Option("auto", help="sources the kernel prices may use: auto, profile, fitted, "
                                        "family (nothing fitted or measured on the chip itself), analytic"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    ) -> None:
        """Predict TTFT, TPOT, throughput and memory of MODEL on CHIP, with bounds and a per-op breakdown."""
        from hundredx.predict import predict
        from hundredx.scenario import Workload

        with user_errors():
            scn = build_scenario(model, chip, devices, tp, pp, ep, dp, weights, kv, act, attention_kernel,
                                 attention_dp, nodes, cp=cp, workload=Workload(isl=isl, osl=osl, batch=batch))
            result = predict(scn, calibration=calibration)
        stack, rt = scn.stack, scn.runtime
        data = result.to_dict()
        data.update({"model": stack.model.id, "chip": stack.chip.id, "system": stack.system.id,
                     "parallelism": {"tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "dp": rt.dp, "cp": rt.cp,
                                     "attention_dp": rt.attention_dp},
                     "workload": {"isl": isl, "osl": osl, "batch": batch}})
        if as_json:
            print_json(data)
            return
        _print_prediction(result, scn, data, top, calibration)
        if result.mismatches:
            typer.echo("fallbacks (substitutions the model made): " + "; ".join(result.mismatches))


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

"""`hundredx predict`: one stack on one workload, with bounds, bottleneck and breakdown."""

from __future__ import annotations

from typing import Optional

import typer

from hundredx.cli.common import print_json, print_table, user_errors
from hundredx.errors import InputError


def resolve_parallelism(devices: Optional[int], tp: Optional[int], pp: int, ep: int, dp: int,
                        cp: int = 1) -> tuple[int, int, int, int]:
    """Fill tp from --devices when only the device count is given; check the product otherwise."""
    if tp is None:
        tp = max((devices or 1) // (pp * dp * cp), 1)
    if devices is not None and tp * pp * dp * cp != devices:
        raise InputError("devices", devices, f"tp*pp*cp*dp = {tp}*{pp}*{cp}*{dp} = {tp * pp * cp * dp} devices")
    return tp, pp, ep, dp


def build_stack(model: str, chip: str, devices: Optional[int], tp: Optional[int], pp: int, ep: int, dp: int,
                weights: Optional[str], kv: Optional[str], act: Optional[str] = None, attention_kernel: str = "auto",
                attention_dp: bool = False, nodes: Optional[int] = None, cp: int = 1, **runtime):
    from hundredx.chip import load_system
    from hundredx.kernel.runtime import RuntimeSpec
    from hundredx.model import load_model
    from hundredx.predict import Stack

    tp, pp, ep, dp = resolve_parallelism(devices, tp, pp, ep, dp, cp)
    total = tp * pp * cp * dp
    system = load_system(chip, devices=total)
    if nodes is not None and nodes < 1:
        raise InputError("nodes", nodes, "must be >= 1")
    if nodes is not None and total > nodes * system.devices_per_node:
        raise InputError("nodes", nodes, f"{total} devices need {-(-total // system.devices_per_node)} nodes of "
                         f"{system.devices_per_node}")
    rt = RuntimeSpec(tp=tp, pp=pp, ep=ep, dp=dp, cp=cp, attention_kernel=attention_kernel, attention_dp=attention_dp, **runtime)
    return Stack(load_model(model, weights=weights, kv=kv, act=act), system, rt)


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict_command(
        model: str = typer.Option(..., help="zoo id, name, config.json path or folder"),
        chip: str = typer.Option(..., help="chip id or system id (hundredx chip list)"),
        devices: Optional[int] = typer.Option(None, help="devices in total (default tp*pp*dp)"),
        nodes: Optional[int] = typer.Option(None, help="nodes the devices span (checked against the system)"),
        tp: Optional[int] = typer.Option(None, help="tensor parallel degree"),
        pp: int = typer.Option(1, help="pipeline parallel degree"),
        ep: int = typer.Option(1, help="expert parallel degree"),
        dp: int = typer.Option(1, help="data parallel replicas"),
        cp: int = typer.Option(1, help="context parallel degree (ring attention over long prompts)"),
        attention_dp: bool = typer.Option(False, "--attention-dp", help="attention data-parallel over the tp ranks"),
        weights: Optional[str] = typer.Option(None, help="weight format (bf16, fp8, fp8_block128, nvfp4, mxfp4, int4...)"),
        kv: Optional[str] = typer.Option(None, help="KV-cache format"),
        act: Optional[str] = typer.Option(None, help="activation format"),
        attention_kernel: str = typer.Option("auto", help="fa2, fa3, fa4, flashmla, flashinfer, cudnn, ..."),
        isl: int = typer.Option(1024, help="input tokens per request"),
        osl: int = typer.Option(128, help="output tokens per request"),
        batch: int = typer.Option(1, help="sequences in flight per replica"),
        top: int = typer.Option(8, help="ops shown in the breakdown table"),
        as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    ) -> None:
        """Predict TTFT, TPOT, throughput and memory of MODEL on CHIP, with bounds and a per-op breakdown."""
        from hundredx.predict import Workload, predict
        from hundredx.units import fmt_bytes, fmt_time

        with user_errors():
            stack = build_stack(model, chip, devices, tp, pp, ep, dp, weights, kv, act, attention_kernel,
                                attention_dp, nodes, cp=cp)
            result = predict(stack, Workload(isl=isl, osl=osl, batch=batch))
        data = result.to_dict()
        data.update({"model": stack.model.id, "chip": stack.chip.id, "system": stack.system.id,
                     "parallelism": {"tp": stack.runtime.tp, "pp": pp, "ep": ep, "dp": dp, "cp": cp,
                                     "attention_dp": attention_dp},
                     "workload": {"isl": isl, "osl": osl, "batch": batch}})
        if as_json:
            print_json(data)
            return
        mem = data["memory_per_device_bytes"]
        rows = [["TTFT", fmt_time(result.ttft_s), fmt_time(result.lower_bound["ttft_s"])],
                ["TPOT", fmt_time(result.tpot_s), fmt_time(result.lower_bound["tpot_s"])],
                ["output tokens/s", f"{result.output_tokens_per_s:,.0f}", ""],
                ["  per device", f"{result.output_tokens_per_s_per_device:,.0f}", ""],
                ["  per user", f"{result.tokens_per_s_per_user:,.1f}", ""],
                ["memory/device", f"{fmt_bytes(mem['total'])} of {fmt_bytes(mem['usable'])}",
                 f"weights {fmt_bytes(mem['weights'])}, KV {fmt_bytes(mem['kv_cache'])}"],
                ["bottleneck (decode)", result.bottleneck, ""]]
        print_table(f"{stack.model.id} on {stack.system.id} ({result.devices} devices)", ["metric", "predicted", "lower bound / detail"], rows)
        ops = sorted((r for r in result.breakdown if r["phase"] == "decode"), key=lambda r: -r["time_s"])[:top]
        print_table("decode step breakdown (top ops)", ["op", "kind", "time", "share", "bound", "efficiency", "source"],
                    [[r["op"], r["kind"], fmt_time(r["time_s"]), f"{100 * r['share']:.1f}%", r["bound"],
                      f"{r['efficiency']:.2f}", r["source"]] for r in ops])
        if result.mismatches:
            typer.echo("format fallbacks: " + "; ".join(result.mismatches))

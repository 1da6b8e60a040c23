"""`hundredx serve` (request-level simulation) and `hundredx pareto` (throughput vs interactivity fronts)."""

from __future__ import annotations

from typing import List, Optional

import typer

from hundredx.cli.common import print_json, print_table, user_errors
from hundredx.errors import InputError


def _pair(text: Optional[str], field: str) -> Optional[tuple[int, int]]:
    if not text:
        return None
    try:
        p, d = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError(field, text, "expected P:D, e.g. 8:8") from None
    return p, d


def _spec(text: Optional[str]):
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


def build_workload(isl: int, osl: int, requests: int, concurrency: Optional[int], rate: Optional[float],
                   trace: Optional[str], ttft_slo: Optional[float] = None, tpot_slo: Optional[float] = None):
    import math

    from hundredx.serve import LengthDist, Workload

    common = {"num_requests": requests, "input_len": LengthDist("fixed", float(isl)),
              "output_len": LengthDist("fixed", float(osl)), "slo_ttft_s": ttft_slo or math.inf,
              "slo_tpot_s": tpot_slo or math.inf}
    if sum(x is not None for x in (concurrency, rate, trace)) > 1:
        raise InputError("concurrency/rate/trace", "", "give at most one of --concurrency, --rate, --trace")
    if trace:  # parsed here, before any progress bar, so a bad file fails with one clean line
        from hundredx.serve import load_trace

        return load_trace(trace)
    if rate is not None:
        return Workload(arrival="poisson", rate_per_s=rate, **common)
    if concurrency is not None:
        return Workload(arrival="closed", concurrency=concurrency, **common)
    return Workload(arrival="offline", **common)


def register(app: typer.Typer) -> None:
    _register_serve(app)
    _register_pareto(app)


def _register_serve(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(model: str = typer.Option(...), chip: str = typer.Option(...),
              devices: Optional[int] = typer.Option(None), tp: Optional[int] = typer.Option(None),
              pp: int = typer.Option(1), ep: int = typer.Option(1), dp: int = typer.Option(1),
              attention_dp: bool = typer.Option(False, "--attention-dp"),
              weights: Optional[str] = typer.Option(None), kv: Optional[str] = typer.Option(None),
              concurrency: Optional[int] = typer.Option(None, help="closed loop: requests in flight"),
              rate: Optional[float] = typer.Option(None, help="Poisson arrivals per second"),
              requests: int = typer.Option(1000), isl: int = typer.Option(1024), osl: int = typer.Option(256),
              trace: Optional[str] = typer.Option(None, help="CSV/Parquet: timestamp,input_length,output_length[,prefix_id]"),
              disagg: Optional[str] = typer.Option(None, help="P:D prefill and decode devices"),
              prefill_tp: Optional[int] = typer.Option(None, help="tensor parallelism of the prefill pool (--disagg)"),
              afd: Optional[str] = typer.Option(None, help="A:F attention and FFN devices per replica"),
              spec: Optional[str] = typer.Option(None, help="METHOD:K:ACCEPT, e.g. mtp:3:0.7"),
              prefix_cache: bool = typer.Option(False, "--prefix-cache"),
              max_batch: int = typer.Option(256), token_budget: int = typer.Option(8192),
              ttft_slo: Optional[float] = typer.Option(None), tpot_slo: Optional[float] = typer.Option(None),
              seed: int = typer.Option(0), as_json: bool = typer.Option(False, "--json")) -> None:
        """Simulate serving at request level: queues, continuous batching, paged KV, disaggregation."""
        from hundredx.cli.predict_cmd import build_stack
        from hundredx.serve import EngineConfig, simulate
        from hundredx.serve.from_stack import deployment_from_stack

        with user_errors():
            pair = _pair(disagg, "disagg")
            afd_pair = _pair(afd, "afd")
            if pair and afd_pair:
                raise InputError("afd", afd, "choose --disagg or --afd, not both")
            n_dev = devices if pair is None and afd_pair is None else None
            stack = build_stack(model, chip, n_dev, tp, pp, ep, dp, weights, kv, attention_dp=attention_dp,
                                speculative=_spec(spec))
            engine = EngineConfig(max_batch=max_batch, token_budget=token_budget, prefix_cache=prefix_cache)
            deployment = deployment_from_stack(stack, engine, pair, afd=afd_pair, prefill_tp=prefill_tp)
            workload = build_workload(isl, osl, requests, concurrency, rate, trace, ttft_slo, tpot_slo)
            result = _run(simulate, deployment, workload, seed, quiet=as_json)
        data = result.to_dict()
        data.update({"model": stack.model.id, "system": stack.system.id})
        if as_json:
            print_json(data)
            return
        keys = ["output_tokens_per_s", "output_tokens_per_s_per_device", "tokens_per_s_per_user", "ttft_p50_s",
                "ttft_p99_s", "tpot_p50_s", "tpot_p99_s", "e2e_p90_s", "goodput_fraction", "kv_peak_utilization",
                "preemptions", "usd_per_million_output_tokens", "joules_per_output_token"]
        print_table(f"{stack.model.id} on {stack.system.id}", ["metric", "value"],
                    [[k, f"{data[k]:.4g}" if isinstance(data.get(k), float) else data.get(k)] for k in keys if k in data])



def _register_pareto(app: typer.Typer) -> None:
    @app.command("pareto")
    def pareto(model: str = typer.Option(...), chip: str = typer.Option(...),
               devices: int = typer.Option(8), weights: Optional[str] = typer.Option(None),
               kv: Optional[str] = typer.Option(None), isl: int = typer.Option(1024), osl: int = typer.Option(256),
               concurrency: List[int] = typer.Option([1, 4, 16, 64, 256], help="closed-loop concurrencies"),
               tp: List[int] = typer.Option([], help="tensor-parallel degrees (default: divisors of devices)"),
               requests: int = typer.Option(400), plot: Optional[str] = typer.Option(None, help="write FILE.png"),
               as_json: bool = typer.Option(False, "--json")) -> None:
        """Pareto front of output tokens/s per device vs tokens/s per user over concurrency x tensor parallelism."""
        from hundredx.cli.predict_cmd import build_stack
        from hundredx.serve import EngineConfig, simulate
        from hundredx.serve.from_stack import deployment_from_stack
        from hundredx.serve.pareto import plot_pareto, sweep_pareto

        with user_errors():
            build_stack(model, chip, devices, 1, 1, 1, devices, weights, kv)  # bad model/chip/format: fail now
            tps = tp or [t for t in (1, 2, 4, 8, 16, 32, 64, 72) if devices % t == 0]
            grid = [{"tp": t, "concurrency": c} for t in tps for c in concurrency]
            cache: dict = {}

            def evaluate(point: dict) -> dict:
                t = point["tp"]
                if t not in cache:
                    try:
                        stack = build_stack(model, chip, devices, t, 1, 1, devices // t, weights, kv)
                        cache[t] = deployment_from_stack(stack, EngineConfig(max_batch=max(concurrency)))
                    except InputError as exc:
                        cache[t] = exc
                if isinstance(cache[t], InputError):
                    return {"output_tokens_per_s_per_device": float("nan"), "tokens_per_s_per_user": float("nan"),
                            "invalid_reason": str(cache[t])}
                workload = build_workload(isl, osl, requests, point["concurrency"] * (devices // t), None, None)
                return simulate(cache[t], workload).to_dict()

            frame = _progress_sweep(sweep_pareto, evaluate, grid, quiet=as_json)
            if plot:
                plot_pareto(frame.dropna(subset=["tokens_per_s_per_user"]), plot, label="tp")
        cols = [c for c in ("tp", "concurrency", "tokens_per_s_per_user", "output_tokens_per_s_per_device",
                            "ttft_p50_s", "pareto", "invalid_reason") if c in frame.columns]
        if as_json:
            print_json({"model": model, "chip": chip, "devices": devices, "points": frame[cols].to_dict("records")})
            return
        print_table("Pareto sweep (* = on the front)", cols,
                    [[f"{v:.4g}" if isinstance(v, float) else v for v in row] for row in frame[cols].itertuples(index=False)])


def _run(simulate, deployment, workload, seed: int, quiet: bool):
    if quiet:
        return simulate(deployment, workload, seed=seed)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=1.0)
        return simulate(deployment, workload, seed=seed, progress=lambda f: bar.update(task, completed=f))


def _progress_sweep(sweep, evaluate, grid, quiet: bool):
    if quiet:
        return sweep(evaluate, grid)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("sweeping", total=len(grid))

        def wrapped(point):
            out = evaluate(point)
            bar.advance(task)
            return out

        return sweep(wrapped, grid)

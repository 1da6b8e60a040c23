"""The steady state a serving benchmark sees: in-flight TTFT and TPOT with chunked prefill.

`predict` prices one static batch (`static_batch_prefill_s`: the prefill of the whole batch at
once). A benchmark instead runs a continuous-batching engine (Orca in-flight batching,
Sarathi-Serve chunked prefill) loaded by clients; this module gives its steady state in closed
form plus a short fixed-point iteration, vectorized over the load (numpy arrays of concurrency).

Closed loop at concurrency N over the deployment (n = N / dp clients per replica; engine slots
B = min(max_seqs, KV-cache fit at isl + osl/2 tokens a sequence, or isl + osl where the engine's
capacity scheduler reserves a sequence's KV to completion (`full_reserve`), in the engine's KV room: its fraction of
the memory left after loading or of the capacity, `kv_of_total`; the cap); budget C tokens a step; with
attention data-parallelism max_seqs and C hold per attention-DP rank, tp schedulers a replica):
  running r = min(n, B), queued q = n - r;
  a request lives k prefill steps + (osl - 1) decode steps; requests start r / (k + osl - 1) a step;
  decode sequences per step d = r (osl - 1) / (k + osl - 1); prefill tokens per step P = r isl / (k + osl - 1);
  k = max(ceil(isl / (C - d)), r isl / (C - d) - (osl - 1)): a prompt needs isl / (C - d) chunks, and
      a budget shared by more prompts than it holds stretches them (fixed point, a few iterations);
  a share f of the steps carries prefill tokens (P / f each): random lengths spread the prompts,
      f = min(1, k r / (k + osl - 1)); fixed lengths (`synchronized`, the default: benchmark clients
      with fixed isl/osl stay in step) bunch them into chunks that fill the budget, P / f = min(r isl, C)
      (on the simulator, p50 TTFT within ~10% where isl <= C / 2);
  step time  tau_p (with a prefill chunk) and tau_d (decode only) from the stack's StepCost
      (predict.step, the simulator's cost), mean step tau = f tau_p + (1 - f) tau_d;
  TPOT = tau (every decode step of a request is one engine step: (E2E - TTFT) / (osl - 1)); with
      fixed lengths a request's own group prefills before its first token, so its decode window holds
      the (r isl / min(r isl, C) - 1) k prefill steps of the other groups: TPOT = tau_d + (tau_p - tau_d)
      x that / (osl - 1);
  TTFT = W + (1 - 1/r) tau / 2 + k tau_p (queue wait W; sent mid-step, a request joins the next step);
  request rate X = r / ((k + osl - 1) tau) a replica; W = q / X (Little's law on the queue).
Speculative decoding scales the decode step by the static model's verify-and-draft factor
(`predict` TPOT / plain decode step at the same batch). Offline (all requests at once) is the
closed loop with every slot full (n = B). Poisson arrivals (and datasets of varied lengths) do not
keep requests in step: `open_loop` and `best_rate_under_limits` spread the prompts. Poisson arrivals
at rate lambda: the requests in flight
of an M/G/infinity system are Poisson with mean lambda E2E, so `open_loop` solves N = lambda E2E(N)
on the grid and reads latency percentiles at the Poisson quantile of N (normal approximation).
`closed_loop_arrays` is the array entry point (search's aggregated rows): rows with their own tp / ep /
pp / dp over one structure stack, the steps priced in blocks in which every once-per-call choice of
the layers is the one a row priced alone gets, so each row equals `closed_loop` of its deployment.
`serve` (the request-level simulator) is the reference; tests/test_steady.py keeps this within
its stated tolerance of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.scenario.stack import Stack

FIXED_POINT_ITERATIONS = 8
Z_QUANTILE = {50: 0.0, 90: 1.2816, 99: 2.3263}  # standard normal quantiles


@dataclass
class SteadyState:
    """Per-request benchmark metrics of one load (arrays when the load is an array)."""

    concurrency: np.ndarray
    running_per_replica: np.ndarray
    queued_per_replica: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    e2e_s: np.ndarray
    queue_wait_s: np.ndarray
    prefill_steps: np.ndarray
    step_s: np.ndarray
    requests_per_s: np.ndarray
    output_tokens_per_s: np.ndarray
    slots_per_replica: Any  # int, or an array per row (closed_loop_arrays)
    replicas: Any
    devices: Any
    assumptions: list[str] = field(default_factory=list)

    def scalar(self, i: int = 0) -> dict:
        """One load's metrics as plain floats."""
        def pick(x):
            a = np.asarray(x, dtype=float)
            return float(a.reshape(-1)[i]) if a.ndim else float(a)
        out = {k: pick(getattr(self, k)) for k in ("concurrency", "running_per_replica", "queued_per_replica",
                                                   "ttft_s", "tpot_s", "e2e_s", "queue_wait_s", "prefill_steps",
                                                   "step_s", "requests_per_s", "output_tokens_per_s")}
        out["output_tokens_per_s_per_device"] = out["output_tokens_per_s"] / pick(self.devices)
        out["slots_per_replica"] = int(pick(self.slots_per_replica))
        return out


class _Costs:
    """The step prices of one structure at arrays of loads, each row with its own tp / ep / pp (the stack's when
    not given). Rows are priced in blocks in which every once-per-call choice of the layers (the pipeline
    hop's scope) is the one a row priced alone gets, so an array of loads gives what each load gives alone;
    tp, ep and pp vary within a block (the DeepEP mode and ep > tp are per row: kernel/sharding.py)."""

    def __init__(self, stack: Stack, tp=None, ep=None, pp=None):
        from hundredx.predict.step import StackStepCost

        rt = stack.runtime
        plain = replace(stack, runtime=replace(rt, speculative=None, disaggregation=None))
        self.stack, self.cost = stack, StackStepCost(plain)
        self.tp, self.ep, self.pp = (np.atleast_1d(np.asarray(own if x is None else x, dtype=float))
                                     for x, own in ((tp, rt.tp), (ep, rt.ep), (pp, rt.pp)))
        scope = (self.pp > 1) & (self.tp * self.pp * rt.cp > stack.system.scaleup_domain)
        self.fixed = np.stack(np.broadcast_arrays(self.tp, self.ep, self.pp, scope.astype(float)), axis=1)

    def price(self, kinds: list[tuple]) -> list[np.ndarray]:
        """Step seconds of each kind of step per row: `kinds` holds (tokens, five step_time arguments) with
        one load per row each; all kinds of a block priced together (class docstring)."""
        from hundredx.predict.step import step_times_together

        kinds = [np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (tokens, *args))) for tokens, args in kinds]
        n = kinds[0][0].size
        fixed = np.broadcast_to(self.fixed, (n, self.fixed.shape[1])) if self.fixed.shape[0] == 1 else self.fixed
        _, inverse = np.unique(fixed[:, 3], return_inverse=True)  # the pipeline hop's scope
        out = [np.empty(n) for _ in kinds]
        inverse = inverse.reshape(-1)
        for j in range(int(inverse.max(initial=-1)) + 1):
            rows = np.flatnonzero(inverse == j)  # tp, ep and pp may vary within a block
            tp_j, ep_j, pp_j = (_scalar_if_constant(fixed[rows, c]) for c in (0, 1, 2))
            steps = [tuple(a[rows] for a in k[1:]) for k in kinds]
            times = step_times_together(self.cost.stack, steps, self.cost.blocks, self.cost.host, tp=tp_j,
                                        ep=ep_j, pp=pp_j)
            for o, t in zip(out, times):
                o[rows] = np.broadcast_to(t, rows.shape)
        return out

    def steps(self, p_tokens, p_seqs, p_ctx, d, running, ctx: float, known_tpot=None):
        """(mixed step, plain decode step at d, speculative factor at the running batch). The factor: predict's
        TPOT over the plain decode step at each load's running batch (rounded; 1 without speculation);
        predict's TPOT is `known_tpot` where given and finite (the caller priced predict at that batch: search
        rows), else from `price_replicas` (blocked like predict alone)."""
        dm, dd = np.maximum(d, 1e-9), np.maximum(d, 1.0)
        kinds = [(np.add(p_tokens, dm), (p_tokens, np.maximum(p_seqs, 1), p_ctx, dm, np.multiply(dm, ctx))),
                 (dd, (0.0, 0.0, 0.0, dd, np.multiply(dd, ctx)))]
        if self.stack.runtime.speculative is None:
            tau_p, tau_d = self.price(kinds)
            return tau_p, tau_d, 1.0
        from hundredx.predict.many import price_replicas

        batch = np.maximum(np.round(np.asarray(running, dtype=float)), 1.0)
        n = batch.size
        tau_p, tau_d, plain = self.price(kinds + [(batch, (0.0, 0.0, 0.0, batch, batch * ctx))])
        spec = np.full(n, np.nan) if known_tpot is None else np.array(np.broadcast_to(known_tpot, (n,)), dtype=float)
        todo = np.flatnonzero(~np.isfinite(spec))
        if todo.size:
            tp, ep, pp = (np.broadcast_to(x, (n,))[todo] for x in (self.tp, self.ep, self.pp))
            spec[todo] = price_replicas(self.stack, tp, ep, pp, batch[todo], 1.0, 2.0 * (ctx - 1.0))["tpot_s"]
        return tau_p, tau_d, np.where(plain > 0, spec / np.where(plain > 0, plain, 1.0), 1.0)


def _scalar_if_constant(x: np.ndarray):
    return float(x[0]) if x.size and np.all(x == x[0]) else x


def schedulers(stack: Stack, tp=None):
    """Schedulers in one replica: with attention data-parallelism every attention-DP rank (tp of them) runs
    its own scheduler and KV cache, so the scheduler's max_seqs and token budget hold per rank (TensorRT-LLM
    enable_attention_dp, SGLang --enable-dp-attention; docs/serving.md); else one. `tp`: an array of the
    rows' own degrees (closed_loop_arrays) in place of the stack's."""
    rt = stack.runtime
    if tp is None:
        return int(rt.tp) if rt.attention_dp else 1
    return tp if rt.attention_dp else np.ones_like(tp)


def full_reserve(stack: Stack) -> bool:
    """Whether the engine's capacity scheduler reserves each admitted sequence's KV to completion (isl + osl:
    TensorRT-LLM GUARANTEED_NO_EVICT, kernel/engines/engines.yaml `kv_reserve`) rather than paging it in."""
    from hundredx.kernel.engine import engine_profile

    return engine_profile(stack.runtime.engine, stack.runtime.tp).kv_reserve == "full"


def kv_of_total(stack: Stack) -> bool:
    """Whether the engine's KV memory fraction is of the device's capacity (vLLM gpu_memory_utilization, SGLang
    mem_fraction_static: weights, activations and KV share it) rather than of the memory left after loading
    (TensorRT-LLM free_gpu_memory_fraction); kernel/engines/engines.yaml `kv_memory`."""
    from hundredx.kernel.engine import engine_profile

    return engine_profile(stack.runtime.engine, stack.runtime.tp).kv_memory == "total"


def slots(stack: Stack, isl: float, osl: float, cap: int | None = None, kv_fraction: float = 0.9) -> int:
    """Engine slots of one replica: the scheduler's max_seqs (per attention-DP rank, `schedulers`), the KV fit
    (isl + osl/2 tokens a sequence paged, isl + osl under a reserve-to-completion scheduler, `full_reserve`; the KV
    fraction of the free or of the total memory, `kv_of_total`), and `cap` (per replica)."""
    from hundredx.scenario.memory import max_batch

    limit = int(cap) if cap else int(stack.runtime.scheduler.max_seqs) * schedulers(stack)
    fit = max_batch(stack, max(int(round(isl)), 1), max(int(round(osl)), 1), kv_fraction=kv_fraction, cap=limit,
                    full_reserve=full_reserve(stack), of_total=kv_of_total(stack))
    if fit < 1:
        raise InputError("isl", isl, f"no sequence of {isl:g}+{osl:g} tokens fits in the KV cache of one replica")
    return fit


def closed_loop(stack: Stack, isl: float, osl: float, concurrency, max_seqs: int | None = None,
                kv_fraction: float = 0.9, synchronized: bool = True) -> SteadyState:
    """Steady state of `concurrency` closed-loop clients over the deployment (module docstring)."""
    if isl < 1 or osl < 1:
        raise InputError("isl/osl", (isl, osl), "need >= 1 input and >= 1 output token")
    n_all = np.atleast_1d(np.asarray(concurrency, dtype=float))
    if np.any(n_all < 1):
        raise InputError("concurrency", float(n_all.min()), "must be >= 1")
    B = slots(stack, isl, osl, max_seqs, kv_fraction)
    st = _loop(stack, _Costs(stack), isl, osl, n_all, float(stack.runtime.dp), float(B), synchronized)
    if max_seqs is None:
        per = schedulers(stack)
        ranks = f" x {per} attention-DP schedulers" if per > 1 else ""
        st.assumptions.append(f"engine slots per replica: scheduler max_seqs {stack.runtime.scheduler.max_seqs}"
                              f"{ranks} (KV fit gives {B})")
    return st


def closed_loop_arrays(stack: Stack, isl: float, osl: float, concurrency, tp, ep, pp, dp,
                       kv_fraction: float = 0.9, synchronized: bool = True, static_tpot_s=None) -> SteadyState:
    """The array entry point (`search` prices its aggregated rows with it): row i is the closed loop at
    concurrency[i] of dp[i] replicas of `stack`'s structure at tp[i] / ep[i] / pp[i] (the stack's own degrees
    are not used), as `closed_loop` gives it for that deployment alone. Rows with no room for one sequence are
    NaN (slots 0). `static_tpot_s`: predict's TPOT of each row at batch concurrency / dp, where the caller has
    it (speculative decoding's factor reuses it where that is the running batch instead of pricing it again)."""
    n_all, tp, ep, pp, dp = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (concurrency, tp, ep, pp, dp)))
    sched = schedulers(stack, tp)
    limit = float(stack.runtime.scheduler.max_seqs) * sched
    fit = np.broadcast_to(max_batch_rows(stack, isl, osl, kv_fraction, limit, tp, ep, pp), n_all.shape)
    known = None
    if static_tpot_s is not None:  # only where the running batch is the static one (r = n = concurrency / dp)
        n = n_all / dp
        known = np.where((n <= fit) & (n == np.round(n)), np.broadcast_to(static_tpot_s, n.shape), np.nan)
    st = _loop(stack, _Costs(stack, tp, ep, pp), isl, osl, n_all, dp, np.maximum(fit, 1).astype(float),
               synchronized, known, sched)
    for name in ("ttft_s", "tpot_s", "e2e_s", "queue_wait_s", "step_s", "requests_per_s", "output_tokens_per_s"):
        setattr(st, name, np.where(fit >= 1, getattr(st, name), np.nan))
    st.slots_per_replica, st.devices = fit, tp * pp * stack.runtime.cp * dp
    return st


def max_batch_rows(stack: Stack, isl: float, osl: float, kv_fraction: float, cap: int, tp, ep, pp) -> np.ndarray:
    """`slots` per row of degrees (0 where no sequence fits)."""
    from hundredx.scenario.memory import max_batch

    return max_batch(stack, max(int(round(isl)), 1), max(int(round(osl)), 1), kv_fraction=kv_fraction, cap=cap,
                     tp=tp, ep=ep, pp=pp, full_reserve=full_reserve(stack), of_total=kv_of_total(stack))


def _loop(stack: Stack, costs: _Costs, isl: float, osl: float, n_all, dp, B, synchronized: bool,
          known_tpot=None, sched=None) -> SteadyState:
    """The closed loop of the module docstring at arrays of load n_all, replicas dp and slots B; `sched`:
    schedulers per replica (`schedulers(stack)` unless the rows' degrees differ from the stack's)."""
    rt = stack.runtime
    n = n_all / dp
    r = np.minimum(np.maximum(n, 1.0), B)
    q = np.maximum(n - r, 0.0)
    sched = schedulers(stack) if sched is None else sched
    budget = float(rt.scheduler.max_batched_tokens) * sched  # per attention-DP rank
    ctx = isl + osl / 2.0
    k = np.maximum(1.0, np.ceil(isl / budget)) * np.ones_like(r)
    for _ in range(FIXED_POINT_ITERATIONS):
        d = r * (osl - 1.0) / (k + osl - 1.0)
        room = np.maximum(budget - d, 1.0)
        # the prompts of a lifetime must pass the budget left by decodes: k + osl - 1 >= r isl / room
        k = np.maximum(np.ceil(isl / room), r * isl / room - (osl - 1.0))
    life = k + osl - 1.0
    d = r * (osl - 1.0) / life
    if synchronized:  # fixed lengths: prompts arrive in groups that fill the budget (module docstring)
        p_tokens = np.minimum(r * isl, budget)
        f = np.minimum(1.0, r * isl / life / p_tokens)
    else:
        f = np.minimum(1.0, k * r / life)
        p_tokens = r * isl / life / f
    p_seqs = np.maximum(p_tokens / np.minimum(isl, budget), 1.0)
    chunks = np.ceil(isl / np.maximum(budget - d, 1.0))  # a prompt's chunks
    # a chunk's prior context is isl (1 - 1/chunks) / 2 on average
    tau_p, tau_d, spec = costs.steps(p_tokens, p_seqs, p_tokens * (1.0 - 1.0 / chunks) / 2.0, d, r, ctx, known_tpot)
    tau = f * tau_p + (1.0 - f) * tau_d * spec
    x = r / (life * tau)
    wait = q / x
    ttft = wait + tau / 2.0 * (1.0 - 1.0 / r) + k * tau_p  # alone, a request starts at once
    tpot = tau if osl > 1 else np.zeros_like(tau)
    if synchronized and osl > 1:  # a request's own group prefills before its first token, the others' after
        others = np.minimum(np.maximum(r * isl / p_tokens - 1.0, 0.0) * k, osl - 1.0)
        plain = tau_d * spec
        tpot = np.where(f >= 1.0, tau_p, plain + (tau_p - plain) * others / (osl - 1.0))
    e2e = ttft + (osl - 1.0) * tpot
    return SteadyState(n_all, r, q, ttft, tpot, e2e, wait, k, tau, x * dp, x * osl * dp, B, dp, rt.devices, [])


def offline(stack: Stack, isl: float, osl: float, max_seqs: int | None = None, kv_fraction: float = 0.9,
            synchronized: bool = True) -> SteadyState:
    """Offline throughput: every engine slot of every replica busy (a closed loop at n = slots)."""
    B = slots(stack, isl, osl, max_seqs, kv_fraction)
    return closed_loop(stack, isl, osl, B * stack.runtime.dp, max_seqs, kv_fraction, synchronized)


def open_loop(stack: Stack, isl: float, osl: float, rate_per_s: float, percentile: int = 50,
              max_seqs: int | None = None, kv_fraction: float = 0.9) -> dict:
    """Poisson arrivals at `rate_per_s`: mean in flight N = rate E2E(N) (M/G/infinity), latency at the
    `percentile` of the Poisson in-flight count. Returns the scalar metrics (or raises if unstable)."""
    grid = load_grid(stack, isl, osl, max_seqs, kv_fraction)
    st = closed_loop(stack, isl, osl, grid, max_seqs, kv_fraction, synchronized=False)
    lam = st.requests_per_s
    if rate_per_s > float(lam.max()):
        raise InputError("request_rate", rate_per_s, f"exceeds the deployment's capacity {float(lam.max()):.3g} req/s")
    mean_n = float(np.interp(rate_per_s, lam, grid))
    z = Z_QUANTILE.get(int(percentile), 0.0)
    at = min(mean_n + z * math.sqrt(mean_n), float(grid.max()))
    tail = closed_loop(stack, isl, osl, [max(at, 1.0)], max_seqs, kv_fraction, synchronized=False).scalar()
    tail.update(concurrency=mean_n, requests_per_s=rate_per_s, output_tokens_per_s=rate_per_s * osl,
                output_tokens_per_s_per_device=rate_per_s * osl / stack.runtime.devices)
    return tail


def load_grid(stack: Stack, isl: float, osl: float, max_seqs: int | None = None, kv_fraction: float = 0.9,
              points: int = 48) -> np.ndarray:
    """Concurrencies from 1 to every slot full (geometric), for searches over the load."""
    B = slots(stack, isl, osl, max_seqs, kv_fraction) * stack.runtime.dp
    return np.unique(np.round(np.geomspace(1, max(B, 1), points)))


def best_rate_under_limits(stack: Stack, isl: float, osl: float, ttft_limit_s: float, tpot_limit_s: float,
                           percentile: int = 99, max_seqs: int | None = None, kv_fraction: float = 0.9) -> dict:
    """MLPerf Server / Interactive: the highest Poisson rate whose `percentile` TTFT and TPOT meet the
    limits (M/G/infinity in-flight count, module docstring). Scalar metrics at that rate."""
    grid = load_grid(stack, isl, osl, max_seqs, kv_fraction, points=64)
    mean = closed_loop(stack, isl, osl, grid, max_seqs, kv_fraction, synchronized=False)
    z = Z_QUANTILE.get(int(percentile), 2.3263)
    top = float(grid.max())
    at = np.minimum(grid + z * np.sqrt(grid), top)
    tail = closed_loop(stack, isl, osl, at, max_seqs, kv_fraction, synchronized=False)
    ok = (tail.ttft_s <= ttft_limit_s) & (tail.tpot_s <= tpot_limit_s) & (at < top)
    if not ok.any():
        raise InputError("latency limits", (ttft_limit_s, tpot_limit_s),
                         "no load meets them at the stated percentile on this deployment")
    i = int(np.flatnonzero(ok)[np.argmax(mean.requests_per_s[ok])])
    out = mean.scalar(i)
    out.update(ttft_p_s=float(tail.ttft_s[i]), tpot_p_s=float(tail.tpot_s[i]), percentile=percentile)
    return out


def intervals(metrics: dict) -> dict:
    """80% intervals of steady-state metrics from the serving cells of the interval table (widths: the
    measured cross-validation error of the public serving cases, kernel/intervals.py)."""
    from hundredx.kernel.intervals import load_table, time_factors, value_interval

    table = load_table()
    spec = {"ttft_s": ("ttft_s", "ttft_s"), "tpot_s": ("time_per_output_token_s", "time_per_output_token_s"),
            "output_tokens_per_s": ("throughput", "output_tokens_per_s"),
            "output_tokens_per_s_per_device": ("throughput", "output_tokens_per_s")}
    return {k: value_interval(float(metrics[k]), metric, time_factors(table, "serving", group, "any"))
            for k, (group, metric) in spec.items() if k in metrics and metrics[k] > 0}


def predict_steady(stack: Stack, isl: float, osl: float, concurrency: int | None = None,
                   rate_per_s: float | None = None) -> dict:
    """The Python API: steady-state metrics (closed loop at `concurrency`, Poisson at `rate_per_s`, else
    offline) with their 80% `intervals` (none on a chip whose platform no case measures, kernel/intervals.withheld,
    which is then listed) and the `assumptions` made."""
    from hundredx.kernel.intervals import load_table, withheld

    if rate_per_s is not None:
        out = open_loop(stack, isl, osl, rate_per_s)
        notes: list[str] = []
    else:
        st = closed_loop(stack, isl, osl, [concurrency]) if concurrency else offline(stack, isl, osl)
        out, notes = st.scalar(), st.assumptions
    reason = withheld(stack.chip, load_table())  # no interval where no case measures the platform
    out["intervals"] = {} if reason else intervals(out)
    out["assumptions"] = list(notes) + ([reason] if reason else [])
    return out


__all__ = ["SteadyState", "best_rate_under_limits", "closed_loop", "closed_loop_arrays", "intervals", "kv_of_total",
           "load_grid", "offline", "open_loop", "predict_steady", "slots"]

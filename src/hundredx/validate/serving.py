"""Serving cases: deployment throughput / latency from the static step model of `predict`.

Per case: the model (zoo id, or `same_arch_as` when the checkpoint is not in the zoo),
formats, parallelism (tp, pp, ep, dp, attention_dp; an unrecorded tp is 1 under expert
parallelism, with attention data-parallel, else all devices), lengths. Batch per replica:
`concurrency / replicas`, `batch_per_device`, a prefill phase's `tokens_per_device` (default: the runtime's chunked
prefill budget, 8192 tokens) over isl, or for offline runs the largest batch whose
KV cache fits (engine `max_batch_size` cap, default the engine's documented max_seqs,
kernel/engine.py), a decode phase recorded at a `tpot_limit_s` without a batch the largest batch whose
predicted TPOT meets it (no kv_len / isl: DEFAULT_DECODE_KV_LEN, an assumption; both listed).
Speculative decoding: MTP with
`draft_tokens` (default 1) and acceptance 0.7 unless the case gives one. A phase of a
disaggregated deployment is predicted on its own devices; a fully specified one (workers x per-pool
parallelism) by validate/disagg.py, its pools read as written. Metrics: output_tokens_per_s,
output_tokens_per_s_per_device, input_tokens_per_s, time_per_output_token_s, ttft_s.
KV format: the case's `kv_dtype`; else FP8 for NVIDIA ModelOpt checkpoints (`checkpoint`
"nvidia/..."), whose hf_quant_config.json sets kv_cache_quant_algo FP8 and which
TensorRT-LLM and vLLM follow when the KV dtype is left on "auto"; else, for FP8/FP4 weights, the
KV format the engine's quantized checkpoints bring (engines.yaml `quantized_kv`: TensorRT-LLM's
ModelOpt checkpoints, FP8 by default; listed as an assumption); else the model default.

Benchmark semantics (../shared/validation/SCHEMA.md, serving): `concurrency` is a closed loop
and `request_rate` open-loop Poisson arrivals, predicted by the steady state of the engine
(predict/steady.py: in-flight TTFT with chunked prefill and queue wait, TPOT = (E2E - TTFT) /
(osl - 1)); `offline` is the same engine with every slot busy; an MLPerf case (`scenario`) takes
its dataset lengths and latency limits from serve/mlperf.py (Offline: throughput; Server /
Interactive: the highest Poisson rate whose p99 TTFT and TPOT meet the limits). A phase of a
disaggregated deployment keeps the static step model. Unrecorded engine settings take the
engine's documented default (kernel/engines/engines.yaml) and are listed as assumptions of the case.
"""

from __future__ import annotations

from functools import lru_cache

from hundredx.errors import InputError
from hundredx.validate.base import Unpredictable
from hundredx.validate.disagg import is_full_form, predict_disagg_case

DEFAULT_ACCEPTANCE = 0.7
# A decode-phase case that records no context length: ASSUMPTION (no engine documents one) of a 4096-token
# context per sequence, listed in the case's assumptions.
DEFAULT_DECODE_KV_LEN = 4096
DEFAULT_MAX_BATCH = 2048
# Engine scheduler defaults when a case leaves them out: the engine's documented profile
# (kernel/engines/engines.yaml: max sequences and token budget, with the file and version read); an
# engine without one runs hundredx's generic scheduler (kernel/runtime.py SchedulerSpec). The KV memory
# fraction 0.9: TensorRT-LLM KvCacheConfig.free_gpu_memory_fraction, vLLM gpu_memory_utilization.
KV_FRACTION_DEFAULT = 0.9
FORMAT_NAMES = {"fp4": "nvfp4", "int8": "int8", "fp8": "fp8", "bf16": "bf16", "fp16": "fp16"}
QUANTIZED_WEIGHTS = ("fp8", "nvfp4")  # checkpoints an engine's quantizer produces (engines.yaml quantized_kv)


@lru_cache(maxsize=256)
def _load_model(ref: str, weights, kv):
    """Zoo models by (id, formats): many cases share one (ModelSpec is immutable)."""
    from hundredx.model import load_model

    return load_model(ref, weights=weights, kv=kv)


_STACKS: dict = {}


def _build(model, hardware: str, par: dict):
    """scenario.build's stack, cached per (model, chip, parallelism): cases of one deployment share it."""
    from hundredx.scenario import build

    key = (id(model), hardware, tuple(sorted((k, repr(v)) for k, v in par.items())))
    hit = _STACKS.get(key)
    if hit is None or hit[0] is not model:
        if len(_STACKS) > 1024:
            _STACKS.clear()
        hit = _STACKS[key] = (model, build(model, hardware, **par).stack)
    return hit[1]


def _engine_name(c: dict) -> str:
    """The engine whose documented defaults a case runs under: NVIDIA's MLPerf LLM harness runs TensorRT-LLM."""
    engine = str(c.get("engine") or "generic")
    return "trtllm" if engine == "mlperf-nvidia" else engine


def _model(case: dict, notes: list[str] | None = None):
    c = case["config"]
    weights = FORMAT_NAMES.get(str(c.get("weight_dtype", "")).lower(), c.get("weight_dtype"))
    kv = c.get("kv_dtype")
    kv = None if kv in (None, "auto") else FORMAT_NAMES.get(str(kv).lower(), kv)
    if kv is None and str(c.get("checkpoint", "")).startswith("nvidia/"):
        kv = "fp8"  # ModelOpt checkpoints set kv_cache_quant_algo FP8; engines' "auto" KV dtype follows it
    if kv is None and weights in QUANTIZED_WEIGHTS:
        from hundredx.kernel.engine import engine_profile

        prof = engine_profile(_engine_name(c))
        if prof.quantized_kv:  # the engine's quantized checkpoints bring their KV format (engines.yaml)
            kv = prof.quantized_kv
            if notes is not None:
                notes.append(f"KV cache {kv} (kv_dtype unrecorded: a {weights} checkpoint for {prof.name} brings "
                             f"{kv} KV, the quantizer's default; kernel/engines/engines.yaml)")
    for ref in (c.get("model"), c.get("same_arch_as")):
        if not ref:
            continue
        try:
            return _load_model(ref, weights, kv)
        except InputError as exc:
            if exc.field != "model":
                raise Unpredictable(str(exc)) from None
    raise Unpredictable(f"model {c.get('model')!r} not in the zoo and no same_arch_as")


def _parallelism(case: dict, devices: int) -> dict:
    """The scenario.build arguments of a case's deployment (module docstring: unrecorded tp)."""
    from hundredx.kernel.runtime import SpeculativeSpec

    c = case["config"]
    tp, pp, ep = int(c.get("tp") or 0), int(c.get("pp") or 1), int(c.get("moe_ep") or c.get("ep") or 1)
    if c.get("moe_tp") and not (c.get("moe_ep") or c.get("ep")) and tp:  # moe_tp x moe_ep = tp x dp (TRT-LLM)
        ep = max(tp * int(c.get("dp") or 1) // int(c["moe_tp"]), 1)
    attn_dp = bool(c.get("attention_dp", False))
    dp_given = int(c.get("dp") or 0)
    if not tp:
        # Unrecorded tp: with expert parallelism the attention runs data-parallel (tp 1, EP across
        # the replicas, DeepSeek/SGLang style); without it, tensor parallelism spans the devices.
        tp = 1 if ep > 1 else max(devices // (pp * max(dp_given, 1)), 1)
    dp = dp_given or max(devices // (tp * pp), 1)
    spec = None
    if c.get("speculative"):
        s = c["speculative"]
        spec = SpeculativeSpec(method=s.get("method", "mtp"), draft_tokens=int(s.get("draft_tokens", 1)),
                               acceptance=float(s.get("acceptance", DEFAULT_ACCEPTANCE)))
    engine = str(c.get("engine") or "generic")  # an engine without a documented profile runs as generic, flagged
    return dict(tp=tp, pp=pp, ep=min(ep, tp * dp), dp=dp, attention_dp=attn_dp, speculative=spec, engine=engine)


def _batch(case: dict, stack, isl: int, osl: int, devices: int) -> int:
    from hundredx.kernel.engine import engine_profile
    from hundredx.scenario.memory import max_batch

    c, rt = case["config"], stack.runtime
    replicas = rt.dp
    if c.get("batch_per_device"):
        return max(int(c["batch_per_device"]) * devices // replicas, 1)
    if c.get("concurrency"):
        return max(int(c["concurrency"]) // replicas, 1)
    if c.get("offline") or c.get("max_batch_size") or c.get("scenario"):
        cap = int(c.get("max_batch_size") or engine_profile(rt.engine, rt.tp).max_seqs)  # the engine's default
        frac = _recorded_number(c.get("kv_cache_free_gpu_mem_fraction"))
        frac = KV_FRACTION_DEFAULT if frac is None else frac
        batch = max_batch(stack, isl, osl, kv_fraction=frac, cap=cap)
        if batch < 1:
            raise Unpredictable("no batch fits in memory at these lengths")
        return batch
    if c.get("phase") == "decode" and c.get("tpot_limit_s"):
        return _batch_under_tpot(stack, isl, osl, float(c["tpot_limit_s"]))
    if c.get("phase") == "prefill":
        # A prefill pool measured at saturation runs a full token budget per step.
        tokens = int(c.get("tokens_per_device") or rt.scheduler.max_batched_tokens)
        return max(tokens * rt.tp * rt.pp // isl, 1)
    raise Unpredictable("no concurrency, batch or offline setting in the case")


def _batch_under_tpot(stack, isl: int, osl: int, tpot_limit_s: float) -> int:
    """A decode pool measured at a TPOT limit with no batch recorded: the largest batch per replica (up to the KV fit
    and the scheduler's max_seqs) whose predicted TPOT meets the limit (what "throughput at TPOT < limit" measures)."""
    import numpy as np

    from hundredx.predict import predict
    from hundredx.predict.steady import slots
    from hundredx.scenario import Workload

    try:  # the replica's engine slots: max_seqs per scheduler and the KV fit, by the engine's reservation rule
        cap = slots(stack, isl, osl)
    except InputError:
        raise Unpredictable("no batch fits in memory at these lengths") from None
    best = 0
    for b in np.unique(np.round(np.geomspace(1, cap, 40))).astype(int):
        try:
            tpot = predict(stack, Workload(isl=isl, osl=osl, batch=int(b))).tpot_s
        except InputError:
            break
        if tpot > tpot_limit_s:
            break
        best = int(b)
    if best < 1:
        raise Unpredictable(f"no batch meets the TPOT limit {tpot_limit_s:g} s on this deployment")
    return best


def _static_case(case: dict, stack, isl: int, osl: int, devices: int) -> float:
    """A phase of a disaggregated deployment (or a recorded batch): the static step model of `predict`."""
    from hundredx.predict import predict
    from hundredx.scenario import Workload

    phase = case["config"].get("phase")
    batch = _batch(case, stack, isl, osl, devices)
    try:
        result = predict(stack, Workload(isl=isl, osl=osl, batch=batch))
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
    metric = case["metric"]
    replicas = stack.runtime.dp
    if phase == "decode" and metric.startswith("output_tokens_per_s"):
        total = batch * replicas / result.tpot_s
    elif phase == "prefill" or metric == "input_tokens_per_s":
        total = batch * isl * replicas / result.ttft_s
    else:
        total = result.output_tokens_per_s
    used = stack.runtime.devices
    values = {"output_tokens_per_s": total * devices / used, "output_tokens_per_s_per_device": total / used,
              "input_tokens_per_s": total * devices / used, "time_per_output_token_s": result.tpot_s,
              "ttft_s": result.ttft_s}
    if metric not in values:
        raise Unpredictable(f"metric {metric!r} not predicted for serving cases")
    return float(values[metric])


def _recorded_number(value, notes: list[str] | None = None, what: str = "") -> float | None:
    """A numeric engine setting as the case records it: a number, or a string that leads with one and qualifies
    it (the source's "0.95 typical": the value it says it used in most runs), read as that number and listed as an
    assumption; None when absent or not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    head = str(value).strip().split(" ")[0]
    try:
        number = float(head)
    except ValueError:
        return None
    if notes is not None:
        notes.append(f"{what} {number:g} (recorded as {str(value)!r}: the leading number read as the setting)")
    return number


def _engine_defaults(engine: str, tp: int) -> tuple[int, int, float, str]:
    """(max sequences, token budget, KV fraction, whose default) for an engine (ENGINE comment above)."""
    from hundredx.kernel.engine import engine_profile
    from hundredx.kernel.runtime import SchedulerSpec

    prof = engine_profile(engine, tp)
    if engine == "generic" or prof.note:
        generic = SchedulerSpec()
        return generic.max_seqs, generic.max_batched_tokens, KV_FRACTION_DEFAULT, "generic scheduler default"
    return prof.max_seqs, prof.max_batched_tokens, KV_FRACTION_DEFAULT, f"{engine} default: {prof.version}"


def _engine_settings(case: dict, stack, notes: list[str]):
    """The stack with the case's scheduler (engine defaults for what it leaves out) and the KV fraction."""
    from dataclasses import replace

    c, rt = case["config"], stack.runtime
    engine = _engine_name(c)
    seqs, tokens, frac, label = _engine_defaults(engine, rt.tp)
    given_seqs = c.get("max_batch_size") or c.get("max_num_seqs") or c.get("max_batch")
    given_tokens = c.get("max_num_tokens") or c.get("max_num_batched_tokens")
    given_frac = _recorded_number(c.get("kv_cache_free_gpu_mem_fraction") or c.get("gpu_memory_utilization"), notes,
                                  "KV memory fraction")
    if not given_seqs:
        notes.append(f"max sequences per replica {seqs} ({label})")
    if not given_tokens:
        notes.append(f"token budget per step {tokens} ({label})")
    if given_frac is None:
        notes.append(f"KV memory fraction {frac} ({label})")
    seqs = int(given_seqs or seqs)
    tokens = int(given_tokens or tokens)
    frac = frac if given_frac is None else given_frac
    sched = replace(rt.scheduler, max_seqs=max(seqs, 1), max_batched_tokens=max(tokens, 1))
    return replace(stack, runtime=replace(rt, scheduler=sched)), frac


def _lengths(case: dict, notes: list[str]) -> tuple[float, float]:
    from hundredx.serve.mlperf import benchmark, lengths

    c = case["config"]
    isl, osl = c.get("isl"), c.get("osl")
    if c.get("scenario") and (not isl or not osl):
        try:
            isl, osl, more = lengths(benchmark(c.get("benchmark", "")), isl or None, osl or None)
        except InputError as exc:
            raise Unpredictable(str(exc)) from None
        notes.extend(more)
    if not isl or not osl:
        raise Unpredictable("input/output lengths (isl/osl) not recorded in the case")
    return float(isl), float(osl)


def _steady_value(case: dict, stack, isl: float, osl: float, frac: float, notes: list[str]) -> float:
    """The metric of a case under the benchmark semantics it records (module docstring)."""
    from hundredx.predict import steady
    from hundredx.serve.mlperf import benchmark

    c, metric = case["config"], case["metric"]
    scenario = str(c.get("scenario", "")).lower()
    # fixed lengths keep closed-loop clients in step (predict/steady.py); an MLPerf dataset's lengths vary
    fixed = not scenario
    if scenario in ("server", "interactive"):
        bench = benchmark(c.get("benchmark", ""))
        ttft_lim, tpot_lim = bench.limits(scenario)
        ttft_lim = float(c.get("ttft_limit_s") or ttft_lim)
        tpot_lim = float(c.get("tpot_limit_s") or tpot_lim)
        out = steady.best_rate_under_limits(stack, isl, osl, ttft_lim, tpot_lim, 99, kv_fraction=frac)
    elif c.get("request_rate"):
        out = steady.open_loop(stack, isl, osl, float(c["request_rate"]), 50, kv_fraction=frac)
    elif c.get("concurrency") and not c.get("offline"):
        out = steady.closed_loop(stack, isl, osl, [float(c["concurrency"])], kv_fraction=frac,
                                 synchronized=fixed).scalar()
    elif c.get("offline") or scenario == "offline" or c.get("max_batch_size"):
        out = steady.offline(stack, isl, osl, kv_fraction=frac, synchronized=fixed).scalar()
    else:
        raise Unpredictable("no concurrency, request rate, batch or offline setting in the case")
    devices = int(case.get("n_devices", 1))
    total = out["output_tokens_per_s"] * devices / stack.runtime.devices
    values = {"output_tokens_per_s": total, "output_tokens_per_s_per_device": total / devices,
              "input_tokens_per_s": total * isl / osl, "total_tokens_per_s": total * (isl + osl) / osl,
              "time_per_output_token_s": out["tpot_s"], "ttft_s": out["ttft_s"]}
    if metric not in values:
        raise Unpredictable(f"metric {metric!r} not predicted for serving cases")
    return float(values[metric])


def _throughput_tp(case: dict, model, devices: int, notes: list[str]) -> dict:
    """An unrecorded tp of a throughput run (offline, MLPerf): the engines' default tensor_parallel_size 1
    (TensorRT-LLM tp_size, vLLM tensor_parallel_size), doubled until the weights leave at least half of
    a device's memory to the KV cache, with data-parallel replicas over the devices (an assumption)."""
    from hundredx.chip import load_chip
    from hundredx.model.accounting import weight_bytes

    c = case["config"]
    if c.get("tp") or int(c.get("ep") or 1) > 1 or not (c.get("offline") or c.get("scenario")):
        return case
    try:
        mem = load_chip(case["hardware"]).mem_bytes
    except InputError:
        return case
    need, tp = float(weight_bytes(model)), 1
    while tp < devices and need / tp > 0.5 * mem:
        tp *= 2
    notes.append(f"tp {tp} with {max(devices // tp, 1)} data-parallel replicas (tp unrecorded: engine default 1, "
                 "doubled until the weights take at most half a device)")
    return {**case, "config": {**c, "tp": tp, "dp": max(devices // tp, 1)}}


def predict_case_detail(case: dict) -> tuple[float, list[str]]:
    """(predicted value in the case's metric, assumptions made for what the case leaves out)."""
    c = case["config"]
    notes: list[str] = []
    devices = int(case.get("n_devices", 1))
    if is_full_form(c):  # workers x per-pool parallelism, read as written (validate/disagg.py)
        return predict_disagg_case(case, _model(case), _parallelism(case, devices)["speculative"]), notes
    phase = c.get("phase")
    model = _model(case, notes)
    if phase in ("prefill", "decode") or c.get("batch_per_device"):
        p_isl = int(c.get("isl") or (c.get("kv_len") if phase == "decode" else 0) or 0)
        if phase == "decode" and p_isl < 1:
            p_isl = DEFAULT_DECODE_KV_LEN
            notes.append(f"decode context {p_isl} tokens a sequence (kv_len/isl unrecorded: hundredx assumption "
                         "DEFAULT_DECODE_KV_LEN, no documented default)")
        if phase == "decode" and c.get("tpot_limit_s") and not (c.get("concurrency") or c.get("batch_per_device")
                                                                or c.get("max_batch_size")):
            notes.append(f"decode batch: the largest whose predicted TPOT meets tpot_limit_s {c['tpot_limit_s']:g} "
                         "(batch unrecorded)")
        p_osl = int(c.get("osl") or 1) if phase in ("prefill", "decode") else int(c.get("osl") or 0)
        if p_isl < 1 or p_osl < 1:
            raise Unpredictable("input/output lengths (isl/osl or kv_len) not recorded in the case")
        try:
            stack = _build(model, case["hardware"], _parallelism(case, devices))
        except InputError as exc:
            raise Unpredictable(str(exc)) from None
        return _static_case(case, stack, p_isl, p_osl, devices), notes
    isl, osl = _lengths(case, notes)
    case = _throughput_tp(case, model, devices, notes)
    try:
        stack = _build(model, case["hardware"], _parallelism(case, devices))
        stack, frac = _engine_settings(case, stack, notes)
        return _steady_value(case, stack, isl, osl, frac, notes), notes
    except InputError as exc:
        raise Unpredictable(str(exc)) from None


def predict_case(case: dict) -> float:
    return predict_case_detail(case)[0]


__all__ = ["predict_case", "predict_case_detail"]

"""Serving cases: deployment throughput / latency from the static step model of `predict`.

Per case: the model (zoo id, or `same_arch_as` when the checkpoint is not in the zoo),
formats, parallelism (tp, pp, ep, dp, attention_dp; an unrecorded tp is 1 under expert
parallelism, with attention data-parallel, else all devices), lengths. Batch per replica:
`concurrency / replicas`, `batch_per_device`, a prefill phase's `tokens_per_device` (default: the runtime's chunked
prefill budget, 8192 tokens) over isl, or for offline runs the largest batch whose
KV cache fits (engine `max_batch_size` cap, default the engine's documented max_seqs,
kernel/engine.py). Speculative decoding: MTP with
`draft_tokens` (default 1) and acceptance 0.7 unless the case gives one. A phase of a
disaggregated deployment is predicted on its own devices; a fully specified one (workers x per-pool
parallelism) by validate/disagg.py, its pools read as written. Metrics: output_tokens_per_s,
output_tokens_per_s_per_device, input_tokens_per_s, time_per_output_token_s, ttft_s.
KV format: the case's `kv_dtype`; else FP8 for NVIDIA ModelOpt checkpoints (`checkpoint`
"nvidia/..."), whose hf_quant_config.json sets kv_cache_quant_algo FP8 and which
TensorRT-LLM and vLLM follow when the KV dtype is left on "auto"; else the model default.
"""

from __future__ import annotations

from hundredx.errors import InputError
from hundredx.validate.base import Unpredictable
from hundredx.validate.disagg import is_full_form, predict_disagg_case

DEFAULT_ACCEPTANCE = 0.7
DEFAULT_MAX_BATCH = 2048
FORMAT_NAMES = {"fp4": "nvfp4", "int8": "int8", "fp8": "fp8", "bf16": "bf16", "fp16": "fp16"}


def _model(case: dict):
    from hundredx.model import load_model

    c = case["config"]
    weights = FORMAT_NAMES.get(str(c.get("weight_dtype", "")).lower(), c.get("weight_dtype"))
    kv = c.get("kv_dtype")
    kv = None if kv in (None, "auto") else FORMAT_NAMES.get(str(kv).lower(), kv)
    if kv is None and str(c.get("checkpoint", "")).startswith("nvidia/"):
        kv = "fp8"  # ModelOpt checkpoints set kv_cache_quant_algo FP8; engines' "auto" KV dtype follows it
    for ref in (c.get("model"), c.get("same_arch_as")):
        if not ref:
            continue
        try:
            return load_model(ref, weights=weights, kv=kv)
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
        frac = c.get("kv_cache_free_gpu_mem_fraction")
        frac = float(frac) if isinstance(frac, (int, float)) else 0.9
        batch = max_batch(stack, isl, osl, kv_fraction=frac, cap=cap)
        if batch < 1:
            raise Unpredictable("no batch fits in memory at these lengths")
        return batch
    if c.get("phase") == "prefill":
        # A prefill pool measured at saturation runs a full token budget per step.
        tokens = int(c.get("tokens_per_device") or rt.scheduler.max_batched_tokens)
        return max(tokens * rt.tp * rt.pp // isl, 1)
    raise Unpredictable("no concurrency, batch or offline setting in the case")


def predict_case(case: dict) -> float:
    from hundredx.predict import predict
    from hundredx.scenario import Workload, build

    c = case["config"]
    if is_full_form(c):  # workers x per-pool parallelism, read as written (validate/disagg.py)
        return predict_disagg_case(case, _model(case), _parallelism(case, int(case.get("n_devices", 1)))["speculative"])
    devices = int(case.get("n_devices", 1))
    phase = c.get("phase")
    isl = int(c.get("isl") or (c.get("kv_len") if phase == "decode" else 0) or 0)
    osl = int(c.get("osl") or (1 if phase == "prefill" else 0) or 0)
    if phase == "decode" and not c.get("osl"):
        osl = 1
    if isl < 1 or osl < 1:
        raise Unpredictable("input/output lengths (isl/osl) not recorded in the case")
    model = _model(case)
    try:
        stack = build(model, case["hardware"], **_parallelism(case, devices)).stack
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
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


__all__ = ["predict_case"]

"""Serving cases of fully specified disaggregated deployments (SCHEMA.md, `disaggregated` full form).

`{"prefill_workers": a, "prefill_devices_per_worker": x, "prefill": {...}, "decode_workers": b,
"decode_devices_per_worker": y, "decode": {...}}`, each pool's object with `tp_size`, `pp_size`,
`attention_dp_size`, `moe_tp_size`, `moe_ep_size`, `batch_size` (the engine's maximum batch per
worker), `num_workers`. Each pool becomes a `PoolSpec` read as written: workers = the top-level
count (else num_workers), tp/pp/attention-DP/moe_tp/moe_ep from the object; an unrecorded tp is
devices_per_worker / (pp x attention_dp). devices_per_worker = tp x pp x attention_dp reads tp as
the attention TP (aiconfigurator); = tp x pp reads it as all the worker's ranks, attention TP
tp / attention_dp (SGLang, TRT-LLM configs); any other count is unpredictable (the row contradicts
itself). moe_tp x moe_ep that miss the MoE group keep the one that divides it (moe_ep first). The case's top-level
`concurrency` is the closed-loop client count over the whole deployment (`request_rate` an
open-loop rate; neither: offline); both pools are priced by predict/pools.predict_pools.
"""

from __future__ import annotations

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, PoolSpec
from hundredx.validate.base import Unpredictable

POOL_FIELDS = {"tp_size": "tp", "pp_size": "pp", "attention_dp_size": "attention_dp", "moe_tp_size": "moe_tp",
               "moe_ep_size": "moe_ep", "batch_size": "max_batch"}


def is_full_form(config: dict) -> bool:
    d = config.get("disaggregated")
    return isinstance(d, dict) and isinstance(d.get("prefill"), dict) and isinstance(d.get("decode"), dict)


def _int(value) -> int | None:
    if value in (None, "", 0):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Unpredictable(f"disaggregated pool field {value!r} is not an integer") from None


def _degrees(values: dict, per_worker: int | None, role: str) -> tuple[int, int, int]:
    """(attention tp, pp, attention-DP) of one worker. Two conventions write a worker: tp x pp x dp devices
    with tp the attention TP (aiconfigurator, SCHEMA), or tp x pp devices with the attention TP tp / dp
    (SGLang --tp --dp --enable-dp-attention, TRT-LLM tensor_parallel_size + enable_attention_dp); the
    devices per worker tell them apart."""
    pp, adp = values["pp"] or 1, values["attention_dp"] or 1
    tp = values["tp"] or (per_worker // (pp * adp) if per_worker else 1)
    if not per_worker or tp * pp * adp == per_worker:
        return tp, pp, adp
    if tp * pp == per_worker and tp % adp == 0:
        return tp // adp, pp, adp
    raise Unpredictable(f"{role} worker: tp {tp} x pp {pp} x attention_dp {adp} != devices_per_worker {per_worker}")


def _moe(values: dict, group: int) -> tuple[int | None, int | None]:
    """(moe_tp, moe_ep) as written when they multiply to the worker's MoE group, else the one that divides it."""
    moe_tp, moe_ep = values["moe_tp"], values["moe_ep"]
    if moe_tp and moe_ep and moe_tp * moe_ep != group:
        return (None, moe_ep) if group % moe_ep == 0 else ((moe_tp, None) if group % moe_tp == 0 else (None, None))
    return moe_tp, moe_ep


def parse_pool(d: dict, role: str) -> PoolSpec:
    """One pool's PoolSpec as written (module docstring)."""
    obj = d[role]
    values = {name: _int(obj.get(key)) for key, name in POOL_FIELDS.items()}
    workers = _int(d.get(f"{role}_workers")) or _int(obj.get("num_workers")) or 1
    tp, pp, adp = _degrees(values, _int(d.get(f"{role}_devices_per_worker")), role)
    moe_tp, moe_ep = _moe(values, tp * adp)
    try:
        return PoolSpec(workers=workers, tp=tp, pp=pp, attention_dp=adp, moe_tp=moe_tp, moe_ep=moe_ep,
                        max_batch=values["max_batch"])
    except InputError as exc:
        raise Unpredictable(f"{role} pool: {exc}") from None


def parse_disaggregation(config: dict) -> Disaggregation:
    d = config["disaggregated"]
    return Disaggregation(prefill=parse_pool(d, "prefill"), decode=parse_pool(d, "decode"))


def predict_disagg_case(case: dict, model, speculative) -> float:
    """The case's metric from both pools (module docstring); Unpredictable with the reason otherwise."""
    from hundredx.predict.pools import predict_pools

    c = case["config"]
    isl, osl = int(c.get("isl") or 0), int(c.get("osl") or 0)
    if isl < 1 or osl < 1:
        raise Unpredictable("input/output lengths (isl/osl) not recorded in the case")
    disagg = parse_disaggregation(c)
    conc = _int(c.get("concurrency"))
    rate = float(c["request_rate"]) if c.get("request_rate") else None
    try:
        out = predict_pools(model, case["hardware"], disagg, isl, osl, concurrency=conc, request_rate=rate,
                            speculative=speculative)
    except InputError as exc:
        raise Unpredictable(str(exc)) from None
    devices = int(case.get("n_devices") or out["devices"])
    values = {"output_tokens_per_s": out["output_tokens_per_s"],
              "output_tokens_per_s_per_device": out["output_tokens_per_s"] / devices,
              "input_tokens_per_s": out["input_tokens_per_s"], "time_per_output_token_s": out["tpot_s"],
              "ttft_s": out["ttft_s"], "tokens_per_s_per_user": out["tokens_per_s_per_user"]}
    if case["metric"] not in values:
        raise Unpredictable(f"metric {case['metric']!r} not predicted for disaggregated serving cases")
    return float(values[case["metric"]])


__all__ = ["is_full_form", "parse_disaggregation", "parse_pool", "predict_disagg_case"]

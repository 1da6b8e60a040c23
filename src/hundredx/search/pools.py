"""Prefill/decode disaggregation, analytic: two pools of workers, each its own parallelism, rate-matched.

A prefill worker (tp_p pp_p devices, ep_p, attention-DP or not) prefills b_p prompts of isl
tokens at a time in T_p = predict's TTFT at batch b_p (the static prefill of `predict`); a
decode worker decodes b_d sequences at TPOT_d = predict's TPOT at batch b_d (context
isl + osl/2). W_p prefill and W_d decode workers serve

    R = min(W_p b_p / T_p, W_d b_d / (osl TPOT_d))          requests/s
    output tokens/s = R osl,  per device: / (W_p tp_p pp_p + W_d tp_d pp_d)
    TTFT = T_p + KV transfer,  TPOT = TPOT_d,  tokens/s per user = 1 / TPOT_d

The KV transfer is the simulator's (serve/from_stack.py): latency + KV bytes of the prompt on a
decode replica (MLA latent copies over its tp ranks counted) / (link bandwidth x the smaller
replica's devices), over the scale-up links when both pools fit in one scale-up domain, else
the scale-out network. The slower pool sets R (`limited_by`); the faster one idles.
`compose` is this formula over arrays; `predict_disaggregated` applies it to two `predict`
calls (the CLI's `predict --disagg`); the search applies it to priced candidates
(`disagg_rows`), so a row and its command agree. `pool_scenarios` builds both pools through
`scenario.build` (each a whole number of replicas; the rules checked per pool).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.scenario.build import Scenario, build
from hundredx.scenario.workload import Workload


def transfer_s(system, prefill_devices, decode_devices, rep_p, rep_d, kv_bytes_per_seq):
    """KV transfer time of one prompt from a prefill to a decode replica (module docstring)."""
    inside = np.add(prefill_devices, decode_devices) <= system.scaleup_domain
    bw = np.where(inside, system.scaleup_bytes_per_s, system.scaleout_bytes_per_s) * np.minimum(rep_p, rep_d)
    latency = np.where(inside, system.scaleup_latency_s, system.scaleout_latency_s)
    return latency + np.divide(kv_bytes_per_seq, bw)


def compose(system, osl, ttft_p, batch_p, workers_p, rep_p, tpot_d, batch_d, workers_d, rep_d, kv_bytes_per_seq):
    """The disaggregated deployment's metrics (module docstring), element-wise over arrays."""
    rate_p = np.divide(np.multiply(workers_p, batch_p), ttft_p)
    rate_d = np.divide(np.multiply(workers_d, batch_d), np.multiply(osl, tpot_d))
    rate = np.minimum(rate_p, rate_d)
    devices_p, devices_d = np.multiply(workers_p, rep_p), np.multiply(workers_d, rep_d)
    devices = devices_p + devices_d
    kv = transfer_s(system, devices_p, devices_d, rep_p, rep_d, kv_bytes_per_seq)
    ttft = np.add(ttft_p, kv)
    total = rate * osl
    return {"ttft_s": ttft, "tpot_s": np.asarray(tpot_d, dtype=float), "kv_transfer_s": kv,
            "prefill_ttft_s": np.asarray(ttft_p, dtype=float), "request_rate_per_s": rate,
            "output_tokens_per_s": total, "output_tokens_per_s_per_device": total / devices,
            "tokens_per_s_per_user": np.divide(1.0, tpot_d), "devices": devices, "prefill_devices": devices_p,
            "decode_devices": devices_d, "limited_by": np.where(rate_p < rate_d, "prefill", "decode").astype(object)}


def pool_scenarios(model, chip, prefill_devices: int, decode_devices: int, prefill: dict, decode: dict,
                   isl: int, osl: int, **knobs) -> tuple[Scenario, Scenario, Any]:
    """(prefill pool, decode pool, the whole deployment's system): each pool `scenario.build` on its own
    devices with its own parallelism (`prefill` / `decode`: tp, pp, ep, attention_dp, batch); `knobs`:
    formats and RuntimeSpec fields shared by both (weights, kv, attention_kernel, moe_routing; speculative
    decoding runs on the decode pool)."""
    from hundredx.scenario.build import resolve_system

    spec = knobs.pop("speculative", None)
    shared = {k: v for k, v in knobs.items() if v is not None}

    def pool(devices: int, p: dict, w: Workload, name: str, extra: dict) -> Scenario:
        degrees = {k: p[k] for k in ("tp", "pp", "ep", "attention_dp") if p.get(k) is not None}
        try:
            return build(model, chip, devices=devices, workload=w, source=f"predict --disagg ({name})",
                         **degrees, **shared, **extra)
        except InputError as exc:
            raise InputError(f"{name}.{exc.field}" if exc.field in degrees or exc.field == "devices" else exc.field,
                             exc.value, exc.why) from None

    pre = pool(prefill_devices, prefill, Workload(isl=isl, osl=1, batch=prefill["batch"]), "prefill", {})
    dec = pool(decode_devices, decode, Workload(isl=isl, osl=osl, batch=decode["batch"]), "decode",
               {"speculative": spec})
    return pre, dec, resolve_system(chip, prefill_devices + decode_devices)


def predict_disaggregated(prefill: Scenario, decode: Scenario, system, check_memory: bool = True) -> dict:
    """`predict` of both pools, composed (module docstring); a JSON-able dict like predict's."""
    from hundredx.model import kv_bytes
    from hundredx.predict import predict
    from hundredx.scenario.memory import kv_split

    pp_, pd_ = predict(prefill, check_memory=check_memory), predict(decode, check_memory=check_memory)
    rp, rd = prefill.runtime, decode.runtime
    per_seq = float(np.max(kv_bytes(decode.model, decode.workload.isl))) * rd.tp / float(kv_split(decode.stack))
    out = compose(system, decode.workload.osl, pp_.ttft_s, prefill.workload.batch, rp.dp, rp.replica_devices,
                  pd_.tpot_s, decode.workload.batch, rd.dp, rd.replica_devices, per_seq)
    data = {k: (v.item() if isinstance(v, np.ndarray) else v) for k, v in out.items()}
    data["limited_by"] = str(data["limited_by"])
    data.update(mode="disagg", bottleneck=pd_.bottleneck, memory_per_device_bytes=pd_.memory.to_dict(),
                prefill_memory_per_device_bytes=pp_.memory.to_dict(),
                fallbacks=sorted(set(pp_.mismatches) | set(pd_.mismatches)),
                pools={"prefill": {"workers": rp.dp, "tp": rp.tp, "pp": rp.pp, "ep": rp.ep,
                                   "attention_dp": rp.attention_dp, "batch": prefill.workload.batch},
                       "decode": {"workers": rd.dp, "tp": rd.tp, "pp": rd.pp, "ep": rd.ep,
                                  "attention_dp": rd.attention_dp, "batch": decode.workload.batch}})
    return data


__all__ = ["compose", "pool_scenarios", "predict_disaggregated", "transfer_s"]

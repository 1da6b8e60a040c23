"""Prefill/decode disaggregation, analytic: two pools of workers, each its own parallelism (and chip), rate-matched.

The one home of pool pricing: `predict --disagg` (`--decode-chip`), `predict_pools` (full-form PoolSpecs: stack files,
validate's fully specified rows) and the search's disaggregated rows (search/disagg.py, through
search rows) all compose with `compose`; the link choice is scenario/pools.kv_link (serve's too).

A prefill worker (tp_p pp_p devices, ep_p, attention-DP or not) prefills b_p prompts of isl
tokens at a time in T_p = predict's TTFT at batch b_p (the static prefill of `predict`); a
decode worker decodes b_d sequences at TPOT_d = predict's TPOT at batch b_d (context
isl + osl/2). W_p prefill and W_d decode workers can serve

    C = min(W_p b_p / T_p, W_d b_d / (osl TPOT_d))          requests/s (the slower pool: `limited_by`,
                                                             "load" when the offered load is below C)

KV transfer of one prompt (latency + KV bytes of the prompt on a decode replica, MLA latent copies
over its tp ranks counted, / (link bandwidth x the smaller replica's devices)): over the scale-up
links when both pools share one chip and fit in one scale-up domain (NVLink), else the scale-out
network (RDMA; the slower side's NIC when the pools run on different chips). Contention: at
rate R the links carry R x KV bytes over min(prefill, decode devices) links, and the transfer
stretches by 1 / (1 - rho) (rho = that load / the links' bandwidth, capped at 0.95). Layer-wise
streaming (DistServe, Mooncake, NIXL in Dynamo): layer l's KV leaves while layers l+1.. prefill,
so only max(transfer / L, transfer - T_p (L - 1) / L) is exposed after the prefill.

Load (`concurrency` N closed-loop clients, or an open-loop `request_rate`; neither = offline):
    offline      R = C, TTFT = T_p + KV
    open loop    R = min(rate, C); TTFT = T_1 + KV + wait, wait = rho_p / (1 - rho_p) x T_p / 2
                 (a prompt arriving at a busy batched worker waits half a batch period, inflated by
                 the prefill pool's load rho_p = R / C_p, M/D/1-like; capped at rho_p = 0.99)
    closed loop  R = min(C, N / (T_1 + KV + (osl - 1) TPOT_d)); TTFT = max(T_1 + KV + wait,
                 N / R - (osl - 1) TPOT_d) (Little's law: clients the pools cannot serve wait for a prefill;
                 the wait's rho_p is x (N - 1) / N: a client queues only behind the other N - 1)
with T_1 the prefill of one prompt. Output tokens/s = R osl (per device: / all devices of both
pools); TPOT = TPOT_d; tokens/s per user = 1 / TPOT_d.
`compose` is this over arrays; `predict_disaggregated` applies it to two `predict` calls;
`pool_scenarios` builds both short-form pools through `scenario.build`, `predict_pools` the
full-form ones through scenario/pools.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from hundredx.errors import InputError
from hundredx.scenario.build import Scenario, build
from hundredx.scenario.pools import kv_link
from hundredx.scenario.workload import Workload

RHO_LINK_MAX = 0.95
RHO_PREFILL_MAX = 0.99
LINKS = np.array(["scale-out", "scale-up"], dtype=object)  # by kv_link's `inside` (text columns by code)
LIMITS = np.array(["load", "prefill", "decode"], dtype=object)


def transfer_s(system, prefill_devices, decode_devices, rep_p, rep_d, kv_bytes_per_seq, system_d=None):
    """KV transfer time of one prompt from a prefill to a decode replica, alone on the links (module docstring)."""
    bw, latency, _ = kv_link(system, prefill_devices, decode_devices, system_d)
    return latency + np.divide(kv_bytes_per_seq, np.multiply(bw, np.minimum(rep_p, rep_d)))


def _exposed_kv(system, devices_p, devices_d, rep_p, rep_d, kv_bytes, rate, ttft_p, layers, system_d):
    """Transfer time after the prefill ends: contention at `rate`, then layer-wise overlap (module docstring)."""
    bw, latency, _ = kv_link(system, devices_p, devices_d, system_d)
    alone = np.divide(kv_bytes, np.multiply(bw, np.minimum(rep_p, rep_d)))
    rho = np.minimum(np.divide(np.multiply(rate, kv_bytes), np.multiply(bw, np.minimum(devices_p, devices_d))),
                     RHO_LINK_MAX)
    busy = np.divide(alone, 1.0 - rho)
    if layers:
        busy = np.maximum(np.divide(busy, layers), busy - np.multiply(ttft_p, (layers - 1.0) / layers))
    return latency + busy


def _load(osl, rate_p, cap, ttft_p, ttft_1, tpot_d, kv, concurrency, request_rate):
    """(requests/s, TTFT) under the load (module docstring)."""
    if concurrency is None and request_rate is None:
        return cap, np.add(ttft_p, kv)
    busy_p = np.divide(ttft_p, 2.0)
    if request_rate is not None:
        rate = np.minimum(request_rate, cap)
        rho = np.minimum(np.divide(rate, rate_p), RHO_PREFILL_MAX)
        return rate, ttft_1 + kv + rho / (1.0 - rho) * busy_p
    decode_s = np.multiply(np.maximum(np.subtract(osl, 1.0), 0.0), tpot_d)
    rate = np.minimum(cap, np.divide(concurrency, ttft_1 + kv + decode_s))
    # finite population: a client waits only behind the other N - 1
    rho = np.minimum(np.divide(rate, rate_p) * (1.0 - np.divide(1.0, concurrency)), RHO_PREFILL_MAX)
    ttft = np.maximum(ttft_1 + kv + rho / (1.0 - rho) * busy_p, np.divide(concurrency, rate) - decode_s)
    return rate, ttft


def compose(system, osl, ttft_p, batch_p, workers_p, rep_p, tpot_d, batch_d, workers_d, rep_d, kv_bytes_per_seq,
            *, layers=None, system_d=None, concurrency=None, request_rate=None, ttft_1=None):
    """The disaggregated deployment's metrics (module docstring), element-wise over arrays.

    `layers`: layer-wise KV streaming over that many layers (None: the KV leaves after the prefill);
    `system_d`: the decode pool's system when it runs on another chip; `concurrency` / `request_rate`:
    the load (neither: offline); `ttft_1`: the prefill of one prompt (default ttft_p)."""
    rate_p = np.divide(np.multiply(workers_p, batch_p), ttft_p)
    rate_d = np.divide(np.multiply(workers_d, batch_d), np.multiply(osl, tpot_d))
    cap = np.minimum(rate_p, rate_d)
    devices_p, devices_d = np.multiply(workers_p, rep_p), np.multiply(workers_d, rep_d)
    devices = devices_p + devices_d
    ttft_1 = ttft_p if ttft_1 is None else ttft_1
    kv = _exposed_kv(system, devices_p, devices_d, rep_p, rep_d, kv_bytes_per_seq, cap, ttft_p, layers, system_d)
    rate, ttft = _load(osl, rate_p, cap, ttft_p, ttft_1, tpot_d, kv, concurrency, request_rate)
    if concurrency is not None or request_rate is not None:  # the links' load at the served rate
        kv = _exposed_kv(system, devices_p, devices_d, rep_p, rep_d, kv_bytes_per_seq, rate, ttft_p, layers, system_d)
        rate, ttft = _load(osl, rate_p, cap, ttft_p, ttft_1, tpot_d, kv, concurrency, request_rate)
    total = rate * osl
    _, _, inside = kv_link(system, devices_p, devices_d, system_d)
    return {"ttft_s": ttft, "tpot_s": np.asarray(tpot_d, dtype=float), "kv_transfer_s": kv,
            "prefill_ttft_s": np.asarray(ttft_p, dtype=float), "prefill_one_s": np.asarray(ttft_1, dtype=float),
            "request_rate_per_s": rate,
            "output_tokens_per_s": total, "output_tokens_per_s_per_device": total / devices,
            "tokens_per_s_per_user": np.divide(1.0, tpot_d), "devices": devices,
            "prefill_devices": devices_p, "decode_devices": devices_d,
            "kv_link": LINKS[np.asarray(inside, dtype=np.intp)],
            "limited_by": LIMITS[np.where(np.less(rate, np.multiply(cap, 1.0 - 1e-9)), 0,
                                          np.where(rate_p < rate_d, 1, 2))]}


def pool_scenarios(model, chip, prefill_devices: int, decode_devices: int, prefill: dict, decode: dict,
                   isl: int, osl: int, decode_chip=None, **knobs) -> tuple[Scenario, Scenario, Any]:
    """(prefill pool, decode pool, the prefill side's system): each pool `scenario.build` on its own
    devices with its own parallelism (`prefill` / `decode`: tp, pp, ep, attention_dp, batch) and the decode
    pool on `decode_chip` when given; `knobs`: formats and RuntimeSpec fields shared by both (weights, kv,
    attention_kernel, moe_routing; speculative decoding runs on the decode pool)."""
    from hundredx.scenario.build import resolve_system

    spec = knobs.pop("speculative", None)
    shared = {k: v for k, v in knobs.items() if v is not None}

    def pool(devices: int, p: dict, w: Workload, name: str, extra: dict, where) -> Scenario:
        degrees = {k: p[k] for k in ("tp", "pp", "ep", "attention_dp") if p.get(k) is not None}
        try:
            return build(model, where, devices=devices, workload=w, source=f"predict --disagg ({name})",
                         **degrees, **shared, **extra)
        except InputError as exc:
            raise InputError(f"{name}.{exc.field}" if exc.field in degrees or exc.field == "devices" else exc.field,
                             exc.value, exc.why) from None

    pre = pool(prefill_devices, prefill, Workload(isl=isl, osl=1, batch=prefill["batch"]), "prefill", {}, chip)
    dec = pool(decode_devices, decode, Workload(isl=isl, osl=osl, batch=decode["batch"]), "decode",
               {"speculative": spec}, decode_chip or chip)
    same = dec.chip.id == pre.chip.id
    return pre, dec, resolve_system(chip, prefill_devices + decode_devices if same else prefill_devices)


def _kv_per_seq(decode: Scenario) -> float:
    """KV bytes of one prompt on a decode replica (MLA latent copies over its tp ranks counted)."""
    from hundredx.model import kv_bytes
    from hundredx.scenario.memory import kv_split

    per_seq = float(np.max(kv_bytes(decode.model, decode.workload.isl)))
    return per_seq * decode.runtime.tp / float(kv_split(decode.stack))


def predict_disaggregated(prefill: Scenario, decode: Scenario, system, check_memory: bool = True, *,
                          layerwise: bool = True, concurrency=None, request_rate=None) -> dict:
    """`predict` of both pools, composed (module docstring); a JSON-able dict like predict's."""
    from hundredx.predict import predict

    pp_, pd_ = predict(prefill, check_memory=check_memory), predict(decode, check_memory=check_memory)
    one = pp_ if prefill.workload.batch == 1 or (concurrency is None and request_rate is None) else \
        predict(prefill, replace(prefill.workload, batch=1), check_memory=False)
    rp, rd = prefill.runtime, decode.runtime
    other = decode.system if decode.chip.id != prefill.chip.id else None
    out = compose(system, decode.workload.osl, pp_.ttft_s, prefill.workload.batch, rp.dp, rp.replica_devices,
                  pd_.tpot_s, decode.workload.batch, rd.dp, rd.replica_devices, _kv_per_seq(decode),
                  layers=decode.model.num_layers if layerwise else None, system_d=other, concurrency=concurrency,
                  request_rate=request_rate, ttft_1=one.ttft_s)
    data = {k: (v.item() if isinstance(v, (np.ndarray, np.generic)) else v) for k, v in out.items()}
    data["limited_by"], data["kv_link"] = str(data["limited_by"]), str(data["kv_link"])
    data["input_tokens_per_s"] = data["request_rate_per_s"] * decode.workload.isl
    data.update(mode="disagg", bottleneck=pd_.bottleneck, memory_per_device_bytes=pd_.memory.to_dict(),
                prefill_memory_per_device_bytes=pp_.memory.to_dict(),
                fallbacks=sorted(set(pp_.mismatches) | set(pd_.mismatches)),
                pools={"prefill": _pool_row(prefill), "decode": _pool_row(decode)})
    return data


def _pool_row(scn: Scenario) -> dict:
    rt = scn.runtime
    return {"workers": rt.dp, "chip": scn.chip.id, "tp": rt.tp, "pp": rt.pp, "ep": rt.ep,
            "moe_tp": max(rt.tp // max(rt.ep, 1), 1), "attention_dp": rt.attention_dp, "batch": scn.workload.batch}


def predict_pools(model, chip, disagg, isl: int, osl: int, *, concurrency: int | None = None,
                  request_rate: float | None = None, check_memory: bool = True, **knobs) -> dict:
    """A full-form Disaggregation (PoolSpecs, each maybe on its own chip) predicted at a load: both pools
    built by scenario/pools.py, priced by `predict`, composed here (module docstring)."""
    from hundredx.scenario.build import resolve_system
    from hundredx.scenario.pools import build_pool

    if disagg.prefill is None or disagg.decode is None:
        raise InputError("disaggregation", disagg, "predict_pools needs both pools (prefill and decode PoolSpecs)")
    pre, notes_p = build_pool(model, chip, disagg.prefill, "prefill", isl, osl, **knobs)
    dec, notes_d = build_pool(model, chip, disagg.decode, "decode", isl, osl, concurrency, **knobs)
    system = resolve_system(disagg.prefill.chip or chip, disagg.devices if pre.chip.id == dec.chip.id else
                            disagg.prefill_devices)
    data = predict_disaggregated(pre, dec, system, check_memory, layerwise=disagg.layerwise,
                                 concurrency=concurrency, request_rate=request_rate)
    data["fallbacks"] = sorted(set(data["fallbacks"]) | {f"prefill pool: {n}" for n in notes_p} |
                               {f"decode pool: {n}" for n in notes_d})
    data.update(model=dec.stack.model.id, chip=pre.chip.id, decode_chip=dec.chip.id, system=system.id,
                workload={"isl": isl, "osl": osl, "concurrency": concurrency, "request_rate": request_rate})
    return data


__all__ = ["compose", "pool_scenarios", "predict_disaggregated", "predict_pools", "transfer_s"]

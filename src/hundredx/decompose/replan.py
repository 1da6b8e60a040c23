"""Re-planning a layer combination that cannot run: the kernel layer as a strategy, not degrees.

A decomposition's mixed stack (say B's kernel layer with A's model on A's chip) takes B's
kernel layer: its kernels (attention kernel, GEMM library, fusion, CUDA graphs), its
scheduler, its communication overlap, its speculative decoding, its MoE routing and its
policy (disaggregated or not, attention data-parallel or not). Its literal degrees (tp, pp,
ep, the P/D pool sizes) belong to B's model on B's chip and may not run elsewhere: DeepSeek-R1
in FP8 does not fit the tp8 pp1 replica that NVFP4 weights allow on GB200, on H100.

When a mixed combination cannot run even after the nearest-runnable adjustment
(scenario/adjust.py), `replan` asks the search (search/run.py) for the best deployment of that
model on that chip, under the same SLO (A's workload limits) and the same device budget (the
chip layer's devices), over a space restricted to the strategy: the model's own formats, the
kernel layer's MoE routing and speculative decoding, tp / pp / ep, attention-DP on and off,
aggregated and disaggregated. The search ranks rows by output tokens/s per device (rank.py);
the first ranked row of the kernel layer's own mode and attention-DP policy wins, else the
first of the kernel's mode, else the first row that runs. A disaggregated row is used only when
its prefill pool has the decode pool's tp, pp, ep and attention-DP (the decomposition's pool model,
decompose/metrics.py, prices both pools with one replica shape). Its degrees replace the kernel
layer's; every other knob of the kernel layer is kept, and the combination is priced by
`decompose.metrics.evaluate` like the other seven. The result says what changed (old -> new).
"""

from __future__ import annotations

import math
from dataclasses import replace

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec
from hundredx.scenario import Scenario
from hundredx.scenario.build import resolve_model
from hundredx.scenario.compose import Layers

TOP_ROWS = 256  # ranked rows the re-plan may try (the first that builds and runs wins)


def degrees(rt: RuntimeSpec, devices: int) -> dict:
    """The literal degrees of a kernel layer on `devices` devices (what a re-plan may change)."""
    d = rt.disaggregation
    out = {"tp": rt.tp, "pp": rt.pp, "ep": rt.ep, "attention_dp": rt.attention_dp,
           "mode": "disagg" if d is not None else "agg", "devices": d.devices if d is not None else devices}
    if d is not None:
        out.update(prefill_devices=d.prefill_devices, decode_devices=d.decode_devices)
    return out


def describe(old: dict, new: dict) -> str:
    """'tp 8 -> 2, ep 8 -> 16, disaggregated 8+64 -> aggregated' (only what changed)."""
    parts = [f"{k} {old[k]} -> {new[k]}" for k in ("tp", "pp", "ep", "attention_dp") if old[k] != new[k]]
    pools = {m: ("aggregated" if d["mode"] == "agg" else f"disaggregated {d['prefill_devices']}+{d['decode_devices']}")
             for m, d in (("old", old), ("new", new))}
    if pools["old"] != pools["new"]:
        parts.append(f"{pools['old']} -> {pools['new']}")
    if old["devices"] != new["devices"]:
        parts.append(f"devices {old['devices']} -> {new['devices']}")
    return ", ".join(parts) or "same degrees"


def _question(layers: Layers):
    from hundredx.search.space import Question

    w = layers.workload
    chip_id = getattr(layers.chip, "id", layers.chip)
    return Question(model=layers.model.id, chip=str(chip_id), devices=int(layers.devices), isl=w.isl, osl=w.osl,
                    ttft_limit_s=w.ttft_limit_s, tpot_limit_s=w.tpot_limit_s, top=TOP_ROWS)


def _space(layers: Layers, question):
    from hundredx.search.space import default_space
    from hundredx.search.units import base_specs

    _, system = base_specs(question)
    space = default_space(layers.model, system, question.devices)
    rt, q = layers.runtime, layers.model.quant
    d = replace(space.deployment, weights=(q.weight.name,), kv=(q.kv.name,), attention_kernel=("auto",),
                moe_routing=(rt.moe_routing,) if layers.model.moe is not None else ("uniform",),
                speculative=(rt.speculative,))
    return replace(space, deployment=d)


def _usable(row: dict) -> bool:
    if row["mode"] != "disagg":
        return True
    keys = ("tp", "pp", "ep", "attention_dp")
    return all(row[f"prefill_{k}"] == row[k] for k in keys)


def _preferred(rows: list[dict], rt: RuntimeSpec) -> list[dict]:
    """Rows in the order of module docstring: own mode and policy, own mode, the rest."""
    mode = "disagg" if rt.disaggregation is not None else "agg"
    rows = [r for r in rows if _usable(r)]
    first = [r for r in rows if r["mode"] == mode and bool(r["attention_dp"]) == rt.attention_dp]
    second = [r for r in rows if r["mode"] == mode and r not in first]
    return first + second + [r for r in rows if r["mode"] != mode]


def _runtime(rt: RuntimeSpec, row: dict) -> tuple[RuntimeSpec, int]:
    new = replace(rt, tp=int(row["tp"]), pp=int(row["pp"]), ep=int(row["ep"]), attention_dp=bool(row["attention_dp"]),
                  dp=1, disaggregation=None)
    if row["mode"] == "disagg":
        d = Disaggregation(int(row["prefill_devices"]), int(row["decode_devices"]))
        return replace(new, disaggregation=d), d.devices
    return new, int(row["devices"])


def _same_formats(model) -> bool:
    try:
        plain = resolve_model(model.id, weights=model.quant.weight.name, kv=model.quant.kv.name)
    except InputError:
        return False
    return plain.quant == model.quant and plain.num_layers == model.num_layers


def replan(layers: Layers, evaluate, name: str) -> tuple[Scenario, object, dict]:
    """(scenario, its evaluation, what was re-planned) for a combination that cannot run (module docstring).

    `evaluate(scenario)` prices a candidate (raises on failure); InputError when no searched
    deployment runs."""
    from hundredx.search.run import search

    if not _same_formats(layers.model):
        raise InputError("model", layers.model.id, "cannot re-plan: the model is not its catalog id with named formats")
    question = _question(layers)
    result = search(question, _space(layers, question))
    old = degrees(layers.runtime, layers.devices)
    last = "no searched deployment meets the limits"
    for row in _preferred(result.top, layers.runtime):
        rt, devices = _runtime(layers.runtime, row)
        try:
            scn = replace(layers, runtime=rt, devices=devices).scenario(False, name)
            ev = evaluate(scn)
        except Exception as exc:  # Infeasible or InputError: try the next row
            last = str(exc)
            continue
        new = degrees(rt, devices)
        info = {"from": old, "to": new, "change": describe(old, new), "searched_rows": result.rows,
                "feasible_rows": result.feasible, "search_s": result.seconds.get("search", math.nan),
                "search_value": row["output_tokens_per_s_per_device"]}
        return replace(scn, adjustments=scn.adjustments + (f"re-planned by the search: {info['change']}",)), ev, info
    raise InputError("kernel", name, f"re-plan found no deployment that runs: {last}")


__all__ = ["TOP_ROWS", "degrees", "describe", "replan"]

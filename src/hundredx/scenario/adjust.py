"""`runnable(...)`: the nearest runnable version of a combination that cannot run as written.

Used for the mixed stacks of a decomposition (model of A with the kernel layer of B on the chip
of A), never for a user's own stack. Each change is recorded as a note:
  attention kernel not available on the chip      -> "auto"
  ep on a dense model                              -> 1
  ep that does not divide the experts              -> the largest divisor <= ep
  tp that does not divide the heads                -> the largest divisor <= tp
  devices not a whole number of replicas           -> whole replicas (P/D pools rounded up)
  ep > tp*dp                                       -> the largest expert divisor <= tp*dp
  weights + KV of one sequence do not fit          -> double tp inside the scale-up domain, else
                                                      double pp (up to _MAX_GROW times)
"""

from __future__ import annotations

from dataclasses import replace

from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, RuntimeSpec

_MAX_GROW = 8


def _largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, max(min(n, at_most), 1) + 1) if n % d == 0)


def _kernel_runs(kernel: str, chip) -> bool:
    from hundredx.kernel.catalog import attention_kernels_on

    return kernel in attention_kernels_on(chip)


def _parallelism(model, rt: RuntimeSpec, notes: list) -> RuntimeSpec:
    moe = model.moe
    if rt.ep > 1 and moe is None:
        notes.append(f"kernel.ep {rt.ep} -> 1 ({model.id} is dense)")
        rt = replace(rt, ep=1)
    elif moe is not None and moe.num_experts % rt.ep:
        ep = _largest_divisor(moe.num_experts, rt.ep)
        notes.append(f"kernel.ep {rt.ep} -> {ep} (must divide {moe.num_experts} experts)")
        rt = replace(rt, ep=ep)
    if not rt.attention_dp and model.num_heads % rt.tp:
        tp = _largest_divisor(model.num_heads, rt.tp)
        notes.append(f"kernel.tp {rt.tp} -> {tp} (must divide {model.num_heads} heads)")
        rt = replace(rt, tp=tp)
    return rt


def _whole_replicas(rt: RuntimeSpec, devices: int, notes: list) -> tuple[RuntimeSpec, int]:
    """(runtime with its dp, devices) in whole replicas."""
    replica = rt.replica_devices
    d = rt.disaggregation
    if d is not None:
        pre = (d.prefill_tp or rt.tp) * rt.pp * rt.cp
        p, dd = -(-d.prefill_devices // pre) * pre, -(-d.decode_devices // replica) * replica
        if (p, dd) != (d.prefill_devices, d.decode_devices):
            notes.append(f"kernel.disaggregation {d.prefill_devices}+{d.decode_devices} -> {p}+{dd} devices "
                         f"(whole replicas of {replica})")
        return replace(rt, dp=dd // replica, disaggregation=Disaggregation(p, dd, d.prefill_tp)), p + dd
    if devices % replica:
        fixed = replica * max(1, devices // replica)
        notes.append(f"chip.devices {devices} -> {fixed} (whole replicas of tp*pp*cp = {replica})")
        devices = fixed
    return replace(rt, dp=max(1, devices // replica)), max(devices, replica)


def _fits(model, system_ref, rt: RuntimeSpec, devices: int, isl: int, osl: int) -> bool | None:
    """Whether weights + KV of one sequence fit; None when the stack cannot be built at all."""
    from hundredx.scenario.build import resolve_system
    from hundredx.scenario.memory import memory_use
    from hundredx.scenario.stack import Stack

    try:
        stack = Stack(model, resolve_system(system_ref, devices), rt)
    except InputError:
        return None
    return bool(memory_use(stack, 1, isl, osl).fits.all())


def runnable(model, system_ref, rt: RuntimeSpec, devices: int, isl: int, osl: int):
    """(runtime, devices, notes): the nearest runnable kernel layer and device count (module docstring).
    `system_ref` is what `resolve_system` accepts (the chip layer)."""
    from hundredx.scenario.build import resolve_system

    notes: list[str] = []
    system = resolve_system(system_ref, max(devices, 1))
    if rt.attention_kernel != "auto" and not _kernel_runs(rt.attention_kernel, system.chip):
        notes.append(f"kernel.attention {rt.attention_kernel} -> auto (not available on {system.chip.id})")
        rt = replace(rt, attention_kernel="auto")
    rt = _parallelism(model, rt, notes)
    rt, devices = _whole_replicas(rt, devices, notes)
    if model.moe is not None and rt.ep > rt.tp * rt.dp:
        ep = _largest_divisor(model.moe.num_experts, rt.tp * rt.dp)
        notes.append(f"kernel.ep {rt.ep} -> {ep} (ep <= tp*dp = {rt.tp * rt.dp})")
        rt = replace(rt, ep=ep)
    for _ in range(_MAX_GROW):
        if _fits(model, system_ref, rt, devices, isl, osl) is not False:
            break
        dp = rt.dp
        if (rt.attention_dp or model.num_heads % (2 * rt.tp) == 0) and 2 * rt.tp * rt.cp <= system.scaleup_domain:
            notes.append(f"kernel.tp {rt.tp} -> {2 * rt.tp} (weights + KV of one sequence do not fit)")
            rt = replace(rt, tp=2 * rt.tp)
        elif 2 * rt.pp <= model.num_layers:
            notes.append(f"kernel.pp {rt.pp} -> {2 * rt.pp} (weights + KV of one sequence do not fit)")
            rt = replace(rt, pp=2 * rt.pp)
        else:
            break
        if rt.disaggregation is not None:
            rt, devices = _whole_replicas(rt, devices, notes)
        else:
            devices = rt.replica_devices * dp
            rt = replace(rt, dp=dp)
    return rt, devices, tuple(notes)

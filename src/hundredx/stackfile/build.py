"""Build a runnable `Scenario` (Stack + Workload + pricing/power + disaggregation) from stack-file sections.

Device accounting: a replica is tp*pp*cp devices; `chip.devices` (or, with P/D
disaggregation, prefill_devices + decode_devices) is the deployment; dp = devices / replica
(the decode pool's devices under disaggregation). Errors from the layers are re-raised with
the stack-file field path ("kernel.tp", "chip.devices", "model.weights").

`adjust=True` (used for the mixed stacks of a decomposition, never for a user's own file)
moves a combination that cannot run to the nearest runnable one and records each change:
attention kernel not built for the chip -> "auto"; ep that does not divide the experts (or a
dense model) -> the largest divisor <= ep; tp that does not divide the heads -> the largest
divisor; a device count that is not a multiple of the replica -> whole replicas; weights + KV
of one sequence that do not fit -> double tp inside the scale-up domain, else double pp.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hundredx.errors import InputError
from hundredx.kernel.catalog import attention_kernels_on
from hundredx.kernel.runtime import RuntimeSpec, SpeculativeSpec
from hundredx.predict.memory import memory_use
from hundredx.predict.stack import Stack, Workload
from hundredx.stackfile.sections import ChipSection, Disaggregation, KernelSection, ModelSection, WorkloadSection

_KERNEL_FIELDS = {"tp", "pp", "ep", "dp", "cp", "attention_dp", "attention_kernel", "gemm_library", "fused",
                  "cuda_graphs", "engine", "overlap_comm", "moe_routing", "routing_skew", "chunked_prefill_tokens"}
_MAX_GROW = 8


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one evaluation needs. `batch_auto`: the batch is searched (see decompose.metrics)."""

    stack: Stack
    workload: Workload
    batch_auto: bool
    disaggregation: Disaggregation | None
    price_per_hour: float
    power_w: float
    adjustments: tuple[str, ...] = ()


def _prefixed(exc: InputError, prefix: str) -> InputError:
    name = exc.field
    if name.startswith(("model.", "kernel.", "chip.", "workload.")):
        return exc
    if prefix == "kernel" and name == "attention_kernel":
        name = "attention"
    if name in ("speculative.draft_tokens", "speculative.acceptance"):
        prefix = "kernel"
    if name == "devices":
        prefix = "chip"
    if prefix == "model" and name in ("model", "format"):
        name = "id" if name == "model" else "weights"
    return InputError(f"{prefix}.{name}", exc.value, exc.why)


def load_model_section(m: ModelSection):
    from hundredx.model import load_model

    try:
        return load_model(m.id, weights=m.weights, kv=m.kv, act=m.act)
    except InputError as exc:
        raise _prefixed(exc, "model") from None


def _devices(k: KernelSection, c: ChipSection) -> tuple[int, int]:
    """(total devices, dp of the (decode) stack)."""
    replica = k.replica_devices
    if k.disaggregation is not None:
        d = k.disaggregation
        for key in ("prefill_devices", "decode_devices"):
            if getattr(d, key) % replica:
                raise InputError(f"kernel.disaggregation.{key}", getattr(d, key),
                                 f"must be a multiple of the replica tp*pp*cp = {replica}")
        total = d.prefill_devices + d.decode_devices
        if c.devices is not None and c.devices != total:
            raise InputError("chip.devices", c.devices, f"prefill_devices + decode_devices = {total}")
        return total, d.decode_devices // replica
    if c.devices is None:
        dp = k.dp or 1
        return replica * dp, dp
    if c.devices % replica:
        raise InputError("chip.devices", c.devices, f"not a multiple of tp*pp*cp = {k.tp}*{k.pp}*{k.cp} = {replica}")
    dp = c.devices // replica
    if k.dp is not None and k.dp != dp:
        raise InputError("kernel.dp", k.dp, f"chip.devices / (tp*pp*cp) = {c.devices}/{replica} = {dp}")
    return c.devices, dp


def _system(c: ChipSection, total: int):
    from hundredx.chip import load_system

    try:
        system = load_system(c.system, devices=total)
    except InputError as exc:
        field = "chip.devices" if exc.field == "devices" else f"chip.{'system' if exc.field != 'chip' else 'chip'}"
        raise InputError(field, exc.value, exc.why) from None
    if c.nodes is not None and total > c.nodes * system.devices_per_node:
        raise InputError("chip.nodes", c.nodes, f"{total} devices need {-(-total // system.devices_per_node)} nodes "
                         f"of {system.devices_per_node} ({system.id})")
    return system


def runtime_of(k: KernelSection, dp: int) -> RuntimeSpec:
    spec = None
    if k.speculative is not None:
        spec = SpeculativeSpec(k.speculative.method, k.speculative.draft_tokens, k.speculative.acceptance)
    try:
        return RuntimeSpec(tp=k.tp, pp=k.pp, ep=k.ep, dp=dp, cp=k.cp, attention_dp=k.attention_dp,
                           attention_kernel=k.attention, gemm_library=k.gemm_library, fused=k.fused,
                           cuda_graphs=k.cuda_graphs, engine=k.engine, overlap_comm=k.overlap_comm,
                           moe_routing=k.moe_routing, routing_skew=k.routing_skew, speculative=spec,
                           chunked_prefill_tokens=k.chunked_prefill_tokens)
    except InputError as exc:
        raise _prefixed(exc, "kernel") from None


def _workload(w: WorkloadSection, dp: int) -> tuple[Workload, bool]:
    auto = w.batch == "auto" and w.concurrency is None
    batch = 1 if auto else (w.batch if w.concurrency is None else max(1, -(-w.concurrency // dp)))
    try:
        return Workload(isl=w.isl, osl=w.osl, batch=batch, ttft_limit_s=w.ttft_limit_s,
                        tpot_limit_s=w.tpot_limit_s), auto
    except InputError as exc:
        raise _prefixed(exc, "workload") from None


def build_scenario(m: ModelSection, k: KernelSection, c: ChipSection, w: WorkloadSection, model=None,
                   adjust: bool = False) -> Scenario:
    """A runnable Scenario; InputError naming the stack-file field when the sections cannot run together."""
    model = model if model is not None else load_model_section(m)
    notes: tuple[str, ...] = ()
    if adjust:
        k, c, notes = adjust_sections(model, k, c, w)
    if not k.attention_dp and model.num_heads % k.tp:
        raise InputError("kernel.tp", k.tp, f"must divide the {model.num_heads} attention heads of {model.id} "
                         "(or set kernel.attention_dp)")
    total, dp = _devices(k, c)
    system = _system(c, total)
    runtime = runtime_of(k, dp)
    try:
        stack = Stack(model, system, runtime)
    except InputError as exc:
        raise _prefixed(exc, "kernel") from None
    workload, auto = _workload(w, dp)
    chip = system.chip
    price = chip.price_per_hour if w.price_per_hour is None else w.price_per_hour
    power = chip.tdp_w if w.power_w is None else w.power_w
    return Scenario(stack, workload, auto, k.disaggregation, price, power, notes)


def _largest_divisor(n: int, at_most: int) -> int:
    return max(d for d in range(1, max(min(n, at_most), 1) + 1) if n % d == 0)


def _fix_parallelism(model, k: KernelSection, notes: list) -> KernelSection:
    moe = getattr(model, "moe", None)
    if k.ep > 1 and moe is None:
        notes.append(f"kernel.ep {k.ep} -> 1 ({model.id} is dense)")
        k = replace(k, ep=1)
    elif moe is not None and moe.num_experts % k.ep:
        ep = _largest_divisor(moe.num_experts, k.ep)
        notes.append(f"kernel.ep {k.ep} -> {ep} (must divide {moe.num_experts} experts)")
        k = replace(k, ep=ep)
    if not k.attention_dp and model.num_heads % k.tp:
        tp = _largest_divisor(model.num_heads, k.tp)
        notes.append(f"kernel.tp {k.tp} -> {tp} (must divide {model.num_heads} heads)")
        k = replace(k, tp=tp)
    return k


def _fit_devices(k: KernelSection, c: ChipSection, notes: list) -> tuple[KernelSection, ChipSection]:
    replica = k.replica_devices
    if k.disaggregation is not None:
        d = k.disaggregation
        p, dd = (-(-d.prefill_devices // replica) * replica, -(-d.decode_devices // replica) * replica)
        if (p, dd) != (d.prefill_devices, d.decode_devices):
            notes.append(f"kernel.disaggregation {d.prefill_devices}+{d.decode_devices} -> {p}+{dd} devices "
                         f"(whole replicas of {replica})")
        return replace(k, dp=None, disaggregation=Disaggregation(p, dd)), replace(c, devices=None, nodes=None)
    if c.devices is not None and c.devices % replica:
        dp = max(1, c.devices // replica)
        notes.append(f"chip.devices {c.devices} -> {replica * dp} (whole replicas of tp*pp*cp = {replica})")
        c = replace(c, devices=replica * dp)
    dp = (c.devices // replica) if c.devices is not None else (k.dp or 1)
    return replace(k, dp=None), replace(c, devices=replica * dp, nodes=None)


def _dp(k: KernelSection, c: ChipSection) -> int:
    if k.disaggregation is not None:
        return max(1, k.disaggregation.decode_devices // k.replica_devices)
    return max(1, (c.devices or k.replica_devices) // k.replica_devices)


def adjust_sections(model, k: KernelSection, c: ChipSection, w: WorkloadSection):
    """Nearest runnable (kernel, chip) sections for `model` (see the module docstring); returns notes too."""
    from hundredx.chip import load_system

    notes: list[str] = []
    system = load_system(c.system)
    chip = system.chip
    if k.attention != "auto" and k.attention not in attention_kernels_on(chip):
        notes.append(f"kernel.attention {k.attention} -> auto (not available on {chip.id})")
        k = replace(k, attention="auto")
    k = _fix_parallelism(model, k, notes)
    k, c = _fit_devices(k, c, notes)
    if model.moe is not None and k.ep > k.tp * _dp(k, c):
        ep = _largest_divisor(model.moe.num_experts, k.tp * _dp(k, c))
        notes.append(f"kernel.ep {k.ep} -> {ep} (ep <= tp*dp = {k.tp * _dp(k, c)})")
        k = replace(k, ep=ep)
    for _ in range(_MAX_GROW):
        rt = runtime_of(k, _dp(k, c))
        try:
            stack = Stack(model, load_system(c.system, devices=rt.devices), rt)
        except InputError:
            break
        if bool(memory_use(stack, 1, w.isl, w.osl).fits.all()):
            break
        dp = rt.dp
        if (k.attention_dp or model.num_heads % (2 * k.tp) == 0) and 2 * k.tp * k.cp <= system.scaleup_domain:
            notes.append(f"kernel.tp {k.tp} -> {2 * k.tp} (weights + KV of one sequence do not fit)")
            k = replace(k, tp=2 * k.tp)
        elif 2 * k.pp <= model.num_layers:
            notes.append(f"kernel.pp {k.pp} -> {2 * k.pp} (weights + KV of one sequence do not fit)")
            k = replace(k, pp=2 * k.pp)
        else:
            break
        if k.disaggregation is not None:
            k, c = _fit_devices(k, c, notes)
        else:
            c = replace(c, devices=k.replica_devices * dp)
    return k, c, tuple(notes)

"""What-if models and chips for the search's model and chip axes: `dataclasses.replace` on loaded specs.

Model changes (`model_variant(spec, {"expert_width": 1024, ...})`), each on the spec's own
sub-spec; the id records them ("deepseek-ai/DeepSeek-V3[expert_width=1024]"):
  expert_width, num_experts, top_k, num_shared     MoESpec (a MoE model only)
  num_kv_heads                                     AttentionSpec; kind mha / gqa / mqa follows K vs N
  num_heads                                        AttentionSpec (a multiple of the KV heads)
  kv_lora_rank                                     the MLA latent rank (an MLA model only)
  attention_kind  gqa | mha | mqa                  softmax attention over N heads of the model's
                                                   query/key width (MLA: nope + rope, value width v);
                                                   K = num_kv_heads when also given, else N/8 for gqa
  num_layers                                       fewer layers drop the last ones; more repeat the last
  hidden_size, intermediate_size                   d_model, dense FFN width
Chip changes (`chip_variant(system, {"hbm_bytes_per_s": 8e12, ...})`) on the ChipSpec and its
SystemSpec; the chip keeps its id (its fitted kernel efficiencies still apply) and lists each
change in `sources`:
  <class>_flops_per_s   dense peak of a compute class (bf16, fp16, fp8, int8, fp6, fp4, tf32, fp32)
  hbm_bytes_per_s, hbm_bytes                       memory bandwidth and capacity
  scaleup_bytes_per_s, scaleout_bytes_per_s        link bandwidth per direction per chip (chip and system)
  scaleup_domain                                   devices on one scale-up fabric (switched systems)
  sram_bytes is refused: no kernel model reads on-chip SRAM (ChipSpec.l2_bytes) yet, so the axis
  would change no prediction.
`parse_what_ifs(["model.expert_width=1024", "chip.hbm_bytes_per_s=8e12"])` reads the CLI's form.
Parameter counts for the search's constraints: model.accounting.params_total / params_active.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hundredx.errors import InputError
from hundredx.model.accounting import params_active, params_total
from hundredx.model.spec import AttentionSpec, ModelSpec

MOE_KEYS = ("expert_width", "num_experts", "top_k", "num_shared")
MODEL_KEYS = MOE_KEYS + ("num_kv_heads", "num_heads", "kv_lora_rank", "attention_kind", "num_layers", "hidden_size",
                         "intermediate_size")
FLOP_CLASSES = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp6", "fp4")
CHIP_KEYS = tuple(f"{c}_flops_per_s" for c in FLOP_CLASSES) + (
    "hbm_bytes_per_s", "hbm_bytes", "scaleup_bytes_per_s", "scaleout_bytes_per_s", "scaleup_domain")
_INT_LIMIT = 1 << 24


def _count(field: str, value: Any, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= _INT_LIMIT:
        raise InputError(field, value, f"must be an integer in [{lo}, {_INT_LIMIT}]")
    return value


def _moe(spec: ModelSpec, key: str, value: Any) -> ModelSpec:
    if spec.moe is None:
        raise InputError(f"model.{key}", value, f"{spec.id} is dense: it has no experts to change")
    n = _count(f"model.{key}", value, 0 if key == "num_shared" else 1)
    fields: dict[str, Any] = {key: n}
    if key == "num_shared" and n:
        fields["shared_width"] = spec.moe.shared_width or spec.moe.expert_width
    try:
        moe = replace(spec.moe, **fields)
    except ValueError as exc:
        raise InputError(f"model.{key}", value, str(exc)) from None
    return replace(spec, moe=moe)


def _kind_for(heads: int, kv_heads: int) -> str:
    return "mha" if kv_heads == heads else "mqa" if kv_heads == 1 else "gqa"


def _attention(spec: ModelSpec, key: str, value: Any, kv_heads: int | None) -> ModelSpec:
    a = spec.attention
    if key == "kv_lora_rank":
        if a.kind != "mla":
            raise InputError("model.kv_lora_rank", value, f"{spec.id} has {a.kind} attention, not MLA")
        return replace(spec, attention=replace(a, kv_lora_rank=_count("model.kv_lora_rank", value)))
    if key == "attention_kind":
        if value not in ("gqa", "mha", "mqa"):
            raise InputError("model.attention_kind", value, "must be gqa, mha or mqa")
        n = a.num_heads
        k = {"mha": n, "mqa": 1}.get(value, kv_heads or max(n // 8, 1))
        if a.kind not in ("mla", "mha", "gqa", "mqa"):
            raise InputError("model.attention_kind", value, f"{spec.id} has {a.kind} attention")
        qk, v = (a.qk_head_dim, a.v_head_dim) if a.kind == "mla" else (a.head_dim, a.head_dim_v)
        new = AttentionSpec(kind=_kind_for(n, k), num_heads=n, num_kv_heads=k, head_dim=qk, head_dim_v=v,
                            qkv_bias=a.qkv_bias, o_bias=a.o_bias, qk_norm=a.qk_norm, output_gate=a.output_gate,
                            sinks=a.sinks, sliding_window=a.sliding_window, chunk_size=a.chunk_size)
        return replace(spec, attention=new)
    if a.kind not in ("mha", "gqa", "mqa"):
        raise InputError(f"model.{key}", value, f"{spec.id} has {a.kind} attention: change attention_kind first")
    n = _count("model.num_heads", value) if key == "num_heads" else a.num_heads
    k = _count("model.num_kv_heads", value) if key == "num_kv_heads" else a.num_kv_heads
    if n % k:
        raise InputError(f"model.{key}", value, f"{n} query heads are not a multiple of {k} KV heads")
    return replace(spec, attention=replace(a, num_heads=n, num_kv_heads=k, kind=_kind_for(n, k)))


def _layers(spec: ModelSpec, value: Any) -> ModelSpec:
    n = _count("model.num_layers", value)
    kinds = spec.layers[:n] + (spec.layers[-1],) * max(n - spec.num_layers, 0)
    return replace(spec, num_layers=n, layers=kinds)


def model_variant(spec: ModelSpec, changes: dict[str, Any]) -> ModelSpec:
    """`spec` with the module docstring's changes applied in a fixed order; the id names them."""
    unknown = sorted(set(changes) - set(MODEL_KEYS))
    if unknown:
        raise InputError(f"model.{unknown[0]}", changes[unknown[0]],
                         f"not a model axis; known: {', '.join(MODEL_KEYS)}")
    if not changes:
        return spec
    out = spec
    if "attention_kind" in changes:  # first: the head counts below apply to the new kind
        out = _attention(out, "attention_kind", changes["attention_kind"], changes.get("num_kv_heads"))
    for key in MODEL_KEYS:
        if key not in changes or key == "attention_kind":
            continue
        value = changes[key]
        if key in MOE_KEYS:
            out = _moe(out, key, value)
        elif key in ("num_kv_heads", "num_heads", "kv_lora_rank"):
            if not (key == "num_kv_heads" and "attention_kind" in changes):
                out = _attention(out, key, value, None)
        elif key == "num_layers":
            out = _layers(out, value)
        else:
            sized: dict[str, Any] = {key: _count(f"model.{key}", value)}
            out = replace(out, **sized)
    label = ",".join(f"{k}={changes[k]}" for k in MODEL_KEYS if k in changes)
    return replace(out, id=f"{spec.id}[{label}]", source=f"{spec.source} + what-if {label}")


def parameters(spec: ModelSpec) -> tuple[float, float]:
    """(total, active) parameters of a model (model/accounting.py)."""
    return float(params_total(spec)), float(params_active(spec))


def _number(field: str, value: Any, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo < float(value) < 1e30:
        raise InputError(field, value, f"must be a number in ({lo:g}, 1e30)")
    return float(value)


def chip_variant(system, changes: dict[str, Any]):
    """`system` (a SystemSpec) with the module docstring's chip changes applied."""
    if "sram_bytes" in changes:
        raise InputError("chip.sram_bytes", changes["sram_bytes"],
                         "no kernel model reads on-chip SRAM (ChipSpec.l2_bytes) yet: the axis would change nothing")
    unknown = sorted(set(changes) - set(CHIP_KEYS))
    if unknown:
        raise InputError(f"chip.{unknown[0]}", changes[unknown[0]], f"not a chip axis; known: {', '.join(CHIP_KEYS)}")
    if not changes:
        return system
    chip, sys_changes = system.chip, {}
    peaks = dict(chip.peak_flops_per_s)
    chip_changes: dict[str, Any] = {}
    for key in CHIP_KEYS:
        if key not in changes:
            continue
        value = changes[key]
        if key.endswith("_flops_per_s"):
            peaks[key.removesuffix("_flops_per_s")] = _number(f"chip.{key}", value)
        elif key == "hbm_bytes_per_s":
            chip_changes["mem_bytes_per_s"] = _number(f"chip.{key}", value)
        elif key == "hbm_bytes":
            chip_changes["mem_bytes"] = _number(f"chip.{key}", value)
        elif key in ("scaleup_bytes_per_s", "scaleout_bytes_per_s"):
            chip_changes[key] = sys_changes[key] = _number(f"chip.{key}", value)
        else:
            if system.topology not in ("switched", "nvl72", "full_mesh"):
                raise InputError("chip.scaleup_domain", value, f"{system.id} is a {system.topology}: its domain "
                                                                "is its torus, not a switch size")
            n = _count("chip.scaleup_domain", value)
            sys_changes.update(scaleup_domain=n, devices_per_node=n)
    label = ",".join(f"{k}={changes[k]:g}" if isinstance(changes[k], float) else f"{k}={changes[k]}"
                     for k in CHIP_KEYS if k in changes)
    chip = replace(chip, peak_flops_per_s=peaks, name=f"{chip.name} [what-if {label}]",
                   sources=tuple(chip.sources) + (f"what-if (hundredx search): {label}",), **chip_changes)
    return replace(system, chip=chip, **sys_changes)


def parse_what_ifs(items: list[str] | tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """({model changes}, {chip changes}) from "model.KEY=VALUE" / "chip.KEY=VALUE" strings."""
    model: dict[str, Any] = {}
    chip: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        section, _, name = key.strip().partition(".")
        if not sep or section not in ("model", "chip") or not name:
            raise InputError("what-if", item, "expected model.KEY=VALUE or chip.KEY=VALUE")
        value: Any = text.strip()
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        (model if section == "model" else chip)[name] = value
    return model, chip


def what_if_args(model_changes: dict[str, Any], chip_changes: dict[str, Any]) -> list[str]:
    """The CLI's --what-if arguments that reproduce these changes."""
    def show(v: Any) -> str:
        return repr(float(v)) if isinstance(v, float) else str(v)

    return ([f"model.{k}={show(model_changes[k])}" for k in MODEL_KEYS if k in model_changes]
            + [f"chip.{k}={show(chip_changes[k])}" for k in CHIP_KEYS if k in chip_changes])


__all__ = ["CHIP_KEYS", "MODEL_KEYS", "chip_variant", "model_variant", "parameters", "parse_what_ifs",
           "what_if_args"]

"""Quantization scheme of a model: number formats of weights, activations and KV cache.

`QuantScheme(weight, act, kv)` plus `expert_weight` (routed-expert weights, e.g. MXFP4 in
gpt-oss, INT4 in Kimi-K2.5) and `base` (the checkpoint dtype, `torch_dtype`: the format of
tensors a quantization leaves alone: embeddings, LM head, norms, router, DeepSeek-V4
compressors).
Defaults come from config.json: `torch_dtype`/`dtype` -> base; `quantization_config`:
`quant_method: fp8` with `weight_block_size [128,128]` -> fp8_block128 (DeepSeek-V3 family,
MiniMax-M2.5), `mxfp4` -> experts in MXFP4 (gpt-oss: attention, router, embeddings,
LM head excluded), compressed-tensors int4 group g -> int4_g<g> on the targeted tensors.
Default activation format (docs/design.md): the weight format when weights are fp8/fp4/int8
(W8A8, W4A4), else the base dtype; int4 weights are weight-only (W4A16).
A GEMM computes in the *less* precise of the two operands' classes, except weight-only int4,
which is dequantized to the activation format (`gemm_compute_class`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hundredx.errors import InputError
from hundredx.formats import NumberFormat, get_format

# precision rank of compute classes: lower = less precise (runs on the faster tensor-core path)
_RANK = {"fp4": 0, "fp6": 1, "fp8": 2, "int8": 2, "bf16": 3, "fp16": 3, "tf32": 4, "fp32": 5}
_LOW_PRECISION = ("fp8", "fp6", "fp4", "int8")


def gemm_compute_class(weight: NumberFormat, act: NumberFormat) -> str:
    """Tensor-core class a GEMM of these operands runs on (W4A16 -> act class, W4A8 -> fp8)."""
    if weight.compute == "int4" or weight.compute not in _RANK:
        return act.compute
    if act.compute not in _LOW_PRECISION:
        return act.compute  # weight-only quantization: dequantize to the activation format
    return weight.compute if _RANK[weight.compute] > _RANK[act.compute] else act.compute


def default_act(weight: NumberFormat, base: NumberFormat) -> NumberFormat:
    """W8A8 / W4A4 when the weight format has its own tensor-core class, else the base dtype."""
    return weight if weight.compute in _LOW_PRECISION else base


@dataclass(frozen=True, slots=True)
class QuantScheme:
    """Formats of weights (non-expert), routed-expert weights, activations, KV cache, base dtype."""

    weight: NumberFormat
    act: NumberFormat
    kv: NumberFormat
    expert_weight: NumberFormat | None = None
    base: NumberFormat = get_format("bf16")
    excluded: tuple[str, ...] = ()
    source: str = "torch_dtype"

    @property
    def experts(self) -> NumberFormat:
        return self.expert_weight or self.weight

    @property
    def gemm_compute(self) -> str:
        """Compute class of the dense (non-expert) GEMMs."""
        return gemm_compute_class(self.weight, self.act)

    @property
    def expert_gemm_compute(self) -> str:
        return gemm_compute_class(self.experts, self.act)

    @property
    def act_quantized(self) -> bool:
        """True when activations are quantized before GEMMs (a quantize op per GEMM input)."""
        return self.act.compute in _LOW_PRECISION

    def to_dict(self) -> dict[str, Any]:
        return {"weight": self.weight.name, "expert_weight": self.experts.name, "act": self.act.name,
                "kv": self.kv.name, "base": self.base.name, "gemm_compute": self.gemm_compute,
                "expert_gemm_compute": self.expert_gemm_compute, "excluded": list(self.excluded),
                "source": self.source}


def _base_format(cfg: dict, outer: dict) -> NumberFormat:
    name = cfg.get("torch_dtype") or cfg.get("dtype") or outer.get("torch_dtype") or outer.get("dtype") or "bfloat16"
    try:
        return get_format(str(name), "config.torch_dtype")
    except InputError:
        return get_format("bf16")


def _int4_group(qc: dict) -> int:
    for group in (qc.get("config_groups") or {}).values():
        weights = (group or {}).get("weights") or {}
        if weights.get("num_bits") == 4 and weights.get("type") == "int":
            return int(weights.get("group_size") or 128)
    return 0


def scheme_from_config(cfg: dict, outer: dict, has_moe: bool) -> QuantScheme:
    """Default scheme from `torch_dtype` and `quantization_config` (see module docstring)."""
    base = _base_format(cfg, outer)
    qc = cfg.get("quantization_config") or outer.get("quantization_config") or {}
    if not isinstance(qc, dict):
        raise InputError("config.quantization_config", str(qc)[:60], "must be a JSON object")
    method = str(qc.get("quant_method", "")).lower()
    excluded: tuple[str, ...]
    weight, experts, excluded, source = base, None, (), "torch_dtype"
    if method == "fp8":
        block = qc.get("weight_block_size")
        weight = get_format("fp8_block128" if block else "fp8")
        excluded = tuple(qc.get("modules_to_not_convert") or
                         ("(none listed; block-fp8 checkpoints keep embeddings, lm_head, norms, router in "
                          "torch_dtype)",))
        source = f"quantization_config fp8 weight_block_size={block}"
        if str(cfg.get("expert_dtype", "")).lower() == "fp4" and has_moe:
            experts = get_format("mxfp4")  # DeepSeek-V4: FP4 E2M1 experts, UE8M0 scale per 32
            source += "; expert_dtype=fp4 (mxfp4)"
    elif method == "mxfp4":
        experts = get_format("mxfp4")
        excluded = tuple(qc.get("modules_to_not_convert") or ())
        source = "quantization_config mxfp4 (routed experts)"
    elif method == "compressed-tensors" and _int4_group(qc):
        group = _int4_group(qc)
        excluded = tuple(str(x) for x in qc.get("ignore") or ())
        if has_moe and any("mlp" in x for x in excluded):
            experts = get_format(f"int4_g{group}")  # dense MLP, attention, shared experts ignored
        else:
            weight = get_format(f"int4_g{group}")
        source = f"quantization_config compressed-tensors int4 group {group}"
    elif method:  # pricing it at torch_dtype would be a silent substitution (docs/robustness.md)
        raise InputError("config.quantization_config.quant_method", qc.get("quant_method"),
                         "not modelled (known: fp8, mxfp4, compressed-tensors int4); "
                         "remove quantization_config to price the torch_dtype weights")
    return QuantScheme(weight=weight, act=default_act(weight, base), kv=base, expert_weight=experts,
                       base=base, excluded=excluded, source=source)


def with_quant(spec: Any, weights: str | None = None, act: str | None = None, kv: str | None = None,
               expert_weights: str | None = None) -> Any:
    """Return `spec` with a replaced QuantScheme; format names go through formats.get_format.

    `weights` sets every quantized weight (dense and expert); `expert_weights` only the routed
    experts. When `weights` is given and `act` is not, act follows the W8A8/W4A4 default.
    """
    q = spec.quant
    if weights is not None:
        w = get_format(weights, "weights")
        q = replace(q, weight=w, expert_weight=None, act=default_act(w, q.base), source=f"user weights={w.name}")
    if expert_weights is not None:
        q = replace(q, expert_weight=get_format(expert_weights, "expert_weights"))
    if act is not None:
        q = replace(q, act=get_format(act, "act"))
    if kv is not None:
        q = replace(q, kv=get_format(kv, "kv"))
    return replace(spec, quant=q)

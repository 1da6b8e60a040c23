"""MODEL layer: ModelSpec from HF config.json, quantization, accounting and the op graph."""

from hundredx.model.accounting import (
    kv_bytes,
    kv_bytes_per_token,
    params_active,
    params_by_class,
    params_total,
    state_bytes_per_seq,
    weight_bytes,
    weight_bytes_by_class,
)
from hundredx.model.graph import build_ops
from hundredx.model.ops import Op
from hundredx.model.quant import QuantScheme, with_quant
from hundredx.model.spec import AttentionSpec, LayerKind, LinearAttnSpec, ModelSpec, MoESpec
from hundredx.model.zoo import list_models, load_model

__all__ = ["AttentionSpec", "LayerKind", "LinearAttnSpec", "ModelSpec", "MoESpec", "Op", "QuantScheme", "build_ops",
           "kv_bytes", "kv_bytes_per_token", "list_models", "load_model", "params_active", "params_by_class",
           "params_total", "state_bytes_per_seq", "weight_bytes", "weight_bytes_by_class", "with_quant"]

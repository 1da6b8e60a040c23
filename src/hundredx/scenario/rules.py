"""The parallelism rules of a runnable stack, written once and vectorized.

`violations(model, system, tp, ep, pp, dp, cp, attention_dp)` returns, per configuration, the
first rule it breaks ("" when it runs) — scalars for one stack, arrays for a sweep
(predict_many, search). `check(model, system, runtime)` raises the first violation of one stack
as `InputError(field, value, why)`. The rules:

  tp     divides the attention heads (not needed under attention-DP, where each rank runs all
         heads for its own sequences);
  ep     1 for a dense model; at most the routed experts and at most tp*dp (the EP group lives
         inside the deployment's ranks); when ep > tp an EP group spans ep/tp replicas, so dp is a
         multiple of ep/tp. An ep that does not divide the experts runs with
         redundant expert slots, as EPLB deployments do (DeepSeek-V3's 256 experts on EP 72); but ep
         divides tp or is a multiple of it (an EP group of 7 over 8 tp ranks has no layout).
  pp     at most the layer count;
  devices tp*pp*cp*dp within the system's `max_devices` (0 = no limit).

`check_context(model, isl, osl)`: a request's isl + osl positions must fit the model's
`max_position_embeddings` (config.json; 0 = not stated, not checked). HF configs count a RoPE
extension in that number already (DeepSeek-V3: YaRN x40 from 4096 = 163840; Llama-3.1: llama3 x8
from 8192 = 131072), so the refusal names the extension that applies, or says that none is
declared (Qwen3's model card offers YaRN to 131072, but only a config.json with rope_scaling
runs it). Returns the note a prediction carries when the context relies on the extension.
"""

from __future__ import annotations

import numpy as np

from hundredx.arrays import ArrayLike
from hundredx.errors import InputError


def _reasons(model, system, tp, ep, pp, dp, cp, attention_dp: bool) -> list[tuple[str, ArrayLike, ArrayLike, str]]:
    """(field, offending mask, value, why) per rule, in order of precedence."""
    heads, layers = model.num_heads, model.num_layers
    experts = model.moe.num_experts if model.moe is not None else 0
    tp, ep, pp, cp = (np.asarray(x) for x in (tp, ep, pp, cp))
    dp = None if dp is None else np.asarray(dp)
    devices = None if dp is None else tp * pp * cp * dp
    out: list[tuple[str, ArrayLike, ArrayLike, str]] = []
    if not attention_dp:
        out.append(("tp", np.mod(heads, tp) != 0, tp,
                    f"must divide the {heads} attention heads of {model.id} (or run attention data-parallel)"))
    if experts == 0:
        out.append(("ep", ep > 1, ep, f"{model.id} is dense: expert parallelism needs an MoE model"))
    else:
        out.append(("ep", ep > experts, ep, f"more expert ranks than the {experts} experts of {model.id}"))
        out.append(("ep", np.where(ep <= tp, np.mod(tp, np.maximum(ep, 1)), np.mod(ep, np.maximum(tp, 1))) != 0, ep,
                    "must divide tp or be a multiple of it (each rank holds a whole share of the expert group)"))
    if dp is not None:
        out.append(("ep", ep > tp * dp, ep, "must be <= tp*dp (the expert-parallel group lives inside the deployment)"))
        out.append(("dp", (ep > tp) & (np.mod(dp, np.maximum(ep // np.maximum(tp, 1), 1)) != 0), dp,
                    "must be a multiple of ep/tp when ep > tp (each EP group is fed by ep/tp whole replicas)"))
    out.append(("pp", pp > layers, pp, f"more pipeline stages than the {layers} layers of {model.id}"))
    if system is not None and dp is not None and system.max_devices:
        out.append(("devices", devices > system.max_devices, devices,
                    f"{system.id} holds at most {system.max_devices} devices"))
    return out


def violations(model, system, tp, ep=1, pp=1, dp=1, cp=1, attention_dp: bool = False):
    """Per configuration the first broken rule as "field: why", or "" (scalar in, str out)."""
    shape = np.broadcast_shapes(*(np.shape(x) for x in (tp, ep, pp, dp, cp)))
    reason = np.full(shape, "", dtype=object)
    for field, bad, _, why in reversed(_reasons(model, system, tp, ep, pp, dp, cp, attention_dp)):
        reason = np.where(bad, f"{field}: {why}", reason)
    return str(reason) if reason.ndim == 0 else reason


def check_shape(model, tp, ep=1, pp=1, attention_dp: bool = False) -> None:
    """The rules that need only the model (tp vs heads, ep vs experts, pp vs layers): checked before
    the devices are counted, so a tp that cannot split the heads is named as such."""
    for field, bad, value, why in _reasons(model, None, tp, ep, pp, None, 1, attention_dp):
        if bool(bad):
            raise InputError(field, int(value), why)


def check(model, system, runtime) -> None:
    """Raise the first rule `runtime` breaks on `model` x `system` (InputError naming the field and value)."""
    rt = runtime
    for field, bad, value, why in _reasons(model, system, rt.tp, rt.ep, rt.pp, rt.dp, rt.cp, rt.attention_dp):
        if bool(bad):
            raise InputError(field, int(value), why)


def check_context(model, isl: int, osl: int) -> str:
    """InputError when isl + osl exceeds the model's positions (module docstring); else the note
    ("" or which RoPE extension the context relies on)."""
    limit, total = int(getattr(model, "max_position_embeddings", 0) or 0), int(isl) + int(osl)
    if limit <= 0:
        return ""
    ext = getattr(model, "rope_scaling", "")
    if total > limit:
        how = (f"the RoPE extension in config.json ({ext}) is already counted" if ext else
               "config.json declares no RoPE extension (add rope_scaling, e.g. YaRN, to run longer contexts)")
        raise InputError("isl+osl", total, f"exceeds max_position_embeddings={limit} of {model.id}; {how}")
    base = _original_positions(ext)
    if ext and base and total > base:
        return f"context {total} > {base} native positions of {model.id}: relies on RoPE {ext} (config.json)"
    return ""


def _original_positions(ext: str) -> int:
    """The native positions of a "kind xF from N" extension text (0 when it names none)."""
    _, _, tail = ext.partition(" from ")
    return int(tail) if tail.isdigit() else 0

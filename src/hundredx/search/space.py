"""The search question and its space: what is asked, which configurations answer it.

`Question`: model, chip, devices, isl/osl, the SLA limits (TTFT, TPOT, request latency; inf =
none), the modes (agg, disagg), an optional target request rate and how many rows to show.

`Space` (frozen): the deployment axes (`DeploymentAxes`), the model axes and the chip axes
(search/whatif.py), the parameter constraints and the seed. `default_space(model, system,
devices)` is the deployment space of any question (docs/search.md, "The default space"):
  tp      powers of two up to min(devices, scale-up domain)      (rules: tp divides the heads)
  pp      1; also 2 and 4 (up to devices and layers) for a model whose weights do not fit one
          scale-up domain (pipeline stages buy memory at the price of bubbles and hops)
  ep      1; for a MoE model also the powers of two from 2 up to min(experts, devices)
  attention_dp  off; for a MoE model on and off (DeepSeek / SGLang DP attention)
  batch   sequences per replica (aggregated) or per decode replica: 1 .. 1024, about 1.5x apart
  prefill_batch  prompts per prefill replica (disaggregated): 1, 2, 4, 8
  weights the model's own, FP8 where the chip has an FP8 path and the weights are 16-bit,
          NVFP4 where it has an FP4 path;  kv  the model's own and FP8 where the chip has FP8
  attention_kernel  auto (per op the fastest catalog kernel that runs there)
  moe_routing  uniform and tile_rounded (token rounding) for a MoE model
  speculative  none; MTP with 1 draft token at acceptance 0.85 for a model with MTP modules
          (DeepSeek-V3 report, arXiv:2412.19437 §5.4.3: "between 85% and 90%"; the low end)
`load_space(path, base)` reads SPACE.yaml (yamlio, pydantic extra=forbid): any deployment axis
replaces the default's; `model:` and `chip:` map axis names to value lists (their product is
searched, `constraints` bound total and active parameters). `space_hash` names a space and
question for the store's manifest (resume refuses another hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hundredx import yamlio
from hundredx.errors import InputError
from hundredx.kernel.runtime import MOE_ROUTING, SpeculativeSpec
from hundredx.search.whatif import CHIP_KEYS, MODEL_KEYS

MODES = ("agg", "disagg")
BATCHES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
PREFILL_BATCHES = (1, 2, 4, 8)
MTP_ACCEPTANCE = 0.85  # DeepSeek-V3 technical report, arXiv:2412.19437v2 §5.4.3 (85-90% second-token acceptance)
MAX_VALUES = 64  # values per axis
NATIVE = "native"


@dataclass(frozen=True, slots=True)
class Question:
    """What the user asks (module docstring). Limits in seconds, inf = no limit."""

    model: str
    chip: str
    devices: int
    isl: int = 1024
    osl: int = 128
    ttft_limit_s: float = math.inf
    tpot_limit_s: float = math.inf
    request_latency_limit_s: float = math.inf
    modes: tuple[str, ...] = MODES
    target_rate_per_s: float | None = None
    top: int = 5

    def __post_init__(self) -> None:
        for name in ("devices", "isl", "osl", "top"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 20:
                raise InputError(name, value, f"must be an integer in [1, {1 << 20}]")
        for name in ("ttft_limit_s", "tpot_limit_s", "request_latency_limit_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise InputError(name.removesuffix("_s").replace("_", "-"), value, "must be a positive number of s")
        if not self.modes or any(m not in MODES for m in self.modes) or len(set(self.modes)) != len(self.modes):
            raise InputError("modes", ",".join(self.modes), f"a comma-separated subset of {','.join(MODES)}")
        rate = self.target_rate_per_s
        if rate is not None and not (isinstance(rate, (int, float)) and 0 < rate < 1e9):
            raise InputError("target-rate", rate, "must be a positive number of requests/s")

    @property
    def limited(self) -> bool:
        return any(math.isfinite(x) for x in (self.ttft_limit_s, self.tpot_limit_s, self.request_latency_limit_s))


@dataclass(frozen=True, slots=True)
class DeploymentAxes:
    """The kernel-layer axes of a search (module docstring); formats: NATIVE = the model's own."""

    tp: tuple[int, ...]
    pp: tuple[int, ...]
    ep: tuple[int, ...]
    attention_dp: tuple[bool, ...]
    batch: tuple[int, ...]
    prefill_batch: tuple[int, ...]
    weights: tuple[str, ...]
    kv: tuple[str, ...]
    attention_kernel: tuple[str, ...]
    moe_routing: tuple[str, ...]
    speculative: tuple[SpeculativeSpec | None, ...]


@dataclass(frozen=True, slots=True)
class Space:
    """Deployment axes, model axes and chip axes (name -> values), parameter constraints, seed."""

    deployment: DeploymentAxes
    model: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    chip: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    total_params: tuple[float, float] = (0.0, math.inf)
    active_params: tuple[float, float] = (0.0, math.inf)
    seed: int = 0
    notes: tuple[str, ...] = field(default=())


def _powers(limit: int, start: int = 1) -> tuple[int, ...]:
    out, x = [], start
    while x <= limit:
        out.append(x)
        x *= 2
    return tuple(out)


def spec_text(spec: SpeculativeSpec | None) -> str:
    """"none" or METHOD:K:ACCEPT, the form of --spec."""
    return "none" if spec is None else f"{spec.method}:{spec.draft_tokens}:{spec.acceptance:g}"


def parse_spec(text: str, field: str = "speculative") -> SpeculativeSpec | None:
    if text == "none":
        return None
    parts = str(text).split(":")
    try:
        return SpeculativeSpec(method=parts[0], draft_tokens=int(parts[1]), acceptance=float(parts[2]))
    except (IndexError, ValueError):
        raise InputError(field, text, "expected none or METHOD:K:ACCEPT, e.g. mtp:1:0.85") from None


def _pipeline(model, system, devices: int) -> tuple[int, ...]:
    from hundredx.model import weight_bytes
    from hundredx.scenario.memory import USABLE_FRACTION

    domain = min(devices, system.scaleup_domain)
    fits = weight_bytes(model) <= domain * system.chip.mem_bytes * USABLE_FRACTION
    return (1,) if fits else _powers(min(4, devices, model.num_layers))


def default_space(model, system, devices: int) -> Space:
    """The deployment space of module docstring for `model` (a ModelSpec) on `system` (a SystemSpec)."""
    moe = model.moe is not None
    chip = system.chip
    weights = [NATIVE]
    if model.quant.weight.bits >= 16 and chip.peak("fp8") > 0:
        weights.append("fp8")
    if chip.peak("fp4") > 0 and model.quant.weight.bits > 4:
        weights.append("nvfp4")
    kv = [NATIVE] + (["fp8"] if chip.peak("fp8") > 0 and model.quant.kv.bits >= 16 else [])
    mtp = any("multi-token-prediction" in note for note in model.not_modelled)
    axes = DeploymentAxes(
        tp=_powers(min(devices, system.scaleup_domain)), pp=_pipeline(model, system, devices),
        ep=(1,) + (_powers(min(model.moe.num_experts, devices), 2) if model.moe is not None else ()),
        attention_dp=(False, True) if moe else (False,), batch=BATCHES, prefill_batch=PREFILL_BATCHES,
        weights=tuple(weights), kv=tuple(kv), attention_kernel=("auto",),
        moe_routing=("uniform", "tile_rounded") if moe else ("uniform",),
        speculative=(None, SpeculativeSpec("mtp", 1, MTP_ACCEPTANCE)) if mtp else (None,))
    return Space(axes)


_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _axis() -> Any:
    return Field(default=None, min_length=1, max_length=MAX_VALUES)



class DeploymentFile(BaseModel):
    """`deployment:` any axis given replaces the default space's (docs/search.md)."""

    model_config = _STRICT
    tp: list[int] | None = _axis()
    pp: list[int] | None = _axis()
    ep: list[int] | None = _axis()
    attention_dp: list[bool] | None = _axis()
    batch: list[int] | None = _axis()
    prefill_batch: list[int] | None = _axis()
    weights: list[str] | None = _axis()
    kv: list[str] | None = _axis()
    attention_kernel: list[str] | None = _axis()
    moe_routing: list[str] | None = _axis()
    speculative: list[str] | None = _axis()


class ConstraintFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    total_params_min: float = Field(default=0.0, ge=0.0)
    total_params_max: float = Field(default=1e16, gt=0.0)
    active_params_min: float = Field(default=0.0, ge=0.0)
    active_params_max: float = Field(default=1e16, gt=0.0)


class SpaceFile(BaseModel):
    """SPACE.yaml: deployment axes, model axes, chip axes, parameter constraints, seed."""

    model_config = _STRICT
    deployment: DeploymentFile = DeploymentFile()
    model: dict[str, list[int | float | str]] = Field(default_factory=dict)
    chip: dict[str, list[int | float]] = Field(default_factory=dict)
    constraints: ConstraintFile = ConstraintFile()
    seed: int = Field(default=0, ge=0, le=2**31)


def _axes(section: dict, known: tuple[str, ...], name: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    for key, values in section.items():
        if key not in known:
            raise InputError(f"{name}.{key}", values, f"not a {name} axis; known: {', '.join(known)}")
        if not 1 <= len(values) <= MAX_VALUES:
            raise InputError(f"{name}.{key}", values, f"give 1 to {MAX_VALUES} values")
    return tuple((k, tuple(section[k])) for k in known if k in section)


def _deployment(base: DeploymentAxes, d: DeploymentFile) -> DeploymentAxes:
    changes: dict[str, Any] = {}
    for key, values in d.model_dump(exclude_none=True).items():
        if key in ("tp", "pp", "ep", "batch", "prefill_batch") and min(values) < 1:
            raise InputError(f"deployment.{key}", values, "every value must be >= 1")
        if key == "moe_routing" and set(values) - set(MOE_ROUTING):
            raise InputError("deployment.moe_routing", values, f"values from {', '.join(MOE_ROUTING)}")
        changes[key] = tuple(parse_spec(v, "deployment.speculative") for v in values) if key == "speculative" \
            else tuple(dict.fromkeys(values))
    return replace(base, **changes)


def load_space(path: str, base: Space) -> Space:
    """`base` (the default space) changed by the SPACE.yaml at `path` (module docstring)."""
    data = yamlio.read(path, "space")
    if not isinstance(data, dict):
        raise InputError("space", path, "a space file is a YAML mapping (deployment, model, chip, constraints)")
    try:
        sf = SpaceFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "space"
        raise InputError(loc, first.get("input", path), first["msg"].removeprefix("Value error, ")) from None
    c = sf.constraints
    return Space(_deployment(base.deployment, sf.deployment), _axes(sf.model, MODEL_KEYS, "model"),
                 _axes(sf.chip, CHIP_KEYS, "chip"), (c.total_params_min, c.total_params_max),
                 (c.active_params_min, c.active_params_max), sf.seed)


def space_hash(question: Question, space: Space) -> str:
    """sha256 of the question (less `top`, which only changes what is shown) and the space."""
    def plain(obj: Any) -> Any:
        if isinstance(obj, SpeculativeSpec):
            return spec_text(obj)
        if isinstance(obj, (list, tuple)):
            return [plain(x) for x in obj]
        if isinstance(obj, dict):
            return {k: plain(v) for k, v in obj.items()}
        return obj if not isinstance(obj, float) or math.isfinite(obj) else str(obj)

    d = asdict(space.deployment)
    d["speculative"] = [spec_text(s) for s in space.deployment.speculative]
    asked = {k: v for k, v in asdict(question).items() if k != "top"}
    text = json.dumps(plain({"question": asked, "deployment": d, "model": space.model,
                             "chip": space.chip, "total": space.total_params, "active": space.active_params,
                             "seed": space.seed}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["DeploymentAxes", "MODES", "NATIVE", "Question", "Space", "default_space", "load_space", "parse_spec",
           "space_hash", "spec_text"]

"""Stack-file sections: parse the `model`, `kernel`, `chip` and `workload` mappings of a YAML stack file.

Each section becomes a frozen dataclass. Parsing is strict: unknown keys, wrong types and
out-of-range values raise `InputError` naming the dotted field path ("kernel.tp") and the
value. The JSON Schema in `hundredx/schemas/stack.schema.json` documents the same fields;
`tests/test_stackfile.py` checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from hundredx.errors import InputError
from hundredx.kernel.runtime import ATTENTION_KERNELS, ENGINES, GEMM_LIBRARIES, MOE_ROUTING

SPEC_METHODS = ("mtp", "draft", "eagle")


def _check_keys(data: Any, path: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise InputError(path, data, "must be a mapping")
    for key in data:
        if key not in allowed:
            raise InputError(f"{path}.{key}", data[key], f"unknown key; allowed: {', '.join(allowed)}")
    return data


def _int(data: dict, path: str, key: str, default, minimum: int = 1):
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{path}.{key}", value, f"must be an integer >= {minimum}")
    return value


def _float(data: dict, path: str, key: str, default: float, lo: float = 0.0, hi: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InputError(f"{path}.{key}", value, "must be a number")
    if value < lo or (hi is not None and value > hi):
        raise InputError(f"{path}.{key}", value, f"must be in [{lo}, {hi if hi is not None else 'inf'}]")
    return float(value)


def _bool(data: dict, path: str, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{path}.{key}", value, "must be true or false")
    return value


def _choice(data: dict, path: str, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise InputError(f"{path}.{key}", value, f"must be one of {', '.join(allowed)}")
    return value


def _str(data: dict, path: str, key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InputError(f"{path}.{key}", value, "must be a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class ModelSection:
    """`model:` zoo id / config path and optional number formats of weights, KV cache, activations."""

    id: str
    weights: str | None = None
    kv: str | None = None
    act: str | None = None

    @staticmethod
    def parse(data: Any) -> "ModelSection":
        if isinstance(data, str):
            data = {"id": data}
        _check_keys(data, "model", ("id", "weights", "kv", "act"))
        if "id" not in data:
            raise InputError("model.id", None, "required: a zoo id, zoo name or config.json path")
        return ModelSection(_str(data, "model", "id"), _str(data, "model", "weights"), _str(data, "model", "kv"),
                            _str(data, "model", "act"))


@dataclass(frozen=True, slots=True)
class Disaggregation:
    """Prefill/decode disaggregation: separate device pools (Splitwise, DistServe, Mooncake)."""

    prefill_devices: int
    decode_devices: int

    @staticmethod
    def parse(data: Any) -> "Disaggregation | None":
        if data is None:
            return None
        path = "kernel.disaggregation"
        _check_keys(data, path, ("prefill_devices", "decode_devices"))
        for key in ("prefill_devices", "decode_devices"):
            if key not in data:
                raise InputError(f"{path}.{key}", None, "required")
        return Disaggregation(_int(data, path, "prefill_devices", 1), _int(data, path, "decode_devices", 1))


@dataclass(frozen=True, slots=True)
class Speculative:
    method: str = "mtp"
    draft_tokens: int = 1
    acceptance: float = 0.7

    @staticmethod
    def parse(data: Any) -> "Speculative | None":
        if data is None:
            return None
        path = "kernel.speculative"
        _check_keys(data, path, ("method", "draft_tokens", "acceptance"))
        return Speculative(_choice(data, path, "method", "mtp", SPEC_METHODS), _int(data, path, "draft_tokens", 1),
                           _float(data, path, "acceptance", 0.7, 0.0, 1.0))


KERNEL_KEYS = ("attention", "fused", "cuda_graphs", "gemm_library", "tp", "pp", "ep", "dp", "cp", "attention_dp",
               "overlap_comm", "disaggregation", "speculative", "moe_routing", "routing_skew", "engine",
               "chunked_prefill_tokens")


@dataclass(frozen=True, slots=True)
class KernelSection:
    """`kernel:` attention kernel, fusion, CUDA graphs, GEMM library, parallelism, MoE routing, etc.

    `dp` None means "derive from chip.devices / (tp*pp*cp)".
    """

    attention: str = "auto"
    fused: bool = True
    cuda_graphs: bool = True
    gemm_library: str = "auto"
    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int | None = None
    cp: int = 1
    attention_dp: bool = False
    overlap_comm: float = 0.0
    disaggregation: Disaggregation | None = None
    speculative: Speculative | None = None
    moe_routing: str = "uniform"
    routing_skew: float = 0.0
    engine: str = "generic"
    chunked_prefill_tokens: int = 8192

    @staticmethod
    def parse(data: Any) -> "KernelSection":
        data = {} if data is None else data
        p = "kernel"
        _check_keys(data, p, KERNEL_KEYS)
        return KernelSection(
            _choice(data, p, "attention", "auto", ATTENTION_KERNELS), _bool(data, p, "fused", True),
            _bool(data, p, "cuda_graphs", True), _choice(data, p, "gemm_library", "auto", GEMM_LIBRARIES),
            _int(data, p, "tp", 1), _int(data, p, "pp", 1), _int(data, p, "ep", 1), _int(data, p, "dp", None),
            _int(data, p, "cp", 1), _bool(data, p, "attention_dp", False),
            _float(data, p, "overlap_comm", 0.0, 0.0, 1.0), Disaggregation.parse(data.get("disaggregation")),
            Speculative.parse(data.get("speculative")), _choice(data, p, "moe_routing", "uniform", MOE_ROUTING),
            _float(data, p, "routing_skew", 0.0), _choice(data, p, "engine", "generic", ENGINES),
            _int(data, p, "chunked_prefill_tokens", 8192))

    @property
    def replica_devices(self) -> int:
        return self.tp * self.pp * self.cp


@dataclass(frozen=True, slots=True)
class ChipSection:
    """`chip:` a chip id (its standard system) or a system id, the device count and node count."""

    system: str
    devices: int | None = None
    nodes: int | None = None

    @staticmethod
    def parse(data: Any) -> "ChipSection":
        if isinstance(data, str):
            data = {"system": data}
        _check_keys(data, "chip", ("chip", "system", "devices", "nodes"))
        if ("chip" in data) == ("system" in data):
            raise InputError("chip", data, "give exactly one of chip.chip (a chip id) or chip.system (a system id)")
        ref = _str(data, "chip", "chip" if "chip" in data else "system")
        return ChipSection(ref, _int(data, "chip", "devices", None), _int(data, "chip", "nodes", None))


WORKLOAD_KEYS = ("isl", "osl", "batch", "concurrency", "ttft_limit_s", "tpot_limit_s", "price_per_hour", "power_w")


@dataclass(frozen=True, slots=True)
class WorkloadSection:
    """`workload:` request shape, batch ("auto" = search for the SLO batch) or concurrency, SLOs, overrides.

    `price_per_hour` (USD per device-hour) and `power_w` (W per device) override the chip
    catalog; they describe the hardware, so a composed stack takes them from the file that
    supplies its chip section.
    """

    isl: int = 1024
    osl: int = 1024
    batch: int | str = "auto"
    concurrency: int | None = None
    ttft_limit_s: float = 0.0
    tpot_limit_s: float = 0.0
    price_per_hour: float | None = None
    power_w: float | None = None

    @staticmethod
    def parse(data: Any) -> "WorkloadSection":
        data = {} if data is None else data
        p = "workload"
        _check_keys(data, p, WORKLOAD_KEYS)
        batch = data.get("batch", "auto")
        if batch != "auto":
            batch = _int(data, p, "batch", 1)
        if "batch" in data and "concurrency" in data:
            raise InputError("workload.concurrency", data["concurrency"], "give batch or concurrency, not both")
        price = _float(data, p, "price_per_hour", 0.0) if "price_per_hour" in data else None
        power = _float(data, p, "power_w", 0.0) if "power_w" in data else None
        return WorkloadSection(_int(data, p, "isl", 1024), _int(data, p, "osl", 1024), batch,
                               _int(data, p, "concurrency", None), _float(data, p, "ttft_limit_s", 0.0),
                               _float(data, p, "tpot_limit_s", 0.0), price, power)


SECTION_TYPES = {"model": ModelSection, "kernel": KernelSection, "chip": ChipSection, "workload": WorkloadSection}
TOP_KEYS = ("name", "description", "model", "kernel", "chip", "workload")


def section_fields(section) -> dict:
    """Flat {field: value} of a section (nested specs as dicts), for diffs and waterfalls."""
    out = {}
    for f in fields(section):
        value = getattr(section, f.name)
        if hasattr(value, "__dataclass_fields__"):
            value = {g.name: getattr(value, g.name) for g in fields(value)}
        out[f.name] = value
    return out

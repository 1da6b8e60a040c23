"""The stack-file format as pydantic models: the one definition of what a stack file may hold.

    name: DeepSeek-R1 on 8x H200, FP8
    model:    {id: deepseek-ai/DeepSeek-R1, weights: fp8_block128, kv: bf16}
    kernel:   {attention: flashmla, tp: 8, ep: 8, gemm_library: deepgemm, overlap_comm: 0.5}
    chip:     {system: hgx-h200-8, devices: 8}
    workload: {isl: 1024, osl: 1024, batch: auto, tpot_limit_s: 0.05}

Every model forbids unknown keys and accepts only the types it names (strict: `tp: "8"` is
refused, `true` is not 1); numbers are finite. `model` may be a bare id and `chip` a bare chip
or system id. The kernel section's nested specs (`speculative`, `disaggregation`, `scheduler`)
are the kernel layer's own dataclasses, validated as they are. Names of kernels, libraries,
formats and chips are checked by the layers when the scenario is built (the catalogs are
extensible, so the schema does not enumerate them). `schema()` is the JSON Schema generated
from these models (`hundredx stack schema`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hundredx.kernel.runtime import Disaggregation, SchedulerSpec, SpeculativeSpec

_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ModelSection(BaseModel):
    """`model:` a zoo id, zoo name or config.json path, and optional number formats."""

    model_config = _CONFIG
    id: str = Field(min_length=1, max_length=4096, description="zoo id, zoo name or config.json path")
    weights: str | None = Field(default=None,
                                description="weight format (bf16, fp8, fp8_block128, nvfp4, mxfp4, int4...)")
    kv: str | None = Field(default=None, description="KV-cache format")
    act: str | None = Field(default=None, description="activation format")
    expert_weights: str | None = Field(default=None, description="routed-expert weight format")


class KernelSection(BaseModel):
    """`kernel:` kernels, fusion, scheduler, parallelism, MoE routing, speculative decoding, P/D pools."""

    model_config = _CONFIG
    attention: str = Field(default="auto",
                           description="attention kernel (fa2, fa3, fa4, flashmla, cudnn, ..., or auto)")
    gemm_library: str = Field(default="auto",
                              description="GEMM library (cublas, cublaslt, cutlass, deepgemm, torch, auto)")
    fused: bool = True
    cuda_graphs: bool = True
    tp: int | None = Field(default=None, ge=1, le=1 << 20,
                           description="tensor parallel degree (default: fill chip.devices)")
    pp: int = Field(default=1, ge=1, le=1 << 20)
    ep: int = Field(default=1, ge=1, le=1 << 20)
    dp: int | None = Field(default=None, ge=1, le=1 << 20,
                           description="data-parallel replicas (default: devices / replica)")
    cp: int = Field(default=1, ge=1, le=1 << 20)
    attention_dp: bool = False
    overlap_comm: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of communication hidden by compute")
    moe_routing: str = "uniform"
    routing_skew: float = Field(default=0.0, ge=0.0, le=100.0)
    expert_placement: str = Field(default="uniform-random", description="busiest-EP-rank load model "
                                  "(kernel/ep_load.py): uniform-random, balanced, eplb")
    engine: str = "generic"
    scheduler: SchedulerSpec | None = None
    speculative: SpeculativeSpec | None = None
    disaggregation: Disaggregation | None = None


class ChipSection(BaseModel):
    """`chip:` exactly one of a chip id (its standard system) or a system id; devices, nodes and
    the chip's price and power (overrides of the catalog, which describe the hardware)."""

    model_config = _CONFIG
    chip: str | None = Field(default=None, min_length=1, max_length=200)
    system: str | None = Field(default=None, min_length=1, max_length=200)
    devices: int | None = Field(default=None, ge=1, le=1 << 20)
    nodes: int | None = Field(default=None, ge=1, le=1 << 20)
    price_per_hour: float | None = Field(default=None, ge=0.0, lt=1e7, description="USD per device-hour")
    power_w: float | None = Field(default=None, ge=0.0, lt=1e7, description="W per device")

    @model_validator(mode="after")
    def _one_ref(self) -> ChipSection:
        if (self.chip is None) == (self.system is None):
            raise ValueError("give exactly one of chip.chip (a chip id) or chip.system (a system id)")
        return self

    @property
    def ref(self) -> str:
        return self.system or self.chip or ""


class WorkloadSection(BaseModel):
    """`workload:` lengths, the batch per replica ("auto": the largest meeting the limits) or a
    concurrency over the deployment, and latency limits (omitted: none)."""

    model_config = _CONFIG
    isl: int = Field(default=1024, ge=1, le=1 << 24)
    osl: int = Field(default=128, ge=1, le=1 << 24)
    batch: int | Literal["auto"] = Field(default="auto", description="sequences per replica, or auto")
    concurrency: int | None = Field(default=None, ge=1, le=1 << 20,
                                    description="requests in flight over the deployment")
    ttft_limit_s: float | None = Field(default=None, gt=0.0)
    tpot_limit_s: float | None = Field(default=None, gt=0.0)

    @field_validator("batch", mode="before")
    @classmethod
    def _int_or_auto(cls, value: Any) -> Any:
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1 << 20):
            return value
        raise ValueError(f"must be an integer in [1, {1 << 20}] or auto")

    @model_validator(mode="after")
    def _batch_or_concurrency(self) -> WorkloadSection:
        if self.concurrency is not None and "batch" in self.model_fields_set:
            raise ValueError("give batch or concurrency, not both")
        return self


class StackFile(BaseModel):
    """One stack file: a model x kernel x chip stack plus the workload it serves."""

    model_config = _CONFIG
    name: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)
    model: ModelSection
    kernel: KernelSection = KernelSection()
    chip: ChipSection
    workload: WorkloadSection = WorkloadSection()

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("model"), str):
                data["model"] = {"id": data["model"]}
            if isinstance(data.get("chip"), str):
                data["chip"] = {"system": data["chip"]}
        return data


class StepFile(BaseModel):
    """A waterfall step file: a name and dotted-path changes (`model.weights: nvfp4`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str | None = Field(default=None, max_length=500)
    changes: dict[str, Any] = Field(min_length=1)


def schema() -> dict:
    """The JSON Schema of a stack file, generated from the models."""
    out = StackFile.model_json_schema()
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "hundredx stack file"
    return out

"""Issue 11 item 4: every catalog chip x op kind runs a native kernel, or the op is refused, or the
substitution / assumption is flagged. Nothing NVIDIA-specific is applied silently elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.chip import load_chip
from hundredx.chip.catalog import list_chips
from hundredx.errors import InputError
from hundredx.kernel import catalog
from hundredx.kernel.attention import attention_time
from hundredx.kernel.comm import library_used_note
from hundredx.kernel.gemm import gemm_time
from hundredx.kernel.grouped_gemm import grouped_gemm_time
from hundredx.kernel.loading import load_params
from hundredx.kernel.memory import memory_time
from hundredx.kernel.platforms import engine_note, grouped_library, platform_of

CHIPS = list_chips()


def _native_or_flagged(ok: bool, note: str, what: str) -> None:
    assert ok or note, f"{what}: neither native nor flagged"


@pytest.mark.parametrize("chip_id", CHIPS)
def test_every_chip_and_op_kind_is_native_refused_or_flagged(chip_id):
    chip = load_chip(chip_id)
    params = load_params(chip)
    assert platform_of(chip).name != "unknown", f"{chip_id} has no software platform"
    for dtype in ("bf16", "fp8", "nvfp4"):  # gemm: the class exists, or the fallback is named
        try:
            t = gemm_time(1024, 1024, 1024, chip, params, dtype)
        except InputError:
            continue  # refused: no path at all
        _native_or_flagged(chip.peak(t.parts["compute_class"]) > 0 and t.parts["compute_class"] in dtype,
                           t.parts["fallback"], f"{chip_id} gemm {dtype}")
    a = attention_time(chip, params, 4, 1024, 1024, 32, 8, 128, causal=True)
    kernel = a.parts["kernel"]
    row = catalog.get("attention", kernel)
    _native_or_flagged(row.runs_on(chip.generation) and row.fused and not row.prior_only, a.parts["notes"],
                       f"{chip_id} attention {kernel}")
    lib = grouped_library(chip)
    g = grouped_gemm_time(chip, params, 4096, 4096, groups=8, tokens_total=256, library=lib)
    _native_or_flagged(catalog.runs_on(lib, chip, "grouped_gemm")[0], g.parts["notes"], f"{chip_id} grouped {lib}")
    m = memory_time(1e8, chip, params)
    assert float(np.asarray(m.time_s)) > 0  # streaming kernels exist on every chip
    for op in ("all_reduce", "moe_dispatch"):
        used = catalog.get("collective", "deepep" if op == "moe_dispatch" else platform_of(chip).collective)
        _native_or_flagged(used.runs_on(chip.generation), library_used_note(op, chip), f"{chip_id} {op}")


@pytest.mark.parametrize("chip_id", CHIPS)
def test_nvidia_mechanisms_only_where_they_belong(chip_id):
    chip = load_chip(chip_id)
    params = load_params(chip)
    p = platform_of(chip)
    unaligned = gemm_time(4096, 4094, 4094, chip, params, "bf16")  # 8188-byte strides: not 16-B aligned
    assert (float(np.min(unaligned.parts["align"])) < 1.0) == (p.name in ("cuda", "rocm"))
    assert p.collective != "nccl" or chip.generation in catalog.NVIDIA
    assert bool(engine_note(chip)) == (p.name not in ("cuda", "rocm"))
    assert bool(library_used_note("all_reduce", chip)) == (p.name not in ("cuda", "rocm"))  # NCCL-fitted ramp
    a = attention_time(chip, params, 1, 4096, 4096, 32, 8, 128)
    assert a.parts["kernel"] != "eager_unfused", f"{chip_id} has no fused attention of its own"


def test_mismatch_finder_names_the_assumptions():
    from hundredx.decompose.mismatch import find_mismatches
    from hundredx.scenario import build

    kinds = {m.kind: m for m in find_mismatches(build("meta-llama/Llama-3.1-8B-Instruct", "tpu-v6e"))}
    assert "analytic prior" in kinds["kernel_assumption"].message and kinds["kernel_assumption"].time_share > 0
    assert "gemm_alignment" not in kinds or "16-byte" not in kinds["gemm_alignment"].message
    h100 = {m.kind for m in find_mismatches(build("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm"))}
    assert "kernel_assumption" not in h100


def test_dispatch_off_deepep_chips_is_flagged_and_payload_follows_the_format():
    from hundredx.kernel.moe_dispatch import token_bytes
    from hundredx.kernel.sharding import dispatch_payload
    from hundredx.predict import predict

    assert [dispatch_payload(f, 0) for f in ("bf16", "fp8", "fp8_block128", "mxfp8", "nvfp4")] == \
        ["bf16", "fp8", "fp8", "mxfp8", "nvfp4"]
    assert float(token_bytes(7168, "nvfp4")) == pytest.approx(7168 * (0.5 + 1 / 16))
    assert float(token_bytes(7168, "mxfp8")) == pytest.approx(7168 * (1 + 1 / 32))
    assert float(token_bytes(7168, "fp8")) == pytest.approx(7168 + 56 * 4)
    p = predict("Qwen/Qwen3-30B-A3B", "tpu-v6e", tp=4, ep=4, attention_dp=True, batch=8, isl=512, osl=16)
    assert any("deepep does not run on tpu-v6e" in f for f in p.mismatches)
    q = predict("Qwen/Qwen3-30B-A3B", "h100-sxm", tp=4, ep=4, attention_dp=True, batch=8, isl=512, osl=16)
    assert not any("deepep does not run" in f for f in q.mismatches)


def test_grouped_gemm_decode_is_priced_by_the_weights_it_streams():
    """Item 6: few tokens per expert (decode, MoE-TP splits) pick the small-M tiles, so the time follows the
    weight bytes of the active experts, not 256-row padded tiles."""
    chip = load_chip("b200")
    params = load_params(chip)
    t = grouped_gemm_time(chip, params, 256, 7168, groups=256, tokens_total=512, dtype="fp8")  # DSV3 down, TP8
    assert float(np.asarray(t.memory_s)) > float(np.asarray(t.compute_s))
    weights = float(np.asarray(t.parts["active_experts"])) * 256 * 7168
    assert float(np.asarray(t.time_s)) < 2.0 * weights / (chip.mem_bytes_per_s * params["gemm.mem_eff"])


def test_sram_dataflow_weights_resident_across_as_many_chips_as_needed():
    from hundredx.predict import predict
    from hundredx.scenario.build import sram_resident_plan

    groq = predict("meta-llama/Llama-3.1-8B-Instruct", "groq-lpu", batch=1, isl=512, osl=64)
    rt_devices = groq.devices
    assert rt_devices * load_chip("groq-lpu").mem_bytes > 16e9  # every weight byte has an SRAM home
    assert any("weights resident in on-chip SRAM" in f for f in groq.mismatches)
    from hundredx.model import load_model

    assert sram_resident_plan(load_model("meta-llama/Llama-3.1-8B-Instruct"), "h100-sxm") is None
    pinned = predict("meta-llama/Llama-3.1-8B-Instruct", "cerebras-wse3", batch=1, isl=512, osl=64)
    assert pinned.devices == 1  # one wafer holds 16 GB

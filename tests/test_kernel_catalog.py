"""kernel/catalog.py: one row per kernel/library, what runs where, and adding a kernel as one row."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hundredx.chip import list_chips, load_chip, load_system
from hundredx.errors import InputError
from hundredx.kernel import catalog
from hundredx.kernel.attention import attention_time
from hundredx.kernel.catalog import EffParam, KernelRow, attention_kernels_on, runs_on
from hundredx.kernel.gemm import gemm_time
from hundredx.kernel.loading import load_params
from hundredx.kernel.params import PARAMS, KernelParams
from hundredx.kernel.runtime import ATTENTION_KERNELS, RuntimeSpec
from hundredx.kernel.transfer import harness_scope
from hundredx.model import load_model
from hundredx.predict import predict
from hundredx.scenario import Stack, Workload

HOPPER = ["fa2", "fa3", "flashmla", "cudnn", "flashinfer", "triton", "sdpa_flash", "sdpa_math", "eager_unfused"]
BLACKWELL = ["fa4", "flashmla", "cudnn", "flashinfer", "triton", "sdpa_flash", "sdpa_math", "eager_unfused"]
CDNA = ["fa2", "aiter", "triton", "sdpa_flash", "sdpa_math", "eager_unfused"]
# the `attention_kernels:` lists of the chip YAMLs before the kernel catalog (2026-11), in order, plus each
# platform's own kernels added for issue 11 (aiter, ragged_paged_attention, dataflow_attention)
BEFORE = {"a100-sxm-80gb": ["fa2", "cudnn", "flashinfer", "triton", "sdpa_flash", "sdpa_math", "eager_unfused"],
          "ascend-910c": ["npu_fusion_attention", "eager_unfused"],
          "cerebras-wse3": ["dataflow_attention", "eager_unfused"],
          "groq-lpu": ["dataflow_attention", "eager_unfused"], "mi300x": CDNA, "mi325x": CDNA, "mi355x": CDNA,
          **{c: HOPPER for c in ("h100-pcie", "h100-sxm", "h20", "h200-sxm", "h800-sxm")},
          **{c: BLACKWELL for c in ("b200", "b300", "gb200", "gb300", "rubin")},
          **{c: ["pallas_flash", "ragged_paged_attention", "eager_unfused"]
             for c in ("tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu-v7")},
          **{c: ["nki_flash", "eager_unfused"] for c in ("trainium2", "trainium3")}}


def test_per_chip_lists_are_the_former_yaml_lists():
    assert sorted(BEFORE) == list_chips()
    for chip_id, kernels in BEFORE.items():
        assert attention_kernels_on(load_chip(chip_id)) == kernels, chip_id


def test_runs_on_by_architecture():
    h100, b200, tpu = load_chip("h100-sxm"), load_chip("b200"), load_chip("tpu-v6e")
    assert runs_on("fa3", h100)[0] and not runs_on("fa3", b200)[0]
    ok, why = runs_on("fa4", h100)
    assert not ok and "blackwell" in why and "hopper" in why
    assert runs_on("flashmla", b200)[0] and runs_on("pallas_flash", tpu)[0] and runs_on("eager_unfused", tpu)[0]
    assert not runs_on("cublas", tpu, "gemm")[0] and runs_on("xla", tpu, "collective")[0]
    assert runs_on("nope", h100) == (False, "nope is not in the kernel catalog")


def test_rows_say_modelled_and_own_their_parameters():
    for row in catalog.rows():
        for p in row.params:
            assert PARAMS[p.name].doc == p.doc and PARAMS[p.name].lo == p.lo and PARAMS[p.name].hi == p.hi
    assert catalog.names("attention", modelled=False) == ()  # every shipped attention row has a model
    prior = [r.name for r in catalog.rows("attention") if r.prior_only]
    assert prior == ["pallas_flash", "ragged_paged_attention", "nki_flash", "npu_fusion_attention", "aiter",
                     "dataflow_attention"]
    assert all(f"attn.eff.{k}" in PARAMS for k in prior)
    flashmla = catalog.get("attention", "flashmla")
    assert (flashmla.max_kv_heads, flashmla.min_head_dim, flashmla.seq_underfill) == (1, 256, False)
    assert catalog.get("collective", "deepep").dispatch_modes == ("normal", "low_latency")
    with pytest.raises(InputError, match="first param"):
        KernelRow("x", "attention", ("hopper",), ("s",), (EffParam("attn.eff.y", 0.5, 0.1, 1.0, "d"),))


def test_runtime_validates_against_the_catalog():
    RuntimeSpec(attention_kernel="flashmla", gemm_library="deepgemm")
    RuntimeSpec(attention_kernel="pallas_flash")  # a platform kernel with an (analytic prior) model
    catalog.register(KernelRow("noeff", "attention", ("tpu",), ("test",), modelled=False))
    try:
        with pytest.raises(InputError, match="attention_kernel"):
            RuntimeSpec(attention_kernel="noeff")  # in the catalog, but no efficiency model
    finally:
        catalog.unregister("attention", "noeff")
    with pytest.raises(InputError, match="gemm_library"):
        RuntimeSpec(gemm_library="hipblaslt")
    assert "auto" in ATTENTION_KERNELS and list(ATTENTION_KERNELS)[0] == "auto"


def test_stack_files_accept_exactly_the_catalog_kernels():
    from hundredx.stackfile import parse_stack

    base = {"model": "meta-llama/Llama-3.1-8B-Instruct", "chip": "h100-sxm"}
    for name in catalog.names("attention", modelled=True):
        assert parse_stack({**base, "kernel": {"attention": name}}).runtime.attention_kernel == name
    with pytest.raises(InputError) as exc:
        parse_stack({**base, "kernel": {"attention": "fa9"}})
    assert exc.value.field == "kernel.attention" and "fa3" in str(exc.value)


def test_platform_kernel_is_fused_and_its_prior_flagged():
    tpu = load_chip("tpu-v6e")
    p = KernelParams.analytic(tpu)
    t = attention_time(tpu, p, 8, 2048, 2048, 32, 8, 128, causal=True)
    eager = attention_time(tpu, p, 8, 2048, 2048, 32, 8, 128, causal=True, kernel="eager_unfused")
    assert t.parts["kernel"] == "pallas_flash" and float(t.time_s) < float(eager.time_s)
    assert "pallas_flash on tpu-v6e: efficiency is an analytic prior" in t.parts["notes"]
    assert eager.parts["notes"] == ""  # asked for explicitly: not a fallback
    stack = Stack(load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("tpu-v6e"), RuntimeSpec(tp=8))
    pred = predict(stack, Workload(isl=512, osl=16, batch=1))
    assert any("on tpu-v6e: efficiency is an analytic prior" in m for m in pred.mismatches)


def test_unmodelled_kernel_is_priced_unfused_and_flagged():
    catalog.register(KernelRow("noeff", "attention", ("tpu",), ("test",), modelled=False),
                     before="pallas_flash")
    original = {k: catalog.get("attention", k) for k in ("pallas_flash", "ragged_paged_attention")}
    try:
        for k in original:
            catalog.unregister("attention", k)
        tpu = load_chip("tpu-v6e")
        p = KernelParams.analytic(tpu)
        t = attention_time(tpu, p, 8, 2048, 2048, 32, 8, 128, causal=True)
        eager = attention_time(tpu, p, 8, 2048, 2048, 32, 8, 128, causal=True, kernel="eager_unfused")
        assert t.parts["kernel"] == "eager_unfused" and float(t.time_s) == float(eager.time_s)
        assert t.parts["notes"] == "attention kernel noeff on tpu-v6e has no efficiency model; priced as eager_unfused"
        with pytest.raises(InputError, match="no efficiency model"):
            attention_time(tpu, p, 8, 2048, 2048, 32, 8, 128, kernel="noeff")
    finally:
        catalog.unregister("attention", "noeff")
        for row in original.values():
            catalog.register(row, before="nki_flash")


def test_gemm_library_off_its_chip_keeps_numbers_and_is_flagged():
    tpu = load_chip("tpu-v6e")
    p = load_params(tpu)
    t = gemm_time(4096, 4096, 4096, tpu, p, "bf16", "cublas")
    # the TPU fit never saw cublas: its harness-dependent parameters at the defaults (kernel/transfer.py)
    unseen = harness_scope(p, "cublas", tpu)[0]
    plain = gemm_time(4096, 4096, 4096, tpu, unseen.replace_values({"gemm.lib.cublas": 1.0}), "bf16", "auto")
    assert float(t.time_s) == float(plain.time_s)  # gemm.lib.cublas (default 1)
    assert t.parts["notes"].startswith("gemm library cublas does not run on tpu-v6e") and t.parts["fallback"] == ""
    assert "does not run" not in gemm_time(4096, 4096, 4096, load_chip("h100-sxm"), p, "bf16", "cublas").parts["notes"]
    stack = Stack(load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("tpu-v6e"),
                  RuntimeSpec(tp=8, gemm_library="cublas"))
    pred = predict(stack, Workload(isl=512, osl=16, batch=1))
    assert any("gemm library cublas does not run on tpu-v6e" in m for m in pred.mismatches)


@pytest.fixture
def toyflash():
    """A throwaway attention kernel: one row (FA3's properties, Hopper) plus its efficiency parameter."""
    row = replace(catalog.get("attention", "fa3"), name="toyflash", sources=("unit test",),
                  params=(EffParam("attn.eff.toyflash", 0.9, 0.02, 1.0, "toyflash: test kernel", "unit test"),))
    catalog.register(row)
    try:
        yield row
    finally:
        catalog.unregister("attention", "toyflash")


def test_adding_a_kernel_is_one_row_plus_its_parameters(toyflash):
    h100 = load_chip("h100-sxm")
    assert attention_kernels_on(h100)[-1] == "toyflash" and "attn.eff.toyflash" in PARAMS
    p = load_params(h100)  # the fitted values plus the new row's analytic default
    args = (h100, p, 8, 4096, 4096, 32, 8, 128, 128, True)
    toy, fa3 = attention_time(*args, kernel="toyflash"), attention_time(*args, kernel="fa3")
    assert toy.parts["kernel"] == "toyflash" and not toy.unsupported
    assert float(toy.compute_s) == pytest.approx(float(fa3.compute_s) * p["attn.eff.fa3"] / 0.9, rel=1e-12)
    assert attention_time(*args).parts["kernel"] == "toyflash"  # the fastest: auto picks it
    model, system = load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("h100-sxm")
    work = Workload(isl=4096, osl=16, batch=8)
    with_toy = predict(Stack(model, system, RuntimeSpec(attention_kernel="toyflash")), work)
    with_fa3 = predict(Stack(model, system, RuntimeSpec(attention_kernel="fa3")), work)
    core = {r["phase"] + r["op"]: r["time_s"] for r in with_toy.breakdown}
    core3 = {r["phase"] + r["op"]: r["time_s"] for r in with_fa3.breakdown}
    assert core["prefillattn.core"] < core3["prefillattn.core"] and with_toy.ttft_s < with_fa3.ttft_s
    twin = attention_time(h100, p.replace_values({"attn.eff.toyflash": p["attn.eff.fa3"]}), *args[2:],
                          kernel="toyflash")
    assert float(twin.time_s) == float(fa3.time_s)  # FA3's row properties and efficiency: FA3's numbers


def test_params_loaded_before_a_row_read_its_default():
    h100 = load_chip("h100-sxm")
    p = load_params(h100)
    row = replace(catalog.get("attention", "fa2"), name="latecomer", sources=("unit test",),
                  params=(EffParam("attn.eff.latecomer", 0.33, 0.02, 1.0, "latecomer: test kernel", "unit test"),))
    catalog.register(row, before="sdpa_flash")
    try:
        assert "attn.eff.latecomer" not in p.values and p["attn.eff.latecomer"] == 0.33
        assert attention_kernels_on(h100).index("latecomer") == attention_kernels_on(h100).index("sdpa_flash") - 1
        assert attention_time(h100, p, 1, 512, 512, 8, 8, 128, kernel="latecomer").parts["kernel"] == "latecomer"
    finally:
        catalog.unregister("attention", "latecomer")
    with pytest.raises(KeyError):
        p["attn.eff.latecomer"]


def test_unregister_removes_the_row_cleanly(toyflash):
    catalog.unregister("attention", "toyflash")
    try:
        assert "toyflash" not in attention_kernels_on(load_chip("h100-sxm")) and "attn.eff.toyflash" not in PARAMS
        with pytest.raises(InputError):
            RuntimeSpec(attention_kernel="toyflash")
        with pytest.raises(InputError, match="not in the kernel catalog"):
            attention_time(load_chip("h100-sxm"), load_params(load_chip("h100-sxm")), 1, 128, 128, 8, 8, 128,
                           kernel="toyflash")
    finally:
        catalog.register(toyflash)  # the fixture unregisters it again
    with pytest.raises(InputError, match="already in the kernel catalog"):
        catalog.register(toyflash)

"""price_ops: the structure-of-arrays pricing of whole op lists must equal pricing op by op.

Grouping ops by kind into one model call, chunking big sweeps, stacking prefill and decode in
one table and the vectorized candidate axes (GEMM tiles, attention kernels) are evaluation
strategies only; these tests pin that they never change a number.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hundredx.kernel.cost as cost_module
from hundredx.chip import load_system
from hundredx.kernel.attention import attention_time
from hundredx.kernel.cost import BOUND_NAMES, op_cost, price_ops
from hundredx.kernel.gemm import CANDIDATE_AXIS_MAX, tile_wave_efficiency
from hundredx.kernel.loading import load_params
from hundredx.kernel.memory import memory_time
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.kernel.sharding import shard_ops
from hundredx.model import build_ops, load_model
from hundredx.model.ops import GemmShape, Op
from hundredx.predict.engine import ForwardStep, forward_cost, forward_costs
from hundredx.scenario import Stack

H100 = load_system("h100-sxm").chip
PARAMS = load_params(H100)


def _device_ops(model_id: str, batch, new_tokens, context, rt: RuntimeSpec):
    model = load_model(model_id)
    ops = build_ops(model, batch, new_tokens, context)
    return shard_ops(ops, rt, model.quant.act.bytes_per_element, model.hidden_size)[0]


def _assert_same(table, i, single):
    for field in ("time_s", "sol_s", "compute_s", "memory_s", "latency_s", "efficiency"):
        np.testing.assert_allclose(getattr(table, field)[i], getattr(single, field), rtol=1e-12, atol=0,
                                   err_msg=f"{table.ops[i].name}.{field}")
    row = table.row(i)
    assert np.array_equal(row.bound, single.bound) and row.kernel == single.kernel and row.fused == single.fused
    assert row.source == single.source and row.fallback == single.fallback


@pytest.mark.parametrize("model_id, rt", [
    ("meta-llama/Llama-3.1-8B-Instruct", RuntimeSpec(tp=2)),
    ("deepseek-ai/DeepSeek-V3", RuntimeSpec(tp=8, ep=8, attention_dp=True)),
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", RuntimeSpec(tp=4, fused=False, cuda_graphs=False)),
    ("google/gemma-3-27b-it", RuntimeSpec(attention_kernel="fa2")),
])
def test_table_equals_op_by_op(model_id, rt):
    ops = _device_ops(model_id, 4, 512, 0, rt) + _device_ops(model_id, 4, 1, 700, rt)
    table = price_ops(ops, H100, rt, PARAMS)
    assert table.time_s.shape == (len(ops),) and table.bound.dtype == np.int8
    kinds = {op.kind for op in ops}
    assert {"gemm", "attention", "memory"} <= kinds
    for i, op in enumerate(ops):
        _assert_same(table, i, op_cost(op, H100, rt, PARAMS))


def test_sweep_table_equals_op_by_op_and_chunking_changes_nothing(monkeypatch):
    rt = RuntimeSpec(tp=4)
    batch = np.array([1.0, 3.0, 64.0, 200.0])
    ops = _device_ops("meta-llama/Llama-3.1-70B-Instruct", batch, 1, np.array([100.0, 5000.0, 2048.0, 9000.0]), rt)
    whole = price_ops(ops, H100, rt, PARAMS)
    assert whole.time_s.shape == (len(ops), 4)
    for i, op in enumerate(ops):
        _assert_same(whole, i, op_cost(op, H100, rt, PARAMS))
    monkeypatch.setattr(cost_module, "CHUNK_ELEMENTS", 4)  # one op per model call
    chunked = price_ops(ops, H100, rt, PARAMS)
    np.testing.assert_array_equal(chunked.time_s, whole.time_s)
    np.testing.assert_array_equal(chunked.bound, whole.bound)


def test_rows_slice_the_table():
    rt = RuntimeSpec()
    ops = _device_ops("meta-llama/Llama-3.1-8B-Instruct", 2, 1, 100, rt)
    table = price_ops(ops, H100, rt, PARAMS)
    part = table.rows(2, 5)
    assert part.ops == ops[2:5] and part.time_s.shape == (3,)
    np.testing.assert_array_equal(part.time_s, table.time_s[2:5])
    assert str(BOUND_NAMES[part.bound[0]]) == table.row(2).bound


def test_forward_costs_shares_one_table_and_matches_forward_cost():
    stack = Stack(load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("h100-sxm"), RuntimeSpec(tp=2))
    prefill, decode = forward_costs(stack, [ForwardStep(8, 1024, 0), ForwardStep(8, 1, 1088)])
    for step, both in (((8, 1024, 0), prefill), ((8, 1, 1088), decode)):
        alone = forward_cost(stack, *step)
        assert both.time_s == pytest.approx(alone.time_s, rel=1e-12)
        assert [r.name for r in both.records] == [r.name for r in alone.records]
        for key in alone.by_bound:
            assert both.by_bound[key] == pytest.approx(alone.by_bound[key], rel=1e-12, abs=1e-18)


def test_forward_costs_keeps_a_scalar_step_scalar_beside_a_sweep():
    stack = Stack(load_model("meta-llama/Llama-3.1-8B-Instruct"), load_system("h100-sxm"), RuntimeSpec())
    sweep, single = forward_costs(stack, [ForwardStep(np.array([1.0, 8.0, 32.0]), 1, 512), ForwardStep(8, 1, 512)])
    assert np.shape(sweep.time_s) == (3,) and np.ndim(single.time_s) == 0
    assert float(single.time_s) == pytest.approx(float(sweep.time_s[1]), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.lists(st.integers(1, 70000), min_size=1, max_size=6), n=st.sampled_from([128, 1000, 4096, 28672]),
       k=st.sampled_from([64, 1000, 8192]))
def test_tile_candidates_axis_and_loop_agree(m, n, k):
    m = np.asarray(m, float)
    axis = tile_wave_efficiency(m, n, 132, 128, 128, k, 64)
    import hundredx.kernel.gemm as gemm_module

    saved = gemm_module.CANDIDATE_AXIS_MAX
    gemm_module.CANDIDATE_AXIS_MAX = 0  # force the loop
    try:
        loop = tile_wave_efficiency(m, n, 132, 128, 128, k, 64)
    finally:
        gemm_module.CANDIDATE_AXIS_MAX = saved
    np.testing.assert_allclose(axis, loop, rtol=1e-15)
    assert CANDIDATE_AXIS_MAX > 0 and np.all((axis > 0) & (axis <= 1.0))


def test_memory_time_rows_equal_single_calls():
    sizes = np.array([[1e3], [1e6], [4e8]])
    names, fused = ["rmsnorm", "copy", "gather"], [True, False, False]
    many = memory_time(sizes, H100, PARAMS, names, fused, flops=np.array([[1e3], [0.0], [0.0]]))
    for i, (name, is_fused) in enumerate(zip(names, fused)):
        one = memory_time(sizes[i, 0], H100, PARAMS, name, is_fused, flops=[1e3, 0.0, 0.0][i])
        assert float(many.time_s[i, 0]) == pytest.approx(float(one.time_s), rel=1e-15)
        assert float(many.latency_s[i, 0]) == float(one.latency_s)
    assert many.parts["fused"].tolist() == [[True], [False], [False]]


def test_attention_unavailable_kernel_mixes_fused_and_unfused_candidates():
    chip = H100
    args = (chip, PARAMS, 4, 2048, 2048, 32, 8, 128, 128, True)
    requested = attention_time(*args, kernel="eager_unfused")  # unfused, available as a fallback path
    auto = attention_time(*args, kernel="auto")
    assert requested.parts["kernel"] in ("eager_unfused", "sdpa_math") or requested.unsupported
    assert float(auto.time_s) <= float(requested.time_s)
    # a chip with fewer kernels (CDNA: fa2, triton, sdpa_flash fused; sdpa_math, eager unfused): asking for a
    # missing kernel considers fused and unfused candidates
    from dataclasses import replace

    from hundredx.kernel.catalog import attention_kernels_on

    small = replace(chip, generation="cdna3")
    mixed = attention_time(small, PARAMS, np.array([1.0, 64.0]), np.array([1.0, 4096.0]), np.array([100.0, 4096.0]),
                           32, 8, 128, 128, np.array([False, True]), kernel="fa3")
    assert "not available" in mixed.unsupported
    fa2 = attention_time(small, PARAMS, np.array([1.0, 64.0]), np.array([1.0, 4096.0]), np.array([100.0, 4096.0]),
                         32, 8, 128, 128, np.array([False, True]), kernel="fa2")
    assert np.all(mixed.time_s <= fa2.time_s + 1e-18)
    assert set(np.ravel(mixed.parts["kernel"]).tolist()) <= set(attention_kernels_on(small)) - {"fa3"}


def test_op_replace_matches_dataclasses_replace():
    from dataclasses import replace

    op = Op(name="x", group="g", block="ffn", count=2.0, flops=10.0, bytes_read=5.0, bytes_written=3.0,
            weight_bytes=1.0, shape=GemmShape(2.0, 3.0, 4.0))
    assert op.replace(flops=1.5, count=4.0) == replace(op, flops=1.5, count=4.0)
    assert op.shape.replace(n=1.5, k=2.0) == replace(op.shape, n=1.5, k=2.0)
    with pytest.raises(ValueError, match="negative"):
        op.replace(count=-1.0)


def test_auto_attention_runs_flashmla_only_on_a_shared_latent():
    """FlashMLA runs one latent KV head (MLA absorbed 576/512, V4 MQA 512): auto must not pick it for
    GQA prefill/decode or the expanded MLA prefill, where FA3 is the kernel engines run."""
    def kernels(model_id, step):
        model = load_model(model_id)
        ops = shard_ops(build_ops(model, *step), RuntimeSpec(), 2, model.hidden_size)[0]
        table = price_ops(ops, H100, RuntimeSpec(), PARAMS)
        return {(op.shape.heads_kv, table.kernel[i]) for i, op in enumerate(ops) if op.kind == "attention"}

    assert kernels("meta-llama/Llama-3.1-8B-Instruct", (8, 1024, 0)) == {(8, "fa3")}
    assert kernels("meta-llama/Llama-3.1-8B-Instruct", (8, 1, 2000)) == {(8, "fa3")}
    assert kernels("deepseek-ai/DeepSeek-V3", (8, 1024, 0)) == {(128, "fa3")}  # expanded prefill
    assert kernels("deepseek-ai/DeepSeek-V3", (8, 1, 2000)) == {(1, "flashmla")}  # absorbed decode
    forced = attention_time(H100, PARAMS, 8, 1024, 1024, 32, 8, 128, 128, True, kernel="flashmla")
    assert forced.parts["kernel"] == "flashmla" and np.isfinite(forced.time_s)  # an explicit request is honoured


def test_fastest_picks_the_smallest_candidate_ties_to_the_earlier():
    from hundredx.arrays import fastest

    times = np.array([[3.0, 1.0, 2.0], [1.0, 1.0, 5.0], [2.0, 0.5, 2.0]])
    pick = fastest(times)
    assert pick.index.tolist() == [1, 2, 0]
    np.testing.assert_array_equal(pick.take(times), [1.0, 0.5, 2.0])
    assert pick.take(np.array([7.0, 8.0, 9.0])).tolist() == [7.0, 8.0, 9.0]  # shared by every candidate
    assert pick.names(["a", "b", "c"]).tolist() == ["b", "c", "a"]
    assert fastest(np.array([4.0, 2.0])).names(["x", "y"]) == "y"

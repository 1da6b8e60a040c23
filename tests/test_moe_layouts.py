"""MoE layouts as engines record them: moe_tp x moe_ep = tp x dp, attention-DP, the collectives of each layout."""

from __future__ import annotations

import pytest

from hundredx.errors import InputError
from hundredx.kernel.runtime import PoolSpec, RuntimeSpec
from hundredx.kernel.sharding import shard_ops
from hundredx.model import build_ops, load_model
from hundredx.scenario.pools import pool_degrees

DSV3 = "deepseek-ai/DeepSeek-V3"


@pytest.fixture(scope="module")
def dsv3():
    return load_model(DSV3)


def _layer(dsv3, rt: RuntimeSpec, batch: int = 64):
    ops, comms = shard_ops(build_ops(dsv3, batch, 1, 1024), rt, 1.0, dsv3.hidden_size)
    names = {c.name.split(".")[-1] for c in comms}
    experts = [op for op in ops if op.kind == "grouped_gemm" and op.group == "full/moe"]
    return ops, names, experts


def test_runtime_moe_tp_is_checked_against_tp_and_ep():
    assert RuntimeSpec(tp=8, ep=2, moe_tp=4).moe_tp == 4
    with pytest.raises(InputError, match="moe_tp"):
        RuntimeSpec(tp=8, ep=2, moe_tp=8)


def test_pool_layouts_map_onto_the_parallel_degrees():
    args, notes = pool_degrees(PoolSpec(tp=1, attention_dp=8, moe_tp=8))  # TRT-LLM attention DP + MoE TP8
    assert (args["tp"], args["ep"], args["attention_dp"]) == (8, 1, True) and not notes
    args, _ = pool_degrees(PoolSpec(tp=8, moe_ep=8))  # TP8 attention, EP8 experts
    assert (args["tp"], args["ep"], args["attention_dp"]) == (8, 8, False)
    args, notes = pool_degrees(PoolSpec(tp=2, attention_dp=4, moe_ep=8))
    assert args["tp"] == 8 and args["attention_dp"] and notes  # the hybrid is named, not hidden


def test_each_layout_prices_the_collectives_it_needs(dsv3):
    _, tp_only, _ = _layer(dsv3, RuntimeSpec(tp=8))
    assert "moe_all_reduce" in tp_only and "dispatch" not in tp_only
    _, dp_tp, _ = _layer(dsv3, RuntimeSpec(tp=8, attention_dp=True))  # attention DP8, MoE TP8
    assert {"moe_tp_all_gather", "moe_tp_reduce_scatter"} <= dp_tp and "moe_all_reduce" not in dp_tp
    _, dp_ep, _ = _layer(dsv3, RuntimeSpec(tp=8, ep=8, attention_dp=True))  # attention DP8, MoE EP8
    assert {"dispatch", "combine"} <= dp_ep and "moe_tp_all_gather" not in dp_ep
    _, hybrid, _ = _layer(dsv3, RuntimeSpec(tp=8, ep=2, attention_dp=True))  # MoE TP4 x EP2
    assert {"dispatch", "moe_tp_all_gather"} <= hybrid


def test_moe_tp_splits_each_expert_while_ep_splits_the_experts(dsv3):
    _, _, tp8 = _layer(dsv3, RuntimeSpec(tp=8, attention_dp=True), batch=512)
    _, _, ep8 = _layer(dsv3, RuntimeSpec(tp=8, ep=8, attention_dp=True, expert_placement="balanced"), batch=512)
    up_tp, up_ep = (next(op for op in ops if op.shape.stage == "up") for ops in (tp8, ep8))
    assert up_tp.shape.n == pytest.approx(up_ep.shape.n / 8)  # each expert 1/8 as wide
    assert up_tp.shape.groups == pytest.approx(up_ep.shape.groups * 8)  # all 256 experts on every rank
    assert up_tp.flops == pytest.approx(up_ep.flops, rel=1e-6)  # the same work per rank
    # at this batch nearly every expert is touched: both layouts read about 1/8 of the expert weights per rank
    assert up_tp.weight_bytes == pytest.approx(up_ep.weight_bytes, rel=0.05)

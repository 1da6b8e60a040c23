"""Issue 11 item (b): the busiest expert-parallel rank's load (kernel/ep_load.py), used by predict."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.kernel.ep_load import PLACEMENTS, max_rank_load_factor
from hundredx.kernel.runtime import EXPERT_PLACEMENTS, RuntimeSpec
from hundredx.kernel.sharding import routing_imbalance


@pytest.mark.parametrize("slots,ep", [(256, 8), (1024, 8), (1024, 32), (8192, 64), (4096, 4), (512, 16)])
def test_factor_matches_a_multinomial_monte_carlo(slots, ep):
    rng = np.random.default_rng(1)
    loads = rng.multinomial(slots, [1.0 / ep] * ep, size=20000).max(axis=1)
    simulated = loads.mean() / (slots / ep)
    assert float(max_rank_load_factor(slots, ep)) == pytest.approx(simulated, rel=0.02)


def test_factor_goes_to_one_as_tokens_per_expert_grow():
    slots = np.array([1e2, 1e3, 1e4, 1e5, 1e6, 1e8])
    f = max_rank_load_factor(slots, 16)
    assert np.all(np.diff(f) < 0) and f[0] > 1.3 and f[-1] == pytest.approx(1.0, abs=1e-3)
    assert float(max_rank_load_factor(1e3, 1)) == 1.0  # one rank: nothing to balance
    assert float(max_rank_load_factor(1, 64)) <= 64.0  # capped: one rank can hold every slot, no more


def test_placements():
    assert PLACEMENTS == EXPERT_PLACEMENTS
    assert float(max_rank_load_factor(512, 8, "balanced")) == 1.0
    skewed = float(max_rank_load_factor(512, 8, "uniform-random", skew=0.2))
    eplb = float(max_rank_load_factor(512, 8, "eplb", skew=0.2))
    assert eplb == pytest.approx(float(max_rank_load_factor(512, 8)))  # EPLB removes the skew, not the noise
    assert 1.0 < eplb < skewed
    rt = RuntimeSpec(tp=8, ep=8, expert_placement="balanced", routing_skew=0.2)
    assert float(routing_imbalance(rt, 8, 512)) == pytest.approx(1 + 0.2 * np.sqrt(np.log(8)))


def test_predict_uses_the_busiest_rank_and_states_the_model():
    from hundredx.predict import predict

    kw = dict(tp=8, ep=8, attention_dp=True, isl=512, osl=16)
    preds = {pl: predict("Qwen/Qwen3-30B-A3B", "h100-sxm", batch=256, expert_placement=pl, **kw) for pl in PLACEMENTS}
    assert preds["balanced"].tpot_s < preds["uniform-random"].tpot_s
    assert preds["eplb"].tpot_s == pytest.approx(preds["uniform-random"].tpot_s)  # no skew: nothing to rebalance
    for pl, p in preds.items():
        assert any(f"expert placement {pl}" in m and "ASSUMPTION" in m for m in p.mismatches)
    dense = predict("Qwen/Qwen3-8B", "h100-sxm", tp=8, batch=8, isl=512, osl=16)
    assert not any("expert placement" in m for m in dense.mismatches)
    one = predict("Qwen/Qwen3-30B-A3B", "h100-sxm", tp=1, batch=8, isl=512, osl=16)
    assert not any("expert placement" in m for m in one.mismatches)


def test_stack_file_and_cli_take_the_placement(tmp_path):
    from typer.testing import CliRunner

    from hundredx.cli import app

    runner = CliRunner()
    args = ["predict", "--model", "Qwen/Qwen3-30B-A3B", "--chip", "h100-sxm", "--tp", "8", "--ep", "8", "--batch", "64",
            "--isl", "512", "--osl", "16"]
    res = runner.invoke(app, args + ["--expert-placement", "nope"])
    assert res.exit_code == 2 and "expert_placement" in res.output
    assert runner.invoke(app, args + ["--expert-placement", "eplb"]).exit_code == 0
    from hundredx.stackfile import load_stack

    path = tmp_path / "moe.yaml"
    path.write_text("model: {id: Qwen/Qwen3-30B-A3B}\nkernel: {tp: 8, ep: 8, expert_placement: balanced}\n"
                    "chip: {system: hgx-h100-8, devices: 8}\nworkload: {isl: 512, osl: 16, batch: 8}\n")
    assert load_stack(path).runtime.expert_placement == "balanced"
    path.write_text(path.read_text().replace("balanced", "nope"))
    with pytest.raises(Exception, match="expert_placement"):
        load_stack(path)


def test_sharded_expert_work_is_the_mean_rank_times_the_factor():
    from hundredx.kernel.sharding import shard_ops
    from hundredx.model import build_ops, load_model

    model = load_model("Qwen/Qwen3-30B-A3B")
    ops = build_ops(model, 4, 64, 0)
    devs = {pl: shard_ops(ops, RuntimeSpec(tp=8, ep=8, attention_dp=True, expert_placement=pl), 2.0,
                          model.hidden_size) for pl in ("balanced", "uniform-random")}
    slots = 4 * 64 * model.moe.top_k  # tokens x top_k reaching the EP group (ep = tp: one replica's tokens)
    factor = float(max_rank_load_factor(slots, 8))
    up = {pl: next(o for o in dev if o.kind == "grouped_gemm") for pl, (dev, _) in devs.items()}
    assert up["uniform-random"].flops == pytest.approx(up["balanced"].flops * factor, rel=1e-9)
    disp = {pl: next(c for c in comms if c.op == "moe_dispatch") for pl, (_, comms) in devs.items()}
    assert disp["uniform-random"].moe.tokens == pytest.approx(disp["balanced"].moe.tokens * factor, rel=1e-9)


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_scalar_and_array_paths_agree(placement):
    slots, ep = np.array([1.0, 37.0, 512.0, 1e6, np.inf]), np.array([1.0, 2.0, 8.0, 64.0, 8.0])
    arr = max_rank_load_factor(slots, ep, placement, 0.1)
    one = [max_rank_load_factor(float(s), float(e), placement, 0.1) for s, e in zip(slots, ep)]
    assert np.allclose(arr, one, rtol=1e-12)

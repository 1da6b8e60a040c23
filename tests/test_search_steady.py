"""Aggregated search rows carry the closed-loop steady state at their concurrency (search/steady.py).

`predict.steady.closed_loop_arrays` prices every running row of a unit in blocks; each row must be what
`closed_loop` gives its deployment alone (the stack the row's command builds), across tp / pp / ep,
attention-DP, speculative decoding and loads beyond the engine's slots (queueing)."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.predict.steady import closed_loop
from hundredx.scenario import build
from hundredx.search import Question, default_space, load_space
from hundredx.search.executors import evaluate_unit
from hundredx.search.units import base_specs, unit_specs, units

SPACES = {
    "deepseek-ai/DeepSeek-V3": ("h200-sxm", 16, "deployment: {tp: [1, 2, 8], pp: [1, 2], ep: [1, 8, 16], kv: [fp8],\n"
                                "  moe_routing: [uniform], batch: [1, 8, 64, 512], prefill_batch: [1]}\n"),
    "meta-llama/Llama-3.1-70B-Instruct": ("h100-sxm", 8, "deployment: {tp: [2, 4, 8], pp: [1, 2, 4],\n"
                                          "  batch: [1, 16, 128, 1024], prefill_batch: [1]}\n"),
}


def _rows(tmp_path, model: str):
    chip, devices, text = SPACES[model]
    q = Question(model, chip, devices, 2000, 500, modes=("agg",))
    path = tmp_path / "space.yaml"
    path.write_text(text)
    spec, system = base_specs(q)
    space = load_space(str(path), default_space(spec, system, devices))
    for unit in units(q, space)[0]:
        yield q, unit, evaluate_unit(q, space, unit)


@pytest.mark.parametrize("model", sorted(SPACES))
def test_agg_rows_are_the_closed_loop_of_their_deployment_alone(tmp_path, model):
    checked, specs = 0, set()
    for q, unit, rows in _rows(tmp_path, model):
        spec, system = unit_specs(q, unit)
        runs = np.flatnonzero(rows["runs"])
        assert runs.size and np.all(np.isfinite(rows["ttft_s"][runs]))
        for i in runs[:: max(runs.size // 6, 1)]:
            stack = build(spec, system, devices=int(rows["devices"][i]), tp=int(rows["tp"][i]),
                          pp=int(rows["pp"][i]), ep=int(rows["ep"][i]), attention_dp=bool(rows["attention_dp"][i]),
                          attention_kernel=unit.attention_kernel, moe_routing=unit.moe_routing,
                          speculative=unit.speculative).stack
            alone = closed_loop(stack, q.isl, q.osl, [int(rows["concurrency"][i])]).scalar()
            for k in ("ttft_s", "tpot_s", "output_tokens_per_s_per_device"):
                assert rows[k][i] == pytest.approx(alone[k], rel=1e-9), (k, i, rows["tp"][i], rows["pp"][i])
            assert rows["tokens_per_s_per_user"][i] == pytest.approx(1.0 / alone["tpot_s"], rel=1e-9)
            checked += 1
            specs.add(rows["speculative"][i])
    assert checked >= 10
    if model.startswith("deepseek"):
        assert specs == {"none", "mtp:1:0.85"}


def test_agg_ttft_is_the_in_flight_prefill_not_the_whole_batch_and_the_sla_reads_it(tmp_path):
    from hundredx.predict import predict
    from hundredx.scenario import Workload

    for q, unit, rows in _rows(tmp_path, "meta-llama/Llama-3.1-70B-Instruct"):
        spec, system = unit_specs(q, unit)
        at = np.flatnonzero(rows["runs"] & (rows["batch"] == 128) & (rows["tp"] == 8) & (rows["pp"] == 1))
        assert at.size == 1
        i = int(at[0])
        static = predict(build(spec, system, devices=8, tp=8, workload=Workload(isl=q.isl, osl=q.osl, batch=128)))
        # 128 prompts of 2000 tokens prefilled at once (static) vs one request's chunked prefill in flight
        assert rows["ttft_s"][i] < 0.25 * static.ttft_s
        runs = rows["runs"]
        np.testing.assert_allclose(rows["request_latency_s"][runs],
                                   rows["ttft_s"][runs] + (q.osl - 1) * rows["tpot_s"][runs])
        assert np.all(rows["feasible"] == runs)  # no limits: every running row is feasible


def _pool(rows: dict, i: int, prefix: str, batch: str) -> dict:
    """Row i's prefill ("prefill_") or decode ("") pool as pool_scenarios takes it."""
    return {"tp": int(rows[prefix + "tp"][i]), "pp": int(rows[prefix + "pp"][i]), "ep": int(rows[prefix + "ep"][i]),
            "attention_dp": bool(rows[prefix + "attention_dp"][i]), "batch": int(rows[batch][i])}


def test_disagg_rows_are_the_closed_loop_of_their_pools_alone(tmp_path):
    """A disaggregated row is `predict --disagg P:D --concurrency W_d b_d` of its pools (predict/pools.py's closed
    loop: rate-matched pools, the prefill pool's queueing and the KV transfer in TTFT), not the offline point."""
    from hundredx.predict.pools import pool_scenarios, predict_disaggregated

    q = Question("deepseek-ai/DeepSeek-V3", "h200-sxm", 16, 2000, 500, modes=("disagg",))
    path = tmp_path / "space.yaml"
    path.write_text("deployment: {tp: [2, 8], ep: [8, 16], kv: [fp8], moe_routing: [uniform], speculative: [none],\n"
                    "  batch: [8, 64, 256], prefill_batch: [1, 4]}\n")
    spec, system = base_specs(q)
    space = load_space(str(path), default_space(spec, system, q.devices))
    checked, loaded = 0, 0
    for unit in units(q, space)[0]:
        rows = evaluate_unit(q, space, unit)
        model, _ = unit_specs(q, unit)
        runs = np.flatnonzero(rows["runs"])
        assert runs.size
        for i in runs[:: max(runs.size // 8, 1)]:
            pre, dec, sys_ = pool_scenarios(model, q.chip, int(rows["prefill_devices"][i]),
                                            int(rows["decode_devices"][i]), _pool(rows, i, "prefill_", "prefill_batch"),
                                            _pool(rows, i, "", "batch"), q.isl, q.osl, kv="fp8")
            alone = predict_disaggregated(pre, dec, sys_, concurrency=int(rows["concurrency"][i]))
            offline = predict_disaggregated(pre, dec, sys_)
            for k in ("ttft_s", "tpot_s", "output_tokens_per_s_per_device", "request_rate_per_s"):
                assert rows[k][i] == pytest.approx(alone[k], rel=1e-9), (k, i)
            loaded += rows["ttft_s"][i] > offline["ttft_s"] * 1.001  # queueing / one-prompt prefill moved TTFT
            checked += 1
    assert checked >= 8 and loaded >= 1

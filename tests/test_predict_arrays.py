"""predict_arrays / price_replicas: one code path with predict, proven on sampled rows.

Each structure gets a random table of configurations that straddle every once-per-call choice of
the layers (DeepEP low-latency vs normal mode, pipeline hops inside vs across the scale-up domain,
tensor parallelism beyond one node, ep > tp, speculative decoding); every sampled row must equal
`predict` on the same stack to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.kernel.runtime import SpeculativeSpec
from hundredx.predict import predict
from hundredx.predict.many import predict_arrays
from hundredx.scenario import Workload, build

L8, L70 = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"
DSV3, Q30 = "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B"

STRUCTURES = [
    (L8, "h100-sxm", {}, dict(tp=[1, 2, 4, 8], pp=[1, 2, 4], ep=[1])),
    (L70, "h100-sxm", {"weights": "fp8", "kv": "fp8"}, dict(tp=[2, 4, 8, 16], pp=[1, 2, 4], ep=[1])),
    (Q30, "h100-sxm", {}, dict(tp=[1, 2, 4], pp=[1, 2], ep=[1, 2, 4, 8])),
    (DSV3, "h200-sxm", {}, dict(tp=[4, 8, 16], pp=[1, 2], ep=[1, 8, 16])),
    (DSV3, "h200-sxm", {"attention_dp": True}, dict(tp=[4, 8, 16], pp=[1], ep=[8, 16, 32])),
    (DSV3, "h200-sxm", {"attention_dp": True, "kv": "fp8",
                        "speculative": SpeculativeSpec("mtp", 1, 0.85), "moe_routing": "tile_rounded"},
     dict(tp=[8], pp=[1, 2], ep=[8, 16])),
]


def _table(axes: dict, rng, n: int = 120) -> dict:
    tp = rng.choice(axes["tp"], n)
    pp = rng.choice(axes["pp"], n)
    ep = rng.choice(axes["ep"], n)
    dp = np.maximum(ep // tp, 1) * rng.choice([1, 2], n)
    batch = rng.choice([1, 2, 3, 8, 16, 64, 100, 128, 129, 200, 256, 700, 1024, 1100], n)
    isl = rng.choice([1, 64, 1024, 4000], n)
    osl = rng.choice([2, 128, 1000], n)
    return {k: v.astype(float) for k, v in dict(tp=tp, pp=pp, ep=ep, dp=dp, batch=batch, isl=isl, osl=osl).items()}


@pytest.mark.parametrize("model, chip, knobs, axes", STRUCTURES, ids=[f"{s[0].split('/')[1]}-{i}"
                                                                      for i, s in enumerate(STRUCTURES)])
def test_predict_arrays_equals_predict(model, chip, knobs, axes):
    rng = np.random.default_rng(7)
    t = _table(axes, rng)
    stack = build(model, chip, tp=1, dp=64, **knobs).stack
    out = predict_arrays(stack, t["tp"], t["ep"], t["pp"], t["dp"], t["batch"], t["isl"], t["osl"], price="valid")
    valid = np.flatnonzero(out["valid"])
    assert valid.size >= 30
    for i in rng.choice(valid, size=min(25, valid.size), replace=False):
        degrees = {k: int(t[k][i]) for k in ("tp", "pp", "ep", "dp")}
        scn = build(model, chip, **degrees, **knobs,
                    workload=Workload(batch=int(t["batch"][i]), isl=int(t["isl"][i]), osl=int(t["osl"][i])))
        p = predict(scn, check_memory=False)
        assert out["ttft_s"][i] == pytest.approx(p.ttft_s, rel=1e-9), (degrees, t["batch"][i], t["isl"][i])
        assert out["tpot_s"][i] == pytest.approx(p.tpot_s, rel=1e-9), (degrees, t["batch"][i], t["isl"][i])
        assert out["output_tokens_per_s_per_device"][i] == pytest.approx(p.output_tokens_per_s_per_device, rel=1e-9)
        assert out["bottleneck"][i] == p.bottleneck
        fits = bool(np.all(p.memory.fits))
        assert bool(out["fits"][i]) == fits


def test_rows_that_cannot_run_are_not_priced():
    stack = build(L8, "h100-sxm", tp=1).stack
    out = predict_arrays(stack, [3.0, 1.0, 1.0], 1.0, 1.0, 1.0, [1.0, 1.0, 4096.0], 100_000.0, 1000.0)
    assert "tp" in out["reason"][0] and not out["valid"][0] and np.isnan(out["tpot_s"][0])
    assert out["reason"][1] == "" and out["tpot_s"][1] > 0
    assert out["reason"][2] == "does not fit in memory" and np.isnan(out["ttft_s"][2])

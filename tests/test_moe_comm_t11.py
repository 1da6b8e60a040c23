"""Issue 11 item 5: node-limited routing reaches predict; dispatch modes refused by name; payload formats."""

from __future__ import annotations

import numpy as np
import pytest

from hundredx.chip import load_system
from hundredx.errors import InputError
from hundredx.kernel.comm import comm_time
from hundredx.model.zoo import load_model
from hundredx.predict import predict


def test_node_limited_routing_caps_the_domains_a_token_reaches():
    system = load_system("hgx-h200-8", devices=64)
    kw = dict(tokens=4096.0, hidden=7168, topk=8, experts=256, dtype="fp8", mode="normal")
    free = comm_time(system, "moe_dispatch", 0.0, 64, **kw)
    limited = comm_time(system, "moe_dispatch", 0.0, 64, routing_groups=(8, 4), **kw)
    direct = comm_time(system, "moe_dispatch", 0.0, 64, topk_groups=4, **kw)
    assert float(np.asarray(limited.time_s)) < float(np.asarray(free.time_s))
    assert float(np.asarray(limited.time_s)) == pytest.approx(float(np.asarray(direct.time_s)))
    m = load_model("deepseek-ai/DeepSeek-V3").moe
    assert (m.n_group, m.topk_group) == (8, 4)
    assert load_model("Qwen/Qwen3-30B-A3B").moe.topk_group == 0


def test_predict_uses_the_model_routing_groups():
    kw = dict(devices=64, tp=8, ep=64, attention_dp=True, batch=256, isl=2048, osl=64)
    p = predict("deepseek-ai/DeepSeek-V3", "h200-sxm", **kw)
    dispatch = sum(b["time_s"] for b in p.breakdown if b["phase"] == "prefill" and b["op"].endswith("dispatch"))
    system = load_system("hgx-h200-8", devices=64)
    tokens = 256 * 2048 / 8  # prefill: each attention-DP rank sends its own sequences' tokens
    one = comm_time(system, "moe_dispatch", 0.0, 64, tokens=tokens, hidden=7168, topk=8, experts=256,
                    dtype="fp8", mode="normal")
    assert dispatch < 58 * float(np.asarray(one.time_s))  # below the unlimited routing of every MoE layer


def test_unknown_dispatch_mode_refused_by_name():
    system = load_system("hgx-h200-8", devices=16)
    with pytest.raises(InputError, match="unknown dispatch mode; known: normal, low_latency"):
        comm_time(system, "moe_dispatch", 0.0, 16, tokens=8.0, hidden=7168, topk=8, mode="fast")


def test_torus_wraparound_only_where_the_slice_has_it():
    from hundredx.chip import topology as topo

    pod, part = load_system("tpu-v6e-256", devices=256), load_system("tpu-v6e-256", devices=64)
    assert topo.wraps(pod, 16) and not topo.wraps(part, 8)  # v5e/v6e: only the pod's full 16-axis closes
    assert float(topo.diameter_hops(part, 64)) == 14.0  # an 8x8 mesh: 7 + 7 hops, not 4 + 4
    assert float(topo.ring_bandwidth(part, 64)) == pytest.approx(0.5 * float(topo.ring_bandwidth(pod, 256)))
    cube = load_system("tpu-v7-9216", devices=64)  # 4x4x4: whole cubes wrap through the OCS
    assert topo.wraps(cube, 4) and float(topo.diameter_hops(cube, 64)) == 6.0
    trn = load_system("trn2-16")
    assert trn.wraparound == "always" and topo.wraps(trn, 4)
    # per-hop latency: a collective over the unwrapped slice pays more steps of scaleup_latency_s
    small = comm_time(part, "all_reduce", 1024.0, 64)
    assert float(np.asarray(small.time_s)) >= 2 * 14 * part.scaleup_latency_s

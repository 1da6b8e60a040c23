"""op_cost dispatch, fusion, CUDA graphs, format fallback; fitting, loading, validation; the `op` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hundredx.calibrate.fitter import fit_cases, save_fitted
from hundredx.kernel.cost import BOUND_NAMES, op_cost
from hundredx.kernel.loading import load_params
from hundredx.kernel.params import KernelParams
from hundredx.kernel.runtime import RuntimeSpec
from hundredx.model.ops import AttentionShape, ExpertGemmShape, GemmShape, MemoryShape, Op, RecurrentShape
from kernel_chips import chip, toy_chip

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "validation"
TOY = toy_chip()
P = KernelParams.analytic(TOY)


def _gemm_op(m, compute="bf16"):
    m = np.asarray(m, float)
    return Op(name="ffn.up", group="dense", block="ffn", count=1.0, flops=2 * m * 4096 * 4096,
              bytes_read=4096 * 4096 * 2 + m * 4096 * 2, bytes_written=m * 4096 * 2, compute=compute,
              shape=GemmShape(m=m, n=4096, k=4096))


def test_gemm_op_cost_vectorized_bounds():
    c = op_cost(_gemm_op([1, 16, 256, 4096, 16384]), TOY, RuntimeSpec(), P)
    assert np.all(c.time_s >= c.sol_s) and np.all((c.efficiency > 0) & (c.efficiency <= 1))
    assert BOUND_NAMES[c.bound[0]] == "memory" and BOUND_NAMES[c.bound[-1]] == "compute"
    assert np.all(np.diff(c.time_s) > 0)  # more tokens never less time
    assert c.source == "analytic"


def test_fp4_falls_back_and_records_it():
    c = op_cost(_gemm_op(4096, "fp4"), TOY, RuntimeSpec(), P)
    assert c.fallback == "fp4->fp8"
    c8 = op_cost(_gemm_op(4096, "fp8"), TOY, RuntimeSpec(), P)
    assert float(c.time_s) == pytest.approx(float(c8.time_s), rel=0.2)


def test_fusion_and_graphs():
    norm = Op(name="attn.norm", group="dense", block="attention", count=1.0, flops=0.0, bytes_read=8e6,
              bytes_written=8e6, shape=MemoryShape(fusable=True))
    eager = op_cost(norm, TOY, RuntimeSpec(fused=False, cuda_graphs=False), P)
    fused = op_cost(norm, TOY, RuntimeSpec(fused=True), P)
    graphed = op_cost(norm, TOY, RuntimeSpec(fused=False, cuda_graphs=True), P)
    assert fused.fused and float(fused.latency_s) == 0 and float(fused.time_s) < 0.2 * float(eager.time_s)
    # a graph replay removes per-op host dispatch: the fixed time drops to at most graph_kernel_s
    assert float(graphed.latency_s) == pytest.approx(min(P["mem.latency_s"], P["graph_kernel_s"]))
    assert float(eager.latency_s) == pytest.approx(max(P["mem.latency_s"], P["launch_s"]))
    assert float(graphed.time_s) <= float(eager.time_s)


def test_attention_grouped_recurrent_dispatch():
    kv = 8 * 4096 * 8 * 256 * 2.0
    a = AttentionShape(phase="decode", variant="gqa", batch=8, seqlen_q=1, seqlen_kv=4096, heads_q=32, heads_kv=8,
                       head_dim=128, head_dim_v=128, causal=False, pairs=4096, kv_tokens_read=4096, kv_read_bytes=kv,
                       kv_bytes_per_token_layer=8 * 256 * 2.0)
    att = Op(name="attn", group="dense", block="attention", count=1.0, flops=4 * 8 * 4096 * 32 * 128.0, bytes_read=kv,
             bytes_written=8 * 32 * 128 * 2.0, shard="heads", shape=a)
    c = op_cost(att, chip("h100-sxm"), RuntimeSpec(attention_kernel="fa3"), KernelParams.analytic(chip("h100-sxm")))
    assert c.bound == "memory" and c.kernel == "fa3"
    experts = ExpertGemmShape(stage="up", n=1536, k=2048, groups=64, top_k=8, tokens=1024, tokens_total=8192,
                              experts_touched=64, expert_width=768)
    gg = Op(name="moe.up", group="moe", block="ffn", count=1.0, flops=2.0 * 8192 * 1536 * 2048, bytes_read=1e8,
            bytes_written=1e7, compute="bf16", shard="experts", shape=experts)
    uni = op_cost(gg, TOY, RuntimeSpec(moe_routing="uniform"), P)
    rnd = op_cost(gg, TOY, RuntimeSpec(moe_routing="random"), P)
    assert float(rnd.time_s) >= float(uni.time_s)
    gdn = RecurrentShape(variant="gated_deltanet", phase="decode", batch=8, seqlen_q=1, value_heads=32, key_heads=16,
                         key_head_dim=128, value_head_dim=128, chunk=0, state_bytes_per_seq=2e6)
    rec = Op(name="gdn", group="linear", block="attention", count=1.0, flops=1e9, bytes_read=1e8, bytes_written=1e8,
             shard="heads", shape=gdn)
    assert float(op_cost(rec, TOY, RuntimeSpec(), P).time_s) > 0


def _cases(kind, n=None):
    lines = (PUBLIC / f"{kind}.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x.strip()][:n]


@pytest.mark.skipif(not PUBLIC.exists(), reason="public validation cases not present")
def test_fit_save_load_roundtrip(tmp_path):
    cases = [c for c in _cases("memory") if c["hardware"] == "h200-sxm"]
    fits = fit_cases(cases, {"h200-sxm": chip("h200-sxm")})
    assert fits["h200-sxm"]["report"]["median_ape"] <= 0.05
    files = save_fitted(fits, tmp_path, {"data": ["memory.jsonl"], "device": "test"})
    params = load_params(chip("h200-sxm"), tmp_path)
    assert params.source.startswith("fitted:") and params.source.endswith(files[0].name)
    assert params.provenance["device"] == "test"
    assert load_params(toy_chip(), tmp_path).source == "analytic"


@pytest.mark.skipif(not PUBLIC.exists(), reason="public validation cases not present")
def test_validate_predicts_public_cases_within_target(monkeypatch):
    import hundredx.validate.kernels as vk
    from hundredx.validate.base import Unpredictable

    monkeypatch.setattr(vk, "_chip", chip)
    cases = _cases("gemm")[::5] + _cases("attention")[::4] + _cases("memory") + _cases("grouped_gemm")
    summary = vk.error_summary(cases)
    for kind, entry in summary.items():
        assert entry["median_ape"] <= 0.10, (kind, entry["worst"])
        assert entry["p90_ape"] <= 0.25, (kind, entry["worst"])
    with pytest.raises(Unpredictable):
        vk.predict_case({"kind": "collective", "hardware": "h100-sxm", "config": {}})


def test_cli_op_commands(monkeypatch):
    import hundredx.cli.op_cmd as op_cmd
    from hundredx.cli.app import app

    monkeypatch.setattr(op_cmd, "_load_chip", chip)
    run = CliRunner().invoke
    r = run(app, ["op", "gemm", "--chip", "h100-sxm", "--m", "4096", "--n", "4096", "--k", "4096", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["bound"] == "compute" and 0 < out["efficiency"] <= 1 and out["source"].startswith(("fitted", "analytic"))
    r = run(app, ["op", "attention", "--chip", "h100-sxm", "--phase", "decode", "--batch", "32", "--seqlen-kv", "4096",
                  "--heads-q", "32", "--heads-kv", "8", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["bound"] == "memory"
    r = run(app, ["op", "grouped-gemm", "--chip", "h800-sxm", "--k", "7168", "--n", "4096", "--tokens-per-group",
                  "512,512", "--dtype", "fp8"])
    assert r.exit_code == 0 and "grouped_gemm" in r.stdout
    r = run(app, ["op", "memory", "--chip", "h100-sxm", "--op", "copy", "--bytes", "1e9", "--json"])
    assert r.exit_code == 0 and 2500 < json.loads(r.stdout)["gbps"] < 3350
    bad = run(app, ["op", "memory", "--chip", "h100-sxm", "--op", "teleport", "--bytes", "1e9"])
    assert bad.exit_code == 2 and "op='teleport'" in bad.output

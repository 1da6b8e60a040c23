"""Disaggregated deployments as written: PoolSpecs, another decode chip, KV fabric, rate matching, validate rows."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.cli import app
from hundredx.errors import InputError
from hundredx.kernel.runtime import Disaggregation, PoolSpec
from hundredx.predict.pools import compose, predict_pools
from hundredx.scenario import build
from hundredx.scenario.build import resolve_system
from hundredx.serve.from_stack import deployment_from_stack
from hundredx.validate.base import Unpredictable
from hundredx.validate.serving import predict_case

L70 = "meta-llama/Llama-3.1-70B-Instruct"
L8 = "meta-llama/Llama-3.1-8B-Instruct"
RUN = CliRunner()


def test_pool_spec_follows_trtllm_moe_mapping():
    pool = PoolSpec(workers=2, tp=1, attention_dp=8, moe_tp=2)
    assert pool.devices == 16 and pool.expert_parallel == 4
    with pytest.raises(InputError, match="moe_tp x moe_ep"):
        PoolSpec(tp=4, attention_dp=2, moe_tp=2, moe_ep=2)
    d = Disaggregation(prefill=PoolSpec(3, tp=4), decode=PoolSpec(1, tp=8))
    assert (d.prefill_devices, d.decode_devices) == (12, 8)
    with pytest.raises(InputError, match="prefill_devices"):
        Disaggregation(prefill_devices=4, prefill=PoolSpec(3, tp=4), decode=PoolSpec(1, tp=8))


def test_throughput_is_the_slower_pool_and_prefill_workers_lift_a_prefill_bound_deployment():
    one = predict_pools(L70, "h200-sxm", Disaggregation(prefill=PoolSpec(1, tp=8, max_batch=1),
                                                        decode=PoolSpec(2, tp=8, max_batch=256)), 8192, 256)
    assert one["limited_by"] == "prefill"
    assert one["request_rate_per_s"] == pytest.approx(1.0 / one["prefill_ttft_s"], rel=1e-6)
    three = predict_pools(L70, "h200-sxm", Disaggregation(prefill=PoolSpec(3, tp=8, max_batch=1),
                                                          decode=PoolSpec(2, tp=8, max_batch=256)), 8192, 256)
    assert three["output_tokens_per_s"] == pytest.approx(3 * one["output_tokens_per_s"], rel=1e-6)
    assert three["devices"] == 40 and one["devices"] == 24


def test_decode_pool_on_another_chip_uses_its_speed_and_the_rdma_link():
    pools = dict(prefill=PoolSpec(1, tp=8), decode=PoolSpec(1, tp=8, max_batch=64))
    same = predict_pools(L70, "h100-sxm", Disaggregation(**pools), 2048, 512, concurrency=64)
    other = predict_pools(L70, "h100-sxm", Disaggregation(prefill=pools["prefill"],
                                                          decode=PoolSpec(1, tp=8, max_batch=64, chip="b200")),
                          2048, 512, concurrency=64)
    assert other["decode_chip"] == "b200" and same["decode_chip"] == "h100-sxm"
    assert other["tpot_s"] < 0.75 * same["tpot_s"]  # B200 decodes faster (HBM3e 8 TB/s vs 3.35 TB/s)
    assert other["prefill_ttft_s"] == pytest.approx(same["prefill_ttft_s"])
    assert other["kv_link"] == "scale-out"


def test_kv_transfer_inside_the_nvlink_domain_streams_layerwise_and_contends():
    system = resolve_system("gb200", 72)
    kv = 2e9  # bytes of one prompt's KV
    args = (system, 1000.0, 0.5, 1.0, 1.0, 4.0, 0.02, 64.0, 1.0, 4.0, kv)
    plain = compose(*args)
    streamed = compose(*args, layers=80)
    assert str(plain["kv_link"]) == "scale-up"
    assert float(streamed["kv_transfer_s"]) < 0.2 * float(plain["kv_transfer_s"])  # hidden under the 0.5 s prefill
    hdx = resolve_system("h100-sxm", 16)  # two 8-GPU nodes: RDMA
    far = compose(hdx, 1000.0, 0.5, 1.0, 1.0, 8.0, 0.02, 64.0, 1.0, 8.0, kv)
    assert str(far["kv_link"]) == "scale-out"
    assert float(far["kv_transfer_s"]) > 2 * float(compose(system, 1000.0, 0.5, 1.0, 1.0, 8.0, 0.02, 64.0, 1.0, 8.0,
                                                           kv)["kv_transfer_s"])  # NVLink vs RDMA
    busy = compose(hdx, 1000.0, 0.5, 8.0, 1.0, 8.0, 0.02, 64.0, 1.0, 8.0, kv)  # 16 req/s on the same links
    assert float(busy["kv_transfer_s"]) > float(far["kv_transfer_s"])


def test_closed_loop_ttft_includes_the_prefill_queue():
    d = Disaggregation(prefill=PoolSpec(1, tp=8), decode=PoolSpec(2, tp=8))
    ttft = [predict_pools(L70, "h200-sxm", d, 4096, 256, concurrency=n)["ttft_s"] for n in (1, 64, 512)]
    assert ttft[0] < ttft[1] < ttft[2]
    light = predict_pools(L70, "h200-sxm", d, 4096, 256, concurrency=1)
    assert light["limited_by"] == "load"  # one client cannot fill either pool
    assert light["ttft_s"] == pytest.approx(light["prefill_one_s"] + light["kv_transfer_s"], rel=0.05)


def _case(decode_workers: int, per_worker: int = 8, tp: int = 8, metric: str = "output_tokens_per_s_per_device"):
    d = {"prefill_workers": 1, "prefill_devices_per_worker": 8,
         "prefill": {"tp_size": 8, "pp_size": 1, "attention_dp_size": 1, "moe_tp_size": 8, "moe_ep_size": 1,
                     "batch_size": 1},
         "decode_workers": decode_workers, "decode_devices_per_worker": per_worker,
         "decode": {"tp_size": tp, "pp_size": 1, "attention_dp_size": 1, "batch_size": 128}}
    return {"id": "t", "kind": "serving", "hardware": "h200-sxm", "n_devices": 8 + decode_workers * per_worker,
            "metric": metric, "value": 1.0,
            "config": {"model": L70, "engine": "trtllm", "weight_dtype": "fp8", "isl": 1024, "osl": 1024,
                       "concurrency": 128 * decode_workers, "disaggregated": d}}


def test_validate_reads_fully_specified_pools_as_written():
    one, two = predict_case(_case(1)), predict_case(_case(2))
    assert one > 0 and two > 0 and one != pytest.approx(two)  # the decode pool's size is read, not one tp
    tp4 = predict_case(_case(1, per_worker=4, tp=4, metric="time_per_output_token_s"))
    tp8 = predict_case(_case(1, metric="time_per_output_token_s"))
    assert tp4 > tp8
    with pytest.raises(Unpredictable, match="devices_per_worker"):
        predict_case(_case(1, per_worker=6))


def test_both_worker_conventions_read_the_same_deployment():
    from hundredx.validate.disagg import parse_pool

    aic = {"decode_workers": 1, "decode_devices_per_worker": 8,
           "decode": {"tp_size": 1, "attention_dp_size": 8, "moe_ep_size": 8, "moe_tp_size": 1}}
    sgl = {"decode_workers": 1, "decode_devices_per_worker": 8,
           "decode": {"tp_size": 8, "attention_dp_size": 8, "moe_ep_size": 8, "moe_tp_size": 1}}
    assert parse_pool(aic, "decode") == parse_pool(sgl, "decode") == PoolSpec(1, tp=1, attention_dp=8, moe_tp=1,
                                                                                moe_ep=8)


def test_stack_with_pools_serves_each_pool_its_own_layout():
    d = Disaggregation(prefill=PoolSpec(2, tp=2), decode=PoolSpec(1, tp=4))
    stack = build(L8, "h100-sxm", disaggregation=d).stack
    assert stack.runtime.tp == 4 and stack.runtime.dp == 1
    dep = deployment_from_stack(stack)
    assert dep.prefill.replicas == 2 and dep.prefill.devices_per_replica == 2 and dep.pool.devices_per_replica == 4
    with pytest.raises(InputError, match="decode worker"):
        build(L8, "h100-sxm", tp=2, disaggregation=d)


def test_predict_cli_decode_chip_and_concurrency():
    base = ["predict", "--model", L8, "--chip", "h100-sxm", "--disagg", "2:2", "--tp", "2", "--isl", "1024",
            "--osl", "128", "--json"]
    r = RUN.invoke(app, [*base, "--decode-chip", "b200", "--concurrency", "32"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["decode_chip"] == "b200" and data["pools"]["decode"]["batch"] == 32
    bad = RUN.invoke(app, ["predict", "--model", L8, "--chip", "h100-sxm", "--decode-chip", "b200"])
    assert bad.exit_code == 2 and "disagg" in bad.output


def test_stack_file_pools_round_trip():
    from hundredx.stackfile import parse_stack, stack_file

    doc = {"model": {"id": L8}, "chip": {"chip": "h100-sxm"}, "workload": {"isl": 1024, "osl": 128, "batch": 8},
           "kernel": {"disaggregation": {"prefill": {"workers": 2, "tp": 2}, "decode": {"workers": 1, "tp": 4}}}}
    scn = parse_stack(doc)
    assert scn.devices == 8 and scn.runtime.disaggregation.prefill == PoolSpec(2, tp=2)
    again = parse_stack(stack_file(scn))
    assert again.runtime.disaggregation == scn.runtime.disaggregation
    bad = {**doc, "kernel": {"disaggregation": {"prefill": {"workers": 2, "tp": 2, "moe_tp": 3},
                                                "decode": {"workers": 1, "tp": 4}}}}
    with pytest.raises(InputError, match="moe_tp"):
        parse_stack(bad)


def test_serve_prefill_pool_on_another_chip():
    base = ["serve", "--model", L8, "--chip", "h100-sxm", "--tp", "1", "--disagg", "2:2", "--rate", "4",
            "--requests", "60", "--isl", "4096", "--osl", "16", "--json"]
    same = json.loads(RUN.invoke(app, base).output)
    fast = RUN.invoke(app, [*base, "--prefill-chip", "b200"])
    assert fast.exit_code == 0, fast.output
    assert json.loads(fast.output)["ttft_p50_s"] < 0.8 * same["ttft_p50_s"]  # B200 prefills faster than H100
    bad = RUN.invoke(app, ["serve", "--model", L8, "--chip", "h100-sxm", "--prefill-chip", "b200"])
    assert bad.exit_code == 2 and "prefill-chip" in bad.output

"""hundredx.search as a library: what-ifs, the space file, units, rows, the store, ranking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hundredx.errors import InputError
from hundredx.model import load_model
from hundredx.predict.pools import compose, pool_scenarios, predict_disaggregated
from hundredx.scenario import build
from hundredx.search import Question, default_space, load_space, query, search
from hundredx.search.space import parse_spec, space_hash
from hundredx.search.units import base_specs, units
from hundredx.search.whatif import chip_variant, model_variant, parameters, parse_what_ifs

DSV3, Q30, L8 = "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B", "meta-llama/Llama-3.1-8B-Instruct"


def _space(tmp_path, text: str, question: Question):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    spec, system = base_specs(question)
    return load_space(str(path), default_space(spec, system, question.devices))


def test_model_variants_change_the_spec_and_its_parameter_count():
    spec = load_model(DSV3)
    wide = model_variant(spec, {"expert_width": 4096, "num_experts": 128})
    assert wide.moe.expert_width == 4096 and wide.moe.num_experts == 128
    assert "expert_width=4096" in wide.id and wide.source.endswith("num_experts=128")
    total, active = parameters(spec)
    assert total == pytest.approx(671e9, rel=0.02)
    assert parameters(wide)[0] == pytest.approx(total, rel=0.02)  # 4096 x 128 holds as many expert weights
    gqa = model_variant(spec, {"attention_kind": "gqa", "num_kv_heads": 8, "num_layers": 30})
    assert gqa.attention.kind == "gqa" and gqa.num_kv_heads == 8 and gqa.num_layers == 30
    with pytest.raises(InputError, match="dense"):
        model_variant(load_model(L8), {"top_k": 2})
    with pytest.raises(InputError, match="not a model axis"):
        model_variant(spec, {"experts": 4})


def test_chip_variants_keep_the_id_and_say_what_changed():
    _, system = base_specs(Question(L8, "h100-sxm", 8))
    fast = chip_variant(system, {"hbm_bytes_per_s": 8e12, "fp8_flops_per_s": 4e15, "scaleup_domain": 72})
    assert fast.chip.id == system.chip.id and fast.chip.mem_bytes_per_s == 8e12
    assert fast.chip.peak("fp8") == 4e15 and fast.scaleup_domain == 72
    assert any("what-if" in s for s in fast.chip.sources)
    with pytest.raises(InputError, match="SRAM"):
        chip_variant(system, {"sram_bytes": 1e9})
    assert parse_what_ifs(["model.top_k=4", "chip.hbm_bytes_per_s=8e12"]) == ({"top_k": 4}, {"hbm_bytes_per_s": 8e12})
    with pytest.raises(InputError, match="what-if"):
        parse_what_ifs(["top_k=4"])


def test_default_space_follows_the_model_and_chip():
    spec, system = base_specs(Question(DSV3, "h200-sxm", 16))
    d = default_space(spec, system, 16).deployment
    assert d.tp == (1, 2, 4, 8) and d.pp == (1,) and 16 in d.ep and d.attention_dp == (False, True)
    assert [parse_spec("none")] + [parse_spec("mtp:1:0.85")] == list(d.speculative)
    spec8, system8 = base_specs(Question(L8, "h100-sxm", 8))
    d8 = default_space(spec8, system8, 8).deployment
    assert d8.ep == (1,) and d8.speculative == (None,) and "fp8" in d8.weights


def test_space_file_is_validated_and_changes_the_hash(tmp_path):
    q = Question(Q30, "h100-sxm", 8, 1024, 128)
    s = _space(tmp_path, "deployment: {tp: [2, 4], batch: [8, 64]}\nmodel: {top_k: [4, 8]}\n", q)
    assert s.deployment.tp == (2, 4) and s.model == (("top_k", (4, 8)),)
    spec, system = base_specs(q)
    assert space_hash(q, s) != space_hash(q, default_space(spec, system, 8))
    for bad, needle in (("deployment: {tp: [0]}", "deployment.tp"), ("deployment: {tpp: [1]}", "tpp"),
                        ("model: {width: [1]}", "model.width"), ("deployment: {tp: '8'}", "deployment.tp")):
        with pytest.raises(InputError, match=needle):
            _space(tmp_path, bad, q)


def test_units_are_the_product_and_constraints_leave_variants_out(tmp_path):
    q = Question(DSV3, "h200-sxm", 16, 1024, 128)
    s = _space(tmp_path, "deployment: {kv: [native], moe_routing: [uniform], speculative: [none]}\n"
                         "model: {expert_width: [1024, 2048, 4096]}\nconstraints: {total_params_max: 7.0e11}\n", q)
    us, skipped = units(q, s)
    assert [dict(u.model_changes)["expert_width"] for u in us] == [1024, 2048]
    assert len(skipped) == 1 and "4096" in skipped[0]


def test_disaggregated_composition_is_rate_matched():
    _, system = base_specs(Question(L8, "h100-sxm", 8))
    out = compose(system, 100.0, 0.5, 2.0, 1.0, 1.0, 0.01, 32.0, 1.0, 1.0, 0.0)
    # prefill pool: 2 prompts / 0.5 s = 4 req/s; decode pool: 32 / (100 x 0.01 s) = 32 req/s
    assert out["request_rate_per_s"] == pytest.approx(4.0) and out["limited_by"] == "prefill"
    assert out["output_tokens_per_s_per_device"] == pytest.approx(4.0 * 100 / 2)
    assert out["ttft_s"] > 0.5 and out["tokens_per_s_per_user"] == pytest.approx(100.0)


def test_predict_disaggregated_builds_each_pool_through_the_builder():
    pre, dec, system = pool_scenarios(L8, "h100-sxm", 2, 6, {"tp": 1, "pp": 1, "ep": 1, "batch": 2},
                                      {"tp": 2, "pp": 1, "ep": 1, "batch": 32}, 1024, 128)
    assert (pre.runtime.dp, dec.runtime.dp, pre.runtime.tp, dec.runtime.tp) == (2, 3, 1, 2)
    d = predict_disaggregated(pre, dec, system)
    assert d["devices"] == 8 and d["pools"]["decode"]["workers"] == 3
    assert d["tpot_s"] > 0 and d["ttft_s"] > d["prefill_ttft_s"]
    with pytest.raises(InputError, match="decode"):
        pool_scenarios(L8, "h100-sxm", 2, 5, {"tp": 1, "batch": 1}, {"tp": 2, "batch": 1}, 1024, 128)


def test_search_in_memory_answers_with_rows_best_and_verdict():
    q = Question(L8, "h100-sxm", 8, 1024, 256, tpot_limit_s=0.02, top=3)
    r = search(q).to_dict()
    assert r["rows"] > 100 and 0 < r["feasible"] <= r["rows"] and r["out"] is None
    assert len(r["top"]) == 3 and r["best"]["agg"] is not None
    assert all(row["tpot_s"] <= 0.02 and row["feasible"] for row in r["top"])
    tops = [row["output_tokens_per_s_per_device"] for row in r["top"]]
    assert tops == sorted(tops, reverse=True) and r["top"][0]["command"].startswith("hundredx predict")
    assert ("aggregated" in r["verdict"]) and "x the output tokens/s per device" in r["verdict"]


def test_target_rate_finds_the_fewest_devices():
    q = Question(L8, "h100-sxm", 32, 1024, 256, tpot_limit_s=0.03, target_rate_per_s=20.0, modes=("agg",))
    r = search(q).to_dict()
    best = r["best"]["agg"]
    assert best["request_rate_per_s"] >= 20.0 and best["devices"] <= 32
    assert all(row["devices"] >= best["devices"] for row in r["top"])
    assert "devices serve 20 requests/s" in r["verdict"]


def _formats(row: dict) -> dict:
    """The row's weight and KV formats as build's knobs (the model's own: None)."""
    native = load_model(L8).quant
    return {k: None if row[k] == getattr(native, attr).name else row[k] for k, attr in (("weights", "weight"),
                                                                                        ("kv", "kv"))}


def _spec_of(row: dict):
    return None if row["speculative"] == "none" else parse_spec(row["speculative"])


def test_target_rate_sizes_replicas_from_the_steady_state():
    """--target-rate: dp is the fewest replicas whose closed loop (b clients each) serves R; one fewer does not."""
    from hundredx.predict.steady import closed_loop

    rate = 100.0
    q = Question(L8, "h100-sxm", 32, 1024, 256, tpot_limit_s=0.03, target_rate_per_s=rate, modes=("agg",), top=8)
    checked = 0
    for row in search(q).to_dict()["top"]:
        tp, dp, batch = int(row["tp"]), int(row["dp"]), int(row["batch"])
        kw = dict(tp=tp, pp=int(row["pp"]), ep=int(row["ep"]), attention_dp=bool(row["attention_dp"]),
                  **_formats(row), speculative=_spec_of(row))
        got = closed_loop(build(L8, "h100-sxm", devices=tp * dp, **kw).stack, q.isl, q.osl, [batch * dp]).scalar()
        assert got["requests_per_s"] == pytest.approx(row["request_rate_per_s"], rel=1e-9)
        assert got["requests_per_s"] >= rate
        if dp > 1:
            fewer = build(L8, "h100-sxm", devices=tp * (dp - 1), **kw).stack
            assert closed_loop(fewer, q.isl, q.osl, [batch * (dp - 1)]).scalar()["requests_per_s"] < rate
            checked += 1
    assert checked >= 3


def _served(row: dict, q: Question, wp: int, wd: int) -> float:
    """Requests/s of `predict --disagg` with the row's pools at wp prefill and wd decode workers, W_d b_d clients."""
    rp, rd = int(row["prefill_tp"] * row["prefill_pp"]), int(row["tp"] * row["pp"])
    pools = [{"tp": int(row[k + "tp"]), "pp": int(row[k + "pp"]), "ep": int(row[k + "ep"]),
              "attention_dp": bool(row[k + "attention_dp"]), "batch": int(row[b])}
             for k, b in (("prefill_", "prefill_batch"), ("", "batch"))]
    pre, dec, system = pool_scenarios(L8, "h100-sxm", wp * rp, wd * rd, *pools, q.isl, q.osl, **_formats(row),
                                      speculative=_spec_of(row))
    return predict_disaggregated(pre, dec, system, concurrency=wd * int(row["batch"]))["request_rate_per_s"]


def test_target_rate_sizes_disagg_pools_from_their_closed_loop():
    """Disaggregated under --target-rate: the rate-matched closed loop at W_d b_d clients serves R; a decode or a
    prefill worker fewer does not (where the pool is above its EP group's minimum)."""
    rate = 100.0
    q = Question(L8, "h100-sxm", 32, 2048, 256, target_rate_per_s=rate, modes=("disagg",), top=6)
    checked = 0
    for row in search(q).to_dict()["top"]:
        wp, wd = int(row["prefill_workers"]), int(row["dp"])
        got = _served(row, q, wp, wd)
        assert got == pytest.approx(row["request_rate_per_s"], rel=1e-9) and got >= rate
        if wd > 1:
            assert _served(row, q, wp, wd - 1) < rate
        if wp > 1:
            assert _served(row, q, wp - 1, wd) < rate
        checked += (wd > 1) + (wp > 1)
    assert checked >= 2


def test_store_query_is_sql_over_rows_without_file_access(tmp_path):
    q = Question(L8, "h100-sxm", 8, 512, 64, modes=("agg",))
    r = search(q, out=tmp_path / "s")
    names, rows = query(r.out, "SELECT count(*), count(DISTINCT (unit, row)) FROM rows")
    assert rows[0][0] == rows[0][1] == r.rows
    _, rows = query(r.out, "SELECT value FROM manifest WHERE key = 'complete'")
    assert rows == [("True",)]
    with pytest.raises(InputError, match="sql"):
        query(r.out, f"SELECT * FROM read_csv('{tmp_path}/x.csv')")
    with pytest.raises(InputError, match="already holds"):
        search(q, out=tmp_path / "s")
    other = Question(L8, "h100-sxm", 8, 512, 65, modes=("agg",))
    with pytest.raises(InputError, match="another question"):
        search(other, out=tmp_path / "s", resume=True)


def test_every_configuration_is_a_row_with_its_reason():
    q = Question(L8, "h100-sxm", 8, 1024, 128, ttft_limit_s=0.05, modes=("agg",))
    from hundredx.search.executors import evaluate_unit

    spec, system = base_specs(q)
    space = default_space(spec, system, 8)
    cols = evaluate_unit(q, space, units(q, space)[0][0])
    reasons = set(cols["reason"].tolist())
    assert "" in reasons and "TTFT over the limit" in reasons
    assert not cols["feasible"][cols["reason"] != ""].any()
    assert np.isnan(cols["tpot_s"][~cols["runs"]]).all()
    assert math.isfinite(float(np.nanmax(cols["output_tokens_per_s_per_device"])))


def test_search_rows_equal_predict_of_their_scenario():
    """An aggregated row is the steady state of its scenario at the row's concurrency (predict --concurrency's
    `steady_state` block); its memory is predict's."""
    from hundredx.predict import predict
    from hundredx.predict.steady import predict_steady
    from hundredx.scenario import Workload

    q = Question(Q30, "h100-sxm", 8, 2048, 256, modes=("agg",), top=4)
    for row in search(q).to_dict()["top"]:
        scn = build(Q30, "h100-sxm", devices=8, tp=row["tp"], ep=row["ep"], pp=row["pp"],
                    attention_dp=row["attention_dp"], weights=None if row["weights"] == "bf16" else row["weights"],
                    kv=None if row["kv"] == "bf16" else row["kv"], moe_routing=row["moe_routing"],
                    workload=Workload(isl=2048, osl=256, concurrency=row["concurrency"]))
        st = predict_steady(scn.stack, 2048, 256, concurrency=row["concurrency"])
        for k in ("ttft_s", "tpot_s", "output_tokens_per_s_per_device"):
            assert st[k] == pytest.approx(row[k], rel=1e-9), k
        assert float(predict(scn).memory.total_bytes) == pytest.approx(row["memory_per_device_bytes"], rel=1e-9)


def test_arrow_columns_round_trip_through_parquet_without_pandas(tmp_path):
    import io
    import subprocess
    import sys

    import pyarrow.parquet as pq

    from hundredx.search.arrow import to_arrow, to_numpy

    cols = {"f": np.array([1.5, np.nan, -2.0, 3.0, 4.0]), "i": np.arange(5, dtype=np.int64),
            "b": np.array([True, False, True, True, False]), "s": np.array(["agg", "", "disagg", "agg", "é"],
                                                                          dtype=object)}
    import pyarrow as pa

    table = pa.Table.from_arrays([to_arrow(v) for v in cols.values()], names=list(cols))
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=2)
    back = pq.ParquetFile(io.BytesIO(buf.getvalue())).read()
    for name, values in cols.items():
        got = to_numpy(back.column(name))
        assert got.dtype == values.dtype and (np.array_equal(got, values, equal_nan=True) if name == "f"
                                              else (got == values).all())
        assert (to_numpy(back.column(name).slice(1, 3)) == values[1:4]).all() or name == "f"
    code = ("import sys; from hundredx.search import search, Question; "
            f"search(Question('{L8}', 'h100-sxm', 8, modes=('agg',)), out=r'{tmp_path / 's'}'); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_request_latency_limit_bounds_ttft_plus_decode():
    q = Question(L8, "h100-sxm", 8, 1024, 256, request_latency_limit_s=3.0, modes=("agg",), top=10)
    r = search(q).to_dict()
    assert r["top"] and all(row["ttft_s"] + 255 * row["tpot_s"] <= 3.0 + 1e-12 for row in r["top"])
    assert all(row["request_latency_s"] == pytest.approx(row["ttft_s"] + 255 * row["tpot_s"]) for row in r["top"])


def test_progress_bar_appears_only_after_two_seconds(monkeypatch):
    from hundredx.cli import search_cmd

    clock = [100.0]
    monkeypatch.setattr(search_cmd.time, "perf_counter", lambda: clock[0])
    bar = search_cmd._Bar(quiet=False)
    bar(1, 10)
    assert bar.bar is None
    clock[0] += 2.5
    bar(2, 10)
    assert bar.bar is not None
    bar.close()
    quiet = search_cmd._Bar(quiet=True)
    clock[0] += 5
    quiet(3, 10)
    assert quiet.bar is None

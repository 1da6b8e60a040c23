"""validate: case loading, per-kind summary, unpredicted cases kept, CLI JSON shape and errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hundredx.cli import app
from hundredx.errors import InputError
from hundredx.validate.runner import CaseResult, load_cases, run_cases, summarise

GEMM = {"id": "g1", "kind": "gemm", "hardware": "h100-sxm",
        "config": {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"},
        "metric": "tflops", "value": 700.0, "source": "test"}


def _write(tmp_path, cases, name="cases.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    return str(path)


def test_summary_statistics_hand_computed():
    results = [CaseResult(str(i), "gemm", 100.0, 100.0 * (1 + e), e, None) for i, e in enumerate([0.0, 0.1, 0.2, 0.3])]
    results.append(CaseResult("x", "gemm", 1.0, None, None, "no chip"))
    s = summarise(results)["gemm"]
    assert s["cases"] == 5 and s["predicted"] == 4
    assert s["median_ape"] == pytest.approx(0.15)
    assert s["within_10pct"] == pytest.approx(0.5)
    assert s["within_25pct"] == pytest.approx(0.75)


def test_unpredicted_cases_are_kept_with_reason():
    cases = [GEMM, {**GEMM, "id": "g2", "hardware": "no-such-chip"}, {**GEMM, "id": "k", "kind": "teleport"}]
    results = run_cases(cases)
    assert len(results) == 3
    assert results[0].predicted and results[0].ape is not None
    assert results[1].predicted is None and results[1].unpredicted_reason
    assert "teleport" in results[2].unpredicted_reason


def test_malformed_file_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GEMM) + "\n{not json\n")
    with pytest.raises(InputError, match="bad.jsonl:2"):
        load_cases([str(path)])
    missing = {k: v for k, v in GEMM.items() if k != "value"}
    with pytest.raises(InputError, match="value"):
        load_cases([_write(tmp_path, [missing], "m.jsonl")])


def test_cli_json_shape(tmp_path):
    path = _write(tmp_path, [GEMM, {**GEMM, "id": "g2", "hardware": "nope"}])
    result = CliRunner().invoke(app, ["validate", path, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["summary"]["gemm"]) == {"cases", "predicted", "median_ape", "p90_ape", "within_10pct",
                                            "within_25pct", "coverage_80", "mean_rel_width"}
    assert {c["id"] for c in data["cases"]} == {"g1", "g2"}
    assert set(data["cases"][0]) == {"id", "kind", "measured", "predicted", "ape", "unpredicted_reason", "metric",
                                     "source", "place", "interval"}
    g1 = next(c for c in data["cases"] if c["id"] == "g1")
    lo, hi = g1["interval"]
    assert lo < g1["predicted"] < hi and g1["source"] in ("fitted", "family", "analytic")
    assert next(c for c in data["cases"] if c["id"] == "g2")["interval"] is None
    assert 0.0 <= data["summary"]["gemm"]["coverage_80"] <= 1.0 and data["summary"]["gemm"]["mean_rel_width"] > 0


def test_cli_missing_file_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "none.jsonl" in result.output


@pytest.mark.parametrize("value,why", [("NaN", "not JSON"), ("-1.0", "finite number > 0"), ("0", "finite number > 0"),
                                       ("null", "finite number > 0"), ("[1]", "finite number > 0"),
                                       ("true", "finite number > 0")])
def test_a_bad_measured_value_is_an_input_error_naming_the_line(tmp_path, value, why):
    from hundredx.errors import InputError
    from hundredx.validate.runner import load_cases

    good = '{"id": "a", "kind": "gemm", "hardware": "h100-sxm", "config": {"m": 8, "n": 8, "k": 8}, ' \
           '"metric": "tflops", "value": 1.5}'
    path = tmp_path / "cases.jsonl"
    path.write_text(good + "\n" + good.replace('"a"', '"b"').replace("1.5", value) + "\n")
    with pytest.raises(InputError, match=why) as exc:
        load_cases([str(path)])
    assert f"{path}:2" in exc.value.field
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(InputError, match="repeats the id of line 1"):
        load_cases([str(path)])

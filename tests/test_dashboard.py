"""The dashboard without a browser: its data helpers, the server's command line (127.0.0.1 by default),
the CLI's refusals, and every page through Streamlit's headless AppTest (renders without exception,
widgets change the numbers shown, bad input is one line). The real-browser test is
tests/test_dashboard_browser.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hundredx.cli import app
from hundredx.dashboard import APP, data
from hundredx.dashboard import server as srv
from hundredx.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
A = data.StackSource("catalog", data.Choice())
B = data.StackSource("catalog", data.Choice(chip="h200-sxm", weights="fp8", kv="fp8"))
EXAMPLE = "llama70b-h100-bf16.yaml"


# --- data helpers -------------------------------------------------------------------------------------

def test_catalog_lists_zoo_chips_and_examples():
    cat = data.catalog()
    assert "meta-llama/Llama-3.1-8B-Instruct" in cat["models"]
    assert {"h100-sxm", "gb200-nvl72"} <= set(cat["chips"])
    assert EXAMPLE in cat["examples"]


def test_catalog_choice_is_predict():
    from hundredx.predict import predict

    pred = data.prediction(A)
    direct = predict("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", devices=1, batch=8, isl=1024, osl=256)
    assert pred.tpot_s == pytest.approx(direct.tpot_s, rel=1e-12)
    rows = {r["metric"]: r for r in data.metric_rows(pred)}
    assert rows["TPOT"]["low (80%)"] <= rows["TPOT"]["value"] <= rows["TPOT"]["high (80%)"]
    assert rows["TPOT"]["lower bound"] <= rows["TPOT"]["value"]
    ops = data.breakdown_rows(pred, "decode", 5)
    assert len(ops) == 5 and ops[0]["time (us)"] >= ops[-1]["time (us)"]


def test_concurrency_sets_the_batch():
    one = data.scenario(data.StackSource("catalog", data.Choice(concurrency=32)))
    assert one.workload.batch == 32


def test_example_and_upload_give_the_stack_file_scenario():
    ex = data.scenario(data.StackSource("example", name=EXAMPLE))
    up = data.scenario(data.StackSource("upload", name=EXAMPLE, text=(data.EXAMPLES / EXAMPLE).read_text()))
    assert ex.name == up.name == "Llama-3.1-70B BF16 on 8x H100 (FA2)"
    assert ex.batch_auto and data.prediction(data.StackSource("example", name=EXAMPLE)).tpot_s <= 0.05


@pytest.mark.parametrize("src, field", [(data.StackSource("example", name="nope.yaml"), "example"),
                                        (data.StackSource("upload", name="x.yaml", text="  "), "stack"),
                                        (data.StackSource("upload", name="x.yaml", text="model: {id: 1}\n"), "model"),
                                        (data.StackSource("catalog", data.Choice(weights="fp5")), "weights")])
def test_bad_sources_name_the_field(src, field):
    with pytest.raises(InputError) as exc:
        data.scenario(src)
    assert field in str(exc.value)


def test_decomposition_tables():
    d = data.decomposition(A, B, "output_tokens_per_s_per_device").to_dict()
    rows = {r["layer"]: r for r in data.factor_rows(d)}
    product = rows["model"]["Shapley"] * rows["kernel"]["Shapley"] * rows["chip"]["Shapley"]
    assert product == pytest.approx(rows["total B/A"]["Shapley"], rel=1e-9)
    steps = [r["step"] for r in data.waterfall_rows(d)]
    assert any(s.startswith("model.weights") for s in steps) and any(s.startswith("chip:") for s in steps)


def test_roofline_rows_are_the_chart_points_under_their_roofs():
    points = data.roofline(A)
    rows = data.roofline_rows(points, "decode")
    assert len(rows) == sum(p["phase"] == "decode" for p in points) > 0
    assert all(r["of roof (%)"] <= 100.5 for r in rows), [(r["op"], r["of roof (%)"]) for r in rows]
    ex = data.StackSource("example", name=EXAMPLE)
    assert data.roofline(ex)  # batch: auto stacks are drawn at the batch their evaluation ran


def test_mismatch_cost_is_never_blank():
    d = data.decomposition(data.StackSource("example", name=EXAMPLE),
                           data.StackSource("example", name="llama70b-b200-fp8.yaml"),
                           "output_tokens_per_s_per_device").to_dict()
    rows = data.mismatch_rows(d)
    assert rows and all(r["cost"] != "-" for r in rows)
    assert any("lm_head N=16032" in r["what"] for r in rows)  # not cut


def test_curve_rows():
    rows = data.curve(A, B, (10.0, 100.0), "output_tokens_per_s_per_device")
    assert [r["tokens/s per user"] for r in rows] == [10.0, 100.0]
    assert rows[1]["TPOT limit (ms)"] == pytest.approx(10.0)


def test_search_summary_is_the_stored_front(search_dir):
    from hundredx.search.pareto import front
    from hundredx.search.store import read_columns

    s = data.search_summary(search_dir)
    cols = read_columns(search_dir)
    assert s["rows"] == len(cols["mode"]) and len(s["front"]) == len(front(cols))
    assert sum(p["point"] == "Pareto front" for p in s["points"]) == len(s["front"])
    top = data.search_query(search_dir, "SELECT count(*) AS n FROM rows WHERE feasible")
    assert top == [{"n": s["feasible"]}]


def test_search_points_are_thinned_but_keep_the_front(search_dir, monkeypatch):
    monkeypatch.setattr(data, "MAX_POINTS", 20)
    s = data.search_summary(search_dir)
    front = [p for p in s["points"] if p["point"] == "Pareto front"]
    assert len(front) == len(s["front"]) and len(s["points"]) <= len(s["front"]) + 20 < s["feasible"]


def test_search_dir_refusal(tmp_path):
    with pytest.raises(InputError, match="manifest"):
        data.search_summary(tmp_path)


# --- server and CLI -----------------------------------------------------------------------------------

def test_binds_localhost_unless_told():
    argv = srv.streamlit_argv()
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8501" and argv[argv.index("run") + 1] == str(APP)
    other = srv.streamlit_argv(9000, "0.0.0.0", browser=False)
    assert other[other.index("--server.address") + 1] == "0.0.0.0"
    assert other[other.index("--server.headless") + 1] == "true"


def test_cli_json_is_one_object(monkeypatch):
    import json

    monkeypatch.setattr(srv.os, "execve", lambda exe, argv, env: None)
    monkeypatch.setattr(srv.os, "dup2", lambda a, b: None)
    res = CliRunner().invoke(app, ["dashboard", "--no-browser", "--port", "8601", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"url": "http://127.0.0.1:8601", "host": "127.0.0.1", "port": 8601,
                                      "browser": False, "search": None}


def test_cli_passes_port_host_and_search(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(srv.os, "execve", lambda exe, argv, env: seen.update(argv=argv, env=env))
    res = CliRunner().invoke(app, ["dashboard", "--no-browser", "--port", "8600", "--search", str(tmp_path)])
    assert res.exit_code == 0, res.output
    argv = seen["argv"]
    assert argv[argv.index("--server.port") + 1] == "8600" and argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert seen["env"][srv.SEARCH_ENV] == str(tmp_path)


@pytest.mark.parametrize("args, field", [(["--port", "0"], "port"), (["--port", "70000"], "port"),
                                         (["--host", "a b"], "host")])
def test_cli_refuses_bad_port_and_host(args, field):
    res = CliRunner().invoke(app, ["dashboard", "--no-browser", *args])
    assert res.exit_code == 2 and f"{field}=" in res.output and "Traceback" not in res.output


def test_cli_without_streamlit_says_how_to_install(monkeypatch):
    monkeypatch.setattr(srv.importlib.util, "find_spec", lambda name: None)
    res = CliRunner().invoke(app, ["dashboard", "--no-browser"])
    assert res.exit_code == 2 and "hundredx[dashboard]" in res.output


def test_import_hundredx_loads_no_streamlit():
    code = ("import sys, hundredx, hundredx.cli, hundredx.dashboard, hundredx.dashboard.server, "
            "hundredx.dashboard.data; sys.exit('streamlit' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# --- the app, headless --------------------------------------------------------------------------------

AppTest = pytest.importorskip("streamlit.testing.v1").AppTest


def _app():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _metrics(at) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


def _images(at) -> int:
    """st.image elements on the page ("imgs" in Streamlit 1.40, "image" in later versions)."""
    def walk(node) -> int:
        own = getattr(node, "type", "") in ("image", "imgs")
        return own + sum(walk(c) for c in getattr(node, "children", {}).values())

    return walk(at._tree)


def _subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def test_every_page_renders(search_dir, monkeypatch):
    monkeypatch.setenv(srv.SEARCH_ENV, str(search_dir))
    at = _app()
    assert len(_metrics(at)["TPOT"]) == 2 and not at.error
    for page, expect, images in (("Decompose", "total B/A", 1), ("Roofline & memory", None, 2),
                                 ("Search results", "rows", 0)):
        at.radio(key="page").set_value(page).run()
        assert not at.exception and not at.error, (page, at.exception, [e.value for e in at.error])
        assert at.header[0].value == page and _images(at) == images, (page, _images(at))
        if expect:
            assert expect in _metrics(at), (page, _metrics(at))
    assert _metrics(at)["rows"] == [f"{data.search_summary(search_dir)['rows']:,}"]


def test_roofline_phase_switches_the_table():
    at = _app()
    at.radio(key="page").set_value("Roofline & memory").run()
    decode = at.table[0].value
    at.radio(key="roofline_phase").set_value("prefill").run()
    assert not at.exception and not at.table[0].value.equals(decode)


def test_interactive_roofline():
    at = _app()
    at.radio(key="page").set_value("Roofline & memory").run()
    at.toggle(key="roofline_interactive").set_value(True).run()
    assert not at.exception and not at.error


def test_widgets_change_the_numbers():
    at = _app()
    before = _metrics(at)
    at.number_input(key="a_batch").set_value(64).run()
    after = _metrics(at)
    assert after["TPOT"][0] != before["TPOT"][0] and after["TPOT"][1] == before["TPOT"][1]
    assert after["output tokens/s per device"][0] != before["output tokens/s per device"][0]
    at.selectbox(key="b_chip").set_value("b200").run()
    assert "B: Llama-3.1-8B-Instruct fp8 on 1x b200" in _subheaders(at)
    assert _metrics(at)["TPOT"][1] != after["TPOT"][1]


def test_decompose_metric_and_curve():
    at = _app()
    at.radio(key="page").set_value("Decompose").run()
    total = _metrics(at)["total B/A"]
    tables = len(at.table)
    at.selectbox(key="decompose_metric").set_value("tpot_s").run()
    assert not at.exception and _metrics(at)["total B/A"] != total
    at.toggle(key="curve_on").set_value(True).run()
    assert not at.exception and len(at.table) == tables + 1
    assert "Decomposition over interactivity" in _subheaders(at)


def test_example_and_pasted_stack_files():
    at = _app()
    at.radio(key="a_source").set_value("example file").run()
    assert "A: Llama-3.1-70B BF16 on 8x H100 (FA2)" in _subheaders(at)
    at.radio(key="b_source").set_value("upload YAML").run()
    assert at.error and "empty" in at.error[0].value  # nothing pasted yet: one line, no exception
    at.text_area(key="b_yaml").set_value((data.EXAMPLES / "llama70b-b200-fp8.yaml").read_text()).run()
    assert not at.error and not at.exception
    assert any(s.startswith("B: Llama-3.1-70B FP8 on") for s in _subheaders(at)), _subheaders(at)


def test_bad_choice_is_one_line():
    at = _app()
    at.number_input(key="a_tp").set_value(3).run()
    assert not at.exception and len(at.error) == 1
    assert "tp" in at.error[0].value and "\n" not in at.error[0].value.strip()


def test_stack_meeting_no_limit_is_one_line():
    at = _app()
    at.radio(key="a_source").set_value("upload YAML").run()
    text = (data.EXAMPLES / EXAMPLE).read_text().replace("tpot_limit_s: 0.05", "tpot_limit_s: 0.0001")
    at.text_area(key="a_yaml").set_value(text).run()
    assert not at.exception and len(at.error) == 1 and "SLO" in at.error[0].value


def test_search_page_sql(search_dir):
    at = _app()
    at.radio(key="page").set_value("Search results").run()
    assert at.info  # no directory yet
    at.text_input(key="search_dir").set_value(str(search_dir)).run()
    assert not at.exception and not at.error
    at.text_area(key="search_sql").set_value("SELECT count(*) AS n FROM rows").run()
    assert at.table[-1].value.iloc[0, 0] == data.search_summary(search_dir)["rows"]
    at.text_area(key="search_sql").set_value("COPY rows TO '/tmp/x.csv'").run()
    assert at.error and not at.exception

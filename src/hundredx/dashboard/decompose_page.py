"""Page "Decompose": B/A split into model, kernel and chip factors, the waterfall, the curve and mismatches.

`decompose` (Shapley over the three layers, one-at-a-time, interaction, the waterfall of
decompose/waterfall.py, the mismatch finder) and `decompose_curve` (the factors over
interactivity, tokens/s per user = 1 / TPOT limit). The chart is report/charts.waterfall_chart.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hundredx.dashboard import data
from hundredx.decompose.metrics import METRICS

RATES = (5.0, 10.0, 20.0, 30.0, 50.0, 100.0)


def _fmt(x) -> str:
    return "n/a" if x is None else f"x{x:.3f}"


def _factors(d: dict) -> None:
    cols = st.columns(4)
    shap = d["shapley"] or {}
    cols[0].metric("total B/A", _fmt(d["total"]))
    for col, k in zip(cols[1:], ("model", "kernel", "chip")):
        col.metric(f"{k} factor", _fmt(shap.get(k)), help="Shapley factor; the three multiply to the total")
    rows = [{k: (_fmt(v) if k != "layer" else v) for k, v in r.items()} for r in data.factor_rows(d)]
    st.table(pd.DataFrame(rows).set_index("layer"))


def _waterfall(d: dict) -> None:
    from hundredx.report.charts import waterfall_chart

    st.subheader("Waterfall")
    if d["waterfall"]:
        st.image(waterfall_chart(d, "png"), caption="cumulative B/A after each step")
        rows = [{**r, "factor": _fmt(r["factor"]), "cumulative": _fmt(r["cumulative"])}
                for r in data.waterfall_rows(d)]
        st.table(pd.DataFrame(rows).set_index("step"))
    else:
        st.info("no waterfall: a combination of the two stacks cannot run (see the notes)")


def _curve(sources: dict[str, data.StackSource], metric: str) -> None:
    st.subheader("Decomposition over interactivity")
    rates = st.multiselect("tokens/s per user (TPOT limit = 1 / rate)", RATES, default=[10.0, 30.0, 100.0],
                           key="curve_rates")
    if not rates:
        st.info("pick at least one interactivity point")
        return
    rows = data.curve(sources["a"], sources["b"], tuple(sorted(rates)), metric)
    frame = pd.DataFrame(rows).set_index("tokens/s per user")
    st.line_chart(frame[["total", "model", "kernel", "chip"]])
    st.table(frame.style.format({k: "{:.3f}" for k in ("total", "model", "kernel", "chip", "interaction")},
                                na_rep="n/a"))


def render(sources: dict[str, data.StackSource]) -> None:
    st.header("Decompose")
    st.caption(f"A: {data.stack_name(sources['a'])}  |  B: {data.stack_name(sources['b'])}")
    metric = st.selectbox("metric", list(METRICS), key="decompose_metric")
    d = data.decomposition(sources["a"], sources["b"], metric).to_dict()
    st.caption(d["ratio_meaning"])
    _factors(d)
    _waterfall(d)
    st.subheader("Mismatches")
    rows = data.mismatch_rows(d)
    if rows:
        st.table(pd.DataFrame(rows))
    else:
        st.success("no mismatch found between the layers of either stack")
    for note in d["notes"]:
        st.caption(f"note: {note}")
    if st.toggle("show the curve over interactivity", value=False, key="curve_on"):
        _curve(sources, metric)

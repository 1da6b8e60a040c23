"""Page "Roofline & memory": each stack's ops against its chip's roof, and memory per device.

Charts are report/charts.roofline_chart and memory_chart (Williams et al. 2009 roofline:
attainable = min(peak, intensity x bandwidth)); the table lists the points the chart draws.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hundredx.dashboard import data


def render(sources: dict[str, data.StackSource]) -> None:
    from hundredx.report.charts import memory_chart, roofline_chart

    st.header("Roofline & memory")
    preds = {side: data.prediction(src) for side, src in sources.items()}
    scns = {side: data.scenario(src) for side, src in sources.items()}
    labels = {side: f"{side.upper()}: {data.stack_name(src)}" for side, src in sources.items()}
    c1, c2 = st.columns(2)
    c1.image(roofline_chart([(labels[s], scns[s].chip, preds[s]) for s in sources], "png"), caption="roofline")
    c2.image(memory_chart([(labels[s], preds[s].memory.to_dict()) for s in sources], "png"),
             caption="memory per device")
    phase = st.radio("ops of", ("decode", "prefill"), horizontal=True, key="roofline_phase")
    for side in sources:
        rows = [r for r in data.roofline_rows(preds[side]) if r["phase"] == phase]
        st.markdown(f"**{labels[side]}** ({scns[side].chip.id}, {len(rows)} ops)")
        if rows:
            st.table(pd.DataFrame(rows).drop(columns="phase").set_index("op")
                     .style.format({"intensity (FLOP/B)": "{:.3g}", "achieved (TFLOP/s)": "{:.3g}"}))

"""Page "Roofline & memory": each stack's ops against its chip's roof, and memory per device.

Charts are report/charts.roofline_chart and memory_chart (Williams et al. 2009 roofline:
attainable = min(peak of the op's own format, intensity x bandwidth), bytes as priced, points from
report/roofline.py); the table lists the points the chart draws.
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
    points = {side: data.roofline(src) for side, src in sources.items()}
    stacks = [(labels[s], scns[s].chip, points[s]) for s in sources]
    if st.toggle("interactive roofline (hover for each op)", value=False, key="roofline_interactive"):
        from hundredx.report.interactive import roofline_figure

        st.plotly_chart(roofline_figure(stacks))
    c1, c2 = st.columns(2)
    c1.image(roofline_chart(stacks, "png"), caption="roofline")
    c2.image(memory_chart([(labels[s], preds[s].memory.to_dict()) for s in sources], "png"),
             caption="memory per device")
    phase = st.radio("ops of", ("decode", "prefill"), horizontal=True, key="roofline_phase")
    for side in sources:
        rows = data.roofline_rows(points[side], phase)
        st.markdown(f"**{labels[side]}** ({scns[side].chip.id}, {len(rows)} ops, slowest first)")
        if rows:
            st.table(pd.DataFrame(rows).set_index("op").style.format(
                {"intensity (FLOP/B)": "{:.3g}", "achieved (TFLOP/s)": "{:.3g}", "roof (TFLOP/s)": "{:.3g}",
                 "of roof (%)": "{:.0f}"}))

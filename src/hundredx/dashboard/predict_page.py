"""Page "Predict": each stack's TTFT, TPOT, throughput and memory with 80% intervals, and its op breakdown.

The numbers are `predict`'s (data.prediction); the interval is predict's 80% interval
(predict/intervals.py), the lower bound the speed-of-light time (kernel/roofline.py).
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from hundredx.dashboard import data
from hundredx.units import fmt_time


def _value(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    return fmt_time(x) if unit == "s" else f"{x:,.1f} {unit}"


def _metrics(pred) -> None:
    rows = {r["metric"]: r for r in data.metric_rows(pred)}
    cols = st.columns(4)
    for col, name in zip(cols, ("TTFT", "TPOT", "output tokens/s per device", "tokens/s per user")):
        r = rows[name]
        col.metric(name, _value(r["value"], r["unit"]),
                   help=f"80% interval {_value(r['low (80%)'], r['unit'])} - {_value(r['high (80%)'], r['unit'])}")
    table = [{"metric": r["metric"], "predicted": _value(r["value"], r["unit"]),
              "80% interval": f"{_value(r['low (80%)'], r['unit'])} - {_value(r['high (80%)'], r['unit'])}",
              "lower bound": _value(r["lower bound"], r["unit"])} for r in rows.values()]
    st.table(pd.DataFrame(table).set_index("metric"))
    mem = data.memory_row(pred)
    st.caption(f"memory per device: {mem['total']:.1f} GiB of {mem['usable']:.1f} GiB usable (weights "
               f"{mem['weights']:.1f}, KV cache {mem['kv_cache']:.1f}, activations {mem['activations']:.1f}); "
               f"decode bottleneck: {pred.bottleneck}; {pred.devices} devices")


def _breakdown(pred, side: str, phase: str, top: int) -> None:
    rows = data.breakdown_rows(pred, phase, top)
    frame = pd.DataFrame(rows).set_index("op")
    st.table(frame.style.format({"time (us)": "{:.1f}", "low (us)": "{:.1f}", "high (us)": "{:.1f}",
                                 "share (%)": "{:.1f}", "efficiency": "{:.2f}"}))
    if pred.mismatches:
        st.warning("fallbacks (substitutions the model made): " + "; ".join(pred.mismatches))


def render(sources: dict[str, data.StackSource]) -> None:
    st.header("Predict")
    c1, c2 = st.columns(2)
    phase = c1.radio("breakdown phase", ("decode", "prefill"), horizontal=True, key="predict_phase")
    top = c2.slider("ops shown", 3, 30, 8, key="predict_top")
    for side, src in sources.items():
        st.subheader(f"{side.upper()}: {data.stack_name(src)}")
        pred = data.prediction(src)
        _metrics(pred)
        st.markdown(f"**{phase} step breakdown (slowest ops)**")
        _breakdown(pred, side, phase, top)

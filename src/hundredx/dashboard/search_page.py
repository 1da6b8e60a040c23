"""Page "Search results": a `hundredx search --out DIR` directory: its question, the Pareto front, SQL.

Reads the store through search/store.py (Parquet chunks + manifest; DuckDB over the table
`rows`) and the front through search/pareto.py, as `hundredx pareto` and `search query` do.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from hundredx.dashboard import data
from hundredx.dashboard.server import SEARCH_ENV
from hundredx.search.pareto import X, Y

DEFAULT_SQL = ("SELECT mode, tp, ep, dp, batch, weights, kv, tpot_s, output_tokens_per_s_per_device FROM rows "
               "WHERE feasible ORDER BY output_tokens_per_s_per_device DESC LIMIT 10")


def render() -> None:
    st.header("Search results")
    out = st.text_input("search --out directory", os.environ.get(SEARCH_ENV, ""), key="search_dir")
    if not out.strip():
        st.info("give the directory a `hundredx search ... --out DIR` wrote")
        return
    s = data.search_summary(out)
    q = s["question"]
    st.caption(f"{q.get('model')} on {q.get('devices')}x {q.get('chip')}, isl {q.get('isl')} / osl {q.get('osl')}; "
               f"{s['feasible']:,} feasible of {s['rows']:,} rows" + ("" if s["complete"] else " (incomplete)"))
    c1, c2 = st.columns(2)
    c1.metric("rows", f"{s['rows']:,}")
    c2.metric("Pareto front points", f"{len(s['front']):,}")
    if s["points"]:
        st.scatter_chart(pd.DataFrame(s["points"]), x=X, y=Y, color="point")
    st.subheader("Pareto front")
    st.table(pd.DataFrame(s["front"]).style.format({X: "{:.1f}", Y: "{:.1f}", "ttft_s": "{:.3f}",
                                                    "tpot_s": "{:.4f}"}))
    st.subheader("SQL over the rows")
    sql = st.text_area("DuckDB query (table `rows`)", DEFAULT_SQL, key="search_sql")
    st.table(pd.DataFrame(data.search_query(out, sql)))

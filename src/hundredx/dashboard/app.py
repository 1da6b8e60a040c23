"""The dashboard's entry script (`streamlit run app.py`): the two stacks in the sidebar, one page at a time.

Only the chosen page computes, so a widget change reruns predict (milliseconds) or decompose (under
a second for two stacks) and nothing else. Bad input is the library's one-line InputError (or, for a
`batch: auto` stack that meets its limits at no batch, decompose's Infeasible reason) shown in place of
the page, never a traceback.
"""

from __future__ import annotations

import streamlit as st

from hundredx.dashboard import data, decompose_page, predict_page, roofline_page, search_page
from hundredx.dashboard.sidebar import stack_picker
from hundredx.decompose.metrics import Infeasible
from hundredx.errors import InputError

PAGES = ("Predict", "Decompose", "Roofline & memory", "Search results")


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")  # the server draws charts in Streamlit's script threads, never on a display
    st.set_page_config(page_title="hundredx dashboard", layout="wide")
    st.sidebar.title("hundredx")
    page = st.sidebar.radio("page", PAGES, key="page")
    cat = data.catalog()
    sources = {side: stack_picker(side, cat) for side in ("a", "b")}
    try:
        if page == "Predict":
            predict_page.render(sources)
        elif page == "Decompose":
            decompose_page.render(sources)
        elif page == "Roofline & memory":
            roofline_page.render(sources)
        else:
            search_page.render()
    except (InputError, ValueError, Infeasible) as exc:
        st.error(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


main()

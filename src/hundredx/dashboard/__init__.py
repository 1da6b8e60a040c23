"""`hundredx dashboard`: a local Streamlit app over predict, decompose, the roofline and search results.

Layout: `server.py` starts Streamlit on `app.py` (127.0.0.1 unless told otherwise); `app.py` is the
entry script (sidebar: the two stacks and the page); `sidebar.py` picks a stack (zoo and catalog,
a shipped example stack file, or an uploaded YAML); one module per page (`predict_page`,
`decompose_page`, `roofline_page`, `search_page`); `data.py` holds every computation and table,
free of streamlit, so it is unit-tested alone. Streamlit is the optional extra `dashboard`
(`pip install 'hundredx[dashboard]'`); `import hundredx` and `import hundredx.dashboard` never load it.
"""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"

__all__ = ["APP"]

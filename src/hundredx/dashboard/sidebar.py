"""The sidebar's stack pickers: each of stacks A and B from the catalog, a shipped example, or an upload.

Widget keys are `"{side}_{field}"` (a_model, b_chip, a_source, ...), so the headless tests set them
by key. Each picker returns a `data.StackSource`; building it is `data.scenario`'s job.
"""

from __future__ import annotations

import streamlit as st

from hundredx.dashboard import data

SOURCES = ("catalog", "example file", "upload YAML")
DEFAULTS = {"a": data.Choice(model="meta-llama/Llama-3.1-8B-Instruct", chip="h100-sxm"),
            "b": data.Choice(model="meta-llama/Llama-3.1-8B-Instruct", chip="h200-sxm", weights="fp8", kv="fp8")}


def _index(options: list[str] | tuple[str, ...], value: str) -> int:
    return list(options).index(value) if value in options else 0


def _choice(side: str, cat: dict) -> data.Choice:
    d = DEFAULTS[side]
    model = st.selectbox("model", cat["models"], index=_index(cat["models"], d.model), key=f"{side}_model")
    chip = st.selectbox("chip or system", cat["chips"], index=_index(cat["chips"], d.chip), key=f"{side}_chip")
    c1, c2 = st.columns(2)
    devices = c1.number_input("devices", 1, 100_000, d.devices, key=f"{side}_devices")
    tp = c2.number_input("tp (0 = fill the devices)", 0, 1024, 0, key=f"{side}_tp")
    weights = c1.selectbox("weights", data.FORMAT_CHOICES, index=_index(data.FORMAT_CHOICES, d.weights),
                           key=f"{side}_weights")
    kv = c2.selectbox("KV cache", data.FORMAT_CHOICES, index=_index(data.FORMAT_CHOICES, d.kv), key=f"{side}_kv")
    batch = c1.number_input("batch per replica", 1, 65_536, d.batch, key=f"{side}_batch")
    conc = c2.number_input("concurrency (0 = use batch)", 0, 1_000_000, 0, key=f"{side}_concurrency")
    isl = c1.number_input("isl (input tokens)", 1, 1_000_000, d.isl, key=f"{side}_isl")
    osl = c2.number_input("osl (output tokens)", 1, 1_000_000, d.osl, key=f"{side}_osl")
    return data.Choice(model, chip, int(devices), int(tp) or None, weights, kv, int(batch), int(conc), int(isl),
                       int(osl))


def stack_picker(side: str, cat: dict) -> data.StackSource:
    """One stack's picker in an expander of the sidebar."""
    with st.sidebar.expander(f"stack {side.upper()}", expanded=True):
        kind = st.radio("source", SOURCES, key=f"{side}_source", horizontal=True)
        if kind == "example file":
            default = "llama70b-h100-bf16.yaml" if side == "a" else "llama70b-b200-fp8.yaml"
            name = st.selectbox("example", cat["examples"], index=_index(cat["examples"], default),
                                key=f"{side}_example")
            return data.StackSource("example", name=name)
        if kind == "upload YAML":
            up = st.file_uploader("stack file (YAML)", type=["yaml", "yml"], key=f"{side}_upload")
            text = st.text_area("or paste a stack file", key=f"{side}_yaml", height=120)
            if up is not None:
                return data.StackSource("upload", name=up.name, text=up.getvalue().decode("utf-8", "replace"))
            return data.StackSource("upload", name=f"stack {side.upper()}", text=text)
        return data.StackSource("catalog", _choice(side, cat))

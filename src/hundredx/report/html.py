"""Self-contained HTML report of a decomposition: tables, inline charts (PNG base64 / SVG), mismatches.

No external assets or scripts: the page opens from disk. Text from stack files is escaped.
"""

from __future__ import annotations

import base64
import html

from hundredx.report.charts import fmt_factor, memory_chart, roofline_chart, waterfall_chart
from hundredx.units import fmt_time

OPS_SHOWN = 30  # rows of the op-by-op table (the ops with the most time in A or B)

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#f3f3f3}.bad{color:#b00}.chart{margin:1em 0}h2{border-bottom:1px solid #ddd}"""


def _e(x) -> str:
    return html.escape(str(x))


def _table(cols: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(x, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def _summary(d: dict) -> str:
    rows = []
    for key in ("a", "b"):
        s = d[key]
        rows.append([key.upper(), s.get("name"), s.get("model"), f"{s.get('system')} x{s.get('devices')}",
                     f"tp{s.get('tp')} pp{s.get('pp')} ep{s.get('ep')} dp{s.get('dp')}", s.get("weights"),
                     _num(s.get("value")), s.get("batch"), s.get("limited_by")])
    return _table(["", "name", "model", "system", "parallelism", "weights", d["metric"], "batch", "batch limited by"],
                  rows)


def _factors(d: dict) -> str:
    layers = ("model", "kernel", "chip")
    shap = d.get("shapley") or {}
    oat = d.get("one_at_a_time") or {}
    iv = d.get("intervals") or {}
    band = (lambda b: "-" if not b else f"{fmt_factor(b[0])}-{fmt_factor(b[1])}")  # noqa: E731
    rows = [[p, fmt_factor(shap.get(p)), band((iv.get("shapley") or {}).get(p)), fmt_factor(oat.get(p)),
             band((iv.get("one_at_a_time") or {}).get(p))] for p in layers]
    rows.append(["interaction (co-design)", "", "", fmt_factor(d.get("interaction")), band(iv.get("interaction"))])
    rows.append(["total B/A", fmt_factor(d.get("total")), band(iv.get("total")), "", ""])
    return _table(["layer", "Shapley factor", "80% interval", "one at a time", "80% interval"], rows)


def _combos(d: dict) -> str:
    rows = [[c["label"], _num(c.get("value")), c.get("batch", "-"), "; ".join(c.get("adjustments", [])) or "-",
             (c.get("replanned") or {}).get("change", "-"),
             c.get("reason") or (c.get("replanned") or {}).get("reason", "")] for c in d["combinations"]]
    return _table(["combination", d["metric"], "batch", "adjustments", "re-planned by the search (old -> new)",
                   "cannot run (as written) because"], rows)


def _mismatches(d: dict) -> str:
    rows = []
    for key in ("a", "b"):
        for m in d.get("mismatches", {}).get(key, []):
            share = "not measured" if m.get("time_share") is None else f"{100 * m['time_share']:.1f}% of step time"
            rows.append([key.upper(), m["kind"], m["layers"], m["message"], mismatch_cost(m), share,
                         m.get("estimate", "")])
    if not rows:
        return "<p>No mismatches found.</p>"
    return _table(["stack", "kind", "layers", "what", "cost", "time share", "how estimated"], rows)


def mismatch_cost(m: dict) -> str:
    """A mismatch's cost in words: the throughput lost when re-predicted, else at most its ops' time share."""
    if m.get("cost_fraction") is not None:
        return f"{100 * m['cost_fraction']:.1f}% of output tokens/s per device"
    if m.get("time_share") is not None:
        return f"at most {100 * m['time_share']:.1f}% of the step (its ops' time share; not re-predicted)"
    return "not estimated: the fix cannot be re-predicted and its ops are not separable"


def op_rows(a_pred, b_pred, phase: str = "decode") -> list[list]:
    """The op-by-op A-vs-B table: per op name, A's and B's time in one step, B/A speed-up and bounds."""
    def by_op(pred) -> dict:
        out: dict[str, dict] = {}
        for r in pred.breakdown:
            if r["phase"] == phase:
                cur = out.setdefault(r["op"], {"time_s": 0.0, "bound": r["bound"], "kind": r["kind"]})
                cur["time_s"] += r["time_s"]
        return out

    a, b = by_op(a_pred), by_op(b_pred)
    names = sorted(set(a) | set(b), key=lambda n: -(a.get(n, {}).get("time_s", 0.0) + b.get(n, {}).get("time_s", 0.0)))
    rows = []
    for name in names[:OPS_SHOWN]:
        ta, tb = a.get(name, {}).get("time_s"), b.get(name, {}).get("time_s")
        ratio = f"x{ta / tb:.2f}" if ta and tb else ("only in A" if ta else "only in B")
        rows.append([name, (a.get(name) or b.get(name) or {}).get("kind", ""),
                     fmt_time(ta) if ta is not None else "not in A", fmt_time(tb) if tb is not None else "not in B",
                     ratio, f"{a.get(name, {}).get('bound', '-')} / {b.get(name, {}).get('bound', '-')}"])
    return rows


def _img(png: bytes, alt: str) -> str:
    return (f'<div class="chart"><img alt="{_e(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></div>')


def render_html(d: dict, evaluations: dict | None = None, chips: dict | None = None,
                scenarios: dict | None = None) -> str:
    """The page for `Decomposition.to_dict()`; `evaluations`/`chips` ({"a": ..., "b": ...}) add memory and the
    op-by-op table, and with `scenarios` (the stacks A and B) the roofline (report/roofline.py)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>hundredx decomposition</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Where the gain comes from: {_e(d['b']['name'])} vs {_e(d['a']['name'])}</h1>",
             f"<p>Metric: <b>{_e(d['metric'])}</b> ({_e(d['unit'])}); {_e(d['ratio_meaning'])}.</p>",
             "<h2>Stacks</h2>", _summary(d), "<h2>Per-layer factors</h2>", _factors(d)]
    for note in d.get("notes", []):
        parts.append(f"<p class='bad'>{_e(note)}</p>")
    if d.get("waterfall"):
        parts += ["<h2>Waterfall</h2>", _img(waterfall_chart(d, "png"), "waterfall"),
                  _table(["step", "factor", "cumulative", "value", "notes"],
                         [[r["label"], fmt_factor(r.get("factor")), fmt_factor(r.get("cumulative")),
                           _num(r.get("value")), r.get("reason") or "; ".join(r.get("adjustments", []))]
                          for r in d["waterfall"]])]
    if evaluations and chips and all(evaluations.get(k) for k in ("a", "b")):
        names = {k: f"{k.upper()}: {d[k].get('name') or k.upper()}" for k in ("a", "b")}
        if scenarios:
            from hundredx.report.roofline import stack_points

            stacks = [(names[k], chips[k], stack_points(scenarios[k], evaluations[k])) for k in ("a", "b")]
            parts += ["<h2>Roofline</h2>", f"<div class='chart'>{roofline_chart(stacks, 'svg')}</div>"]
        memories = [(names[k], evaluations[k].prediction.memory.to_dict()) for k in ("a", "b")]
        parts += ["<h2>Memory</h2>", f"<div class='chart'>{memory_chart(memories, 'svg')}</div>",
                  "<h2>Op by op (decode step)</h2>",
                  _table(["op", "kind", f"time {names['a']}", f"time {names['b']}", "speed-up B/A", "bound A / B"],
                         op_rows(evaluations["a"].prediction, evaluations["b"].prediction))]
    if d.get("curve"):
        from hundredx.report.curve import curve_section

        parts += ["<h2>Over interactivity</h2>", curve_section(d["curve"])]
    parts += ["<h2>Mismatches</h2>", _mismatches(d), "<h2>All combinations</h2>", _combos(d), "</body></html>"]
    return "\n".join(parts)

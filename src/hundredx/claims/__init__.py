"""The quantitative claims of the three-layer co-design thesis, checked with the tool's own models.

Each claim is a computation (model accounting, chip catalog, kernel efficiency models) or a
scenario the tool evaluates (the stack files shipped in `hundredx/examples/`, so `hundredx
claims` runs from a pip install). A result carries the claimed figure, the tool's figure at the
point the claim most plausibly refers to (`point`, with the reason), the range of the tool's
figure over the settings the claim leaves open (`range`, e.g. a sweep over interactivity), the
tolerance and why that tolerance, and a verdict:
  consistent      the tool's figure is inside the claimed value / range widened by `tol`
                  (value c: c/tol <= v <= c*tol; range [lo, hi]: lo/tol <= v <= hi*tol;
                  "at least c": v >= c/tol; a claimed *gain* g (kind "gain", a speed-up ratio
                  near 1) is judged on its excess over 1: (g-1)/tol <= v-1 <= (g-1)*tol, so a 2%
                  gain never passes for a claimed 16% one under a 1.15 tolerance);
  inconsistent    outside that band — where the thesis is wrong and the model's inputs are
                  facts (a config, a datasheet), `why` says so plainly;
  not checkable   the tool has no model of something the claim needs, the only evidence would
                  be circular (a default set from the claim itself), or a needed fact (a price)
                  has no source; `why` says which.
Tolerances (each claim names its own and the reason): EXACT for arithmetic on configs and
datasheets; KERNEL 1.15 for kernel figures measured by their authors (the kernel models'
held-out error is of that order); SYSTEM 1.5 for system ratios whose settings the claim does
not state; RANGE 1.25 for claimed ranges of ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from hundredx.views import View

VERDICTS = ("consistent", "inconsistent", "not checkable")
EXACT = (1.0 + 1e-9, "arithmetic on config.json and datasheet figures: no model error")
KERNEL = (1.15, "a kernel figure measured by its authors; the kernel models' held-out error is ~10-15%")
SYSTEM = (1.5, "a system ratio whose batch, lengths and SLO the claim does not state")
RANGE = (1.25, "a claimed range of ratios; the model's system-level error is ~20-25%")


@dataclass(repr=False)
class Claim(View):
    id: str
    claim: str
    source: str
    claimed: float | list | None
    tool: float | None
    unit: str
    tol: float
    verdict: str
    why: str
    kind: str = "value"  # value | range | at_least | gain
    tol_reason: str = ""
    range: list | None = None
    point: str = ""
    details: dict | None = None

    @property
    def claimed_text(self) -> str:
        if self.kind == "range" and isinstance(self.claimed, list):
            return f"{self.claimed[0]:g}-{self.claimed[1]:g} {self.unit}"
        if self.kind == "gain" and isinstance(self.claimed, (int, float)):
            return f"x{self.claimed:g} (+{100 * (self.claimed - 1):.0f}%)"
        prefix = ">" if self.kind == "at_least" else "~"
        return "-" if self.claimed is None else f"{prefix}{self.claimed:g} {self.unit}"

    @property
    def tool_text(self) -> str:
        if self.tool is None:
            return "-"
        text = f"{self.tool:.4g} {self.unit}"
        if self.range:
            text += f" (range {self.range[0]:.3g}-{self.range[1]:.3g})"
        return text

    def to_dict(self) -> dict:
        out = asdict(self)
        out["claimed_text"], out["tool_text"] = self.claimed_text, self.tool_text
        return out

    def _title(self) -> str:
        return f"{self.id}: {self.verdict}"

    def _summary(self) -> list[tuple[str, object]]:
        return [("claim", self.claim), ("claimed", self.claimed_text), ("tool", self.tool_text), ("why", self.why),
                ("point", self.point), ("source", self.source)]

    def _rows(self) -> list[dict]:
        return [{k: v for k, v in self.to_dict().items() if k != "details"}]


class Claims(View, list):
    """`check_claims()`'s list of claims, with the notebook views (views.py)."""

    def _title(self) -> str:
        return f"{len(self)} claims"

    def _summary(self) -> list[tuple[str, object]]:
        counts = [(v, sum(c.verdict == v for c in self)) for v in VERDICTS]
        return counts + [(c.id, c.verdict) for c in self]

    def _rows(self) -> list[dict]:
        return [r for c in self for r in c._rows()]

    def to_dict(self) -> dict:
        return {"claims": [c.to_dict() for c in self], "verdicts": dict(self._summary()[:len(VERDICTS)])}


def judge(tool: float, claimed, tol: float, kind: str = "value") -> str:
    """Verdict of `tool` against a claimed value, range or lower bound with tolerance factor `tol`."""
    if kind == "range":
        lo, hi = claimed
        return "consistent" if lo / tol <= tool <= hi * tol else "inconsistent"
    if kind == "at_least":
        return "consistent" if tool >= claimed / tol else "inconsistent"
    if kind == "gain":
        excess, want = tool - 1.0, claimed - 1.0
        return "consistent" if want / tol <= excess <= want * tol else "inconsistent"
    return "consistent" if claimed / tol <= tool <= claimed * tol else "inconsistent"


def make(cid: str, text: str, src: str, claimed, tool: float, unit: str, tolerance: tuple[float, str], why: str,
         kind: str = "value", **extra) -> Claim:
    """A judged claim: the verdict follows from the tool's figure, the claim and its tolerance."""
    tol, reason = tolerance
    return Claim(cid, text, src, claimed, tool, unit, tol, judge(tool, claimed, tol, kind), why, kind, reason, **extra)


def not_checkable(cid: str, text: str, src: str, claimed, unit: str, why: str, tool: float | None = None,
                  kind: str = "value", **extra) -> Claim:
    return Claim(cid, text, src, claimed, tool, unit, 1.0, "not checkable", why, kind, "", **extra)


def check_claims(progress: Callable[[int, int], None] | None = None) -> Claims:
    """Evaluate every claim; a check that cannot run becomes `not checkable` with the reason."""
    from hundredx.claims.registry import CHECKS

    out = []
    for i, (claim_id, text, source, fn) in enumerate(CHECKS):
        try:
            out.append(fn(claim_id, text, source))
        except Exception as exc:  # a missing or failing layer makes the claim not checkable, with why
            out.append(not_checkable(claim_id, text, source, None, "",
                                     f"the tool could not evaluate it: {type(exc).__name__}: {exc}"))
        if progress is not None:
            progress(i + 1, len(CHECKS))
    return Claims(out)


__all__ = ["Claim", "Claims", "VERDICTS", "check_claims", "judge", "make", "not_checkable"]

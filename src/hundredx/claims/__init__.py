"""The quantitative claims of the three-layer co-design thesis, checked with the tool's own models.

Each claim is a computation (model accounting, chip catalog, kernel efficiency model) or a
scenario pair (stack files in `examples/`) that the tool evaluates. Result: the claimed
figure, the tool's figure and a verdict:
  consistent      the tool's figure is inside the claimed value / range widened by the
                  claim's tolerance factor `tol` (value v claimed c: c/tol <= v <= c*tol;
                  range [lo, hi]: lo/tol <= v <= hi*tol; a bound "> c": v >= c/tol).
                  tol = 1 + 1e-9 for exact arithmetic, 1.15 for kernel figures measured by
                  their authors, 1.5 for system-level ratios (marketing figures depend on
                  settings the claim does not state).
  inconsistent    outside that band.
  not checkable   the tool has no model of something the claim needs, a needed module or file
                  is missing, or the only evidence is circular (a catalog entry derived from the
                  claim itself); `why` says which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

VERDICTS = ("consistent", "inconsistent", "not checkable")


@dataclass
class Claim:
    id: str
    claim: str
    source: str
    claimed: float | list | None
    tool: float | None
    unit: str
    tol: float
    verdict: str
    why: str
    kind: str = "value"  # value | range | at_least
    details: dict | None = None

    @property
    def claimed_text(self) -> str:
        if self.kind == "range" and isinstance(self.claimed, list):
            return f"{self.claimed[0]:g}-{self.claimed[1]:g} {self.unit}"
        prefix = ">" if self.kind == "at_least" else "~"
        return "-" if self.claimed is None else f"{prefix}{self.claimed:g} {self.unit}"

    @property
    def tool_text(self) -> str:
        return "-" if self.tool is None else f"{self.tool:.4g} {self.unit}"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["claimed_text"], out["tool_text"] = self.claimed_text, self.tool_text
        return out


def judge(tool: float, claimed, tol: float, kind: str = "value") -> str:
    """Verdict of `tool` against a claimed value, range or lower bound with tolerance factor `tol`."""
    if kind == "range":
        lo, hi = claimed
        return "consistent" if lo / tol <= tool <= hi * tol else "inconsistent"
    if kind == "at_least":
        return "consistent" if tool >= claimed / tol else "inconsistent"
    return "consistent" if claimed / tol <= tool <= claimed * tol else "inconsistent"


def check_claims() -> list[Claim]:
    """Evaluate every claim; a check that cannot run becomes `not checkable` with the reason."""
    from hundredx.claims.checks import CHECKS

    out = []
    for claim_id, text, source, fn in CHECKS:
        try:
            out.append(fn(claim_id, text, source))
        except Exception as exc:  # a missing or failing layer makes the claim not checkable, with why
            out.append(Claim(claim_id, text, source, None, None, "", 1.0, "not checkable",
                             f"the tool could not evaluate it: {type(exc).__name__}: {exc}"))
    return out


__all__ = ["Claim", "VERDICTS", "check_claims", "judge"]

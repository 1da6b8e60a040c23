"""Partial pooling of kernel parameters within an architecture family (hierarchical ridge least squares).

Model (chip c of family F, chip/family.py): log p_c = log T_c(p_F) + delta_c with
delta_c ~ N(0, TAU_LOG^2), where T_c is the datasheet transfer of kernel/transfer.py (latencies
scale with the clock, efficiencies transfer as they are); a case's residual
r_i = log(pred_i / measured_i) has scatter SIGMA_LOG (calibrate/identify.py) and a soft-L1
robust loss (scale F_SCALE, so a few odd cases do not dominate). Solved in two stages
(empirical Bayes):

1. **Family value** `fit_family(members)`: ONE parameter vector, at the clock of the member
   with most cases (the reference), fitted on every member's cases at once, each case priced
   on its own ChipSpec; prior: the analytic defaults with the weak weight PRIOR_WEIGHT
   (sd SIGMA_LOG / PRIOR_WEIGHT in log units), which keeps what the data cannot separate at
   its analytic value.
2. **Chip value** `fit_member(member, family)`: the chip's own cases plus a ridge term pulling
   log p toward the family value fitted WITHOUT the chip's cases (leave-self-out, so its data
   do not count twice), prior sd sqrt(TAU_LOG^2 + se_F^2) (se_F: the family's own standard
   error; a parameter the family did not fit keeps the weak analytic prior). The estimate is
   then shrunk toward the family in proportion to how weakly the chip's data identify it
   (data weight, identify.py); parameters with weight below W_FIT are not fitted at all and
   inherit the family value (or stay analytic).

Only parameters some case constrains enter a least-squares problem (identify.py's data
weight at the prior, >= W_FIT); one value per parameter per chip, never per case. `fit_all`
runs both stages for every family present in the cases and returns the chip and family
documents the fitted files hold (docs/kernels.md, "Families and pooling").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hundredx.calibrate.identify import SIGMA_LOG, W_FIT, data_weights, jacobian, status
from hundredx.chip.spec import ChipSpec
from hundredx.errors import InputError
from hundredx.kernel.cases import KINDS, CaseBatch, case_time, predict_value
from hundredx.kernel.domain import describe_case, domain_of, merge
from hundredx.kernel.params import PARAMS, KernelParams, default_values
from hundredx.kernel.transfer import scaling, to_chip

# ASSUMPTION: the spread of a dimensionless kernel parameter between chips of one family (log units,
# ~10%): same core design, different clocks under load, software versions and measurement harnesses
TAU_LOG = 0.10
PRIOR_WEIGHT = 0.05
ANALYTIC_SD = SIGMA_LOG / PRIOR_WEIGHT
F_SCALE = 0.1


@dataclass
class Member:
    """One chip's cases, prepared for repeated pricing."""

    chip: ChipSpec
    cases: list[dict]
    batch: CaseBatch

    @property
    def analytic(self) -> KernelParams:
        cached = self.__dict__.get("_analytic")
        if cached is None:
            cached = self.__dict__["_analytic"] = KernelParams.analytic(self.chip)
        return cached


@dataclass(frozen=True)
class Prior:
    """Per parameter: the prior center (values at `clock_hz`), its log sd and where it came from."""

    center: dict[str, float]
    sd: dict[str, float]
    source: dict[str, str]
    clock_hz: float


@dataclass(frozen=True)
class Solution:
    values: dict[str, float]  # fitted parameters at the reference clock
    weight: dict[str, float]
    se_log: dict[str, float]
    move: dict[str, float]


def _robust(r: np.ndarray) -> np.ndarray:
    """Soft-L1 residual transform: r for |r| << F_SCALE, ~sqrt(2 F_SCALE |r|) beyond."""
    f = F_SCALE
    return np.sign(r) * np.sqrt(2.0 * f * f * (np.sqrt(1.0 + (r / f) ** 2) - 1.0))


def _params(member: Member, values_ref: dict[str, float], clock_hz: float) -> KernelParams:
    return member.analytic.replace_values(to_chip(values_ref, clock_hz, member.chip))


def solve(members: list[Member], prior: Prior) -> Solution:
    """Ridge least squares of every member's cases around `prior` (module docstring)."""
    from scipy.optimize import least_squares

    names = list(PARAMS)
    center = np.log([max(prior.center[n], 1e-12) for n in names])
    sd = np.array([prior.sd[n] for n in names])
    lo = np.log([max(PARAMS[n].lo, 1e-12) for n in names])
    hi = np.log([PARAMS[n].hi for n in names])
    x_prior = np.clip(center, lo + 1e-9, hi - 1e-9)
    fixed = {n: float(np.exp(x)) for n, x in zip(names, x_prior) if prior.source[n] == "family"}

    def raw(x_sub: np.ndarray, sub: list[int]) -> np.ndarray:
        vals = dict(fixed)
        vals.update({names[j]: float(np.exp(v)) for j, v in zip(sub, x_sub)})
        return np.concatenate([m.batch.log_errors(_params(m, vals, prior.clock_hz)) for m in members])

    kinds = {c["kind"] for m in members for c in m.cases}
    every = [j for j, n in enumerate(names) if _relevant(n, kinds)]
    jac0 = jacobian(lambda x: raw(x, every), x_prior[every])
    w0, se0 = data_weights(jac0, sd[every])
    weight, se = dict(zip(names, [0.0] * len(names))), dict(zip(names, sd.tolist()))
    move = dict.fromkeys(names, 0.0)
    for col, j in enumerate(every):
        weight[names[j]], se[names[j]] = float(w0[col]), float(se0[col])
        move[names[j]] = float(np.max(np.abs(jac0[:, col]), initial=0.0) * 0.05)
    free = [j for j in every if weight[names[j]] >= W_FIT]
    if not free:
        return Solution({}, weight, se, move)

    def residuals(x_sub: np.ndarray) -> np.ndarray:
        return np.concatenate([_robust(raw(x_sub, free)), SIGMA_LOG * (x_sub - x_prior[free]) / sd[free]])

    sol = least_squares(residuals, x_prior[free], bounds=(lo[free] + 1e-10, hi[free] - 1e-10), x_scale=1.0,
                        ftol=1e-6, xtol=1e-6, gtol=1e-8, max_nfev=60 * len(free))
    w1, se1 = data_weights(jacobian(lambda x: raw(x, free), sol.x), sd[free])
    for j, w, s in zip(free, w1, se1):
        weight[names[j]], se[names[j]] = float(w), float(s)
    return Solution({names[j]: float(np.exp(v)) for j, v in zip(free, sol.x)}, weight, se, move)


# the case kinds a parameter can move (by name prefix): others are skipped, their data weight is 0
_PREFIX_KINDS = {"gemm.": {"gemm", "grouped_gemm", "attention"}, "attn.": {"attention"}, "mem.": {"memory"},
                 "grouped.": {"grouped_gemm"}}


def _relevant(name: str, kinds: set[str]) -> bool:
    for prefix, moved in _PREFIX_KINDS.items():
        if name.startswith(prefix):
            return bool(moved & kinds)
    return False  # launch_s, graph_kernel_s, recurrent.eff: no kernel case prices them


def _ape(e: np.ndarray) -> tuple[float, float]:
    ape = np.abs(np.exp(e) - 1.0)
    return float(np.median(ape)), float(np.percentile(ape, 90))


def _domain(member: Member) -> dict:
    descs = []
    for case in member.cases:
        kernel = None
        if case["kind"] == "attention" and not case["config"].get("kernel"):
            kernel = case_time(case, member.chip, KernelParams.analytic(member.chip))[0].parts["kernel"]
        descs.append(describe_case(case, member.chip, kernel))
    return domain_of(descs)


def fit_family(members: list[Member], family: str) -> dict | None:
    """The family document: one vector at the reference member's clock, fitted on all members' cases."""
    if not members:
        return None
    ref = max(members, key=lambda m: (len(m.cases), m.chip.id))
    center = default_values(ref.chip)
    prior = Prior(center, dict.fromkeys(center, ANALYTIC_SD), dict.fromkeys(center, "analytic"), ref.chip.clock_hz)
    sol = solve(members, prior)
    parameters = {n: {"status": "fitted", "value": v, "data_weight": sol.weight[n], "se_log": sol.se_log[n],
                      "max_case_move": sol.move[n], "scaling": scaling(n)} for n, v in sol.values.items()}
    return {"family": family, "reference_chip": ref.chip.id, "reference_clock_hz": ref.chip.clock_hz,
            "members": {m.chip.id: len(m.cases) for m in sorted(members, key=lambda m: m.chip.id)},
            "values": sol.values, "parameters": parameters, "domain": merge(_domain(m) for m in members)}


def member_prior(family: dict | None, chip: ChipSpec) -> Prior:
    """The chip's prior: the family value transferred to the chip (sd sqrt(TAU^2 + se_F^2)), else analytic."""
    center = default_values(chip)
    sd, source = dict.fromkeys(center, ANALYTIC_SD), dict.fromkeys(center, "analytic")
    if family:
        moved = to_chip(family["values"], float(family["reference_clock_hz"]), chip)
        for name, value in moved.items():
            if name in center:
                se = float(family["parameters"].get(name, {}).get("se_log", ANALYTIC_SD))
                center[name], sd[name], source[name] = value, float(np.hypot(TAU_LOG, se)), "family"
    return Prior(center, sd, source, chip.clock_hz)


def fit_member(member: Member, family: dict | None) -> dict:
    """The chip document: its own cases, pooled toward `family` (fitted without them)."""
    chip = member.chip
    prior = member_prior(family, chip)
    sol = solve([member], prior)
    values, parameters = {}, {}
    for name in PARAMS:
        inheritable = prior.source[name] == "family"
        fitted = name in sol.values
        if not (fitted or inheritable or sol.move[name] > 0):
            continue
        value = sol.values[name] if fitted else prior.center[name]
        label = status(sol.weight[name], inheritable) if fitted else ("inherited" if inheritable else "analytic")
        if fitted or inheritable:
            values[name] = value
        parameters[name] = {"status": label, "value": value, "prior": prior.center[name],
                            "prior_source": prior.source[name], "data_weight": sol.weight[name],
                            "se_log": sol.se_log[name], "max_case_move": sol.move[name], "scaling": scaling(name)}
    analytic = KernelParams.analytic(chip)
    before = member.batch.log_errors(analytic.replace_values({k: v for k, v in prior.center.items()
                                                              if prior.source[k] == "family"}))
    after = member.batch.log_errors(analytic.replace_values(values))
    (med0, _), (med1, p90) = _ape(before), _ape(after)
    fitted_keys = [n for n in PARAMS if n in sol.values]
    report = {"n_cases": len(member.cases), "fitted_keys": fitted_keys, "median_ape_before": med0,
              "median_ape": med1, "p90_ape": p90}
    return {"chip": chip.id, "family": chip.family, "values": values, "fitted_keys": fitted_keys,
            "parameters": parameters, "domain": _domain(member), "report": report,
            "prior": (f"family {family['family']} fitted on {', '.join(family['members'])}" if family
                      else "analytic defaults (no other chip of the family has data)"),
            "family_domain": family["domain"] if family else {}}


def members_of(cases: list[dict], chips: dict[str, ChipSpec]) -> tuple[dict[str, Member], dict[str, list]]:
    """(members by chip id, skipped cases by chip id): single-device kernel cases the models can price."""
    by_chip: dict[str, list[dict]] = {}
    for case in cases:
        if case.get("kind") in KINDS and case.get("n_devices", 1) == 1:
            by_chip.setdefault(case["hardware"], []).append(case)
    members, skipped = {}, {}
    for chip_id, group in sorted(by_chip.items()):
        chip = chips[chip_id]
        usable, skip = [], []
        for case in group:
            if (case.get("config") or {}).get("ablation"):  # e.g. FA3's Table 2 rows with a pipelining stage removed
                skip.append({"id": case.get("id"), "reason": f"ablation variant {case['config']['ablation']!r}: "
                             "not the kernel as shipped, so it does not fit that kernel's parameters"})
                continue
            try:
                predict_value(case, chip, KernelParams.analytic(chip))
                usable.append(case)
            except (InputError, KeyError, ValueError) as exc:
                skip.append({"id": case.get("id"), "reason": str(exc)})
        skipped[chip_id] = skip
        if usable:
            members[chip_id] = Member(chip, usable, CaseBatch(usable, chip))
    return members, skipped


def fit_all(cases: list[dict], chips: dict[str, ChipSpec]) -> dict:
    """Both stages for every family of the cases: {"chips": {id: chip doc}, "families": {name: family doc}}.
    A family document carries, per member with data, the family fitted without that member (`without`:
    the member's prior, and what `--calibration family` predicts it with)."""
    members, skipped = members_of(cases, chips)
    by_family: dict[str, list[Member]] = {}
    for m in members.values():
        by_family.setdefault(m.chip.family, []).append(m)
    out: dict = {"chips": {}, "families": {}}
    for family, group in sorted(by_family.items()):
        doc = fit_family(group, family)
        assert doc is not None  # the family has members with data
        without: dict[str, dict | None] = {}
        for m in group:
            others = [o for o in group if o is not m]
            without[m.chip.id] = fit_family(others, family) if others else None
        for m in group:
            out["chips"][m.chip.id] = dict(fit_member(m, without[m.chip.id]), skipped=skipped[m.chip.id])
        doc["without"] = {cid: (None if w is None else {k: w[k] for k in ("reference_chip", "reference_clock_hz",
                                                                            "members", "values", "parameters",
                                                                            "domain")})
                          for cid, w in without.items()}
        out["families"][family] = doc
    return out

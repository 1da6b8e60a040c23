"""What every per-kind case predictor shares: the `Unpredictable` signal and case access.

A predictor is `predict_case(case: dict) -> float`, returning the predicted value in the
case's `metric` unit (docs/cases.md), or raising `Unpredictable(reason)` when the project
cannot predict it honestly (unknown chip, missing format path, unsupported metric...).
The report counts every unpredicted case with its reason; none is dropped.
"""

from __future__ import annotations


class Unpredictable(Exception):
    """The case cannot be predicted; the message is the reason shown in the report."""


def cfg(case: dict, key: str, default=None, required: bool = True):
    """A config field, or Unpredictable naming the missing field."""
    config = case.get("config", {})
    if key in config and config[key] is not None:
        return config[key]
    if required and default is None:
        raise Unpredictable(f"config.{key} missing")
    return default

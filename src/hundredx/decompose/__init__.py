"""Decompose the difference between two stacks into model, kernel and chip factors; find mismatches.

`decompose(a, b, metric)` -> `Decomposition` (log-space Shapley factors over the three
layers, one-at-a-time factors, interaction, ordered waterfall, mismatches); `find_mismatches`
lists the cross-layer mismatches of one stack with their estimated cost.
"""

from hundredx.decompose.core import Decomposition, check_product, decompose
from hundredx.decompose.metrics import DEFAULT_METRIC, METRICS, Evaluation, Infeasible, evaluate, metric_name
from hundredx.decompose.mismatch import Mismatch, find_mismatches
from hundredx.decompose.shapley import interaction, one_at_a_time, shapley_factors, shapley_log
from hundredx.views import callable_package

callable_package(__name__, decompose)  # hundredx.decompose(a, b) is decompose(a, b) (views.py)

__all__ = ["DEFAULT_METRIC", "METRICS", "Decomposition", "Evaluation", "Infeasible", "Mismatch", "check_product",
           "decompose", "evaluate", "find_mismatches", "interaction", "metric_name", "one_at_a_time",
           "shapley_factors", "shapley_log"]

"""Predict: `Stack`, `Workload`, `predict()`, vectorized `predict_many()` and the serving step cost.

Joins the three layers: model ops -> kernel sharding and op costs -> chip collectives.
"""

from hundredx.predict.stack import Stack, Workload
from hundredx.predict.single import Prediction, predict


def predict_many(table):
    from hundredx.predict.many import predict_many as _many

    return _many(table)


__all__ = ["Stack", "Workload", "Prediction", "predict", "predict_many"]

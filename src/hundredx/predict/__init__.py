"""Predict: `predict()`, vectorized `predict_many()`, the cost of forward passes and of a serving step.

Joins the three layers for a `scenario.Stack`: model ops -> kernel sharding and op costs ->
chip collectives. `predict_many` imports pandas, so it is loaded on first use. `predict_steady`
(predict/steady.py) is the steady state a serving benchmark sees at a concurrency or rate.
"""

from hundredx.predict.single import Prediction, predict
from hundredx.views import callable_package

callable_package(__name__, predict)  # hundredx.predict(...) is predict(...) (views.py)


def __getattr__(name: str):
    if name == "predict_many":
        from hundredx.predict.many import predict_many

        return predict_many
    if name == "predict_steady":
        from hundredx.predict.steady import predict_steady

        return predict_steady
    raise AttributeError(f"module 'hundredx.predict' has no attribute {name!r}")


__all__ = ["Prediction", "predict", "predict_many", "predict_steady"]

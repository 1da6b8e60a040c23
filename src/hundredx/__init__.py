"""hundredx: predict, decompose, simulate and search model x kernel x chip stacks.

Three layers, three packages (`model`, `chip`, `kernel`), imports one way; see DESIGN.md.
The public API: `load_model`, `load_chip`, `load_system`, `Stack`, `Workload`, `predict`,
`predict_many`. `hundredx.predict` is the function (the package of the same name stays
importable as `from hundredx.predict.<module> import ...`).
"""

from __future__ import annotations

__version__ = "0.1.0"

from hundredx.chip import load_chip, load_system  # noqa: E402
from hundredx.model import load_model  # noqa: E402
from hundredx.predict import Prediction, Stack, Workload, predict_many  # noqa: E402
from hundredx.predict.single import predict  # noqa: E402  (rebinds the name to the function)

__all__ = ["__version__", "Prediction", "Stack", "Workload", "load_chip", "load_model", "load_system", "predict",
           "predict_many"]

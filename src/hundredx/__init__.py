"""hundredx: predict, decompose, simulate and search model x kernel x chip stacks.

Three layers, three packages (`model`, `kernel`, `chip`), imports one way; see DESIGN.md.
The public API is re-exported lazily so that `import hundredx` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "predict", "predict_many", "Stack", "Workload", "load_model", "load_chip", "load_system"]


def __getattr__(name: str):
    if name in ("predict", "predict_many", "Stack", "Workload"):
        from hundredx import predict as _p

        return getattr(_p, name if name != "predict" else "predict")
    if name == "load_model":
        from hundredx.model import load_model

        return load_model
    if name in ("load_chip", "load_system"):
        from hundredx import chip

        return getattr(chip, name)
    raise AttributeError(name)

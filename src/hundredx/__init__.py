"""hundredx: predict, decompose, simulate and search model x kernel x chip stacks.

Three layers, three packages (`model`, `chip`, `kernel`), imports one way; `scenario` builds
runnable stacks from them, `predict` / `serve` / `decompose` evaluate them (docs/design.md).
The public face is light: `import hundredx` loads nothing heavy (no pandas, matplotlib or
typer); each name below is imported on first use.

    import hundredx
    p = hundredx.predict("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm", batch=8, isl=1024, osl=256)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0.dev0"

_EXPORTS = {
    "load_model": "hundredx.model.zoo", "ModelSpec": "hundredx.model.spec", "list_models": "hundredx.model.zoo",
    "load_chip": "hundredx.chip.catalog", "load_system": "hundredx.chip.catalog", "ChipSpec": "hundredx.chip.spec",
    "SystemSpec": "hundredx.chip.spec", "list_chips": "hundredx.chip.catalog",
    "RuntimeSpec": "hundredx.kernel.runtime", "SpeculativeSpec": "hundredx.kernel.runtime",
    "SchedulerSpec": "hundredx.kernel.runtime", "Disaggregation": "hundredx.kernel.runtime",
    "Stack": "hundredx.scenario.stack", "Workload": "hundredx.scenario.workload",
    "LengthDist": "hundredx.scenario.workload", "Scenario": "hundredx.scenario.build",
    "build": "hundredx.scenario.build",
    "Prediction": "hundredx.predict.single", "predict": "hundredx.predict.single",
    "predict_many": "hundredx.predict.many", "InputError": "hundredx.errors",
    "simulate": "hundredx.serve", "SimResult": "hundredx.serve.result", "Deployment": "hundredx.serve.deploy",
    "deployment_from_stack": "hundredx.serve.from_stack",
    "decompose": "hundredx.decompose", "Decomposition": "hundredx.decompose.core", "search": "hundredx.search",
    "load_stack": "hundredx.stackfile", "SearchResult": "hundredx.search.run",
    "Question": "hundredx.search.space", "validate_files": "hundredx.validate.runner",
    "ValidationReport": "hundredx.validate.runner", "check_claims": "hundredx.claims", "Claim": "hundredx.claims",
    "Claims": "hundredx.claims",
}
_ALIASES = {"SimulationResult": "SimResult"}

__all__ = ["__version__", *sorted(_EXPORTS), *sorted(_ALIASES)]


def __getattr__(name: str) -> Any:
    if name in _ALIASES:
        value = __getattr__(_ALIASES[name])
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hundredx' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_ALIASES))

"""Communication as software runs it: a collective or MoE-dispatch library on a system's links.

`comm_time(system, op, message_bytes, ranks, ..., library)` is the kernel-layer entry point:
the library must be a `collective` row of the kernel catalog (kernel/catalog.py: nccl, rccl,
deepep, nvshmem, trtllm, xla, neuron, hccl, dataflow; None = the chip platform's,
kernel/platforms.py); MoE dispatch / combine go to the DeepEP-style model
(kernel/moe_dispatch.py); every other op is the chip layer's alpha-beta physics
(chip/collectives.py), given the library's capabilities (a one-shot all-reduce kernel:
`one_shot_all_reduce`, TensorRT-LLM's custom all-reduce) and the library's own model
(kernel/comm_libs.py: the algorithms it implements and the link constants fitted on its own
cases; constants no case identifies are NCCL's, flagged by `library_used_note`).
"""

from __future__ import annotations

from hundredx.chip.collectives import CollectiveCost, collective_time
from hundredx.chip.spec import SystemSpec
from hundredx.errors import InputError
from hundredx.kernel import catalog
from hundredx.kernel.comm_libs import assumptions, library_model
from hundredx.kernel.moe_dispatch import DISPATCH_LIBRARY, dispatch_time
from hundredx.kernel.moe_dispatch import OPS as DISPATCH_OPS
from hundredx.kernel.platforms import platform_of


def comm_time(system: SystemSpec, op: str, message_bytes, ranks, scope: str = "auto", algorithm: str = "auto",
              library: str | None = None, check: bool = True, **options) -> CollectiveCost:
    """Time of one collective or MoE dispatch/combine (vectorized as the models are). `library` None:
    the chip platform's collective library (kernel/platforms.py: nccl, rccl, xla, neuron, hccl, dataflow)."""
    if library is None:
        library = DISPATCH_LIBRARY if op in DISPATCH_OPS else platform_of(system.chip).collective
    if op in DISPATCH_OPS:
        return dispatch_time(system, op, ranks, scope=scope, library=library, **options)
    if not catalog.is_known("collective", library):
        raise InputError("library", library, f"unknown; known: {', '.join(catalog.names('collective'))}")
    row = catalog.get("collective", library)
    model = library_model(library)  # None: a row priced with NCCL's constants and algorithms
    return collective_time(system, op, message_bytes, ranks, scope, algorithm, check=check,
                           one_shot_all_reduce=row.one_shot_all_reduce, fit=None if model is None else model.fit(),
                           algorithms=None if model is None else model.algorithms, **options)


def library_used_note(op: str, chip) -> str:
    """'' when the library `comm_time` uses for `op` by default runs on `chip` and every constant of its model
    was fitted on its own cases, else the fallback note (MoE dispatch is the DeepEP model, which runs on
    Hopper and the Blackwell family only; a collective library whose cases do not identify a constant of
    chip/collectives.FIT keeps NCCL's, an ASSUMPTION kernel/comm_libs.assumptions names)."""
    library = DISPATCH_LIBRARY if op in DISPATCH_OPS else platform_of(chip).collective
    note = catalog.library_note("collective", library, chip)
    if op in DISPATCH_OPS:
        return note
    own = assumptions(library)
    return "; ".join(n for n in (note, f"{own} on {chip.id}" if own else "") if n)

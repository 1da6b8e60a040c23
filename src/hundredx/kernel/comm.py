"""Communication as software runs it: a collective or MoE-dispatch library on a system's links.

`comm_time(system, op, message_bytes, ranks, ..., library)` is the kernel-layer entry point:
the library must be a `collective` row of the kernel catalog (kernel/catalog.py: nccl, rccl,
deepep, nvshmem, trtllm, xla, neuron, hccl, dataflow; None = the chip platform's,
kernel/platforms.py); MoE dispatch / combine go to the DeepEP-style model
(kernel/moe_dispatch.py); every other op is the chip layer's alpha-beta physics
(chip/collectives.py), given the library's capabilities (a one-shot all-reduce kernel:
`one_shot_all_reduce`, TensorRT-LLM's custom all-reduce). Numbers are those of the chip model
with that capability; which library runs on which chip is recorded in the catalog rows but
does not change the price.
"""

from __future__ import annotations

from hundredx.chip.collectives import CollectiveCost, collective_time
from hundredx.chip.spec import SystemSpec
from hundredx.errors import InputError
from hundredx.kernel import catalog
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
    return collective_time(system, op, message_bytes, ranks, scope, algorithm, check=check,
                           one_shot_all_reduce=row.one_shot_all_reduce, **options)


FITTED_ON = ("nccl", "rccl")  # chip/collectives.FIT (link efficiencies, protocol ramp): NCCL / RCCL sweeps


def library_used_note(op: str, chip) -> str:
    """'' when the library `comm_time` uses for `op` by default runs on `chip` and the chip layer's fitted
    constants were measured with it, else the fallback note (MoE dispatch is the DeepEP model, which runs on
    Hopper and the Blackwell family only; the link efficiencies and the protocol ramp of
    chip/collectives.FIT were fitted on NCCL/RCCL sweeps, so XLA, Neuron, HCCL and dataflow collectives
    carry them as an assumption)."""
    library = DISPATCH_LIBRARY if op in DISPATCH_OPS else platform_of(chip).collective
    note = catalog.library_note("collective", library, chip)
    if note or op in DISPATCH_OPS or library in FITTED_ON:
        return note
    return (f"{library} collectives on {chip.id} priced with the link efficiencies and protocol ramp fitted on "
            f"NCCL/RCCL sweeps (ASSUMPTION: not fitted on {library} measurements)")

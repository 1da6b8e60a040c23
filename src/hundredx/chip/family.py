"""Architecture families: which chips share a compute architecture (and so kernel behaviour).

A family groups chips whose kernels run on the same core design, so that a dimensionless kernel
efficiency measured on one member transfers to another (kernel/transfer.py says how each
kernel parameter scales; calibrate/pooling.py fits a family value and shrinks each member
toward it). The family is chip data: `ChipSpec.family`, which a catalog YAML may set; left
empty it is derived here from `generation` (and, for TPUs, whose catalog generation is one
"tpu" for every part, from the generation number in the chip's name), so no catalog file has
to change. Families (docs/kernels.md, "Families"):

| family | generations | chips today |
|---|---|---|
| ampere | ampere | A100 |
| hopper | hopper | H100 SXM/PCIe, H200, H800, H20 (same SM90 core; H20 with a cut tensor rate) |
| blackwell | blackwell, blackwell_ultra | B200, B300, GB200, GB300 (SM100/SM103) |
| rubin | rubin | Rubin |
| cdna | cdna3, cdna4 | MI300X, MI325X, MI355X |
| tpu_v5, tpu_v6, tpu_v7 | tpu (+ the number in the name) | v5e and v5p, v6e, TPU7x |
| trainium | trainium | Trainium2, Trainium3 |
| sram_dataflow | lpu, wse | Groq LPU, Cerebras WSE-3 |
| ascend | davinci | Ascend 910C |

A chip whose generation is not in the table is its own family (its id), so nothing is
pooled with it by accident.
"""

from __future__ import annotations

import re

FAMILY_OF_GENERATION: dict[str, str] = {
    "ampere": "ampere", "hopper": "hopper", "blackwell": "blackwell", "blackwell_ultra": "blackwell",
    "rubin": "rubin", "cdna3": "cdna", "cdna4": "cdna", "trainium": "trainium", "lpu": "sram_dataflow",
    "wse": "sram_dataflow", "davinci": "ascend",
}
_TPU_NUMBER = re.compile(r"TPU\s*v?(\d+)", re.IGNORECASE)


def derive_family(generation: str, name: str, chip_id: str) -> str:
    """The family of a chip that does not name one (module docstring's table)."""
    if generation == "tpu":
        found = _TPU_NUMBER.search(name) or _TPU_NUMBER.search(chip_id.replace("-", " "))
        return f"tpu_v{found.group(1)}" if found else chip_id
    return FAMILY_OF_GENERATION.get(generation, chip_id)

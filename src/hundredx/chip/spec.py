"""CHIP layer data: `ChipSpec` (one accelerator) and `SystemSpec` (how chips are wired).

A chip knows nothing of transformers, nor of software: peak dense FLOP/s per compute class
(0 where the format has no hardware path), memory levels, compute units, GEMM tile shape
and operand alignment, power, and its architecture (`generation`), which the kernel
catalog (kernel/catalog.py) matches to say which kernels and libraries run on it, and its
architecture `family` (chip/family.py: derived from `generation` unless the YAML names one),
within which fitted kernel parameters are pooled and transferred. A system
adds the scale-up domain (NVLink/NVSwitch, NVL72, xGMI, TPU ICI, NeuronLink), the scale-out
network, and the topology. Bandwidths are per
direction, per chip, in bytes/s (datasheets quoting bidirectional figures are halved
in the catalog, which says so in `notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hundredx.chip.family import derive_family

TOPOLOGIES = ("switched", "nvl72", "full_mesh", "torus2d", "torus3d", "ring", "single")
SCALEOUT_KINDS = ("fat_tree", "rail_optimized", "torus", "none")
WRAPAROUND = ("always", "full_axis", "cube")  # torus slices: every axis wraps / only a pod-length axis / axes
# that are whole multiples of the 4-chip cube edge (OCS-joined cubes); chip/topology.py


@dataclass(frozen=True, slots=True)
class ChipSpec:
    """One accelerator. `peak_flops_per_s` keys: fp32, tf32, bf16, fp16, fp8, int8, fp6, fp4."""

    id: str
    name: str
    vendor: str
    peak_flops_per_s: dict[str, float]
    mem_bytes: float
    mem_bytes_per_s: float
    mem_kind: str = "hbm"
    l2_bytes: float = 0.0
    num_sms: int = 1
    clock_hz: float = 1.5e9
    gemm_tile_m: int = 128
    gemm_tile_n: int = 128
    gemm_tile_k: int = 64
    alignment_bytes: int = 16
    tdp_w: float = 0.0
    kernel_launch_s: float = 4e-6
    scaleup_bytes_per_s: float = 0.0
    scaleup_latency_s: float = 2e-6
    scaleout_bytes_per_s: float = 0.0
    scaleout_latency_s: float = 5e-6
    pcie_bytes_per_s: float = 0.0
    price_per_hour: float = 0.0
    generation: str = ""
    family: str = ""  # architecture family (chip/family.py); empty: derived from generation
    year: int = 0
    preliminary: bool = False
    sources: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"chip {self.id}: sources must name where the numbers come from")
        for key, value in self.peak_flops_per_s.items():
            if value < 0:
                raise ValueError(f"chip {self.id}: peak_flops_per_s[{key}]={value} is negative")
        if self.mem_bytes_per_s <= 0:
            raise ValueError(f"chip {self.id}: mem_bytes_per_s={self.mem_bytes_per_s} must be positive")
        if self.mem_bytes < 0 or self.num_sms < 1:
            raise ValueError(f"chip {self.id}: mem_bytes={self.mem_bytes}, num_sms={self.num_sms} out of range")
        if not self.family:
            object.__setattr__(self, "family", derive_family(self.generation, self.name, self.id))

    def peak(self, compute: str) -> float:
        """Dense peak FLOP/s for a compute class; 0.0 when the chip has no path for it."""
        return float(self.peak_flops_per_s.get(compute, 0.0))

    @property
    def preliminary_note(self) -> str:
        """'' for a shipped part; for a `preliminary: true` chip the flag every output using it carries."""
        if not self.preliminary:
            return ""
        return (f"chip {self.id}: PRELIMINARY datasheet figures (announced, not shipped; "
                f"see `hundredx chip show {self.id}` notes and sources)")

    @property
    def ridge_flop_per_byte(self) -> float:
        """Arithmetic intensity where BF16 compute and memory time are equal."""
        return self.peak("bf16") / self.mem_bytes_per_s


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """Chips wired into a system: scale-up domain, scale-out network, topology."""

    id: str
    name: str
    chip: ChipSpec
    devices_per_node: int
    scaleup_domain: int
    topology: str
    scaleup_bytes_per_s: float
    scaleup_latency_s: float
    scaleout_bytes_per_s: float
    scaleout_latency_s: float
    scaleout_kind: str = "fat_tree"
    torus_dims: tuple[int, ...] = ()
    wraparound: str = "always"  # torus: which slice axes close into rings (chip/topology.py WRAPAROUND)
    max_devices: int = 0
    in_switch_reduction: bool = False
    scaleout_in_network_reduction: bool = False
    devices: int = 0
    sources: tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"system {self.id}: topology={self.topology!r} not in {TOPOLOGIES}")
        if self.wraparound not in WRAPAROUND:
            raise ValueError(f"system {self.id}: wraparound={self.wraparound!r} not in {WRAPAROUND}")
        if self.scaleout_kind not in SCALEOUT_KINDS:
            raise ValueError(f"system {self.id}: scaleout_kind={self.scaleout_kind!r} not in {SCALEOUT_KINDS}")
        if self.devices_per_node < 1 or self.scaleup_domain < 1:
            raise ValueError(f"system {self.id}: devices_per_node={self.devices_per_node}, "
                             f"scaleup_domain={self.scaleup_domain} must be >= 1")
        if not self.sources:
            raise ValueError(f"system {self.id}: sources must name where the numbers come from")
        if self.topology.startswith("torus") and self.torus_dims and self._dims_product() != self.scaleup_domain:
            raise ValueError(f"system {self.id}: torus_dims={self.torus_dims} do not multiply to "
                             f"scaleup_domain={self.scaleup_domain}")

    def _dims_product(self) -> int:
        product = 1
        for dim in self.torus_dims:
            product *= int(dim)
        return product

    @property
    def nodes(self) -> int:
        """Scale-up domains a `devices`-chip deployment spans (1 when `devices` is unset)."""
        if self.devices <= 0:
            return 1
        return -(-self.devices // self.scaleup_domain)

"""CHIP layer: chip and system specs, the sourced catalog, topologies and collective costs."""

from hundredx.chip.catalog import list_chips, list_systems, load_chip, load_system
from hundredx.chip.collectives import CollectiveCost, busbw_factor, collective_time
from hundredx.chip.spec import ChipSpec, SystemSpec

__all__ = ["ChipSpec", "SystemSpec", "CollectiveCost", "busbw_factor", "collective_time",
           "list_chips", "list_systems", "load_chip", "load_system"]

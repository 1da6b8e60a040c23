"""Which chip a calibration ran on: CUDA device name -> catalog chip id, and the provenance header.

The mapping is a list of (regular expression on the lower-cased device name, chip id),
first match wins, more specific names first ("h100 pcie" before "h100", "gb200" before
"b200", "h200" before "h20"). Names no rule knows need `--chip`.
"""

from __future__ import annotations

import datetime as _dt
import platform
import re
import shlex
import socket
import subprocess
import sys

from hundredx.errors import InputError

CHIP_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,63}$")

DEVICE_RULES: tuple[tuple[str, str], ...] = (
    (r"\b(h100|h200)\b.*\bnvl\b", ""),  # NVL (PCIe) parts: other clocks and TDP, no catalog id -> --chip
    (r"\ba100\b.*\bpcie\b", ""),
    (r"gb300", "gb300"),
    (r"gb200", "gb200"),
    (r"\bb300\b", "b300"),
    (r"\bb200\b", "b200"),
    (r"\bh100\b.*\bpcie\b", "h100-pcie"),
    (r"\bh100\b.*(sxm|hbm3\b|80gb hbm3)", "h100-sxm"),
    (r"\bh100\b$", "h100-sxm"),
    (r"\bh800\b", "h800-sxm"),
    (r"\bh200\b", "h200-sxm"),
    (r"\bh20\b", "h20"),
    (r"\ba100\b.*80gb", "a100-sxm-80gb"),
    (r"mi355x", "mi355x"),
    (r"mi325x", "mi325x"),
    (r"mi300x", "mi300x"),
)


def chip_from_device_name(name: str) -> str | None:
    """Catalog chip id for a CUDA/ROCm device name, or None when no rule (or an exclusion rule) matches."""
    low = " ".join(name.lower().replace("-", " ").replace("_", " ").split())
    for pattern, chip in DEVICE_RULES:
        if re.search(pattern, low):
            return chip or None
    return None


def resolve_chip(device: str, device_name: str, chip: str | None) -> str:
    """The chip id to record: `--chip` when given (checked), `cpu` on CPU, else mapped from the name."""
    if chip is not None and device != "cpu":
        if not CHIP_ID_RE.match(chip) or chip == "cpu":
            raise InputError("chip", chip, "an accelerator's chip id: lower-case letters, digits, '.' and '-' "
                                           "(e.g. h100-sxm), not 'cpu'")
        return chip
    if device == "cpu":
        if chip not in (None, "cpu"):
            raise InputError("chip", chip, "CPU measurements are recorded as chip 'cpu', never as an accelerator")
        return "cpu"
    mapped = chip_from_device_name(device_name)
    if mapped is None:
        raise InputError("chip", None, f"cannot map device name {device_name!r} to a catalog chip id; pass --chip")
    return mapped


def cpu_name() -> str:
    """The host CPU's model name (/proc/cpuinfo on Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _nvidia_smi(field: str) -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if lines else None


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def provenance(backend_info: dict, chip: str, command: list[str] | None = None) -> dict:
    """The profile header: device, chip, driver, CUDA, library versions, date, host, command."""
    gpu = backend_info.get("device_type") == "cuda"
    return {
        "device_name": backend_info["device_name"],
        "chip": chip,
        "chip_from_device_name": chip_from_device_name(backend_info["device_name"]) if gpu else None,
        "backend": backend_info["backend"],
        "driver": _nvidia_smi("driver_version") if gpu else None,
        "cuda": backend_info.get("cuda"),
        "torch": _version("torch"),
        "triton": _version("triton"),
        "numpy": _version("numpy"),
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "command": shlex.join(command if command is not None else sys.argv),
        "timing": backend_info["timing"],
        "device_extra": {k: v for k, v in backend_info.items()
                         if k not in ("device_name", "backend", "cuda", "timing", "device_type")},
        "clocks_mhz": _nvidia_smi("clocks.sm,clocks.max.sm") if gpu else None,
    }

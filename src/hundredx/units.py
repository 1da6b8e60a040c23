"""SI constants and human-readable parsing/formatting (docs/design.md, rule 2).

Everything inside hundredx is SI: bytes, seconds, FLOP, FLOP/s, bytes/s, as floats.
Rates use decimal prefixes (1 GB/s = 1e9 B/s); capacities given in GiB say so.
Conversion happens only at I/O, with the helpers here.
"""

from __future__ import annotations

import re

from hundredx.errors import InputError

KILO = 1e3
MEGA = 1e6
GIGA = 1e9
TERA = 1e12
PETA = 1e15
KiB = 1024.0
MiB = 1024.0**2
GiB = 1024.0**3
TiB = 1024.0**4
US = 1e-6
MS = 1e-3
NS = 1e-9

_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kKmMgGtTpP]?)(i?)([bB]?)\s*$")
_DEC = {"": 1.0, "k": KILO, "m": MEGA, "g": GIGA, "t": TERA, "p": PETA}


def parse_size(text: str | int | float, field: str = "size") -> float:
    """Parse '4096', '1M', '2GiB', '1.5e9' into a float count (binary with 'i')."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _SIZE_RE.match(str(text))
        if not match:
            raise InputError(field, text, "not a size (examples: 4096, 64K, 1MiB, 2G)")
        number, prefix, binary, _ = match.groups()
        scale = 1024.0 ** ("kmgtp".index(prefix.lower()) + 1) if binary and prefix else _DEC[prefix.lower()]
        value = float(number) * scale
    if value < 0:
        raise InputError(field, text, "must not be negative")
    return value


def fmt_si(value: float, unit: str = "", digits: int = 3) -> str:
    """Format with a decimal SI prefix: fmt_si(3.35e12, 'B/s') -> '3.35 TB/s'."""
    if value == 0 or value != value:
        return f"{value:g} {unit}".strip()
    for scale, prefix in ((PETA, "P"), (TERA, "T"), (GIGA, "G"), (MEGA, "M"), (KILO, "k"), (1.0, ""), (MS, "m"),
                          (US, "µ"), (NS, "n")):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def fmt_time(seconds: float) -> str:
    """Format a duration: 0.0123 -> '12.3 ms'."""
    return fmt_si(seconds, "s")


def fmt_bytes(n: float) -> str:
    """Format a byte count with binary prefixes: 80e9 -> '74.5 GiB'."""
    for scale, prefix in ((TiB, "Ti"), (GiB, "Gi"), (MiB, "Mi"), (KiB, "Ki")):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {prefix}B"
    return f"{n:.0f} B"

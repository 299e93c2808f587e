"""How a number of bytes is written for people: one function for the pages, the commands and the
exports, so the same object never reads "2.6 MB" on one screen and "2.7 MB" on another.

Decimal (SI) units, as object stores and their bills count: 1 kB = 1,000 bytes, 1 MB = 1,000,000.
"""
from __future__ import annotations

UNITS = ("kB", "MB", "GB", "TB", "PB")


def byte_size(n) -> str:
    """``2444445`` -> ``"2.4 MB"``; ``999`` -> ``"999 bytes"``; ``1`` -> ``"1 byte"``; None -> ``"0 bytes"``."""
    try:
        n = int(n or 0)
    except (TypeError, ValueError):
        return "0 bytes"
    if abs(n) < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    value = float(n)
    for unit in UNITS:
        value /= 1000
        # round first, so 999,960 bytes reads "1.0 MB", never "1000.0 kB"
        if abs(round(value, 1)) < 1000 or unit == UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")

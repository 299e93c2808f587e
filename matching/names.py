"""IDs in file names: `C0001234.jp2` ~ `C1234a.tif` ~ `c1234-b.jpeg` all give ``C1234``.

Patterns are regular expressions searched in the file's stem (name without folder and extension).
A pattern may use named groups ``prefix`` and ``num``; otherwise group 1 (or the whole match) is
taken. IDs are normalised: letters upper-cased, leading zeros of the number removed.
"""
from __future__ import annotations

import re
from pathlib import PurePath

# one or two letters then 4-12 digits, as a whole word, optionally followed by one letter
# (copy suffix) or a separator; "IMG_1234" (camera counters) is deliberately not an ID.
DEFAULT_ID_PATTERNS = [r"(?<![A-Za-z0-9])(?P<prefix>[A-Za-z]{1,2})(?P<num>\d{4,12})(?=[A-Za-z]?(?:$|[^A-Za-z0-9]))"]


def compile_patterns(patterns=None):
    pats = DEFAULT_ID_PATTERNS if not patterns else patterns
    return [p if isinstance(p, re.Pattern) else re.compile(p) for p in pats]


def _normalise(m: re.Match) -> str:
    gd = m.groupdict()
    if gd.get("num") is not None:
        num = gd["num"].lstrip("0") or "0"
        return (gd.get("prefix") or "").upper() + num
    text = m.group(1) if m.re.groups else m.group(0)
    return re.sub(r"\d+", lambda d: d.group(0).lstrip("0") or "0", text).upper()


def extract_ids(name: str, patterns=None) -> list:
    """Normalised IDs found in ``name`` (a file name or key; folders and extension are ignored)."""
    stem = PurePath(str(name).replace("\\", "/")).name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    out = []
    for p in compile_patterns(patterns):
        for m in p.finditer(stem):
            ident = _normalise(m)
            if ident and ident not in out:
                out.append(ident)
    return out

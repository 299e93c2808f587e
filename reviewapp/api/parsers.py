"""The API's JSON parser: DRF's, with a bound on how deep a body may nest.

Python's json module recurses once per nesting level, so ten kilobytes of `[[[[...` end in a
RecursionError, which DRF does not treat as a parse error: it surfaced as a 500. No Doppel body
nests more than a few levels; a body that nests deeper than MAX_DEPTH is refused as malformed
before it is decoded.
"""
from __future__ import annotations

import io

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def nesting_depth(raw: bytes) -> int:
    """How deep the brackets of a JSON text nest, skipping strings (one pass, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and nesting_depth(raw) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels")
        return super().parse(io.BytesIO(raw), media_type, parser_context)

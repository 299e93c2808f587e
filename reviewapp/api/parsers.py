"""The API's JSON parser: DRF's, with a bound on how deep a body may nest.

Python's json module recurses once per nesting level, so ten kilobytes of `[[[[...` end in a
RecursionError, which DRF does not treat as a parse error: it surfaced as a 500. No Doppel body
nests more than a few levels; a body that nests deeper than MAX_DEPTH is refused as malformed
before it is decoded. The depth is read from the text in the charset the request declares (UTF-16
and UTF-32 bodies are decoded by DRF too: counting their bytes let a quote byte inside a character
hide the nesting), and a RecursionError that still happens is a parse error as well.
"""
from __future__ import annotations

import codecs
import io
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32
_TOKENS = re.compile(r'[\[\]{}"\\]')


def nesting_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, skipping strings (one pass over the brackets,
    quotes and backslashes only, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    last = -2
    for m in _TOKENS.finditer(text):
        ch, at = m.group(), m.start()
        if in_string:
            if escaped and at == last + 1:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            else:
                escaped = False
            last = at
            continue
        if ch == '"':
            in_string, escaped = True, False
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
        last = at
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        # Only a body with that many bracket bytes can nest that deep (in UTF-8, -16 and -32 every
        # bracket holds its ASCII byte): the others are not decoded twice. A charset that writes
        # brackets otherwise still meets the RecursionError below.
        if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
            encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
            try:
                text = codecs.decode(raw, encoding)
            except (LookupError, UnicodeDecodeError) as exc:
                raise ParseError(f"JSON parse error - the body is not valid {encoding}: {exc}") from None
            if nesting_depth(text) > MAX_DEPTH:
                raise ParseError(f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels")
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels") from None

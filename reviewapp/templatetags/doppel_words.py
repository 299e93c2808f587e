"""Numbers and records as people read them, on every page. Loaded as template builtins
(settings.TEMPLATES), so no page falls back to Django's 1024-based `filesizeformat` (another
number than the commands print for the same bytes) or prints a raw Python dict.

- `{{ n|bytesize }}`: the app's one way of writing a byte count (reviewapp.units.byte_size);
- `{{ delta|waited }}`: a time waited as people say it ("2 minutes", "3 hours");
- `{{ event.detail|detail_words }}`: an event's detail (a JSON object) as "key: value · …";
- `{{ asset.name|bidi_visible }}`: a file name or key with its bidirectional control characters
  shown as "⟨U+202E⟩" (a right-to-left override made "C0001010<U+202E>gpj.png" read ".jpg");
- `{{ form|form_error_summary }}`: what a form the server refused got wrong, field by field, in one
  sentence for the page's alert region (base.html's live include).
"""
import re

from django import template

from ..units import byte_size

register = template.Library()


@register.filter
def bytesize(n) -> str:
    return byte_size(n)


@register.filter
def waited(delta) -> str:
    """A timedelta (or seconds) as "45 seconds", "1 minute", "3 hours", "2 days": its largest whole unit."""
    seconds = int(delta.total_seconds() if hasattr(delta, "total_seconds") else (delta or 0))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _value(key: str, v) -> str:
    if v is None or v == "" or v == [] or v == {}:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and (key == "bytes" or key.endswith("_bytes") or key == "size"):
        return byte_size(v)
    if isinstance(v, dict):
        return "(" + detail_words(v, sep=", ") + ")"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value("", x) for x in v)
    return str(v)


@register.filter
def detail_words(detail, sep=" · ") -> str:
    """{"kind": "delete", "by_parent": 3, "bytes": 2000} -> "kind: delete · by parent: 3 · bytes: 2.0 kB".
    Anything that is not a JSON object is written as it is; an empty one as "—"."""
    if not isinstance(detail, dict):
        return "—" if detail in (None, "") else str(detail)
    if not detail:
        return "—"
    return sep.join(f"{str(k).replace('_', ' ')}: {_value(str(k), v)}" for k, v in detail.items())


@register.filter
def form_error_summary(form) -> str:
    """"The form was not accepted: Max diff: Enter a whole number. …" (empty for a form without
    errors, or for anything that is not a form)."""
    errors = getattr(form, "errors", None)
    if not errors:
        return ""
    parts = []
    for name, errs in errors.items():
        field = form.fields.get(name) if name != "__all__" else None
        label = (field.label or name.replace("_", " ").capitalize()) if field is not None else ""
        text = " ".join(str(e) for e in errs)
        parts.append(f"{label}: {text}" if label else text)
    n = len(parts)
    head = "The form was not accepted" if n == 1 else f"The form was not accepted ({n} problems)"
    return bidi_visible(f"{head}: " + " ".join(parts))  # (the errors may name files or lists)


# the characters that reorder the text around them (LRM, RLM, ALM, embeddings, overrides, isolates)
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@register.filter(is_safe=True)
def bidi_visible(value) -> str:
    """A name or key as it is stored, each bidirectional control shown as "⟨U+202E⟩" rather than
    obeyed: one filter for every place a file name or key is shown, and for every sentence the
    server builds around one (messages, form errors, a plan item's or a job's reason), where a
    U+202E in the name reordered the rest of the sentence. is_safe: what it puts in holds no HTML,
    so an already escaped sentence (an error list's markup) stays escaped once, not twice."""
    if value is None:
        return ""
    return BIDI_CONTROLS.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", str(value))

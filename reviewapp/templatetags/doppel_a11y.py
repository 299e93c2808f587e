"""Words for what the review page otherwise only shows: where the damage is, what was done to the
kept copy to align it, and why D would be refused. Screen-reader users get the same facts as the
outlined box, the rotation badge and the server's refusal."""
from __future__ import annotations

from django import template

from matching.verdict import not_safe_words, turn_words

from ..services.review import approve_refusal, kept_intact
from .doppel_words import bidi_visible

register = template.Library()

EDGE = 2.0  # percent: a region this close to an edge is taken to reach it


def _pct(value) -> float | None:
    try:
        return float(str(value).strip().rstrip("%"))
    except (TypeError, ValueError):
        return None


@register.filter
def region_words(box) -> str:
    """A damaged region ({top, left, width, height} in percent, numbers or "12.5%" strings) in
    words: "bottom 49%", "right 30%", "a band 20% high from 40% down", or where a smaller area sits."""
    if not isinstance(box, dict):
        return ""
    top, left, width, height = (_pct(box.get(k)) for k in ("top", "left", "width", "height"))
    if None in (top, left, width, height) or width <= 0 or height <= 0:
        return ""
    bottom, right = top + height, left + width
    full_width = left <= EDGE and right >= 100 - EDGE
    full_height = top <= EDGE and bottom >= 100 - EDGE
    if full_width and full_height:
        return "the whole picture"
    if full_width:
        if top <= EDGE:
            return f"top {height:.0f}%"
        if bottom >= 100 - EDGE:
            return f"bottom {height:.0f}%"
        return f"a band {height:.0f}% high, from {top:.0f}% to {bottom:.0f}% down"
    if full_height:
        if left <= EDGE:
            return f"left {width:.0f}%"
        if right >= 100 - EDGE:
            return f"right {width:.0f}%"
        return f"a strip {width:.0f}% wide, from {left:.0f}% to {right:.0f}% across"
    cy, cx = top + height / 2, left + width / 2
    vertical = "upper" if cy < 100 / 3 else "lower" if cy > 200 / 3 else "middle"
    horizontal = "left" if cx < 100 / 3 else "right" if cx > 200 / 3 else "centre"
    where = "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"
    return f"an area {width:.0f}% wide and {height:.0f}% high in the {where}"


# The engine measures a turn counter-clockwise (matching.decode.dihedral): the kept copy turned
# that way looks like the clean-up copy. Every arrow shown beside a turn is this one, and every
# word comes from matching.verdict.turn_words, so arrow and words cannot disagree.
TURN_ARROW = "\u21ba"  # ↺ anticlockwise open circle arrow
MIRROR_ARROW = "\u21cb"  # ⇋


@register.filter
def turn(candidate) -> str:
    """A candidate's turn in words: "turned 90° counter-clockwise", "mirrored", "turned 180° and
    mirrored"; "" when it is not turned at all."""
    if candidate is None or not (candidate.rotation or candidate.flipped):
        return ""
    return turn_words(candidate.rotation, candidate.flipped)


@register.filter
def turn_arrow(candidate) -> str:
    """The glyph for a candidate's turn: ↺ for a turn (counter-clockwise, as its words say), ⇋ for
    a mirror only, both for both; "" when nothing was applied."""
    if candidate is None:
        return ""
    return (TURN_ARROW if int(candidate.rotation or 0) % 360 else "") + (MIRROR_ARROW if candidate.flipped else "")


@register.filter
def damage_percent(score) -> str:
    """A damage_score (0..1) as a share of the picture in words: "22%", "under 1%"."""
    try:
        pct = float(score) * 100
    except (TypeError, ValueError):
        return ""
    return "under 1%" if 0 < pct < 1 else f"{pct:.0f}%"


@register.simple_tag
def alignment_words(candidate) -> str:
    """What was applied to the kept copy to line it up with the clean-up copy ("" when nothing)."""
    words = turn(candidate)
    return f"{words} to align" if words else ""


@register.simple_tag
def approve_refused(item, candidate) -> str:
    """Why D (approve deletion) would be refused for this file, from the service's own rule."""
    return approve_refusal(item, candidate) or ""


@register.simple_tag
def not_safe_reasons(item, candidate) -> list:
    """Why the engine would not mark this pair safe to delete, in a curator's words, from the
    engine's own rule (matching.verdict.not_safe_words) over the stored rows."""
    if candidate is None:
        return []
    if candidate.safe_to_delete:
        return []
    match = candidate.match_asset
    words = not_safe_words(
        verdict=candidate.verdict, rotation=candidate.rotation, flipped=candidate.flipped,
        corrupt_side=candidate.corrupt_side, kept=match, cleanup=item.asset,
        kept_intact=kept_intact(match))
    # none of the rule's reasons applies: the engine's own (e.g. no full-detail rendition to prove it)
    return words or [str(r) for r in (candidate.reasons or [])[:2]]


@register.simple_tag
def pane_alt(side, asset, candidate=None, flag=None, aligned=True) -> str:
    """The alt text of one side's image: which copy, which file, what was applied to align it and
    where it is damaged, e.g. "Kept copy C0001009.jp2, turned 180° to align, damaged: bottom 49%"."""
    if asset is None:
        return ""
    words = [f"{'Kept copy' if side == 'match' else 'Clean-up copy'} {bidi_visible(asset.name)}"]
    if side == "match":
        applied = alignment_words(candidate) if aligned else ""
        if applied:
            words.append(applied)
        elif not aligned and candidate is not None and (candidate.rotation or candidate.flipped):
            words.append("as stored, not turned to align")
    box = (flag or {}).get("box") if isinstance(flag, dict) else None
    if box and region_words(box) and (side == "cleanup" or aligned):
        words.append(f"damaged: {region_words(box)}")
    return ", ".join(words)

"""Reads for the takedown page: every copy of a picture the engine paired with it."""
from __future__ import annotations

from django.db.models import Q

from matching.verdict import DECLARED_VERDICTS

from ..models import Asset, Candidate, Takedown

# Verdicts that declare "the same picture" (damaged on one side or not): the engine's own set.
# `different`, `unreadable` and `no_match` pair nothing.
MATCH_VERDICTS = sorted(DECLARED_VERDICTS)


def taken_down_ids(asset_ids) -> set[int]:
    """Which of these assets a legal takedown removed: every image of them (and of any pair
    involving them) answers 410 Gone, so no page asks for one (reviewapp.services.takedown)."""
    ids = [a for a in asset_ids if a]
    return set(Takedown.objects.filter(asset_id__in=ids).values_list("asset_id", flat=True)) if ids else set()


def copies_of(assets, *, limit=500) -> list[dict]:
    """The other copies of these pictures: assets linked to them by a candidate whose verdict
    declares a match, in any source, canonical included, followed through shared copies (a
    clean-up copy of the same canonical is a copy too). Each with the pairing that links it."""
    start = {a.pk for a in assets}
    seen = set(start)
    frontier = set(start)
    out = []
    while frontier and len(out) < limit:
        cands = (Candidate.objects.filter(verdict__in=MATCH_VERDICTS)
                 .filter(Q(cleanup_asset_id__in=frontier) | Q(match_asset_id__in=frontier))
                 .select_related("cleanup_asset__source", "match_asset__source").order_by("pk"))
        nxt = set()
        for c in cands:
            for near, other in ((c.cleanup_asset, c.match_asset), (c.match_asset, c.cleanup_asset)):
                if near.pk in frontier and other.pk not in seen and len(out) < limit:
                    seen.add(other.pk)
                    nxt.add(other.pk)
                    out.append({"asset": other, "via": near, "verdict": c.get_verdict_display(), "candidate": c})
        frontier = nxt
    gone = set(Takedown.objects.filter(asset_id__in=[o["asset"].pk for o in out]).values_list("asset_id", flat=True))
    for o in out:
        o["taken_down"] = o["asset"].pk in gone
        o["vanished"] = o["asset"].state == Asset.State.VANISHED
    return out


def takedown_list():
    return Takedown.objects.select_related("asset__source", "actor")

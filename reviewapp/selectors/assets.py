"""Asset read queries shared by the dashboard, the jobs pages and the commands."""
from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from ..models import Asset, DeletionItem, NameListEntry, Source
from ..services.exports import csv_text  # pure cell formatting, no service (see the import contracts)


def _left_qs():
    gone = DeletionItem.objects.filter(
        asset=OuterRef("pk"), state__in=[DeletionItem.State.QUARANTINED, DeletionItem.State.PURGED]
    )
    return (
        Asset.objects.filter(source__role=Source.Role.CLEANUP)
        .exclude(state=Asset.State.VANISHED)
        .exclude(Exists(gone))
    )


def cleanup_left() -> tuple[int, int]:
    """(objects, bytes) still present in clean-up sources: the number a clean-up report leads
    with ("N objects / X GB left in clean-up")."""
    agg = _left_qs().aggregate(n=Count("id"), b=Sum("size"))
    return agg["n"] or 0, agg["b"] or 0


def source_asset_counts(source) -> dict:
    rows = Asset.objects.filter(source=source).values("state").annotate(n=Count("id"), b=Sum("size"))
    out = {s: {"count": 0, "bytes": 0} for s in Asset.State.values}
    for r in rows:
        out[r["state"]] = {"count": r["n"], "bytes": r["b"] or 0}
    return out


def assets_needing_analysis(qs, engine_version):
    """Assets that can be analysed now and have not been analysed at this ETag and engine."""
    ready = qs.filter(state__in=[Asset.State.LISTED, Asset.State.AVAILABLE, Asset.State.FINGERPRINTED, Asset.State.UNREADABLE])
    done = Q(engine_version=engine_version) & Q(analysed_etag=F("etag")) & Q(analysis__isnull=False)
    return ready.exclude(done)



def namelist_misses(namelist):
    """Entries that did not resolve to exactly one asset (not found, or ambiguous)."""
    return namelist.entries.filter(
        status__in=[NameListEntry.Status.NOT_FOUND, NameListEntry.Status.AMBIGUOUS]
    ).order_by("line")


NAMELIST_MISSES_HEADER = ["line", "name", "status", "matches"]


def namelist_misses_csv(namelist) -> str:
    """The misses as a CSV people can fix and upload again (line, name, status, matches), the
    same file from the UI, the API and `doppel_namelist --misses`. Names come from an uploaded
    file, so every cell is neutralised like every other export (the upload strips that mark)."""
    rows = ((e.line, e.raw, e.status, " | ".join(a.key for a in e.assets.all()))
            for e in namelist_misses(namelist).prefetch_related("assets"))
    return csv_text(NAMELIST_MISSES_HEADER, rows)


def namelist_selection(namelist):
    """The assets a name list selects (lines that resolved to exactly one asset)."""
    return Asset.objects.filter(
        namelist_entries__namelist=namelist, namelist_entries__status=NameListEntry.Status.FOUND
    ).distinct()

"""Read queries behind the sources and assets browsing pages. Counts are aggregated in the
database (one query per page, whatever the size of the source) so a bucket of hundreds of
thousands of objects lists as fast as the demo collection."""
from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, Sum

from ..models import Asset, Candidate, DeletionItem, Job, Source, Takedown

QUARANTINED = ("quarantined", "Quarantined")


def in_quarantine():
    """Exists() for an Asset queryset: its object sits in quarantine now (restorable until purged).
    Quarantine moves the object away, so the asset is also `vanished`; these two are told apart."""
    return Exists(DeletionItem.objects.filter(asset=OuterRef("pk"), state=DeletionItem.State.QUARANTINED))


def taken_down():
    """Exists() for an Asset queryset: a legal takedown removed it (its pictures answer 410)."""
    return Exists(Takedown.objects.filter(asset=OuterRef("pk")))


def _quarantined_by_source(source_ids=None) -> dict:
    qs = DeletionItem.objects.filter(state=DeletionItem.State.QUARANTINED)
    if source_ids is not None:
        qs = qs.filter(asset__source_id__in=source_ids)
    rows = qs.values("asset__source_id").annotate(n=Count("asset", distinct=True), b=Sum("asset__size")).order_by()
    return {r["asset__source_id"]: (r["n"], r["b"] or 0) for r in rows}


def sources_with_counts():
    """Sources annotated with the objects present in them (n_assets, n_bytes): vanished and
    quarantined objects are no longer in the source, so they are not counted there."""
    present = ~Q(assets__state=Asset.State.VANISHED)
    return Source.objects.annotate(n_assets=Count("assets", filter=present), n_bytes=Sum("assets__size", filter=present))


def source_list():
    """Every source with its object count, bytes, and count per asset state (quarantined objects
    counted as quarantined, not as vanished)."""
    per_state = {f"n_{value}": Count("assets", filter=Q(assets__state=value)) for value in Asset.State.values}
    sources = list(sources_with_counts().annotate(**per_state).order_by("role", "name"))
    quarantined = _quarantined_by_source([s.pk for s in sources])
    for source in sources:
        n_q = quarantined.get(source.pk, (0, 0))[0]
        source.n_quarantined = n_q
        counts = {value: getattr(source, f"n_{value}") for value in Asset.State.values}
        counts[Asset.State.VANISHED] -= n_q
        source.state_counts = [(value, label, counts[value]) for value, label in Asset.State.choices if counts[value] > 0]
        if n_q:
            source.state_counts.append((*QUARANTINED, n_q))
    return sources


def source_formats(source):
    """The formats seen in a source, for the filter menu."""
    return list(
        Asset.objects.filter(source=source).exclude(format="").order_by("format").values_list("format", flat=True).distinct()
    )


def source_assets(source, *, state="", format="", decode_status=None, q=""):
    """A source's assets, filtered; every argument is an already-validated value."""
    qs = Asset.objects.filter(source=source).annotate(quarantined=in_quarantine(), taken_down=taken_down())
    if state:
        qs = qs.filter(state=state)
    if format:
        qs = qs.filter(format=format)
    if decode_status is not None:
        qs = qs.filter(decode_status=decode_status)
    if q:
        qs = qs.filter(key__icontains=q)
    return qs.order_by("key", "id")


def source_totals(source):
    """Objects present in the source (n_assets, n_bytes), objects listed once and no longer there
    (n_gone: vanished, moved to quarantine or taken down; the object list shows them too, so the
    page says both numbers), and those of them now in quarantine."""
    present = ~Q(state=Asset.State.VANISHED)
    totals = Asset.objects.filter(source=source).aggregate(
        n_assets=Count("id", filter=present), n_bytes=Sum("size", filter=present),
        n_gone=Count("id", filter=~present))
    totals["n_quarantined"], totals["quarantined_bytes"] = _quarantined_by_source([source.pk]).get(source.pk, (0, 0))
    return totals


def source_recent_jobs(source, limit=5):
    return list(Job.objects.filter(source=source).order_by("-created_at", "-id")[:limit])


def asset_detail(asset_id):
    """The asset, its candidates in both directions and its review item (or None)."""
    asset = (Asset.objects.select_related("source").annotate(quarantined=in_quarantine(), taken_down=taken_down())
             .get(pk=asset_id))
    as_cleanup = list(
        Candidate.objects.filter(cleanup_asset=asset).select_related("match_asset__source").order_by("rank", "id")
    )
    as_match = list(
        Candidate.objects.filter(match_asset=asset).select_related("cleanup_asset__source").order_by("cleanup_asset__key", "id")[:200]
    )
    try:
        review = asset.review
    except Asset.review.RelatedObjectDoesNotExist:
        review = None
    return {"asset": asset, "as_cleanup": as_cleanup, "as_match": as_match, "review": review}

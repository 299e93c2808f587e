"""Read queries behind the sources and assets browsing pages. Counts are aggregated in the
database (one query per page, whatever the size of the source) so a bucket of hundreds of
thousands of objects lists as fast as the demo collection."""
from __future__ import annotations

from django.db.models import Count, Q, Sum

from ..models import Asset, Candidate, Job, Source


def source_list():
    """Every source with its object count, bytes, and count per asset state."""
    per_state = {f"n_{value}": Count("assets", filter=Q(assets__state=value)) for value in Asset.State.values}
    sources = list(
        Source.objects.annotate(n_assets=Count("assets"), n_bytes=Sum("assets__size"), **per_state).order_by("role", "name")
    )
    for source in sources:
        source.state_counts = [
            (value, label, getattr(source, f"n_{value}"))
            for value, label in Asset.State.choices
            if getattr(source, f"n_{value}")
        ]
    return sources


def source_formats(source):
    """The formats seen in a source, for the filter menu."""
    return list(
        Asset.objects.filter(source=source).exclude(format="").order_by("format").values_list("format", flat=True).distinct()
    )


def source_assets(source, *, state="", format="", decode_status=None, q=""):
    """A source's assets, filtered; every argument is an already-validated value."""
    qs = Asset.objects.filter(source=source)
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
    return Asset.objects.filter(source=source).aggregate(n_assets=Count("id"), n_bytes=Sum("size"))


def source_recent_jobs(source, limit=5):
    return list(Job.objects.filter(source=source).order_by("-created_at", "-id")[:limit])


def asset_detail(asset_id):
    """The asset, its candidates in both directions and its review item (or None)."""
    asset = Asset.objects.select_related("source").get(pk=asset_id)
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

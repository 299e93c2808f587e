"""Read side of reingest."""
from django.db.models import Count

from ..models import ReingestItem


def reingest_list(*, state=None, asset=None):
    qs = ReingestItem.objects.select_related("asset__source", "canonical_asset__source", "created_by")
    if state:
        qs = qs.filter(state=state)
    if asset is not None:
        qs = qs.filter(asset=asset)
    return qs


def reingest_counts() -> dict:
    counts = {s: 0 for s in ReingestItem.State.values}
    for row in ReingestItem.objects.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


def reingest_verified_for(asset) -> bool:
    return ReingestItem.objects.filter(asset=asset, state=ReingestItem.State.VERIFIED).exists()

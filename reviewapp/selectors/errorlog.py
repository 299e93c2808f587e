"""Read side of the error log: the filtered list admins see and the rows of its exports."""
from __future__ import annotations

from django.urls import reverse

from ..models import ErrorLogEntry

EXPORT_HEADER = [
    "id", "logged_at", "category", "source", "key", "kept_source", "kept_key", "note", "curator", "withdrawn", "link",
]


def error_log_list(*, category=None, source=None, curator=None, date_from=None, date_to=None, include_withdrawn=False,
                   withdrawn=None):
    """`withdrawn` True/False keeps exactly those entries (the API's filter); None leaves it to
    `include_withdrawn`. `source` and `curator` may be rows or primary keys, dates ISO strings."""
    qs = ErrorLogEntry.objects.select_related("asset__source", "match_asset__source", "created_by", "asset__review")
    if withdrawn is not None:
        qs = qs.filter(withdrawn=bool(withdrawn))
    elif not include_withdrawn:
        qs = qs.filter(withdrawn=False)
    if category:
        qs = qs.filter(category=category)
    if source:
        qs = qs.filter(asset__source=source)
    if curator:
        qs = qs.filter(created_by=curator)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs


ROW_FIELDS = (
    "pk", "created_at", "category", "asset__source__name", "asset__key", "match_asset__source__name", "match_asset__key", "note", "created_by__username", "withdrawn", "asset_id",
    "asset__review__id",
)


def error_log_rows(qs, *, base_url=""):
    """Export rows as plain tuples (values_list + iterator: no model instances, constant memory).
    Links go to the file view: the review page when the file has one, else the asset page; they
    are built from a URL template rather than reverse() per row."""
    marker = "987654321"
    review_url = base_url.rstrip("/") + reverse("review-item", args=[int(marker)])
    asset_url = base_url.rstrip("/") + reverse("asset-detail", args=[int(marker)])
    labels = dict(ErrorLogEntry.Category.choices)
    for (pk, created, category, source, key, m_source, m_key, note, curator, withdrawn, asset_id,
         review_id) in qs.values_list(*ROW_FIELDS).iterator(chunk_size=2000):
        link = review_url.replace(marker, str(review_id)) if review_id else asset_url.replace(marker, str(asset_id))
        yield [pk, created, labels.get(category, category), source, key, m_source or "", m_key or "",
               note, curator, "yes" if withdrawn else "", link]

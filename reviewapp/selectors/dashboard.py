from django.db.models import Count, Sum

from ..models import Asset, Source


def dashboard_summary():
    sources = Source.objects.annotate(n_assets=Count("assets"), n_bytes=Sum("assets__size")).order_by("role", "name")
    return {"sources": sources, "assets": Asset.objects.count()}

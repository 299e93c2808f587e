"""Assets and candidates: read-only, filterable."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from .. import models as m
from . import serializers as s
from .base import DoppelViewSet
from .filters import AssetFilter, CandidateFilter


@extend_schema_view(
    list=extend_schema(summary="List assets", tags=["assets"]),
    retrieve=extend_schema(summary="One asset", tags=["assets"]),
)
class AssetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Asset.objects.select_related("source")
    serializer_class = s.AssetSerializer
    filterset_class = AssetFilter


@extend_schema_view(
    list=extend_schema(summary="List candidates (filter by verdict, scores, source, status)", tags=["candidates"]),
    retrieve=extend_schema(summary="One candidate", tags=["candidates"]),
)
class CandidateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Candidate.objects.select_related("cleanup_asset__source", "cleanup_asset__review", "match_asset__source")
    serializer_class = s.CandidateSerializer
    filterset_class = CandidateFilter

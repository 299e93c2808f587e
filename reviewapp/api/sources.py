"""Sources and name lists."""
from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .. import models as m
from ..selectors.assets import namelist_misses_csv
from ..services.namelists import namelist_upload_start
from ..services.sources import source_add
from . import serializers as s
from .base import CSVRenderer, DoppelViewSet
from .filters import NameListFilter, SourceFilter
from .idempotency import idempotent
from .permissions import CuratorReadsAdminWrites


@extend_schema_view(
    list=extend_schema(summary="List sources", tags=["sources"]),
    retrieve=extend_schema(summary="One source", tags=["sources"]),
)
class SourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Source.objects.select_related("created_by")
    serializer_class = s.SourceSerializer
    filterset_class = SourceFilter
    permission_classes = [CuratorReadsAdminWrites]

    @extend_schema(summary="Register a source (admin)", tags=["sources"], request=s.SourceCreateSerializer,
                   responses={201: s.SourceSerializer},
                   description="Refused (400) when it overlaps an existing source, the root is outside the "
                               "allowed roots, or the storage profile is unknown.")
    @idempotent
    def create(self, request):
        data = s.SourceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = source_add(actor=request.user, **data.validated_data)
        return Response(s.SourceSerializer(source).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List name lists with their counts", tags=["name lists"]),
    retrieve=extend_schema(summary="One name list: requested / found / not found / ambiguous", tags=["name lists"]),
)
class NameListViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.NameList.objects.select_related("uploaded_by")
    serializer_class = s.NameListSerializer
    filterset_class = NameListFilter
    permission_classes = [CuratorReadsAdminWrites]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Upload a name list (admin)", tags=["name lists"], request=s.NameListUploadSerializer,
                   responses={202: s.JobSerializer},
                   description="The file is checked at once (400: too large, not text, not CSV, no names) and its "
                               "lines are resolved by a job: 202 with the job (its `namelist` is the list's id) and "
                               "`Location: /api/v1/jobs/{id}/`. Poll the job (or GET /namelists/{id}/: `resolved_at` "
                               "is set, with the counts, when the job is done).")
    @idempotent
    def create(self, request):
        data = s.NameListUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = namelist_upload_start(
            actor=request.user, source=data.validated_data["source"], title=data.validated_data["title"],
            uploaded_file=data.validated_data["file"])
        response = Response(s.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/jobs/{job.pk}/"
        return response

    @extend_schema(summary="Names that were not found or were ambiguous, as CSV", tags=["name lists"],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, filters=False)
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer], filterset_class=None)
    def misses(self, request, pk=None):
        namelist = self.get_object()
        text = namelist_misses_csv(namelist)
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="namelist-{namelist.pk}-misses.csv"'
        return response

"""Extracts: make (admin), read with requested / found / extracted counts, read and download each
archive's manifest, end early; and the takedown page's "every copy of this picture" lookup."""
from __future__ import annotations

import re

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import models as m
from ..selectors import extracts as sel
from ..selectors.review import row_id
from ..selectors.takedown import copies_of
from ..services.exports import csv_lines
from ..services.extracts import EXTRACT_DELETE_CONFIRMATION, extract_create, extract_delete
from .base import CSVRenderer, DoppelViewSet
from .idempotency import idempotent, scoped_key
from .pagination import AscendingIdCursorPagination
from .permissions import IsDoppelAdmin
from .serializers import AssetRefSerializer, IdField, UsernameField

TAG = ["extracts"]
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExtractArchiveSerializer(serializers.ModelSerializer):
    namelist_title = serializers.CharField(source="namelist.title", read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = m.ExtractArchive
        fields = ["id", "namelist", "namelist_title", "key", "state", "requested", "found", "extracted", "repeated", "size",
                  "sha256", "built_at", "rebuilds", "error", "summary"]
        read_only_fields = fields

    def get_summary(self, obj) -> str:
        return sel.archive_summary(obj)


class ExtractSerializer(serializers.ModelSerializer):
    created_by = UsernameField()
    archives = ExtractArchiveSerializer(many=True, read_only=True)
    requested = serializers.SerializerMethodField()
    found = serializers.SerializerMethodField()
    extracted = serializers.SerializerMethodField()
    repeated = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = m.Extract
        fields = ["id", "title", "state", "error", "location", "content", "max_side", "sample_size", "sample_seed",
                  "expires_at", "expired_at", "job", "created_by", "created_at", "requested", "found", "extracted",
                  "repeated", "archives"]
        read_only_fields = fields

    def _sum(self, obj, field) -> int:
        return sum(getattr(a, field) for a in obj.archives.all())

    def get_requested(self, obj) -> int:
        return self._sum(obj, "requested")

    def get_found(self, obj) -> int:
        return self._sum(obj, "found")

    def get_extracted(self, obj) -> int:
        return self._sum(obj, "extracted")

    def get_repeated(self, obj) -> int:
        return self._sum(obj, "repeated")

    def get_error(self, obj) -> str:
        """Why a failed extract failed (its job's reason; empty otherwise), where its state is read."""
        return obj.job.error if obj.state == m.Extract.State.FAILED and obj.job else ""


@extend_schema_field({"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})
class ExpiryField(serializers.DateTimeField):
    """A date alone stays a date, for the service to read as the page does (the end of that day,
    UTC: extract_expiry); DRF read it as its first second, a day before the page's expiry."""

    def to_internal_value(self, value):
        if isinstance(value, str) and DATE_ONLY.fullmatch(value.strip()):
            return serializers.DateField().to_internal_value(value.strip())
        return super().to_internal_value(value)


class ExtractCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    namelists = IdField(queryset=m.NameList.objects.all(), many=True, allow_empty=False,
                                                   help_text="name list ids: one archive each")
    location = serializers.CharField(max_length=80, help_text="name of a configured extract location")
    expires_at = ExpiryField(help_text="required: a date (the archives are deleted at the end of that day, UTC) or "
                                       "a date and time (deleted after that moment)")
    content = serializers.ChoiceField(choices=m.Extract.Content.choices, default=m.Extract.Content.ORIGINAL)
    max_side = serializers.IntegerField(required=False, allow_null=True, help_text="renditions: longest side in pixels")
    sample_size = serializers.IntegerField(required=False, allow_null=True, help_text="a random sample of N per list")
    sample_seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**62,
                                           help_text="the same seed draws the same sample")


class ExtractDeleteSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False, help_text=f"required, true: {EXTRACT_DELETE_CONFIRMATION} (without it nothing is deleted: 400)")


class ExtractMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.ExtractMember
        fields = ["id", "line", "name", "outcome", "key", "arcname", "sha256", "size", "detail"]
        read_only_fields = fields


class CopySerializer(serializers.Serializer):
    asset = AssetRefSerializer()
    via = AssetRefSerializer(help_text="the object it was paired with")
    verdict = serializers.CharField()
    candidate = serializers.IntegerField(source="candidate.pk")
    taken_down = serializers.BooleanField()


class CopiesSerializer(serializers.Serializer):
    copies = CopySerializer(many=True)


@extend_schema_view(
    list=extend_schema(summary="List extracts (admin)", tags=TAG),
    retrieve=extend_schema(summary="One extract with its archives and counts (admin)", tags=TAG),
)
class ExtractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Extract.objects.select_related("created_by", "job").prefetch_related("archives__namelist")
    serializer_class = ExtractSerializer
    permission_classes = [IsDoppelAdmin]
    filterset_class = None

    @extend_schema(summary="Package name lists: one tar archive per list (admin)", tags=TAG,
                   request=ExtractCreateSerializer, responses={201: ExtractSerializer},
                   description="Queues an extract job (progress, pause, resume and cancel under /jobs/{job}/). "
                               "Each archive holds the files and manifest.csv / manifest.json.")
    @idempotent
    def create(self, request):
        data = ExtractCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ex = extract_create(
            actor=request.user, idempotency_key=scoped_key(request), **data.validated_data)
        return Response(ExtractSerializer(ex).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Delete an extract's archives now (admin)", tags=TAG, request=ExtractDeleteSerializer,
                   responses={200: ExtractSerializer},
                   description="The archives go at once and cannot be brought back, so the body must say "
                               '{"confirm": true}, as the page asks for a ticked box.')
    @action(detail=True, methods=["post"], url_path="delete-now")
    @idempotent(atomic=False)
    def delete_now(self, request, pk=None):
        extract = self.get_object()
        data = ExtractDeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ex = extract_delete(actor=request.user, extract=extract, confirm=data.validated_data["confirm"])
        return Response(ExtractSerializer(m.Extract.objects.get(pk=ex.pk)).data)

    @extend_schema(summary="The manifest of one archive, line by line (admin)", tags=TAG,
                   parameters=[OpenApiParameter("archive", OpenApiTypes.INT, required=True),
                               OpenApiParameter("outcome", OpenApiTypes.STR, enum=m.ExtractMember.Outcome.values)],
                   responses={200: ExtractMemberSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def members(self, request, pk=None):
        ex = self.get_object()
        archive = _archive(ex, request.query_params.get("archive", ""))
        qs = archive.members.order_by("line")
        outcome = request.query_params.get("outcome")
        if outcome:
            if outcome not in m.ExtractMember.Outcome.values:
                raise serializers.ValidationError({"outcome": [f"one of {', '.join(m.ExtractMember.Outcome.values)}"]})
            qs = qs.filter(outcome=outcome)
        paginator = AscendingIdCursorPagination()  # manifest order: rows are written line by line
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ExtractMemberSerializer(page, many=True).data)

    @extend_schema(summary="The manifest of one archive as CSV (admin)", tags=TAG,
                   parameters=[OpenApiParameter("archive", OpenApiTypes.INT, required=True)],
                   responses={(200, "text/csv"): OpenApiTypes.STR}, filters=False)
    @action(detail=True, methods=["get"], url_path="manifest-csv", renderer_classes=[CSVRenderer], filterset_class=None)
    def manifest_csv(self, request, pk=None):
        archive = _archive(self.get_object(), request.query_params.get("archive", ""))
        resp = StreamingHttpResponse(csv_lines(sel.MANIFEST_HEADER, sel.manifest_rows(archive)),
                                     content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="doppel-extract-{archive.extract_id}-list-{archive.namelist_id}-manifest.csv"'
        return resp


def _archive(extract, raw):
    pk = row_id(raw)
    if pk is None:
        raise serializers.ValidationError({"archive": ["an archive id of this extract is required"]})
    archive = extract.archives.filter(pk=pk).first()
    if archive is None:
        raise serializers.ValidationError({"archive": ["not an archive of this extract"]})
    return archive


class TakedownCopiesViewSet(DoppelViewSet):
    permission_classes = [IsDoppelAdmin]
    serializer_class = CopiesSerializer
    pagination_class = None

    @extend_schema(summary="Every other copy the engine paired with these objects (admin)", tags=["deletion"],
                   parameters=[OpenApiParameter("assets", OpenApiTypes.STR, required=True,
                                                description="comma-separated asset ids")],
                   responses={200: CopiesSerializer}, filters=False,
                   description="Copies linked by a verdict that declares the same picture, in any source, "
                               "canonical included, followed through shared copies: offer them for the same takedown.")
    def list(self, request):
        raw = [p.strip() for p in request.query_params.get("assets", "").split(",") if p.strip()]
        if not raw or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in raw) or len(raw) > 1000:
            raise serializers.ValidationError({"assets": ["1 to 1000 comma-separated asset ids"]})
        assets = list(m.Asset.objects.filter(pk__in=[int(p) for p in raw]))
        if len(assets) != len(set(raw)):
            raise serializers.ValidationError({"assets": ["unknown asset id"]})
        copies = copies_of(assets)
        return Response(CopiesSerializer({"copies": copies}).data)

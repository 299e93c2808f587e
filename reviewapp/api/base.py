"""What every API view shares: the schema with documented errors, cursor pagination, the write
rate limit and filters. Views import the services and selectors they call directly."""
from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer

from .pagination import IdCursorPagination
from .permissions import IsCurator
from .schema import DoppelAutoSchema
from .throttles import WriteRateThrottle


class DoppelViewSet(viewsets.GenericViewSet):
    schema = DoppelAutoSchema()
    permission_classes = [IsCurator]
    pagination_class = IdCursorPagination
    throttle_classes = [WriteRateThrottle]
    filter_backends = [DjangoFilterBackend]
    renderer_classes = [JSONRenderer]
    # per-action permission overrides: {"action_name": [PermissionClass, ...]}
    action_permissions: dict = {}

    def get_permissions(self):
        classes = self.action_permissions.get(getattr(self, "action", None), self.permission_classes)
        return [cls() for cls in classes]

    def handle_exception(self, exc):
        """Errors are JSON on every endpoint, including the CSV and XLSX downloads: a script that
        asked for text/csv must not receive an error body labelled as a spreadsheet."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True, context=self.get_serializer_context()).data)


class FileRenderer(BaseRenderer):
    """Lets a client ask for a download's media type (errors are rendered by JSONRenderer:
    DoppelViewSet.handle_exception)."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, str)):
            return data
        return JSONRenderer().render(data, accepted_media_type, renderer_context)


class CSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"

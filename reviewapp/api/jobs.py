"""Jobs: start inventory / restore / analysis, read progress, pause / resume / cancel."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import models as m
from ..selectors.jobs import job_progress
from ..services.analysis import analysis_start
from ..services.export_jobs import export_file_open
from ..services.inventory import inventory_start
from ..services.jobs import job_cancel, job_pause, job_resume
from ..services.restore import restore_confirm, restore_estimate
from . import serializers as s
from .base import DoppelViewSet
from .filters import JobFilter
from .idempotency import idempotent, scoped_key
from .permissions import IsCurator, IsDoppelAdmin

TAG = ["jobs"]


def _created(job):
    return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List jobs (newest first)", tags=TAG),
    retrieve=extend_schema(summary="One job with its progress", tags=TAG),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Job.objects.select_related("created_by")
    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    permission_classes = [IsDoppelAdmin]
    action_permissions = {"list": [IsCurator], "retrieve": [IsCurator], "progress": [IsCurator]}

    @extend_schema(summary="Progress of a job (poll this)", tags=TAG, responses={200: s.JobProgressSerializer},
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def progress(self, request, pk=None):
        job = self.get_object()
        progress = job_progress(job)
        return Response(s.JobProgressSerializer(progress).data)

    @extend_schema(summary="Download the file an export job wrote (admin)", tags=TAG, filters=False,
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], filterset_class=None)
    def download(self, request, pk=None):
        from django.core.exceptions import ValidationError
        from django.http import FileResponse
        from rest_framework.exceptions import NotFound

        job = self.get_object()
        try:
            handle, filename, content_type = export_file_open(job)
        except ValidationError as exc:
            raise NotFound(" ".join(exc.messages)) from None
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)

    @extend_schema(summary="Start an inventory of a source (admin)", tags=TAG, request=s.JobSourceSerializer,
                   responses={201: s.JobSerializer})
    @action(detail=False, methods=["post"])
    @idempotent
    def inventory(self, request):
        data = s.JobSourceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _created(inventory_start(
            actor=request.user, idempotency_key=scoped_key(request), **data.validated_data))

    @extend_schema(summary="Estimate restoring archived objects (admin)", tags=TAG, request=s.JobScopeSerializer,
                   responses={201: s.JobSerializer},
                   description="Creates a restore job in state awaiting_confirmation with the estimate in "
                               "`params`; nothing is restored until POST /jobs/{id}/restore-confirm/.")
    @action(detail=False, methods=["post"], url_path="restore-estimate")
    @idempotent
    def restore_estimate(self, request):
        data = s.JobScopeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _created(restore_estimate(
            actor=request.user, idempotency_key=scoped_key(request), **_scope(data)))

    @extend_schema(summary="Confirm a restore estimate (admin)", tags=TAG, request=None,
                   responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"], url_path="restore-confirm")
    @idempotent
    def restore_confirm(self, request, pk=None):
        job = self.get_object()
        job = restore_confirm(actor=request.user, job=job)
        return Response(s.JobSerializer(job).data)

    @extend_schema(summary="Start analysis (analyse, then pair) of a source or name list (admin)", tags=TAG,
                   request=s.JobScopeSerializer, responses={201: s.JobSerializer})
    @action(detail=False, methods=["post"])
    @idempotent
    def analysis(self, request):
        data = s.JobScopeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _created(analysis_start(
            actor=request.user, idempotency_key=scoped_key(request), **_scope(data)))

    @extend_schema(summary="Pause a job (admin)", tags=TAG, request=None, responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def pause(self, request, pk=None):
        return self._transition(job_pause)

    @extend_schema(summary="Resume a paused job (admin)", tags=TAG, request=None, responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def resume(self, request, pk=None):
        return self._transition(job_resume)

    @extend_schema(summary="Cancel a job (admin)", tags=TAG, request=None, responses={200: s.JobSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request, pk=None):
        return self._transition(job_cancel)

    def _transition(self, transition):
        job = self.get_object()
        job = transition(actor=self.request.user, job=job)
        return Response(s.JobSerializer(job).data)


def _scope(data):
    """A name list implies its source: the services take one or the other."""
    v = data.validated_data
    if v.get("namelist") is not None:
        return {"namelist": v["namelist"]}
    return {"source": v["source"]}


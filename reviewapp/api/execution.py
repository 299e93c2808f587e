"""Error log (list, CSV/XLSX export), reingest items, deletion plans with items and audit, and
legal takedown."""
from __future__ import annotations

import os

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .. import models as m
from ..selectors.errorlog import EXPORT_HEADER, error_log_rows
from ..services.deletion import (
    deletion_plan_cancel,
    deletion_plan_confirm,
    deletion_plan_create,
    deletion_plan_recheck,
    deletion_restore,
)
from ..services.export_jobs import error_log_export_start, export_too_large_for_a_request
from ..services.exports import csv_lines, xlsx_write
from ..services.reingest import reingest_report_ingested
from ..services.takedown import takedown_execute
from . import serializers as s
from .base import CSVRenderer, DoppelViewSet, XLSXRenderer
from .exceptions import Conflict
from .filters import AuditFilter, DeletionItemFilter, DeletionPlanFilter, ErrorLogFilter, ReingestFilter
from .idempotency import idempotent, scoped_key
from .permissions import IsDoppelAdmin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
@extend_schema_view(
    list=extend_schema(summary="List error log entries", tags=["error log"]),
    retrieve=extend_schema(summary="One error log entry", tags=["error log"]),
)
class ErrorLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.ErrorLogEntry.objects.select_related("asset__source", "match_asset__source", "created_by")
    serializer_class = s.ErrorLogEntrySerializer
    filterset_class = ErrorLogFilter
    action_permissions = {"export_csv": [IsDoppelAdmin], "export_xlsx": [IsDoppelAdmin],
                          "export_csv_job": [IsDoppelAdmin], "export_xlsx_job": [IsDoppelAdmin]}

    def _export_job(self, request, fmt, *, queue=False):
        """An export queued as a job (202 + the job; its file comes from GET /api/v1/jobs/{id}/download/
        when done), by a POST (``queue``). A GET answers a small export at once; a large one it does not
        write inside the request, nor queue, since a GET changes nothing: 409, saying to POST."""
        qs = self._export_qs()
        if not queue:
            rows = export_too_large_for_a_request(qs)
            if not rows:
                return None
            raise Conflict(f"this export holds {rows} rows, more than DOPPEL_EXPORT_INLINE_ROWS "
                           f"({settings.EXPORT_INLINE_ROWS}) answered at once: POST to this URL to queue an export "
                           "job (202), whose file is then at /api/v1/jobs/{id}/download/")
        fs = self.filterset_class(request.query_params, queryset=self.get_queryset(), request=request)
        data = fs.form.cleaned_data if fs.is_valid() else {}
        filters = {"category": data.get("category") or None,
                   "source": data["source"].pk if data.get("source") else None,
                   "withdrawn": data.get("withdrawn") if "withdrawn" in request.query_params else None}
        job = error_log_export_start(actor=request.user, fmt=fmt, filters=filters,
                                     base_url=request.build_absolute_uri("/").rstrip("/"))
        response = Response(s.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/jobs/{job.pk}/"
        return response

    def _export_qs(self):
        # same filters as the list; withdrawn entries are left out unless asked for
        qs = self.filter_queryset(self.get_queryset())
        if "withdrawn" not in self.request.query_params:
            qs = qs.filter(withdrawn=False)
        return qs.select_related("asset__review").order_by("created_at", "id")

    @extend_schema(summary="Export the error log as CSV (admin)", tags=["error log"],
                   responses={(200, "text/csv"): OpenApiTypes.STR, 202: s.JobSerializer},
                   description="Takes the list filters; withdrawn entries are left out unless `withdrawn` is given. "
                               "More rows than DOPPEL_EXPORT_INLINE_ROWS: 409, and a POST to the same URL queues an "
                               "export job (202); its file is at /api/v1/jobs/{id}/download/ once the job is done.")
    @action(detail=False, methods=["get"], url_path="export-csv", renderer_classes=[JSONRenderer, CSVRenderer])
    def export_csv(self, request):
        queued = self._export_job(request, "csv")
        if queued is not None:
            return queued

        rows = error_log_rows(self._export_qs(), base_url=request.build_absolute_uri("/"))
        response = StreamingHttpResponse(csv_lines(EXPORT_HEADER, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="doppel-error-log-{timezone.now():%Y%m%d}.csv"'
        return response

    @extend_schema(summary="Export the error log as XLSX (admin)", tags=["error log"],
                   responses={(200, XLSX): OpenApiTypes.BINARY, 202: s.JobSerializer},
                   description="Takes the list filters; withdrawn entries are left out unless `withdrawn` is given. "
                               "More rows than DOPPEL_EXPORT_INLINE_ROWS: 409, and a POST to the same URL queues an "
                               "export job (202); its file is at /api/v1/jobs/{id}/download/ once the job is done.")
    @action(detail=False, methods=["get"], url_path="export-xlsx", renderer_classes=[JSONRenderer, XLSXRenderer])
    def export_xlsx(self, request):
        queued = self._export_job(request, "xlsx")
        if queued is not None:
            return queued

        rows = error_log_rows(self._export_qs(), base_url=request.build_absolute_uri("/"))
        path = xlsx_write(EXPORT_HEADER, rows, title="Error log", link_column=EXPORT_HEADER.index("link"))
        handle = open(path, "rb")
        os.unlink(path)  # the open handle keeps the bytes until the response is sent (POSIX)
        return FileResponse(handle, as_attachment=True, content_type=XLSX,
                            filename=f"doppel-error-log-{timezone.now():%Y%m%d}.xlsx")

    @extend_schema(summary="Queue the error log's CSV export as a job (admin)", tags=["error log"], request=None,
                   responses={202: s.JobSerializer},
                   description="The list filters, as GET export-csv/ takes them; the file is at "
                               "/api/v1/jobs/{id}/download/ once the job is done.")
    @export_csv.mapping.post
    @idempotent
    def export_csv_job(self, request):
        return self._export_job(request, "csv", queue=True)

    @extend_schema(summary="Queue the error log's XLSX export as a job (admin)", tags=["error log"], request=None,
                   responses={202: s.JobSerializer},
                   description="The list filters, as GET export-xlsx/ takes them; the file is at "
                               "/api/v1/jobs/{id}/download/ once the job is done.")
    @export_xlsx.mapping.post
    @idempotent
    def export_xlsx_job(self, request):
        return self._export_job(request, "xlsx", queue=True)


@extend_schema_view(
    list=extend_schema(summary="List reingest items", tags=["reingest"]),
    retrieve=extend_schema(summary="One reingest item", tags=["reingest"]),
)
class ReingestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.ReingestItem.objects.select_related("asset__source")
    serializer_class = s.ReingestItemSerializer
    filterset_class = ReingestFilter
    action_permissions = {"ingested": [IsDoppelAdmin]}

    @extend_schema(summary="Report that the canonical store has ingested the file (admin)", tags=["reingest"],
                   request=s.ReingestIngestedSerializer, responses={200: s.ReingestItemSerializer},
                   description="For the canonical store's ingest system: the checker then verifies the object "
                               "(present, same checksum, decodes) before the clean-up copy may be deleted.")
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def ingested(self, request, pk=None):
        item = self.get_object()
        data = s.ReingestIngestedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = reingest_report_ingested(
            actor=request.user, item=item, canonical_key=data.validated_data["canonical_key"],
            source=data.validated_data.get("source"))
        item.refresh_from_db()
        return Response(s.ReingestItemSerializer(item).data)


@extend_schema_view(
    list=extend_schema(summary="List deletion plans (admin)", tags=["deletion"]),
    retrieve=extend_schema(summary="One deletion plan (admin)", tags=["deletion"]),
)
class DeletionPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = (m.DeletionPlan.objects.select_related("created_by", "confirmed_by")
                .annotate(n_items=Count("items"), n_bytes=Sum("items__size"),
                          n_planned=Count("items", filter=Q(items__state=m.DeletionItem.State.PLANNED)),
                          n_checked=Count("items", filter=Q(items__state=m.DeletionItem.State.PLANNED,
                                                            items__dry_run_at__isnull=False))))
    serializer_class = s.DeletionPlanSerializer
    filterset_class = DeletionPlanFilter
    permission_classes = [IsDoppelAdmin]

    @extend_schema(summary="Create a dry-run deletion plan (admin)", tags=["deletion"],
                   request=s.DeletionPlanCreateSerializer, responses={201: s.DeletionPlanSerializer},
                   description="Lists what would be deleted; a worker then re-checks each item as the executor would (progress in dry_run, each item's result in dry_run_outcome: would run, or would abort: reason). Nothing is touched until the plan is confirmed, and confirm is refused until the dry run is done.")
    @idempotent
    def create(self, request):
        data = s.DeletionPlanCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        plan = deletion_plan_create(
            actor=request.user, decisions=v.get("decisions") or None, source=v.get("source"),
            idempotency_key=scoped_key(request))
        return Response(s.DeletionPlanSerializer(self.get_queryset().get(pk=plan.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Confirm a plan: queue its execution (admin)", tags=["deletion"], request=None,
                   responses={200: s.DeletionPlanSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def confirm(self, request, pk=None):
        plan = deletion_plan_confirm(actor=request.user, plan=self.get_object())
        return Response(s.DeletionPlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(summary="Cancel a plan that was never confirmed (admin)", tags=["deletion"], request=None,
                   responses={200: s.DeletionPlanSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def cancel(self, request, pk=None):
        plan = deletion_plan_cancel(actor=request.user, plan=self.get_object())
        return Response(s.DeletionPlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(summary="Run a plan's dry run again (admin)", tags=["deletion"], request=None,
                   responses={200: s.DeletionPlanSerializer},
                   description="A worker re-checks every planned item again; confirm is refused until dry_run.done.")
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def recheck(self, request, pk=None):
        plan = deletion_plan_recheck(actor=request.user, plan=self.get_object())
        return Response(s.DeletionPlanSerializer(self.get_queryset().get(pk=plan.pk)).data)

    @extend_schema(summary="Items of a plan (admin)", tags=["deletion"], responses={200: s.DeletionItemSerializer(many=True)},
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def items(self, request, pk=None):
        plan = self.get_object()
        qs = m.DeletionItem.objects.filter(plan=plan).select_related("asset__source", "kept_asset__source")
        return self.paginated(qs, s.DeletionItemSerializer)

    @extend_schema(summary="Audit rows of a plan (admin)", tags=["deletion"], responses={200: s.AuditEntrySerializer(many=True)},
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None)
    def audit(self, request, pk=None):
        plan = self.get_object()
        qs = m.AuditEntry.objects.filter(item__plan=plan).select_related("approved_by", "executed_by")
        return self.paginated(qs, s.AuditEntrySerializer)


@extend_schema_view(
    list=extend_schema(summary="List deletion items (admin)", tags=["deletion"]),
    retrieve=extend_schema(summary="One deletion item (admin)", tags=["deletion"]),
)
class DeletionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.DeletionItem.objects.select_related("asset__source", "kept_asset__source")
    serializer_class = s.DeletionItemSerializer
    filterset_class = DeletionItemFilter
    permission_classes = [IsDoppelAdmin]

    @extend_schema(summary="Restore a quarantined object to its key (admin)", tags=["deletion"], request=None,
                   responses={200: s.DeletionItemSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent(atomic=False)
    def restore(self, request, pk=None):
        item = deletion_restore(actor=request.user, item=self.get_object())
        return Response(s.DeletionItemSerializer(item).data)


@extend_schema_view(
    list=extend_schema(summary="The audit trail (admin)", tags=["deletion"]),
    retrieve=extend_schema(summary="One audit row (admin)", tags=["deletion"]),
)
class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.AuditEntry.objects.select_related("approved_by", "executed_by")
    serializer_class = s.AuditEntrySerializer
    filterset_class = AuditFilter
    permission_classes = [IsDoppelAdmin]


class TakedownViewSet(DoppelViewSet):
    permission_classes = [IsDoppelAdmin]
    serializer_class = s.TakedownSerializer

    @extend_schema(summary="Legal takedown: remove objects at once, canonical included (admin)", tags=["deletion"],
                   request=s.TakedownSerializer, responses={201: s.TakedownResultSerializer},
                   description="Skips quarantine. An audit row is written before each object is removed; "
                               "Object Lock still wins and is reported per asset (ok=false).")
    @idempotent(atomic=False)  # each audit row must commit before its object goes
    def create(self, request):
        data = s.TakedownSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        before = m.AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        results = takedown_execute(
            actor=request.user, assets=data.validated_data["assets"], reason=data.validated_data["reason"])
        audit = m.AuditEntry.objects.filter(id__gt=before, action=m.AuditEntry.Action.TAKEDOWN,
                                            executed_by=request.user).order_by("id")
        body = {
            "results": [{"asset": r["asset"].pk, "ok": bool(r["ok"]), "message": str(r.get("message", "")),
                         "steps": [str(x) for x in r.get("steps", [])]} for r in results],
            "audit": s.AuditEntrySerializer(audit, many=True).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

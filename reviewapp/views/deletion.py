"""Deletion pages (admins): plans from approved decisions, their dry-run CSV, confirm, progress,
items with states and abort reasons, restore; the audit trail and its export (legal takedown is
in views/takedown.py).
Views only call services and selectors; rows are looked up by id, never by a key from the request."""
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from ..models import AuditEntry, DeletionItem, DeletionPlan, Source
from ..selectors import deletion as sel
from ..selectors.jobs import job_progress
from ..selectors.review import row_id
from ..services import deletion as svc
from ..services.exports import csv_lines
from ..storage import StorageError
from .decorators import NOT_DONE, admin_required, form_idempotency_key, post_only


def _msg(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def csv_response(filename, header, rows):
    resp = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


@admin_required
def plan_list(request):
    if request.method == "POST":
        source = None
        if request.POST.get("source"):
            pk = row_id(request.POST.get("source"))
            source = Source.objects.filter(pk=pk).first() if pk is not None else None
            if source is None:
                messages.error(request, "unknown source")
                return redirect("deletion-plan-list")
        try:
            plan = svc.deletion_plan_create(actor=request.user, source=source,
                                            idempotency_key=form_idempotency_key(request))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _msg(exc))
            return redirect("deletion-plan-list")
        messages.success(request, f"dry-run plan #{plan.pk} created: a worker re-checks every item now; "
                                  "nothing is deleted until you confirm it")
        return redirect("deletion-plan-detail", pk=plan.pk)
    waiting = svc.plannable_decisions()
    return render(request, "reviewapp/deletion/plan_list.html", {
        "plans": sel.plan_list()[:100],
        "waiting": waiting.count(),
        "sources": Source.objects.filter(role=Source.Role.CLEANUP).order_by("name"),
        "quarantined": sel.quarantine_list().count(),
    })


@admin_required
def plan_detail(request, pk):
    plan = get_object_or_404(DeletionPlan.objects.select_related("created_by", "confirmed_by", "source", "job"), pk=pk)
    state = request.GET.get("state") if request.GET.get("state") in DeletionItem.State.values else None
    page = Paginator(sel.plan_items(plan, state=state), 100).get_page(request.GET.get("page"))
    running = plan.job is not None and plan.job.state in ("queued", "running")
    return render(request, "reviewapp/deletion/plan_detail.html", {
        "plan": plan, "page": page, "counts": sel.plan_counts(plan), "state": state,
        "states": DeletionItem.State.choices, "progress": job_progress(plan.job) if plan.job else None,
        "running": running, "dry_run": sel.dry_run_progress(plan),
    })


@admin_required
def plan_csv(request, pk):
    plan = get_object_or_404(DeletionPlan, pk=pk)
    return csv_response(f"doppel-deletion-plan-{plan.pk}.csv", sel.PLAN_CSV_HEADER, sel.plan_csv_rows(plan))


PLAN_ACTIONS = {
    "confirm": (svc.deletion_plan_confirm, "plan confirmed: the executor is running"),
    "cancel": (svc.deletion_plan_cancel, "plan cancelled; its decisions can be planned again"),
    "resume": (svc.deletion_plan_resume, "the plan runs again: finished items are skipped"),
    "recheck": (svc.deletion_plan_recheck, "the dry run re-checks every planned item again; Confirm waits for it"),
}


@post_only("deletion-plan-detail", keep=("pk",), **NOT_DONE)
@admin_required
def plan_action(request, pk, action):
    plan = get_object_or_404(DeletionPlan, pk=pk)
    if action not in PLAN_ACTIONS:
        messages.error(request, "unknown action")
        return redirect("deletion-plan-detail", pk=plan.pk)
    func, done = PLAN_ACTIONS[action]
    before = plan.state
    try:
        after = func(actor=request.user, plan=plan)
        if action == "confirm" and before != DeletionPlan.State.DRAFT:
            # confirming twice queues nothing twice: say what the plan is doing, not "confirmed"
            messages.info(request, f"this plan was confirmed before; it is {after.get_state_display().lower()}: "
                                   "nothing more was started")
        else:
            messages.success(request, done)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _msg(exc))
    return redirect("deletion-plan-detail", pk=plan.pk)


@post_only("quarantine-list", keep=(), **NOT_DONE)
@admin_required
def item_restore(request, pk):
    item = get_object_or_404(DeletionItem, pk=pk)
    try:
        svc.deletion_restore(actor=request.user, item=item)
        messages.success(request, f"{item.asset.key} is back at its key and in the review queue")
    except (ValidationError, PermissionDenied, StorageError) as exc:
        messages.error(request, f"could not restore {item.asset.key}: {_msg(exc)}")
    return redirect("deletion-plan-detail", pk=item.plan_id)


@admin_required
def quarantine_view(request):
    page = Paginator(sel.quarantine_list().order_by("purge_after", "pk"), 100).get_page(request.GET.get("page"))
    return render(request, "reviewapp/deletion/quarantine.html", {"page": page})


class AuditFilter(forms.Form):
    action = forms.ChoiceField(choices=[("", "any action")] + list(AuditEntry.Action.choices), required=False)
    source = forms.CharField(required=False, max_length=80)
    key = forms.CharField(required=False, max_length=200)


@admin_required
def audit_list(request):
    form = AuditFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = sel.audit_list(action=filters.get("action") or None, source=filters.get("source") or None, key=filters.get("key") or None)
    if request.GET.get("format") == "csv":
        return csv_response("doppel-audit.csv", sel.AUDIT_CSV_HEADER, sel.audit_csv_rows(qs))
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "csv"
    return render(request, "reviewapp/deletion/audit.html", {"form": form, "page": page, "csv_query": query.urlencode()})

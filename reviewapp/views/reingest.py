"""Reingest pages: every item with its state and history, which curators read (as the API lets
them: they route files here); retry of failures, sending queued items now, and reporting an item
ingested when the canonical store confirms it, which only admins do (POSTs, admin_required)."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from ..models import ReingestItem, Source
from ..selectors.reingest import reingest_counts, reingest_list
from ..selectors.review import row_id
from ..services import reingest as svc
from ..storage import StorageError
from .decorators import NOT_DONE, admin_required, curator_required, post_only
from .deletion import _msg


@curator_required
def reingest_list_view(request):
    state = request.GET.get("state") if request.GET.get("state") in ReingestItem.State.values else None
    page = Paginator(reingest_list(state=state), 100).get_page(request.GET.get("page"))
    return render(request, "reviewapp/reingest/list.html", {
        "page": page, "state": state, "states": ReingestItem.State.choices, "counts": reingest_counts(),
        "canonical_sources": Source.objects.filter(role=Source.Role.CANONICAL).order_by("name"),
    })


@curator_required
def reingest_detail(request, pk):
    item = get_object_or_404(ReingestItem.objects.select_related("asset__source", "canonical_asset__source", "decision"), pk=pk)
    return render(request, "reviewapp/reingest/detail.html", {
        "item": item, "events": item.events.select_related("actor").order_by("created_at", "id"),
        "canonical_sources": Source.objects.filter(role=Source.Role.CANONICAL).order_by("name"),
        "ingested_refusal": svc.reingest_ingested_refusal(item),
    })


@post_only("reingest-detail", keep=("pk",), **NOT_DONE)
@admin_required
def reingest_action(request, pk, action):
    item = get_object_or_404(ReingestItem, pk=pk)
    try:
        if action == "retry":
            svc.reingest_retry(actor=request.user, item=item)
            messages.success(request, "retrying the reingest")
        elif action == "send":
            n = svc.reingest_send_now(actor=request.user, items=[item])
            messages.success(request, "sent to the ingest location" if n else "nothing to send")
        elif action == "ingested":
            source = None
            if request.POST.get("source"):
                source_pk = row_id(request.POST.get("source"))
                source = (Source.objects.filter(pk=source_pk, role=Source.Role.CANONICAL).first()
                          if source_pk is not None else None)
                if source is None:
                    messages.error(request, "unknown canonical source: nothing was recorded")
                    return redirect("reingest-detail", pk=item.pk)
            svc.reingest_report_ingested(actor=request.user, item=item, canonical_key=request.POST.get("canonical_key", ""),
                                         source=source)
            messages.success(request, "recorded as ingested; the checker verifies it next")
        else:
            messages.error(request, "unknown action")
    except (ValidationError, PermissionDenied, StorageError) as exc:
        messages.error(request, _msg(exc))
    return redirect("reingest-detail", pk=item.pk)


@post_only("reingest-list", **NOT_DONE)
@admin_required
def reingest_send_all(request):
    try:
        n = svc.reingest_send_now(actor=request.user)
        messages.success(request, f"{n} queued reingest(s) sent to the ingest location")
    except (PermissionDenied, StorageError) as exc:
        messages.error(request, str(exc))
    return redirect("reingest-list")


@post_only("reingest-list", **NOT_DONE)
@admin_required
def reingest_check_now(request):
    svc.reingest_check_queue()
    messages.success(request, "the reingest checker is running")
    return redirect("reingest-list")

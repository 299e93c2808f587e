"""Jobs pages: list and detail with progress; admins start, pause, resume, cancel and confirm
jobs, and upload name lists. Views only call services and selectors."""
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render

from ..models import Job, NameList, Source
from ..roles import is_admin
from ..selectors.assets import cleanup_left, namelist_misses, namelist_misses_csv
from ..selectors.deletion import job_deletion_outcome
from ..selectors.jobs import job_item_counts, job_list, job_progress, job_waiting_for_a_worker, namelist_resolve_job
from ..selectors.review import row_id
from ..services import jobs as job_services
from ..services.analysis import analysis_start
from ..services.export_jobs import export_file_open
from ..services.inventory import inventory_start
from ..services.namelists import namelist_upload_start
from ..services.restore import restore_confirm, restore_counts, restore_estimate
from ..storage import StorageError
from .decorators import NOT_DONE, admin_required, curator_required, post_only
from .fields import RowChoiceField


def _errors(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@curator_required
def job_list_view(request):
    kind = request.GET.get("kind") if request.GET.get("kind") in Job.Kind.values else None
    state = request.GET.get("state") if request.GET.get("state") in Job.State.values else None
    jobs = [(j, job_progress(j), job_waiting_for_a_worker(j)) for j in job_list(kind=kind, state=state)]
    objects, size = cleanup_left()
    return render(request, "reviewapp/jobs/list.html", {
        "jobs": jobs, "kinds": Job.Kind.choices, "states": Job.State.choices, "kind": kind, "state": state,
        "sources": Source.objects.order_by("name"), "left_objects": objects, "left_bytes": size,
        "namelists": NameList.objects.select_related("source")[:20], "can_manage": is_admin(request.user),
        "any_running": any(j.state in (Job.State.RUNNING, Job.State.QUEUED) for j, _, _ in jobs),
    })


@curator_required
def job_detail(request, pk):
    job = get_object_or_404(Job.objects.select_related("source", "namelist", "created_by", "parent"), pk=pk)
    progress = job_progress(job)
    waiting = job_waiting_for_a_worker(job)
    if request.GET.get("format") == "json":
        return JsonResponse({"id": job.pk, "state": job.state, **progress,
                             "waiting_for_a_worker_s": int(waiting.total_seconds()) if waiting else None})
    ctx = {
        "job": job, "p": progress, "items": job_item_counts(job),
        "children": [(c, job_progress(c)) for c in job.children.all()],
        "events": job.events.select_related("actor").order_by("-created_at", "-id")[:30],
        "can_manage": is_admin(request.user),
        "restore": restore_counts(job) if job.kind == Job.Kind.RESTORE else None,
        "estimate": job.params.get("estimate"),
        "deletion": job_deletion_outcome(job) if job.kind == Job.Kind.DELETE else None,
        "waiting": waiting, "worker_queues": ",".join(settings.WORKER_QUEUES),
    }
    return render(request, "reviewapp/jobs/detail.html", ctx)


@admin_required
def job_download(request, pk):
    """The file an export job wrote (exports are admin-only, like the error log export itself)."""
    job = get_object_or_404(Job, pk=pk)
    try:
        handle, filename, content_type = export_file_open(job)
    except ValidationError as exc:
        raise Http404(_errors(exc)) from None
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


ACTIONS = {"pause": job_services.job_pause, "resume": job_services.job_resume, "cancel": job_services.job_cancel}


@post_only("job-detail", keep=("pk",), **NOT_DONE)
@admin_required
def job_action(request, pk, action):
    job = get_object_or_404(Job, pk=pk)
    try:
        if action == "confirm":
            restore_confirm(actor=request.user, job=job)
        elif action in ACTIONS:
            ACTIONS[action](actor=request.user, job=job)
        else:
            raise Http404("unknown action")
        messages.success(request, f"job #{job.pk}: {action} done")
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _errors(exc))
    return redirect("job-detail", pk=job.pk)


@post_only("job-list", **NOT_DONE)
@admin_required
def job_start_view(request):
    """Start an inventory, an analysis or a restore estimate for a source or a name list."""
    kind = request.POST.get("kind")
    source = namelist = None
    try:
        if request.POST.get("namelist"):
            namelist = NameList.objects.get(pk=row_id(request.POST["namelist"]))
        else:
            source = Source.objects.get(pk=row_id(request.POST.get("source")))
    except (Source.DoesNotExist, NameList.DoesNotExist):
        messages.error(request, "choose a source or a name list")
        return redirect("job-list")
    try:
        if kind == "inventory" and source is not None:
            job = inventory_start(actor=request.user, source=source)
        elif kind == "analyse":
            job = analysis_start(actor=request.user, source=source, namelist=namelist)
        elif kind == "restore":
            job = restore_estimate(actor=request.user, source=source, namelist=namelist)
        else:
            messages.error(request, "unknown kind of job")
            return redirect("job-list")
    except (ValidationError, StorageError) as exc:
        messages.error(request, _errors(exc))
        return redirect("job-list")
    messages.success(request, f"{job.get_kind_display()} job #{job.pk} {job.get_state_display().lower()}")
    return redirect("job-detail", pk=job.pk)


class NameListForm(forms.Form):
    source = RowChoiceField(queryset=Source.objects.order_by("name"))
    title = forms.CharField(max_length=200, required=False)
    file = forms.FileField(help_text="text (one name or ID per line) or CSV")


@admin_required
def namelist_upload_view(request):
    form = NameListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = namelist_upload_start(actor=request.user, source=form.cleaned_data["source"],
                                        title=form.cleaned_data["title"], uploaded_file=form.cleaned_data["file"])
        except ValidationError as exc:
            form.add_error("file", _errors(exc))
        else:
            # the file was read and refused or kept here; its lines are matched by a worker, and the
            # list's page follows that job and says how they resolved when it is done
            messages.success(request, f"name list #{job.namelist_id}: {job.requested} lines uploaded; they are being "
                                      "matched against the source in the background, and this page says how they "
                                      "resolved when that is done")
            return redirect("namelist-detail", pk=job.namelist_id)
    return render(request, "reviewapp/jobs/namelist_upload.html", {"form": form})


# misses listed on a name list's page; the CSV holds them all, and the page says how many that is
MISSES_SHOWN = 200


@curator_required
def namelist_detail(request, pk):
    nl = get_object_or_404(NameList.objects.select_related("source"), pk=pk)
    misses = namelist_misses(nl)
    job = namelist_resolve_job(nl)
    return render(request, "reviewapp/jobs/namelist.html", {
        "nl": nl, "misses": misses[:MISSES_SHOWN], "misses_total": misses.count(),
        # a list whose lines a job is still writing (or failed to) shows that job, not counts or misses
        "resolving": job if job is not None and nl.resolved_at is None else None,
        "following": job is not None and nl.resolved_at is None and job.state in (Job.State.QUEUED, Job.State.RUNNING),
        "p": job_progress(job) if job is not None else None,
        "jobs": nl.jobs.order_by("-created_at")[:20],
        "can_manage": is_admin(request.user),
    })


@curator_required
def namelist_misses_download(request, pk):
    nl = get_object_or_404(NameList, pk=pk)
    resp = HttpResponse(namelist_misses_csv(nl), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="namelist-{nl.pk}-misses.csv"'
    return resp

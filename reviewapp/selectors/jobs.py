"""Job progress as people read it: counts, bytes, rate and an honest ETA."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from ..models import Job, JobItem


def job_progress(job: Job) -> dict:
    done = job.processed + job.failed
    requested = job.requested or 0
    start = job.started_at
    end = job.finished_at or timezone.now()
    elapsed = max((end - start).total_seconds(), 0.001) if start else 0.0
    rate = done / elapsed if elapsed and done else 0.0
    remaining = max(requested - done, 0)
    eta = None
    if job.state == Job.State.RUNNING and rate > 0:
        eta = int(remaining / rate)
    elif job.state == Job.State.DONE:
        eta = 0
    if requested:
        percent = min(100.0, 100.0 * done / requested)
    else:
        percent = 100.0 if job.state == Job.State.DONE else 0.0
    return {
        "requested": requested,
        "found": job.found,
        "processed": job.processed,
        "failed": job.failed,
        "bytes_total": job.bytes_total,
        "bytes_done": job.bytes_done,
        "rate_per_s": round(rate, 2),
        "eta_seconds": eta,
        "percent": round(percent, 1),
        "elapsed_seconds": int(elapsed),
    }


def job_item_counts(job: Job) -> dict:
    """Items by state, with bytes: for a restore job this is waiting / restored / failed."""
    rows = JobItem.objects.filter(job=job).values("state").annotate(n=Count("id"), bytes=Sum("asset__size"))
    out = {s: {"count": 0, "bytes": 0} for s in JobItem.State.values}
    for r in rows:
        out[r["state"]] = {"count": r["n"], "bytes": r["bytes"] or 0}
    return out


def job_list(*, kind=None, state=None, source=None, limit=200):
    qs = Job.objects.select_related("source", "namelist", "created_by", "parent")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("-created_at", "-id")[:limit]


def jobs_active_count() -> int:
    return Job.objects.filter(Q(state__in=[Job.State.QUEUED, Job.State.RUNNING, Job.State.PAUSED, Job.State.AWAITING_CONFIRMATION])).count()


# The kinds whose driver only queues what is still pending, item by item, so that running it a
# second time beside a live run repeats nothing (the JobItem is checked under its lock). Drivers
# that do their work in one long task (inventory, export, extract, the executor) are not swept: a
# second run beside a slow first one would do the work twice, so a person resumes those.
STALL_SWEPT_KINDS = (Job.Kind.ANALYSE,)


def job_last_heard(job: Job):
    """When a job last showed it was alive: its own progress (heartbeat; its start, or its creation,
    before it made any) or its children's, whichever is later (an analysis job's pairing child
    counts its own items). ``jobs_stalled`` reads the same as a query, over the swept kinds, and a
    re-queue says this silence."""
    own = job.heartbeat_at or job.started_at or job.created_at
    children = Job.objects.filter(parent=job).aggregate(t=Max("heartbeat_at"))["t"]
    return max(t for t in (own, children) if t)


# A job queued this long with no worker starting it says so on its page: jobs run only on a background
# worker (``make run`` starts one beside the web server; production runs ``celery worker`` processes),
# and a page that said "Queued" and nothing more, for ever, left a new user guessing why.
WORKER_NOTICE_AFTER = timedelta(seconds=60)


def job_waiting_for_a_worker(job: Job, *, now=None) -> timedelta | None:
    """How long a queued job has waited without a worker starting it, once that is WORKER_NOTICE_AFTER
    or more; None for any other job. Counted from its last sign of life (``job_last_heard``) or its
    last event (a resume or re-queue), whichever is later."""
    if job.state != Job.State.QUEUED or job.started_at is not None:
        return None
    last_event = job.events.aggregate(t=Max("created_at"))["t"]
    since = max(t for t in (job_last_heard(job), last_event) if t)
    waited = (now or timezone.now()) - since
    return waited if waited >= WORKER_NOTICE_AFTER else None


def jobs_stalled(*, silent_since):
    """Jobs of the swept kinds silent since `silent_since`: running with no progress recorded since
    then, counting their children's (an analysis job's pairing child counts its own items), or queued
    since then and never started (the driver's message was lost)."""
    running = Q(state=Job.State.RUNNING) & (
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True, started_at__lt=silent_since))
    never_started = Q(state=Job.State.QUEUED, started_at__isnull=True) & (
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True, created_at__lt=silent_since))
    return (Job.objects.filter(kind__in=STALL_SWEPT_KINDS).filter(running | never_started)
            .exclude(children__heartbeat_at__gte=silent_since))


def job_pending_items(job: Job) -> int:
    """Items of the job and of its children still waiting for a worker."""
    return JobItem.objects.filter(Q(job=job) | Q(job__parent=job), state=JobItem.State.PENDING).count()


def job_settled_items(job: Job) -> int:
    """Items of the job and of its children a worker has settled (done, skipped or failed)."""
    return JobItem.objects.filter(Q(job=job) | Q(job__parent=job)).exclude(
        state__in=[JobItem.State.PENDING, JobItem.State.WAITING]).count()


def namelist_resolve_job(namelist) -> Job | None:
    """The job that resolves (or resolved) an uploaded name list's lines: its latest `Resolve name
    list` job, or None for a list written another way."""
    return namelist.jobs.filter(kind=Job.Kind.NAMELIST).order_by("-created_at", "-id").first()

"""Job progress as people read it: counts, bytes, rate and an honest ETA."""
from __future__ import annotations

from django.db.models import Count, Q, Sum
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

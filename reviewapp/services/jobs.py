"""Jobs: the state machine every background run goes through (queued → running → done | failed |
cancelled, with pause/resume), and the counters people watch.

Counters only move with F() updates so concurrent workers never overwrite each other; the work
items (JobItem) move in the same transaction as the counters, which is what makes a redelivered
task after a crash a no-op instead of a double count.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Extract, Job, JobEvent, JobItem
from ..selectors.jobs import job_last_heard, job_pending_items, job_settled_items, jobs_stalled
from ..tasks.execution import deletion_execute_task
from ..tasks.exports import export_job_task
from ..tasks.extracts import extract_build_task
from ..tasks.namelists import namelist_resolve_task
from ..tasks.pipeline import analysis_job_task, inventory_job_task, restore_job_task, reverify_job_task

log = logging.getLogger(__name__)

FINISHED_STATES = (Job.State.DONE, Job.State.FAILED, Job.State.CANCELLED)

# The one map of job kinds to the task that drives them: starting, resuming or re-queuing a job
# after a crash queues this task with the job's id. A kind missing here cannot be run in the
# background (job_dispatch says so).
JOB_DRIVERS = {
    Job.Kind.INVENTORY: inventory_job_task,
    Job.Kind.ANALYSE: analysis_job_task,
    Job.Kind.RESTORE: restore_job_task,
    Job.Kind.REVERIFY: reverify_job_task,
    Job.Kind.EXPORT: export_job_task,
    Job.Kind.DELETE: deletion_execute_task,
    Job.Kind.EXTRACT: extract_build_task,
    Job.Kind.NAMELIST: namelist_resolve_task,
}


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def job_event(job, event, *, actor=None, **detail):
    return JobEvent.objects.create(job=job, actor=_actor(actor), event=event, detail=detail)


def job_create(*, actor, kind, source=None, namelist=None, params=None, idempotency_key=None,
               state=Job.State.QUEUED, parent=None, requested=0, bytes_total=0) -> Job:
    """Create a job row (nothing runs yet). A repeated idempotency key returns the first job."""
    if kind not in Job.Kind.values:
        raise ValidationError(f"unknown job kind {kind!r}")
    if idempotency_key:
        existing = Job.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind, state=state, source=source, namelist=namelist, params=params or {},
                idempotency_key=idempotency_key or None, created_by=_actor(actor), parent=parent,
                requested=requested, bytes_total=bytes_total,
            )
            job_event(job, "created", actor=actor, kind=kind, state=state)
    except IntegrityError:
        if idempotency_key:
            return Job.objects.get(idempotency_key=idempotency_key)
        raise
    return job


def job_dispatch(job, *, countdown=None):
    """Queue the job's driver task once the surrounding transaction commits."""
    task = JOB_DRIVERS.get(job.kind)
    if task is None:
        raise ValidationError(f"no background task for {job.kind} jobs")
    job_id = job.pk
    if countdown:
        transaction.on_commit(lambda: task.apply_async((job_id,), countdown=countdown))
    else:
        transaction.on_commit(lambda: task.delay(job_id))


def job_pause(*, actor, job) -> Job:
    """Workers finish the item in hand and stop taking new ones; nothing is lost."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state not in (Job.State.QUEUED, Job.State.RUNNING):
            raise ValidationError(f"only a queued or running job can be paused (this one is {job.get_state_display().lower()})")
        job.state = Job.State.PAUSED
        job.save(update_fields=["state"])
        job_event(job, "paused", actor=actor)
        Extract.objects.filter(job=job).pause_unfinished()  # what it builds reads "paused", not "building"
    return job


# A running job is resumed (its pending work queued again, to recover messages a worker lost) only
# after this long with no progress recorded by it or its children; each such resume restarts the
# clock. Why: resuming a job that is progressing queues all its pending work a second time, so
# repeated clicks or a retried API call filled the queue with copies of it.
RUNNING_RESUME_SILENCE = timedelta(minutes=2)


def job_resume(*, actor, job) -> Job:
    """Back to running: re-queues whatever is still pending (also the way to recover a running job
    whose messages were lost, once it has been silent for RUNNING_RESUME_SILENCE)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state not in (Job.State.PAUSED, Job.State.FAILED, Job.State.RUNNING):
            raise ValidationError(f"only a paused or failed job can be resumed (this one is {job.get_state_display().lower()})")
        now = timezone.now()
        if job.state == Job.State.RUNNING:
            silent = now - job_last_heard(job)
            if silent < RUNNING_RESUME_SILENCE:
                raise ValidationError(
                    f"this job is running (progress {int(silent.total_seconds())} s ago); a running job can be resumed "
                    f"only after {int(RUNNING_RESUME_SILENCE.total_seconds() // 60)} minutes without progress")
            job.heartbeat_at = now
        job.state = Job.State.RUNNING if job.started_at else Job.State.QUEUED
        job.finished_at = None
        job.error = ""
        job.save(update_fields=["state", "finished_at", "error", "heartbeat_at"])
        job_event(job, "resumed", actor=actor)
        Extract.objects.filter(job=job).resume_paused()
        job_dispatch(job)
    return job


# Re-queues in a row that a job may take with nothing settled in between before the sweep gives up its
# pending items: each re-queue's messages were taken (the broker's queue was empty at the next sweep)
# and no worker settled anything, so an item stops the worker that reads it (a decoder crash, the
# memory killer, a hard time limit), and re-queuing it for ever would hold the job open for ever.
STALL_REQUEUES_BEFORE_GIVING_UP = 3


def job_requeue(*, actor, job, silent_for: timedelta) -> bool:
    """Queue the driver of a job the workers have lost track of: it queues again whatever is still
    pending (and finishes a phase whose last message was lost), and the item check makes any
    message that was not lost after all a no-op. The silence is re-checked under the row lock, and
    the heartbeat restarts, so two sweeps, or a sweep and a worker recording progress, do not both
    act: the next sweep waits a whole `silent_for` again. After STALL_REQUEUES_BEFORE_GIVING_UP
    re-queues with nothing settled, the pending items fail instead (the job then finishes without
    them) and a job with none fails. Returns False when the job is not stalled (any more)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        now = timezone.now()
        if not jobs_stalled(silent_since=now - silent_for).filter(pk=job.pk).exists():
            return False
        last = job_last_heard(job)   # its children's progress too: the silence the sweep measured
        job.heartbeat_at = now
        job.save(update_fields=["heartbeat_at"])
        pending, settled = job_pending_items(job), job_settled_items(job)
        silent = int((now - last).total_seconds())
        before = list(job.events.filter(event__in=["requeued", "gave_up"]).order_by("-id")
                      .values_list("detail", flat=True)[:STALL_REQUEUES_BEFORE_GIVING_UP])
        if len(before) == STALL_REQUEUES_BEFORE_GIVING_UP and all(
                (d.get("pending"), d.get("settled")) == (pending, settled) for d in before):
            _job_give_up_pending(job, actor=actor, silent=silent)
        else:
            job_event(job, "requeued", actor=actor, silent_seconds=silent, pending=pending, settled=settled)
            job_dispatch(job)
    return True


def _job_give_up_pending(job, *, actor, silent: int) -> None:
    why = (f"no worker finished this in {STALL_REQUEUES_BEFORE_GIVING_UP} re-queues of a stalled job (it may stop "
           "the worker that reads it); analyse it again on its own to see why")
    items = list(JobItem.objects.filter(Q(job=job) | Q(job__parent=job), state=JobItem.State.PENDING)
                 .values_list("job_id", "pk"))
    failed = sum(job_item_fail(job_id, item_id, why) for job_id, item_id in items)
    job_event(job, "gave_up", actor=actor, silent_seconds=silent, failed=failed)
    log.warning("job %s: gave up %d pending items after %d re-queues with nothing settled", job.pk, failed,
                STALL_REQUEUES_BEFORE_GIVING_UP)
    if items:
        job_dispatch(job)   # the driver finishes the phase without them
    else:
        job_fail(job.pk, f"no worker finished its driver in {STALL_REQUEUES_BEFORE_GIVING_UP} re-queues")


def jobs_stalled_requeue(*, actor, broker_waiting: int, silent_for: timedelta | None = None) -> list[int]:
    """The sweep beat runs: re-queue every job silent for `silent_for` (settings.JOB_STALL_SECONDS;
    ``selectors.jobs.jobs_stalled``), but only while the broker's queue is empty. Messages waiting
    there mean the workers are behind, not that anything was lost (a job queued behind a long one is
    silent too), and a message a dead worker held comes back by itself after the visibility timeout,
    which JOB_STALL_SECONDS is longer than. What is left is a message taken and never recorded: kombu's
    Redis transport between a worker's pop and its write to the unacked set, and every message a
    killed embedded worker had taken (the SQLite broker hides taken rows until they are acked).
    Returns the ids of the jobs re-queued."""
    if broker_waiting:
        return []
    silent_for = silent_for if silent_for is not None else timedelta(seconds=settings.JOB_STALL_SECONDS)
    stalled = list(jobs_stalled(silent_since=timezone.now() - silent_for).order_by("pk"))
    requeued = [job.pk for job in stalled if job_requeue(actor=actor, job=job, silent_for=silent_for)]
    if requeued:
        log.warning("re-queued jobs %s: silent for %s, nothing waiting on the broker", requeued, silent_for)
    return requeued


def job_cancel(*, actor, job) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state in FINISHED_STATES:
            raise ValidationError(f"the job is already {job.get_state_display().lower()}")
        job.state = Job.State.CANCELLED
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "finished_at"])
        job_event(job, "cancelled", actor=actor)
        for child in job.children.exclude(state__in=FINISHED_STATES):
            Job.objects.filter(pk=child.pk).update(state=Job.State.CANCELLED, finished_at=timezone.now())
            job_event(child, "cancelled", actor=actor, by_parent=job.pk)
        # what the job was building says so now, not when (if ever) a worker runs it again
        Extract.objects.filter(job=job).cancel_unfinished()
    return job


# --- used by the tasks (system actor) ---------------------------------------------------------


def job_start(job_id) -> Job | None:
    """Mark running; returns None when the job must not run (paused, cancelled, finished)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state in (Job.State.PAUSED, Job.State.CANCELLED, Job.State.DONE, Job.State.FAILED,
                         Job.State.AWAITING_CONFIRMATION):
            return None
        if job.state != Job.State.RUNNING:
            job.state = Job.State.RUNNING
            job.started_at = job.started_at or timezone.now()
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["state", "started_at", "heartbeat_at"])
            job_event(job, "started")
    return job


def job_may_continue(job_id) -> bool:
    state = Job.objects.filter(pk=job_id).values_list("state", flat=True).first()
    return state in (Job.State.RUNNING, Job.State.QUEUED)


def job_count(job_id, *, found=0, processed=0, failed=0, bytes_done=0, bytes_total=0, requested=0):
    """Race-free counter increments (call inside the transaction that did the work)."""
    changes = {"heartbeat_at": timezone.now()}
    for name, value in (("found", found), ("processed", processed), ("failed", failed), ("bytes_done", bytes_done),
                        ("bytes_total", bytes_total), ("requested", requested)):
        if value:
            changes[name] = F(name) + value
    Job.objects.filter(pk=job_id).update(**changes)


def job_counts_restart(job_id) -> None:
    """Zero the counters of a job whose work starts again from the beginning.

    An inventory attempt lists the whole source again (a retry after a crash, a resume after a
    pause): without this, every attempt added its objects to the last one's and the page showed
    more objects than the source holds. Jobs that resume where they stopped (per-item jobs) keep
    their counters and never call this.
    """
    Job.objects.filter(pk=job_id).update(found=0, processed=0, failed=0, bytes_done=0, bytes_total=0,
                                         requested=0, heartbeat_at=timezone.now())


def job_items_add(job, asset_ids, *, chunk=1000) -> int:
    """Register the assets a job will work on; a second call adds nothing twice."""
    asset_ids = list(asset_ids)
    before = JobItem.objects.filter(job=job).count()
    for i in range(0, len(asset_ids), chunk):
        JobItem.objects.bulk_create(
            [JobItem(job=job, asset_id=a) for a in asset_ids[i:i + chunk]], ignore_conflicts=True
        )
    return JobItem.objects.filter(job=job).count() - before


def job_item_fail(job_id: int, item_id: int, error: str) -> bool:
    """Record a failed item once, and count it on its job; returns False when it was already settled."""
    with transaction.atomic():
        item = JobItem.objects.select_for_update().get(pk=item_id)
        if item.state not in (JobItem.State.PENDING, JobItem.State.WAITING):
            return False
        item.state = JobItem.State.FAILED
        item.error = str(error)[:2000]
        item.attempts += 1
        item.save(update_fields=["state", "error", "attempts", "updated_at"])
        job_count(job_id, failed=1)
    return True


def job_finish(job_id, *, state=Job.State.DONE, error="", **detail) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state in FINISHED_STATES:
            return job
        job.state = state
        job.error = error[:5000]
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "error", "finished_at"])
        job_event(job, state, error=error[:500], **detail)
    return job


def job_fail(job_id, error) -> Job:
    log.warning("job %s failed: %s", job_id, error)
    return job_finish(job_id, state=Job.State.FAILED, error=str(error))


def job_set_params(job_id, **values):
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        job.params = {**job.params, **values}
        job.save(update_fields=["params"])
    return job

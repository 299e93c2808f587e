"""Pipeline tasks: inventory, restore, analyse, pair. Thin: they take IDs and call services.

Every task is safe to run twice: the work items (JobItem) are locked and checked in the
transaction that records their result. acks_late + reject_on_worker_lost (settings) mean a
worker killed mid-task gets its message redelivered; the item check makes that harmless.
Analysis is one task per asset so a slow image holds up one worker slot, not a batch; pairing
runs in batches because the candidate index (in the database) is queried once per batch.

The job drivers (`*_task`) keep the Celery names they had before the rename, so queued messages
still run. Services import them at module level (services/jobs.JOB_DRIVERS); the tasks import
services inside their bodies.
"""
from __future__ import annotations

import logging
import random

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from ..storage import StorageError

log = logging.getLogger(__name__)

TRANSIENT = (StorageError, BotoCoreError, ClientError, ConnectionError, TimeoutError)
MAX_RETRIES = 4
ITEM_SOFT_LIMIT = 300
ITEM_HARD_LIMIT = 330


def _eager() -> bool:
    """Embedded mode runs tasks inline: a self-rescheduling poll would spin, so it polls once
    and `doppel_restore --poll` (or the job page) carries on."""
    from ..celery import app

    return bool(app.conf.task_always_eager)


def _backoff(retries: int) -> int:
    return min(300, 5 * 2**retries) + random.randint(0, 3)


def _may_retry(task, attempt, exc=None) -> bool:
    """Retry with backoff through the broker (raises Retry); inline (eager) a few immediate
    retries instead, since a Retry raised in embedded mode would reach the caller."""
    if task.request.is_eager:
        return attempt < task.max_retries
    if task.request.retries < task.max_retries:
        raise task.retry(countdown=_backoff(task.request.retries))
    return False


def run_retrying(task, func, *args, transient=(DatabaseError,)) -> None:
    """``func(*args)``, run again as ``_may_retry`` allows while it raises one of ``transient``; the
    last one is raised. For a task whose service ends its own job failed and whose only error left is
    one it could not record (SQLite's "database is locked" outlasting the busy timeout)."""
    attempt = 0
    while True:
        try:
            func(*args)
        except transient:
            if _may_retry(task, attempt):
                attempt += 1
                continue
            raise
        return


def _dispatch_items(task, job_id, item_ids, *extra, batch=None):
    if batch:
        for i in range(0, len(item_ids), batch):
            task.delay(job_id, *extra, item_ids[i:i + batch])
    else:
        for item_id in item_ids:
            task.delay(job_id, *extra, item_id)


def pair_batch_size(n: int) -> int:
    """Files per pair batch for a pair phase of ``n`` files: at most ``ANALYSE_BATCH``, and few enough
    that the phase is spread over ``PAIR_SPREAD`` batches.

    Why: a batch runs on one worker process, one file after another (the candidate index is asked
    once per batch, a kept copy read once per batch). Batches of 50 left every worker but one idle
    while a job of 50 files or fewer paired (about 3 s a 12 MP file), and all but a few on a few
    hundred. A phase of thousands of files is cut into batches of ``ANALYSE_BATCH`` as before."""
    return max(1, min(settings.ANALYSE_BATCH, -(-n // max(1, settings.PAIR_SPREAD))))


def _dispatch_pairs(job_id, item_ids, pair_job_id):
    _dispatch_items(pair_batch, job_id, item_ids, pair_job_id, batch=pair_batch_size(len(item_ids)))


@shared_task(name="reviewapp.tasks.pipeline.inventory_job",
             bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def inventory_job_task(self, job_id):
    from ..services import inventory
    from ..services.jobs import job_fail

    try:
        inventory.inventory_run(job_id)
    except StorageError:
        pass  # the job row carries the message; retrying a bad bucket or missing credentials helps nobody
    except SoftTimeLimitExceeded:
        job_fail(job_id, "inventory took longer than the time limit; use an S3 Inventory report for buckets this size")


@shared_task(name="reviewapp.tasks.pipeline.analysis_job",
             bind=True, acks_late=True, max_retries=MAX_RETRIES)
def analysis_job_task(self, job_id):
    """Driver: registers the items and queues one task per asset (or per pairing batch)."""
    from ..models import Job
    from ..services import analysis
    from ..services.jobs import job_start

    job = job_start(job_id)
    if job is None:
        return "not running"
    phase = job.params.get("phase", "analyse")
    if phase == "analyse":
        pending = analysis.analysis_prepare(job_id)
        if pending:
            _dispatch_items(analyse_asset, job_id, pending)
            return f"queued {len(pending)} assets"
        phase, pair_ids = analysis.analysis_advance(job_id)
        if phase == "pair":
            pj = Job.objects.get(pk=job_id).params["pair_job"]
            _dispatch_pairs(job_id, pair_ids, pj)
            if not pair_ids:
                analysis.analysis_advance(job_id)
        return phase
    if phase == "pair":
        pending = analysis.pending_pair_items(job)
        pj = job.params["pair_job"]
        if pending:
            _dispatch_pairs(job_id, pending, pj)
        else:
            analysis.analysis_advance(job_id)
        return "pair"
    return phase


def _after_item(job_id):
    from ..models import Job
    from ..services import analysis

    phase, pair_ids = analysis.analysis_advance(job_id)
    if phase == "pair" and pair_ids:
        pj = Job.objects.get(pk=job_id).params["pair_job"]
        _dispatch_pairs(job_id, pair_ids, pj)
    elif phase == "pair":
        # a pair phase with nothing to pair finishes at once
        analysis.analysis_advance(job_id)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=ITEM_SOFT_LIMIT, time_limit=ITEM_HARD_LIMIT)
def analyse_asset(self, job_id, item_id):
    from ..services import analysis
    from ..services.jobs import job_item_fail

    attempt = 0
    while True:
        try:
            outcome = analysis.analyse_item(job_id, item_id)
        except analysis.PermanentFailure as exc:
            job_item_fail(job_id, item_id, str(exc))
            outcome = "failed"
        except SoftTimeLimitExceeded:
            job_item_fail(job_id, item_id, f"analysis took longer than {ITEM_SOFT_LIMIT} s")
            outcome = "failed"
        except TRANSIENT as exc:
            if _may_retry(self, attempt):
                attempt += 1
                continue
            job_item_fail(job_id, item_id, f"gave up after {self.max_retries} retries: {exc}")
            outcome = "failed"
        break
    if outcome != "paused":
        _after_item(job_id)
    return outcome


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=1800, time_limit=1860)
def pair_batch(self, job_id, pair_job_id, item_ids):
    from ..services import analysis
    from ..services.jobs import job_item_fail

    attempt = 0
    while True:
        try:
            out = analysis.pair_items(job_id, pair_job_id, item_ids)
        except SoftTimeLimitExceeded:
            # what was written stays written; the rest goes back to the queue in smaller batches
            pending = analysis.pending_pair_items_in(pair_job_id, item_ids)
            if len(pending) == 1:
                job_item_fail(pair_job_id, pending[0], "pairing took longer than the time limit")
            elif pending:
                _dispatch_items(pair_batch, job_id, pending, pair_job_id, batch=max(1, len(pending) // 2))
            out = "split"
        except TRANSIENT as exc:
            if _may_retry(self, attempt):
                attempt += 1
                continue
            for item_id in analysis.pending_pair_items_in(pair_job_id, item_ids):
                job_item_fail(pair_job_id, item_id, f"gave up after {self.max_retries} retries: {exc}")
            out = "failed"
        break
    analysis.analysis_advance(job_id)
    return out


@shared_task(name="reviewapp.tasks.pipeline.restore_job",
             bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=3600, time_limit=3660)
def restore_job_task(self, job_id):
    """Request restores for the confirmed job's pending items, then start polling."""
    from ..services import restore

    attempt = 0
    while True:
        try:
            waiting = restore.restore_request_batch(job_id)
        except TRANSIENT as exc:
            if _may_retry(self, attempt):
                attempt += 1
                continue
            from ..services.jobs import job_fail

            job_fail(job_id, f"restore requests failed: {exc}")
            return "failed"
        break
    if waiting and not _eager():
        chain = restore.restore_poll_chain_start(job_id)  # any older chain stops at its next poll
        restore_poll.apply_async((job_id, chain), countdown=restore.poll_interval(_job(job_id)))
    return waiting


def _job(job_id):
    from ..models import Job

    return Job.objects.filter(pk=job_id).first()


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=1800, time_limit=1860)
def restore_poll(self, job_id, chain=None):
    """HeadObject on what is waiting; reschedules itself (same chain token) while anything is, and
    stops when the job is finished, paused or cancelled, or a newer chain has replaced this one."""
    from ..services import restore

    try:
        waiting = restore.restore_poll_once(job_id, chain)
    except TRANSIENT as exc:
        log.warning("restore poll of job %s failed, will poll again: %s", job_id, exc)
        waiting = True
    if waiting and not _eager():
        restore_poll.apply_async((job_id, chain), countdown=restore.poll_interval(_job(job_id)))
    return waiting


@shared_task(name="reviewapp.tasks.pipeline.reverify_job",
             bind=True, acks_late=True, max_retries=MAX_RETRIES, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def reverify_job_task(self, job_id):
    """Re-verify open candidates from stored data (thin: the service does the work, idempotently)."""
    from ..services import analysis

    return analysis.reverify_run(job_id)


__all__ = ["inventory_job_task", "analysis_job_task", "analyse_asset", "pair_batch", "restore_job_task", "restore_poll",
           "reverify_job_task"]

"""The pipeline through a real Celery worker process on Redis and PostgreSQL: inventory and
analysis end to end, and a worker killed mid-job (SIGKILL) whose work is redelivered to a new
worker with nothing lost and nothing done twice, or whose messages were lost outright and which beat's
sweep re-queues."""
from __future__ import annotations

import pytest

from reviewapp.models import Asset, Candidate, Job, JobItem, ReviewItem
from reviewapp.services.analysis import analysis_start
from reviewapp.services.inventory import inventory_start
from reviewapp.services.sources import source_add
from tests.conftest import wait_for
from tests.reviewapp.test_analysis import make_collection

EXPECTED = {
    "C1234a.jpg": "duplicate",
    "IMG_0001.png": "rotated",
    "C3456b.jpg": "cleanup_corrupt",
    "unique.jpg": "no_match",
    "garbage.jpg": "unreadable",
}


def finished(job):
    def check():
        job.refresh_from_db()
        return job.state in (Job.State.DONE, Job.State.FAILED, Job.State.CANCELLED)

    return check


def sources(local_root, admin_user):
    can, cl = make_collection(local_root)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    return canonical, cleanup


def inventory_both(admin_user, *srcs):
    for s in srcs:
        job = inventory_start(actor=admin_user, source=s)
        wait_for(finished(job), timeout=60, message=f"inventory of {s.name}")
        assert job.state == Job.State.DONE, job.error


def analysis_killed_mid_job(local_root, admin_user, worker):
    """An analysis of the small collection whose worker is SIGKILLed once it has processed two items
    (each item takes a little longer, a test hook, so the kill lands mid-job)."""
    canonical, cleanup = sources(local_root, admin_user)
    inventory_both(admin_user, canonical, cleanup)
    job = analysis_start(actor=admin_user, source=cleanup, params={"test_item_delay": 0.7})
    wait_for(lambda: Job.objects.get(pk=job.pk).processed >= 2, timeout=60, interval=0.05, message="first items")
    worker.kill()
    return job


def wait_finished(job, worker, message):
    """Until the job finishes; on a timeout, the job's counts and the worker's log say why."""
    try:
        wait_for(finished(job), timeout=180, message=message)
    except AssertionError as e:
        job.refresh_from_db()
        raise AssertionError(f"{e}: {job.state} {job.processed}/{job.requested}\n{worker.logs()[-4000:]}") from None


@pytest.mark.django_db(transaction=True)
def test_worker_runs_inventory_and_analysis_end_to_end(local_root, celery_worker, admin_user):
    canonical, cleanup = sources(local_root, admin_user)
    inventory_both(admin_user, canonical, cleanup)
    assert Asset.objects.count() == 8
    job = analysis_start(actor=admin_user, source=cleanup)
    wait_for(finished(job), timeout=120, message="analysis job")
    assert job.state == Job.State.DONE, (job.error, celery_worker.logs()[-3000:])
    assert (job.requested, job.processed, job.failed) == (8, 8, 0)
    assert dict(ReviewItem.objects.values_list("asset__name", "verdict")) == EXPECTED
    pair = Job.objects.get(parent=job)
    assert pair.state == Job.State.DONE and pair.processed == 5
    assert "analyse_asset" in celery_worker.logs()  # it really went through the worker


@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_nothing_and_repeats_nothing(local_root, celery_worker, admin_user):
    job = analysis_killed_mid_job(local_root, admin_user, celery_worker)
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.processed < job.requested == 8
    killed_at = job.processed
    # the new worker restores unacknowledged messages after the visibility timeout; as in production, beat
    # runs beside it, whose sweep re-queues a message the kill lost outright (kombu's window between a pop
    # and its unacked write; seen once in some dozens of runs) once the job has been silent for the stall time
    celery_worker.env.update({"DOPPEL_VISIBILITY_TIMEOUT": "3", "DOPPEL_RESTORE_SCAN_INTERVAL": "2",
                              "DOPPEL_JOB_STALL_SECONDS": "20", "DOPPEL_STALL_SWEEP_INTERVAL": "5"})
    celery_worker.start(beat=True)
    wait_finished(job, celery_worker, "analysis after the restart")
    assert job.state == Job.State.DONE, (job.error, celery_worker.logs()[-3000:])
    assert (job.requested, job.processed, job.failed) == (8, 8, 0), killed_at
    assert JobItem.objects.filter(job=job).count() == 8
    assert set(JobItem.objects.filter(job=job).values_list("state", flat=True)) == {JobItem.State.DONE}
    assert ReviewItem.objects.count() == 5
    assert dict(ReviewItem.objects.values_list("asset__name", "verdict")) == EXPECTED
    # one candidate row per pair and engine version, whatever ran twice
    pairs = list(Candidate.objects.values_list("cleanup_asset_id", "match_asset_id", "engine_version"))
    assert len(pairs) == len(set(pairs)) == 3
    pair = Job.objects.get(parent=job)
    assert pair.processed == 5 and pair.failed == 0


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_messages_were_lost_with_the_killed_worker_is_finished_by_the_beat_sweep(
        local_root, celery_worker, admin_user, redis_url):
    """The broker loses what the killed worker held, and what was waiting (kombu's Redis window between
    a worker's pop and its unacked write; the embedded SQLite broker's taken rows). The visibility
    timeout is set beyond the test, so only the sweep can bring the job back."""
    import redis

    job = analysis_killed_mid_job(local_root, admin_user, celery_worker)
    broker = redis.Redis.from_url(redis_url)
    assert broker.llen("doppel") + broker.hlen("unacked") > 0  # there was something to lose
    broker.delete("doppel", "unacked", "unacked_index")
    job.refresh_from_db()
    killed_at = job.processed
    assert job.state == Job.State.RUNNING and killed_at < job.requested == 8
    celery_worker.env.update({"DOPPEL_VISIBILITY_TIMEOUT": "3600", "DOPPEL_JOB_STALL_SECONDS": "4",
                              "DOPPEL_STALL_SWEEP_INTERVAL": "2"})
    celery_worker.start(beat=True)
    wait_finished(job, celery_worker, "analysis after the sweep")
    assert job.state == Job.State.DONE, (job.error, celery_worker.logs()[-3000:])
    assert (job.requested, job.processed, job.failed) == (8, 8, 0), killed_at
    requeued = job.events.filter(event="requeued")
    assert requeued.count() >= 1 and requeued.first().detail["pending"] == 8 - killed_at
    assert dict(ReviewItem.objects.values_list("asset__name", "verdict")) == EXPECTED
    pairs = list(Candidate.objects.values_list("cleanup_asset_id", "match_asset_id", "engine_version"))
    assert len(pairs) == len(set(pairs)) == 3

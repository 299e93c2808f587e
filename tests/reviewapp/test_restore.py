"""Restores from GLACIER / DEEP_ARCHIVE on moto's S3 server: estimate, admin confirmation,
RestoreObject in batches, the wait (moto's state manager holds restores in progress), counts,
and nothing restored twice."""
from __future__ import annotations

import pytest
import requests
from django.core.exceptions import PermissionDenied, ValidationError

from reviewapp.models import Asset, Job, JobEvent, JobItem
from reviewapp.services import restore
from reviewapp.services.inventory import inventory_run
from reviewapp.services.sources import source_add


@pytest.fixture
def manual_restores(s3_server):
    """Restores stay 'in progress' until their status was read `times` times (then done)."""

    def set_times(times):
        r = requests.post(f"{s3_server}/moto-api/state-manager/set-transition",
                          json={"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": times}}, timeout=10)
        r.raise_for_status()

    yield set_times
    requests.post(f"{s3_server}/moto-api/state-manager/unset-transition", json={"model_name": "s3::keyrestore"}, timeout=10)


@pytest.fixture
def archived_source(s3_profile, s3_bucket, admin_user, settings):
    settings.RESTORE_BATCH = 2  # several batches for 4 objects
    c = s3_profile
    for i in range(3):
        c.put_object(Bucket=s3_bucket, Key=f"a/C000{i}100.tif", Body=b"x" * (100 + i), StorageClass="DEEP_ARCHIVE")
    c.put_object(Bucket=s3_bucket, Key="a/IMG_9.jpg", Body=b"y" * 50, StorageClass="GLACIER")
    c.put_object(Bucket=s3_bucket, Key="a/IMG_hot.jpg", Body=b"z" * 10)
    src = source_add(actor=admin_user, name="cold", kind="s3", role="cleanup", storage_profile="moto", bucket=s3_bucket, prefix="a")
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=src).pk)
    return src


@pytest.mark.django_db
def test_estimate_then_confirm_then_wait(archived_source, admin_user, curator, s3_profile, s3_bucket, manual_restores):
    job = restore.restore_estimate(actor=admin_user, source=archived_source, tier="Bulk", days=3, poll_seconds=1)
    assert job.state == Job.State.AWAITING_CONFIRMATION
    e = job.params["estimate"]
    assert (e["objects"], e["bytes"], e["tier"], e["days"]) == (4, 353, "Bulk", 3)
    assert e["by_class"] == {"DEEP_ARCHIVE": {"objects": 3, "bytes": 303}, "GLACIER": {"objects": 1, "bytes": 50}}
    # nothing has been asked of S3 yet
    assert "Restore" not in s3_profile.head_object(Bucket=s3_bucket, Key="a/C0000100.tif")
    with pytest.raises(PermissionDenied):
        restore.restore_confirm(actor=curator, job=job)

    manual_restores(6)
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    assert restore.restore_request_batch(job.pk) is True
    assert set(Asset.objects.filter(storage_class__in=["DEEP_ARCHIVE", "GLACIER"]).values_list("state", flat=True)) == {"restoring"}
    counts = restore.restore_counts(job)
    assert counts["waiting"] == {"count": 4, "bytes": 353} and counts["restored"]["count"] == 0
    assert 'ongoing-request="true"' in s3_profile.head_object(Bucket=s3_bucket, Key="a/C0000100.tif")["Restore"]

    # a second job for the same objects while they are in progress asks S3 for nothing
    job2 = restore.restore_estimate(actor=admin_user, source=archived_source)
    assert job2.params["estimate"]["objects"] == 0

    assert restore.restore_poll_once(job.pk) is True  # still in progress: keep polling
    for _ in range(12):
        if not restore.restore_poll_once(job.pk):
            break
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.processed == 4 and job.failed == 0 and job.bytes_done == 353
    a = Asset.objects.get(key="a/C0000100.tif".split("/", 1)[1])
    assert a.state == Asset.State.AVAILABLE and a.restore_expires_at is not None
    assert JobEvent.objects.filter(event="restore_requested").count() == 4
    assert restore.restore_poll_once(job.pk) is False  # a finished job stops its schedule
    with pytest.raises(ValidationError):
        restore.restore_confirm(actor=admin_user, job=job)


@pytest.mark.django_db
def test_two_confirmed_jobs_never_restore_twice(archived_source, admin_user, manual_restores):
    manual_restores(50)
    j1 = restore.restore_estimate(actor=admin_user, source=archived_source)
    j2 = restore.restore_estimate(actor=admin_user, source=archived_source)
    assert j1.requested == j2.requested == 4
    for j in (j1, j2):
        restore.restore_confirm(actor=admin_user, job=j, dispatch=False)
        restore.restore_request_batch(j.pk)
    assert JobEvent.objects.filter(event="restore_requested").count() == 4
    assert JobItem.objects.filter(job=j2, state=JobItem.State.WAITING).count() == 4
    # a retried request batch changes nothing
    restore.restore_request_batch(j1.pk)
    assert JobEvent.objects.filter(event="restore_requested").count() == 4


@pytest.mark.django_db
def test_restore_task_polls_until_done_in_embedded_mode(archived_source, admin_user, django_capture_on_commit_callbacks):
    """No state manager: moto finishes restores at once, so the first poll sees them done."""
    job = restore.restore_estimate(actor=admin_user, source=archived_source)
    with django_capture_on_commit_callbacks(execute=True):
        restore.restore_confirm(actor=admin_user, job=job)
    job.refresh_from_db()
    if job.state != Job.State.DONE:  # eager mode polls once per call
        restore.restore_run(job.pk, wait=True, sleep=0)
        job.refresh_from_db()
    assert job.state == Job.State.DONE and job.processed == 4
    assert [e.event for e in job.events.all()][:3] == ["created", "confirmed", "started"]


@pytest.mark.django_db
def test_local_sources_have_nothing_to_restore(local_root, admin_user):
    d = local_root / "x"
    d.mkdir()
    src = source_add(actor=admin_user, name="loc", kind="local", role="cleanup", root=str(d))
    with pytest.raises(ValidationError, match="local source"):
        restore.restore_estimate(actor=admin_user, source=src)


@pytest.mark.django_db
def test_missing_object_fails_its_item(archived_source, admin_user, s3_profile, s3_bucket, manual_restores):
    manual_restores(50)
    job = restore.restore_estimate(actor=admin_user, source=archived_source)
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    restore.restore_request_batch(job.pk)
    s3_profile.delete_object(Bucket=s3_bucket, Key="a/IMG_9.jpg")
    restore.restore_poll_once(job.pk)
    job.refresh_from_db()
    assert job.failed == 1
    assert JobItem.objects.get(job=job, asset__key="IMG_9.jpg").state == JobItem.State.FAILED


@pytest.mark.django_db
def test_an_object_s3_refuses_to_restore_fails_its_item_and_the_others_are_still_requested(
        archived_source, admin_user, s3_profile, s3_bucket, manual_restores):
    """Rewritten as STANDARD after the inventory: RestoreObject answers InvalidObjectState, which no
    retry cures. That item fails with the reason; the job does not, and the rest are requested."""
    from reviewapp.tasks.pipeline import restore_job_task

    manual_restores(50)
    job = restore.restore_estimate(actor=admin_user, source=archived_source)
    s3_profile.put_object(Bucket=s3_bucket, Key="a/IMG_9.jpg", Body=b"y" * 50)  # STANDARD now
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    assert restore_job_task.run(job.pk) is True
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.failed == 1, job.error
    refused = JobItem.objects.get(job=job, asset__key="IMG_9.jpg")
    assert refused.state == JobItem.State.FAILED and "InvalidObjectState" in refused.error
    assert JobItem.objects.filter(job=job, state=JobItem.State.WAITING).count() == 3
    assert JobEvent.objects.filter(job=job, event="restore_requested").count() == 3


def _restore_all_then_expire(source, admin_user):
    from datetime import timedelta

    from django.utils import timezone

    job = restore.restore_estimate(actor=admin_user, source=source)
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    restore.restore_run(job.pk, wait=True, sleep=0)  # moto without a state manager restores at once
    restored = Asset.objects.filter(source=source, state=Asset.State.AVAILABLE, restore_expires_at__isnull=False)
    assert restored.count() == 4
    restored.update(restore_expires_at=timezone.now() - timedelta(hours=1))  # S3 has deleted the copies


@pytest.mark.django_db
def test_an_expired_restored_copy_is_estimated_and_requested_again(archived_source, admin_user):
    _restore_all_then_expire(archived_source, admin_user)
    job = restore.restore_estimate(actor=admin_user, source=archived_source)
    assert job.params["estimate"]["objects"] == 4
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    restore.restore_request_batch(job.pk)
    assert JobEvent.objects.filter(job=job, event="restore_requested").count() == 4


@pytest.mark.django_db
def test_an_estimate_confirmed_after_another_jobs_restore_expired_asks_for_it_again(archived_source, admin_user):
    """Two estimates of the same objects; the first is restored, its copies expire, then the second
    is confirmed: its objects are requested again, not skipped as restored."""
    from datetime import timedelta

    from django.utils import timezone

    first = restore.restore_estimate(actor=admin_user, source=archived_source)
    second = restore.restore_estimate(actor=admin_user, source=archived_source)
    restore.restore_confirm(actor=admin_user, job=first, dispatch=False)
    restore.restore_run(first.pk, wait=True, sleep=0)
    Asset.objects.filter(restore_expires_at__isnull=False).update(restore_expires_at=timezone.now() - timedelta(hours=1))
    restore.restore_confirm(actor=admin_user, job=second, dispatch=False)
    restore.restore_request_batch(second.pk)
    assert JobEvent.objects.filter(job=second, event="restore_requested").count() == 4
    assert JobItem.objects.filter(job=second, state=JobItem.State.WAITING).count() == 4


@pytest.mark.django_db
def test_an_inventory_archives_again_what_an_expired_restore_had_made_available(archived_source, admin_user):
    _restore_all_then_expire(archived_source, admin_user)
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=archived_source).pk)
    states = dict(Asset.objects.filter(source=archived_source).values_list("key", "state"))
    assert states == {"C0000100.tif": "archived", "C0001100.tif": "archived", "C0002100.tif": "archived",
                      "IMG_9.jpg": "archived", "IMG_hot.jpg": "listed"}


@pytest.mark.django_db
def test_an_extract_does_not_read_a_restored_copy_that_has_expired(db):
    from datetime import timedelta

    from django.utils import timezone

    from reviewapp.services.extracts import _is_archived
    from tests.factories import AssetFactory

    now = timezone.now()
    for state in (Asset.State.AVAILABLE, Asset.State.FINGERPRINTED):
        gone = AssetFactory(storage_class="GLACIER", state=state, restore_expires_at=now - timedelta(minutes=1))
        there = AssetFactory(storage_class="GLACIER", state=state, restore_expires_at=now + timedelta(days=1))
        assert _is_archived(gone) and not _is_archived(there)


@pytest.mark.django_db
def test_pause_and_resume_leave_one_polling_chain(archived_source, admin_user, manual_restores, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    """Each start of the job (confirm, every Resume) begins a polling chain; only the newest goes on
    polling and rescheduling, the older ones stop at their next run without asking S3 anything."""
    from reviewapp.services.jobs import job_pause, job_resume
    from reviewapp.tasks import pipeline

    manual_restores(50)  # everything stays in progress
    monkeypatch.setattr(pipeline, "_eager", lambda: False)  # as with a real broker: polls reschedule
    scheduled = []
    monkeypatch.setattr(pipeline.restore_poll, "apply_async", lambda args, **kw: scheduled.append(args))
    job = restore.restore_estimate(actor=admin_user, source=archived_source, poll_seconds=1)
    restore.restore_confirm(actor=admin_user, job=job, dispatch=False)
    pipeline.restore_job_task.run(job.pk)
    for _ in range(3):
        job_pause(actor=admin_user, job=job)
        with django_capture_on_commit_callbacks(execute=False):
            job_resume(actor=admin_user, job=job)
        pipeline.restore_job_task.run(job.pk)  # what the resume queued
    chains = list(scheduled)
    assert len(chains) == 4
    heads = []
    monkeypatch.setattr("reviewapp.storage.S3Storage.head", lambda self, key: heads.append(key) or _still_archived(key))
    scheduled.clear()
    for args in chains:
        pipeline.restore_poll.run(*args)
    assert scheduled == [chains[-1]]  # one chain reschedules itself
    assert len(heads) == 4  # one HeadObject per waiting object, not four


def _still_archived(key):
    from reviewapp.storage import ObjectInfo

    return ObjectInfo(key=key, size=1, etag="", last_modified=None, storage_class="GLACIER",
                      restore='ongoing-request="true"')

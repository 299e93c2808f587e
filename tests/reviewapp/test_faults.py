"""Faults under moto's S3 server: S3 failing mid-copy, mid-delete and mid-restore (botocore event
hooks on the client reviewapp.storage builds), the executor dying between steps, versioned buckets
and Object Lock. After each: no object lost, no record missing, and running again finishes the
plan exactly once."""
from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from botocore.exceptions import EndpointConnectionError
from django.core.exceptions import ValidationError
from django.utils import timezone

import reviewapp.storage as storage_mod
from reviewapp.models import AuditEntry, Candidate, DeletionItem, DeletionPlan, Job, ReviewItem, Source
from reviewapp.services import deletion as svc
from reviewapp.services.deletion import executor
from reviewapp.services.deletion import storage_for
from reviewapp.storage import S3Storage, StorageError
from tests.reviewapp.test_deletion import SIZE, approve, cleanup_jpeg, kept_png, put_asset, scenario
from tests.factories import AssetFactory, checked_plan

pytestmark = pytest.mark.services


class Crash(BaseException):
    """The worker process dying: not an Exception, nothing in the executor may swallow it."""


@pytest.fixture
def users(db):
    from tests.factories import UserFactory

    return UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")


def make_sources(bucket, *, versioned=False):
    cleanup = Source.objects.create(name=f"s3-cleanup-{bucket[-6:]}", kind="s3", role=Source.Role.CLEANUP,
                                    storage_profile="moto", bucket=bucket, prefix="cleanup/", versioned=versioned)
    canon = Source.objects.create(name=f"s3-canon-{bucket[-6:]}", kind="s3", role=Source.Role.CANONICAL,
                                  storage_profile="moto", bucket=bucket, prefix="canon/", versioned=versioned)
    return cleanup, canon


@pytest.fixture
def s3_sources(db, local_root, s3_bucket):
    return make_sources(s3_bucket)


@pytest.fixture
def faults(monkeypatch):
    """faults[("CopyObject", "before")] = n: the next n CopyObject calls fail before reaching S3;
    "after": S3 did the work but the client sees a connection error (the nastier case)."""
    plan = {}
    real = storage_mod.s3_client

    def hook(phase):
        def handler(event_name=None, **kwargs):
            op = event_name.rsplit(".", 1)[-1]
            if plan.get((op, phase), 0) > 0:
                plan[(op, phase)] -= 1
                raise EndpointConnectionError(endpoint_url=f"http://injected-fault/{op}/{phase}")
        return handler

    def client(profile):
        c = real(profile)
        c.meta.events.register("before-call.s3.*", hook("before"))
        c.meta.events.register("after-call.s3.*", hook("after"))
        return c

    monkeypatch.setattr(storage_mod, "s3_client", client)
    return plan


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    def run(admin, plan, *, resume=False):
        with django_capture_on_commit_callbacks(execute=True):
            (svc.deletion_plan_resume if resume else svc.deletion_plan_confirm)(actor=admin, plan=plan)
        plan.refresh_from_db()
        return plan

    return run


def three_decisions(sources, cur):
    return [scenario(*sources, cur, key=f"box/C{n}.jpg", cleanup_data=cleanup_jpeg(name))
            for n, name in ((1, "astronaut"), (2, "astronaut"), (3, "astronaut"))]


def assert_nothing_lost(plan):
    """Every object of the plan is at its key or (byte-identical) in quarantine."""
    for item in plan.items.select_related("asset__source"):
        original = storage_for(item.asset.source)
        target = svc.quarantine_target(item)
        there = original.exists(item.asset.key)
        held = target.storage.exists(target.key)
        assert there or held, f"{item.asset.key} is lost"
        if item.state == DeletionItem.State.QUARANTINED:
            assert held and not there
            assert target.storage.read_bytes(target.key) == cleanup_jpeg()


def assert_done_exactly_once(plan):
    plan.refresh_from_db()
    assert plan.state == DeletionPlan.State.DONE
    items = list(plan.items.all())
    assert all(i.state == DeletionItem.State.QUARANTINED for i in items), [(i.pk, i.state, i.reason) for i in items]
    for i in items:
        assert AuditEntry.objects.filter(item=i, action="quarantine").count() == 1
    assert not AuditEntry.objects.filter(action="abort").exists()
    assert_nothing_lost(plan)


@pytest.mark.parametrize("op,phase", [("CopyObject", "before"), ("CopyObject", "after"),
                                      ("DeleteObject", "before"), ("DeleteObject", "after")])
def test_s3_failure_mid_plan_then_rerun_finishes_exactly_once(s3_sources, users, faults, confirm, op, phase):
    cur, admin = users
    decisions = three_decisions(s3_sources, cur)
    plan = checked_plan(actor=admin, decisions=decisions)
    faults[(op, phase)] = 1
    plan = confirm(admin, plan)
    assert faults[(op, phase)] == 0, "the fault was injected"
    job = Job.objects.get(pk=plan.job_id)
    assert job.state == Job.State.FAILED and "run the plan again" in job.error
    assert plan.state == DeletionPlan.State.EXECUTING
    failed = plan.items.get(state=DeletionItem.State.PLANNED)
    assert "last attempt failed" in failed.reason
    assert plan.items.filter(state=DeletionItem.State.QUARANTINED).count() == 2
    assert_nothing_lost(plan)

    plan = confirm(admin, plan, resume=True)
    assert_done_exactly_once(plan)
    with pytest.raises(ValidationError):
        svc.deletion_plan_resume(actor=admin, plan=plan)


@pytest.mark.parametrize("crash_at", ["before_delete", "before_mark"])
def test_executor_killed_between_steps_then_restarted(s3_sources, users, monkeypatch, confirm, crash_at):
    cur, admin = users
    decisions = three_decisions(s3_sources, cur)
    plan = checked_plan(actor=admin, decisions=decisions)
    armed = {"n": 1}
    if crash_at == "before_delete":
        real = S3Storage.delete

        def dying_delete(self, key, **kw):
            if armed["n"] and "cleanup/" in self.prefix:
                armed["n"] = 0
                raise Crash()
            return real(self, key, **kw)

        monkeypatch.setattr(S3Storage, "delete", dying_delete)
    else:
        real_mark = executor._mark_quarantined

        def dying_mark(item, **kw):
            if armed["n"]:
                armed["n"] = 0
                raise Crash()
            return real_mark(item, **kw)

        monkeypatch.setattr(executor, "_mark_quarantined", dying_mark)
    with pytest.raises(Crash):
        confirm(admin, plan)
    plan.refresh_from_db()
    assert Job.objects.get(pk=plan.job_id).state == Job.State.RUNNING  # the dead worker left it so
    crashed = plan.items.get(pk=plan.items.order_by("pk").first().pk)
    assert crashed.state == DeletionItem.State.EXECUTING  # still claimed by the dead run; a resume takes it over
    assert AuditEntry.objects.filter(item=crashed, action="quarantine").count() == 1  # written first
    assert_nothing_lost(plan)

    plan = confirm(admin, plan, resume=True)
    assert Job.objects.filter(kind=Job.Kind.DELETE, params__plan_id=plan.pk).count() == 2
    assert_done_exactly_once(plan)
    # the recovered item records its quarantine copy's token, which purge and restore check against
    crashed.refresh_from_db()
    target = svc.quarantine_target(crashed)
    assert crashed.quarantine_checksum == target.storage.content_token(target.key)


def put_multipart_asset(source, key, data):
    """An object uploaded in parts (boto3's managed upload with a 1-byte threshold), and its row as
    inventory leaves it. Its ETag is "<md5 of the parts' md5s>-<parts>", not the MD5 of its bytes,
    and a server-side copy of it gets a new, plain one: only the size can tie the two together.
    Uploaded without a checksum (as older clients and most tools do): moto copies a multipart
    upload's composite checksum onto the copy as if it were the whole object's, and botocore then
    refuses to read the copy back."""
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from django.conf import settings

    client = boto3.client("s3", **settings.S3_PROFILES[source.storage_profile],
                          config=Config(request_checksum_calculation="when_required"))
    store = storage_for(source)
    client.upload_fileobj(io.BytesIO(data), store.bucket, store.full_key(key), Config=TransferConfig(multipart_threshold=1))
    info = store.head(key)
    assert info.etag.endswith("-1"), info.etag  # really uploaded in parts
    return AssetFactory(source=source, key=key, name=key.rsplit("/", 1)[-1], size=info.size, etag=info.etag,
                        version_id=info.version_id, width=SIZE[0], height=SIZE[1],
                        checksum=hashlib.sha256(data).hexdigest())


def _crash_at_the_mark(monkeypatch):
    """The worker dies once, right after the object left its key and before the item was marked."""
    real_mark = executor._mark_quarantined
    armed = {"n": 1}

    def dying_mark(item, **kw):
        if armed["n"]:
            armed["n"] = 0
            raise Crash()
        return real_mark(item, **kw)

    monkeypatch.setattr(executor, "_mark_quarantined", dying_mark)


@pytest.mark.parametrize("case", ["multipart", "versioned"])
def test_a_crash_after_the_delete_is_recovered_from_the_quarantine_copy_which_purge_then_removes(
        db, local_root, s3_profile, users, monkeypatch, confirm, case):
    """The object left its key and the worker died before marking the item. The resumed run finds
    the quarantine copy and takes it for the object: for a multipart upload by its size (its copy's
    ETag differs from the multipart ETag decided on), on a versioned bucket recording the copy's
    version, so that the purge removes that version for good instead of hiding it behind a delete
    marker."""
    cur, admin = users
    bucket = f"doppel-r-{uuid.uuid4().hex[:10]}"
    s3_profile.create_bucket(Bucket=bucket)
    if case == "versioned":
        s3_profile.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    cleanup_src, canon_src = make_sources(bucket, versioned=case == "versioned")
    jpeg = cleanup_jpeg()  # the bytes assert_done_exactly_once expects in quarantine
    if case == "multipart":
        kept = put_asset(canon_src, "box/M1.png", kept_png())
        d = approve(cur, put_multipart_asset(cleanup_src, "box/M1.jpg", jpeg), kept)
    else:
        d = scenario(cleanup_src, canon_src, cur, key="box/M1.jpg", cleanup_data=jpeg)
    plan = checked_plan(actor=admin, decisions=[d])
    _crash_at_the_mark(monkeypatch)
    with pytest.raises(Crash):
        confirm(admin, plan)
    item = plan.items.get()
    target = svc.quarantine_target(item)
    assert item.state == DeletionItem.State.EXECUTING
    assert not storage_for(d.asset.source).exists(d.asset.key)  # the delete ran before the crash
    assert target.storage.read_bytes(target.key) == jpeg
    q = target.storage.head(target.key)
    if case == "multipart":  # the copy's token is not the one decided on: only the size ties them
        assert target.storage.content_token(target.key) != "etag:" + item.etag_at_decision
    else:
        assert q.version_id

    assert_done_exactly_once(confirm(admin, plan, resume=True))
    item.refresh_from_db()
    assert (item.quarantine_version_id, item.quarantine_checksum) == (q.version_id, target.storage.content_token(target.key))
    DeletionItem.objects.filter(pk=item.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    assert svc.deletion_purge_due()["purged"] == 1
    assert not target.storage.exists(target.key)
    assert _versions(s3_profile, bucket, target.storage.full_key(target.key)) == []  # no version left behind
    assert AuditEntry.objects.filter(item=item, action="purge").count() == 1


@pytest.mark.parametrize("phase", ["before", "after"])
def test_s3_failure_mid_restore(s3_sources, users, faults, confirm, phase):
    cur, admin = users
    d = scenario(*s3_sources, cur)
    plan = confirm(admin, checked_plan(actor=admin, decisions=[d]))
    item = plan.items.get()
    assert item.state == DeletionItem.State.QUARANTINED
    faults[("CopyObject", phase)] = 1
    with pytest.raises(StorageError):
        svc.deletion_restore(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.QUARANTINED
    target = svc.quarantine_target(item)
    assert target.storage.read_bytes(target.key) == cleanup_jpeg()  # still held
    svc.deletion_restore(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.RESTORED
    assert storage_for(d.asset.source).read_bytes(d.asset.key) == cleanup_jpeg()
    assert AuditEntry.objects.filter(item=item, action="restore").count() == 1
    assert ReviewItem.objects.get(asset=d.asset).status == ReviewItem.Status.OPEN


def test_object_changed_between_check_and_copy_is_caught_by_the_etag_condition(s3_sources, users, monkeypatch, confirm):
    cur, admin = users
    d = scenario(*s3_sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])  # its dry run re-checks too: patched only after it
    real = executor.recheck_kept

    def recheck_then_someone_writes(item, src):
        out = real(item, src)
        src.put(item.asset.key, cleanup_jpeg("coffee"))  # lands after the checks, before the copy
        return out

    monkeypatch.setattr(executor, "recheck_kept", recheck_then_someone_writes)
    plan = confirm(admin, plan)
    item = plan.items.get()
    assert (item.state, item.reason) == (DeletionItem.State.ABORTED, "the object to delete changed while it was being "
                                         f"quarantined: {d.asset.key} changed since it was checked")
    assert AuditEntry.objects.get(item=item, action="abort").executed_by == admin
    assert storage_for(d.asset.source).read_bytes(d.asset.key) == cleanup_jpeg("coffee")
    assert not svc.quarantine_target(item).storage.exists(d.asset.key)


def test_changed_s3_object_to_delete_blocks_deletion(s3_sources, users, confirm):
    cur, admin = users
    d = scenario(*s3_sources, cur)
    storage_for(d.asset.source).put(d.asset.key, cleanup_jpeg("chelsea"))
    item = confirm(admin, checked_plan(actor=admin, decisions=[d])).items.get()
    assert item.state == DeletionItem.State.ABORTED and "changed since the decision" in item.reason
    assert storage_for(d.asset.source).exists(d.asset.key)


def test_damaged_s3_kept_copy_blocks_deletion(s3_sources, users, confirm):
    cur, admin = users
    d = scenario(*s3_sources, cur)
    kept = d.candidate.match_asset
    data = storage_for(kept.source).read_bytes(kept.key)
    storage_for(kept.source).put(kept.key, data[: len(data) // 2])
    item = confirm(admin, checked_plan(actor=admin, decisions=[d])).items.get()
    assert item.state == DeletionItem.State.ABORTED and "kept copy changed" in item.reason
    assert storage_for(d.asset.source).exists(d.asset.key)


def test_a_kept_copy_in_an_archive_tier_blocks_deletion_until_restored(s3_sources, users, s3_profile, confirm):
    """A kept copy moved to Glacier after the decision (same bytes, same ETag) cannot be read to be
    checked again: the item aborts with what to do, and nothing is deleted."""
    cur, admin = users
    d = scenario(*s3_sources, cur)
    kept = d.candidate.match_asset
    store = storage_for(kept.source)
    s3_profile.put_object(Bucket=store.bucket, Key=store.full_key(kept.key), Body=store.read_bytes(kept.key),
                          StorageClass="GLACIER")
    assert store.head(kept.key).etag == kept.etag
    item = confirm(admin, checked_plan(actor=admin, decisions=[d])).items.get()
    assert (item.state, item.reason) == (DeletionItem.State.ABORTED,
                                         "the kept copy is in an archive tier and cannot be checked; restore it first")
    assert AuditEntry.objects.get(item=item, action="abort").executed_by == admin
    assert storage_for(d.asset.source).read_bytes(d.asset.key) == cleanup_jpeg()


def _versions(client, bucket, key):
    resp = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for v in resp.get("Versions", []) + resp.get("DeleteMarkers", []) if v["Key"] == key]


def test_versioned_bucket_purge_removes_the_versions(db, local_root, s3_profile, users, confirm):
    cur, admin = users
    bucket = f"doppel-v-{uuid.uuid4().hex[:10]}"
    s3_profile.create_bucket(Bucket=bucket)
    s3_profile.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    d = scenario(*make_sources(bucket, versioned=True), cur)
    item = confirm(admin, checked_plan(actor=admin, decisions=[d])).items.get()
    assert item.state == DeletionItem.State.QUARANTINED, item.reason
    assert item.original_version_id and item.quarantine_version_id
    # the audit row written before the copy names the exact version that was then deleted
    assert AuditEntry.objects.get(item=item, action="quarantine").detail["version_id"] == item.original_version_id
    # the original version is gone for good, not hidden behind a delete marker
    assert _versions(s3_profile, bucket, "cleanup/" + d.asset.key) == []
    target = svc.quarantine_target(item)
    qkey = target.storage.full_key(target.key)
    assert [v["VersionId"] for v in _versions(s3_profile, bucket, qkey)] == [item.quarantine_version_id]
    DeletionItem.objects.filter(pk=item.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    assert svc.deletion_purge_due()["purged"] == 1
    assert _versions(s3_profile, bucket, qkey) == []
    assert AuditEntry.objects.filter(item=item, action="purge").count() == 1


def test_object_lock_is_obeyed_and_reported(db, local_root, s3_profile, users, confirm):
    cur, admin = users
    bucket = f"doppel-l-{uuid.uuid4().hex[:10]}"
    s3_profile.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    sources = make_sources(bucket, versioned=True)
    until = datetime(2031, 1, 1, tzinfo=dt_timezone.utc)

    # a locked object to delete: refused with the date, object intact
    locked = scenario(*sources, cur, key="box/L1.jpg")
    s3_profile.put_object_retention(Bucket=bucket, Key="cleanup/box/L1.jpg",
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    free = scenario(*sources, cur, key="box/F1.jpg")
    plan = confirm(admin, checked_plan(actor=admin, decisions=[locked, free]))
    li = plan.items.get(asset=locked.asset)
    assert li.state == DeletionItem.State.ABORTED and "locked until 2031-01-01" in li.reason
    assert storage_for(locked.asset.source).exists(locked.asset.key)
    # recorded under the admin who ran the plan; the file is not sent back to review (the approval
    # was right and stands, review would only ask again about an object nobody may delete)
    assert AuditEntry.objects.get(item=li, action="abort").executed_by == admin
    review = ReviewItem.objects.get(asset=locked.asset)
    assert (review.status, review.last_decision_id) == (ReviewItem.Status.DECIDED, locked.pk)
    assert Candidate.objects.get(pk=locked.candidate_id).status == Candidate.Status.CHOSEN

    # a quarantine copy that got locked: purge postpones and says until when
    fi = plan.items.get(asset=free.asset)
    assert fi.state == DeletionItem.State.QUARANTINED, fi.reason
    target = svc.quarantine_target(fi)
    s3_profile.put_object_retention(Bucket=bucket, Key=target.storage.full_key(target.key), VersionId=fi.quarantine_version_id,
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    DeletionItem.objects.filter(pk=fi.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    assert svc.deletion_purge_due() == {"purged": 0, "locked": 1, "failed": 0}
    fi.refresh_from_db()
    assert fi.state == DeletionItem.State.QUARANTINED and "locked until 2031-01-01" in fi.reason
    assert target.storage.exists(target.key)
    assert not AuditEntry.objects.filter(action="purge").exists()

    # a takedown of a locked object is recorded and reported, not silently skipped
    results = svc.takedown_execute(actor=admin, assets=[locked.asset], reason="court order requires removal")
    assert results[0]["ok"] is False and "locked until" in results[0]["message"]
    assert AuditEntry.objects.get(action="takedown").outcome.startswith("refused")


@pytest.mark.celery
def test_real_worker_killed_mid_plan_then_restarted(local_root, s3_profile, s3_bucket, celery_worker):
    """A real Celery worker on Redis runs the plan and is SIGKILLed part-way; after a restart
    and a re-run every object is in quarantine exactly once and nothing is lost."""
    from tests.conftest import wait_for
    from tests.factories import UserFactory

    cur, admin = UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")
    sources = make_sources(s3_bucket)
    decisions = [scenario(*sources, cur, key=f"box/K{n:02d}.jpg") for n in range(10)]
    plan = svc.deletion_plan_create(actor=admin, decisions=decisions)  # the dry run goes to the worker too
    wait_for(lambda: not svc.dry_run_unchecked(plan).exists(), timeout=90, interval=0.05,
             message="the worker to finish the dry run")
    svc.deletion_plan_confirm(actor=admin, plan=plan)  # on commit: sent to the worker through Redis
    wait_for(lambda: plan.items.exclude(state=DeletionItem.State.PLANNED).exists(), timeout=90, interval=0.05,
             message="the worker to claim a first object")
    celery_worker.kill()
    plan.refresh_from_db()
    done_before = plan.items.filter(state=DeletionItem.State.QUARANTINED).count()
    still_planned = plan.items.filter(state=DeletionItem.State.PLANNED).count()
    print(f"killed the worker with {done_before} of 10 objects quarantined, {still_planned} still planned")
    # The kill really interrupted the plan: work was outstanding, so the re-run is not a plain re-run.
    assert still_planned > 0, "the worker finished before it was killed; the test proved nothing"
    assert_nothing_lost(plan)

    celery_worker.start()
    svc.deletion_plan_resume(actor=admin, plan=plan)
    wait_for(lambda: DeletionPlan.objects.get(pk=plan.pk).state == DeletionPlan.State.DONE, timeout=120,
             message=f"the re-run to finish the plan ({done_before} of 10 done before the kill)")
    assert_done_exactly_once(plan)

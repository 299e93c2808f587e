"""Deletion plans, the executor, quarantine, restore, purge and takedown on local sources with real
images (the S3 side and injected faults are in test_faults.py). Each DESIGN.md invariant that
concerns deletion has a test here that would fail if the rule were broken."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

import matching
from reviewapp.models import (
    Asset, AuditEntry, Candidate, DeletionItem, DeletionPlan, Job, ReingestItem, ReviewItem, Source,
)
from reviewapp.services import deletion as svc
from reviewapp.services.deletion import executor as deletion_executor
from reviewapp.services.deletion import plans as deletion_plans
from reviewapp.services.deletion import quarantine as deletion_quarantine
from reviewapp.services.review import decision_record, decision_undo
from reviewapp.services.deletion import storage_for
from reviewapp.storage import LocalStorage
from tests.conftest import api_client_for
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory, checked_plan
from tests.images import photo

SIZE = (256, 256)


def img_bytes(img, fmt="JPEG", **kw):
    buf = io.BytesIO()
    if fmt == "JPEG":
        kw.setdefault("quality", 92)
    img.save(buf, fmt, **kw)
    return buf.getvalue()


KEPT_PNG = None


def kept_png():
    global KEPT_PNG
    if KEPT_PNG is None:
        KEPT_PNG = img_bytes(photo("astronaut", size=SIZE), "PNG")
    return KEPT_PNG


def cleanup_jpeg(name="astronaut", size=SIZE):
    return img_bytes(photo(name, size=size), "JPEG")


def put_asset(source, key, data, **extra) -> Asset:
    """Write an object and its row as inventory + analysis would leave it (ETag, sha256, and for
    local files the device/inode)."""
    info = storage_for(source).put(key, data)
    extra = {"width": SIZE[0], "height": SIZE[1], "checksum": hashlib.sha256(data).hexdigest(),
             "inode": ":".join(str(x) for x in info.identity), **extra}
    return AssetFactory(source=source, key=key, name=key.rsplit("/", 1)[-1], size=info.size, etag=info.etag,
                        version_id=info.version_id, **extra)


def approve(curator, cleanup, kept, **cand) -> "Decision":  # noqa: F821
    c = CandidateFactory(cleanup_asset=cleanup, match_asset=kept, thresholds={"local": 0.085}, **cand)
    item = ReviewItemFactory(best_candidate=c)
    return decision_record(actor=curator, item=item, action="approve_delete")


def scenario(cleanup_src, canon_src, curator, *, key="box1/C0001.jpg", cleanup_data=None, kept_data=None):
    kept = put_asset(canon_src, key.replace(".jpg", ".png"), kept_data or kept_png())
    cleanup = put_asset(cleanup_src, key, cleanup_data or cleanup_jpeg())
    return approve(curator, cleanup, kept)


@pytest.fixture
def run_plan(django_capture_on_commit_callbacks):
    """Create and confirm a plan; the executor task runs (eager Celery) when the confirm commits."""

    def run(admin, decisions):
        plan = checked_plan(actor=admin, decisions=decisions)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            svc.deletion_plan_confirm(actor=admin, plan=plan)
        assert len(callbacks) == 1
        plan.refresh_from_db()
        return plan

    return run


@pytest.fixture
def sources(db, local_root):
    (local_root / "cleanup").mkdir()
    (local_root / "canon").mkdir()
    cleanup = SourceFactory(name="cleanup", root=str(local_root / "cleanup"), role=Source.Role.CLEANUP)
    canon = SourceFactory(name="canon", root=str(local_root / "canon"), role=Source.Role.CANONICAL)
    return cleanup, canon


@pytest.fixture
def users(db):
    return UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")


def exists(asset):
    return storage_for(asset.source).exists(asset.key)


# --- plans ----------------------------------------------------------------------------------------


def test_plan_is_a_dry_run_with_a_csv_and_takes_only_standing_approvals(sources, users):
    cur, admin = users
    d1 = scenario(*sources, cur, key="a/C1.jpg")
    d2 = scenario(*sources, cur, key="a/C2.jpg")
    decision_undo(actor=cur, decision=d2)  # undone: must not be planned
    d3 = scenario(*sources, cur, key="a/C3.jpg")
    # a not_duplicate decision is never planned
    c4 = CandidateFactory(cleanup_asset=put_asset(sources[0], "a/C4.jpg", cleanup_jpeg()),
                          match_asset=put_asset(sources[1], "a/C4.png", kept_png()))
    decision_record(actor=cur, item=ReviewItemFactory(best_candidate=c4), action="not_duplicate")

    plan = checked_plan(actor=admin)
    assert plan.state == DeletionPlan.State.DRAFT
    planned = {i.decision_id for i in plan.items.all()}
    assert planned == {d1.pk, d3.pk}
    # dry run: every object still there, no job, no audit
    assert all(exists(i.asset) for i in plan.items.all())
    assert not Job.objects.filter(kind=Job.Kind.DELETE).exists()
    assert not AuditEntry.objects.exists()

    from reviewapp.selectors.deletion import PLAN_CSV_HEADER, plan_csv_rows
    from reviewapp.services.exports import csv_lines

    text = "".join(csv_lines(PLAN_CSV_HEADER, plan_csv_rows(plan))).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["key"] for r in rows} == {"a/C1.jpg", "a/C3.jpg"}
    r = next(r for r in rows if r["key"] == "a/C1.jpg")
    assert r["kept_key"] == "a/C1.png" and r["approver"] == "cur" and r["decision"] == "approve_delete"
    assert int(r["size"]) == d1.asset.size and r["diff_score"] == "0.01"

    # nothing is planned twice
    with pytest.raises(ValidationError):
        checked_plan(actor=admin)


def test_only_admins_plan_and_confirm(sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    with pytest.raises(PermissionDenied):
        checked_plan(actor=cur)
    plan = checked_plan(actor=admin, decisions=[d])
    with pytest.raises(PermissionDenied):
        svc.deletion_plan_confirm(actor=cur, plan=plan)
    assert exists(d.asset)


def test_confirmed_plan_quarantines_after_audit_and_keeps_the_match(run_plan, sources, users, settings, monkeypatch):
    cur, admin = users
    d = scenario(*sources, cur)
    kept = d.candidate.match_asset
    seen = {}
    real_delete = LocalStorage.delete

    def spy_delete(self, key, **kw):
        # invariant 2: the audit row exists (committed) before the object leaves its key
        seen["audit_before"] = AuditEntry.objects.filter(action="quarantine", key=key).exists()
        return real_delete(self, key, **kw)

    monkeypatch.setattr(LocalStorage, "delete", spy_delete)
    plan = run_plan(admin, [d])
    item = plan.items.get()
    assert plan.state == DeletionPlan.State.DONE
    assert item.state == DeletionItem.State.QUARANTINED, item.reason
    assert seen["audit_before"] is True
    assert not exists(d.asset) and exists(kept)
    qpath = settings.QUARANTINE_DIR / "cleanup" / str(item.pk) / d.asset.key
    assert qpath.read_bytes() == cleanup_jpeg()
    assert item.quarantine_location == str(qpath)
    assert item.purge_after > timezone.now() + timedelta(days=settings.QUARANTINE_RETENTION_DAYS - 1)
    audit = AuditEntry.objects.get(action="quarantine")
    # invariant 7 and the audit contract: what, against what, scores, engine, who
    assert (audit.key, audit.etag, audit.size) == (d.asset.key, d.asset.etag, d.asset.size)
    assert (audit.kept_key, audit.kept_etag) == (kept.key, kept.etag)
    assert audit.engine_version == "test-engine" and audit.thresholds == {"local": 0.085}
    assert audit.diff_score == 0.01 and audit.approved_by == cur and audit.executed_by == admin
    assert audit.decision_id == d.pk
    # what the executor proved right before the copy: the re-check of the pair at full detail,
    # where the copy goes, the version (none here) and the device/inode of the file it deletes
    assert audit.detail == {"recheck": audit.detail["recheck"], "quarantine": item.quarantine_location,
                            "version_id": "", "identity": ["local", *d.asset.inode.split(":")]}
    recheck = audit.detail["recheck"]
    assert (recheck["verdict"], recheck["engine_version"]) == ("duplicate", matching.ENGINE_VERSION)
    assert 0 <= recheck["diff_score"] and 0 <= recheck["local_score"] < item.thresholds["local"]
    job = plan.job
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.processed == 1
    assert svc.decision_has_run(d) is True
    # confirming again queues nothing new
    svc.deletion_plan_confirm(actor=admin, plan=plan)
    assert Job.objects.filter(kind=Job.Kind.DELETE).count() == 1


def test_decision_has_not_run_while_only_planned(sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    checked_plan(actor=admin, decisions=[d])
    assert svc.decision_has_run(d) is False


def _assert_aborted(plan, d, fragment):
    item = plan.items.get()
    assert item.state == DeletionItem.State.ABORTED
    assert fragment in item.reason, item.reason
    assert exists(d.asset), "an aborted item must not lose its object"
    assert AuditEntry.objects.filter(action="abort", item=item).exists()
    assert not AuditEntry.objects.filter(action="quarantine").exists()
    review = ReviewItem.objects.get(asset=d.asset)
    assert review.status == ReviewItem.Status.OPEN
    assert not Candidate.objects.filter(cleanup_asset=d.asset).exclude(status="open").exists()
    return item


def test_changed_kept_copy_blocks_deletion(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    kept = d.candidate.match_asset
    storage_for(kept.source).put(kept.key, img_bytes(photo("astronaut", size=SIZE), "PNG", compress_level=1))
    _assert_aborted(run_plan(admin, [d]), d, "kept copy changed")


def test_missing_kept_copy_blocks_deletion(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    kept = d.candidate.match_asset
    storage_for(kept.source).delete(kept.key)
    _assert_aborted(run_plan(admin, [d]), d, "no longer exists")


def test_damaged_kept_copy_blocks_deletion(run_plan, sources, users):
    """The kept copy was already truncated when decided (same ETag): only the full decode catches it."""
    cur, admin = users
    good = kept_png()
    d = scenario(*sources, cur, kept_data=good[: int(len(good) * 0.6)])
    _assert_aborted(run_plan(admin, [d]), d, "does not decode fully")


def test_kept_copy_of_another_picture_blocks_deletion(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur, kept_data=img_bytes(photo("coffee", size=SIZE), "PNG"))
    _assert_aborted(run_plan(admin, [d]), d, "no longer verifies")


def test_changed_object_to_delete_blocks_deletion(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    storage_for(d.asset.source).put(d.asset.key, cleanup_jpeg("chelsea"))
    _assert_aborted(run_plan(admin, [d]), d, "object to delete changed")


def test_a_master_in_a_tiff_subifd_is_measured_at_the_recheck_and_kept(run_plan, sources, users):
    """Issue 16 at the moment of deletion: the row was approved with the small preview's size, but
    the re-check measures the master in the SubIFD (twice the pixels) and aborts."""
    import numpy as np
    import tifffile

    cur, admin = users
    master = photo("astronaut", size=(SIZE[0] * 2, SIZE[1] * 2))
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as t:
        t.write(np.asarray(master.resize((50, 50))), photometric="rgb", subfiletype=1, subifds=1)
        t.write(np.asarray(master), photometric="rgb", compression="zlib")
    d = scenario(*sources, cur, key="box3/C0003.tif", cleanup_data=buf.getvalue())
    _assert_aborted(run_plan(admin, [d]), d, "more pixels (512x512)")


def test_larger_cleanup_copy_waits_for_verified_reingest(run_plan, sources, users):
    """Invariant 3: a clean-up copy holding more pixels than its canonical is kept until its
    reingest is verified."""
    cur, admin = users
    d = scenario(*sources, cur, cleanup_data=cleanup_jpeg(size=(384, 384)))
    _assert_aborted(run_plan(admin, [d]), d, "more pixels")

    # once a reingest of it is verified (the canonical now holds it), the same check passes
    d2 = scenario(*sources, cur, key="box2/C0002.jpg", cleanup_data=cleanup_jpeg(size=(384, 384)),
                  kept_data=cleanup_jpeg(size=(384, 384)))
    ReingestItem.objects.create(asset=d2.asset, state=ReingestItem.State.VERIFIED, canonical_asset=d2.candidate.match_asset,
                                verified_at=timezone.now())
    plan = run_plan(admin, [d2])
    assert plan.items.get().state == DeletionItem.State.QUARANTINED


def test_canonical_source_is_never_deleted_from(sources, users):
    """Invariant 1: even a hand-made item for a canonical object is refused by the executor."""
    cur, admin = users
    cleanup_src, canon_src = sources
    d = scenario(cleanup_src, canon_src, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    item = plan.items.get()
    canon_obj = put_asset(canon_src, "x/C9.jpg", cleanup_jpeg())
    DeletionItem.objects.filter(pk=item.pk).update(asset=canon_obj, etag_at_decision=canon_obj.etag)
    item = svc.deletion_item_execute(actor=admin, item=item)
    assert item.state == DeletionItem.State.ABORTED and "canonical" in item.reason
    assert exists(canon_obj)


def test_kept_object_can_never_be_the_deleted_one(sources, users):
    from django.db import IntegrityError, transaction

    cur, admin = users
    d = scenario(*sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    item = plan.items.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeletionItem.objects.filter(pk=item.pk).update(kept_asset=item.asset)


def test_restore_puts_the_object_back_and_the_file_back_in_review(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    plan = run_plan(admin, [d])
    item = plan.items.get()
    assert not exists(d.asset)
    with pytest.raises(PermissionDenied):
        svc.deletion_restore(actor=cur, item=item)
    svc.deletion_restore(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.RESTORED
    assert storage_for(d.asset.source).read_bytes(d.asset.key) == cleanup_jpeg()
    assert AuditEntry.objects.filter(action="restore", item=item).count() == 1
    assert ReviewItem.objects.get(asset=d.asset).status == ReviewItem.Status.OPEN
    assert not (d.asset.source and LocalStorage(svc.quarantine_target(item).storage.root).exists(d.asset.key))
    assert Asset.objects.get(pk=d.asset.pk).state != Asset.State.VANISHED
    svc.deletion_restore(actor=admin, item=item)  # a retry changes nothing
    assert AuditEntry.objects.filter(action="restore").count() == 1


def test_purge_after_retention_only(run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    item = run_plan(admin, [d]).items.get()
    qfile = svc.quarantine_target(item).storage.path(d.asset.key)
    assert svc.deletion_purge_due() == {"purged": 0, "locked": 0, "failed": 0}
    assert qfile.exists()
    DeletionItem.objects.filter(pk=item.pk).update(purge_after=timezone.now() - timedelta(minutes=1))
    assert svc.deletion_purge_due()["purged"] == 1
    item.refresh_from_db()
    assert item.state == DeletionItem.State.PURGED and not qfile.exists()
    assert AuditEntry.objects.filter(action="purge", item=item).count() == 1
    with pytest.raises(ValidationError):
        svc.deletion_restore(actor=admin, item=item)


def test_takedown_deletes_canonical_at_once_with_reason_and_audit(sources, users):
    cur, admin = users
    cleanup_src, canon_src = sources
    d = scenario(cleanup_src, canon_src, cur)
    kept = d.candidate.match_asset
    with pytest.raises(PermissionDenied):
        svc.takedown_execute(actor=cur, assets=[kept], reason="court order 2026/17 requires removal")
    with pytest.raises(ValidationError):
        svc.takedown_execute(actor=admin, assets=[kept], reason="  ")
    assert exists(kept)
    results = svc.takedown_execute(actor=admin, assets=[kept, d.asset], reason="court order 2026/17 requires removal")
    assert [r["ok"] for r in results] == [True, True]
    assert not exists(kept) and not exists(d.asset)
    rows = AuditEntry.objects.filter(action="takedown")
    assert {r.key for r in rows} == {kept.key, d.asset.key}
    assert all(r.reason.startswith("court order") and r.executed_by == admin for r in rows)
    assert not (LocalStorage(settings.QUARANTINE_DIR).root / "canon").exists(), "a takedown skips quarantine"
    assert Asset.objects.get(pk=kept.pk).state == Asset.State.VANISHED


def test_cancelled_draft_frees_its_decisions(sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    svc.deletion_plan_cancel(actor=admin, plan=plan)
    with pytest.raises(ValidationError):
        svc.deletion_plan_confirm(actor=admin, plan=plan)
    assert exists(d.asset)
    again = checked_plan(actor=admin)
    assert [i.decision_id for i in again.items.all()] == [d.pk]


def test_the_dry_run_is_a_queued_task_that_a_redelivery_finishes_and_confirm_waits_for(
        sources, users, django_capture_on_commit_callbacks):
    from reviewapp.selectors.deletion import dry_run_progress
    from reviewapp.tasks.execution import deletion_dry_run_task as deletion_dry_run

    cur, admin = users
    decisions = [scenario(*sources, cur, key=f"q/C{i}.jpg") for i in range(3)]
    storage_for(decisions[1].asset.source).delete(decisions[1].asset.key)  # this one would abort
    with django_capture_on_commit_callbacks() as queued:
        plan = svc.deletion_plan_create(actor=admin, decisions=decisions)
    assert len(queued) == 1  # creating the plan re-checked nothing itself
    assert dry_run_progress(plan) == {"checked": 0, "total": 3, "percent": 0, "done": False}
    with pytest.raises(ValidationError, match="still re-checking this plan \\(3 items to go\\)"):
        svc.deletion_plan_confirm(actor=admin, plan=plan)

    # a worker that died after the first item: the redelivered task checks only the other two
    first = plan.items.order_by("pk").first()
    DeletionItem.objects.filter(pk=first.pk).update(dry_run_at=timezone.now(), dry_run_reason="")
    assert dry_run_progress(plan)["checked"] == 1
    stamp = DeletionItem.objects.get(pk=first.pk).dry_run_at
    deletion_dry_run.delay(plan.pk)
    deletion_dry_run.delay(plan.pk)  # a duplicate delivery changes nothing
    assert DeletionItem.objects.get(pk=first.pk).dry_run_at == stamp
    assert dry_run_progress(plan) == {"checked": 3, "total": 3, "percent": 100, "done": True}
    outcomes = [i.dry_run_outcome for i in plan.items.order_by("pk")]
    assert outcomes[0] == outcomes[2] == "would run"
    assert outcomes[1] == "would abort: the object to delete no longer exists at its key"

    # running it again starts from scratch (storage changed), and Confirm waits for it again
    with django_capture_on_commit_callbacks() as queued:
        svc.deletion_plan_recheck(actor=admin, plan=plan)
    assert len(queued) == 1 and dry_run_progress(plan)["checked"] == 0
    with pytest.raises(ValidationError):
        svc.deletion_plan_confirm(actor=admin, plan=plan)
    queued[0]()
    assert dry_run_progress(plan)["done"]
    with pytest.raises(PermissionDenied):
        svc.deletion_plan_recheck(actor=cur, plan=plan)
    svc.deletion_plan_confirm(actor=admin, plan=plan)
    with pytest.raises(ValidationError, match="only an unconfirmed plan"):
        svc.deletion_plan_recheck(actor=admin, plan=plan)


def test_a_plan_whose_every_item_would_abort_says_so_and_one_with_nothing_planned_cannot_be_confirmed(
        client, sources, users, django_capture_on_commit_callbacks):
    cur, admin = users
    decisions = [scenario(*sources, cur, key=f"g/C{i}.jpg") for i in range(2)]
    for d in decisions:
        storage_for(d.asset.source).delete(d.asset.key)   # both gone before the plan: both would abort
    with django_capture_on_commit_callbacks(execute=True):
        plan = svc.deletion_plan_create(actor=admin, decisions=decisions)
    client.force_login(admin)
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    assert "as of the dry run it would quarantine nothing (Cancel instead leaves the approvals standing" in page
    assert 'aria-describedby="plan-would-abort">Confirm (as of the dry run: quarantine 0, return 2 to review)</button>' in page
    # once nothing is planned any more (one undone, one aborted), there is nothing to confirm
    decision_undo(actor=cur, decision=decisions[-1])
    deletion_executor.deletion_item_abort(actor=admin, item=plan.items.get(decision=decisions[0]), reason="gone")
    with pytest.raises(ValidationError, match="nothing in this plan is planned any more"):
        svc.deletion_plan_confirm(actor=admin, plan=plan)
    assert DeletionPlan.objects.get(pk=plan.pk).state == DeletionPlan.State.DRAFT
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    assert 'data-testid="plan-confirm" disabled aria-describedby="dry-run-done">' in page
    assert "Nothing in this plan is planned any more" in page


def test_a_plan_item_whose_file_vanished_is_said_gone_not_back_to_review_and_links_to_its_page(
        client, sources, users, django_capture_on_commit_callbacks):
    """The plan page promised "return 2 to review" for a file an inventory had found gone, which no
    queue serves: it now says the file is gone and links the object's page, which says so too."""
    cur, admin = users
    gone, there = (scenario(*sources, cur, key=f"v/C{i}.jpg") for i in range(2))
    for d in (gone, there):
        storage_for(d.asset.source).delete(d.asset.key)   # both would abort
    Asset.objects.filter(pk=gone.asset_id).update(state=Asset.State.VANISHED)   # an inventory found this one gone
    with django_capture_on_commit_callbacks(execute=True):
        plan = svc.deletion_plan_create(actor=admin, decisions=[gone, there])
    client.force_login(admin)
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    assert "Confirm (as of the dry run: quarantine 0, return 1 to review, 1 gone from its source)</button>" in page
    assert ("(1 of them is gone from its source: no queue serves it until an inventory lists it again)" in page)
    assert page.count('data-testid="item-gone"') == 1
    link = reverse("asset-detail", args=[gone.asset_id])
    assert f'href="{link}"' in page
    assert "No longer in its source" in client.get(link).content.decode()


# --- pages ----------------------------------------------------------------------------------------


def test_pages_plan_confirm_restore_audit_and_takedown(client, sources, users, django_capture_on_commit_callbacks):
    from django.urls import reverse

    cur, admin = users
    d = scenario(*sources, cur)
    client.force_login(cur)
    for name in ("deletion-plan-list", "audit-list", "takedown", "quarantine-list"):
        assert client.get(reverse(name)).status_code == 403
    client.force_login(admin)
    assert "1 approved deletion" in client.get(reverse("deletion-plan-list")).content.decode()
    with django_capture_on_commit_callbacks() as queued:
        r = client.post(reverse("deletion-plan-list"), {})
    plan = DeletionPlan.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("deletion-plan-detail", args=[plan.pk])
    # The request only queued the dry run (a worker reads and decodes the objects): nothing is
    # re-checked yet, the page follows the progress, and Confirm is disabled and refused.
    assert len(queued) == 1 and plan.items.get().dry_run_at is None
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    assert d.asset.key in page and "0 of 1 done" in page and 'data-live-refresh="2"' in page
    assert re.search(r'data-testid="plan-confirm" disabled', page)
    client.post(reverse("deletion-plan-action", args=[plan.pk, "confirm"]))
    plan.refresh_from_db()
    assert plan.state == DeletionPlan.State.DRAFT and plan.job is None
    queued[0]()  # the worker runs the dry run
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    assert "Dry run finished" in page and "would run" in page and "data-live-refresh" not in page
    assert not re.search(r'data-testid="plan-confirm" disabled', page)
    r = client.get(reverse("deletion-plan-csv", args=[plan.pk]))
    assert r.status_code == 200 and d.asset.key in b"".join(r.streaming_content).decode()
    assert exists(d.asset)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("deletion-plan-action", args=[plan.pk, "confirm"]))
    item = plan.items.get()
    item.refresh_from_db()
    assert item.state == DeletionItem.State.QUARANTINED and not exists(d.asset)
    r = client.post(reverse("deletion-plan-action", args=[plan.pk, "bogus"]))
    assert r.status_code == 302
    # confirming a plan that has run starts nothing and says so (not "the executor is running")
    page = client.post(reverse("deletion-plan-action", args=[plan.pk, "confirm"]), follow=True).content.decode()
    assert "this plan was confirmed before; it is done: nothing more was started" in page
    assert d.asset.key in client.get(reverse("quarantine-list")).content.decode()
    assert "Quarantined 1" in client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    client.post(reverse("deletion-item-restore", args=[item.pk]))
    item.refresh_from_db()
    assert item.state == DeletionItem.State.RESTORED and exists(d.asset)
    r = client.get(reverse("audit-list"), {"format": "csv", "action": "quarantine"})
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode().lstrip("\ufeff"))))
    assert [row["key"] for row in rows] == [d.asset.key] and rows[0]["approved_by"] == "cur"
    assert rows[0]["engine_version"] == "test-engine"

    kept = d.candidate.match_asset
    form = {"source": kept.source_id, "keys": f"{kept.key}\n", "reason": "court order 2026/17 requires removal"}
    r = client.post(reverse("takedown"), form)
    assert r.status_code == 200 and "will be deleted permanently" in r.content.decode() and exists(kept)
    r = client.post(reverse("takedown"), {**form, "keys": "../../etc/passwd"})
    assert "not in canon" in r.content.decode()
    r = client.post(reverse("takedown"), {**form, "confirm": "on"})
    assert r.status_code == 200 and not exists(kept)
    assert AuditEntry.objects.filter(action="takedown", key=kept.key, detail__step="object").count() == 1


def test_plan_command_dry_run_then_confirm(sources, users, tmp_path, django_capture_on_commit_callbacks):
    from django.core.management import CommandError, call_command

    cur, admin = users
    d = scenario(*sources, cur)
    with pytest.raises(CommandError):
        call_command("doppel_plan", "--user", "cur")  # not an admin
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        call_command("doppel_plan", "--user", "boss", "--csv", str(tmp_path / "plan.csv"), stdout=out)
        # with a broker the dry run is a worker's: the command says so instead of waiting for it
        assert "dry run: 0 of 1 items re-checked so far; a worker checks the rest" in out.getvalue()
    assert len(queued) == 1 and exists(d.asset)
    assert d.asset.key in (tmp_path / "plan.csv").read_text()
    plan = DeletionPlan.objects.get()
    assert plan.items.get().dry_run_outcome == "would run"
    with pytest.raises(CommandError):
        call_command("doppel_plan", "--user", "boss", "--confirm", "999999")
    with pytest.raises(CommandError):
        call_command("doppel_plan", "--user", "boss")  # nothing left to plan: a clear error
    plan = svc.deletion_plan_confirm(actor=admin, plan=plan)
    svc.deletion_plan_run(plan.job_id)  # what the worker does
    plan.refresh_from_db()
    assert plan.state == DeletionPlan.State.DONE and not exists(d.asset)
    out = io.StringIO()
    call_command("doppel_purge", stdout=out)
    assert "purged 0" in out.getvalue()


def test_quarantine_inside_a_source_is_refused(sources, users, settings, local_root):
    """A quarantine folder inside a source would be inventoried as new clean-up files."""
    cur, admin = users
    d = scenario(*sources, cur)
    settings.QUARANTINE_DIR = local_root / "cleanup" / "quarantine"
    plan = checked_plan(actor=admin, decisions=[d])
    plan = svc.deletion_plan_confirm(actor=admin, plan=plan)
    job = svc.deletion_plan_run(plan.job_id)
    item = plan.items.get()
    assert job.state == Job.State.FAILED and item.state == DeletionItem.State.PLANNED
    assert "inside source 'cleanup'" in item.reason and exists(d.asset)


def test_never_both_sides_of_a_pair(sources, users, local_root):
    """Two clean-up copies approved against each other (a hand-made pair: review itself only
    keeps canonical copies): the plan takes one side only, and the executor would catch the
    other anyway because its kept copy is gone."""
    from reviewapp.models import Decision

    cur, admin = users
    cleanup_src = sources[0]
    a = put_asset(cleanup_src, "pair/A.jpg", cleanup_jpeg())
    b = put_asset(cleanup_src, "pair/B.png", kept_png())
    decisions = []
    for x, y in ((a, b), (b, a)):
        cand = CandidateFactory(cleanup_asset=x, match_asset=y)
        review = ReviewItemFactory(best_candidate=cand)
        d = Decision.objects.create(review_item=review, asset=x, candidate=cand, action="approve_delete", actor=cur)
        ReviewItem.objects.filter(pk=review.pk).update(last_decision=d, status="decided")
        decisions.append(d)
    plan = checked_plan(actor=admin, decisions=decisions)
    assert [i.asset_id for i in plan.items.all()] == [a.pk]
    with pytest.raises(ValidationError):
        checked_plan(actor=admin, decisions=decisions[1:])


def test_retried_plan_creation_with_the_same_key_makes_one_plan(sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    p1 = checked_plan(actor=admin, idempotency_key="req-1")
    p2 = checked_plan(actor=admin, idempotency_key="req-1")
    assert p1.pk == p2.pk and DeletionPlan.objects.count() == 1 and p1.items.get().decision == d


def test_undo_after_planning_stops_the_deletion(run_plan, sources, users, django_capture_on_commit_callbacks):
    """Undo is allowed while the item is only planned; the executor must then leave the file alone."""
    cur, admin = users
    d = scenario(*sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    assert svc.decision_has_run(d) is False
    decision_undo(actor=cur, decision=d)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError, match="nothing in this plan"):
        svc.deletion_plan_confirm(actor=admin, plan=plan)
    item = plan.items.get()
    assert item.state == DeletionItem.State.ABORTED and "undone" in item.reason
    assert exists(d.asset)
    assert not AuditEntry.objects.filter(action="quarantine").exists()


def test_plan_page_after_an_undo_shows_the_item_removed_not_its_stale_dry_run(sources, users, client):
    """The dry run said "would run"; the undo then took the item out (the executor's
    guard_decision_stands would abort it anyway): the page must not keep promising a deletion."""
    cur, admin = users
    d = scenario(*sources, cur)
    other = scenario(*sources, cur, key="box2/C0002.jpg")
    plan = checked_plan(actor=admin, decisions=[d, other])
    assert [i.dry_run_outcome for i in plan.items.order_by("pk")] == ["would run", "would run"]
    decision_undo(actor=cur, decision=other)
    client.force_login(admin)
    page = client.get(reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    row = re.search(rf'<tr data-item="{plan.items.get(decision=other).pk}">.*?</tr>', page, re.S).group(0)
    assert "Aborted" in row and "the approving decision was undone" in row
    assert "would run" not in row
    assert "Confirm: quarantine 1 object" in page
    api = api_client_for(admin)
    body = api.get(f"/api/v1/deletion-plans/{plan.pk}/").json()
    assert body["dry_run"] == {"checked": 1, "total": 1, "percent": 100, "done": True}


# --- each layer on its own (issue #19): `layers.only(NAME)` switches every other layer off -------
# (tests/conftest.py SafetyLayers). Each test names the one layer it shows holding, and checks the
# objects (bytes at their keys, nothing in quarantine) and the rows (item state, audit), not only
# the reason text.


def assert_held(item, fragment, *objects):
    """The item aborted for the stated reason, with one abort audit row and no quarantine row,
    nothing reached quarantine, and each (asset, bytes) is still at its key with those bytes."""
    item.refresh_from_db()
    assert item.state == DeletionItem.State.ABORTED, (item.state, item.reason)
    assert fragment in item.reason, item.reason
    assert AuditEntry.objects.filter(item=item, action="abort").count() == 1
    assert not AuditEntry.objects.filter(item=item, action="quarantine").exists()
    target = svc.quarantine_target(item)
    assert not target.storage.exists(target.key)
    for asset, data in objects:
        assert storage_for(asset.source).read_bytes(asset.key) == data


def _approve_canonical(canon_src, cur):
    """An approval to delete a canonical file in favour of another canonical file: review refuses
    it, so the approval rule must be off for the row to exist at all."""
    jpeg = cleanup_jpeg()
    gone = put_asset(canon_src, "dup/C7.jpg", jpeg)
    kept = put_asset(canon_src, "master/C7.png", kept_png())
    return approve(cur, gone, kept), jpeg


def test_the_plan_selection_alone_never_lists_a_canonical_file(sources, users, layers):
    layers.only("plan_selection")  # review's approval rule is off: the approval is recorded
    cur, admin = users
    cleanup_src, canon_src = sources
    d_canon, jpeg = _approve_canonical(canon_src, cur)
    d_ok = scenario(cleanup_src, canon_src, cur)
    assert list(svc.plannable_decisions()) == [d_ok]
    assert list(svc.plannable_decisions(source=cleanup_src)) == [d_ok]
    assert list(svc.plannable_decisions(source=canon_src)) == []
    with pytest.raises(ValidationError, match="no approved deletions"):
        svc.deletion_plan_create(actor=admin, decisions=[d_canon])
    assert not DeletionItem.objects.exists() and not DeletionPlan.objects.exists()
    assert storage_for(d_canon.asset.source).read_bytes(d_canon.asset.key) == jpeg


def test_plan_creation_alone_skips_a_canonical_file_its_selection_lists(sources, users, layers):
    """Every switchable layer off (approval rule, the plan's selection, every guard): what is left
    is plan creation's own check of each decision's source."""
    layers.off(*layers.names)
    cur, admin = users
    d_canon, jpeg = _approve_canonical(sources[1], cur)
    assert d_canon in list(deletion_plans.plannable_decisions())  # the selection's filter really is off
    with pytest.raises(ValidationError, match="no approved deletions"):
        svc.deletion_plan_create(actor=admin, decisions=[d_canon])
    assert not DeletionItem.objects.exists()
    assert storage_for(d_canon.asset.source).read_bytes(d_canon.asset.key) == jpeg
    # the check skips that decision and goes on with the next one
    d_ok = scenario(sources[0], sources[1], cur)
    plan = svc.deletion_plan_create(actor=admin, decisions=[d_canon, d_ok])
    assert [i.decision_id for i in plan.items.all()] == [d_ok.pk]


@pytest.mark.parametrize("layer, fragment", [
    ("guard_not_canonical", "canonical source, which Doppel never deletes from"),
    ("guard_kept_copy", "canonical source, which Doppel never deletes from"),
    ("guard_physical_identity", "physically the canonical object canon:x/C9.jpg"),
])
def test_each_executor_layer_alone_never_deletes_a_canonical_file(sources, users, layers, layer, fragment):
    """A hand-made item (as a stale or edited row would be) whose object is a canonical file."""
    layers.only(layer)
    cur, admin = users
    cleanup_src, canon_src = sources
    d = scenario(cleanup_src, canon_src, cur)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    jpeg = cleanup_jpeg()
    canon_obj = put_asset(canon_src, "x/C9.jpg", jpeg)
    DeletionItem.objects.filter(pk=item.pk).update(asset=canon_obj, etag_at_decision=canon_obj.etag,
                                                   checksum_at_decision=canon_obj.checksum)
    svc.deletion_item_execute(actor=admin, item=item)
    assert_held(item, fragment, (canon_obj, jpeg), (d.asset, cleanup_jpeg()), (d.candidate.match_asset, kept_png()))
    if layer != "guard_physical_identity":
        assert item.reason == "the object is in a canonical source, which Doppel never deletes from"


def _resave_png(data: bytes) -> bytes:
    from PIL import Image

    return img_bytes(Image.open(io.BytesIO(data)), "PNG", compress_level=1)


def _small_kept():
    """The kept copy's file is half the size its row says (analysis recorded another size)."""
    return img_bytes(photo("astronaut", size=(SIZE[0] // 2, SIZE[1] // 2)), "PNG")


def _sixteen_bit_png():
    import numpy as np
    from PIL import Image

    grey = np.asarray(photo("astronaut", size=SIZE).convert("L")).astype(np.uint16) * 257
    return img_bytes(Image.fromarray(grey), "PNG")


def _sixteen_bit_png_lifted():
    """The 16-bit picture with its even levels one up: the same 8-bit rendering, other samples."""
    import numpy as np
    from PIL import Image

    grey = np.asarray(Image.open(io.BytesIO(_sixteen_bit_png())), dtype=np.uint16) | 1
    return img_bytes(Image.fromarray(grey), "PNG")


def _grey_png():
    return img_bytes(photo("astronaut", size=SIZE).convert("L"), "PNG")


def _two_page_tiff():
    buf = io.BytesIO()
    photo("astronaut", size=SIZE).save(buf, "TIFF", save_all=True, append_images=[photo("coffee", size=SIZE)])
    return buf.getvalue()


# (clean-up bytes, kept bytes, what happens to the kept copy after the decision, reason). The rows
# say both copies are 256x256, 1 page, 8 bits (put_asset), so review approved; only the executor's
# re-check of the kept copy sees the truth.
KEPT_AT_EXECUTION = {
    "changed (same picture re-saved: only the ETag tells)": (
        cleanup_jpeg, kept_png, lambda kept: storage_for(kept.source).put(kept.key, _resave_png(kept_png())),
        "the kept copy changed since the decision"),
    "missing": (cleanup_jpeg, kept_png, lambda kept: storage_for(kept.source).delete(kept.key), "no longer exists"),
    "damaged": (cleanup_jpeg, lambda: kept_png()[: int(len(kept_png()) * 0.6)], None,
                "the kept copy does not decode fully (damaged: truncated: PNG chunk runs past the end of the file; "
                "truncated: OSError: image file is truncated)"),
    "smaller in pixels": (cleanup_jpeg, _small_kept, None, "more pixels (256x256) than the kept copy (128x128)"),
    "fewer pages": (_two_page_tiff, kept_png, None, "more pages (2) than the kept copy (1)"),
    "lower bit depth": (_sixteen_bit_png, _grey_png, None, "higher bit depth (16) than the kept copy (8)"),
    "other 16-bit samples": (_sixteen_bit_png_lifted, _sixteen_bit_png, None,
                             "the clean-up copy holds 16-bit samples, which the pair is not compared by (8-bit RGB)"),
}


@pytest.mark.parametrize("case", list(KEPT_AT_EXECUTION))
def test_the_kept_copy_recheck_alone_stops_the_deletion(sources, users, layers, case):
    layers.only("guard_kept_copy")
    make_cleanup, make_kept, after_decision, fragment = KEPT_AT_EXECUTION[case]
    cur, admin = users
    cleanup_data = make_cleanup()
    key = "box1/C0001.tif" if cleanup_data[:2] in (b"II", b"MM") else "box1/C0001.jpg"
    d = scenario(*sources, cur, key=key, cleanup_data=cleanup_data, kept_data=make_kept())
    if after_decision:
        after_decision(d.candidate.match_asset)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    assert_held(item, fragment, (d.asset, cleanup_data))
    assert ReviewItem.objects.get(asset=d.asset).status == ReviewItem.Status.OPEN  # back in review


def test_the_etag_guard_alone_stops_a_changed_object_to_delete(sources, users, layers):
    """The same picture saved again (new bytes, new mtime): the pair still verifies, so only the
    ETag recorded at the decision tells."""
    layers.only("guard_etag")
    cur, admin = users
    d = scenario(*sources, cur)
    resaved = img_bytes(photo("astronaut", size=SIZE), "JPEG", quality=91)
    storage_for(d.asset.source).put(d.asset.key, resaved)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    assert_held(item, "object to delete changed since the decision", (d.asset, resaved),
                (d.candidate.match_asset, kept_png()))


def test_with_every_layer_off_the_same_pair_is_quarantined(sources, users, layers):
    """The control for the tests above: the switches really switch the layers off (so a test
    that aborts with only one layer on owes it to that layer)."""
    layers.off(*layers.names)
    cur, admin = users
    d = scenario(*sources, cur, kept_data=_small_kept())
    storage_for(d.asset.source).put(d.asset.key, img_bytes(photo("astronaut", size=SIZE), "JPEG", quality=91))
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.QUARANTINED, item.reason
    assert not exists(d.asset)


# The conditional copy and delete, and the check of the quarantine copy's content, each alone: the
# guards are off, so the object reaches these steps even when it is not the one decided on.


def assert_aborted_in_quarantine_step(item, reason, admin, *objects):
    """The item aborted with exactly this reason, recorded under the admin, after the quarantine
    audit row (written before the copy, so it exists); the file is back in review and each
    (asset, bytes) is still at its key with those bytes."""
    item.refresh_from_db()
    assert (item.state, item.reason) == (DeletionItem.State.ABORTED, reason)
    assert AuditEntry.objects.get(item=item, action="abort").executed_by == admin
    assert AuditEntry.objects.filter(item=item, action="quarantine").count() == 1
    assert item.quarantine_location == ""
    assert ReviewItem.objects.get(asset=item.asset).status == ReviewItem.Status.OPEN
    for asset, data in objects:
        assert storage_for(asset.source).read_bytes(asset.key) == data


CHANGED = "the object to delete changed while it was being quarantined: "


def test_the_conditional_copy_alone_stops_a_changed_object_to_delete(sources, users, layers):
    """The same picture saved again before execution, every guard off: the copy to quarantine is
    made only while the object still has the ETag decided on, so nothing reaches quarantine."""
    layers.only("conditional_writes")
    cur, admin = users
    d = scenario(*sources, cur)
    resaved = img_bytes(photo("astronaut", size=SIZE), "JPEG", quality=91)
    storage_for(d.asset.source).put(d.asset.key, resaved)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    assert_aborted_in_quarantine_step(item, CHANGED + "box1/C0001.jpg changed since it was checked", admin,
                                      (d.asset, resaved), (d.candidate.match_asset, kept_png()))
    target = svc.quarantine_target(item)
    assert not target.storage.exists(target.key)


def _rewrite_in_place(store, key, data):
    """New bytes in the same file (same device and inode): only the size and time tell."""
    with open(store.path(key), "r+b") as f:
        f.truncate(0)
        f.write(data)


def _swap_for_a_lookalike(store, key, data):
    """Another file put at the key with the original's size and modification time (as `cp -p` or
    `rsync -a` of something else leaves it): the same local ETag, only device/inode tell."""
    st = os.stat(store.path(key))
    assert len(data) == st.st_size
    store.put(key, data)
    os.utime(store.path(key), ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("replace, why, also_on", [
    (_rewrite_in_place, "changed since it was checked", ()),
    # the device/inode the delete checks is the one the physical-identity guard took: with that
    # guard off there is none to check, so it stays on here
    (_swap_for_a_lookalike, "is no longer the file that was checked (device/inode differ)", ("guard_physical_identity",)),
])
def test_the_conditional_delete_alone_keeps_an_object_replaced_after_its_copy(sources, users, layers, monkeypatch,
                                                                             replace, why, also_on):
    """The object is replaced between the copy to quarantine and the delete, the guards off: the
    delete removes only the file that was checked (its ETag, and for local files its device and
    inode), so the new content stays at its key."""
    layers.off(*[n for n in layers.names if n not in ("conditional_writes", *also_on)])
    cur, admin = users
    d = scenario(*sources, cur)
    newcomer = bytes(b ^ 0xFF for b in cleanup_jpeg())  # other bytes, the same size
    real_copy = LocalStorage.copy_to

    def copy_then_replace(self, key, dest, dest_key, **kw):
        out = real_copy(self, key, dest, dest_key, **kw)
        if self.root == storage_for(d.asset.source).root:
            replace(self, key, newcomer)
        return out

    monkeypatch.setattr(LocalStorage, "copy_to", copy_then_replace)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    assert_aborted_in_quarantine_step(item, f"{CHANGED}box1/C0001.jpg {why}", admin, (d.asset, newcomer))


def test_the_quarantine_copy_check_alone_stops_a_copy_of_other_content(sources, users, layers):
    """The same picture saved again before execution, every guard and the conditional writes off:
    the copy reaches quarantine, but its content is not the sha256 decided on, so the object is
    not deleted."""
    layers.only("quarantine_copy_check")
    cur, admin = users
    d = scenario(*sources, cur)
    resaved = img_bytes(photo("astronaut", size=SIZE), "JPEG", quality=91)
    storage_for(d.asset.source).put(d.asset.key, resaved)
    item = svc.deletion_plan_create(actor=admin, decisions=[d]).items.get()
    svc.deletion_item_execute(actor=admin, item=item)
    token = "sha256:" + hashlib.sha256(resaved).hexdigest()
    assert_aborted_in_quarantine_step(
        item, f"{CHANGED}the quarantine copy of box1/C0001.jpg is not the content decided on ({token[:20]}…)", admin,
        (d.asset, resaved))


def test_an_object_that_vanishes_after_the_checks_aborts_with_nothing_in_quarantine(sources, users, monkeypatch):
    """Someone else removes the object after every guard passed and before the copy: the item
    aborts with that reason under the admin, the file goes back to review, and no quarantine copy
    is made up for it."""
    cur, admin = users
    d = scenario(*sources, cur)
    item = checked_plan(actor=admin, decisions=[d]).items.get()  # its dry run re-checks too: patched after it
    real = deletion_executor.recheck_kept

    def recheck_then_someone_deletes(item, src):
        out = real(item, src)
        src.delete(item.asset.key)
        return out

    monkeypatch.setattr(deletion_executor, "recheck_kept", recheck_then_someone_deletes)
    svc.deletion_item_execute(actor=admin, item=item)
    assert_aborted_in_quarantine_step(item, "the object to delete vanished while it was being quarantined", admin)
    target = svc.quarantine_target(item)
    assert not target.storage.exists(target.key) and not exists(d.asset)


def test_an_engine_failure_at_the_recheck_is_a_doubt_that_keeps_the_object(sources, users, monkeypatch):
    """The engine raising while it verifies the pair again is a reason not to delete, shown to the
    admin with the error, not a crash that leaves the item claimed."""
    cur, admin = users
    d = scenario(*sources, cur)
    item = checked_plan(actor=admin, decisions=[d]).items.get()

    def engine_fails(*args, **kwargs):
        raise MemoryError("out of memory while aligning")

    monkeypatch.setattr(matching, "verify_pair", engine_fails)
    svc.deletion_item_execute(actor=admin, item=item)
    assert_held(item, "", (d.asset, cleanup_jpeg()), (d.candidate.match_asset, kept_png()))
    assert item.reason == "the pair could not be verified again: out of memory while aligning"
    assert ReviewItem.objects.get(asset=d.asset).status == ReviewItem.Status.OPEN


def test_same_bytes_accepts_an_equal_token_or_a_multipart_etag_of_the_same_size_only():
    """The quarantine copy's content check: multipart ETags are not MD5s of the bytes and a
    server-side copy gets a new one, so for those alone the size stands in."""
    same = deletion_quarantine._same_bytes
    assert same("sha256:ab", "sha256:ab", size=1, expected_size=2)
    assert not same("sha256:ab", "sha256:cd", size=1, expected_size=1)
    assert not same("sha256:ab", "sha256:cd-2", size=1, expected_size=1)  # a '-' outside an ETag means nothing
    assert same("etag:ff", "etag:ab-2", size=10, expected_size=10)
    assert not same("etag:ff", "etag:ab-2", size=10, expected_size=11)
    assert not same("etag:ff", "etag:ab", size=10, expected_size=10)  # a plain ETag is an MD5: it must match


def test_decision_undo_refusal_reads_the_items_and_plans_that_hold_the_decision(sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    plan = svc.deletion_plan_create(actor=admin, decisions=[d])
    item = plan.items.get()
    assert svc.decision_undo_refusal(d) == ""  # planned in a draft: undo may take it out
    DeletionItem.objects.filter(pk=item.pk).update(state=DeletionItem.State.EXECUTING)
    assert svc.decision_undo_refusal(d) == "too late to undo: the deletion of this file is running or has run"
    # an aborted item does not hold the decision back
    DeletionItem.objects.filter(pk=item.pk).update(state=DeletionItem.State.ABORTED)
    assert svc.decision_undo_refusal(d) == ""
    # a planned item holds it once its plan is confirmed (here: already executing other items)
    DeletionItem.objects.filter(pk=item.pk).update(state=DeletionItem.State.PLANNED)
    DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.EXECUTING)
    assert svc.decision_undo_refusal(d) == (
        f"too late to undo: deletion plan #{plan.pk}, which holds this decision, was confirmed by an admin "
        "(executing); ask an admin to restore the file after it runs")


@pytest.mark.parametrize("over", ["kept", "cleanup", "pixels", "cleanup pixels"])
def test_the_kept_copy_recheck_obeys_the_size_and_pixel_limits(sources, users, layers, settings, over):
    """The re-check reads both copies under the same limits as analysis (an image bomb placed at
    a kept copy's key, or at the key of the object to delete, is refused, not decoded): the dry
    run says why and touches nothing."""
    layers.only("guard_kept_copy")
    cur, admin = users
    small, big = cleanup_jpeg(), kept_png()
    assert len(small) < len(big)
    if over == "cleanup":  # the object to delete is the big file this time
        d = scenario(*sources, cur, cleanup_data=big, kept_data=small)
    elif over == "cleanup pixels":  # a 128x128 kept copy under the limit, the 256x256 clean-up copy over it
        d = scenario(*sources, cur, kept_data=_small_kept())
    else:
        d = scenario(*sources, cur)
    if over == "pixels":
        settings.MAX_IMAGE_PIXELS = 1000
    elif over == "cleanup pixels":
        settings.MAX_IMAGE_PIXELS = 20000
    else:
        settings.MAX_OBJECT_BYTES = len(small) + 1
    item = checked_plan(actor=admin, decisions=[d]).items.get()
    too_big = {"kept": d.candidate.match_asset, "cleanup": d.asset}.get(over)
    if too_big is not None:
        assert item.dry_run_reason == f"could not be checked: {too_big.key} is {len(big)} bytes, over the limit of {len(small) + 1}"
    elif over == "cleanup pixels":  # not decoded, so not measured (decoded, it would read "more pixels (256x256)")
        assert item.dry_run_reason.startswith("the kept copy does not hold at least as much: the clean-up copy's size "
                                              "is unknown (it did not decode)"), item.dry_run_reason
    else:
        assert item.dry_run_reason.startswith("the kept copy does not decode fully"), item.dry_run_reason
    assert item.state == DeletionItem.State.PLANNED
    assert exists(d.asset) and exists(d.candidate.match_asset)


def test_every_name_callers_import_from_the_deletion_package_is_still_there():
    """services/deletion became a package (plans, executor, quarantine, common): the names other
    modules, commands and tests import from `reviewapp.services.deletion` resolve to the functions
    that do the work, not to copies."""
    from reviewapp import storage
    from reviewapp.selectors import deletion as selectors
    from reviewapp.services import takedown
    from reviewapp.services.deletion import common, executor, plans, quarantine

    homes = {
        executor: ["deletion_item_abort", "deletion_item_execute", "deletion_plan_run", "recheck_kept",
                   "EXECUTION_GUARDS", "physical_identity_doubt", "decided_relation", "dry_run_reason"],
        plans: ["deletion_plan_cancel", "deletion_plan_confirm", "deletion_plan_create", "deletion_plan_resume",
                "deletion_plan_dry_run"],
        quarantine: ["deletion_item_purge", "deletion_purge_due", "deletion_restore", "quarantine_target",
                     "QuarantineTarget"],
        common: ["Doubt", "review_return", "decision_undo_refusal", "LIVE_STATES"],
        selectors: ["decision_has_run", "decision_stands", "plannable_decisions"],
        takedown: ["takedown_execute"],
        storage: ["storage_for"],
    }
    for module, names in homes.items():
        for name in names:
            assert getattr(svc, name) is getattr(module, name), name
    assert set(svc.__all__) >= {n for names in homes.values() for n in names}


def test_the_dry_run_says_when_the_approval_no_longer_stands(sources, users):
    """The executor's claim stops a replaced decision before any guard; the dry run has no claim,
    so there `guard_decision_stands` is what tells the admin."""
    cur, admin = users
    d = scenario(*sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    assert plan.items.get().dry_run_reason == ""
    ReviewItem.objects.filter(pk=d.review_item_id).update(last_decision=None)
    plan.items.update(dry_run_at=None)  # as "Run the dry run again" leaves it
    svc.deletion_plan_dry_run(actor=admin, plan=plan)
    item = plan.items.get()
    assert item.dry_run_reason == "the approving decision was undone or replaced"
    assert item.state == DeletionItem.State.PLANNED and exists(d.asset)


def test_an_undone_approval_no_longer_stands_even_while_still_the_last_decision(sources, users):
    from reviewapp.models import Decision

    cur, _ = users
    d = scenario(*sources, cur)
    assert svc.decision_stands(d)
    Decision.objects.create(review_item=d.review_item, asset=d.asset, candidate=d.candidate, action="undo",
                            actor=cur, undoes=d)  # as a half-finished undo would leave it
    assert ReviewItem.objects.get(pk=d.review_item_id).last_decision == d
    assert not svc.decision_stands(d)


# --- the executor's claim (mutation testing, issue #19 item 3) -------------------------------------


def test_a_claim_that_finds_the_approval_replaced_aborts_under_the_admin_and_leaves_the_review_as_it_is(sources, users):
    """The file went back to review after the plan was made (its approval no longer stands) and a
    curator is already looking at it again: the claim aborts the item, audited under the admin
    who ran it with the reason the plan page shows, and must not reopen the file a second time
    (that would take the curator's lease away)."""
    from reviewapp.services.review import review_lease_take

    cur, admin = users
    d = scenario(*sources, cur)
    plan = checked_plan(actor=admin, decisions=[d])
    ReviewItem.objects.filter(pk=d.review_item_id).update(last_decision=None, status=ReviewItem.Status.OPEN,
                                                          decided_at=None)
    assert review_lease_take(actor=cur, item_id=d.review_item_id)
    item = svc.deletion_item_execute(actor=admin, item=plan.items.get())
    item.refresh_from_db()
    assert item.state == DeletionItem.State.ABORTED
    assert item.reason == "the approving decision was undone or replaced"
    assert item.claimed_by_job_id is None
    abort = AuditEntry.objects.get(item=item, action="abort")
    assert abort.executed_by == admin and abort.reason == item.reason
    assert not AuditEntry.objects.filter(item=item, action="quarantine").exists()
    assert exists(d.asset)
    review = ReviewItem.objects.get(pk=d.review_item_id)
    assert review.status == ReviewItem.Status.LEASED and review.leased_by == cur


# --- plan creation (mutation testing, issue #19 item 3) --------------------------------------------


def _hand_made_approval(cur, gone, kept, *, snapshot=None, **cand) -> "Decision":  # noqa: F821
    """An approve-delete decision as rows (review's own rules would refuse some of these)."""
    from reviewapp.models import Decision

    cand = CandidateFactory(cleanup_asset=gone, match_asset=kept, **cand)
    review = ReviewItemFactory(best_candidate=cand)
    d = Decision.objects.create(review_item=review, asset=gone, candidate=cand, action="approve_delete", actor=cur,
                                snapshot=snapshot or {})
    ReviewItem.objects.filter(pk=review.pk).update(last_decision=d, status="decided")
    return d


@pytest.mark.parametrize("snap_compared,snap_analysed,snap_sum,cand_etag,expect_etag,expect_sum", [
    ("e-compared", "e-analysed", "sum-analysed", "e-candidate", "e-compared", "sum-analysed"),
    ("", "e-analysed", "sum-analysed", "e-candidate", "e-analysed", "sum-analysed"),
    ("", "", "", "e-candidate", "e-candidate", ""),  # the sha256 of other content is not taken
    ("", "", "", "", "e-now", "sum-now"),  # only the asset is left: its own sha256 goes with its ETag
])
def test_a_planned_item_records_the_content_that_was_decided_on(
        sources, users, snap_compared, snap_analysed, snap_sum, cand_etag, expect_etag, expect_sum):
    """The file was re-inventoried with new content ("e-now") after the decision: the item keeps
    the ETag the curator decided on (the one the match compared, then the one analysed, then the
    candidate's) and a sha256 only when it belongs to that ETag, so the executor's ETag and content
    guards compare the object with what was approved, not with whatever the row says now. The
    match's numbers and engine are copied for the audit row."""
    cur, admin = users
    cleanup, canon = sources
    kept = put_asset(canon, "box1/C0001.png", kept_png())
    gone = put_asset(cleanup, "box1/C0001.jpg", cleanup_jpeg())
    snapshot = {"candidate": {"cleanup_etag": snap_compared}, "asset": {"etag": snap_analysed, "checksum": snap_sum}}
    d = _hand_made_approval(cur, gone, kept, snapshot=snapshot, cleanup_etag=cand_etag, diff_score=0.03,
                            local_score=0.04, engine_version="engine-7", thresholds={"local": 0.07})
    Asset.objects.filter(pk=gone.pk).update(etag="e-now", checksum="sum-now", size=1234)
    item = checked_plan(actor=admin, decisions=[d]).items.get()
    assert (item.etag_at_decision, item.checksum_at_decision) == (expect_etag, expect_sum)
    assert item.decision_id == d.pk and item.asset_id == gone.pk and item.kept_asset_id == kept.pk
    assert item.kept_etag_at_decision == kept.etag and item.size == 1234
    assert (item.diff_score, item.local_score, item.engine_version, item.thresholds) == (
        0.03, 0.04, "engine-7", {"local": 0.07})


def test_a_plan_for_one_source_takes_its_decisions_by_id_and_names_its_source_and_admin(sources, users, local_root):
    cur, admin = users
    cleanup, canon = sources
    (local_root / "cleanup2").mkdir()
    other = SourceFactory(name="cleanup2", root=str(local_root / "cleanup2"), role=Source.Role.CLEANUP)
    here = scenario(cleanup, canon, cur, key="a/C1.jpg")
    there = scenario(other, canon, cur, key="b/C2.jpg")
    plan = checked_plan(actor=admin, source=other)
    assert [i.decision_id for i in plan.items.all()] == [there.pk]
    assert plan.source == other and plan.created_by == admin
    by_id = checked_plan(actor=admin, decisions=[here.pk])  # the API and the command pass ids
    assert [i.decision_id for i in by_id.items.all()] == [here.pk] and by_id.source is None
    with pytest.raises(ValidationError) as refused:
        checked_plan(actor=admin, source=other)
    assert refused.value.messages == ["there are no approved deletions waiting for a plan"]
    assert DeletionPlan.objects.count() == 2


def test_plan_creation_never_deletes_a_kept_copy_nor_keeps_a_leaving_file_and_goes_on_past_them(sources, users):
    """Invariant 1 one side at a time, within one plan and against the live items of an earlier
    plan: a file another item keeps is not deleted, a file another item deletes is nobody's kept
    copy; the decisions after a skipped one are still planned."""
    cur, admin = users
    cleanup, canon = sources
    c, d_, e = (put_asset(cleanup, f"chain/{n}.jpg", cleanup_jpeg()) for n in "CDE")
    f = put_asset(canon, "chain/F.png", kept_png())
    a, b = (put_asset(cleanup, f"chain/{n}.jpg", cleanup_jpeg()) for n in "AB")
    a_keeps_b = _hand_made_approval(cur, a, b)
    b_keeps_c = _hand_made_approval(cur, b, c)  # B is kept by the first: not deleted
    d_keeps_a = _hand_made_approval(cur, d_, a)  # A is leaving: not kept
    e_keeps_f = _hand_made_approval(cur, e, f)
    plan = checked_plan(actor=admin, decisions=[a_keeps_b, b_keeps_c, d_keeps_a, e_keeps_f])
    assert sorted(i.asset_id for i in plan.items.all()) == sorted([a.pk, e.pk])
    # A and B must not share ids with the items, or a set of item ids would pass for the right one
    assert not {a.pk, b.pk} & set(plan.items.values_list("pk", flat=True))
    for skipped in (b_keeps_c, d_keeps_a):  # while the first plan is live, a later plan refuses them too
        with pytest.raises(ValidationError):
            checked_plan(actor=admin, decisions=[skipped])
    assert DeletionPlan.objects.count() == 1


def test_a_copy_at_the_quarantine_key_without_its_audit_row_is_not_taken_for_the_object(run_plan, sources, users):
    """Crash recovery takes the quarantine copy for the object only when this item's quarantine
    audit row exists (it is written before the copy is made). Here the object is gone from its key
    and the same bytes sit at the item's quarantine key, but nothing of this item was audited
    (another item's quarantine was): the item aborts, no quarantine row is made up for it."""
    cur, admin = users
    first = scenario(*sources, cur, key="a/C1.jpg")
    assert run_plan(admin, [first]).items.get().state == DeletionItem.State.QUARANTINED
    d = scenario(*sources, cur, key="b/C2.jpg")
    item = checked_plan(actor=admin, decisions=[d]).items.get()
    target = svc.quarantine_target(item)
    target.storage.put(target.key, cleanup_jpeg())
    storage_for(d.asset.source).delete(d.asset.key)
    svc.deletion_item_execute(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.ABORTED
    assert item.reason == "the object to delete no longer exists at its key"
    assert not AuditEntry.objects.filter(item=item, action="quarantine").exists()
    assert AuditEntry.objects.get(item=item, action="abort").executed_by == admin
    assert item.quarantine_location == "" and target.storage.read_bytes(target.key) == cleanup_jpeg()

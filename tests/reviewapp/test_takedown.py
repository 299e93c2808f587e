"""Legal takedown leaves nothing behind: the object (every version), every rendition of it and of
every pair involving it, its quarantine copy, its ingest copy and its members in live extracts
(archive rebuilt, manifest says so), each step with an audit row; afterwards every image URL
answers 410. And the takedown page lists every other copy the engine paired with it."""
from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reviewapp.models import (
    Asset, AuditEntry, Candidate, DeletionItem, ExtractArchive, ExtractMember, ReingestItem, ReviewItem, Source,
    Takedown, Verdict,
)
from reviewapp.selectors.takedown import copies_of
from reviewapp.services import deletion, extracts
from reviewapp.services import takedown as svc
from reviewapp.services.namelists import namelist_upload
from reviewapp.services.reingest import reingest_check_all, reingest_copy, reingest_report_ingested, reingest_request
from reviewapp.services.renditions import asset_rendition, candidate_rendition, save_reduced
from reviewapp.selectors.review import queue_counts, queue_items
from reviewapp.services.review import ReviewRefused, decision_record, decision_undo, review_lease_next
from reviewapp.storage import LocalStorage
from tests.conftest import api_client_for
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, checked_plan
from tests.images import photo

SIZE = (128, 96)


def encoded(name, fmt="JPEG", size=SIZE):
    buf = io.BytesIO()
    photo(name, size=size).save(buf, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buf.getvalue()


def put(source, key, data):
    """An object and its row as inventory + analysis leave it (ETag, sha256, device/inode): the
    executor proves content and physical identity from these before it quarantines anything."""
    info = LocalStorage(source.root).put(key, data)
    return AssetFactory(source=source, key=key, name=key.rsplit("/", 1)[-1], size=info.size, etag=info.etag,
                        width=SIZE[0], height=SIZE[1], checksum=hashlib.sha256(data).hexdigest(),
                        inode=":".join(str(x) for x in info.identity))


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def world(db, local_root, tmp_path, settings, admin_user, curator, django_capture_on_commit_callbacks):
    """A canonical picture C with three clean-up copies: A (quarantined by an executed deletion),
    B (rotated, on its way to reingest), D (paired with B only), plus E, a different picture paired
    with C, and F, unrelated. Renditions exist for all of them; C and B are in a live extract."""
    settings.EXTRACT_ROOTS = [(tmp_path / "extracts").resolve()]
    settings.EXTRACT_LOCATIONS = {"default": f"local:{tmp_path / 'extracts'}"}
    for d in ("canon", "cleanup", "scans"):
        (local_root / d).mkdir()
    canon = SourceFactory(name="canon", root=str(local_root / "canon"), role=Source.Role.CANONICAL)
    cleanup = SourceFactory(name="cleanup", root=str(local_root / "cleanup"), role=Source.Role.CLEANUP)
    scans = SourceFactory(name="scans", root=str(local_root / "scans"), role=Source.Role.CLEANUP)
    c = put(canon, "C0001.png", encoded("astronaut", "PNG"))
    a = put(cleanup, "old/C0001.jpg", encoded("astronaut"))
    b = put(scans, "C0001 rotated.jpg", encoded("astronaut"))
    d = put(scans, "copy of copy.jpg", encoded("astronaut"))
    e = put(scans, "C0001-other.jpg", encoded("coffee"))
    f = put(canon, "unrelated.png", encoded("chelsea", "PNG"))
    ca = CandidateFactory(cleanup_asset=a, match_asset=c, verdict=Verdict.DUPLICATE, thresholds={"local": 0.085})
    cb = CandidateFactory(cleanup_asset=b, match_asset=c, verdict=Verdict.ROTATED)
    db_ = CandidateFactory(cleanup_asset=d, match_asset=b, verdict=Verdict.CLEANUP_CORRUPT)
    ce = CandidateFactory(cleanup_asset=e, match_asset=c, verdict=Verdict.DIFFERENT)
    for asset in (a, b, c, d, e, f):
        asset_rendition(asset, "web")
        reduced = save_reduced(asset, np.zeros((8, 8, 3), np.uint8))
        Asset.objects.filter(pk=asset.pk).update(analysis={"reduced": reduced})
    for cand in (ca, cb, db_, ce):
        candidate_rendition(cand, "aligned")
        candidate_rendition(cand, "diff")
    # A: approved, planned, executed → its only copy now sits in quarantine
    item = ReviewItemFactory(best_candidate=ca)
    decision = decision_record(actor=curator, item=item, action="approve_delete")
    plan = checked_plan(actor=admin_user, decisions=[decision])
    with django_capture_on_commit_callbacks(execute=True):
        deletion.deletion_plan_confirm(actor=admin_user, plan=plan)
    assert DeletionItem.objects.get(asset=a).state == DeletionItem.State.QUARANTINED
    # B: copied to the ingest location
    ri = reingest_request(actor=admin_user, asset=b, reason="only copy with the full margin")
    reingest_copy(item=ri)
    # a live extract holding C and B, and F
    nl = namelist_upload(actor=admin_user, source=canon, title="covers",
                         uploaded_file=SimpleUploadedFile("l.txt", "C0001.png\nunrelated.png\n".encode()))
    nl2 = namelist_upload(actor=admin_user, source=scans, title="scans",
                          uploaded_file=SimpleUploadedFile("l.txt", "C0001 rotated.jpg\n".encode()))
    ex = extracts.extract_create(actor=admin_user, namelists=[nl, nl2], title="for legal", location="default",
                                 expires_at=timezone.now() + timedelta(days=5))
    extracts.extract_run(ex.job_id)
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, ca=ca, cb=cb, db=db_, ce=ce, extract=ex, ingest=ri,
                ext_root=tmp_path / "extracts", renditions=tmp_path / "renditions", local_root=local_root)


def test_copies_follow_matching_verdicts_in_every_source_and_not_different_pictures(world):
    found = {o["asset"].pk: o for o in copies_of([world["c"]])}
    assert set(found) == {world["a"].pk, world["b"].pk, world["d"].pk}  # not E (different), not F
    assert found[world["d"].pk]["via"] == world["b"]
    # from a clean-up copy, the canonical is a copy too
    assert world["c"].pk in {o["asset"].pk for o in copies_of([world["d"]])}


def test_takedown_leaves_nothing_behind(world, admin_user, client):
    c, a, b = world["c"], world["a"], world["b"]
    before_renditions = files_under(world["renditions"])
    assert any(n.startswith(f"assets/{c.pk}/") for n in before_renditions)
    reason = "court order 2026/117: remove every copy"
    results = svc.takedown_execute(actor=admin_user, assets=[c, a, b], reason=reason)
    assert all(r["ok"] for r in results), results

    # the objects: the canonical and the clean-up copy are gone from their sources
    assert not (world["local_root"] / "canon" / "C0001.png").exists()
    assert not (world["local_root"] / "scans" / "C0001 rotated.jpg").exists()
    # quarantine: A's held copy is gone
    qi = DeletionItem.objects.get(asset=a)
    assert qi.state == DeletionItem.State.PURGED and not list(p for p in (world["local_root"].parent / "quarantine").rglob("*") if p.is_file())
    # renditions: nothing left of C, A, B or of any pair involving them (E–C's too); D's own stay
    left = files_under(world["renditions"])
    involved = [world[k].pk for k in ("ca", "cb", "db", "ce")]
    for pk in (c.pk, a.pk, b.pk):
        assert not [n for n in left if n.startswith(f"assets/{pk}/")]
    for pk in involved:
        assert not [n for n in left if n.startswith(f"candidates/{pk}/")]
    assert [n for n in left if n.startswith(f"assets/{world['d'].pk}/")]
    assert not Candidate.objects.filter(pk__in=involved).exclude(aligned_rendition="", diff_rendition="").exists()
    # ingest location: B's copy and its manifests are gone, the reingest cannot resume
    ingest_root = world["local_root"] / "ingest"
    assert files_under(ingest_root) == []
    ri = ReingestItem.objects.get(pk=world["ingest"].pk)
    assert ri.state == ReingestItem.State.FAILED and not ri.retryable
    # extracts: rebuilt without them, the manifest says so, the unrelated file stays
    for archive in world["extract"].archives.all():
        with tarfile.open(world["ext_root"] / archive.key) as tar:
            names = tar.getnames()
            rows = list(csv.DictReader(io.StringIO(tar.extractfile("manifest.csv").read().decode("utf-8-sig"))))
        assert not [n for n in names if "C0001" in n]
        for row in rows:
            if "C0001" in row["name_requested"]:
                assert row["outcome"] == "taken_down" and "legal takedown" in row["detail"] and not row["sha256"]
        assert archive.rebuilds == 1
    covers = world["extract"].archives.get(namelist__title="covers")
    assert covers.extracted == 1 and (covers.requested, covers.found) == (2, 2)
    with tarfile.open(world["ext_root"] / covers.key) as tar:
        assert "files/unrelated.png" in tar.getnames()
    assert ExtractMember.objects.filter(asset=c, outcome="taken_down").count() == 1

    # each step has its audit row, written with the reason
    steps = {(r.key, r.detail["step"]) for r in AuditEntry.objects.filter(action="takedown")}
    assert {("C0001.png", "object"), ("C0001.png", "renditions"), ("C0001.png", "extract"),
            ("old/C0001.jpg", "quarantine"), ("C0001 rotated.jpg", "ingest"), ("C0001 rotated.jpg", "extract")} <= steps
    assert set(AuditEntry.objects.filter(action="takedown").values_list("reason", flat=True)) == {reason}
    assert AuditEntry.objects.filter(action="rebuild").count() == 2

    # every image URL for them answers 410, and nothing renders them again
    client.force_login(admin_user)
    for pk in (c.pk, a.pk, b.pk):
        for kind in ("web", "thumb"):
            assert client.get(reverse("asset-image", args=[pk, kind])).status_code == 410
    for pk in involved:
        for kind in ("aligned", "diff"):
            assert client.get(reverse("candidate-image", args=[pk, kind])).status_code == 410
    assert client.get(reverse("asset-image", args=[world["f"].pk, "web"])).status_code == 200
    with pytest.raises(ValidationError):
        asset_rendition(Asset.objects.get(pk=c.pk), "web")
    assert not [n for n in files_under(world["renditions"]) if n.startswith(f"assets/{c.pk}/")]
    # no API answer carries its pixels: assets list has no image bytes or URLs
    from tests.conftest import api_client_for

    body = api_client_for(admin_user).get("/api/v1/assets/", {"page_size": 500}).content
    assert b"/images/asset/" not in body and b"\xff\xd8" not in body


def test_takedown_needs_an_admin_and_a_reason(world, curator, admin_user):
    with pytest.raises(PermissionDenied):
        svc.takedown_execute(actor=curator, assets=[world["f"]], reason="court order 12345")
    with pytest.raises(ValidationError):
        svc.takedown_execute(actor=admin_user, assets=[world["f"]], reason="short")
    # a reason is letters or digits a person wrote, not invisible characters or punctuation
    for unwritten in ("\u200b" * 12, "." * 11, "- - - - - - - - - -", "\u2060\u200b court\u200b 1 \u200b\u200b\u200b",
                      "\u3164" * 10, "\uffa0\u115f\u1160" * 4):
        with pytest.raises(ValidationError, match="at least 10 letters or digits"):
            svc.takedown_execute(actor=admin_user, assets=[world["f"]], reason=unwritten)
    # the page and the API apply that very rule, and say so in its words (a length of 12 passes a length check)
    client = Client()
    client.force_login(admin_user)
    r = client.post(reverse("takedown"), {"source": world["f"].source_id, "keys": world["f"].key, "reason": "." * 12})
    assert r.status_code == 200 and "at least 10 letters or digits" in r.content.decode()
    r = api_client_for(admin_user).post("/api/v1/takedown/", {"assets": [world["f"].pk], "reason": "\u200b" * 12},
                                        format="json")
    assert r.status_code == 400 and "at least 10 letters or digits" in str(r.json())
    assert (world["local_root"] / "canon" / "unrelated.png").exists() and not Takedown.objects.exists()


def test_an_object_taken_down_that_an_inventory_finds_back_at_its_key_is_flagged_for_an_admin(world, admin_user):
    from reviewapp.models import Job
    from reviewapp.selectors.assets import asset_fate
    from reviewapp.services.inventory import inventory_run

    f = world["f"]
    [r] = svc.takedown_execute(actor=admin_user, assets=[f], reason="court order 2026/140 for this photograph")
    assert r["ok"] and not (world["local_root"] / "canon" / "unrelated.png").exists()
    (world["local_root"] / "canon" / "unrelated.png").write_bytes(encoded("chelsea", "PNG"))   # restored from a backup
    job = inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=f.source).pk)
    assert job.params["stats"]["taken_down_back"] == 1
    f.refresh_from_db()
    [fate] = [x for x in asset_fate(f) if x.kind == "taken_down"]
    assert "It is back at its key" in fate.text and "an admin must take it down again" in fate.text


def test_takedown_page_lists_copies_and_takes_the_included_ones_too(world, admin_user, client):
    client.force_login(admin_user)
    url = reverse("takedown")
    reason = "court order 2026/118 for this photograph"
    r = client.post(url, {"source": world["c"].source_id, "keys": "C0001.png", "reason": reason})
    page = r.content.decode()
    assert r.status_code == 200 and 'data-testid="takedown-copies"' in page
    for k in ("a", "b", "d"):
        assert f'value="{world[k].pk}"' in page
    assert f'value="{world["e"].pk}"' not in page
    r = client.post(url, {"source": world["c"].source_id, "keys": "C0001.png", "reason": reason, "confirm": "on",
                          "include": [world["b"].pk, world["d"].pk, world["f"].pk]})
    assert r.status_code == 200
    done = set(Takedown.objects.values_list("asset_id", flat=True))
    # F was not offered as a copy: a forged id is ignored, never taken down
    assert done == {world["c"].pk, world["b"].pk, world["d"].pk}
    assert (world["local_root"] / "canon" / "unrelated.png").exists()
    assert "3 of 3 objects removed" in r.content.decode()


def test_command_and_api_reach_the_same_takedown(world, admin_user):
    from django.core.management import call_command

    from tests.conftest import api_client_for

    out = io.StringIO()
    call_command("doppel_takedown", "unrelated.png", user=admin_user.username, source="canon",
                 reason="court order 2026/119 unrelated", stdout=out)
    assert "deleted unrelated.png" in out.getvalue() and "renditions" in out.getvalue()
    api = api_client_for(admin_user)
    r = api.get("/api/v1/takedown/copies/", {"assets": str(world["c"].pk)})
    assert r.status_code == 200
    assert {row["asset"]["id"] for row in r.json()["copies"]} == {world["a"].pk, world["b"].pk, world["d"].pk}
    r = api.post("/api/v1/takedown/", {"assets": [world["d"].pk], "reason": "court order 2026/120"}, format="json")
    assert r.status_code == 201 and r.json()["results"][0]["ok"]
    assert any(row["detail"]["step"] == "renditions" for row in r.json()["audit"])


@pytest.mark.django_db
@pytest.mark.services
def test_takedown_on_a_versioned_bucket_removes_every_version(local_root, s3_profile, s3_bucket, admin_user):
    s3_profile.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    src = SourceFactory(name="bucket", kind=Source.Kind.S3, storage_profile="moto", bucket=s3_bucket, prefix="photos",
                        root="", role=Source.Role.CANONICAL, versioned=True)
    for data in (encoded("astronaut"), encoded("coffee")):
        s3_profile.put_object(Bucket=s3_bucket, Key="photos/C0001.jpg", Body=data)
    s3_profile.put_object(Bucket=s3_bucket, Key="photos/C0002.jpg", Body=encoded("chelsea"))
    asset = AssetFactory(source=src, key="C0001.jpg", name="C0001.jpg")
    [r] = svc.takedown_execute(actor=admin_user, assets=[asset], reason="court order 2026/121 all versions")
    assert r["ok"] and r["message"] == "deleted (2 versions)"
    keys = [v["Key"] for v in s3_profile.list_object_versions(Bucket=s3_bucket).get("Versions", [])]
    assert keys == ["photos/C0002.jpg"]
    assert not s3_profile.list_object_versions(Bucket=s3_bucket).get("DeleteMarkers")


@pytest.mark.django_db
def test_copies_lookup_refuses_ids_no_row_can_have(admin_api):
    for bad in ("9" * 20, "1,x", "-1", "１"):  # a full-width digit is a digit to str.isdigit, not an id
        r = admin_api.get(f"/api/v1/takedown/copies/?assets={bad}")
        assert r.status_code == 400 and "asset ids" in str(r.json()), (bad, r.status_code)


def test_takedown_page_offers_no_box_for_a_canonical_copy(world, admin_user, client):
    client.force_login(admin_user)
    url = reverse("takedown")
    reason = "court order 2026/119 for this photograph"
    named = {"source": world["b"].source_id, "keys": "C0001 rotated.jpg", "reason": reason}
    page = client.post(url, named).content.decode()
    canon = world["c"]
    # (the box itself: a source's or a page's own value="N" elsewhere may share the number)
    assert f'name="include" value="{world["d"].pk}"' in page  # a clean-up copy: offered with a box
    assert f'name="include" value="{canon.pk}"' not in page and f'id="include-{canon.pk}"' not in page
    assert 'data-testid="canonical-copy"' in page and canon.key in page
    assert "never deleted" not in page
    # a forged "include" of the canonical copy is ignored
    client.post(url, {**named, "confirm": "on", "include": [canon.pk, world["d"].pk]})
    assert set(Takedown.objects.values_list("asset_id", flat=True)) == {world["b"].pk, world["d"].pk}
    assert (world["local_root"] / "canon" / "C0001.png").exists()


def test_a_repeated_takedown_does_not_rebuild_the_extract_again(world, admin_user):
    reason = "court order 2026/120 for this photograph"
    archive = ExtractArchive.objects.get(extract=world["extract"], members__asset=world["b"])
    first = svc.takedown_execute(actor=admin_user, assets=[world["b"]], reason=reason)
    assert first[0]["ok"] and any("rebuilt without it" in s for s in first[0]["steps"])
    archive.refresh_from_db()
    rebuilt, sha = archive.rebuilds, archive.sha256
    assert rebuilt == 1
    rebuild_rows = AuditEntry.objects.filter(action=AuditEntry.Action.REBUILD).count()
    again = svc.takedown_execute(actor=admin_user, assets=[world["b"]], reason=reason)
    assert again[0]["ok"] and not any("rebuilt" in s for s in again[0]["steps"])
    archive.refresh_from_db()
    assert (archive.rebuilds, archive.sha256) == (rebuilt, sha)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.REBUILD).count() == rebuild_rows
    # the service itself is idempotent too, whoever calls it
    assert extracts.archive_remove_assets(archive=archive, asset_ids=[world["b"].pk], actor=admin_user,
                                          reason=reason).rebuilds == rebuilt


def test_a_takedown_sent_twice_reports_the_object_gone_not_a_failure(world, admin_user, monkeypatch):
    """The form sent twice: the second request looked at the object just before the first removed it."""
    reason = "court order 2026/121 for this photograph"
    b = world["b"]
    head, looked = LocalStorage.head, []

    def first_one_removes_it_meanwhile(store, key):
        info = head(store, key)
        if key == b.key and not looked:
            looked.append(key)
            assert svc.takedown_execute(actor=admin_user, assets=[b], reason=reason)[0]["ok"]
        return info

    monkeypatch.setattr(LocalStorage, "head", first_one_removes_it_meanwhile)
    second = svc.takedown_execute(actor=admin_user, assets=[b], reason=reason)[0]
    assert looked and second["ok"] and second["message"] == "was already gone", second
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.TAKEDOWN, outcome="failed").exists()
    assert not (Path(b.source.root) / b.key).exists()


def test_a_taken_down_cleanup_file_leaves_the_review_queue(world, admin_user, curator):
    item = ReviewItemFactory(asset=world["d"], best_candidate=world["db"])
    assert review_lease_next(actor=curator).pk == item.pk
    svc.takedown_execute(actor=admin_user, assets=[world["d"]], reason="court order 2026/121 for this photograph")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED and item.leased_by is None
    assert not queue_items().filter(pk=item.pk).exists()
    assert review_lease_next(actor=curator) is None
    assert queue_counts()["total"] == 0
    # and nothing sends it back: not a reopened plan item, not a re-pairing
    assert deletion.review_return(actor=admin_user, asset=world["d"], reason="restored") is None
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED


def test_undo_of_a_decision_on_a_taken_down_file_is_refused(world, admin_user, curator):
    item = ReviewItemFactory(asset=world["d"], best_candidate=world["db"])
    decision = decision_record(actor=curator, item=item, action="not_duplicate")
    svc.takedown_execute(actor=admin_user, assets=[world["d"]], reason="court order 2026/122 for this photograph")
    with pytest.raises(ReviewRefused, match="legal takedown"):
        decision_undo(actor=curator, decision=decision)
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED


def test_an_object_taken_down_twice_is_recorded_once(world, admin_user):
    """The same object taken down twice left two takedown rows (two "Recent takedowns", two reasons for
    one removal). The second request finishes the steps and says the takedown was already recorded."""
    from django.db import IntegrityError, transaction

    b = world["b"]
    first = svc.takedown_execute(actor=admin_user, assets=[b], reason="court order 2026/123 for this photograph")[0]
    again = svc.takedown_execute(actor=admin_user, assets=[b], reason="court order 2026/124, sent again")[0]
    assert first["ok"] and again["ok"]
    row = Takedown.objects.get(asset=b)
    assert row.reason == "court order 2026/123 for this photograph"
    assert again["steps"][0].startswith("already taken down ") and "recorded once" in again["steps"][0]
    assert not any("already taken down" in s for s in first["steps"])
    # the second request's reason is in the audit trail of the steps it ran
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TAKEDOWN, key=b.key,
                                     reason="court order 2026/124, sent again").exists()
    with pytest.raises(IntegrityError), transaction.atomic():   # the database refuses a second row too
        Takedown.objects.create(asset=b, reason="a third time, written directly", actor=admin_user)


def test_a_takedown_closes_a_queued_reingest_so_the_picture_is_never_sent_for_ingest(world, admin_user, curator):
    """An attack: a reingest still queued when its object was taken down stayed open; once the file came
    back at its key, Retry and "send now" copied the taken-down picture into the ingest drop folder."""
    from reviewapp.services.reingest import reingest_process_queued, reingest_retry, reingest_send_now

    d = world["d"]
    queued = reingest_request(actor=curator, asset=d, reason="only copy with the margin")
    [r] = svc.takedown_execute(actor=admin_user, assets=[d], reason="court order 2026/151 for this photograph")
    assert r["ok"] and f"reingest #{queued.pk} closed" in r["steps"], r
    queued.refresh_from_db()
    assert (queued.state, queued.error, queued.retryable) == (ReingestItem.State.FAILED, "removed by a legal takedown", False)
    (world["local_root"] / "scans" / "copy of copy.jpg").write_bytes(encoded("astronaut"))   # back from a backup
    with pytest.raises(ValidationError, match="cannot be retried"):
        reingest_retry(actor=admin_user, item=queued)
    ReingestItem.objects.filter(pk=queued.pk).update(state=ReingestItem.State.QUEUED, retryable=True)   # a stale row
    assert reingest_send_now(actor=admin_user, items=[queued]) == 0
    reingest_process_queued(item_ids=[queued.pk])
    queued.refresh_from_db()
    assert queued.state == ReingestItem.State.FAILED and not queued.target_key
    assert not [n for n in files_under(world["local_root"] / "ingest") if n.startswith(f"{queued.pk}/")]
    with pytest.raises(ValidationError, match="removed by a legal takedown"):
        reingest_request(actor=curator, asset=d, reason="again")


def test_a_copy_for_ingest_made_while_its_object_is_taken_down_removes_itself(world, admin_user, curator, monkeypatch):
    """The copy step writes the file before it records it: a takedown in between found no copy recorded."""
    from reviewapp.storage import LocalStorage as Local

    d = world["d"]
    item = reingest_request(actor=curator, asset=d, reason="only copy with the margin")
    real_copy = Local.copy_to

    def copy_then_takedown(self, *args, **kwargs):
        info = real_copy(self, *args, **kwargs)
        svc.takedown_execute(actor=admin_user, assets=[d], reason="court order 2026/152 for this photograph")
        return info

    monkeypatch.setattr(Local, "copy_to", copy_then_takedown)
    item = reingest_copy(item=item)
    assert item.state == ReingestItem.State.FAILED and item.error == "removed by a legal takedown"
    assert not [n for n in files_under(world["local_root"] / "ingest") if n.startswith(f"{item.pk}/")]


def test_a_takedown_leaves_a_verified_reingest_verified_and_names_its_canonical_copy(world, admin_user):
    """A verified reingest was rewritten "failed: removed by a legal takedown", hiding that the picture
    had been ingested and that its canonical copy, another object, is still there."""
    b, c = world["b"], world["c"]
    ReingestItem.objects.filter(pk=world["ingest"].pk).update(
        state=ReingestItem.State.VERIFIED, canonical_asset=c, canonical_key=c.key)
    [r] = svc.takedown_execute(actor=admin_user, assets=[b], reason="court order 2026/153 for this photograph")
    ri = ReingestItem.objects.get(pk=world["ingest"].pk)
    assert ri.state == ReingestItem.State.VERIFIED
    assert any(f"stays verified: its canonical copy canon:{c.key} is another object" in s for s in r["steps"]), r
    assert files_under(world["local_root"] / "ingest") == []
    assert ri.events.filter(detail__takedown=True).exists()


def test_an_object_taken_down_that_comes_back_is_never_analysed_or_rendered_again(world, admin_user):
    """An attack: after the inventory flagged a taken-down file back at its key, an analysis job re-made its
    web, thumbnail, reduced and detail renditions (the README promises they are never made again)."""
    from reviewapp.models import Job, JobItem
    from reviewapp.services.analysis import PermanentFailure, analyse_item, analysis_run, analysis_start
    from reviewapp.services.inventory import inventory_run

    f = world["f"]
    svc.takedown_execute(actor=admin_user, assets=[f], reason="court order 2026/161 for this photograph")
    (world["local_root"] / "canon" / "unrelated.png").write_bytes(encoded("chelsea", "PNG"))   # back from a backup
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=f.source).pk)
    Asset.objects.filter(pk=f.pk).update(engine_version="", analysis=None)   # as if never analysed
    job = analysis_run(analysis_start(actor=admin_user, source=f.source, dispatch=False).pk)
    assert not JobItem.objects.filter(job=job, asset=f).exists()
    assert not [n for n in files_under(world["renditions"]) if n.startswith(f"assets/{f.pk}/")]
    # an item queued before the takedown is refused when a worker reaches it
    queued = analysis_start(actor=admin_user, source=f.source, dispatch=False, idempotency_key="before the order")
    item = JobItem.objects.create(job=queued, asset=f)
    with pytest.raises(PermanentFailure, match="removed by a legal takedown"):
        analyse_item(queued.pk, item.pk)
    assert not [n for n in files_under(world["renditions"]) if n.startswith(f"assets/{f.pk}/")]
    f.refresh_from_db()
    assert f.analysis is None and f.rendition == ""


def test_renditions_an_analysis_made_while_its_object_was_taken_down_are_removed(world, admin_user, monkeypatch):
    from reviewapp.models import JobItem
    from reviewapp.services import analysis
    from reviewapp.services.renditions import renditions_storage

    d, made = world["d"], {}
    real = analysis.analyse_asset_file

    def analyse_then_order_arrives(asset, path):
        made.update(real(asset, path))
        Takedown.objects.create(asset=asset, reason="court order 2026/162 for this photograph")
        return made

    monkeypatch.setattr(analysis, "analyse_asset_file", analyse_then_order_arrives)
    Asset.objects.filter(pk=d.pk).update(engine_version="", analysis=None)
    job = analysis.analysis_start(actor=admin_user, source=d.source, dispatch=False)
    item = JobItem.objects.create(job=job, asset=d)
    with pytest.raises(analysis.PermanentFailure, match="removed by a legal takedown"):
        analysis.analyse_item(job.pk, item.pk)
    names = [made["rendition"], made["thumbnail"], made["analysis"]["reduced"], made["analysis"]["detail"]]
    assert all(names) and not [n for n in names if renditions_storage().exists(n)], names
    d.refresh_from_db()
    assert d.analysis is None


def test_a_quarantine_copy_made_while_its_object_is_taken_down_is_removed_and_never_restored(
        world, admin_user, curator, monkeypatch, django_capture_on_commit_callbacks):
    """Read in code after an attack: the takedown's step looks for recorded quarantine copies; one the
    executor was making when the order arrived was recorded after it, and could be restored to its key."""
    from reviewapp.storage import LocalStorage as Local

    c = world["c"]
    g = put(world["a"].source, "old/C0001 second.jpg", encoded("astronaut"))
    item = ReviewItemFactory(best_candidate=CandidateFactory(cleanup_asset=g, match_asset=c, verdict=Verdict.DUPLICATE,
                                                             thresholds={"local": 0.085}))
    plan = checked_plan(actor=admin_user, decisions=[decision_record(actor=curator, item=item, action="approve_delete")])
    real_copy = Local.copy_to

    def copy_then_takedown(self, *args, **kwargs):
        info = real_copy(self, *args, **kwargs)
        if not Takedown.objects.filter(asset=g).exists():
            svc.takedown_execute(actor=admin_user, assets=[g], reason="court order 2026/163 for this photograph")
        return info

    monkeypatch.setattr(Local, "copy_to", copy_then_takedown)
    with django_capture_on_commit_callbacks(execute=True):
        deletion.deletion_plan_confirm(actor=admin_user, plan=plan)
    held = DeletionItem.objects.get(asset=g)
    assert (held.state, held.reason) == (DeletionItem.State.PURGED, "legal takedown")
    assert not [p for p in (world["local_root"].parent / "quarantine").rglob("*") if p.is_file() and "second" in p.name]
    assert AuditEntry.objects.filter(item=held, action=AuditEntry.Action.TAKEDOWN, outcome="quarantine copy removed").exists()
    DeletionItem.objects.filter(pk=held.pk).update(state=DeletionItem.State.QUARANTINED)   # a stale row
    with pytest.raises(ValidationError, match="removed by a legal takedown: it is not restored"):
        deletion.deletion_restore(actor=admin_user, item=held)


def test_a_taken_down_canonical_back_unchanged_is_never_offered_as_a_kept_copy(local_root, admin_user):
    """An attack: a canonical file the takedown found "already gone" (a share unmounted for a while) came
    back unchanged; the inventory restored its analysed state, and a new copy of it was paired with it as
    identical, safe to delete."""
    from reviewapp.models import Job
    from reviewapp.services.analysis import analysis_run, analysis_start
    from reviewapp.services.inventory import inventory_run

    for d in ("canon", "cleanup", "away"):
        (local_root / d).mkdir()
    canon = SourceFactory(name="canon", root=str(local_root / "canon"), role=Source.Role.CANONICAL)
    cleanup = SourceFactory(name="cleanup", root=str(local_root / "cleanup"), role=Source.Role.CLEANUP)
    data = encoded("astronaut", "PNG")
    (local_root / "canon" / "C0001.png").write_bytes(data)
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=canon).pk)
    analysis_run(analysis_start(actor=admin_user, source=canon, dispatch=False).pk)
    c = Asset.objects.get(source=canon, key="C0001.png")
    (local_root / "canon" / "C0001.png").rename(local_root / "away" / "C0001.png")
    [r] = svc.takedown_execute(actor=admin_user, assets=[c], reason="court order 2026/164 for this photograph")
    assert "object: was already gone" in r["steps"], r
    (local_root / "away" / "C0001.png").rename(local_root / "canon" / "C0001.png")   # same inode and mtime
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=canon).pk)
    c.refresh_from_db()
    assert c.state == Asset.State.LISTED
    (local_root / "cleanup" / "copy.png").write_bytes(data)
    inventory_run(Job.objects.create(kind=Job.Kind.INVENTORY, source=cleanup).pk)
    analysis_run(analysis_start(actor=admin_user, source=cleanup, dispatch=False).pk)
    copy = Asset.objects.get(source=cleanup, key="copy.png")
    assert not Candidate.objects.filter(cleanup_asset=copy, match_asset=c).exists()


def test_a_deletion_whose_kept_copy_is_taken_down_after_the_plan_is_not_carried_out(
        world, admin_user, curator, django_capture_on_commit_callbacks):
    c = world["c"]
    g = put(world["a"].source, "old/C0001 third.jpg", encoded("astronaut"))
    item = ReviewItemFactory(best_candidate=CandidateFactory(cleanup_asset=g, match_asset=c, verdict=Verdict.DUPLICATE,
                                                             thresholds={"local": 0.085}))
    plan = checked_plan(actor=admin_user, decisions=[decision_record(actor=curator, item=item, action="approve_delete")])
    svc.takedown_execute(actor=admin_user, assets=[c], reason="court order 2026/165 for this photograph")
    with django_capture_on_commit_callbacks(execute=True):
        deletion.deletion_plan_confirm(actor=admin_user, plan=plan)
    held = DeletionItem.objects.get(asset=g)
    assert held.state == DeletionItem.State.ABORTED, held.state
    assert held.reason == "the kept copy canon:C0001.png was removed by a legal takedown: it keeps nothing", held.reason
    assert (world["local_root"] / "cleanup" / "old" / "C0001 third.jpg").exists()


def test_a_copy_left_by_an_undone_reingest_is_removed_at_once_and_never_outlives_a_takedown(
        world, admin_user, curator, monkeypatch):
    """An undo while the copy was being made left it in the drop folder as "clutter", unrecorded, so a
    later takedown of the object did not find it there."""
    from reviewapp.services.review import decision_undo
    from reviewapp.storage import LocalStorage as Local

    d = world["d"]
    decision = decision_record(actor=curator, item=ReviewItemFactory(best_candidate=world["db"]), action="reingest",
                               note="only copy with the margin")
    ri = ReingestItem.objects.get(decision=decision)
    real_copy = Local.copy_to

    def copy_then_undo(self, *args, **kwargs):
        info = real_copy(self, *args, **kwargs)
        decision_undo(actor=curator, decision=decision)
        return info

    monkeypatch.setattr(Local, "copy_to", copy_then_undo)
    ri = reingest_copy(item=ri)
    assert ri.state == ReingestItem.State.WITHDRAWN
    assert not [n for n in files_under(world["local_root"] / "ingest") if n.startswith(f"{ri.pk}/")]
    monkeypatch.setattr(Local, "copy_to", real_copy)
    # a copy such an undo left before this fix is looked for where it would be
    LocalStorage(world["local_root"] / "ingest").put(f"{ri.pk}/{d.name}", b"left behind")
    svc.takedown_execute(actor=admin_user, assets=[d], reason="court order 2026/166 for this photograph")
    assert not [n for n in files_under(world["local_root"] / "ingest") if n.startswith(f"{ri.pk}/")]


def test_a_reingest_is_never_recorded_or_verified_against_a_taken_down_canonical_row(world, admin_user):
    """An attack: the canonical store ingested the copy at a taken-down canonical object's old key; the
    report was taken, the checker analysed the taken-down row again, and the copy went back to review
    paired with a picture whose every URL answers 410."""
    b, c = world["b"], world["c"]
    ri = ReingestItem.objects.get(pk=world["ingest"].pk)
    svc.takedown_execute(actor=admin_user, assets=[c], reason="court order 2026/167 for this photograph")
    (world["local_root"] / "canon" / "C0001.png").write_bytes((world["local_root"] / "ingest" / ri.target_key).read_bytes())
    with pytest.raises(ValidationError, match="canon:C0001.png is an object a legal takedown removed"):
        reingest_report_ingested(actor=admin_user, item=ri, canonical_key="C0001.png", source=c.source)
    # the checker's look by key and by name skips it too
    (world["local_root"] / "canon" / b.key).write_bytes((world["local_root"] / "ingest" / ri.target_key).read_bytes())
    gone = Asset.objects.create(source=c.source, key=b.key, name=b.name, size=1, etag="x", state=Asset.State.VANISHED)
    Takedown.objects.create(asset=gone, reason="court order 2026/168 for this photograph")
    reingest_check_all()
    ri.refresh_from_db()
    c.refresh_from_db()
    gone.refresh_from_db()
    assert ri.canonical_asset_id not in (c.pk, gone.pk) and c.state == gone.state == Asset.State.VANISHED
    assert not Candidate.objects.filter(cleanup_asset=b, found_by="reingest").exists()


def test_an_ingest_location_set_inside_a_source_is_refused_when_used(world, admin_user, settings):
    """Sources are refused over the ingest location; this is the other order: the setting moved inside a
    canonical source, where the checker then "verified" a copy only Doppel had put there."""
    settings.INGEST_LOCATION = f"local:{world['local_root'] / 'canon' / 'dropbox'}"
    from reviewapp.services.reingest import reingest_process_queued

    ri = ReingestItem.objects.create(asset=world["d"], reason="only copy with the margin")
    assert reingest_process_queued(item_ids=[ri.pk]) == {"submitted": 0, "failed": 1}
    ri.refresh_from_db()
    assert ri.state == ReingestItem.State.FAILED and ri.retryable
    assert "overlaps source 'canon'" in ri.error and ri.error.endswith("nothing is copied there"), ri.error
    assert not (world["local_root"] / "canon" / "dropbox").exists()


def test_a_restore_from_quarantine_that_a_takedown_overtakes_puts_nothing_back(world, admin_user, monkeypatch):
    """An attack modelled the order: the restore checked for a takedown, the takedown found the object
    gone (it was in quarantine) and marked the copy purged, and the restore then put the object back at
    its key, the records saying it was gone."""
    from reviewapp.storage import LocalStorage as Local

    a = world["a"]
    held = DeletionItem.objects.get(asset=a)
    real_copy, real_remove, deferred = Local.copy_to, svc._remove_quarantine, []

    def takedown_then_copy(self, *args, **kwargs):
        # the takedown's row and object step ("already gone": it is in quarantine) before the copy back;
        # its quarantine step after the restore has recorded its work
        monkeypatch.setattr(svc, "_remove_quarantine", lambda asset, item: deferred.append((asset, item)))
        svc.takedown_execute(actor=admin_user, assets=[a], reason="court order 2026/169 for this photograph")
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(Local, "copy_to", takedown_then_copy)
    with pytest.raises(ValidationError, match="removed by a legal takedown while it was being restored"):
        deletion.deletion_restore(actor=admin_user, item=held)
    for asset, item in deferred:
        real_remove(asset, item)
    held.refresh_from_db()
    assert (held.state, held.reason) == (DeletionItem.State.PURGED, "legal takedown")
    assert not (world["local_root"] / "cleanup" / a.key).exists()
    assert not [p for p in (world["local_root"].parent / "quarantine").rglob("*") if p.is_file()]


@pytest.mark.parametrize("which", ["asset", "candidate"])
def test_a_rendition_being_made_when_a_takedown_arrives_is_removed_and_not_served(world, admin_user, client,
                                                                                   monkeypatch, which, picture):
    """An attack: a page's image request rendering the picture when the order arrived got a 200, and its
    web JPEG, thumbnail or difference image stayed in the renditions storage. (The rendering is the
    task the image request queued; the page's next request is the one answered.)"""
    import shutil

    import matching
    from reviewapp.services import renditions as rmod

    d, cand = world["d"], world["db"]
    Asset.objects.filter(pk=d.pk).update(rendition="", thumbnail="")
    Candidate.objects.filter(pk=cand.pk).update(aligned_rendition="", diff_rendition="")
    shutil.rmtree(world["renditions"] / "assets" / str(d.pk), ignore_errors=True)
    shutil.rmtree(world["renditions"] / "candidates" / str(cand.pk), ignore_errors=True)
    module, name = (rmod, "render_asset_files") if which == "asset" else (matching, "render_diff")
    real = getattr(module, name)

    def render_then_order_arrives(*args, **kwargs):
        out = real(*args, **kwargs)
        if not Takedown.objects.filter(asset=d).exists():
            svc.takedown_execute(actor=admin_user, assets=[d], reason="court order 2026/170 for this photograph")
        return out

    monkeypatch.setattr(module, name, render_then_order_arrives)
    client.force_login(admin_user)
    url = reverse("asset-image", args=[d.pk, "web"]) if which == "asset" else reverse("candidate-image", args=[cand.pk, "diff"])
    assert picture(client, url).status_code == 410
    assert Takedown.objects.filter(asset=d).exists()  # it did arrive while rendering
    assert not [n for n in files_under(world["renditions"])
                if n.startswith(f"assets/{d.pk}/") or n.startswith(f"candidates/{cand.pk}/")]


def test_a_takedown_after_the_ingest_location_moved_closes_the_reingest_and_says_where_its_copy_is(
        world, admin_user, settings):
    """The second attack: the step failed before closing the item, which stayed submitted."""
    (world["local_root"] / "ingest-new").mkdir()
    settings.INGEST_LOCATION = f"local:{world['local_root'] / 'ingest-new'}"
    [r] = svc.takedown_execute(actor=admin_user, assets=[world["b"]], reason="court order 2026/171 for this photograph")
    ri = ReingestItem.objects.get(pk=world["ingest"].pk)
    assert (ri.state, ri.error, ri.retryable) == (ReingestItem.State.FAILED, "removed by a legal takedown", False)
    assert not r["ok"]
    [failed] = [s for s in r["steps"] if s.startswith("ingest: FAILED")]
    assert f"reingest #{ri.pk} closed, but the copy is in local:{world['local_root'] / 'ingest'}" in failed, failed
    assert f"remove local:{world['local_root'] / 'ingest'}/{ri.target_key} and its manifests there" in failed, failed

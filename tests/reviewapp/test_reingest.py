"""Reingest tracked until verified: queued → copied (with manifest) → submitted → ingested →
verified; failures with reasons and retry; undo only while queued; and the clean-up copy that
holds more than its canonical is deleted only after its reingest is verified (invariant 3)."""
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from reviewapp.models import Candidate, DeletionItem, ReingestEvent, ReingestItem, ReviewItem, Source
from reviewapp.services import deletion as deletion_svc
from reviewapp.services import reingest as svc
from reviewapp.services.review import decision_record, decision_undo
from tests.factories import CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory, checked_plan
from tests.reviewapp.test_deletion import cleanup_jpeg, img_bytes, put_asset, storage_for
from tests.images import photo

BIG = (384, 384)


@pytest.fixture
def env(db, local_root):
    (local_root / "cleanup").mkdir()
    (local_root / "canon").mkdir()
    cleanup = SourceFactory(name="cleanup", root=str(local_root / "cleanup"), role=Source.Role.CLEANUP)
    canon = SourceFactory(name="canon", root=str(local_root / "canon"), role=Source.Role.CANONICAL)
    cur, admin = UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")
    return cleanup, canon, cur, admin, local_root


def reingest_decision(env, key="box/C0100.jpg"):
    """A clean-up copy larger than its canonical: the curator routes it to reingest."""
    cleanup, canon, cur, admin, _ = env
    small = put_asset(canon, key.replace(".jpg", ".png"), img_bytes(photo("astronaut", size=(256, 256)), "PNG"))
    big = put_asset(cleanup, key, cleanup_jpeg(size=BIG), width=BIG[0], height=BIG[1])
    item = ReviewItemFactory(best_candidate=CandidateFactory(cleanup_asset=big, match_asset=small))
    return decision_record(actor=cur, item=item, action="reingest", note="larger than the canonical")


def events(item):
    return [(e.from_state, e.to_state) for e in ReingestEvent.objects.filter(item=item).order_by("id")]


def test_request_is_one_item_per_decision_and_undo_withdraws_while_queued(env):
    cleanup, canon, cur, admin, _ = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    assert item.state == "queued" and item.reason == "larger than the canonical"
    assert svc.reingest_request(actor=cur, asset=d.asset, reason="x", decision=d).pk == item.pk
    assert deletion_svc.decision_has_run(d) is False
    decision_undo(actor=cur, decision=d)
    item.refresh_from_db()
    assert item.state == "withdrawn"
    assert events(item) == [("", "queued"), ("queued", "withdrawn")]


def test_withdraw_refused_once_copied(env):
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    svc.reingest_copy(item=item)
    assert deletion_svc.decision_has_run(d) is True
    with pytest.raises(ValidationError):
        svc.reingest_withdraw(actor=env[2], decision=d)


def test_copy_writes_bytes_and_manifest_then_checker_verifies(env):
    cleanup, canon, cur, admin, root = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    assert svc.reingest_process_queued() == {"submitted": 0, "failed": 0}  # still in its undo window
    assert svc.reingest_process_queued(item_ids=[item.pk]) == {"submitted": 1, "failed": 0}
    item.refresh_from_db()
    assert item.state == "submitted"
    data = cleanup_jpeg(size=BIG)
    ingest = root / "ingest"
    assert (ingest / item.target_key).read_bytes() == data
    manifest = json.loads((ingest / item.manifest_key).read_text())["items"][0]
    assert manifest["checksum_sha256"] == hashlib.sha256(data).hexdigest() == item.checksum
    assert manifest["key"] == item.target_key and manifest["reason"] == "larger than the canonical"
    assert "checksum_sha256" in (ingest / str(item.pk) / "manifest.csv").read_text()

    assert svc.reingest_check_all() == {"verified": 0, "waiting": 1, "failed": 0}  # not in the canonical store yet
    # the collections system ingests it under the same key; the checker finds and verifies it
    storage_for(canon).put(d.asset.key, data)
    assert svc.reingest_check_all()["verified"] == 1
    item.refresh_from_db()
    assert item.state == "verified" and item.canonical_asset.source == canon and item.verified_at
    assert events(item) == [("", "queued"), ("queued", "copied"), ("copied", "submitted"), ("submitted", "ingested"),
                            ("ingested", "verified")]
    # the new canonical object is offered in review as the kept copy
    review = ReviewItem.objects.get(asset=d.asset)
    assert review.status == "open" and review.best_candidate.match_asset == item.canonical_asset
    assert review.best_candidate.verdict == "identical" and review.best_candidate.safe_to_delete


def test_larger_copy_deleted_only_after_verified_reingest(env, django_capture_on_commit_callbacks):
    """Invariant 3 end to end: report ingested through the service, verify, approve, execute."""
    cleanup, canon, cur, admin, _ = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    svc.reingest_copy(item=item)
    storage_for(canon).put("ingested/C0100.jpg", cleanup_jpeg(size=BIG))
    with pytest.raises(ValidationError):
        svc.reingest_report_ingested(actor=admin, item=item, canonical_key="../etc/passwd")
    with django_capture_on_commit_callbacks(execute=True):
        svc.reingest_report_ingested(actor=admin, item=item, canonical_key="ingested/C0100.jpg")
    item.refresh_from_db()
    assert item.state == "verified", item.error

    review = ReviewItem.objects.get(asset=d.asset)
    approval = decision_record(actor=cur, item=review, action="approve_delete", candidate=review.best_candidate)
    plan = checked_plan(actor=admin, decisions=[approval])
    di = plan.items.get()
    assert di.kept_asset == item.canonical_asset
    with django_capture_on_commit_callbacks(execute=True):
        deletion_svc.deletion_plan_confirm(actor=admin, plan=plan)
    di.refresh_from_db()
    assert di.state == DeletionItem.State.QUARANTINED, di.reason
    assert storage_for(canon).exists("ingested/C0100.jpg")


def test_failures_have_reasons_and_retry(env):
    cleanup, canon, cur, admin, _ = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    svc.reingest_copy(item=item)
    # reported, but the canonical object differs: a non-retryable checksum failure
    storage_for(canon).put("ingested/C0100.jpg", cleanup_jpeg("coffee", size=BIG))
    svc.reingest_report_ingested(actor=admin, item=item, canonical_key="ingested/C0100.jpg")
    item = svc.reingest_verify(item=item)
    assert item.state == "failed" and "checksum differs" in item.error and not item.retryable
    with pytest.raises(ValidationError):
        svc.reingest_retry(actor=admin, item=item)

    # a reported object that then vanishes: retryable, and retry goes back to submitted
    d2 = reingest_decision(env, key="box/C0200.jpg")
    item2 = ReingestItem.objects.get(decision=d2)
    svc.reingest_copy(item=item2)
    storage_for(canon).put("ingested/C0200.jpg", cleanup_jpeg(size=BIG))
    svc.reingest_report_ingested(actor=admin, item=item2, canonical_key="ingested/C0200.jpg")
    storage_for(canon).delete("ingested/C0200.jpg")
    item2 = svc.reingest_verify(item=item2)
    assert item2.state == "failed" and item2.retryable and "not in the canonical store" in item2.error
    with pytest.raises(PermissionDenied):
        svc.reingest_retry(actor=cur, item=item2)
    item2 = svc.reingest_retry(actor=admin, item=item2)
    assert item2.state == "submitted"


def test_unreadable_copy_fails_without_copying(env):
    cleanup, canon, cur, admin, root = env
    bad = put_asset(cleanup, "box/broken.jpg", b"not an image at all" * 10)
    item = svc.reingest_request(actor=admin, asset=bad, reason="only copy")
    item = svc.reingest_copy(item=item)
    assert item.state == "failed" and "does not decode" in item.error and not item.retryable
    assert not (root / "ingest" / str(item.pk)).exists()


def test_a_copy_that_changed_since_the_decision_is_not_reingested(env):
    """The curator routed the picture they saw: other bytes at its key (overwritten since) are not sent
    under its name, with its manifest."""
    cleanup, canon, cur, admin, root = env
    d = reingest_decision(env)   # (its row holds the sha256 of the bytes the analysis read)
    (root / "cleanup" / "box/C0100.jpg").write_bytes(img_bytes(photo("coffee", size=(300, 200)), "JPEG"))
    item = svc.reingest_copy(item=ReingestItem.objects.get(asset_id=d.asset_id))
    assert item.state == "failed" and "changed since it was analysed and decided" in item.error and not item.retryable
    assert not (root / "ingest" / str(item.pk)).exists()


def test_a_copy_missing_for_a_while_fails_and_is_sent_on_a_retry_once_it_is_back(env):
    cleanup, canon, cur, admin, root = env
    d = reingest_decision(env)
    path = root / "cleanup" / "box/C0100.jpg"
    path.rename(root / "away.jpg")
    item = svc.reingest_copy(item=ReingestItem.objects.get(asset_id=d.asset_id))
    assert item.state == "failed" and "no longer exists" in item.error and item.retryable
    (root / "away.jpg").rename(path)
    item = svc.reingest_copy(item=svc.reingest_retry(actor=admin, item=item))
    assert item.state == "submitted" and (root / "ingest" / str(item.pk) / "C0100.jpg").exists()


def test_curators_read_the_reingest_pages_and_only_admins_act_on_them(client, env):
    cleanup, canon, cur, admin, _ = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    client.force_login(cur)
    for url in (reverse("reingest-list"), reverse("reingest-detail", args=[item.pk])):
        r = client.get(url)
        assert r.status_code == 200 and d.asset.key in r.content.decode()
        assert 'data-testid="reingest-admin-actions"' not in r.content.decode()  # no buttons that would 403
    assert client.post(reverse("reingest-send-all")).status_code == 403
    assert client.post(reverse("reingest-check")).status_code == 403
    assert client.post(reverse("reingest-action", args=[item.pk, "send"])).status_code == 403
    item.refresh_from_db()
    assert item.state == "queued"
    client.force_login(admin)
    r = client.get(reverse("reingest-list"))
    assert r.status_code == 200 and d.asset.key in r.content.decode()
    r = client.post(reverse("reingest-action", args=[item.pk, "ingested"]), {"canonical_key": "../../x", "source": canon.pk})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.state == "queued"  # refused with a message, not a 500
    r = client.get(reverse("reingest-detail", args=[item.pk]))
    assert r.status_code == 200 and "Queued" in r.content.decode()
    assert Candidate.objects.exists()


@pytest.mark.services
def test_ingest_location_on_s3(env, s3_profile, s3_bucket, settings):
    settings.INGEST_LOCATION = f"s3:moto:{s3_bucket}/incoming"
    d = reingest_decision(env)
    item = svc.reingest_copy(item=ReingestItem.objects.get(decision=d))
    assert item.state == "submitted" and item.target_location == f"s3:moto:{s3_bucket}/incoming"
    body = s3_profile.get_object(Bucket=s3_bucket, Key=f"incoming/{item.target_key}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == item.checksum
    manifest = json.loads(s3_profile.get_object(Bucket=s3_bucket, Key=f"incoming/{item.manifest_key}")["Body"].read())
    assert manifest["items"][0]["key"] == item.target_key


def test_bad_ingest_location_is_a_clear_failure(env, settings):
    settings.INGEST_LOCATION = "ftp://nowhere"
    d = reingest_decision(env)
    counts = svc.reingest_process_queued(item_ids=[ReingestItem.objects.get(decision=d).pk])
    item = ReingestItem.objects.get(decision=d)
    assert counts == {"submitted": 0, "failed": 1}
    assert item.state == "failed" and "DOPPEL_INGEST_LOCATION" in item.error and item.retryable


def test_a_wrong_canonical_key_is_mended_by_recording_the_right_one(client, env):
    """The admin recorded a key that holds another object: the check fails for good for THAT key
    (not retryable), and the page says what to do: record the key the store really used; the
    checker then verifies the copy and the reingest completes."""
    cleanup, canon, cur, admin, _ = env
    d = reingest_decision(env)
    item = svc.reingest_copy(item=ReingestItem.objects.get(decision=d))
    storage_for(canon).put("ingested/wrong.jpg", cleanup_jpeg("coffee", size=BIG))
    svc.reingest_report_ingested(actor=admin, item=item, canonical_key="ingested/wrong.jpg")
    item = svc.reingest_verify(item=item)
    assert item.state == "failed" and "checksum differs" in item.error and not item.retryable
    client.force_login(admin)
    page = client.get(reverse("reingest-detail", args=[item.pk])).content.decode()
    assert 'data-testid="reingest-report"' in page
    assert "record the key it was ingested under below: the checker verifies that object instead" in page
    with open(d.asset.source.root + "/" + d.asset.key, "rb") as f:
        storage_for(canon).put("ingested/right.jpg", f.read())
    r = client.post(reverse("reingest-action", args=[item.pk, "ingested"]),
                    {"canonical_key": "ingested/right.jpg", "source": canon.pk})
    assert r.status_code == 302
    item = svc.reingest_verify(item=ReingestItem.objects.get(pk=item.pk))
    assert item.state == "verified" and item.canonical_asset.key == "ingested/right.jpg", item.error


def test_the_ingested_form_refuses_a_source_that_is_not_a_canonical_sources_id(env, client):
    cleanup, canon, cur, admin, _ = env
    item = ReingestItem.objects.get(decision=reingest_decision(env))
    svc.reingest_copy(item=item)
    storage_for(canon).put("ingested/C0100.jpg", cleanup_jpeg(size=BIG))
    item.refresh_from_db()
    before = item.state
    client.force_login(admin)
    url = reverse("reingest-action", kwargs={"pk": item.pk, "action": "ingested"})
    for junk in ("abc", "1.5", "\u00b2", "9" * 30, str(cleanup.pk)):
        r = client.post(url, {"source": junk, "canonical_key": "ingested/C0100.jpg"}, follow=True)
        assert r.status_code == 200 and "unknown canonical source" in r.content.decode(), junk
        item.refresh_from_db()
        assert item.state == before == "submitted", junk


def test_record_as_ingested_is_offered_only_when_the_service_would_take_it(client, env):
    """The page offered "Record as ingested" for a reingest that failed before its file was copied:
    with no checksum, the checker had nothing to prove the canonical copy by. The offer and the
    service now ask one rule (reingest_ingested_refusal)."""
    from tests.conftest import api_client_for

    cleanup, canon, cur, admin, root = env
    d = reingest_decision(env)
    (root / "cleanup" / "box/C0100.jpg").rename(root / "away.jpg")
    item = svc.reingest_copy(item=ReingestItem.objects.get(asset_id=d.asset_id))
    assert item.state == "failed" and item.checksum == ""
    storage_for(canon).put("ingested/C0100.jpg", cleanup_jpeg(size=BIG))
    client.force_login(admin)
    page = client.get(reverse("reingest-detail", args=[item.pk])).content.decode()
    assert "Record as ingested</button>" not in page and 'data-testid="reingest-report"' not in page
    assert "Record as ingested is not offered: its file was never copied, so there is no checksum" in page
    r = client.post(reverse("reingest-action", args=[item.pk, "ingested"]),
                    {"canonical_key": "ingested/C0100.jpg", "source": canon.pk}, follow=True)
    assert "no checksum to check a canonical copy against: retry it first" in r.content.decode()
    r = api_client_for(admin).post(f"/api/v1/reingest/{item.pk}/ingested/", {"canonical_key": "ingested/C0100.jpg"},
                                   format="json")
    assert r.status_code == 400 and "no checksum" in str(r.json())
    item.refresh_from_db()
    assert item.state == "failed" and item.canonical_key == ""
    # once retried and copied it has its checksum: then the page offers it, and the service takes it
    (root / "away.jpg").rename(root / "cleanup" / "box/C0100.jpg")
    item = svc.reingest_copy(item=svc.reingest_retry(actor=admin, item=item))
    assert item.state == "submitted" and svc.reingest_ingested_refusal(item) is None
    assert 'data-testid="reingest-report"' in client.get(reverse("reingest-detail", args=[item.pk])).content.decode()


def ingested_copy_in_canonical(env):
    """A reingest sent to the ingest location, and the ingest system's copy of it at ingested/C0100.jpg in the
    canonical source (not yet reported): (the decision, its reingest item)."""
    cleanup, canon, cur, admin, root = env
    d = reingest_decision(env)
    item = ReingestItem.objects.get(decision=d)
    svc.reingest_process_queued(item_ids=[item.pk])
    item.refresh_from_db()
    storage_for(canon).put("ingested/C0100.jpg", (root / "ingest" / item.target_key).read_bytes())
    return d, item


def test_a_taken_down_object_cannot_be_reported_ingested_nor_verified(env):
    """An attack reported a taken-down reingest as ingested and it was accepted; the checker then made a
    candidate and changed the taken-down file's review item."""
    from reviewapp.models import Takedown

    cleanup, canon, cur, admin, root = env
    d, item = ingested_copy_in_canonical(env)
    Takedown.objects.create(asset=d.asset, reason="court order 2026/160 for this photograph")
    with pytest.raises(ValidationError, match="removed by a legal takedown"):
        svc.reingest_report_ingested(actor=admin, item=item, canonical_key="ingested/C0100.jpg", source=canon)
    ReingestItem.objects.filter(pk=item.pk).update(state="ingested", canonical_key="ingested/C0100.jpg",
                                                   canonical_asset=svc._canonical_asset(canon, "ingested/C0100.jpg"))
    candidates = Candidate.objects.count()
    item = svc.reingest_verify(item=item)
    assert (item.state, item.error, item.retryable) == ("failed", "removed by a legal takedown", False)
    assert Candidate.objects.count() == candidates


def test_a_check_whose_cleanup_copy_is_gone_blames_the_cleanup_copy_not_the_canonical_one(env):
    """One message for both reads said the canonical copy was missing when the clean-up copy was."""
    cleanup, canon, cur, admin, root = env
    d, item = ingested_copy_in_canonical(env)
    svc.reingest_report_ingested(actor=admin, item=item, canonical_key="ingested/C0100.jpg", source=canon)
    storage_for(cleanup).delete(d.asset.key)
    item = svc.reingest_verify(item=item)
    assert item.state == "failed" and item.retryable
    assert item.error == (f"the clean-up copy cleanup:{d.asset.key} is no longer there to compare the canonical copy "
                          f"with; retry once it is back"), item.error

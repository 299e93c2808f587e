"""API: assets, candidates (filters, cursor pagination), the review queue and decisions, with
Idempotency-Key retries."""
import pytest
from rest_framework.test import APIClient

from reviewapp import models as m
from tests.conftest import api_client_for, require_postgresql
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources():
    return (SourceFactory(name="cleanup", role=m.Source.Role.CLEANUP),
            SourceFactory(name="canon", role=m.Source.Role.CANONICAL))


def make_item(sources, key, **cand):
    cleanup, canon = sources
    c = CandidateFactory(cleanup_asset=AssetFactory(source=cleanup, key=key),
                         match_asset=AssetFactory(source=canon, key=key), **cand)
    return ReviewItemFactory(best_candidate=c)


# ---------------------------------------------------------------------------------------------
# Assets and candidates


def test_asset_list_filters(curator_api, sources):
    a = AssetFactory(source=sources[0], key="box1/C0001.tif", state=m.Asset.State.UNREADABLE)
    AssetFactory(source=sources[1], key="C0002.tif")
    r = curator_api.get("/api/v1/assets/", {"source": sources[0].pk})
    assert [x["id"] for x in r.json()["results"]] == [a.pk]
    r = curator_api.get("/api/v1/assets/", {"state": "unreadable"})
    assert [x["key"] for x in r.json()["results"]] == ["box1/C0001.tif"]
    r = curator_api.get("/api/v1/assets/", {"name": "c0002"})
    assert [x["key"] for x in r.json()["results"]] == ["C0002.tif"]
    r = curator_api.get("/api/v1/assets/", {"state": "gone"})
    assert r.status_code == 400 and "state" in r.json()["errors"]


def test_candidate_filters_by_verdict_score_source_status(curator_api, sources):
    dup = make_item(sources, "A.jpg", diff_score=0.01, verdict="duplicate").best_candidate
    rot = make_item(sources, "B.jpg", diff_score=0.04, verdict="rotated").best_candidate
    other = CandidateFactory(diff_score=0.3, verdict="different")  # other sources

    def ids(**params):
        r = curator_api.get("/api/v1/candidates/", params)
        assert r.status_code == 200, r.content
        return {x["id"] for x in r.json()["results"]}

    assert ids(verdict="rotated") == {rot.pk}
    assert ids(diff_score_max=0.02) == {dup.pk}
    assert ids(diff_score_min=0.02, diff_score_max=0.5) == {rot.pk, other.pk}
    assert ids(source=sources[0].pk) == {dup.pk, rot.pk}
    assert ids(status="open") == {dup.pk, rot.pk, other.pk}
    assert ids(status="closed") == set()
    body = curator_api.get(f"/api/v1/candidates/{rot.pk}/").json()
    assert body["match"]["source_name"] == "canon" and body["rotation"] == 0


def test_cursor_pagination_walks_every_row_once(curator_api, sources):
    made = [make_item(sources, f"P{i}.jpg").best_candidate.pk for i in range(7)]
    seen, url, pages = [], "/api/v1/candidates/?page_size=3", 0
    while url:
        body = curator_api.get(url).json()
        seen.extend(x["id"] for x in body["results"])
        url, pages = body["next"], pages + 1
        if pages == 1:
            make_item(sources, "late.jpg")  # a row arriving mid-walk does not shift the pages
    assert pages == 3
    assert seen == sorted(made, reverse=True)  # newest first, no duplicates, nothing skipped


# ---------------------------------------------------------------------------------------------
# Review queue


def test_claim_next_leases_and_two_curators_never_share(curator_api, sources):
    i1, i2 = make_item(sources, "A.jpg"), make_item(sources, "B.jpg")
    other = api_client_for(UserFactory(username="curator2", role="curator"))
    r1 = curator_api.post("/api/v1/review/next/", {}, format="json")
    r2 = other.post("/api/v1/review/next/", {}, format="json")
    assert r1.status_code == r2.status_code == 200
    assert {r1.json()["id"], r2.json()["id"]} == {i1.pk, i2.pk}
    assert r1.json()["status"] == "leased" and r1.json()["leased_by"] == "curator1"
    assert len(r1.json()["candidates"]) == 1
    # the queue is empty for a third curator
    third = api_client_for(UserFactory(username="curator3", role="curator"))
    assert third.post("/api/v1/review/next/", {}, format="json").status_code == 204
    # release puts the file back; only the holder can (the README's 409), and nothing changes
    mine = r1.json()["id"]
    r = third.post(f"/api/v1/review/{mine}/release/")
    assert r.status_code == 409 and "another curator" in r.json()["detail"]
    assert m.ReviewItem.objects.get(pk=mine).leased_by.username == "curator1"
    r = curator_api.post(f"/api/v1/review/{mine}/release/")
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert third.post("/api/v1/review/next/", {}, format="json").json()["id"] == mine


def test_a_claimed_file_says_why_approving_it_would_be_refused(curator_api, sources):
    item = make_item(sources, "A.jpg")
    r = curator_api.post("/api/v1/review/next/", {}, format="json")
    assert r.json()["id"] == item.pk and r.json()["approve_refused"] is None
    # the kept copy gone: the engine's pair still says safe, the decision would refuse, and says why
    m.Asset.objects.filter(pk=item.best_candidate.match_asset_id).update(state=m.Asset.State.VANISHED)
    r = curator_api.post("/api/v1/review/next/", {}, format="json")
    best = next(c for c in r.json()["candidates"] if c["id"] == r.json()["best_candidate"])
    assert best["safe_to_delete"] and r.json()["approve_refused"] == "the kept copy is no longer in its source"
    d = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete"}, format="json")
    assert d.status_code == 409 and d.json()["detail"] == r.json()["approve_refused"]
    # another curator's running lease, and a decided file, are refusals too, said the same way
    other = make_item(sources, "B.jpg")
    assert api_client_for(UserFactory(username="curator2", role="curator")).post(
        "/api/v1/review/next/", {}, format="json").json()["id"] == other.pk
    assert curator_api.get(f"/api/v1/review/{other.pk}/").json()["approve_refused"] == \
        "another curator is reviewing this file right now"
    curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "not_duplicate"}, format="json")
    assert curator_api.get(f"/api/v1/review/{item.pk}/").json()["approve_refused"] == "this file is already decided"


def test_the_review_list_can_leave_out_files_gone_from_their_source(curator_api, sources):
    there, gone = make_item(sources, "A.jpg"), make_item(sources, "B.jpg")
    m.Asset.objects.filter(pk=gone.asset_id).update(state=m.Asset.State.VANISHED)
    ids = lambda q: [r["id"] for r in curator_api.get(f"/api/v1/review/?status=open&{q}").json()["results"]]  # noqa: E731
    assert sorted(ids("")) == sorted([there.pk, gone.pk])
    assert ids("in_source=true") == [there.pk] and ids("in_source=false") == [gone.pk]
    r = curator_api.get("/api/v1/review/?in_source=maybe")
    assert r.status_code == 400 and "in_source" in r.json()["errors"]


def test_claim_next_with_queue_filters(curator_api, sources):
    make_item(sources, "A.jpg", verdict="duplicate")
    rot = make_item(sources, "B.jpg", verdict="rotated")
    r = curator_api.post("/api/v1/review/next/", {"verdict": "rotated"}, format="json")
    assert r.json()["id"] == rot.pk
    r = curator_api.post("/api/v1/review/next/", {"verdict": "sideways"}, format="json")
    assert r.status_code == 400 and "verdict" in r.json()["errors"]
    r = curator_api.post("/api/v1/review/next/", {"source": 999999}, format="json")
    assert r.status_code == 400 and "source" in r.json()["errors"]


# ---------------------------------------------------------------------------------------------
# Decisions


def test_decide_list_and_undo(curator_api, sources):
    item = make_item(sources, "A.jpg")
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete", "note": "same"},
                         format="json")
    assert r.status_code == 201, r.content
    decision = r.json()
    assert decision["action"] == "approve_delete" and decision["actor"] == "curator1"
    item.refresh_from_db()
    assert item.status == "decided"
    assert [d["id"] for d in curator_api.get("/api/v1/decisions/?mine=true").json()["results"]] == [decision["id"]]
    # deciding a decided file again is a conflict with a readable reason
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "not_duplicate"}, format="json")
    assert r.status_code == 409 and r.json()["detail"]
    # another curator may not undo it
    other = api_client_for(UserFactory(username="curator2", role="curator"))
    r = other.post(f"/api/v1/decisions/{decision['id']}/undo/")
    assert r.status_code == 409 and "own" in r.json()["detail"]
    r = curator_api.post(f"/api/v1/decisions/{decision['id']}/undo/")
    assert r.status_code == 201 and r.json()["action"] == "undo" and r.json()["undoes"] == decision["id"]
    item.refresh_from_db()
    assert item.status == "open"


def test_log_error_needs_a_category_and_writes_the_error_log(curator_api, sources):
    item = make_item(sources, "A.jpg")
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "log_error"}, format="json")
    assert r.status_code == 400 and "error_category" in r.json()["errors"]
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "log_error",
                                                "error_category": "wrong_id", "note": "ID typo"}, format="json")
    assert r.status_code == 201
    entries = curator_api.get("/api/v1/error-log/").json()["results"]
    assert [(e["category"], e["note"], e["decision"]) for e in entries] == [("wrong_id", "ID typo", r.json()["id"])]


def test_decision_input_errors(curator_api, sources):
    item = make_item(sources, "A.jpg")
    foreign = make_item(sources, "B.jpg").best_candidate
    cases = [
        ({"item": 999999, "action": "skip"}, "item"),
        ({"item": item.pk, "action": "undo"}, "action"),
        ({"item": item.pk, "action": "approve_delete", "candidate": foreign.pk}, "candidate"),
        ({"action": "skip"}, "item"),
    ]
    for body, field in cases:
        r = curator_api.post("/api/v1/decisions/", body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert field in r.json()["errors"], (body, r.json())
    assert m.Decision.objects.count() == 0


def test_retry_with_idempotency_key_returns_first_decision(curator_api, sources):
    item = make_item(sources, "A.jpg")
    body = {"item": item.pk, "action": "approve_delete"}
    first = curator_api.post("/api/v1/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    again = curator_api.post("/api/v1/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert m.Decision.objects.count() == 1
    # the same key for a different request is refused, and changes nothing
    r = curator_api.post("/api/v1/decisions/", {**body, "action": "not_duplicate"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="k-123")
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert m.Decision.objects.count() == 1
    # keys belong to their user: another curator's "k-123" is a fresh request
    other = api_client_for(UserFactory(username="curator2", role="curator"))
    item2 = make_item(sources, "B.jpg")
    r = other.post("/api/v1/decisions/", {"item": item2.pk, "action": "skip"}, format="json",
                   HTTP_IDEMPOTENCY_KEY="k-123")
    assert r.status_code == 201 and m.Decision.objects.count() == 2


def test_undo_retry_undoes_once(curator_api, sources):
    item = make_item(sources, "A.jpg")
    d = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "not_duplicate"}, format="json").json()
    r1 = curator_api.post(f"/api/v1/decisions/{d['id']}/undo/", HTTP_IDEMPOTENCY_KEY="undo-1")
    r2 = curator_api.post(f"/api/v1/decisions/{d['id']}/undo/", HTTP_IDEMPOTENCY_KEY="undo-1")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert m.Decision.objects.filter(action="undo").count() == 1
    # without the key, a second undo is a conflict, not a second undo row
    assert curator_api.post(f"/api/v1/decisions/{d['id']}/undo/").status_code == 409


def test_failed_request_is_not_replayed(curator_api, sources):
    """An error changed nothing, so the same key may be retried once the problem is fixed."""
    item = make_item(sources, "A.jpg")
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "log_error"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="k-9")
    assert r.status_code == 400
    assert not m.IdempotencyRecord.objects.exists()


def test_bad_idempotency_key_is_400(curator_api, sources):
    item = make_item(sources, "A.jpg")
    r = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "skip"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["errors"]
    assert m.Decision.objects.count() == 0


def test_session_user_in_the_browser_can_decide_with_csrf(curator, sources):
    item = make_item(sources, "A.jpg")
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(curator)
    csrf = api.get("/accounts/login/").cookies["csrftoken"].value
    r = api.post("/api/v1/decisions/", {"item": item.pk, "action": "skip"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_decide_once(sources):
    """Two copies of one request racing (a client retrying before the first answer came back):
    the unique (user, key) row serialises them; both get the same answer, one Decision exists."""
    import threading

    from django.db import connection

    require_postgresql(connection, "row locks")
    curator = UserFactory(username="racer", role="curator")
    item = make_item(sources, "A.jpg")
    barrier, results = threading.Barrier(4), []

    def post():
        from django.db import connections

        api = api_client_for(curator)
        barrier.wait()
        r = api.post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="race-1")
        results.append((r.status_code, r.json()))
        connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [201] * 4, results
    assert len({body["id"] for _, body in results}) == 1
    assert m.Decision.objects.filter(review_item=item).count() == 1


def test_choose_another_candidate(curator_api, sources):
    item = make_item(sources, "A.jpg")
    second = CandidateFactory(cleanup_asset=item.asset, verdict="rotated", diff_score=0.03, rank=1)
    curator_api.post("/api/v1/review/next/", {}, format="json")
    r = curator_api.post(f"/api/v1/review/{item.pk}/choose-candidate/", {"candidate": second.pk}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["best_candidate"] == second.pk and r.json()["verdict"] == "rotated"
    foreign = make_item(sources, "B.jpg").best_candidate
    r = curator_api.post(f"/api/v1/review/{item.pk}/choose-candidate/", {"candidate": foreign.pk}, format="json")
    assert r.status_code == 409 and "another file" in r.json()["detail"]


def test_bulk_sample_then_approve(admin_api, curator_api, sources):
    close = [make_item(sources, f"S{i}.jpg", verdict="identical", diff_score=0.001, local_score=0.01) for i in range(3)]
    make_item(sources, "far.jpg", verdict="duplicate", diff_score=0.2, local_score=0.3)
    params = {"max_diff": 0.01, "max_local": 0.05, "n": 2, "seed": "abc"}
    assert curator_api.get("/api/v1/review/bulk-sample/", params).status_code == 403
    r = admin_api.get("/api/v1/review/bulk-sample/", params)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["total"] == 3 and body["seed"] == "abc" and len(body["sample"]) == 2
    # the seed repeats the sample and the sealed batch; the seal's signature carries the second it was
    # made in, so a second request a second later signs the same ids differently
    again = admin_api.get("/api/v1/review/bulk-sample/", params).json()
    assert again["batch"].split(":")[0] == body["batch"].split(":")[0]
    assert {k: v for k, v in again.items() if k != "batch"} == {k: v for k, v in body.items() if k != "batch"}
    assert admin_api.get("/api/v1/review/bulk-sample/", {"max_diff": 2, "max_local": 0.1}).status_code == 400

    approve = {"max_diff": 0.01, "max_local": 0.05, "sample_seed": "abc", "batch": body["batch"]}
    r = admin_api.post("/api/v1/review/bulk-approve/", approve, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert r.status_code == 201, r.content
    assert sorted(d["review_item"] for d in r.json()["approved"]) == [i.pk for i in close]
    assert all(d["bulk"] and d["action"] == "approve_delete" for d in r.json()["approved"])
    again = admin_api.post("/api/v1/review/bulk-approve/", approve, format="json", HTTP_IDEMPOTENCY_KEY="bulk-1")
    assert again.json() == r.json()
    assert m.Decision.objects.filter(bulk=True).count() == 3
    r = admin_api.post("/api/v1/review/bulk-approve/", {"max_diff": 0.01, "max_local": 0.05}, format="json")
    assert r.status_code == 400 and {"sample_seed", "batch"} <= set(r.json()["errors"])


@pytest.fixture
def bulk_batch_of_30():
    job = m.Job.objects.create(kind=m.Job.Kind.PAIR)
    for _ in range(30):
        it = ReviewItemFactory(best_candidate=CandidateFactory(verdict="identical", diff_score=0.0, local_score=0.0, job=job))
        m.ReviewItem.objects.filter(pk=it.pk).update(job=job)
    return job


def test_the_api_approves_only_the_batch_that_was_sampled(admin_api, bulk_batch_of_30, admin_user):
    """Files that join the batch after the sample stop the approval (409, nothing approved); a
    forged, missing or another admin's batch token is refused; files that left it meanwhile (decided,
    gone from their source) are reported among the refused, with why, so the counts add up."""
    job = bulk_batch_of_30
    params = {"job": job.pk, "max_diff": 0.01, "max_local": 0.05}
    sample = admin_api.get("/api/v1/review/bulk-sample/", params).json()
    assert sample["total"] == 30
    late = ReviewItemFactory(best_candidate=CandidateFactory(verdict="identical", diff_score=0.0, local_score=0.0, job=job))
    m.ReviewItem.objects.filter(pk=late.pk).update(job=job)
    body = {**params, "sample_seed": sample["seed"], "batch": sample["batch"]}
    r = admin_api.post("/api/v1/review/bulk-approve/", body, format="json")
    assert r.status_code == 409, r.content
    assert "1 of its 31 files were not in the batch you looked at" in str(r.json()) and not m.Decision.objects.exists()
    other_admin = UserFactory(username="admin2")
    other_admin.groups.set(admin_user.groups.all())
    other_sample = api_client_for(other_admin).get("/api/v1/review/bulk-sample/", params).json()
    for token in (sample["batch"] + "x", other_sample["batch"]):
        r = admin_api.post("/api/v1/review/bulk-approve/", {**body, "batch": token}, format="json")
        assert r.status_code == 400 and "batch" in r.json()["errors"] and not m.Decision.objects.exists()
    m.ReviewItem.objects.filter(pk=late.pk).update(status=m.ReviewItem.Status.DECIDED)  # it leaves the batch again
    first = m.ReviewItem.objects.filter(job=job).order_by("pk").first()
    m.ReviewItem.objects.filter(pk=first.pk).update(status=m.ReviewItem.Status.DECIDED)  # decided meanwhile
    second = m.ReviewItem.objects.filter(job=job).order_by("pk")[1]
    m.Asset.objects.filter(pk=second.asset_id).update(state=m.Asset.State.VANISHED)  # gone from its source
    r = admin_api.post("/api/v1/review/bulk-approve/", body, format="json")
    assert r.status_code == 201 and len(r.json()["approved"]) == 28
    assert r.json()["refused"] == [
        {"item": first.pk, "reason": "this file is already decided"},
        {"item": second.pk, "reason": "this file is no longer in its source: there is nothing to decide (it comes back "
                                      "to the queue when an inventory lists it again)"}]
    # one sealed batch approves once: a file that comes back to review (an undo here; a restore
    # from quarantine does the same) is not approved again by sending the token again
    from reviewapp.services.review import decision_undo

    back = m.Decision.objects.filter(bulk=True).order_by("pk").last()
    decision_undo(actor=admin_user, decision=back)
    assert m.ReviewItem.objects.get(pk=back.review_item_id).status == m.ReviewItem.Status.OPEN
    again = admin_api.post("/api/v1/review/bulk-approve/", body, format="json")
    assert again.status_code == 201 and len(again.json()["approved"]) == 28
    assert m.Decision.objects.filter(bulk=True).count() == 28
    assert m.ReviewItem.objects.get(pk=back.review_item_id).status == m.ReviewItem.Status.OPEN

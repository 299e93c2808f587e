"""Review services: leases, queues, decisions, invariant-3 refusals, undo, bulk approval."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reviewapp.models import Candidate, Decision, ErrorLogEntry, ReingestItem, ReviewItem, Source
from reviewapp.selectors.review import decision_last_undoable, queue_counts
from reviewapp.services import review as review_services
from reviewapp.services.review import (
    ReviewRefused, bulk_approve, decision_record, decision_undo, review_choose_candidate, review_lease_next,
    review_lease_take, review_release,
)
from tests.conftest import require_postgresql
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory, checked_plan

pytestmark = pytest.mark.django_db


def make_item(**cand):
    c = CandidateFactory(**cand)
    return ReviewItemFactory(best_candidate=c)


@pytest.fixture
def curator2(db):
    return UserFactory(role="curator", username="curator2")


# ---------------------------------------------------------------- leases


def test_next_leases_distinct_files_and_returns_own_lease_first(curator, curator2):
    a, b = make_item(), make_item()
    got1 = review_lease_next(actor=curator)
    assert got1.pk == a.pk and got1.status == ReviewItem.Status.LEASED and got1.leased_by == curator
    assert got1.lease_expires_at > timezone.now()
    got2 = review_lease_next(actor=curator2)
    assert got2.pk == b.pk
    # a reload gives the curator the same file, not a third one
    assert review_lease_next(actor=curator).pk == a.pk
    assert review_lease_next(actor=UserFactory(role="curator")) is None


def test_a_file_gone_from_its_source_is_not_served_or_counted_until_it_is_listed_again(curator):
    from reviewapp.models import Asset

    gone, there = make_item(), make_item()
    Asset.objects.filter(pk=gone.asset_id).update(state=Asset.State.VANISHED)
    assert queue_counts()["total"] == 1
    assert review_lease_next(actor=curator).pk == there.pk
    review_release(actor=curator, item=ReviewItem.objects.get(pk=there.pk))
    # a lease the curator held on it before it went does not bring it back either
    ReviewItem.objects.filter(pk=gone.pk).update(status=ReviewItem.Status.LEASED, leased_by=curator,
                                                 lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert review_lease_next(actor=curator).pk == there.pk
    # nor decided: a reingest of it would chase a file that is not there
    for action in ("reingest", "not_duplicate", "approve_delete"):
        with pytest.raises(ReviewRefused, match="no longer in its source: there is nothing to decide"):
            decision_record(actor=curator, item=ReviewItem.objects.get(pk=gone.pk), action=action)
    assert not ReingestItem.objects.exists()
    Asset.objects.filter(pk=gone.asset_id).update(state=Asset.State.FINGERPRINTED)
    review_release(actor=curator, item=ReviewItem.objects.get(pk=there.pk))
    assert queue_counts()["total"] == 2
    assert review_lease_next(actor=curator).pk == gone.pk   # first in queue order again


def test_conditional_update_lets_only_one_curator_win(curator, curator2):
    item = make_item()
    assert review_lease_take(actor=curator, item_id=item.pk) is True
    assert review_lease_take(actor=curator2, item_id=item.pk) is False
    item.refresh_from_db()
    assert item.leased_by == curator


def test_taking_a_file_explicitly_gives_back_the_one_the_curator_held(curator):
    a, b = make_item(), make_item()
    assert review_lease_next(actor=curator).pk == a.pk
    assert review_lease_take(actor=curator, item_id=b.pk) is True
    held = list(ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, leased_by=curator).values_list("pk", flat=True))
    assert held == [b.pk]
    a.refresh_from_db()
    assert a.status == ReviewItem.Status.OPEN and a.leased_by is None


def test_abandoned_lease_expires_and_the_file_returns(curator, curator2):
    item = make_item()
    review_lease_next(actor=curator)
    assert review_lease_next(actor=curator2) is None
    ReviewItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    got = review_lease_next(actor=curator2)
    assert got.pk == item.pk and got.leased_by == curator2


def test_release_returns_file(curator, curator2):
    item = make_item()
    review_lease_next(actor=curator)
    with pytest.raises(ReviewRefused, match="another curator holds"):
        review_release(actor=curator2, item=item)  # not theirs: refused, and no effect
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.LEASED
    review_release(actor=curator, item=item)
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OPEN and item.leased_by is None
    with pytest.raises(ReviewRefused, match="no lease"):
        review_release(actor=curator, item=item)


def test_release_frees_only_that_file_and_says_why_it_cannot(curator, curator2):
    a, b = make_item(), make_item()
    # (a curator holds one lease at a time, so the other file is another curator's)
    assert review_lease_take(actor=curator, item_id=a.pk) and review_lease_take(actor=curator2, item_id=b.pk)
    review_release(actor=curator, item=a)
    a.refresh_from_db()
    assert (a.status, a.leased_by, a.lease_expires_at) == (ReviewItem.Status.OPEN, None, None)
    b.refresh_from_db()
    assert (b.status, b.leased_by) == (ReviewItem.Status.LEASED, curator2)
    with pytest.raises(ReviewRefused) as refused:
        review_release(actor=curator, item=b)
    assert refused.value.messages == ["another curator holds this file; only they can release it"]
    with pytest.raises(ReviewRefused) as refused:
        review_release(actor=curator, item=a)
    assert refused.value.messages == ["you hold no lease on this file"]
    decision_record(actor=curator2, item=b, action="not_duplicate")
    with pytest.raises(ReviewRefused) as refused:
        review_release(actor=curator2, item=b)
    assert refused.value.messages == ["this file is already decided"]


def test_a_lease_is_judged_at_the_moment_given(curator, curator2):
    item = make_item()
    now = timezone.now()
    assert review_lease_take(actor=curator, item_id=item.pk, now=now)
    expires = ReviewItem.objects.get(pk=item.pk).lease_expires_at
    assert review_lease_take(actor=curator2, item_id=item.pk, now=expires - timedelta(seconds=1)) is False
    assert review_lease_take(actor=curator2, item_id=item.pk, now=expires + timedelta(seconds=1)) is True
    assert ReviewItem.objects.get(pk=item.pk).leased_by == curator2


def test_skip_moves_file_to_back_of_that_curators_queue_only(curator, curator2):
    a, b = make_item(), make_item()
    assert review_lease_next(actor=curator).pk == a.pk
    d = decision_record(actor=curator, item=a, action="skip")
    assert d.action == "skip"
    a.refresh_from_db()
    assert a.status == ReviewItem.Status.OPEN and curator.pk in a.skipped_by
    assert review_lease_next(actor=curator).pk == b.pk  # a went to the back for curator
    assert review_lease_next(actor=curator2).pk == a.pk  # but not for curator2
    # once b is decided, the skipped file comes back to curator
    decision_record(actor=curator, item=b, action="not_duplicate")
    decision_record(actor=curator2, item=a, action="skip")
    assert review_lease_next(actor=curator).pk == a.pk


def test_switching_queue_releases_the_old_lease(curator, curator2):
    a = make_item(verdict="identical")
    b = make_item(verdict="rotated")
    assert review_lease_next(actor=curator, queue={"verdict": "identical"}).pk == a.pk
    assert review_lease_next(actor=curator, queue={"verdict": "rotated"}).pk == b.pk
    assert review_lease_next(actor=curator2, queue={"verdict": "identical"}).pk == a.pk


def test_asking_an_empty_queue_for_the_next_file_keeps_the_file_you_hold(curator):
    """The old lease goes only when a file of the new queue is leased in its place."""
    held = make_item(verdict="identical")
    assert review_lease_next(actor=curator, queue={"verdict": "identical"}).pk == held.pk
    assert review_lease_next(actor=curator, queue={"verdict": "rotated"}) is None
    held.refresh_from_db()
    assert held.status == "leased" and held.leased_by == curator


def test_a_note_longer_than_a_note_holds_is_refused_not_cut(curator):
    item = make_item()
    with pytest.raises(ReviewRefused, match="4,001 characters long; a note holds at most 4,000"):
        decision_record(actor=curator, item=item, action="log_error", error_category="other", note="n" * 4001)
    assert not Decision.objects.exists()
    d = decision_record(actor=curator, item=item, action="log_error", error_category="other", note="n" * 4000)
    assert len(d.note) == 4000


def test_only_curators_get_files(db):
    make_item()
    with pytest.raises(ReviewRefused):
        review_lease_next(actor=UserFactory(username="nobody"))


# ---------------------------------------------------------------- queues


def test_queues_filter_by_verdict_source_band_job_and_namelist(curator):
    from reviewapp.models import Job, NameList, NameListEntry

    src = SourceFactory()
    job = Job.objects.create(kind=Job.Kind.PAIR)
    ident = make_item(verdict="identical", diff_score=0.001, cleanup_asset=AssetFactory(source=src))
    rot = make_item(verdict="rotated", diff_score=0.03, job=job)
    rot.job = job
    rot.save()
    unread = ReviewItem.objects.create(asset=AssetFactory(decode_status="unreadable"), verdict="unreadable")
    nomatch = ReviewItem.objects.create(asset=AssetFactory(), verdict="no_match")
    nl = NameList.objects.create(source=src, title="box 1")
    entry = NameListEntry.objects.create(namelist=nl, line=1, raw="x", normalised="x")
    entry.assets.add(ident.asset)
    entry2 = NameListEntry.objects.create(namelist=nl, line=2, raw="x", normalised="x")
    entry2.assets.add(ident.asset)  # listed twice: still one file

    assert review_lease_next(actor=curator, queue={"verdict": "unreadable"}).pk == unread.pk
    assert review_lease_next(actor=curator, queue={"verdict": "no_match"}).pk == nomatch.pk
    assert review_lease_next(actor=curator, queue={"source": str(src.pk)}).pk == ident.pk
    assert review_lease_next(actor=curator, queue={"job": job.pk}).pk == rot.pk
    assert review_lease_next(actor=curator, queue={"band": "0.02-0.05"}).pk == rot.pk
    assert review_lease_next(actor=curator, queue={"namelist": nl.pk}).pk == ident.pk
    assert review_lease_next(actor=curator, queue={"verdict": "different"}) is None
    # an empty queue leaves the curator holding the last file; given back, everything is open again
    review_release(actor=curator, item=ReviewItem.objects.get(leased_by=curator))

    counts = queue_counts()
    by_verdict = {v: n for v, _l, n in counts["verdicts"]}
    assert by_verdict["identical"] == 1 and by_verdict["rotated"] == 1
    assert by_verdict["unreadable"] == 1 and by_verdict["no_match"] == 1 and by_verdict["different"] == 0
    bands = {k: n for k, _l, n in counts["bands"]}
    assert bands["0.02-0.05"] == 1 and bands["none"] == 2
    assert counts["total"] == 4
    assert counts["namelists"] == [(nl.pk, "box 1", 1)]  # listed twice, counted once
    assert queue_counts(queue={"verdict": "rotated"})["total"] == 1
    review_lease_next(actor=curator, queue={"verdict": "rotated"})
    assert queue_counts(queue={"verdict": "rotated"})["total"] == 0  # leased files are not open


def test_bad_queue_values_are_ignored(curator):
    item = make_item()
    assert review_lease_next(actor=curator, queue={"verdict": "nonsense", "source": "x'; drop", "band": "?"}).pk == item.pk


# ---------------------------------------------------------------- decisions


def test_approve_settles_file_and_snapshots_what_it_was_based_on(curator):
    item = make_item(diff_score=0.004, local_score=0.01, rotation=90, flipped=True)
    other = CandidateFactory(cleanup_asset=item.asset, rank=1)
    review_lease_next(actor=curator)
    d = decision_record(actor=curator, item=item, action="approve_delete", note="same picture")
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED and item.last_decision == d and item.leased_by is None
    assert Candidate.objects.get(pk=item.best_candidate_id).status == Candidate.Status.CHOSEN
    assert Candidate.objects.get(pk=other.pk).status == Candidate.Status.CLOSED
    snap = d.snapshot
    assert snap["candidate"]["diff_score"] == 0.004 and snap["candidate"]["rotation"] == 90
    assert snap["candidate"]["engine_version"] == "test-engine"
    assert snap["asset"]["etag"] == item.asset.etag and snap["match"]["etag"] == item.best_candidate.match_asset.etag
    with pytest.raises(ReviewRefused, match="already decided"):
        decision_record(actor=curator, item=item, action="not_duplicate")
    assert Decision.objects.filter(review_item=item).count() == 1


def test_a_lease_cannot_be_stolen_by_another_curator(curator, curator2):
    """Lease theft, at the service layer alone (no view in front of it): taking, deciding on,
    re-pointing or releasing a file another curator holds changes no row."""
    item = make_item()
    other = CandidateFactory(cleanup_asset=item.asset, rank=1)
    assert review_lease_next(actor=curator2).pk == item.pk
    held = ReviewItem.objects.get(pk=item.pk)
    assert held.leased_by == curator2

    def unchanged():
        now = ReviewItem.objects.get(pk=item.pk)
        assert (now.status, now.leased_by_id, now.lease_expires_at, now.best_candidate_id, now.last_decision_id) == (
            ReviewItem.Status.LEASED, curator2.pk, held.lease_expires_at, held.best_candidate_id, None)
        assert not Decision.objects.exists()

    assert review_lease_take(actor=curator, item_id=item.pk) is False
    assert review_lease_next(actor=curator) is None
    unchanged()
    for action in ("approve_delete", "not_duplicate", "skip"):
        with pytest.raises(ReviewRefused, match="another curator"):
            decision_record(actor=curator, item=item, action=action)
    unchanged()
    with pytest.raises(ReviewRefused, match="another curator"):
        review_choose_candidate(actor=curator, item=item, candidate=other)
    with pytest.raises(ReviewRefused, match="only they can release it"):
        review_release(actor=curator, item=item)
    unchanged()
    # once the lease has run out the file is free again: the rule is the lease, not the name
    ReviewItem.objects.filter(pk=item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert review_lease_take(actor=curator, item_id=item.pk) is True
    assert ReviewItem.objects.get(pk=item.pk).leased_by == curator


@pytest.mark.parametrize("setup, reason", [
    (lambda i: ReviewItem.objects.filter(pk=i.pk).update(best_candidate=None), "no match"),
    (lambda i: Source.objects.filter(pk=i.best_candidate.match_asset.source_id).update(role="cleanup"), "not a canonical source"),
    (lambda i: Candidate.objects.filter(pk=i.best_candidate_id).update(verdict="match_corrupt", corrupt_side="match"), "kept copy is damaged"),
    (lambda i: type(i.asset).objects.filter(pk=i.best_candidate.match_asset_id).update(decode_status="damaged"), "kept copy is damaged"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(width=4000, height=3000), "more pixels"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(pages=3), "more pages"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(pictures=2), "only its first picture is compared"),
    (lambda i: (type(i.asset).objects.filter(pk=i.asset_id).update(icc="ROMM RGB [0123456789ab]"),
                type(i.asset).objects.filter(pk=i.best_candidate.match_asset_id).update(icc="")), "colour profile"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(bit_depth=16), "higher bit depth"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(format="DNG"), "camera RAW"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(format="PDF"), "PDF document"),
    (lambda i: Source.objects.filter(pk=i.asset.source_id).update(role="canonical"), "canonical source"),
    (lambda i: type(i.asset).objects.filter(pk=i.best_candidate.match_asset_id).update(state="vanished"),
     "kept copy is no longer in its source"),
    (lambda i: type(i.asset).objects.filter(pk=i.best_candidate.match_asset_id).update(etag="new-etag"),
     "kept copy changed since the pair was compared"),
    (lambda i: type(i.asset).objects.filter(pk=i.asset_id).update(etag="new-etag"), "this file changed since the pair"),
    (lambda i: Candidate.objects.filter(pk=i.best_candidate_id).update(verdict="different"), "different picture"),
])
def test_approve_delete_is_refused_when_the_kept_copy_is_not_enough(curator, setup, reason):
    """Review's approval rule is the first layer: nothing runs before it, so each refusal here is
    that layer on its own (issue #19: kept copy missing, changed, damaged or smaller at approval)."""
    item = make_item()
    setup(item)
    item = ReviewItem.objects.get(pk=item.pk)
    with pytest.raises(ReviewRefused, match=reason):
        decision_record(actor=curator, item=item, action="approve_delete")
    item.refresh_from_db()
    assert item.status != ReviewItem.Status.DECIDED
    assert not Decision.objects.exists()
    # the other actions stay open to the curator
    decision_record(actor=curator, item=item, action="reingest", note="keep it")
    assert ReingestItem.objects.filter(asset=item.asset).count() == 1


def test_cleanup_corrupt_may_be_approved(curator):
    item = make_item(verdict="cleanup_corrupt", corrupt_side="cleanup", safe_to_delete=True)
    d = decision_record(actor=curator, item=item, action="approve_delete")
    assert d.action == "approve_delete"


def test_log_error_needs_a_category_and_writes_the_error_log(curator):
    item = make_item(verdict="match_corrupt", corrupt_side="match")
    with pytest.raises(ReviewRefused, match="category"):
        decision_record(actor=curator, item=item, action="log_error", error_category="bogus")
    d = decision_record(actor=curator, item=item, action="log_error", error_category="canonical_corrupt", note="banding")
    e = ErrorLogEntry.objects.get(decision=d)
    assert e.category == "canonical_corrupt" and e.note == "banding" and e.match_asset == item.best_candidate.match_asset


def test_idempotency_key_records_once(curator, curator2):
    item = make_item()
    d1 = decision_record(actor=curator, item=item, action="approve_delete", idempotency_key="k1")
    d2 = decision_record(actor=curator, item=item, action="approve_delete", idempotency_key="k1")
    assert d1.pk == d2.pk and Decision.objects.count() == 1
    with pytest.raises(ReviewRefused, match="idempotency"):
        decision_record(actor=curator2, item=item, action="approve_delete", idempotency_key="k1")


def test_choose_another_candidate_as_the_match(curator):
    item = make_item(verdict="different", diff_score=0.4)
    better = CandidateFactory(cleanup_asset=item.asset, verdict="identical", diff_score=0.0, rank=1)
    foreign = CandidateFactory()
    with pytest.raises(ReviewRefused):
        review_choose_candidate(actor=curator, item=item, candidate=foreign)
    review_choose_candidate(actor=curator, item=item, candidate=better)
    item.refresh_from_db()
    assert item.best_candidate == better and item.verdict == "identical" and item.diff_score == 0.0
    d = decision_record(actor=curator, item=item, action="approve_delete")
    assert d.candidate == better and d.snapshot["candidate"]["id"] == better.pk


# ---------------------------------------------------------------- undo


def test_undo_own_last_decision_returns_file_and_withdraws_error_log(curator, curator2):
    item = make_item()
    d = decision_record(actor=curator, item=item, action="log_error", error_category="wrong_id")
    with pytest.raises(ReviewRefused, match="own"):
        decision_undo(actor=curator2, decision=d)
    u = decision_undo(actor=curator, decision=d)
    assert u.action == "undo" and u.undoes == d
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.OPEN and item.last_decision is None
    assert ErrorLogEntry.objects.get(decision=d).withdrawn is True
    assert set(Candidate.objects.filter(cleanup_asset=item.asset).values_list("status", flat=True)) == {"open"}
    with pytest.raises(ReviewRefused, match="already undone"):
        decision_undo(actor=curator, decision=d)
    assert Decision.objects.count() == 2  # append-only: nothing was edited away


def test_undo_of_another_curators_approval_is_refused_by_the_own_decision_rule_alone(curator, curator2, admin_user,
                                                                                      layers):
    """The other undo rules are off (only the last decision, the confirmed-plan rule, "has run"):
    the own-decision rule alone keeps the approval, its plan item and the file's state."""
    from reviewapp.models import AuditEntry, DeletionItem
    from reviewapp.services.deletion import deletion_plan_create

    layers.off("undo_last_only", "undo_plan_rule", "undo_has_run")
    item = make_item()
    d = decision_record(actor=curator, item=item, action="approve_delete")
    deletion_plan_create(actor=admin_user, decisions=[d])
    with pytest.raises(ReviewRefused, match="only undo your own"):
        decision_undo(actor=curator2, decision=d)
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED and item.last_decision == d
    assert list(Decision.objects.values_list("action", flat=True)) == ["approve_delete"]
    assert DeletionItem.objects.get(decision=d).state == DeletionItem.State.PLANNED
    assert not AuditEntry.objects.filter(action="abort").exists()
    # the switches leave the own curator's undo working: the refusal above was the rule's
    decision_undo(actor=curator, decision=d)
    assert DeletionItem.objects.get(decision=d).state == DeletionItem.State.ABORTED


def test_undo_only_the_last_decision(curator):
    a, b = make_item(), make_item()
    d1 = decision_record(actor=curator, item=a, action="not_duplicate")
    d2 = decision_record(actor=curator, item=b, action="not_duplicate")
    assert decision_last_undoable(actor=curator) == d2
    with pytest.raises(ReviewRefused, match="no longer your last one; nothing was undone"):
        decision_undo(actor=curator, decision=d1)
    decision_undo(actor=curator, decision=d2)


def test_undo_withdraws_a_queued_reingest_but_not_once_it_ran(curator):
    item = make_item()
    d = decision_record(actor=curator, item=item, action="reingest", note="only good copy")
    r = ReingestItem.objects.get(decision=d)
    assert r.state == "queued"
    decision_undo(actor=curator, decision=d)
    r.refresh_from_db()
    assert r.state == "withdrawn"

    d2 = decision_record(actor=curator, item=ReviewItem.objects.get(pk=item.pk), action="reingest")
    ReingestItem.objects.filter(decision=d2).update(state="copied")
    with pytest.raises(ReviewRefused, match="too late"):
        decision_undo(actor=curator, decision=d2)
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.DECIDED


# ---------------------------------------------------------------- bulk


def test_bulk_approve_is_admin_only_checks_each_file_and_is_idempotent(curator, admin_user):
    good = [make_item(verdict="identical", diff_score=0.0) for _ in range(3)]
    bad = make_item(verdict="duplicate")
    Source.objects.filter(pk=bad.best_candidate.match_asset.source_id).update(role="cleanup")
    items = list(ReviewItem.objects.filter(pk__in=[g.pk for g in good] + [bad.pk]).order_by("id"))
    with pytest.raises(ReviewRefused, match="admin"):
        bulk_approve(actor=curator, items=items)
    res = bulk_approve(actor=admin_user, items=items, idempotency_key="batch-1")
    assert len(res["approved"]) == 3 and len(res["refused"]) == 1
    assert all(d.bulk and d.action == "approve_delete" for d in res["approved"])
    assert "canonical" in res["refused"][0][1]
    again = bulk_approve(actor=admin_user, items=items[:3], idempotency_key="batch-1")
    assert {d.pk for d in again["approved"]} == {d.pk for d in res["approved"]}
    assert Decision.objects.filter(bulk=True).count() == 3


def test_bulk_approve_lists_files_another_curator_holds_among_its_refusals(curator, admin_user):
    files = [make_item(verdict="identical", diff_score=0.0, local_score=0.0, safe_to_delete=True) for _ in range(3)]
    held = review_lease_next(actor=curator)
    assert held.pk == files[0].pk
    res = bulk_approve(actor=admin_user, max_diff=0.01, max_local=0.05)
    assert {d.review_item_id for d in res["approved"]} == {files[1].pk, files[2].pk}
    assert [(item.pk, reason.split(" ")[0]) for item, reason in res["refused"]] == [(held.pk, curator.username)]
    assert "reviewing this file right now" in res["refused"][0][1]
    held.refresh_from_db()
    assert held.status == ReviewItem.Status.LEASED and held.leased_by == curator
    assert not Decision.objects.filter(review_item=held).exists()


def test_bulk_approve_of_given_items_names_the_curator_holding_one(curator, admin_user):
    files = [make_item(verdict="identical", diff_score=0.0) for _ in range(2)]
    review_lease_take(actor=curator, item_id=files[1].pk)
    items = list(ReviewItem.objects.filter(pk__in=[f.pk for f in files]).order_by("id"))
    res = bulk_approve(actor=admin_user, items=items)
    assert [d.review_item_id for d in res["approved"]] == [files[0].pk]
    assert [(i.pk, r.startswith(f"{curator.username} is reviewing")) for i, r in res["refused"]] == [(files[1].pk, True)]


# ---------------------------------------------------------------- concurrency (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_concurrent_curators_never_share_a_file():
    require_postgresql(connection, "real concurrent connections")
    items = [make_item() for _ in range(30)]
    users = [UserFactory(role="curator", username=f"c{i}") for i in range(8)]
    got, errors = {}, []
    barrier = threading.Barrier(len(users))

    def work(u):
        from django.db import connections

        try:
            barrier.wait()
            mine = []
            for _ in range(3):
                item = review_lease_next(actor=u)
                if item:
                    mine.append(item.pk)
                    decision_record(actor=u, item=item, action="not_duplicate")
            got[u.pk] = mine
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    served = [pk for mine in got.values() for pk in mine]
    assert len(served) == 24 and len(set(served)) == 24
    assert set(served) <= {i.pk for i in items}
    assert Decision.objects.count() == 24


@pytest.mark.django_db(transaction=True)
def test_two_parallel_next_requests_of_one_curator_end_with_one_lease(monkeypatch):
    """Both requests look for the curator's lease before either has taken a file; the later one
    then walks the queue after the first took the head. Without a per-curator lock that is two
    leases; with it the second waits and gets the first's file back."""
    require_postgresql(connection, "real concurrent connections")
    for _ in range(6):
        make_item()
    curator = UserFactory(role="curator", username="twotabs")
    real_walk = review_services.queue_walk
    both_looked = threading.Barrier(2, timeout=2)
    first = threading.Lock()

    def interleaved_walk(queue, now):
        try:
            both_looked.wait()
        except threading.BrokenBarrierError:
            pass  # the other request is waiting for the curator's lock: nothing to interleave
        if not first.acquire(blocking=False):
            time.sleep(0.5)  # the other request takes the head of the queue meanwhile
        yield from real_walk(queue, now)

    monkeypatch.setattr(review_services, "queue_walk", interleaved_walk)
    got, errors = [], []

    def work():
        from django.db import connections

        try:
            item = review_lease_next(actor=curator)
            got.append(item.pk if item else None)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    held = list(ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, leased_by=curator).values_list("pk", flat=True))
    assert len(held) == 1 and got == held * 2, (held, got)


def test_undo_takes_an_approval_out_of_a_draft_plan_and_is_refused_once_it_ran(curator, admin_user):
    from reviewapp.models import DeletionItem

    item = make_item()
    d = decision_record(actor=curator, item=item, action="approve_delete")
    plan = checked_plan(actor=admin_user, decisions=[d])
    planned = DeletionItem.objects.get(plan=plan, decision=d)
    decision_undo(actor=curator, decision=d)
    planned.refresh_from_db()
    assert planned.state == "aborted" and "undone" in planned.reason

    item.refresh_from_db()
    d2 = decision_record(actor=curator, item=item, action="approve_delete")
    plan2 = checked_plan(actor=admin_user, decisions=[d2])
    DeletionItem.objects.filter(plan=plan2).update(state="quarantined")
    with pytest.raises(ReviewRefused, match="too late"):
        decision_undo(actor=curator, decision=d2)


def test_undo_idempotency_key(curator):
    a, b = make_item(), make_item()
    d = decision_record(actor=curator, item=a, action="not_duplicate")
    u1 = decision_undo(actor=curator, decision=d, idempotency_key="u-1")
    assert decision_undo(actor=curator, decision=d, idempotency_key="u-1").pk == u1.pk
    d2 = decision_record(actor=curator, item=b, action="not_duplicate")
    with pytest.raises(ReviewRefused, match="idempotency"):
        decision_undo(actor=curator, decision=d2, idempotency_key="u-1")


# ---------------------------------------------------------------- exact refusals (mutation testing)
# The curator reads these words; mutants that change or drop them must fail a test.


def refused_with(message, call, **kwargs):
    with pytest.raises(ReviewRefused) as refused:
        call(**kwargs)
    assert refused.value.messages == [message]


def test_approve_refusal_says_exactly_why(curator):
    from reviewapp.models import Asset

    cases = [
        (lambda i: Source.objects.filter(pk=i.asset.source_id).update(role="canonical"),
         "this file is in a canonical source: Doppel never deletes there"),
        (lambda i: Asset.objects.filter(pk=i.asset_id).update(state="vanished"),
         "this file is no longer in its source: there is nothing to decide (it comes back to the queue when an "
         "inventory lists it again)"),
        (lambda i: ReviewItem.objects.filter(pk=i.pk).update(best_candidate=None),
         "this file has no match to keep: log an error or route it to reingest"),
        (lambda i: Asset.objects.filter(pk=i.best_candidate.match_asset_id).update(state="vanished"),
         "the kept copy is no longer in its source"),
        (lambda i: Asset.objects.filter(pk=i.best_candidate.match_asset_id).update(etag="new"),
         "the kept copy changed since the pair was compared: analyse it again before approving"),
        (lambda i: Asset.objects.filter(pk=i.asset_id).update(etag="new"),
         "this file changed since the pair was compared: analyse it again before approving"),
        # an engine verdict that blames the kept copy, even when the verdict itself is approvable
        (lambda i: Candidate.objects.filter(pk=i.best_candidate_id).update(corrupt_side="match"),
         "the kept copy is damaged: route this file to reingest instead"),
    ]
    for setup, message in cases:
        item = make_item()
        setup(item)
        item = ReviewItem.objects.select_related("asset__source", "best_candidate__match_asset__source").get(pk=item.pk)
        refused_with(message, decision_record, actor=curator, item=item, action="approve_delete")
    item = make_item()
    itself = Candidate(cleanup_asset=item.asset, match_asset=item.asset, verdict="identical")
    from reviewapp.services.review import approve_refusal

    assert approve_refusal(item, itself) == "the kept copy is the file itself"
    assert not Decision.objects.exists()


def test_undo_refusals_say_exactly_why(curator, curator2):
    a, b, c = make_item(), make_item(), make_item()
    d = decision_record(actor=curator, item=a, action="log_error", error_category="wrong_id")
    refused_with("you can only undo your own decisions", decision_undo, actor=curator2, decision=d)
    u = decision_undo(actor=curator, decision=d)
    assert (u.candidate, u.actor, u.snapshot) == (d.candidate, curator, {"undone_action": "log_error"})
    refused_with("this decision was already undone", decision_undo, actor=curator, decision=d)
    s = decision_record(actor=curator, item=b, action="skip")
    refused_with("only a decision that settled a file can be undone", decision_undo, actor=curator, decision=s)
    # the file was handed back to review (a returned deletion) while the decision stayed its last
    d3 = decision_record(actor=curator, item=c, action="not_duplicate")
    ReviewItem.objects.filter(pk=c.pk).update(status=ReviewItem.Status.OPEN)
    refused_with("this is no longer the file's current decision", decision_undo, actor=curator, decision=d3)
    e, f = make_item(), make_item()
    d4 = decision_record(actor=curator, item=e, action="not_duplicate")
    decision_record(actor=curator, item=f, action="not_duplicate")
    refused_with("that decision is no longer your last one; nothing was undone", decision_undo, actor=curator, decision=d4)
    g = make_item()
    d5 = decision_record(actor=curator, item=g, action="not_duplicate")
    decision_undo(actor=curator, decision=d5, idempotency_key="k-1")
    refused_with("this idempotency key was used for another decision", decision_undo, actor=curator,
                 decision=d4, idempotency_key="k-1")
    h = make_item()
    d6 = decision_record(actor=curator, item=h, action="reingest")
    ReingestItem.objects.filter(decision=d6).update(state="copied")
    refused_with("too late to undo: an action already ran on this decision", decision_undo, actor=curator, decision=d6)


def test_undo_withdrawing_a_reingest_records_who_did_it(curator):
    item = make_item()
    d = decision_record(actor=curator, item=item, action="reingest")
    decision_undo(actor=curator, decision=d)
    event = ReingestItem.objects.get(decision=d).events.get(to_state="withdrawn")
    assert event.actor == curator


def test_undo_of_an_approval_aborts_only_its_own_plan_item_with_an_audit_row(curator, curator2, admin_user):
    from reviewapp.models import AuditEntry, DeletionItem
    from reviewapp.services.deletion import deletion_plan_create

    mine, theirs = make_item(), make_item()
    d1 = decision_record(actor=curator, item=mine, action="approve_delete")
    d2 = decision_record(actor=curator2, item=theirs, action="approve_delete")
    deletion_plan_create(actor=admin_user, decisions=[d1, d2])
    decision_undo(actor=curator, decision=d1)
    aborted = DeletionItem.objects.get(decision=d1)
    assert (aborted.state, aborted.reason) == (DeletionItem.State.ABORTED, "the approving decision was undone")
    audit = AuditEntry.objects.get(item=aborted, action="abort")
    assert (audit.executed_by, audit.reason) == (curator, "the approving decision was undone")
    assert DeletionItem.objects.get(decision=d2).state == DeletionItem.State.PLANNED


def test_undo_is_refused_by_the_confirmed_plan_rule_alone(curator, admin_user, layers):
    """"Has run" and "only your last" are off; a confirmed plan whose item is still planned."""
    from reviewapp.models import DeletionItem, DeletionPlan
    from reviewapp.services.deletion import deletion_plan_create

    layers.off("undo_has_run", "undo_last_only")
    item = make_item()
    d = decision_record(actor=curator, item=item, action="approve_delete")
    plan = deletion_plan_create(actor=admin_user, decisions=[d])
    DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.CONFIRMED)
    refused_with(f"too late to undo: deletion plan #{plan.pk}, which holds this decision, was confirmed by an admin "
                 "(confirmed); ask an admin to restore the file after it runs", decision_undo, actor=curator, decision=d)
    assert list(Decision.objects.values_list("action", flat=True)) == ["approve_delete"]
    assert DeletionItem.objects.get(decision=d).state == DeletionItem.State.PLANNED
    assert ReviewItem.objects.get(pk=item.pk).status == ReviewItem.Status.DECIDED


def test_a_lease_still_holds_at_the_instant_it_expires(curator, curator2):
    """The check agrees with the lease take (`lease_expires_at < now` frees a file)."""
    from reviewapp.services.review import _check_can_act

    item = make_item()
    review_lease_take(actor=curator2, item_id=item.pk)
    item.refresh_from_db()
    at = item.lease_expires_at
    assert review_lease_take(actor=curator, item_id=item.pk, now=at) is False
    with pytest.raises(ReviewRefused) as refused:
        _check_can_act(curator, item, now=at)
    assert refused.value.messages == ["another curator is reviewing this file right now"]
    _check_can_act(curator, item, now=at + timedelta(microseconds=1))
    decision_record(actor=curator2, item=item, action="not_duplicate")
    item.refresh_from_db()
    with pytest.raises(ReviewRefused) as refused:
        _check_can_act(curator, item)
    assert refused.value.messages == ["this file is already decided"]


def test_an_id_a_request_names_is_ascii_digits_that_a_row_can_have():
    from reviewapp.selectors.review import ID_MAX, row_id

    assert row_id("42") == 42 and row_id(42) == 42 and row_id(str(ID_MAX)) == ID_MAX
    for junk in ("\u00b2", "\u0663", "-1", "1.5", " 7", "1_000", "", None, str(ID_MAX + 1), "9" * 30):
        assert row_id(junk) is None, junk

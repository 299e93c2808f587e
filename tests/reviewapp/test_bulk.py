"""Bulk approval: admins only, a batch within score limits, a sample first, one Decision per file."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from reviewapp.models import Decision, Job, ReviewItem, Source
from reviewapp.selectors.review import bulk_batch, bulk_batch_ids, bulk_sample
from reviewapp.services.review import review_lease_take
from tests.factories import CandidateFactory, ReviewItemFactory

pytestmark = pytest.mark.django_db


def item(**kw):
    return ReviewItemFactory(best_candidate=CandidateFactory(**kw))


@pytest.fixture
def batch():
    job = Job.objects.create(kind=Job.Kind.PAIR)
    inside = [item(verdict="identical", diff_score=0.0, local_score=0.0, job=job) for _ in range(25)]
    inside += [item(verdict="duplicate", diff_score=0.008, local_score=0.03, job=job) for _ in range(5)]
    outside = [
        item(verdict="duplicate", diff_score=0.02, local_score=0.01, job=job),  # over max diff
        item(verdict="duplicate", diff_score=0.001, local_score=0.2, job=job),  # over max local
        item(verdict="rotated", diff_score=0.0, local_score=0.0, job=job),  # not identical/duplicate
        item(verdict="identical", diff_score=0.0, local_score=0.0, safe_to_delete=False, job=job),
        item(verdict="identical", diff_score=0.0, local_score=0.0),  # another job
    ]
    for it in inside + outside:
        ReviewItem.objects.filter(pk=it.pk).update(job=it.best_candidate.job)
    return job, inside, outside


def test_batch_honours_score_limits_verdicts_safety_and_job(batch):
    job, inside, outside = batch
    qs = bulk_batch(job=job.pk, max_diff=0.01, max_local=0.05)
    assert set(qs.values_list("id", flat=True)) == {i.pk for i in inside}
    assert bulk_batch(job=job.pk, verdict="duplicate", max_diff=0.01, max_local=0.05).count() == 5
    s1 = bulk_sample(bulk_batch_ids(qs), n=20, seed="abc")
    assert len(s1) == 20 and [i.pk for i in s1] == [i.pk for i in bulk_sample(bulk_batch_ids(qs), n=20, seed="abc")]


def test_curator_cannot_reach_bulk(curator_client):
    assert curator_client.get(reverse("review-bulk")).status_code == 403
    assert curator_client.post(reverse("review-bulk"), {"max_diff": 1, "max_local": 1, "confirm": "yes", "seed": "x"}).status_code == 403
    assert not Decision.objects.exists()


def test_admin_sees_sample_then_confirms_one_decision_per_file(admin_client_doppel, batch, admin_user):
    job, inside, outside = batch
    r = admin_client_doppel.get(reverse("review-bulk"), {"job": job.pk, "max_diff": 0.01, "max_local": 0.05})
    html = r.content.decode()
    assert r.status_code == 200
    assert re.search(r'data-testid="bulk-total">30 files', html)
    assert html.count('data-testid="sample-item"') == 20
    seed = re.search(r'name="seed" value="([^"]+)"', html).group(1)
    assert not Decision.objects.exists()  # looking at the sample decides nothing

    # without ticking the confirmation nothing happens
    r = admin_client_doppel.post(reverse("review-bulk"), {"job": job.pk, "max_diff": 0.01, "max_local": 0.05, "seed": seed})
    assert not Decision.objects.exists()

    # one file in the batch became unsafe meanwhile: it is refused, the rest approved
    Source.objects.filter(pk=inside[0].best_candidate.match_asset.source_id).update(role="cleanup")
    batch_token = re.search(r'name="batch" value="([^"]+)"', html).group(1)
    form = {"job": job.pk, "max_diff": 0.01, "max_local": 0.05, "seed": seed, "confirm": "yes", "batch": batch_token,
            "idempotency_key": "bulk-1"}
    r = admin_client_doppel.post(reverse("review-bulk"), form)
    assert r.status_code == 200
    assert re.search(r'data-testid="bulk-approved"><strong>29</strong>', r.content.decode())
    # the outcome is in the status region (a screen reader hears it), and the title starts with it
    status = re.search(r'<div role="status" id="live-status"[^>]*>(.*?)</div>', r.content.decode(), re.S).group(1)
    assert "Bulk approval done: 29 approved" in status, status
    assert re.search(r"<title>Bulk approval done: 29 approved[^<]*– Bulk approval · Doppel</title>", r.content.decode())
    ds = Decision.objects.all()
    assert ds.count() == 29 and all(d.bulk and d.action == "approve_delete" and d.actor == admin_user for d in ds)
    assert {d.review_item_id for d in ds} == {i.pk for i in inside[1:]}
    for it in outside:
        it.refresh_from_db()
        assert it.status == "open"
    # a retried confirm approves nothing twice
    admin_client_doppel.post(reverse("review-bulk"), form)
    assert Decision.objects.count() == 29


def test_bad_limits_are_form_errors(admin_client_doppel):
    r = admin_client_doppel.get(reverse("review-bulk"), {"max_diff": "lots", "max_local": -1})
    assert r.status_code == 200 and b"bulk-total" not in r.content and b"error" in r.content


def test_bulk_approve_service_selects_by_filters(batch, admin_user):
    from reviewapp.services.review import ReviewRefused, bulk_approve

    job, inside, outside = batch
    with pytest.raises(ReviewRefused, match="score limits"):
        bulk_approve(actor=admin_user, job=job.pk)
    res = bulk_approve(actor=admin_user, job=job.pk, verdict="duplicate", max_diff=0.01, max_local=0.05)
    assert {d.review_item_id for d in res["approved"]} == {i.pk for i in inside[25:]}


def test_confirm_page_lists_the_files_another_curator_holds(admin_client_doppel, batch, curator):
    job, inside, outside = batch
    page = admin_client_doppel.get(reverse("review-bulk"), {"job": job.pk, "max_diff": 0.01, "max_local": 0.05})
    batch_token = re.search(r'name="batch" value="([^"]+)"', page.content.decode()).group(1)
    review_lease_take(actor=curator, item_id=inside[0].pk)  # taken after the sample: it drops out
    form = {"job": job.pk, "max_diff": 0.01, "max_local": 0.05, "seed": "abc", "confirm": "yes", "batch": batch_token}
    r = admin_client_doppel.post(reverse("review-bulk"), form)
    html = r.content.decode()
    assert re.search(r'data-testid="bulk-approved"><strong>29</strong>', html)
    assert "1 refused" in html and f"{curator.username} is reviewing this file right now" in html
    assert reverse("review-item", args=[inside[0].pk]) in html
    assert not Decision.objects.filter(review_item=inside[0]).exists()


def test_a_batch_that_grew_after_the_sample_approves_nothing_and_shows_the_new_sample(admin_client_doppel, batch):
    """The admin confirmed the batch the sample came from (30 files); two more files with the
    same scores arrive before the confirmation: nothing is approved, the page says why and shows
    the batch as it is now, to look at and confirm again."""
    job, inside, outside = batch
    page = admin_client_doppel.get(reverse("review-bulk"), {"job": job.pk, "max_diff": 0.01, "max_local": 0.05})
    sealed = re.search(r'name="batch" value="([^"]+)"', page.content.decode()).group(1)
    for _ in range(2):
        late = item(verdict="identical", diff_score=0.0, local_score=0.0, job=job)
        ReviewItem.objects.filter(pk=late.pk).update(job=job)
    form = {"job": job.pk, "max_diff": 0.01, "max_local": 0.05, "seed": "s1", "confirm": "yes", "batch": sealed,
            "idempotency_key": "bulk-grown"}
    r = admin_client_doppel.post(reverse("review-bulk"), form)
    html = r.content.decode()
    assert r.status_code == 200 and not Decision.objects.exists()
    assert "the batch changed since the sample: 2 of its 32 files were not in the batch you looked at" in html
    assert re.search(r'data-testid="bulk-total">32 files', html)
    resealed = re.search(r'name="batch" value="([^"]+)"', html).group(1)
    # a confirmation without the sealed batch, or with a forged one, is not taken either
    for token in ("", sealed[:-2] + "xx"):
        r = admin_client_doppel.post(reverse("review-bulk"), {**form, "batch": token})
        assert "look at the sample first" in r.content.decode() and not Decision.objects.exists()
    # confirming the batch as it is now approves it
    admin_client_doppel.post(reverse("review-bulk"), {**form, "batch": resealed, "idempotency_key": "bulk-now"})
    assert Decision.objects.filter(bulk=True).count() == 32


def test_a_file_a_plan_returned_to_review_is_left_out_of_bulk_batches(batch, admin_user, curator):
    """Its approval just failed the executor's re-check: a person decides it again, one file at a
    time with the reason in view; bulk approval would loop it through the next plan."""
    from reviewapp.models import DeletionItem, DeletionPlan
    from reviewapp.services.review import decision_record

    job, inside, outside = batch
    returned = inside[0]
    d = decision_record(actor=admin_user, item=returned, action="approve_delete", note="first approval")
    plan = DeletionPlan.objects.create(created_by=admin_user, state=DeletionPlan.State.DONE)
    DeletionItem.objects.create(plan=plan, decision=d, asset=returned.asset,
                                kept_asset=returned.best_candidate.match_asset, state=DeletionItem.State.ABORTED,
                                etag_at_decision="e", kept_etag_at_decision="k",
                                reason="same physical object as the kept copy")
    ReviewItem.objects.filter(pk=returned.pk).update(status=ReviewItem.Status.OPEN)  # what the abort does
    assert set(bulk_batch(job=job.pk, max_diff=0.01, max_local=0.05).values_list("id", flat=True)) == {
        i.pk for i in inside[1:]}


def test_a_bulk_batch_leaves_out_what_the_file_view_calls_outdated_or_gone(batch):
    """The batch and the file view read one rule: a best pair `candidate_outdated` names (the kept
    copy or the file changed since the pair was compared, or a later comparison left the pair
    out) is not offered, nor a file whose kept copy left its source (a takedown)."""
    from reviewapp.models import Asset
    from reviewapp.selectors.review import candidate_outdated

    job, inside, outside = batch
    kept_changed, file_changed, compared_again, kept_gone, current = inside[:5]
    Candidate = kept_changed.best_candidate.__class__
    Candidate.objects.filter(pk=kept_changed.best_candidate_id).update(match_etag="then")
    Asset.objects.filter(pk=kept_changed.best_candidate.match_asset_id).update(etag="now")
    Candidate.objects.filter(pk=file_changed.best_candidate_id).update(cleanup_etag="then")
    Asset.objects.filter(pk=file_changed.asset_id).update(etag="now")
    later = Job.objects.create(kind=Job.Kind.PAIR)
    ReviewItem.objects.filter(pk=compared_again.pk).update(job=later)
    Asset.objects.filter(pk=kept_gone.best_candidate.match_asset_id).update(state=Asset.State.VANISHED)
    offered = set(bulk_batch(max_diff=0.01, max_local=0.05).values_list("id", flat=True))
    for it in (kept_changed, file_changed, compared_again, current):
        it = ReviewItem.objects.select_related("asset", "best_candidate__match_asset").get(pk=it.pk)
        words = candidate_outdated(it.best_candidate, asset=it.asset, latest_job_id=it.job_id)
        assert (it.pk in offered) is (words is None), (it.pk, words)
    assert kept_gone.pk not in offered and current.pk in offered

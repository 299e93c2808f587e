"""What the schema itself guarantees, whatever code runs against it: append-only event rows and
the database constraints behind the safety invariants."""
import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from reviewapp.models import (
    Asset, AuditEntry, Candidate, Decision, DeletionItem, DeletionPlan, Job, JobEvent, ReingestEvent, ReingestItem, Source,
)
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def _append_only_rows(admin_user):
    item = ReviewItemFactory()
    decision = Decision.objects.create(review_item=item, asset=item.asset, candidate=item.best_candidate,
                                       action=Decision.Action.APPROVE_DELETE, actor=admin_user, note="same picture")
    job = Job.objects.create(kind=Job.Kind.ANALYSE)
    reingest = ReingestItem.objects.create(asset=item.asset, reason="only good copy")
    return [
        decision,
        JobEvent.objects.create(job=job, event="started"),
        AuditEntry.objects.create(action=AuditEntry.Action.QUARANTINE, source_name="s", key="k", decision=decision),
        ReingestEvent.objects.create(item=reingest, to_state="queued"),
    ]


def test_append_only_rows_refuse_edit_and_delete(admin_user):
    for row in _append_only_rows(admin_user):
        model = type(row)
        before = model.objects.filter(pk=row.pk).values().get()
        with pytest.raises(PermissionDenied):
            row.save()
        with pytest.raises(PermissionDenied):
            row.delete()
        with pytest.raises(PermissionDenied):
            model.objects.filter(pk=row.pk).update(created_at=None)
        with pytest.raises(PermissionDenied):
            model.objects.filter(pk=row.pk).delete()
        assert model.objects.filter(pk=row.pk).values().get() == before, model.__name__


def test_an_undo_is_a_new_decision_row(admin_user):
    decision = _append_only_rows(admin_user)[0]
    undo = Decision.objects.create(review_item=decision.review_item, asset=decision.asset, action=Decision.Action.UNDO,
                                   actor=admin_user, undoes=decision)
    assert Decision.objects.count() == 2
    assert decision.undone_by == undo


def _integrity_error(fn):
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fn()


def test_candidate_cannot_pair_an_asset_with_itself():
    asset = AssetFactory()
    _integrity_error(lambda: Candidate.objects.create(cleanup_asset=asset, match_asset=asset, verdict="identical", engine_version="e"))
    assert not Candidate.objects.exists()


def test_candidate_pair_is_unique_per_engine_version():
    c = CandidateFactory()
    _integrity_error(lambda: Candidate.objects.create(cleanup_asset=c.cleanup_asset, match_asset=c.match_asset,
                                                       verdict="duplicate", engine_version=c.engine_version))
    Candidate.objects.create(cleanup_asset=c.cleanup_asset, match_asset=c.match_asset, verdict="duplicate", engine_version="next")
    assert Candidate.objects.count() == 2


def test_asset_key_is_unique_within_its_source():
    a = AssetFactory(key="box/1.tif")
    _integrity_error(lambda: Asset.objects.create(source=a.source, key="box/1.tif", name="1.tif"))
    Asset.objects.create(source=SourceFactory(), key="box/1.tif", name="1.tif")  # another source may hold the same key
    assert Asset.objects.filter(key="box/1.tif").count() == 2


def test_sources_may_not_share_a_location():
    SourceFactory(name="a", root="/data/x")
    _integrity_error(lambda: Source.objects.create(name="b", kind="local", role="cleanup", root="/data/x"))
    Source.objects.create(name="s3a", kind="s3", role="canonical", storage_profile="p", bucket="bkt", prefix="a/")
    _integrity_error(lambda: Source.objects.create(name="s3b", kind="s3", role="cleanup", storage_profile="p", bucket="bkt", prefix="a/"))
    _integrity_error(lambda: Source.objects.create(name="a", kind="local", role="cleanup", root="/data/y"))  # names too


def test_a_deletion_never_keeps_the_object_it_deletes(admin_user):
    item = ReviewItemFactory()
    decision = Decision.objects.create(review_item=item, asset=item.asset, action="approve_delete", actor=admin_user)
    plan = DeletionPlan.objects.create(created_by=admin_user)
    _integrity_error(lambda: DeletionItem.objects.create(plan=plan, decision=decision, asset=item.asset, kept_asset=item.asset,
                                                         etag_at_decision="e", kept_etag_at_decision="e"))
    DeletionItem.objects.create(plan=plan, decision=decision, asset=item.asset, kept_asset=item.best_candidate.match_asset,
                                etag_at_decision="e", kept_etag_at_decision="f")


def test_rows_that_others_point_at_cannot_be_deleted_from_under_them(admin_user):
    """PROTECT: a source with assets, an asset with decisions, keep their history."""
    decision = _append_only_rows(admin_user)[0]
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        decision.asset.source.delete()
    with pytest.raises(ProtectedError):
        Asset.objects.filter(pk=decision.asset_id).delete()


def test_job_idempotency_key_is_unique():
    Job.objects.create(kind=Job.Kind.ANALYSE, idempotency_key="k1")
    _integrity_error(lambda: Job.objects.create(kind=Job.Kind.ANALYSE, idempotency_key="k1"))
    Job.objects.create(kind=Job.Kind.ANALYSE)  # no key: no constraint
    Job.objects.create(kind=Job.Kind.ANALYSE)


def test_verdict_choices_are_the_engines_vocabulary_and_bulk_choices_come_from_its_policy():
    from matching.verdict import BULK_APPROVABLE_VERDICTS, VERDICTS
    from reviewapp.models import Verdict, bulk_verdict_choices

    assert tuple(Verdict.values) == VERDICTS
    assert Verdict.IDENTICAL == "identical" and Verdict.NO_MATCH.label == "No match"
    assert {v for v, _ in bulk_verdict_choices()} == BULK_APPROVABLE_VERDICTS

"""Deletion: dry-run plans, the executor, quarantine, purge, restore and legal takedown.

Nothing here trusts what was true when a curator decided. Right before an object is touched the
executor re-checks the kept copy (exists, same ETag, decodes fully, still verifies against the
clean-up copy) and that the object to delete is the one decided on; any doubt aborts that item
and sends the file back to review. An audit row is committed before every irreversible step, and
each step is idempotent so a plan interrupted anywhere (crash, S3 error) finishes exactly once
when it runs again.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import (
    Asset,
    AuditEntry,
    Candidate,
    Decision,
    DeletionItem,
    DeletionPlan,
    Job,
    ReingestItem,
    ReviewItem,
    Source,
)
from ..roles import is_admin
from .. import storage as storage_mod
from ..storage import ObjectChanged, ObjectMissing, RootMoved, S3Storage, StorageError, UnsafeKey, check_key

from matching.verdict import ENGINE_SAFE_VERDICTS, approval_refusal, holds_at_least_as_much, relation_change

log = logging.getLogger(__name__)

# Items that hold their object (or are about to): never planned again on either side of a pair.
LIVE_STATES = (DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING, DeletionItem.State.QUARANTINED)


_clients: dict = {}
_clients_lock = threading.Lock()


def s3_client_cached(profile):
    """Building a boto3 client costs ~0.3 s; the executor touches several objects per item, so
    clients are shared (they are thread-safe) per process, profile settings and client factory."""
    factory = storage_mod.s3_client
    key = (os.getpid(), id(factory), profile, json.dumps(settings.S3_PROFILES.get(profile, {}), sort_keys=True, default=str))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = factory(profile)
    return client


def with_cached_client(store):
    if isinstance(store, S3Storage):
        store._client = s3_client_cached(store.profile)
    return store


def storage_for(source):
    """The storage behind a source, with a shared S3 client."""
    return with_cached_client(storage_mod.storage_for(source))


class Doubt(Exception):
    """A reason not to delete this item now; the file goes back to review."""


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _require_admin(actor):
    if not is_admin(actor):
        raise PermissionDenied("only an admin can do this")


def decision_has_run(decision) -> bool:
    """True once anything a decision asked for has touched storage or left Doppel: a deletion
    item past planned, or a reingest past queued. Undo is refused from then on."""
    if DeletionItem.objects.filter(decision=decision).exclude(state=DeletionItem.State.PLANNED).exists():
        return True
    return (
        ReingestItem.objects.filter(decision=decision)
        .exclude(state__in=[ReingestItem.State.QUEUED, ReingestItem.State.WITHDRAWN])
        .exists()
    )


def decision_undo_refusal(decision) -> str:
    """Why deletion forbids undoing `decision` ("" when it does not). Called by the undo while it
    holds the review item's lock (the lock the executor's claim takes too); the items and plans
    holding the decision are locked here, so a confirm or a claim cannot slip in between. Once a
    confirmed plan holds the decision, undo is refused: the admin's go stands until the executor
    itself re-checks (and a changed decision is then the admin's call, by cancelling or waiting)."""
    items = list(DeletionItem.objects.select_for_update(of=("self",)).filter(decision=decision).order_by("pk"))
    if any(i.state != DeletionItem.State.PLANNED for i in items if i.state != DeletionItem.State.ABORTED):
        return "too late to undo: the deletion of this file is running or has run"
    plans = DeletionPlan.objects.select_for_update().filter(
        pk__in=[i.plan_id for i in items if i.state == DeletionItem.State.PLANNED]).order_by("pk")
    for plan in plans:
        if plan.state != DeletionPlan.State.DRAFT:
            return (f"too late to undo: deletion plan #{plan.pk}, which holds this decision, was confirmed by an admin "
                    f"({plan.get_state_display().lower()}); ask an admin to restore the file after it runs")
    return ""


def decision_stands(decision) -> bool:
    """An approval counts only while it is not undone and is still the file's last decision."""
    if Decision.objects.filter(undoes=decision).exists():
        return False
    return ReviewItem.objects.filter(pk=decision.review_item_id, last_decision=decision).exists()


# --- review hand-back ---------------------------------------------------------------------------


def review_return(*, actor, asset, reason) -> ReviewItem | None:
    """Put a file back in the review queue (an aborted deletion, a restore): its candidates are
    open again and nobody holds a lease. The AuditEntry written by the caller is the event."""
    item = ReviewItem.objects.select_for_update().filter(asset=asset).first()
    if item is None:
        return None
    item.status = ReviewItem.Status.OPEN
    item.leased_by = None
    item.lease_expires_at = None
    item.decided_at = None
    item.save(update_fields=["status", "leased_by", "lease_expires_at", "decided_at"])
    Candidate.objects.filter(cleanup_asset=asset).update(status=Candidate.Status.OPEN)
    return item


# --- audit --------------------------------------------------------------------------------------


def _audit(action, item=None, *, actor=None, asset=None, reason="", outcome="", **detail) -> AuditEntry:
    asset = asset or item.asset
    row = dict(
        action=action,
        item=item,
        source_name=asset.source.name,
        key=asset.key,
        etag=asset.etag,
        size=asset.size,
        executed_by=_actor(actor),
        reason=reason,
        outcome=outcome,
        detail=detail,
    )
    if item is not None:
        kept = item.kept_asset
        row.update(
            etag=item.etag_at_decision,
            size=item.size,
            kept_source_name=kept.source.name,
            kept_key=kept.key,
            kept_etag=item.kept_etag_at_decision,
            diff_score=item.diff_score,
            local_score=item.local_score,
            engine_version=item.engine_version,
            thresholds=item.thresholds,
            decision=item.decision,
            approved_by=item.decision.actor,
        )
    return AuditEntry.objects.create(**row)


# --- plans --------------------------------------------------------------------------------------


def plannable_decisions(*, source=None):
    """Approve-delete decisions that still stand (not undone, still the file's last decision)
    and have no deletion item yet."""
    qs = Decision.objects.filter(
        action=Decision.Action.APPROVE_DELETE,
        undone_by__isnull=True,
        candidate__isnull=False,
        deletion_items__isnull=True,
        review_item__last_decision=F("pk"),
    ).exclude(asset__source__role=Source.Role.CANONICAL)
    if source is not None:
        qs = qs.filter(asset__source=source)
    return qs.select_related("asset__source", "candidate__match_asset__source", "actor", "review_item")


def _kept_for(decision):
    """The copy a deletion keeps: the chosen match, or the canonical object a verified reingest
    of this file created (which is then the copy the executor re-checks)."""
    reingest = (
        ReingestItem.objects.filter(asset=decision.asset, state=ReingestItem.State.VERIFIED, canonical_asset__isnull=False)
        .select_related("canonical_asset__source")
        .order_by("-verified_at")
        .first()
    )
    if reingest is not None:
        return reingest.canonical_asset, reingest.canonical_asset.etag
    snap = decision.snapshot or {}
    cand = decision.candidate
    kept_etag = (snap.get("candidate") or {}).get("match_etag") or (snap.get("match") or {}).get("etag") or cand.match_etag
    return cand.match_asset, kept_etag or cand.match_asset.etag


def deletion_plan_create(*, actor, decisions=None, source=None, idempotency_key=None) -> DeletionPlan:
    """A dry run: list what would be deleted (nothing is). Only standing approve-delete decisions
    are taken, each at most once across all plans."""
    _require_admin(actor)
    if idempotency_key:
        existing = DeletionPlan.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        qs = plannable_decisions(source=source)
        if decisions is not None:
            ids = [getattr(d, "pk", d) for d in decisions]
            qs = qs.filter(pk__in=ids)
        items = []
        # Invariant 1, never both sides of a pair: an object kept by a live deletion is not
        # deleted, and an object on its way out is not anyone's kept copy.
        live = DeletionItem.objects.filter(state__in=LIVE_STATES)
        kept_ids = set(live.values_list("kept_asset_id", flat=True))
        leaving_ids = set(live.values_list("asset_id", flat=True))
        for d in qs.order_by("pk"):
            asset = d.asset
            kept, kept_etag = _kept_for(d)
            if kept.pk == asset.pk or asset.source.is_canonical:
                continue  # invariant 1: never the kept object, never a canonical source
            if asset.pk in kept_ids or kept.pk in leaving_ids:
                continue
            kept_ids.add(kept.pk)
            leaving_ids.add(asset.pk)
            snap = d.snapshot or {}
            cand = d.candidate
            etag = (snap.get("candidate") or {}).get("cleanup_etag") or (snap.get("asset") or {}).get("etag") or cand.cleanup_etag or asset.etag
            # The sha256 recorded when the decided-on content was analysed (only if the asset
            # still has that content): the executor recomputes it on local files.
            checksum = (snap.get("asset") or {}).get("checksum") or (asset.checksum if asset.etag == etag else "")
            items.append(
                DeletionItem(
                    decision=d,
                    asset=asset,
                    kept_asset=kept,
                    etag_at_decision=etag,
                    checksum_at_decision=checksum,
                    kept_etag_at_decision=kept_etag,
                    size=asset.size,
                    diff_score=cand.diff_score,
                    local_score=cand.local_score,
                    engine_version=cand.engine_version,
                    thresholds=cand.thresholds or {},
                )
            )
        if not items:
            raise ValidationError("there are no approved deletions waiting for a plan")
        plan = DeletionPlan.objects.create(created_by=actor, source=source, idempotency_key=idempotency_key or None)
        for it in items:
            it.plan = plan
        DeletionItem.objects.bulk_create(items)
        _dispatch_dry_run(plan)
    return plan


def deletion_plan_confirm(*, actor, plan) -> DeletionPlan:
    """The admin's go: queue the executor job. Confirming twice queues nothing twice."""
    from . import jobs

    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            if plan.state in (DeletionPlan.State.CONFIRMED, DeletionPlan.State.EXECUTING, DeletionPlan.State.DONE):
                return plan
            raise ValidationError(f"this plan is {plan.get_state_display().lower()}; it cannot be confirmed")
        unchecked = dry_run_unchecked(plan).count()
        if unchecked:
            raise ValidationError(f"the dry run is still re-checking this plan ({unchecked} item{'s' if unchecked != 1 else ''} "
                                  "to go); confirm once it has finished and you have read its outcome")
        job = jobs.job_create(
            actor=actor,
            kind=Job.Kind.DELETE,
            source=plan.source,
            params={"plan_id": plan.pk},
            requested=plan.items.filter(state=DeletionItem.State.PLANNED).count(),
            idempotency_key=f"deletion-plan-{plan.pk}-1",
        )
        plan.state = DeletionPlan.State.CONFIRMED
        plan.confirmed_by = actor
        plan.confirmed_at = timezone.now()
        plan.job = job
        plan.save(update_fields=["state", "confirmed_by", "confirmed_at", "job"])
        _dispatch(job)
    return plan


def deletion_plan_cancel(*, actor, plan) -> DeletionPlan:
    """Drop a dry run that was never confirmed. Its items never touched storage, so they are
    removed and their decisions can be planned again."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            raise ValidationError("only an unconfirmed plan can be cancelled")
        plan.state = DeletionPlan.State.CANCELLED
        plan.finished_at = timezone.now()
        plan.save(update_fields=["state", "finished_at"])
        plan.items.filter(state=DeletionItem.State.PLANNED, audit__isnull=True).delete()
    return plan


def deletion_plan_resume(*, actor, plan) -> DeletionPlan:
    """Run a confirmed plan again (after a crash or a storage error): items already done are
    skipped, items half-done finish, so the plan completes exactly once."""
    from . import jobs

    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state not in (DeletionPlan.State.CONFIRMED, DeletionPlan.State.EXECUTING):
            raise ValidationError(f"this plan is {plan.get_state_display().lower()}; only a confirmed plan can run again")
        if plan.job_id:
            old = Job.objects.select_for_update().get(pk=plan.job_id)
            if old.state not in jobs.FINISHED_STATES:
                old.state = Job.State.FAILED
                old.error = "superseded by a new run of the plan"
                old.finished_at = timezone.now()
                old.save(update_fields=["state", "error", "finished_at"])
                jobs.job_event(old, "superseded", actor=actor)
        runs = Job.objects.filter(kind=Job.Kind.DELETE, params__plan_id=plan.pk).count()
        job = jobs.job_create(
            actor=actor,
            kind=Job.Kind.DELETE,
            source=plan.source,
            params={"plan_id": plan.pk},
            requested=plan.items.filter(state=DeletionItem.State.PLANNED).count(),
            idempotency_key=f"deletion-plan-{plan.pk}-{runs + 1}",
        )
        plan.job = job
        plan.save(update_fields=["job"])
        _dispatch(job)
    return plan


def _dispatch(job):
    from ..tasks import execution

    job_id = job.pk
    transaction.on_commit(lambda: execution.deletion_execute.delay(job_id))


# --- the executor -------------------------------------------------------------------------------


@dataclass
class QuarantineTarget:
    storage: object
    key: str
    location: str


def quarantine_target(item) -> QuarantineTarget:
    """Where an item's object waits out the retention period; the storage decides (a quarantine
    bucket/prefix on the same profile, or a folder for local sources). The item id in the path
    keeps a deleted-restored-deleted key from colliding."""
    source = item.asset.source
    key = check_key(item.asset.key)
    store, location = storage_mod.storage_for(source).quarantine_for(source.name, item.pk)
    _refuse_inside_sources(store)
    store = with_cached_client(store)
    return QuarantineTarget(store, key, f"{location.rstrip('/')}/{key}")


def _refuse_inside_sources(store):
    """Quarantine must not reach any registered source, by any route: an inventory would list
    the held copies as new clean-up files (and could put them up for deletion again)."""
    from .sources import location_storage

    for other in Source.objects.all():
        other_store = location_storage(kind=other.kind, storage_profile=other.storage_profile, bucket=other.bucket,
                                       prefix=other.prefix, root=other.root)
        if store.overlap_with(other_store):
            raise StorageError(
                f"the quarantine location lies inside source {other.name!r}; set DOPPEL_QUARANTINE_BUCKET, "
                "DOPPEL_QUARANTINE_PREFIX or DOPPEL_QUARANTINE_DIR outside every source"
            )


def _lock_status(store, key, version_id="") -> str:
    """Object Lock on S3: a retention date in the future or a legal hold. Doppel obeys both and
    says so instead of failing on the delete. HEAD returns the lock headers (given
    s3:GetObjectRetention / s3:GetObjectLegalHold), one request for both."""
    if not isinstance(store, S3Storage):
        return ""
    kwargs = {"Bucket": store.bucket, "Key": store.full_key(key)}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        head = store.client.head_object(**kwargs)
    except Exception:  # noqa: BLE001 - a missing object has no lock; the caller handles missing
        return ""
    notes = []
    until = head.get("ObjectLockRetainUntilDate")
    if until and until > timezone.now():
        mode = (head.get("ObjectLockMode") or "").lower()
        notes.append(f"locked until {until.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M} UTC ({mode} retention)")
    if head.get("ObjectLockLegalHoldStatus") == "ON":
        notes.append("under legal hold")
    return "; ".join(notes)


def decided_relation(decision) -> dict:
    """The relation the curator approved: verdict, turn and damaged side of the chosen candidate
    as it was when they decided (the decision's snapshot), for the re-check to compare with."""
    snap = (decision.snapshot or {}).get("candidate") or {}
    cand = decision.candidate
    return {k: snap.get(k, getattr(cand, k, None)) for k in ("verdict", "rotation", "flipped", "corrupt_side")}


def _reingest_verified(item) -> bool:
    return ReingestItem.objects.filter(
        asset=item.asset, state=ReingestItem.State.VERIFIED, canonical_asset=item.kept_asset
    ).exists()


def recheck_kept(item, src_store) -> dict:
    """Invariant 2 and 3 at the moment of deletion. Raises Doubt with a reason a person can act on."""
    import matching

    asset, kept = item.asset, item.kept_asset
    if asset.source.is_canonical:
        raise Doubt("the object is in a canonical source, which Doppel never deletes from")
    if kept.pk == asset.pk or (kept.source_id == asset.source_id and kept.key == asset.key):
        raise Doubt("the kept copy is the object to delete")
    kept_store = storage_for(kept.source)
    try:
        kh = kept_store.head(kept.key)
    except ObjectMissing:
        raise Doubt(f"the kept copy {kept.source.name}:{kept.key} no longer exists") from None
    if kh.etag != item.kept_etag_at_decision:
        raise Doubt(f"the kept copy changed since the decision (ETag {item.kept_etag_at_decision} → {kh.etag})")
    if kh.needs_restore:
        raise Doubt("the kept copy is in an archive tier and cannot be checked; restore it first")
    limit = settings.MAX_OBJECT_BYTES
    with kept_store.fetch(kept.key, max_bytes=limit) as kept_path, src_store.fetch(asset.key, max_bytes=limit) as cleanup_path:
        ka = matching.analyse_file(kept_path, name=kept.name, max_pixels=settings.MAX_IMAGE_PIXELS)
        if ka.status != "ok":
            errors = "; ".join(str(e) for e in (ka.errors or [])[:2])
            if not _reingest_verified(item):
                raise Doubt(f"the kept copy does not decode fully ({ka.status}{': ' + errors if errors else ''})")
            raise Doubt(f"the reingested canonical copy does not decode fully ({ka.status})")
        ca = matching.analyse_file(cleanup_path, name=asset.name, max_pixels=settings.MAX_IMAGE_PIXELS)
        try:
            result = matching.verify_pair(cleanup_path, kept_path, cleanup=ca, match=ka)
        except Exception as exc:  # noqa: BLE001 - any engine failure is a doubt, not a crash
            raise Doubt(f"the pair could not be verified again: {exc}") from exc
    # Invariant 3 and what a curator may approve: THE rule of review (matching.verdict), applied
    # to the pair as it is now; then the relation must be the one the curator approved.
    more = holds_at_least_as_much(ka, ca)
    if more and not _reingest_verified(item):
        raise Doubt(f"{'; '.join(more)}; it can only be deleted after its reingest is verified")
    refusal = [] if (result.verdict in ENGINE_SAFE_VERDICTS and result.safe_to_delete) else approval_refusal(
        verdict=result.verdict, corrupt_side=result.corrupt_side, kept=ka, cleanup=ca, kept_intact=True)
    if refusal:
        reasons = "; ".join(str(r) for r in (getattr(result, "reasons", None) or [])[:3])
        raise Doubt(f"the pair no longer verifies (verdict {result.verdict}: {'; '.join(refusal)}"
                    f"{'; ' + reasons if reasons else ''})")
    change = relation_change(decided_relation(item.decision), result)
    if change:
        raise Doubt(f"the pair is no longer what was approved: {change}")
    return {"verdict": result.verdict, "diff_score": result.diff_score, "local_score": result.local_score,
            "engine_version": getattr(result, "engine_version", matching.ENGINE_VERSION)}


def deletion_item_abort(*, actor, item, reason, reopen=True) -> DeletionItem:
    """Give up on one planned item: record why and send the file back to review. An item an
    executor has claimed is left to that executor (it aborts it itself when in doubt)."""
    return _abort(actor=actor, item=item, reason=reason, reopen=reopen, states=(DeletionItem.State.PLANNED,))


def _abort_claimed(*, actor, item, reason, reopen=True) -> DeletionItem:
    """The executor gives up on the item it holds."""
    return _abort(actor=actor, item=item, reason=reason, reopen=reopen,
                  states=(DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING))


def _abort(*, actor, item, reason, reopen, states) -> DeletionItem:
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).select_related(
            "asset__source", "kept_asset__source", "decision").get(pk=item.pk)
        _abort_locked(item, actor=actor, reason=reason, reopen=reopen, states=states)
    return item


def _abort_locked(item, *, actor, reason, reopen, states=(DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING)):
    if item.state not in states:
        return item
    item.state = DeletionItem.State.ABORTED
    item.reason = reason
    item.save(update_fields=["state", "reason", "updated_at"])
    _audit(AuditEntry.Action.ABORT, item, actor=actor, reason=reason, outcome="aborted")
    if reopen:
        review_return(actor=actor, asset=item.asset, reason=reason)
    return item


def _audit_intent(item, action, *, actor, **detail) -> AuditEntry:
    """The audit row that must exist before the object moves: committed on its own, and reused
    when a crashed run repeats the step (one record per deletion, not per attempt)."""
    with transaction.atomic():
        existing = AuditEntry.objects.filter(item=item, action=action).order_by("id").first()
        if existing is not None:
            return existing
        return _audit(action, item, actor=actor, **detail)


def _mark_quarantined(item, *, actor, target, original_version="", quarantine_version="", quarantine_token="") -> DeletionItem:
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        if item.state not in (DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING):
            return item
        item.state = DeletionItem.State.QUARANTINED
        item.quarantine_location = target.location
        item.quarantine_version_id = quarantine_version or ""
        item.original_version_id = original_version or ""
        item.quarantine_checksum = quarantine_token or ""
        item.purge_after = timezone.now() + timedelta(days=settings.QUARANTINE_RETENTION_DAYS)
        item.reason = ""
        item.save()
        Asset.objects.filter(pk=item.asset_id).update(state=Asset.State.VANISHED)
    return item


def _claim(item_id, *, actor, job_id=None) -> DeletionItem | None:
    """Take one item for this run before anything is checked: planned → executing, under the
    review item's row lock. An undo holds that same lock while it looks at the item, so the two
    are serialised: either the undo commits first (and the claim sees the decision undone, or the
    item aborted) or the claim commits first (and the undo sees `executing` and is refused). A
    second executor finds the item executing and leaves it alone; an item left executing by a run
    that has since finished (a killed worker, superseded by a resume) is taken over."""
    from . import jobs

    with transaction.atomic():
        review_item_id = DeletionItem.objects.filter(pk=item_id).values_list("decision__review_item_id", flat=True).first()
        list(ReviewItem.objects.select_for_update().filter(pk=review_item_id).values_list("pk", flat=True))
        item = DeletionItem.objects.select_for_update(of=("self",)).select_related(
            "asset__source", "kept_asset__source", "decision__actor").get(pk=item_id)
        if item.state == DeletionItem.State.EXECUTING:
            holder = item.claimed_by_job_id
            holder_done = holder is None or Job.objects.filter(pk=holder, state__in=jobs.FINISHED_STATES).exists()
            if holder != job_id and not holder_done:
                return None  # another live run holds it
        elif item.state != DeletionItem.State.PLANNED:
            return None
        if not decision_stands(item.decision):
            # Undone (or superseded) after the plan was made: the file is already back in review.
            _abort_locked(item, actor=actor, reason="the approving decision was undone or replaced", reopen=False)
            return None
        item.state = DeletionItem.State.EXECUTING
        item.claimed_by_job_id = job_id
        item.save(update_fields=["state", "claimed_by_job", "updated_at"])
    return item


def _release(item_id, *, job_id, reason):
    """A storage error mid-item: give the item back (planned) for the next run."""
    DeletionItem.objects.filter(pk=item_id, state=DeletionItem.State.EXECUTING, claimed_by_job_id=job_id).update(
        state=DeletionItem.State.PLANNED, claimed_by_job=None, reason=reason[:2000])


# --- the guards: each one alone stops a deletion it exists for (tests switch the others off) ----


def guard_not_canonical(ctx) -> None:
    if ctx.item.asset.source.is_canonical:
        raise Doubt("the object is in a canonical source, which Doppel never deletes from")


def guard_decision_stands(ctx) -> None:
    if not decision_stands(ctx.item.decision):
        raise Doubt("the approving decision was undone or replaced")


def guard_etag(ctx) -> None:
    if ctx.current.etag != ctx.item.etag_at_decision:
        raise Doubt(f"the object to delete changed since the decision (ETag {ctx.item.etag_at_decision} → {ctx.current.etag})")


def guard_content(ctx) -> None:
    """Content, not metadata: the sha256 recorded at analysis recomputed (local), or the ETag and
    version (S3), so a re-saved copy of the same picture with the same size and time is caught."""
    item = ctx.item
    try:
        ctx.src.confirm_unchanged(item.asset.key, etag=item.etag_at_decision, checksum=item.checksum_at_decision,
                                  version_id=item.asset.version_id)
    except ObjectChanged as exc:
        raise Doubt(f"the object to delete is not the content that was decided on: {exc}") from None


def physical_identity_doubt(src, key, kept_store, kept_key) -> tuple[str, tuple]:
    """Why the object to delete may physically be a kept or canonical object ("" when it is
    proven not to be), and its identity (local: device and inode; S3: the service, the bucket
    behind any alias, the full key)."""
    ident = src.object_identity(key)
    try:
        kept_ident = kept_store.object_identity(kept_key)
    except ObjectMissing:
        kept_ident = None
    if kept_ident is not None and kept_ident == ident:
        return "the kept copy and the object to delete are the same physical object (" + "/".join(map(str, ident[1:])) + ")", ident
    ident_text = ":".join(str(x) for x in ident[1:])
    holder = (Asset.objects.filter(source__role=Source.Role.CANONICAL, inode=ident_text).exclude(inode="")
              .select_related("source").first())
    if holder is not None:
        return f"the object to delete is physically the canonical object {holder.source.name}:{holder.key} (same device and inode)", ident
    for canon in Source.objects.filter(role=Source.Role.CANONICAL, kind=getattr(src, "kind", "")):
        from .sources import location_storage

        canon_store = location_storage(kind=canon.kind, storage_profile=canon.storage_profile, bucket=canon.bucket,
                                       prefix=canon.prefix, root=canon.root)
        if canon_store.overlap_with(src.around(key)):
            return f"the object to delete can be reached through canonical source {canon.name!r}", ident
    return "", ident


def guard_physical_identity(ctx) -> None:
    doubt, ctx.identity = physical_identity_doubt(ctx.src, ctx.item.asset.key, storage_for(ctx.item.kept_asset.source),
                                                  ctx.item.kept_asset.key)
    if doubt:
        raise Doubt(doubt)


def guard_kept_copy(ctx) -> None:
    ctx.recheck = recheck_kept(ctx.item, ctx.src)


def guard_object_lock(ctx) -> None:
    lock = _lock_status(ctx.src, ctx.item.asset.key, ctx.current.version_id)
    if lock:
        ctx.reopen = False
        raise Doubt(f"Object Lock: {lock}; Doppel does not delete it")


# In order; all run for every item, right before it is touched.
EXECUTION_GUARDS = [guard_not_canonical, guard_decision_stands, guard_etag, guard_content, guard_physical_identity,
                    guard_kept_copy, guard_object_lock]


@dataclass
class _Ctx:
    item: DeletionItem
    src: object
    current: object
    identity: tuple = ()
    recheck: dict = None
    reopen: bool = True


def _expected_token(store, item) -> str:
    """The content token the quarantine copy must have: the recorded sha256 (local) or ETag (S3)."""
    return store.recorded_token(etag=item.etag_at_decision, checksum=item.checksum_at_decision)


def _same_bytes(token, expected, *, size, expected_size) -> bool:
    # A multipart ETag ("…-N") is not an MD5 of the bytes and a server-side copy gets a new
    # one; for those only the size can be compared (the copy was made with CopySourceIfMatch).
    if token == expected:
        return True
    return expected.startswith("etag:") and "-" in expected and size == expected_size


def deletion_item_execute(*, actor, item, job_id=None) -> DeletionItem:
    """Move one planned object to quarantine. The item is claimed first (no undo, second
    executor or new plan can interleave), then every guard runs, then audit → copy → check the
    copy's content → delete (only that same physical object) → mark. Storage errors other than
    "changed"/"missing" propagate: the item goes back to planned and the next run retries it."""
    claimed = _claim(item.pk, actor=actor, job_id=job_id)
    if claimed is None:
        return DeletionItem.objects.get(pk=item.pk)
    item = claimed
    try:
        return _execute_claimed(item, actor=actor)
    except Exception as exc:
        _release(item.pk, job_id=job_id, reason=f"last attempt failed: {exc}")
        raise


def dry_run_unchecked(plan):
    """Planned items the dry run has not re-checked yet; Confirm is refused while there are any."""
    return DeletionItem.objects.filter(plan_id=plan.pk, state=DeletionItem.State.PLANNED, dry_run_at__isnull=True)


def _dispatch_dry_run(plan):
    """Queue the dry run's re-check once the plan is committed: it reads every object (and
    decodes the kept copies), which is a worker's job, never a web request's."""
    from ..tasks import execution

    plan_id = plan.pk
    transaction.on_commit(lambda: execution.deletion_dry_run.delay(plan_id))


def deletion_plan_recheck(*, actor, plan) -> DeletionPlan:
    """Run the dry run again on an unconfirmed plan (storage may have changed since, or the first
    run's message was lost): every planned item is re-checked from scratch by a worker."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            raise ValidationError("only an unconfirmed plan can be re-checked; the executor re-checks every item itself")
        plan.items.filter(state=DeletionItem.State.PLANNED).update(dry_run_at=None, dry_run_reason="")
        _dispatch_dry_run(plan)
    return plan


def deletion_plan_dry_run(*, actor, plan) -> DeletionPlan:
    """The dry run's re-check: every planned item goes through the executor's own guards
    (EXECUTION_GUARDS: existence, ETag and content, physical identity, the kept copy decoded and
    the pair verified again under the approval rule, Object Lock), touching nothing, and records
    "would abort: reason" on the item so the admin sees it before Confirm. The executor repeats
    every check when it runs (things can change in between).
    Runs in a worker (tasks.execution.deletion_dry_run, actor None = the system). Only items not
    yet re-checked are taken and each result is committed on its own, so the plan page shows
    progress and a redelivered task finishes the rest instead of starting over."""
    if actor is not None:
        _require_admin(actor)
    item_ids = list(dry_run_unchecked(plan).order_by("pk").values_list("pk", flat=True))
    for item_id in item_ids:
        if not DeletionPlan.objects.filter(pk=plan.pk, state=DeletionPlan.State.DRAFT).exists():
            break  # cancelled meanwhile: nothing left to predict
        item = (DeletionItem.objects.filter(pk=item_id, state=DeletionItem.State.PLANNED)
                .select_related("asset__source", "kept_asset__source", "decision__candidate").first())
        if item is None:
            continue
        reason = ""
        try:
            src = storage_for(item.asset.source)
            try:
                current = src.head(item.asset.key)
            except ObjectMissing:
                raise Doubt("the object to delete no longer exists at its key") from None
            ctx = _Ctx(item=item, src=src, current=current)
            for guard in EXECUTION_GUARDS:
                guard(ctx)
        except (Doubt, RootMoved, UnsafeKey) as doubt:
            reason = str(doubt) or "doubt"
        except StorageError as exc:
            reason = f"could not be checked: {exc}"
        DeletionItem.objects.filter(pk=item.pk).update(dry_run_reason=reason[:2000], dry_run_at=timezone.now())
    return plan


def _execute_claimed(item, *, actor) -> DeletionItem:
    asset = item.asset
    ctx = None
    try:
        src = storage_for(asset.source)
        target = quarantine_target(item)
        already_audited = AuditEntry.objects.filter(item=item, action=AuditEntry.Action.QUARANTINE).exists()
        try:
            current = src.head(asset.key)
        except ObjectMissing:
            # Crash after the delete but before the state was saved: the copy in quarantine is
            # the object, if its content is the one decided on.
            if already_audited and target.storage.exists(target.key):
                q = target.storage.head(target.key)
                if _same_bytes(target.storage.content_token(target.key), _expected_token(src, item),
                               size=q.size, expected_size=item.size):
                    return _mark_quarantined(item, actor=actor, target=target, quarantine_version=q.version_id,
                                             quarantine_token=target.storage.content_token(target.key))
            return _abort_claimed(actor=actor, item=item, reason="the object to delete no longer exists at its key")
        ctx = _Ctx(item=item, src=src, current=current)
        for guard in EXECUTION_GUARDS:
            guard(ctx)
    except (Doubt, RootMoved, UnsafeKey) as doubt:
        return _abort_claimed(actor=actor, item=item, reason=str(doubt), reopen=ctx.reopen if ctx else True)

    _audit_intent(item, AuditEntry.Action.QUARANTINE, actor=actor, recheck=ctx.recheck, quarantine=target.location,
                  version_id=current.version_id, identity=[str(x) for x in ctx.identity])
    changed = "the object to delete changed while it was being quarantined"
    try:
        q = src.copy_to(asset.key, target.storage, target.key, if_etag=item.etag_at_decision)
        q_token = target.storage.content_token(target.key)
        if not _same_bytes(q_token, _expected_token(src, item), size=q.size, expected_size=current.size):
            raise ObjectChanged(f"the quarantine copy of {asset.key} is not the content decided on ({q_token[:20]}…)")
    except ObjectMissing:
        return _abort_claimed(actor=actor, item=item, reason="the object to delete vanished while it was being quarantined")
    except (ObjectChanged, RootMoved, UnsafeKey) as exc:
        return _abort_claimed(actor=actor, item=item, reason=f"{changed}: {exc}")
    try:
        # Only the physical object that was checked; on a versioned bucket the exact version (no
        # delete marker left holding the data): the quarantine copy is now the one to purge or restore.
        src.delete(asset.key, if_etag=item.etag_at_decision, version_id=current.version_id or None,
                   if_identity=ctx.identity or None)
    except (ObjectChanged, RootMoved, UnsafeKey) as exc:
        return _abort_claimed(actor=actor, item=item, reason=f"{changed}: {exc}")
    except ObjectMissing:
        pass  # a crashed run deleted it already; the quarantine copy was just proven to be it
    return _mark_quarantined(item, actor=actor, target=target, original_version=current.version_id,
                             quarantine_version=q.version_id, quarantine_token=q_token)


def deletion_plan_run(job_id) -> Job | None:
    """The executor job: every planned item of the plan, one at a time."""
    from . import jobs

    if not Job.objects.filter(pk=job_id, kind=Job.Kind.DELETE).exists():
        log.warning("deletion job %s does not exist; nothing to run", job_id)
        return None
    job = jobs.job_start(job_id)
    if job is None:
        return None
    plan_id = (job.params or {}).get("plan_id")
    plan = DeletionPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        return jobs.job_fail(job_id, f"deletion plan {plan_id} does not exist")
    if plan.state not in (DeletionPlan.State.CONFIRMED, DeletionPlan.State.EXECUTING):
        return jobs.job_fail(job_id, f"the plan is {plan.get_state_display().lower()}, not confirmed")
    DeletionPlan.objects.filter(pk=plan.pk, state=DeletionPlan.State.CONFIRMED).update(state=DeletionPlan.State.EXECUTING)
    actor = plan.confirmed_by
    errors = 0
    pending = (DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING)
    for item_id in list(plan.items.filter(state__in=pending).values_list("pk", flat=True)):
        if not jobs.job_may_continue(job_id):
            return Job.objects.get(pk=job_id)
        item = DeletionItem.objects.get(pk=item_id)
        try:
            item = deletion_item_execute(actor=actor, item=item, job_id=job_id)
        except Exception as exc:  # noqa: BLE001 - storage/OS errors: the item stays planned for the next run
            if not isinstance(exc, StorageError):
                log.exception("deletion item %s failed", item_id)
            errors += 1
            with transaction.atomic():
                DeletionItem.objects.filter(pk=item_id, state=DeletionItem.State.PLANNED).update(reason=f"last attempt failed: {exc}")
                jobs.job_count(job_id, failed=1)
                jobs.job_event(job, "item_failed", item=item_id, error=str(exc)[:500])
            continue
        with transaction.atomic():
            jobs.job_count(job_id, processed=1, bytes_done=item.size if item.state == DeletionItem.State.QUARANTINED else 0)
    remaining = plan.items.filter(state__in=pending).count()
    if remaining:
        return jobs.job_fail(job_id, f"{remaining} item(s) could not be processed ({errors} storage errors); run the plan again")
    with transaction.atomic():
        DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.DONE, finished_at=timezone.now())
        return jobs.job_finish(job_id)


# --- restore and purge --------------------------------------------------------------------------


def deletion_restore(*, actor, item) -> DeletionItem:
    """Undo an executed deletion within retention: the object goes back to its original key and
    the file back to review. Content decides, never size: an object already at the key that is
    not the quarantined content makes the restore refuse (the quarantine copy is kept), and so
    does a quarantine copy that is no longer the one quarantined."""
    _require_admin(actor)
    item = DeletionItem.objects.select_related("asset__source", "kept_asset__source", "decision__actor").get(pk=item.pk)
    if item.state == DeletionItem.State.RESTORED:
        return item
    if item.state != DeletionItem.State.QUARANTINED:
        raise ValidationError(f"only a quarantined object can be restored (this one is {item.get_state_display().lower()})")
    asset = item.asset
    src = storage_for(asset.source)
    target = quarantine_target(item)
    try:
        q = target.storage.head(target.key)
        q_token = target.storage.content_token(target.key)
    except ObjectMissing:
        raise ValidationError("the quarantine copy is gone; it cannot be restored") from None
    if item.quarantine_checksum and q_token != item.quarantine_checksum:
        raise ValidationError(f"the quarantine copy is not the one quarantined ({item.quarantine_checksum[:20]}… → "
                              f"{q_token[:20]}…); it is kept and nothing was restored")
    try:
        existing = src.head(asset.key)
        existing_token = src.content_token(asset.key)
    except ObjectMissing:
        existing = existing_token = None
    if existing is not None and not _same_bytes(existing_token, q_token, size=existing.size, expected_size=q.size):
        raise ValidationError(f"another object now exists at {asset.key} (its content differs from the quarantined copy); "
                              "move it away before restoring; the quarantine copy is kept")
    _audit_intent(item, AuditEntry.Action.RESTORE, actor=actor, quarantine=item.quarantine_location)
    if existing is None:
        restored = target.storage.copy_to(target.key, src, asset.key, if_etag=q.etag)
    else:
        restored = existing  # a crashed restore already copied it back
    if not _same_bytes(src.content_token(asset.key), q_token, size=restored.size, expected_size=q.size):
        raise StorageError(f"the restored copy of {asset.key} is not the quarantined content; the quarantine copy is kept")
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        if item.state != DeletionItem.State.QUARANTINED:
            return item
        item.state = DeletionItem.State.RESTORED
        item.save(update_fields=["state", "updated_at"])
        Asset.objects.filter(pk=asset.pk).update(state=Asset.State.FINGERPRINTED if asset.analysis else Asset.State.AVAILABLE,
                                                 etag=restored.etag, version_id=restored.version_id,
                                                 inode=":".join(str(x) for x in restored.identity))
        review_return(actor=actor, asset=asset, reason="restored from quarantine")
    try:
        target.storage.delete(target.key, version_id=item.quarantine_version_id or None)
    except StorageError as exc:  # the object is back; a stray quarantine copy is only clutter
        log.warning("restored %s but could not remove its quarantine copy: %s", asset.key, exc)
    return item


def deletion_item_purge(*, actor, item) -> DeletionItem:
    """Retention is over: remove the quarantine copy for good (the exact version on a versioned
    bucket), and only if its content is the one recorded when it was quarantined. Object Lock
    is obeyed and reported on the item instead of failing silently."""
    item = DeletionItem.objects.select_related("asset__source", "kept_asset__source", "decision__actor").get(pk=item.pk)
    if item.state != DeletionItem.State.QUARANTINED:
        return item
    target = quarantine_target(item)
    lock = _lock_status(target.storage, target.key, item.quarantine_version_id)
    if lock:
        DeletionItem.objects.filter(pk=item.pk).update(reason=f"purge postponed: {lock}")
        item.reason = f"purge postponed: {lock}"
        return item
    try:
        token = target.storage.content_token(target.key)
    except ObjectMissing:
        token = None
    if token is not None and token != item.quarantine_checksum:
        raise ObjectChanged(f"purge refused: the quarantine copy at {item.quarantine_location} is not the one quarantined "
                            f"(recorded {item.quarantine_checksum[:20] or 'nothing'}…, now {token[:20]}…); it is kept")
    _audit_intent(item, AuditEntry.Action.PURGE, actor=actor, quarantine=item.quarantine_location)
    try:
        target.storage.delete(target.key, version_id=item.quarantine_version_id or None)
    except ObjectMissing:
        pass
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        if item.state == DeletionItem.State.QUARANTINED:
            item.state = DeletionItem.State.PURGED
            item.reason = ""
            item.save(update_fields=["state", "reason", "updated_at"])
    return item


def deletion_purge_due(*, actor=None, now=None) -> dict:
    """Purge every quarantined object past retention; returns counts for the job."""
    now = now or timezone.now()
    counts = {"purged": 0, "locked": 0, "failed": 0}
    due = DeletionItem.objects.filter(state=DeletionItem.State.QUARANTINED, purge_after__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        try:
            item = deletion_item_purge(actor=actor, item=DeletionItem(pk=pk))
        except StorageError as exc:
            counts["failed"] += 1
            DeletionItem.objects.filter(pk=pk).update(reason=f"purge failed: {exc}")
            continue
        counts["purged" if item.state == DeletionItem.State.PURGED else "locked"] += 1
    return counts


# --- legal takedown -----------------------------------------------------------------------------
# Lives in services/takedown.py (it reaches renditions, ingest copies and extracts too); kept
# importable from here for the API and the command.
from .takedown import takedown_execute  # noqa: E402


__all__ = [
    "Doubt", "decision_has_run", "deletion_item_abort", "deletion_item_execute", "deletion_item_purge",
    "deletion_plan_cancel", "deletion_plan_confirm", "deletion_plan_create", "deletion_plan_resume",
    "deletion_plan_run", "deletion_purge_due", "deletion_restore", "plannable_decisions", "quarantine_target",
    "recheck_kept", "review_return", "deletion_plan_dry_run", "deletion_plan_recheck", "dry_run_unchecked",
    "takedown_execute",
]

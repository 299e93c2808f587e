"""The executor: one planned object at a time, claimed, re-checked by every guard right before it
is touched, then audit → copy to quarantine → check the copy → delete → mark. Any doubt aborts
that item and sends the file back to review; each step is idempotent, so a plan interrupted
anywhere finishes exactly once when it runs again."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import matching
from matching.verdict import deletion_refusal

from ...models import Asset, AuditEntry, DeletionItem, DeletionPlan, Job, ReviewItem, Source
from ...selectors.deletion import decision_stands, reingest_verified
from ...selectors.takedown import taken_down_ids
from ...storage import (
    ObjectChanged,
    ObjectInfo,
    ObjectMissing,
    RootMoved,
    Storage,
    StorageError,
    UnsafeKey,
    source_location,
    storage_for,
)
from .. import jobs
from .common import Doubt, _audit, _audit_intent, review_return
from .quarantine import _expected_token, _same_bytes, quarantine_purge_for_takedown, quarantine_target

log = logging.getLogger(__name__)


def decided_relation(decision) -> dict:
    """The relation the curator approved: verdict, turn and damaged side of the chosen candidate
    as it was when they decided (the decision's snapshot), for the re-check to compare with."""
    snap = (decision.snapshot or {}).get("candidate") or {}
    cand = decision.candidate
    return {k: snap.get(k, getattr(cand, k, None)) for k in ("verdict", "rotation", "flipped", "corrupt_side")}


def recheck_kept(item, src_store) -> dict:
    """Invariant 2 and 3 at the moment of deletion. Raises Doubt with a reason a person can act on."""
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
            if not reingest_verified(item):
                raise Doubt(f"the kept copy does not decode fully ({ka.status}{': ' + errors if errors else ''})")
            raise Doubt(f"the reingested canonical copy does not decode fully ({ka.status})")
        ca = matching.analyse_file(cleanup_path, name=asset.name, max_pixels=settings.MAX_IMAGE_PIXELS)
        try:
            result = matching.verify_pair(cleanup_path, kept_path, cleanup=ca, match=ka)
        except Exception as exc:  # noqa: BLE001 - any engine failure is a doubt, not a crash
            raise Doubt(f"the pair could not be verified again: {exc}") from exc
    # Invariant 3, what a curator may approve and the approved relation: THE rule (matching.verdict),
    # applied to the pair as it is now
    why = deletion_refusal(decided=decided_relation(item.decision), found=result, kept=ka, cleanup=ca)
    if why:
        raise Doubt(why)
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
    item.save(update_fields=["state", "reason", "claimed_by_job", "updated_at"])
    _audit(AuditEntry.Action.ABORT, item, actor=actor, reason=reason, outcome="aborted")
    if reopen:
        review_return(actor=actor, asset=item.asset, reason=reason)
    return item


def _mark_quarantined(item, *, actor, target, original_version="", quarantine_version="", quarantine_token="") -> DeletionItem:
    """Record the quarantine copy, or, when a legal takedown of the object arrived while it was being
    made, remove that copy at once (purged, "legal takedown"): the takedown's own step looks only
    for copies already recorded, and found none here. Why: a copy left behind could be restored,
    bringing a taken-down picture back to its key."""
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        if item.state not in (DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING):
            return item
        if taken_down_ids([item.asset_id]):
            item.quarantine_version_id = quarantine_version or ""
            quarantine_purge_for_takedown(item, target)
            _audit(AuditEntry.Action.TAKEDOWN, item, actor=actor, reason="legal takedown", outcome="quarantine copy removed",
                   step="quarantine", quarantine=target.location)
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
            # The run that found it says so on its page (selectors.deletion.job_deletion_outcome).
            item.claimed_by_job_id = job_id
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
    for canon in Source.objects.filter(role=Source.Role.CANONICAL, kind=src.kind):
        if source_location(canon).overlap_with(src.around(key)):
            return f"the object to delete can be reached through canonical source {canon.name!r}", ident
    return "", ident


def guard_physical_identity(ctx) -> None:
    doubt, ctx.identity = physical_identity_doubt(ctx.src, ctx.item.asset.key, storage_for(ctx.item.kept_asset.source),
                                                  ctx.item.kept_asset.key)
    if doubt:
        raise Doubt(doubt)


def guard_kept_not_taken_down(ctx) -> None:
    """A kept copy a legal takedown removed keeps nothing, even back at its key (an attack: a canonical
    file "already gone" at its takedown came back unchanged, was paired with a new copy of itself, and
    that copy was quarantined against it, the admin still to take the canonical down again)."""
    kept = ctx.item.kept_asset
    if taken_down_ids([kept.pk]):
        raise Doubt(f"the kept copy {kept.source.name}:{kept.key} was removed by a legal takedown: it keeps nothing")


def guard_kept_copy(ctx) -> None:
    ctx.recheck = recheck_kept(ctx.item, ctx.src)


def guard_object_lock(ctx) -> None:
    lock = ctx.src.lock_status(ctx.item.asset.key, ctx.current.version_id)
    if lock:
        ctx.reopen = False
        raise Doubt(f"Object Lock: {lock}; Doppel does not delete it")


EXECUTION_GUARDS = [guard_not_canonical, guard_decision_stands, guard_etag, guard_content, guard_physical_identity,
                    guard_kept_not_taken_down, guard_kept_copy, guard_object_lock]


@dataclass
class _Ctx:
    item: DeletionItem
    src: Storage
    current: ObjectInfo
    identity: tuple = ()
    recheck: dict | None = None
    reopen: bool = True


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


def dry_run_reason(item) -> str:
    """Why the executor would abort this planned item now ("" when it would run): every guard of
    EXECUTION_GUARDS, in order, touching nothing. The dry run records it; the executor repeats
    every check when it runs (things can change in between)."""
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
        return str(doubt) or "doubt"
    except StorageError as exc:
        return f"could not be checked: {exc}"
    return ""


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

"""Restores from archive tiers (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive access).

A restore costs money and hours, so it goes: estimate (objects, bytes, tier) → an admin confirms
→ RestoreObject in batches → HeadObject polling until the copies are readable. Restored copies
expire by themselves after RESTORE_DAYS (S3 does that; we record when). An asset is only ever
requested while it is `archived`, under a row lock, and becomes `restoring` in the same
transaction, so no object is restored twice however many jobs or retries touch it.
"""
from __future__ import annotations

import re
import secrets
from datetime import UTC
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Asset, Job, JobItem, NameList, NameListEntry, Source
from ..roles import is_admin
from ..selectors.jobs import job_item_counts
from ..storage import PER_OBJECT_ERRORS, StorageError, backend_of, storage_for
from .jobs import (
    job_count,
    job_create,
    job_dispatch,
    job_event,
    job_finish,
    job_items_add,
    job_may_continue,
    job_set_params,
    job_start,
)

TIERS = ("Bulk", "Standard", "Expedited")
EXPIRY_RE = re.compile(r'expiry-date="([^"]+)"')


def poll_interval(job: Job | None = None) -> int:
    if job is not None and job.params.get("poll_seconds"):
        return int(job.params["poll_seconds"])
    return int(getattr(settings, "RESTORE_POLL_SECONDS", 900))


def restores_lapse(assets) -> int:
    """Assets of `assets` whose restored copy S3 has deleted (Asset.restore_lapsed_q) and that were
    left `available` become `archived` again, so they are estimated, requested and never read
    without a restore. Called wherever that matters (estimate, request, inventory, analysis,
    extracts) instead of on a timer: no schedule to miss. Analysed rows keep their state (their
    analysis holds); the readable-now checks ask the rule itself. Returns how many changed."""
    return assets.filter(Asset.restore_lapsed_q(), state=Asset.State.AVAILABLE).update(
        state=Asset.State.ARCHIVED, updated_at=timezone.now())


def _scope(source, namelist):
    if namelist is not None:
        entries = NameListEntry.objects.filter(namelist=namelist, status=NameListEntry.Status.FOUND)
        return Asset.objects.filter(namelist_entries__in=entries).distinct()
    return Asset.objects.filter(source=source)


def restore_estimate(*, actor, source: Source | None = None, namelist: NameList | None = None, tier=None, days=None,
                     poll_seconds=None, idempotency_key=None) -> Job:
    """A job awaiting confirmation whose params hold the estimate: objects, bytes, tier, days."""
    if (source is None) == (namelist is None):
        raise ValidationError("estimate a restore for either a source or a name list")
    if namelist is not None:
        if namelist.resolved_at is None:  # its job is still writing its lines (or failed to): part of a selection
            raise ValidationError("the name list has not been resolved yet")
        source = namelist.source
    assert source is not None  # one of the two was given (checked above)
    if not backend_of(source).archive_tiers:
        raise ValidationError(f"{source.name} is a local source: nothing is archived there")
    tier = tier or settings.RESTORE_TIER
    if tier not in TIERS:
        raise ValidationError(f"restore tier must be one of {', '.join(TIERS)}")
    days = int(days or settings.RESTORE_DAYS)
    if not 1 <= days <= 365:
        raise ValidationError("restore days must be between 1 and 365")
    restores_lapse(_scope(source, namelist))
    archived = _scope(source, namelist).filter(state=Asset.State.ARCHIVED)
    by_class: dict = {}
    rows = list(archived.values_list("id", "size", "storage_class"))
    for _pk, size, sc in rows:
        by_class.setdefault(sc or "?", {"objects": 0, "bytes": 0})
        by_class[sc or "?"]["objects"] += 1
        by_class[sc or "?"]["bytes"] += size
    total = sum(size for _pk, size, _sc in rows)
    estimate = {"objects": len(rows), "bytes": total, "tier": tier, "days": days, "by_class": by_class}
    params = {"estimate": estimate, "tier": tier, "days": days}
    if poll_seconds:
        params["poll_seconds"] = int(poll_seconds)
    with transaction.atomic():
        job = job_create(actor=actor, kind=Job.Kind.RESTORE, source=source, namelist=namelist, params=params,
                         idempotency_key=idempotency_key, state=Job.State.AWAITING_CONFIRMATION,
                         requested=len(rows))
        if not job.items.exists():
            job_items_add(job, [pk for pk, _s, _c in rows])
            Job.objects.filter(pk=job.pk).update(bytes_total=total, found=len(rows))
            job.refresh_from_db()
    return job


def restore_confirm(*, actor, job: Job, dispatch=True) -> Job:
    """The admin's go-ahead; only now is anything requested from S3."""
    if actor is not None and getattr(actor, "pk", None) and not is_admin(actor):
        raise PermissionDenied("only an admin can confirm a restore")
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.kind != Job.Kind.RESTORE:
            raise ValidationError("not a restore job")
        if job.state != Job.State.AWAITING_CONFIRMATION:
            raise ValidationError(f"this restore is {job.get_state_display().lower()}, not awaiting confirmation")
        job.state = Job.State.QUEUED
        job.save(update_fields=["state"])
        job_event(job, "confirmed", actor=actor, estimate=job.params.get("estimate"))
        if dispatch:
            job_dispatch(job)
    return job


def _expiry(restore_header: str):
    m = EXPIRY_RE.search(restore_header or "")
    if not m:
        return None
    try:
        return parsedate_to_datetime(m.group(1)).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _mark_restored(job_id, item, expires):
    with transaction.atomic():
        it = JobItem.objects.select_for_update().get(pk=item.pk)
        if it.state not in (JobItem.State.PENDING, JobItem.State.WAITING):
            return
        Asset.objects.filter(pk=item.asset_id, state__in=[Asset.State.RESTORING, Asset.State.ARCHIVED]).update(
            state=Asset.State.AVAILABLE, restore_expires_at=expires, updated_at=timezone.now())
        it.state = JobItem.State.DONE
        it.save(update_fields=["state", "updated_at"])
        job_count(job_id, processed=1, bytes_done=item.asset.size)


def _mark_failed(job_id, item, error):
    with transaction.atomic():
        it = JobItem.objects.select_for_update().get(pk=item.pk)
        if it.state not in (JobItem.State.PENDING, JobItem.State.WAITING):
            return
        it.state = JobItem.State.FAILED
        it.error = str(error)[:2000]
        it.save(update_fields=["state", "error", "updated_at"])
        job_count(job_id, failed=1)


def restore_request_batch(job_id: int) -> bool:
    """Send RestoreObject for the pending items, RESTORE_BATCH at a time. Returns True while
    anything is waiting. Items whose asset is already restoring (another job asked) just wait."""
    job = job_start(job_id)
    if job is None:
        return False
    storage = storage_for(job.source)
    tier, days = job.params.get("tier", settings.RESTORE_TIER), int(job.params.get("days", settings.RESTORE_DAYS))
    batch = max(1, settings.RESTORE_BATCH)
    while True:
        if not job_may_continue(job_id):
            return False
        items = list(JobItem.objects.select_related("asset").filter(job_id=job_id, state=JobItem.State.PENDING)[:batch])
        if not items:
            break
        for item in items:
            try:
                with transaction.atomic():
                    asset = Asset.objects.select_for_update().get(pk=item.asset_id)
                    it = JobItem.objects.select_for_update().get(pk=item.pk)
                    if it.state != JobItem.State.PENDING:
                        continue
                    if asset.state == Asset.State.AVAILABLE and asset.restore_lapsed():
                        asset.state = Asset.State.ARCHIVED  # its restored copy is gone: ask again
                    if asset.state == Asset.State.ARCHIVED:
                        outcome = storage.restore(asset.key, days=days, tier=tier)
                        asset.state = Asset.State.RESTORING
                        asset.save(update_fields=["state", "updated_at"])
                        job_event(job, "restore_requested", asset=asset.pk, outcome=outcome)
                    if asset.state == Asset.State.RESTORING:
                        it.state = JobItem.State.WAITING
                        it.attempts += 1
                        it.save(update_fields=["state", "attempts", "updated_at"])
                        job_count(job_id, found=0)
                    else:
                        # restored meanwhile, vanished, or never archived: nothing to ask for
                        it.state = JobItem.State.SKIPPED if asset.state != Asset.State.VANISHED else JobItem.State.FAILED
                        it.error = "" if asset.state != Asset.State.VANISHED else "object vanished"
                        it.save(update_fields=["state", "error", "updated_at"])
                        job_count(job_id, processed=int(asset.state != Asset.State.VANISHED),
                                  failed=int(asset.state == Asset.State.VANISHED))
            except PER_OBJECT_ERRORS as exc:
                # this object only (rewritten as STANDARD, deleted, denied): its item fails with the
                # reason and the batch goes on; anything else is transient and retries the batch
                _mark_failed(job_id, item, exc)
    return _still_waiting(job_id)


def _still_waiting(job_id) -> bool:
    if JobItem.objects.filter(job_id=job_id, state__in=[JobItem.State.PENDING, JobItem.State.WAITING]).exists():
        return True
    job_finish(job_id)
    return False


def restore_poll_chain_start(job_id: int) -> str:
    """A new token for the job's polling chain, stored on the job; the chain carries it and a chain
    whose token is no longer the job's stops (`restore_poll_once`). Why: every start of the job
    (confirm, each Resume, a re-queue by the sweep) begins a chain, and each chain reschedules
    itself, so three Pause/Resume cycles left four chains polling (4x HeadObject, and 4x the
    "ask again" RestoreObject); with the token only the newest one goes on."""
    token = secrets.token_hex(8)
    job_set_params(job_id, poll_chain=token)
    return token


def restore_poll_once(job_id: int, chain: str | None = None) -> bool:
    """HeadObject for every waiting item; True while some are still waiting (keep polling).
    A polling chain passes its token (`restore_poll_chain_start`): a superseded chain stops here,
    before asking S3 anything."""
    job = Job.objects.select_related("source").get(pk=job_id)
    if job.state != Job.State.RUNNING:
        return False
    if chain is not None and job.params.get("poll_chain") != chain:
        return False
    storage = storage_for(job.source)
    tier, days = job.params.get("tier", settings.RESTORE_TIER), int(job.params.get("days", settings.RESTORE_DAYS))
    for item in JobItem.objects.select_related("asset").filter(job_id=job_id, state=JobItem.State.WAITING).iterator(chunk_size=500):
        if not job_may_continue(job_id):
            return False
        try:
            info = storage.head(item.asset.key)
        except PER_OBJECT_ERRORS as exc:
            _mark_failed(job_id, item, exc)
            continue
        if info.etag and item.asset.etag and info.etag != item.asset.etag:
            _mark_failed(job_id, item, "object changed since the inventory; re-inventory the source")
            continue
        if 'ongoing-request="false"' in (info.restore or "") or not info.needs_restore and not info.restore:
            _mark_restored(job_id, item, _expiry(info.restore))
        elif not info.restore:
            # the restored copy expired (or the request was lost) before we saw it: ask again
            try:
                storage.restore(item.asset.key, days=days, tier=tier)
                job_event(job, "restore_requested_again", asset=item.asset_id)
            except PER_OBJECT_ERRORS as exc:
                _mark_failed(job_id, item, exc)
            except StorageError:
                continue  # transient (throttled, 5xx, unreachable): still waiting, the next poll asks again
    Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
    return _still_waiting(job_id)


def restore_run(job_id: int, *, wait=False, sleep=None, progress=None) -> Job:
    """Inline (no broker): request, then poll once, or until done when `wait`."""
    import time

    waiting = restore_request_batch(job_id)
    while waiting:
        waiting = restore_poll_once(job_id)
        if progress:
            progress(Job.objects.get(pk=job_id))
        if not wait or not waiting:
            break
        time.sleep(sleep if sleep is not None else poll_interval(Job.objects.get(pk=job_id)))
    return Job.objects.get(pk=job_id)


def restore_counts(job: Job) -> dict:
    """Waiting / restored / failed, with bytes: what the job page shows."""
    c = job_item_counts(job)
    return {
        "pending": c["pending"],
        "waiting": c["waiting"],
        "restored": {"count": c["done"]["count"] + c["skipped"]["count"], "bytes": c["done"]["bytes"] + c["skipped"]["bytes"]},
        "failed": c["failed"],
    }

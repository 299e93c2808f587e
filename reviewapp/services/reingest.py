"""Reingest: a clean-up copy that must go into the canonical store (the only good copy when the
canonical is damaged, or a copy holding more than its canonical), tracked until the canonical
store provably holds it: present, same checksum, decodes. Until then the clean-up copy is the
one to keep, and the deletion executor refuses it (invariant 3).

queued → copied (to settings.INGEST_LOCATION, with a manifest) → submitted → ingested (reported
through the API, or found by the checker in a canonical source) → verified; or failed (with a
reason, retryable or not). Every transition is one service call with a ReingestEvent.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

import matching
from matching.verdict import damage_score

from ..models import Asset, Candidate, ReingestEvent, ReingestItem, ReviewItem, Source
from ..roles import is_admin
from ..selectors.takedown import taken_down_ids
from ..storage import (
    ObjectMissing,
    StorageError,
    UnsafeKey,
    check_key,
    location_from_text,
    sha256_file,
    storage_for,
)
from ..tasks.execution import reingest_check_task, reingest_dispatch_task, reingest_verify_one_task
from .analysis import asset_facts
from .deletion.common import review_return
from .exports import csv_text
from .sources import overlap_refusal, source_places

log = logging.getLogger(__name__)
State = ReingestItem.State

# Queued items wait this long before the periodic dispatcher copies them, so a curator can still
# undo a reingest decision; an admin's "send now" dispatches at once.
DISPATCH_GRACE = timedelta(minutes=15)


# What a reingest of a taken-down object says, and why nothing more is done with it
TAKEN_DOWN = "removed by a legal takedown"


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def reingest_takedown_refusal(asset_id) -> str | None:
    """Why nothing may be sent for ingest, copied, retried, reported or verified for this asset, or
    None: a legal takedown removed it. The one rule every step below asks.

    Why: a takedown closed only reingests that had already been copied; a queued one stayed open, and
    once the file came back at its key a retry and "send now" copied the taken-down picture into the
    ingest drop folder for the canonical store to take in (a fresh-eyed attack)."""
    if taken_down_ids([asset_id]):
        return f"the object was {TAKEN_DOWN}: nothing of it is sent for ingest"
    return None


def _event(item, from_state, actor=None, **detail):
    ReingestEvent.objects.create(item=item, from_state=from_state, to_state=item.state, actor=_actor(actor), detail=detail)


def _move(item, to_state, *, actor=None, fields=(), **detail):
    """One transition: lock, check it still holds, save, event."""
    prev = item.state
    item.state = to_state
    item.save(update_fields=["state", "updated_at", *fields])
    _event(item, prev, actor, **detail)
    return item


def ingest_storage():
    """The configured ingest location ("local:/path" or "s3:PROFILE:BUCKET/PREFIX") and its
    spelling, which each reingest records as where its copy went."""
    store, location = location_from_text(settings.INGEST_LOCATION or "", what="DOPPEL_INGEST_LOCATION")
    why = overlap_refusal(store, source_places())
    if why:
        # (sources are refused over it at registration; this is the other order: the setting changed
        # to a place inside a source, where an inventory would list Doppel's copy as ingested)
        raise StorageError(f"DOPPEL_INGEST_LOCATION {location} {why}: nothing is copied there")
    store.make_ready()
    return store, location


# --- requests and undo --------------------------------------------------------------------------


def reingest_request(*, actor, asset, reason, decision=None) -> ReingestItem:
    """Queue `asset` for reingest. One item per decision, and one open item per asset: asking
    twice returns the item already on its way."""
    reason = (reason or "").strip()
    why = reingest_takedown_refusal(asset.pk)
    if why:
        raise ValidationError(why)
    with transaction.atomic():
        if decision is not None:
            existing = ReingestItem.objects.select_for_update().filter(decision=decision).first()
            if existing is not None:
                return existing
        open_item = (
            ReingestItem.objects.select_for_update()
            .filter(asset=asset)
            .exclude(state__in=[State.FAILED, State.WITHDRAWN])
            .first()
        )
        if open_item is not None and (decision is None or open_item.decision_id is None):
            return open_item
        item = ReingestItem.objects.create(asset=asset, decision=decision, reason=reason, created_by=_actor(actor))
        _event(item, "", actor, reason=reason)
        return item


def reingest_withdraw(*, actor, decision) -> ReingestItem | None:
    """Undo of a reingest decision: possible only while nothing has been copied yet."""
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().filter(decision=decision).first()
        if item is None or item.state == State.WITHDRAWN:
            return item
        if item.state != State.QUEUED:
            raise ValidationError(f"the reingest is already {item.get_state_display().lower()}; it can no longer be withdrawn")
        item.retryable = False
        return _move(item, State.WITHDRAWN, actor=actor, fields=["retryable"], reason="decision undone")


def reingest_retry(*, actor, item) -> ReingestItem:
    """A failed reingest goes back to the last step that had succeeded."""
    if not is_admin(actor):
        raise PermissionDenied("only an admin can retry a reingest")
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().get(pk=item.pk)
        if item.state != State.FAILED:
            raise ValidationError(f"only a failed reingest can be retried (this one is {item.get_state_display().lower()})")
        if not item.retryable:
            raise ValidationError(f"this failure cannot be retried: {item.error}")
        why = reingest_takedown_refusal(item.asset_id)
        if why:
            raise ValidationError(why)
        to = State.SUBMITTED if item.manifest_key else State.QUEUED
        item.error = ""
        return _move(item, to, actor=actor, fields=["error"], retry=True)


def _fail(item, error, *, retryable=True, actor=None):
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().get(pk=item.pk)
        if item.state in (State.VERIFIED, State.WITHDRAWN):
            return item
        item.error = str(error)[:4000]
        item.retryable = retryable
        item.attempts += 1
        return _move(item, State.FAILED, actor=actor, fields=["error", "retryable", "attempts"], error=item.error[:500],
                     retryable=retryable)


# --- copy and submit ----------------------------------------------------------------------------


def _manifest(item):
    row = {
        "key": item.target_key, "checksum_sha256": item.checksum, "reason": item.reason, "size": item.asset.size,
        "original_source": item.asset.source.name, "original_key": item.asset.key, "doppel_reingest_id": item.pk,
    }
    # manifest.json carries the exact values for the ingest system; manifest.csv is the copy a
    # person opens in a spreadsheet, so its cells are neutralised like every other export.
    return json.dumps({"items": [row]}, indent=2).encode(), csv_text(list(row), [row.values()]).encode()


def reingest_copy(*, actor=None, item) -> ReingestItem:
    """queued → copied → submitted: put the bytes and a manifest (JSON and CSV: key, checksum,
    reason) in the ingest location. Idempotent: a rerun after a crash rewrites the same files."""
    item = ReingestItem.objects.select_related("asset__source").get(pk=item.pk)
    if item.state not in (State.QUEUED, State.COPIED):
        return item
    if reingest_takedown_refusal(item.asset_id):
        return _fail(item, TAKEN_DOWN, retryable=False, actor=actor)
    asset = item.asset
    dest, location = ingest_storage()
    target_key = check_key(f"{item.pk}/{asset.name}")
    if item.state == State.QUEUED:
        src = storage_for(asset.source)
        try:
            with src.fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
                analysis = matching.analyse_file(path, name=asset.name, max_pixels=settings.MAX_IMAGE_PIXELS)
                if analysis.status == "unreadable":
                    return _fail(item, f"the copy to reingest does not decode: {'; '.join(analysis.errors[:2])}", retryable=False, actor=actor)
                checksum = sha256_file(path)
                size = Path(path).stat().st_size
                if asset.checksum and checksum != asset.checksum:
                    # the curator routed the picture they saw; other bytes at its key are not it
                    return _fail(item, f"{asset.source.name}:{asset.key} changed since it was analysed and decided "
                                       f"(sha256 {checksum[:12]}…, not {asset.checksum[:12]}…): analyse it again and "
                                       "decide anew", retryable=False, actor=actor)
            # server-side where the storage allows it (same S3 profile, local to local), and only of the
            # object as it was read above (its ETag): a write in between fails the copy, to be retried
            info = src.copy_to(asset.key, dest, target_key, if_etag=asset.etag or None)
        except ObjectMissing:
            # retryable: a file moved away for a while (a remount, a tidy-up put back) comes back; the retry
            # copies it again only if its bytes are still the ones decided on (the checksum test above)
            return _fail(item, f"{asset.source.name}:{asset.key} no longer exists; retry once it is back", actor=actor)
        if info.size != size:
            _remove(dest, [target_key])
            return _fail(item, "the copy in the ingest location has the wrong size", actor=actor)
        with transaction.atomic():
            item = ReingestItem.objects.select_for_update().get(pk=item.pk)
            if item.state != State.QUEUED:
                # withdrawn or taken down meanwhile: the copy goes now (nothing recorded it, so no
                # takedown would find it, and an ingest system watching the folder could take it in)
                _remove_unwanted(item, dest, [target_key])
                return item
            item.checksum, item.target_location, item.target_key = checksum, location, target_key
            _move(item, State.COPIED, actor=actor, fields=["checksum", "target_location", "target_key"],
                  location=location, key=target_key, checksum=checksum)
    manifest_json, manifest_csv = _manifest(item)
    manifest_key = check_key(f"{item.pk}/manifest.json")
    dest.put(manifest_key, manifest_json, content_type="application/json")
    dest.put(check_key(f"{item.pk}/manifest.csv"), manifest_csv, content_type="text/csv")
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().get(pk=item.pk)
        if item.state != State.COPIED:
            _remove_unwanted(item, dest, [manifest_key, check_key(f"{item.pk}/manifest.csv")])
            return item
        item.manifest_key = manifest_key
        return _move(item, State.SUBMITTED, actor=actor, fields=["manifest_key"], manifest=manifest_key)


def reingest_process_queued(*, item_ids=None, grace=DISPATCH_GRACE, actor=None) -> dict:
    """Copy queued items (older than the grace period unless named)."""
    qs = ReingestItem.objects.filter(state__in=[State.QUEUED, State.COPIED])
    if item_ids:
        qs = qs.filter(pk__in=item_ids)
    elif grace:
        qs = qs.filter(created_at__lte=timezone.now() - grace)
    counts = {"submitted": 0, "failed": 0}
    for pk in list(qs.values_list("pk", flat=True)):
        try:
            item = reingest_copy(actor=actor, item=ReingestItem(pk=pk))
        except (StorageError, UnsafeKey, OSError) as exc:
            item = _fail(ReingestItem(pk=pk), f"copy failed: {exc}", actor=actor)
        counts["submitted" if item.state == State.SUBMITTED else "failed"] += 1
    return counts


def reingest_send_now(*, actor, items=None) -> int:
    """Admin: dispatch queued items at once (in the background)."""
    if not is_admin(actor):
        raise PermissionDenied("only an admin can send reingests")
    qs = ReingestItem.objects.filter(state=State.QUEUED).exclude(asset__takedowns__isnull=False)
    if items is not None:
        qs = qs.filter(pk__in=[getattr(i, "pk", i) for i in items])
    ids = list(qs.values_list("pk", flat=True))
    if ids:
        transaction.on_commit(lambda: reingest_dispatch_task.delay(ids))
    return len(ids)


def _remove(dest, keys) -> None:
    for key in keys:
        try:
            dest.delete(key)
        except ObjectMissing:
            pass


def _remove_unwanted(item, dest, keys) -> None:
    """Files this step wrote for an item withdrawn or taken down meanwhile go at once (under the
    item's lock, which undo and the takedown's step take too, so one of the two always sees the
    other's work). Why: a copy left as "clutter" by an undo was never recorded, so a later takedown
    of the object did not find it in the drop folder (a fresh-eyed attack)."""
    if item.state == State.WITHDRAWN or reingest_takedown_refusal(item.asset_id):
        _remove(dest, keys)


def ingest_keys(item) -> list[str]:
    """The files a reingest put in the ingest location: the copy and its manifests."""
    keys = [item.target_key, item.manifest_key, f"{item.pk}/manifest.csv" if item.manifest_key else ""]
    return [check_key(k) for k in keys if k]


def reingest_takedown(*, actor, item) -> str:
    """A legal takedown's step for one reingest of the object, whatever its state: its copy and
    manifests leave the ingest location, and an open or failed item is closed for good (failed,
    ``TAKEN_DOWN``, not retryable), so neither the dispatcher, Retry, "send now", a report of it
    as ingested nor the checker acts on it again. A verified reingest keeps its state: it was
    ingested, and its canonical copy is another object, which the takedown names for a person to
    take down too if the order covers it. Done under the item's row lock, as the copy step records
    its copy, so a copy in flight is either found here or removes itself. Returns the step's words.

    Why: a takedown closed only reingests whose copy was recorded (a queued one stayed open, and was
    later copied for ingest), and it rewrote a verified one as failed, hiding that it was ingested."""
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update(of=("self",)).select_related(
            "canonical_asset__source", "asset").get(pk=item.pk)
        keys = ingest_keys(item)
        elsewhere = ""
        if keys:
            dest, location = ingest_storage()
            if item.target_location and item.target_location != location:
                # the item is closed all the same (below); the copy there is for a person to remove
                elsewhere = (f"the copy is in {item.target_location}, no longer the configured ingest location "
                             f"({location}): remove {item.target_location}/{item.target_key} and its manifests there")
                keys = []
            else:
                _remove(dest, keys)
        if not keys and settings.INGEST_LOCATION:
            # nothing recorded: where a copy of it would be, had one been left unrecorded (an undo's clutter
            # before stop 74), is looked at too; this location's own faults do not fail the takedown here
            try:
                dest, _location = ingest_storage()
                _remove(dest, [check_key(k) for k in (f"{item.pk}/{item.asset.name}", f"{item.pk}/manifest.json",
                                                      f"{item.pk}/manifest.csv")])
            except (StorageError, UnsafeKey):
                pass
        said = f"ingest copy removed ({item.target_location}/{item.target_key})" if keys else ""
        if item.state == State.VERIFIED:
            canonical = item.canonical_asset
            _event(item, item.state, actor, takedown=True, ingest_keys_removed=keys)
            where = f"{canonical.source.name}:{canonical.key}" if canonical else item.canonical_key
            closed = "; ".join(filter(None, [said, f"reingest #{item.pk} stays verified: its canonical copy {where} "
                                                   f"is another object, to take down too if the order covers it"]))
        elif item.state == State.WITHDRAWN or (item.state == State.FAILED and item.error == TAKEN_DOWN):
            closed = said
        else:
            item.error, item.retryable = TAKEN_DOWN, False
            _move(item, State.FAILED, actor=actor, fields=["error", "retryable"], takedown=True, ingest_keys_removed=keys)
            closed = "; ".join(filter(None, [said, f"reingest #{item.pk} closed"]))
    if elsewhere:
        # (raised once the item's closing is committed: the takedown reports this step failed, with why)
        raise StorageError(f"reingest #{item.pk} {'stays verified' if item.state == State.VERIFIED else 'closed'}, "
                           f"but {elsewhere}")
    return closed


# --- ingested and verified ----------------------------------------------------------------------


def _canonical_source(source=None):
    if source is not None:
        if source.role != Source.Role.CANONICAL:
            raise ValidationError("the reingested copy must be in a canonical source")
        return source
    sources = list(Source.objects.filter(role=Source.Role.CANONICAL)[:2])
    if len(sources) != 1:
        raise ValidationError("name the canonical source the copy was ingested into")
    return sources[0]


def _canonical_asset(source, key) -> Asset:
    """Find or inventory the object the canonical store says it holds."""
    key = check_key(key)
    asset = Asset.objects.filter(source=source, key=key).first()
    if asset is not None:
        if taken_down_ids([asset.pk]):
            # (its row is the taken-down object's record: nothing is written onto it, nothing pairs with it)
            raise ValidationError({"canonical_key": f"{source.name}:{key} is an object a legal takedown removed; an "
                                                    "ingested copy under that key needs a new row: an admin takes it "
                                                    "down again or moves it, then reports the copy's new key"})
        return asset
    info = storage_for(source).head(key)
    asset, _ = Asset.objects.get_or_create(
        source=source, key=key,
        defaults=dict(name=key.rsplit("/", 1)[-1], size=info.size, etag=info.etag, last_modified=info.last_modified,
                      storage_class=info.storage_class, version_id=info.version_id, state=Asset.State.AVAILABLE),
    )
    return asset


# The states from which the canonical store's word that it holds the copy is taken: the copy left
# (copied, submitted), or the check of a reported key failed and the right key is recorded instead.
REPORTABLE_STATES = (State.SUBMITTED, State.COPIED, State.FAILED)


def reingest_ingested_refusal(item) -> str | None:
    """Why `item` cannot be recorded as ingested now, or None: the one rule reingest_report_ingested
    applies and the pages offer "Record as ingested" by. The checker proves the canonical copy by
    the checksum taken when the file was copied; an item that failed before that has none, and a
    report of it could only fail its check (or never be checked at all)."""
    why = reingest_takedown_refusal(item.asset_id)
    if why:
        return why
    if item.state not in REPORTABLE_STATES:
        return f"the reingest is {item.get_state_display().lower()}; it cannot be reported ingested"
    if not item.checksum:
        return ("its file was never copied, so there is no checksum to check a canonical copy against"
                + (": retry it first" if item.retryable else ""))
    return None


def reingest_report_ingested(*, actor, item, canonical_key, source=None) -> ReingestItem:
    """The canonical store reports it holds the copy (API or UI). The checker verifies it next."""
    try:
        canonical_key = check_key(canonical_key)
    except UnsafeKey as exc:
        raise ValidationError({"canonical_key": str(exc)}) from exc
    source = _canonical_source(source)
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().get(pk=item.pk)
        if item.state == State.INGESTED and item.canonical_key == canonical_key:
            return item
        why = reingest_ingested_refusal(item)
        if why:
            raise ValidationError(why)
        try:
            asset = _canonical_asset(source, canonical_key)
        except ObjectMissing:
            raise ValidationError({"canonical_key": f"{source.name} has no object {canonical_key}"}) from None
        item.canonical_key, item.canonical_asset, item.error = canonical_key, asset, ""
        _move(item, State.INGESTED, actor=actor, fields=["canonical_key", "canonical_asset", "error"],
              source=source.name, key=canonical_key, reported=True)
    item_id = item.pk
    transaction.on_commit(lambda: reingest_verify_one_task.delay(item_id))
    return item


def _find_in_canonical(item):
    """The checker looks for the copy itself: canonical assets with the same name (inventoried),
    then the same key in each canonical source. Returns (asset, path-checked checksum) or None."""
    name = item.asset.name
    seen = set()
    candidates = list(
        Asset.objects.filter(source__role=Source.Role.CANONICAL, name=name).exclude(state=Asset.State.VANISHED)
        .exclude(takedowns__isnull=False).select_related("source")[:20]
    )
    for source in Source.objects.filter(role=Source.Role.CANONICAL):
        for key in {item.asset.key, name}:
            try:
                if storage_for(source).exists(key):
                    candidates.append(_canonical_asset(source, key))
            except (StorageError, UnsafeKey, ValidationError):   # (ValidationError: a taken-down row)
                continue
    for asset in candidates:
        if asset.pk in seen:
            continue
        seen.add(asset.pk)
        try:
            with storage_for(asset.source).fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
                if sha256_file(path) == item.checksum:
                    return asset
        except StorageError:
            continue
    return None


def reingest_verify(*, actor=None, item) -> ReingestItem:
    """The checker: present in the canonical store, checksum equal, decodes. Then the canonical
    object becomes the kept copy of the clean-up file, which goes back to review."""
    item = ReingestItem.objects.select_related("asset__source", "canonical_asset__source").get(pk=item.pk)
    if item.state in (State.SUBMITTED, State.INGESTED) and reingest_takedown_refusal(item.asset_id):
        return _fail(item, TAKEN_DOWN, retryable=False, actor=actor)
    if item.state == State.SUBMITTED:
        found = _find_in_canonical(item)
        if found is None:
            return item  # not there yet; the next check looks again
        with transaction.atomic():
            item = ReingestItem.objects.select_for_update().get(pk=item.pk)
            if item.state != State.SUBMITTED:
                return item
            item.canonical_asset, item.canonical_key = found, found.key
            _move(item, State.INGESTED, actor=actor, fields=["canonical_asset", "canonical_key"],
                  source=found.source.name, key=found.key, found_by_checker=True)
        item = ReingestItem.objects.select_related("asset__source", "canonical_asset__source").get(pk=item.pk)
    if item.state != State.INGESTED:
        return item
    canonical = item.canonical_asset
    if taken_down_ids([canonical.pk]):
        return _fail(item, f"the canonical copy {canonical.source.name}:{canonical.key} is an object a legal takedown "
                           "removed: report the ingested copy's own key", actor=actor)
    store = storage_for(canonical.source)
    cleanup = item.asset
    try:
        info = store.head(canonical.key)
        with store.fetch(canonical.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
            checksum = sha256_file(path)
            analysis = matching.analyse_file(path, name=canonical.name, max_pixels=settings.MAX_IMAGE_PIXELS)
            try:
                with storage_for(cleanup.source).fetch(cleanup.key, max_bytes=settings.MAX_OBJECT_BYTES) as cleanup_path:
                    pair = matching.verify_pair(cleanup_path, path, match=analysis)
            except ObjectMissing:
                # (said apart: one message for both reads blamed the canonical copy, which was there)
                return _fail(item, f"the clean-up copy {cleanup.source.name}:{cleanup.key} is no longer there to "
                                   f"compare the canonical copy with; retry once it is back", actor=actor)
    except ObjectMissing:
        return _fail(item, f"{canonical.source.name}:{canonical.key} is not in the canonical store", actor=actor)
    except StorageError as exc:
        return _fail(item, f"check failed: {exc}", actor=actor)
    if checksum != item.checksum:
        return _fail(item, f"checksum differs in the canonical store ({checksum[:12]}… ≠ {item.checksum[:12]}…)",
                     retryable=False, actor=actor)
    if analysis.status != "ok":
        return _fail(item, f"the canonical copy does not decode fully ({analysis.status})", retryable=False, actor=actor)
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().get(pk=item.pk)
        if item.state != State.INGESTED:
            return item
        if reingest_takedown_refusal(item.asset_id):
            # taken down while the copies were compared: no candidate, no review item for it
            item.error, item.retryable = TAKEN_DOWN, False
            return _move(item, State.FAILED, actor=actor, fields=["error", "retryable"], error=TAKEN_DOWN)
        Asset.objects.filter(pk=canonical.pk).update(
            etag=info.etag, size=info.size, checksum=checksum, decode_status=Asset.DecodeStatus.OK,
            **asset_facts(analysis), analysis=analysis.to_dict(),
            engine_version=matching.ENGINE_VERSION, analysed_etag=info.etag, analysed_at=timezone.now(),
            state=Asset.State.FINGERPRINTED,
        )
        item.verified_at = timezone.now()
        _move(item, State.VERIFIED, actor=actor, fields=["verified_at"], checksum=checksum, etag=info.etag)
        # The new canonical object is now the copy to keep: offer it in review as the best match.
        cand, _ = Candidate.objects.update_or_create(
            cleanup_asset=item.asset, match_asset_id=canonical.pk, engine_version=matching.ENGINE_VERSION,
            defaults=dict(
                found_by="reingest", diff_score=pair.diff_score, local_score=pair.local_score, rotation=pair.rotation or 0,
                damage_score=damage_score(corrupt_side=pair.corrupt_side or "none", region=pair.region),
                flipped=bool(pair.flipped), corrupt_side=pair.corrupt_side or "none", verdict=pair.verdict,
                safe_to_delete=bool(pair.safe_to_delete), reasons=list(pair.reasons or []), thresholds=pair.thresholds.to_dict(),
                cleanup_etag=item.asset.etag, match_etag=info.etag, rank=0,
            ),
        )
        review = ReviewItem.objects.select_for_update().filter(asset=item.asset).first()
        if review is None:
            ReviewItem.objects.create(asset=item.asset, best_candidate=cand, verdict=cand.verdict,
                                      diff_score=cand.diff_score, local_score=cand.local_score,
                                      damage_score=cand.damage_score)
        else:
            review.best_candidate, review.verdict = cand, cand.verdict
            review.diff_score, review.local_score, review.damage_score = cand.diff_score, cand.local_score, cand.damage_score
            review.save(update_fields=["best_candidate", "verdict", "diff_score", "local_score", "damage_score"])
            review_return(actor=actor, asset=item.asset, reason="reingest verified")
    return item


def reingest_check_queue() -> None:
    """Run the reingest checker now (an admin's request) instead of waiting for beat."""
    transaction.on_commit(lambda: reingest_check_task.delay())


def reingest_check_all(*, actor=None) -> dict:
    counts = {"verified": 0, "waiting": 0, "failed": 0}
    for pk in list(ReingestItem.objects.filter(state__in=[State.SUBMITTED, State.INGESTED]).values_list("pk", flat=True)):
        try:
            item = reingest_verify(actor=actor, item=ReingestItem(pk=pk))
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the checker
            log.exception("reingest check of %s failed", pk)
            item = _fail(ReingestItem(pk=pk), f"check failed: {exc}", actor=actor)
        key = {State.VERIFIED: "verified", State.FAILED: "failed"}.get(item.state, "waiting")
        counts[key] += 1
    return counts

"""Quarantine: where an executed deletion's object waits out retention, its restore, and its
purge. Content decides, never size: a quarantine copy is restored or purged only while it is the
content recorded when it was quarantined."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ...models import Asset, AuditEntry, DeletionItem, Source
from ...selectors.takedown import taken_down_ids
from ...storage import ObjectChanged, ObjectInfo, ObjectMissing, Storage, StorageError, check_key, source_location, storage_for
from .common import _audit_intent, _require_admin, review_return

log = logging.getLogger(__name__)


@dataclass
class QuarantineTarget:
    storage: Storage
    key: str
    location: str


def quarantine_target(item) -> QuarantineTarget:
    """Where an item's object waits out the retention period; the storage decides (a quarantine
    bucket/prefix on the same profile, or a folder for local sources). The item id in the path
    keeps a deleted-restored-deleted key from colliding."""
    source = item.asset.source
    key = check_key(item.asset.key)
    store, location = storage_for(source).quarantine_for(source.name, item.pk)
    _refuse_inside_sources(store)
    return QuarantineTarget(store, key, f"{location.rstrip('/')}/{key}")


def _refuse_inside_sources(store):
    """Quarantine must not reach any registered source, by any route: an inventory would list
    the held copies as new clean-up files (and could put them up for deletion again)."""
    for other in Source.objects.all():
        if store.overlap_with(source_location(other)):
            raise StorageError(
                f"the quarantine location lies inside source {other.name!r}; set DOPPEL_QUARANTINE_BUCKET, "
                "DOPPEL_QUARANTINE_PREFIX or DOPPEL_QUARANTINE_DIR outside every source"
            )


def _expected_token(store, item) -> str:
    """The content token the quarantine copy must have: the recorded sha256 (local) or ETag (S3)."""
    return store.recorded_token(etag=item.etag_at_decision, checksum=item.checksum_at_decision)


def _same_bytes(token, expected, *, size, expected_size) -> bool:
    # A multipart ETag ("…-N") is not an MD5 of the bytes and a server-side copy gets a new
    # one; for those only the size can be compared (the copy was made with CopySourceIfMatch).
    if token == expected:
        return True
    return expected.startswith("etag:") and "-" in expected and size == expected_size


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
    if taken_down_ids([item.asset_id]):
        # (a takedown purges its quarantine copies; a copy recorded after its step ran is never put back)
        raise ValidationError("the object was removed by a legal takedown: it is not restored")
    asset = item.asset
    src = storage_for(asset.source)
    target = quarantine_target(item)
    try:
        q = target.storage.head(target.key)
        q_token = target.storage.content_token(target.key)
    except ObjectMissing:
        return _restored_meanwhile(item)
    if item.quarantine_checksum and q_token != item.quarantine_checksum:
        raise ValidationError(f"the quarantine copy is not the one quarantined ({item.quarantine_checksum[:20]}… → "
                              f"{q_token[:20]}…); it is kept and nothing was restored")
    existing: ObjectInfo | None
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
        try:
            restored = target.storage.copy_to(target.key, src, asset.key, if_etag=q.etag)
        except ObjectMissing:
            return _restored_meanwhile(item)
    else:
        restored = existing  # a crashed restore already copied it back
    if not _same_bytes(src.content_token(asset.key), q_token, size=restored.size, expected_size=q.size):
        raise StorageError(f"the restored copy of {asset.key} is not the quarantined content; the quarantine copy is kept")
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        # PURGED: retention ran out while this restore copied the object back, and the purge removed the
        # quarantine copy after that. The object is at its key again (its content checked just above), so
        # the item is restored; left "purged", the file stayed out of review, counted gone, while it was back
        if item.state not in (DeletionItem.State.QUARANTINED, DeletionItem.State.PURGED):
            return item
        if taken_down_ids([item.asset_id]):
            # a takedown committed while this restore copied the object back, its own step having found
            # the object gone (it was in quarantine): what this restore put back goes again, with the copy
            _undo_restore_for_takedown(item, src, asset.key, restored, target)
            raise ValidationError("the object was removed by a legal takedown while it was being restored: it is "
                                  "not restored, and the copy put back at its key was removed again")
        item.state = DeletionItem.State.RESTORED
        item.save(update_fields=["state", "updated_at"])
        Asset.objects.filter(pk=asset.pk).update(state=Asset.state_analysed(asset.decode_status) if asset.analysis else Asset.State.AVAILABLE,
                                                 etag=restored.etag, version_id=restored.version_id,
                                                 inode=":".join(str(x) for x in restored.identity))
        review_return(actor=actor, asset=asset, reason="restored from quarantine")
    try:
        target.storage.delete(target.key, version_id=item.quarantine_version_id or None)
    except StorageError as exc:  # the object is back; a stray quarantine copy is only clutter
        log.warning("restored %s but could not remove its quarantine copy: %s", asset.key, exc)
    return item


def _undo_restore_for_takedown(item, src, key, restored, target) -> None:
    """Inside the restore's locked transaction: remove the object it copied back (that very version
    and content), then the quarantine copy as the takedown would."""
    try:
        src.delete(key, if_etag=restored.etag or None, version_id=restored.version_id or None)
    except ObjectMissing:
        pass
    quarantine_purge_for_takedown(item, target)


def quarantine_purge_for_takedown(item, target) -> None:
    """A taken-down object's quarantine copy goes and its item is recorded purged ("legal takedown"),
    the object vanished. The caller holds the item's row lock: the takedown's own step, an executor
    recording a copy it made as the order arrived, a restore the order overtook."""
    try:
        target.storage.delete(target.key, version_id=item.quarantine_version_id or None)
    except ObjectMissing:
        pass
    item.state, item.reason = DeletionItem.State.PURGED, "legal takedown"
    item.save(update_fields=["state", "reason", "updated_at"])
    Asset.objects.filter(pk=item.asset_id).update(state=Asset.State.VANISHED)


def _restored_meanwhile(item) -> DeletionItem:
    """The quarantine copy was not there to restore from: a restore of the same item that ran at the
    same time (a button clicked twice, a retried API call) finished first and removed it, and the item
    is restored (so this one is answered as done); otherwise it is gone and nothing can be restored."""
    item = DeletionItem.objects.get(pk=item.pk)
    if item.state == DeletionItem.State.RESTORED:
        return item
    raise ValidationError("the quarantine copy is gone; it cannot be restored")


def deletion_item_purge(*, actor, item) -> DeletionItem:
    """Retention is over: remove the quarantine copy for good (the exact version on a versioned
    bucket), and only if its content is the one recorded when it was quarantined. Object Lock
    is obeyed and reported on the item instead of failing silently."""
    item = DeletionItem.objects.select_related("asset__source", "kept_asset__source", "decision__actor").get(pk=item.pk)
    if item.state != DeletionItem.State.QUARANTINED:
        return item
    target = quarantine_target(item)
    lock = target.storage.lock_status(target.key, item.quarantine_version_id)
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

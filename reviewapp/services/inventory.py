"""Inventory: turn a listing (ListObjectsV2, an S3 Inventory report, or a directory walk) into
Asset rows. A re-inventory writes only the rows that changed (ETag, size, last modified, storage
class), in bulk and in chunks, and marks the objects no longer there as vanished, so a bucket of
a million objects costs a million comparisons, the changed rows, and one small UPDATE per chunk
of 1,000 that stamps the rows listed.

Vanished objects are found in constant memory: every inventory attempt takes a new generation
number from its source, stamps each object it lists with it, and at the end marks vanished, in
one UPDATE, the objects of the source whose stamp is older. A retry after a crash is a new
attempt with a new generation, so a stamp left by the crashed attempt never passes for "seen"
(an object deleted between the two attempts is found vanished) and a live object is always
stamped by the attempt that marks. Stamps only move forward, so of two overlapping inventories
of one source the earlier cannot mark vanished what the later one listed.
"""
from __future__ import annotations

import logging
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from matching.names import extract_ids as engine_extract

from ..models import Asset, AssetIdentifier, Job, Source
from ..selectors.takedown import taken_down_ids
from ..storage import ObjectInfo, StorageError, backend_of, storage_for
from .jobs import (
    job_count,
    job_counts_restart,
    job_create,
    job_dispatch,
    job_fail,
    job_finish,
    job_may_continue,
    job_set_params,
    job_start,
)
from .restore import restores_lapse

log = logging.getLogger(__name__)
CHUNK = 1000
# Rows an inventory must have written (new, changed, reappeared, vanished) before it refreshes the database's
# statistics of the asset tables itself (``_statistics_refreshed``)
STATISTICS_AFTER = 10_000


def extract_ids(name: str) -> list[str]:
    """IDs in a name, by the engine's rules (C0001234 ~ C1234a), so pairing by name and the
    engine agree."""
    return engine_extract(name, settings.ID_PATTERNS)


def _state_for(info: ObjectInfo) -> str:
    # a TextChoices member is a str (mypy sees a tuple without django-stubs)
    return Asset.State.ARCHIVED if info.needs_restore else Asset.State.LISTED  # type: ignore[return-value]


def _inode(info: ObjectInfo) -> str:
    """Physical identity of a local file (st_dev:st_ino), so the executor can refuse to delete
    anything that is physically a canonical object (a hard link, a bind mount)."""
    return f"{info.identity[0]}:{info.identity[1]}" if info.identity else ""


def _same_time(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return int(a.timestamp()) == int(b.timestamp())


def inventory_start(*, actor, source: Source, manifest: str | None = None, idempotency_key=None) -> Job:
    """Queue an inventory of `source`; `manifest` (s3://bucket/key/manifest.json) reads an S3
    Inventory report instead of listing the bucket."""
    if manifest and not backend_of(source).inventory_reports:
        raise ValidationError("an S3 Inventory report can only be used for an S3 source")
    with transaction.atomic():
        job = job_create(actor=actor, kind=Job.Kind.INVENTORY, source=source,
                         params={"manifest": manifest} if manifest else {}, idempotency_key=idempotency_key)
        if job.state == Job.State.QUEUED:
            job_dispatch(job)
    return job


def _listing(source: Source, job: Job):
    storage = storage_for(source)
    manifest = job.params.get("manifest")
    if manifest:
        return storage.inventory_listing(manifest)
    return storage.list()


def _unfit(info: ObjectInfo) -> str:
    """Which listed field would not fit its column (a listing or inventory report is outside
    data: a hostile or broken store must not turn into a database error), or ""."""
    for field, value in (("key", info.key), ("etag", info.etag), ("storage_class", info.storage_class),
                         ("version_id", info.version_id)):
        limit = Asset._meta.get_field(field).max_length
        if value is not None and len(value) > limit:
            return f"{field} longer than {limit} characters"
    return ""


def _generation_next(source: Source) -> int:
    """A new inventory generation for `source` (the UPDATE holds the row until commit, so two
    attempts never get the same number)."""
    with transaction.atomic():
        Source.objects.filter(pk=source.pk).update(inventory_generation=F("inventory_generation") + 1)
        return Source.objects.filter(pk=source.pk).values_list("inventory_generation", flat=True).get()


def _not_stamped_by(generation: int) -> Q:
    return Q(last_seen_generation__isnull=True) | Q(last_seen_generation__lt=generation)


def _apply_chunk(source: Source, infos: list[ObjectInfo], generation: int, stats: dict):
    keeps_classes = backend_of(source).storage_classes
    by_key = {}
    for info in infos:
        why = _unfit(info)
        if why:
            stats["refused"] = stats.get("refused", 0) + 1
            log.warning("inventory of %s: object refused (%s): %.200r", source.name, why, info.key)
            continue
        by_key[info.key] = info  # a report may repeat a key; the last row wins
    with transaction.atomic():
        existing = {a.key: a for a in Asset.objects.filter(source=source, key__in=list(by_key)).only(
            "id", "key", "etag", "size", "last_modified", "storage_class", "state", "version_id", "inode",
            "analysed_etag", "decode_status")}
        new, changed = [], []
        # the vanished ones a legal takedown removed: one query for the chunk, not one for each that is back
        taken = taken_down_ids([a.pk for a in existing.values() if a.state == Asset.State.VANISHED])
        for key, info in by_key.items():
            a = existing.get(key)
            if a is None:
                new.append(Asset(
                    source=source, key=key, name=key.rsplit("/", 1)[-1][:512], size=info.size, etag=info.etag,
                    last_modified=info.last_modified, storage_class=info.storage_class if keeps_classes else "",
                    version_id=info.version_id, state=_state_for(info), ids=extract_ids(key), inode=_inode(info),
                    last_seen_generation=generation,
                ))
                continue
            sc = info.storage_class if keeps_classes else ""
            # Another file at the same key (a new inode) is new content even when size and mtime
            # match (`cp -p`): it is analysed again rather than trusted.
            content_changed = (a.etag != info.etag or a.size != info.size or not _same_time(a.last_modified, info.last_modified)
                               or bool(a.inode) and a.inode != _inode(info))
            if content_changed:
                a.etag, a.size, a.last_modified, a.version_id = info.etag, info.size, info.last_modified, info.version_id
                a.inode = _inode(info)
                a.storage_class = sc
                a.state = _state_for(info)
                a.checksum = ""
                a.restore_expires_at = None
                changed.append(a)
                stats["changed"] += 1
            elif a.state == Asset.State.VANISHED:
                # Back unchanged: an analysis of these very bytes still holds, so the file takes up
                # where it was (an analysis job skips a current file; pairing takes analysed ones).
                a.storage_class = sc
                # (not a taken-down one: it stays out of analysis and pairing until an admin acts)
                analysed = (a.analysed_etag == a.etag and a.decode_status != Asset.DecodeStatus.UNKNOWN
                            and a.pk not in taken)
                a.state = Asset.state_analysed(a.decode_status) if analysed else _state_for(info)
                changed.append(a)
                stats["reappeared"] += 1
            elif a.storage_class != sc:
                a.storage_class = sc
                if info.needs_restore and a.state in (Asset.State.LISTED, Asset.State.AVAILABLE):
                    a.state = Asset.State.ARCHIVED
                elif not info.needs_restore and a.state == Asset.State.ARCHIVED:
                    a.state = Asset.State.LISTED
                changed.append(a)
                stats["changed"] += 1
            else:
                stats["unchanged"] += 1
            if a.inode != _inode(info):  # recorded for the first time (rows from before identity)
                a.inode = _inode(info)
                if not changed or changed[-1] is not a:
                    changed.append(a)
        if new:
            Asset.objects.bulk_create(new, batch_size=CHUNK)
            created = dict(Asset.objects.filter(source=source, key__in=[a.key for a in new]).values_list("key", "id"))
            ident_rows = [AssetIdentifier(asset_id=created[a.key], value=v[:64]) for a in new for v in a.ids]
            if ident_rows:
                AssetIdentifier.objects.bulk_create(ident_rows, ignore_conflicts=True, batch_size=CHUNK)
            stats["new"] += len(new)
        if changed:
            _taken_down_back(source, changed, stats)
            for a in changed:
                a.updated_at = timezone.now()
            Asset.objects.bulk_update(
                changed, ["etag", "size", "last_modified", "version_id", "inode", "storage_class", "state", "checksum",
                          "restore_expires_at", "updated_at"], batch_size=CHUNK)
        if existing:
            # the stamp is bookkeeping, not a change (updated_at stays); a later generation's
            # stamp, from an overlapping inventory, is never moved back
            Asset.objects.filter(pk__in=[a.pk for a in existing.values()]).filter(
                _not_stamped_by(generation)).update(last_seen_generation=generation)
    return len(new), len(changed)


def _taken_down_back(source: Source, changed: list, stats: dict) -> None:
    """Objects a legal takedown removed that are listed again (restored from a backup, copied back, or
    gone only by chance when the takedown found them "already gone"): counted in the job's stats as
    ``taken_down_back`` and logged, and each one's page says so (``asset_fate``), for an admin to take
    them down again. Not removed here: a takedown is an admin's act, with its written reason."""
    back = taken_down_ids([a.pk for a in changed if a.state != Asset.State.VANISHED])
    if back:
        stats["taken_down_back"] = stats.get("taken_down_back", 0) + len(back)
        keys = [a.key for a in changed if a.pk in back]
        log.warning("inventory of %s: %d object(s) a legal takedown removed are back at their keys: %.500r",
                    source.name, len(back), keys)


def _mark_vanished(source: Source, generation: int) -> int:
    """Everything of `source` this generation did not list: one statement, nothing in memory."""
    with transaction.atomic():
        return (Asset.objects.filter(source=source).exclude(state=Asset.State.VANISHED)
                .filter(_not_stamped_by(generation))
                .update(state=Asset.State.VANISHED, updated_at=timezone.now()))


def _statistics_refreshed(stats: dict) -> bool:
    """``ANALYZE`` the asset and identifier tables after an inventory that wrote ``STATISTICS_AFTER`` rows or
    more; True when it did. Why: the planner's row estimates for a source come from these statistics, and a
    source inventoried a moment ago has none until autovacuum gets round to it (or ever, where it is off). Then
    every query that names the source scans all its assets by the source index instead of probing
    (source, key): name-list lookups of 500 keys took 67 ms each instead of 0.5 ms, 18-26 s of a 499,000-line
    list's job against 100,000 fresh assets (3.3 s once analysed); analysis and pairing run on the same rows
    next. PostgreSQL samples a table (about a second at 1M rows); SQLite's ANALYZE reads it, and one statement
    serves both."""
    written = stats["new"] + stats["changed"] + stats["reappeared"] + stats["vanished"]
    if written < STATISTICS_AFTER:
        return False
    with connection.cursor() as cursor:
        for model in (Asset, AssetIdentifier):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return True


def inventory_run(job_id: int, *, progress=None) -> Job | None:
    """The work of an inventory job (called by the task, or inline by the command)."""
    job = job_start(job_id)
    if job is None:
        return None
    source = job.source
    stats = {"new": 0, "changed": 0, "unchanged": 0, "reappeared": 0, "vanished": 0}
    generation = _generation_next(source)
    if job.requested or job.found or job.processed or job.failed or job.bytes_total:
        job_counts_restart(job_id)  # a retry or a resume lists everything again: count it afresh
    try:
        it = iter(_listing(source, job))
        while True:
            chunk = list(islice(it, CHUNK))
            if not chunk:
                break
            if not job_may_continue(job_id):
                job_set_params(job_id, stats=stats, note="stopped before the listing finished; vanished not marked")
                return Job.objects.get(pk=job_id)
            _apply_chunk(source, chunk, generation, stats)
            size = sum(i.size for i in chunk)
            job_count(job_id, requested=len(chunk), found=len(chunk), processed=len(chunk), bytes_total=size, bytes_done=size)
            if progress:
                progress(len(chunk))
    except StorageError as exc:
        job_fail(job_id, f"listing {source.location} failed: {exc}")
        raise
    stats["vanished"] = _mark_vanished(source, generation)
    _statistics_refreshed(stats)
    if backend_of(source).archive_tiers:
        # a listing cannot tell a restored copy from none (no x-amz-restore in it): the recorded expiry does
        restores_lapse(Asset.objects.filter(source=source))
    Source.objects.filter(pk=source.pk).update(last_inventory_at=timezone.now())
    job_set_params(job_id, stats=stats)
    return job_finish(job_id, **stats)

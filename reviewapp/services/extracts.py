"""Extracts: name lists packaged for people who asked for "these files, by name".

One tar archive per name list, written as a stream straight into the configured extract
location (a temp file renamed into place, or an S3 multipart upload), so memory stays flat for a
list of any length. Each member is read, hashed and written once; the manifest (CSV and JSON,
inside the archive as `manifest.csv` / `manifest.json` and as ExtractMember rows) says for every
name requested what became of it: extracted, not found, ambiguous (and which one was chosen,
why), in an archive tier (with the restore estimate), failed (with the reason), removed by a
legal takedown, or repeated (an object an earlier line already named: it is fetched, stored and
counted once, on that line).

An archive is built whole or not at all: a paused, cancelled, crashed or retried build leaves no
partial object and its members are written again from scratch, so nothing is ever in an archive
or a manifest twice. Every extract has an expiry; `extract_expire_due` (beat) deletes the
archives after it, with an audit row first.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import random
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time as clock_time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.text import slugify

from ..models import (
    Asset,
    AuditEntry,
    Extract,
    ExtractArchive,
    ExtractMember,
    Job,
    NameList,
    NameListEntry,
    Source,
    Takedown,
)
from ..roles import is_admin
from ..selectors.extracts import MANIFEST_FIELDS, counts_sentence
from ..storage import (
    ARCHIVE_CLASSES,
    ObjectMissing,
    Storage,
    StorageError,
    UnsafeKey,
    check_key,
    location_from_text,
    source_location,
    storage_for,
)
from . import jobs
from .exports import safe_cell
from .renditions import render_web

log = logging.getLogger(__name__)

Outcome = ExtractMember.Outcome
MIN_SIDE, MAX_SIDE = 16, 4096
MAX_LISTS = 50
MAX_SAMPLE = 500_000
FLUSH_EVERY = 200
# What S3 documents for a restore, per storage class and retrieval tier.
RESTORE_TIMES = {
    ("GLACIER", "Expedited"): "1–5 minutes",
    ("GLACIER", "Standard"): "3–5 hours",
    ("GLACIER", "Bulk"): "5–12 hours",
    ("DEEP_ARCHIVE", "Standard"): "within 12 hours",
    ("DEEP_ARCHIVE", "Bulk"): "within 48 hours",
}


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _require_admin(actor):
    if not is_admin(actor):
        raise PermissionDenied("only an admin can make or delete extracts")


# --- the extract location -----------------------------------------------------------------------


def extract_location(name: str) -> tuple[Storage, str]:
    """The storage behind a configured location name, and a label for it. Locations come only
    from settings (DOPPEL_EXTRACT_LOCATIONS); a local one must lie under DOPPEL_EXTRACT_ROOTS and
    no location may lie inside a registered source (an inventory would list the archives)."""
    spec = settings.EXTRACT_LOCATIONS.get(name) if isinstance(name, str) else None
    if not spec:
        raise ValidationError({"location": f"unknown extract location {name!r}; configured: {', '.join(sorted(settings.EXTRACT_LOCATIONS)) or 'none'}"})
    store, _spelling = location_from_text(str(spec), what=f"extract location {name!r}")
    if not store.within_roots(settings.EXTRACT_ROOTS):
        raise StorageError(f"extract location {name!r} ({store.display_location}) is not under DOPPEL_EXTRACT_ROOTS")
    for src in Source.objects.all():
        if store.overlap_with(source_location(src)):
            raise StorageError(f"extract location {name!r} overlaps source {src.name!r}")
    store.make_ready()
    return store, f"{name} ({store.display_location})"


# --- creating an extract ------------------------------------------------------------------------


def _archive_key(extract: Extract, namelist: NameList) -> str:
    title = slugify(extract.title)[:60] or "extract"
    lst = slugify(namelist.title)[:60] or "list"
    return check_key(f"extract-{extract.pk}-{title}/{lst}-{namelist.pk}.tar")


def extract_expiry(value: date | datetime | None) -> datetime | None:
    """The moment an extract expires, from what a person gave. A date is the whole of that day:
    the archives go at its end (UTC), as the form, the command and the API all say; a date and
    time is that moment (a naive one read as UTC). The one rule: the page read a date as the
    end of the day and the API as its first second, so the same date kept archives a day less."""
    if value is None:
        return None
    if isinstance(value, datetime):  # (a datetime is a date too: asked first)
        return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
    return datetime.combine(value, clock_time(23, 59, 59), tzinfo=UTC)


def extract_create(*, actor, namelists, title, location, expires_at, content=Extract.Content.ORIGINAL, max_side=None,
                   sample_size=None, sample_seed=None, idempotency_key=None) -> Extract:
    """Queue an extract of one or more name lists: one archive per list. Nothing is read yet.
    `expires_at` is a date or a date and time (extract_expiry)."""
    _require_admin(actor)
    expires_at = extract_expiry(expires_at)
    asked = dict(namelists=namelists, title=title, location=location, expires_at=expires_at, content=content,
                 max_side=max_side, sample_size=sample_size, sample_seed=sample_seed)
    if idempotency_key:
        existing = Extract.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_extract_or_refuse(existing, **asked)
    namelists = list(dict.fromkeys(namelists or []))
    errors = {}
    if not namelists:
        errors["namelists"] = "choose at least one name list"
    elif len(namelists) > MAX_LISTS:
        errors["namelists"] = f"at most {MAX_LISTS} name lists per extract"
    elif unresolved := [nl.title for nl in namelists if nl.resolved_at is None]:
        # its lines have not been looked up yet: every name would be reported "not found". Nothing
        # on a page resolves a list again (it said "resolve it again from its page"): the job that
        # reads an upload does, and the list's page names that job and its state
        errors["namelists"] = ("its names are still being looked up (the list's page shows the job doing it); "
                               f"choose it once that job is done: {', '.join(unresolved)}")
    title = (title or "").strip()
    if not title:
        errors["title"] = "give the extract a title"
    now = timezone.now()
    if expires_at is None:
        errors["expires_at"] = "an expiry date is required"
    elif expires_at <= now:
        errors["expires_at"] = "the expiry must be in the future"
    elif expires_at > now + timedelta(days=settings.EXTRACT_MAX_DAYS):
        errors["expires_at"] = f"extracts are kept at most {settings.EXTRACT_MAX_DAYS} days"
    if content not in Extract.Content.values:
        errors["content"] = "choose originals or renditions"
    elif content == Extract.Content.RENDITION:
        if max_side is None or not MIN_SIDE <= int(max_side) <= MAX_SIDE:
            errors["max_side"] = f"renditions need a size between {MIN_SIDE} and {MAX_SIDE} pixels"
    else:
        max_side = None
    if sample_size is not None and not 1 <= int(sample_size) <= MAX_SAMPLE:
        errors["sample_size"] = f"a sample is between 1 and {MAX_SAMPLE} names"
    if errors:
        raise ValidationError(errors)
    try:
        extract_location(location)
    except StorageError as exc:
        raise ValidationError({"location": str(exc)}) from exc
    if sample_seed is None:
        sample_seed = random.SystemRandom().randrange(1, 2**31)
    try:
        return _extract_record(actor=actor, namelists=namelists, title=title, location=location, content=content,
                               max_side=max_side, sample_size=sample_size, sample_seed=sample_seed,
                               expires_at=expires_at, idempotency_key=idempotency_key)
    except IntegrityError:
        # the same request, sent twice at once: the first one's extract holds the key
        existing = Extract.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return _same_extract_or_refuse(existing, **asked)


def _same_extract_or_refuse(existing: Extract, *, namelists, title, location, expires_at, content, max_side,
                            sample_size, sample_seed) -> Extract:
    """The extract a repeated key made, if this request asks for the same one: a form sent twice or
    a retried request gets it back and nothing is queued twice. A key reused for something else
    (another title, other lists…) is refused, naming what differs: returning the old extract
    said "queued" for a request that was never made."""
    differ = []
    if (title or "").strip()[:200] != existing.title:
        differ.append("title")
    if {nl.pk for nl in namelists or []} != set(existing.archives.values_list("namelist_id", flat=True)):
        differ.append("name lists")
    if location != existing.location:
        differ.append("location")
    if expires_at != existing.expires_at:
        differ.append("expiry")
    if content != existing.content or (content == Extract.Content.RENDITION and max_side is not None
                                       and int(max_side) != existing.max_side):
        differ.append("content")
    if (sample_size or None) != existing.sample_size or (sample_seed is not None and int(sample_seed) != existing.sample_seed):
        differ.append("sample")
    if differ:
        raise ValidationError({"idempotency_key": (
            f"this request's key was already used for extract #{existing.pk} ({existing.title}), which has another "
            f"{', '.join(differ)}: nothing new was queued")})
    return existing


def _extract_record(*, actor, namelists, title, location, content, max_side, sample_size, sample_seed, expires_at,
                    idempotency_key) -> Extract:
    with transaction.atomic():
        extract = Extract.objects.create(
            title=title[:200], location=location, content=content, max_side=max_side, sample_size=sample_size,
            sample_seed=int(sample_seed), expires_at=expires_at, created_by=_actor(actor),
            idempotency_key=idempotency_key or None,
        )
        requested = 0
        for nl in namelists:
            n = nl.entries.count()
            n = min(n, sample_size) if sample_size else n
            requested += n
            ExtractArchive.objects.create(extract=extract, namelist=nl, key=_archive_key(extract, nl), requested=n)
        job = jobs.job_create(actor=actor, kind=Job.Kind.EXTRACT, params={"extract_id": extract.pk},
                              requested=requested, idempotency_key=f"extract-{extract.pk}")
        extract.job = job
        extract.save(update_fields=["job"])
        jobs.job_dispatch(job)
    return extract


# --- choosing what goes in ----------------------------------------------------------------------


def sample_entries(namelist: NameList, size: int | None, seed: int) -> list[int]:
    """Entry ids of the list, or a reproducible random sample of `size` of them (same seed, same
    list: same sample), in list order."""
    ids = list(namelist.entries.order_by("line").values_list("pk", flat=True))
    if not size or size >= len(ids):
        return ids
    rng = random.Random(f"{seed}:{namelist.pk}")
    chosen = set(rng.sample(ids, size))
    return [i for i in ids if i in chosen]


def _is_archived(asset: Asset) -> bool:
    return asset.state in (Asset.State.ARCHIVED, Asset.State.RESTORING) or asset.restore_lapsed() or (
        asset.storage_class in ARCHIVE_CLASSES and asset.state == Asset.State.LISTED)


def choose(assets: list[Asset]) -> tuple[Asset, str]:
    """One object for an ambiguous name, and why: readable now (not in an archive tier, decodes),
    then the most pixels, then the largest file, then the newest, then the key."""
    def rank(a):
        return (_is_archived(a), a.decode_status == Asset.DecodeStatus.UNREADABLE, -((a.width or 0) * (a.height or 0)),
                -(a.size or 0), -(a.last_modified.timestamp() if a.last_modified else 0), a.key)

    ordered = sorted(assets, key=rank)
    best = ordered[0]
    others = ", ".join(a.key for a in ordered[1:6]) + (" …" if len(ordered) > 6 else "")
    return best, (f"{len(assets)} objects answer this name; chose {best.key} over {others} "
                  "(rule: readable now, then most pixels, then largest file, then newest)")


def restore_estimate_text(asset: Asset) -> str:
    tier = settings.RESTORE_TIER
    sc = asset.storage_class or "archive tier"
    if asset.state == Asset.State.RESTORING:
        return f"in {sc}: a restore was requested and is not ready yet"
    took = RESTORE_TIMES.get((asset.storage_class, tier), "hours to days")
    return (f"in {sc}, not restored: a {tier} restore takes {took} and keeps the copy {settings.RESTORE_DAYS} days "
            f"({asset.size} bytes); estimate and confirm it with doppel_restore --namelist, then extract again")


# --- writing an archive -------------------------------------------------------------------------


class _HashingWriter:
    """Counts and hashes the archive's bytes on their way to the destination."""

    def __init__(self, out):
        self.out, self.h, self.size = out, hashlib.sha256(), 0

    def write(self, data):
        self.h.update(data)
        self.size += len(data)
        return self.out.write(data)

    def tell(self):
        return self.size

    def flush(self):
        pass


class _HashingReader:
    def __init__(self, f):
        self.f, self.h, self.size = f, hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.h.update(data)
        self.size += len(data)
        return data


class _Stopped(Exception):
    """The job was paused or cancelled: the partial archive is dropped, nothing is half-kept."""


def _append(tar: tarfile.TarFile, info: tarfile.TarInfo, fileobj=None) -> None:
    """Add one member and forget it: TarFile keeps every TarInfo it wrote in `members` (for
    listing), which would make memory grow with the list; a streamed archive never needs it."""
    tar.addfile(info, fileobj)
    tar.members.clear()  # type: ignore[attr-defined]  # TarFile.members is real, just undocumented


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    return info


def render_member(path, max_side: int) -> bytes:
    """A JPEG of the picture as a viewer shows it, longest side at most `max_side`."""
    return render_web(path, max_side)


@dataclass(slots=True)
class _Packed:
    arcname: str
    sha256: str
    size: int


def _add_member(tar, extract, asset, store_cache) -> _Packed:
    store = store_cache.get(asset.source_id)
    if store is None:
        store = store_cache[asset.source_id] = storage_for(asset.source)
    if asset.width and asset.height and asset.width * asset.height > settings.MAX_IMAGE_PIXELS:
        raise StorageError(f"{asset.width}×{asset.height} is over the pixel limit of {settings.MAX_IMAGE_PIXELS}")
    with store.fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
        if extract.content == Extract.Content.RENDITION:
            data = render_member(path, extract.max_side)
            arcname = f"files/{asset.key}.{extract.max_side}px.jpg"
            _append(tar, _tarinfo(arcname, len(data)), io.BytesIO(data))
            return _Packed(arcname, hashlib.sha256(data).hexdigest(), len(data))
        size = os.path.getsize(path)
        arcname = f"files/{asset.key}"
        with open(path, "rb") as f:
            reader = _HashingReader(f)
            _append(tar, _tarinfo(arcname, size), reader)
        return _Packed(arcname, reader.h.hexdigest(), size)


def _first_line(archive, asset_id, pending_rows) -> ExtractMember:
    """The line that first named an object named again: in the rows not yet flushed, or in the
    database (a rare case, so no map of every member is kept in memory)."""
    for row in pending_rows:
        if row.asset_id == asset_id and row.outcome != Outcome.REPEATED:
            return row
    return (ExtractMember.objects.filter(archive=archive, asset_id=asset_id).exclude(outcome=Outcome.REPEATED)
            .order_by("line").first())


def _repeat_row(archive, entry, first: ExtractMember, why: str, **common) -> ExtractMember:
    """A name of an object an earlier line already named: its own outcome, pointing at that line
    (and at the object's one copy in the archive, if it has one), so the object is fetched, stored
    and counted once, whatever became of it."""
    if first.arcname:
        said = f"same object as line {first.line}; stored once"
    else:
        said = f"same object as line {first.line} ({first.get_outcome_display().lower()}); counted once"
    return _member_row(archive, entry, outcome=Outcome.REPEATED, arcname=first.arcname, sha256=first.sha256,
                       size=first.size, detail=f"{why} {said}".strip(), **common)


def _member_row(archive, entry, **fields) -> ExtractMember:
    return ExtractMember(archive=archive, entry_id=entry.pk, line=entry.line, name=entry.raw, **fields)


def _manifest_files(archive: ExtractArchive):
    """manifest.csv and manifest.json from the member rows, spooled (memory stays bounded)."""
    csv_f = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    json_f = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    text = io.TextIOWrapper(csv_f, encoding="utf-8", newline="", write_through=True)
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(MANIFEST_FIELDS)
    counts = archive_counts(archive)
    head = {"extract": archive.extract_id, "title": archive.extract.title, "name_list": archive.namelist.title,
            "name_list_id": archive.namelist_id, "content": archive.extract.content, "max_side": archive.extract.max_side,
            "sample_size": archive.extract.sample_size, "sample_seed": archive.extract.sample_seed,
            "expires_at": archive.extract.expires_at.isoformat(), "counts": counts, "summary": counts_sentence(counts)}
    json_f.write(json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "members": [')
    first = True
    for m in archive.members.order_by("line").iterator(chunk_size=1000):
        row = [m.line, m.name, m.outcome, m.key, m.arcname, m.sha256, "" if m.size is None else m.size, m.detail]
        writer.writerow([safe_cell(v) for v in row])
        json_f.write((b"" if first else b",\n") + json.dumps(dict(zip(MANIFEST_FIELDS, row)), ensure_ascii=False).encode())
        first = False
    json_f.write(b"]}\n")
    text.detach()
    return csv_f, json_f


def _add_manifests(tar, archive):
    csv_f, json_f = _manifest_files(archive)
    for name, f in (("manifest.csv", csv_f), ("manifest.json", json_f)):
        size = f.tell()
        f.seek(0)
        _append(tar, _tarinfo(name, size), f)
        f.close()


def archive_counts(archive: ExtractArchive) -> dict:
    """Each outcome, then requested / found / extracted / repeated, from the member rows.
    "extracted" is the files the archive holds (a name answered by one object or by several, one
    chosen); it replaces the count of the outcome of that name, which spread after it hid the
    ambiguous names' files. A repeated name is its own outcome, so it is never a second file."""
    by = dict(archive.members.values_list("outcome").annotate(n=Count("id")).order_by())
    requested = sum(by.values())
    return {
        **{o: by.get(o, 0) for o in Outcome.values},
        "requested": requested,
        "found": requested - by.get(Outcome.NOT_FOUND, 0),
        "extracted": by.get(Outcome.EXTRACTED, 0) + by.get(Outcome.AMBIGUOUS, 0),
        "repeated": by.get(Outcome.REPEATED, 0),
    }


def _job_base(job_id, extract):
    """Counters as absolute values from the archives already built, so a rebuilt archive is
    never counted twice."""
    if not job_id:
        return
    built = ExtractArchive.objects.filter(extract=extract, state=ExtractArchive.State.BUILT)
    agg = built.aggregate(r=Sum("requested"), f=Sum("found"), b=Sum("size"))
    failed = ExtractMember.objects.filter(archive__in=built, outcome=Outcome.FAILED).count()
    Job.objects.filter(pk=job_id).update(processed=agg["r"] or 0, found=agg["f"] or 0, failed=failed,
                                         bytes_done=agg["b"] or 0, heartbeat_at=timezone.now())


def _archive_record_built(archive: ExtractArchive, store: Storage, *, size: int, sha256: str) -> bool:
    """Record a written archive as built, or, if it is no longer wanted, delete what was just
    written; True when recorded. Checked under the archive's row lock at the moment of recording,
    because an extract can end (deleted now, or expired) while its archive is being written: the
    end deletes the key before the file lands, and a build that then said "built" left an archive
    no expiry and no takedown would ever reach again. The end takes the same lock per archive."""
    counts = archive_counts(archive)
    with transaction.atomic():
        # only the archive's row is locked: the end locks the extract's on its own, never both at once
        locked = (ExtractArchive.objects.select_for_update(of=("self",)).select_related("extract")
                  .get(pk=archive.pk))
        if locked.state != ExtractArchive.State.DELETED and locked.extract.state != Extract.State.EXPIRED:
            ExtractArchive.objects.filter(pk=archive.pk).update(
                state=ExtractArchive.State.BUILT, requested=counts["requested"], found=counts["found"],
                extracted=counts["extracted"], repeated=counts["repeated"], size=size, sha256=sha256,
                built_at=timezone.now(), error="")
            return True
        _audit(AuditEntry.Action.EXPIRE, archive=locked, reason="the extract ended while this archive was being written",
               outcome="deleted once written, never offered", expires_at=locked.extract.expires_at.isoformat())
        try:
            store.delete(locked.key)
        except ObjectMissing:
            pass
        ExtractArchive.objects.filter(pk=archive.pk).update(state=ExtractArchive.State.DELETED)
    return False


def archive_build(*, archive: ExtractArchive, job_id=None) -> ExtractArchive:
    """Write one archive from scratch (members, then the manifests) and record it. Raises
    _Stopped when the job is paused or cancelled part-way: the partial object is discarded. An
    archive whose extract ended meanwhile is not written, or is deleted once written
    (_archive_record_built)."""
    archive = ExtractArchive.objects.select_related("extract", "namelist").get(pk=archive.pk)
    extract = archive.extract
    if archive.state == ExtractArchive.State.DELETED or extract.state == Extract.State.EXPIRED:
        return archive  # its extract ended (deleted now, or expired) after the job listed it: nothing to write
    store, _label = extract_location(extract.location)
    entry_ids = sample_entries(archive.namelist, extract.sample_size, extract.sample_seed)
    with transaction.atomic():
        archive.members.all().delete()  # a previous, unfinished attempt: its archive never landed
    _job_base(job_id, extract)
    named: set[int] = set()  # asset ids an earlier line named (ints only: memory ~flat per name)
    store_cache: dict = {}
    taken_down = set(Takedown.objects.values_list("asset_id", flat=True))
    pending_rows: list[ExtractMember] = []
    done = {"n": 0, "found": 0, "failed": 0, "bytes": 0}

    def flush():
        with transaction.atomic():
            ExtractMember.objects.bulk_create(pending_rows)
            if job_id:
                jobs.job_count(job_id, processed=done["n"], found=done["found"], failed=done["failed"], bytes_done=done["bytes"])
        pending_rows.clear()
        done.update(n=0, found=0, failed=0, bytes=0)
        if job_id and not jobs.job_may_continue(job_id):
            raise _Stopped()

    with store.open_write(archive.key, content_type="application/x-tar") as raw:
        out = _HashingWriter(raw)
        # a write-only stream: tarfile's "w|" mode needs only write() (typeshed asks for more)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for i in range(0, len(entry_ids), 500):
                chunk = (NameListEntry.objects.filter(pk__in=entry_ids[i:i + 500]).order_by("line")
                         .prefetch_related("assets__source"))
                for entry in chunk:
                    assets = [a for a in entry.assets.all() if a.state != Asset.State.VANISHED and a.pk not in taken_down]
                    done["n"] += 1
                    if not assets:
                        gone = entry.assets.exists()
                        pending_rows.append(_member_row(archive, entry, outcome=Outcome.NOT_FOUND, detail=(
                            "no longer in the source (gone since the list was resolved)" if gone else
                            "no object in the source answers this name (key, file name, stem or ID)")))
                    else:
                        done["found"] += 1
                        asset, why = (assets[0], "") if len(assets) == 1 else choose(assets)
                        outcome = Outcome.EXTRACTED if len(assets) == 1 else Outcome.AMBIGUOUS
                        common = dict(asset=asset, key=asset.key)
                        again = asset.pk in named
                        named.add(asset.pk)
                        if again:
                            first = _first_line(archive, asset.pk, pending_rows)
                            pending_rows.append(_repeat_row(archive, entry, first, why, **common))
                        elif _is_archived(asset):
                            pending_rows.append(_member_row(archive, entry, outcome=Outcome.ARCHIVED,
                                                            detail=f"{why} {restore_estimate_text(asset)}".strip(), **common))
                        else:
                            try:
                                p = _add_member(tar, extract, asset, store_cache)
                            except (StorageError, UnsafeKey, OSError, ValueError, MemoryError) as exc:
                                done["failed"] += 1
                                pending_rows.append(_member_row(archive, entry, outcome=Outcome.FAILED,
                                                                detail=f"{why} {exc}".strip()[:2000], **common))
                            except Exception as exc:  # noqa: BLE001 - a file the decoder rejects is one failed member
                                if type(exc).__name__ not in ("DecodeError", "UnidentifiedImageError", "DecompressionBombError"):
                                    raise
                                done["failed"] += 1
                                pending_rows.append(_member_row(archive, entry, outcome=Outcome.FAILED,
                                                                detail=f"{why} does not decode: {exc}".strip()[:2000], **common))
                            else:
                                done["bytes"] += p.size
                                pending_rows.append(_member_row(archive, entry, outcome=outcome, arcname=p.arcname,
                                                                sha256=p.sha256, size=p.size, detail=why, **common))
                    if len(pending_rows) >= FLUSH_EVERY:
                        flush()
            flush()
            _add_manifests(tar, archive)
    if not _archive_record_built(archive, store, size=out.size, sha256=out.h.hexdigest()):
        archive.refresh_from_db()
        return archive
    archive.refresh_from_db()
    # A takedown that landed while this archive was being written could not rebuild it (it was
    # not built yet): do it now, so a taken-down picture never survives in a finished archive.
    late = set(ExtractMember.objects.filter(archive=archive, outcome__in=ExtractMember.IN_ARCHIVE,
                                            asset__takedowns__isnull=False).values_list("asset_id", flat=True))
    if late:
        td = Takedown.objects.filter(asset_id__in=late).order_by("-id").first()
        archive_remove_assets(archive=archive, asset_ids=late, actor=td.actor, reason=td.reason)
        archive.refresh_from_db()
    return archive


def _not_ended(extract: Extract):
    """The extract, unless it ended meanwhile: what the build says of it ("building", "ready",
    "failed") never overwrites "expired", which an early delete or the expiry may set at any moment."""
    return Extract.objects.filter(pk=extract.pk).exclude(state=Extract.State.EXPIRED)


def extract_run(job_id) -> Job | None:
    """The extract job: each archive not yet built, one after the other."""
    job = jobs.job_start(job_id)
    if job is None:
        stopped = Job.objects.filter(pk=job_id, state=Job.State.CANCELLED).first()
        if stopped is not None:  # cancelled before it ran: the extract says so too
            Extract.objects.filter(pk=(stopped.params or {}).get("extract_id")).cancel_unfinished()
        return None
    extract = Extract.objects.filter(pk=(job.params or {}).get("extract_id")).first()
    if extract is None:
        return jobs.job_fail(job_id, "the extract does not exist")
    if extract.state in (Extract.State.EXPIRED, Extract.State.CANCELLED):
        return jobs.job_finish(job_id, state=Job.State.CANCELLED, error=f"the extract is {extract.state}")
    _not_ended(extract).update(state=Extract.State.BUILDING)
    for archive in list(extract.archives.filter(state=ExtractArchive.State.PENDING)):
        if not jobs.job_may_continue(job_id):
            break
        try:
            archive_build(archive=archive, job_id=job_id)
        except _Stopped:
            break
        except StorageError as exc:
            ExtractArchive.objects.filter(pk=archive.pk).update(error=str(exc)[:2000])
            _not_ended(extract).update(state=Extract.State.FAILED)
            return jobs.job_fail(job_id, f"{archive.namelist.title}: {exc}")
    state = Job.objects.get(pk=job_id).state
    if state == Job.State.CANCELLED:
        Extract.objects.filter(pk=extract.pk).cancel_unfinished()
        return Job.objects.get(pk=job_id)
    if state != Job.State.RUNNING:  # paused: resume builds what is left
        # the pause may have come after this build said "building" (job_pause said "paused" first)
        Extract.objects.filter(pk=extract.pk, job__state=Job.State.PAUSED).pause_unfinished()
        return Job.objects.get(pk=job_id)
    _job_base(job_id, extract)
    empty = nothing_archived(extract)
    if empty:
        _not_ended(extract).update(state=Extract.State.FAILED)
        return jobs.job_fail(job_id, empty)
    _not_ended(extract).update(state=Extract.State.READY)
    return jobs.job_finish(job_id)


def nothing_archived(extract: Extract) -> str | None:
    """Why an extract whose archives were all written holds no file at all, or None. Such an
    extract is not "ready" (a person would fetch it for nothing): it fails with what became of
    the names, and its manifests, which say it line by line, stay until the expiry."""
    if extract.archives.filter(extracted__gt=0).exists():
        return None
    by = dict(ExtractMember.objects.filter(archive__extract=extract).values_list("outcome")
              .annotate(n=Count("id")).order_by())
    said = "; ".join(f"{by[o]:,} {label[0].lower()}{label[1:]}" for o, label in Outcome.choices if by.get(o))
    return (f"no file was put in the archive{'s' if extract.archives.count() > 1 else ''}: "
            f"{said or 'the name lists are empty'}. The manifest gives each name's reason.")


# --- removing members (legal takedown) ----------------------------------------------------------


def _audit(action, *, archive, actor=None, reason="", outcome="", **detail) -> AuditEntry:
    return AuditEntry.objects.create(
        action=action, source_name=f"extract:{archive.extract.location}"[:80], key=archive.key, size=archive.size,
        executed_by=_actor(actor), reason=reason, outcome=outcome,
        detail={"extract": archive.extract_id, "archive": archive.pk, "name_list": archive.namelist_id, **detail},
    )


def archive_remove_assets(*, archive: ExtractArchive, asset_ids, actor, reason) -> ExtractArchive:
    """Rebuild a built archive without the given objects: the old archive is streamed member by
    member into a new one at the same key (no source is read again), and the manifest marks
    those lines as removed by the takedown. The audit row is committed first; the rebuild holds
    the archive's row lock, so two takedowns touching one archive never overwrite each other."""
    asset_ids = set(asset_ids)
    archive = ExtractArchive.objects.select_related("extract", "namelist").get(pk=archive.pk)
    still_in = ExtractMember.objects.filter(archive_id=archive.pk, asset_id__in=asset_ids).exclude(outcome=Outcome.TAKEN_DOWN)
    if not still_in.exists():
        return archive  # a repeated takedown: already rebuilt without them, nothing to do
    if archive.state == ExtractArchive.State.BUILT:
        _audit(AuditEntry.Action.REBUILD, archive=archive, actor=actor, reason=reason, assets=sorted(asset_ids))
    when = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
    with transaction.atomic():
        archive = ExtractArchive.objects.select_for_update().select_related("extract", "namelist").get(pk=archive.pk)
        members = ExtractMember.objects.filter(archive=archive, asset_id__in=asset_ids).exclude(outcome=Outcome.TAKEN_DOWN)
        if not members.exists():
            return archive  # a concurrent takedown of the same objects rebuilt it meanwhile
        drop = set(members.exclude(arcname="").values_list("arcname", flat=True))
        members.update(outcome=Outcome.TAKEN_DOWN, detail=f"removed by a legal takedown on {when}", sha256="",
                       size=None, arcname="")
        if archive.state != ExtractArchive.State.BUILT:
            return archive  # not written yet (or deleted): the build leaves it out, the expiry has it gone
        store, _label = extract_location(archive.extract.location)
        with store.open_read(archive.key) as src, store.open_write(archive.key, content_type="application/x-tar") as raw:
            out = _HashingWriter(raw)
            with tarfile.open(fileobj=src, mode="r|") as old, \
                    tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as new:  # type: ignore[call-overload]
                for info in old:
                    old.members.clear()  # type: ignore[attr-defined]  # read side: same reason as _append
                    if info.name in drop or info.name in ("manifest.csv", "manifest.json"):
                        continue
                    _append(new, info, old.extractfile(info) if info.isfile() else None)
                _add_manifests(new, archive)
        counts = archive_counts(archive)
        ExtractArchive.objects.filter(pk=archive.pk).update(
            extracted=counts["extracted"], found=counts["found"], repeated=counts["repeated"], size=out.size,
            sha256=out.h.hexdigest(), rebuilds=archive.rebuilds + 1, built_at=timezone.now())
    archive.refresh_from_db()
    return archive


def live_archives_holding(asset_ids):
    """Archives not deleted that still hold one of these objects (members already removed by a
    takedown do not count, so a repeated takedown rebuilds nothing). The archive's own state is
    asked, not its extract's: an extract reads "expired" from the moment it ends, before (and, if a
    delete failed, after) its archives are gone, and a file still there must lose the picture too."""
    still_in = ExtractMember.objects.filter(archive_id=OuterRef("pk"), asset_id__in=asset_ids).exclude(
        outcome=Outcome.TAKEN_DOWN)
    return ExtractArchive.objects.filter(
        Exists(still_in), state__in=[ExtractArchive.State.BUILT, ExtractArchive.State.PENDING],
    )


# --- retention ----------------------------------------------------------------------------------


def _delete_archives(extract: Extract, *, actor, reason, outcome_state) -> Extract:
    """End an extract and delete its archives. The extract is marked ended and its job cancelled
    first, in one transaction under the extract's row lock, so no build starts after it and a build
    under way deletes what it writes instead of recording it (_archive_record_built); then each
    archive goes under its own row lock, its audit row written before the delete. An archive whose
    delete failed keeps its state, and the beat sweeps it again (extract_expire_due)."""
    store, _label = extract_location(extract.location)
    with transaction.atomic():
        ex = Extract.objects.select_for_update().get(pk=extract.pk)
        if ex.state != outcome_state:
            ex.state, ex.expired_at = outcome_state, timezone.now()
            ex.save(update_fields=["state", "expired_at"])
        if ex.job_id:
            job = Job.objects.select_for_update().get(pk=ex.job_id)
            if job.state not in jobs.FINISHED_STATES:
                job.state, job.finished_at = Job.State.CANCELLED, timezone.now()
                job.save(update_fields=["state", "finished_at"])
                jobs.job_event(job, "cancelled", actor=actor, reason=reason)
    for pk in list(ex.archives.exclude(state=ExtractArchive.State.DELETED).values_list("pk", flat=True)):
        with transaction.atomic():
            archive = (ExtractArchive.objects.select_for_update(of=("self",)).select_related("extract")
                       .get(pk=pk))
            if archive.state == ExtractArchive.State.DELETED:
                continue  # a build that finished meanwhile deleted it itself
            _audit(AuditEntry.Action.EXPIRE, archive=archive, actor=actor, reason=reason,
                   expires_at=ex.expires_at.isoformat())
            try:
                store.delete(archive.key)
            except ObjectMissing:
                pass
            ExtractArchive.objects.filter(pk=pk).update(state=ExtractArchive.State.DELETED)
    return ex


def _ended_with_archives_left():
    """Expired extracts that still have an archive not deleted: a delete that failed part-way."""
    left = ExtractArchive.objects.filter(extract_id=OuterRef("pk")).exclude(state=ExtractArchive.State.DELETED)
    return Extract.objects.filter(Exists(left), state=Extract.State.EXPIRED)


def extract_expire_due(*, now=None) -> dict:
    """Beat: delete the archives of every extract past its expiry, an audit row before each, and
    of every ended extract that still has one (a delete that failed before is tried again)."""
    now = now or timezone.now()
    counts = {"expired": 0, "failed": 0}
    due = set(Extract.objects.filter(expires_at__lte=now).exclude(state=Extract.State.EXPIRED).values_list("pk", flat=True))
    due |= set(_ended_with_archives_left().values_list("pk", flat=True))
    for pk in sorted(due):
        extract = Extract.objects.get(pk=pk)
        try:
            _delete_archives(extract, actor=None, reason="retention period ended", outcome_state=Extract.State.EXPIRED)
            counts["expired"] += 1
        except StorageError as exc:
            log.warning("could not delete the archives of extract %s: %s", pk, exc)
            counts["failed"] += 1
    return counts


# What an admin confirms before an extract's archives go early: the page's box is labelled with it
# and the API documents its `confirm` field with it.
EXTRACT_DELETE_CONFIRMATION = ("I understand: the archives are deleted now, before their expiry, and cannot be "
                               "brought back")


def extract_delete_refusal(confirm) -> str | None:
    """Why an early delete is refused for want of a confirmation, or None. The one rule the page's
    ticked box, the API's `confirm` field and the service apply: the archives go at once, for
    everyone still to fetch them, so a click or a bare POST must not be enough."""
    if confirm is not True:
        return "confirm it first (the archives cannot be brought back): nothing was deleted"
    return None


def extract_delete_confirm_validate(confirm) -> None:
    """``extract_delete_refusal`` as a field validator (Django forms and DRF both take it)."""
    why = extract_delete_refusal(confirm)
    if why:
        raise ValidationError(why)


def extract_delete(*, actor, extract: Extract, confirm: bool) -> Extract:
    """An admin ends an extract early: same path as expiry, the admin named in the audit rows.
    `confirm` must be True (extract_delete_refusal)."""
    _require_admin(actor)
    why = extract_delete_refusal(confirm)
    if why:
        raise ValidationError({"confirm": why})
    extract = Extract.objects.get(pk=extract.pk)
    if not extract.archives.exclude(state=ExtractArchive.State.DELETED).exists() and extract.state == Extract.State.EXPIRED:
        return extract
    return _delete_archives(extract, actor=actor, reason="deleted by an admin before its expiry",
                            outcome_state=Extract.State.EXPIRED)


__all__ = [
    "archive_build", "archive_counts", "archive_remove_assets", "choose", "counts_sentence", "extract_create",
    "extract_delete", "extract_delete_confirm_validate", "extract_delete_refusal", "extract_expire_due",
    "extract_expiry", "extract_location", "extract_run", "live_archives_holding", "nothing_archived", "sample_entries",
]

"""Registering sources. Overlap is refused here (and by unique constraints) because two rows for
the same objects would let a canonical object be reviewed as a clean-up copy."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Source
from ..storage import (
    BadLocation,
    StorageError,
    backend,
    location_from_text,
    location_storage,
    source_location,
    storage_for,
)

log = logging.getLogger(__name__)


def doppel_areas() -> list[tuple]:
    """(storage, words) of each place Doppel itself writes files into that are not a source's: the
    ingest location (reingest copies and their manifests wait there for the ingest system) and every
    extract location (archives). A source over one of them is refused (``check_overlap``).

    Why: a canonical source registered over the ingest drop folder let the reingest checker "verify"
    a copy that only Doppel had put there, never ingested (a fresh-eyed attack), and the executor may
    then delete the clean-up copy while its only other copy is a drop-folder file the ingest system
    removes; a clean-up source there lists Doppel's own copies for deletion. A setting that does not
    parse is its own feature's error, said where it is used, and is left out here."""
    named = [(settings.INGEST_LOCATION, "the ingest location (DOPPEL_INGEST_LOCATION)")]
    named += [(text, f"the extract location {name!r} (DOPPEL_EXTRACT_LOCATIONS)")
              for name, text in sorted((settings.EXTRACT_LOCATIONS or {}).items())]
    areas = []
    for text, words in named:
        if not text:
            continue
        try:
            store, spelling = location_from_text(text, what=words)
        except StorageError:
            continue
        areas.append((store, f"{words}, {spelling}"))
    return areas


def check_overlap(*, kind, storage_profile="", bucket="", prefix="", root="", exclude_pk=None):
    """Refuse a location that can reach any registered source's objects, the quarantine area where
    their deleted objects wait out retention, or a place Doppel writes its own copies into
    (``doppel_areas``), by any route (a second profile or endpoint spelling for the same bucket, an
    access-point alias, a symlinked or bind-mounted directory). When it cannot be proven apart, it is
    refused too."""
    candidate = location_storage(kind=kind, storage_profile=storage_profile, bucket=bucket, prefix=prefix, root=root)
    why = overlap_refusal(candidate, source_places(exclude_pk=exclude_pk) + doppel_areas())
    if why:
        raise ValidationError(why)


def source_places(*, exclude_pk=None) -> list[tuple]:
    """(storage, words) of every registered source's location and of its quarantine area."""
    others = Source.objects.all()
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    places = []
    for other in others:
        other_store = source_location(other)
        places += [(other_store, f"source {other.name!r} ({other.location})"),
                   (other_store.quarantine_area(), f"the quarantine area of source {other.name!r}")]
    return places


def overlap_refusal(candidate, places) -> str | None:
    """Why ``candidate`` (a Storage) may reach one of ``places`` ((storage, words) pairs), or None:
    the one overlap rule for a source being registered and for a place Doppel writes into (the ingest
    location, checked each time it is used). Not proven apart is refused too."""
    for place, what in places:
        try:
            reason = candidate.overlap_with(place)
        except StorageError as exc:
            return f"cannot prove it does not overlap {what}: {exc}"
        if reason:
            return f"overlaps {what}: {reason}"
    return None


def _log_separate_service(source: Source):
    """A profile that declares a separate S3 service makes same-named buckets distinct: an
    explicit, logged override, because Doppel cannot see endpoints as the same or not."""
    label = storage_for(source).service
    if not label:
        return
    same_name = list(Source.objects.filter(kind=source.kind, bucket=source.bucket).exclude(pk=source.pk)
                     .values_list("name", flat=True))
    log.warning(
        "source %r registered on storage profile %r, which declares separate_service=%r: its bucket %r is treated "
        "as distinct from same-named buckets on other profiles%s",
        source.name, source.storage_profile, label, source.bucket,
        f" (sources {', '.join(same_name)})" if same_name else "",
    )


def source_add(*, actor, name, kind, role, storage_profile="", bucket="", prefix="", root="", description="") -> Source:
    """Validate and register a source; raises ValidationError with a readable message."""
    if kind not in Source.Kind.values:
        raise ValidationError({"kind": f"kind must be one of {Source.Kind.values}"})
    if role not in Source.Role.values:
        raise ValidationError({"role": f"role must be one of {Source.Role.values}"})
    fields = {"name": name, "kind": kind, "role": role, "description": description}
    try:
        fields.update(backend(kind).registration_fields(
            storage_profile=storage_profile, bucket=bucket, prefix=prefix, root=root))
    except BadLocation as exc:
        raise ValidationError({exc.field: str(exc)}) from exc
    with transaction.atomic():
        # Lock every source row so two concurrent adds cannot both pass the check.
        list(Source.objects.select_for_update().values_list("pk", flat=True))
        taken = Source.objects.filter(name__iexact=name).values_list("name", flat=True).first()
        if taken is not None:
            # compared regardless of case, as the database's constraint compares them
            said = f"a source named {taken!r} already exists"
            raise ValidationError({"name": said if taken == name else f"{said} (names are compared regardless of case)"})
        check_overlap(
            kind=kind,
            storage_profile=fields.get("storage_profile", ""),
            bucket=fields.get("bucket", ""),
            prefix=fields.get("prefix", ""),
            root=fields.get("root", ""),
        )
        source = Source(created_by=actor if getattr(actor, "pk", None) else None, **fields)
        source.full_clean()
        source.save()
        _log_separate_service(source)
    return source


def source_probe(source: Source) -> None:
    """Check the source can be listed now (bad bucket, no credentials...) with a clear error."""
    try:
        next(iter(storage_for(source).list()), None)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise StorageError(f"cannot list {source.location}: {exc}") from exc

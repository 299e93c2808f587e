"""Registering sources. Overlap is refused here (and by unique constraints) because two rows for
the same objects would let a canonical object be reviewed as a clean-up copy."""
from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Source
from ..storage import (
    SEPARATE_SERVICE,
    S3Storage,
    StorageError,
    UnsafeKey,
    check_local_root,
    format_pin,
    local_root_pin,
    location_storage,
    source_location,
    storage_for,
)

log = logging.getLogger(__name__)

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _norm_prefix(prefix: str) -> str:
    prefix = (prefix or "").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if ".." in prefix.split("/"):
        raise ValidationError({"prefix": "a prefix may not contain '..'"})
    return prefix


def check_overlap(*, kind, storage_profile="", bucket="", prefix="", root="", exclude_pk=None):
    """Refuse a location that can reach any registered source's objects by any route (a second
    profile or endpoint spelling for the same bucket, an access-point alias, a symlinked or
    bind-mounted directory). When it cannot be proven apart, it is refused too."""
    candidate = location_storage(kind=kind, storage_profile=storage_profile, bucket=bucket, prefix=prefix, root=root)
    others = Source.objects.all()
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    for other in others:
        other_store = source_location(other)
        try:
            reason = candidate.overlap_with(other_store)
        except StorageError as exc:
            raise ValidationError(f"cannot prove it does not overlap source {other.name!r} ({other.location}): {exc}") from exc
        if reason:
            raise ValidationError(f"overlaps source {other.name!r} ({other.location}): {reason}")


def _log_separate_service(source: Source):
    """A profile that declares a separate S3 service makes same-named buckets distinct: an
    explicit, logged override, because Doppel cannot see endpoints as the same or not."""
    label = settings.S3_PROFILES.get(source.storage_profile, {}).get(SEPARATE_SERVICE)
    if not label:
        return
    same_name = list(Source.objects.filter(kind=Source.Kind.S3, bucket=source.bucket).exclude(pk=source.pk)
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
    if kind == Source.Kind.S3:
        if storage_profile not in settings.S3_PROFILES:
            raise ValidationError(
                {"storage_profile": f"unknown storage profile {storage_profile!r}; configured: {sorted(settings.S3_PROFILES) or 'none'}"}
            )
        if not BUCKET_RE.match(bucket or ""):
            raise ValidationError({"bucket": f"not a valid bucket name: {bucket!r}"})
        fields.update(storage_profile=storage_profile, bucket=bucket, prefix=_norm_prefix(prefix))
        try:
            S3Storage(storage_profile, bucket).bucket_identity()  # an access-point alias must name a known bucket
        except StorageError as exc:
            raise ValidationError({"bucket": str(exc)}) from exc
    else:
        try:
            path = check_local_root(root)
        except UnsafeKey as exc:
            raise ValidationError({"root": str(exc)}) from exc
        if not path.is_dir():
            raise ValidationError({"root": f"directory does not exist: {path}"})
        try:
            pin = local_root_pin(str(path))
        except StorageError as exc:
            raise ValidationError({"root": str(exc)}) from exc
        fields.update(root=str(path), root_pin=format_pin(pin))
    with transaction.atomic():
        # Lock every source row so two concurrent adds cannot both pass the check.
        list(Source.objects.select_for_update().values_list("pk", flat=True))
        if Source.objects.filter(name=name).exists():
            raise ValidationError({"name": f"a source named {name!r} already exists"})
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
        if kind == Source.Kind.S3:
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

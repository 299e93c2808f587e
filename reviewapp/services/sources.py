"""Registering sources. Overlap is refused here (and by unique constraints) because two rows for
the same objects would let a canonical object be reviewed as a clean-up copy."""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Source
from ..storage import StorageError, UnsafeKey, check_local_root

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _norm_prefix(prefix: str) -> str:
    prefix = (prefix or "").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if ".." in prefix.split("/"):
        raise ValidationError({"prefix": "a prefix may not contain '..'"})
    return prefix


def _overlaps_prefix(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _overlaps_dir(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def check_overlap(*, kind, storage_profile="", bucket="", prefix="", root="", exclude_pk=None):
    others = Source.objects.filter(kind=kind)
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    if kind == Source.Kind.S3:
        endpoint = settings.S3_PROFILES.get(storage_profile, {}).get("endpoint_url")
        for other in others.filter(bucket=bucket):
            other_endpoint = settings.S3_PROFILES.get(other.storage_profile, {}).get("endpoint_url")
            if other_endpoint == endpoint and _overlaps_prefix(prefix, other.prefix):
                raise ValidationError(f"overlaps source {other.name!r} (s3://{other.bucket}/{other.prefix})")
    else:
        for other in others:
            if _overlaps_dir(Path(root), Path(other.root)):
                raise ValidationError(f"overlaps source {other.name!r} ({other.root})")


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
    else:
        try:
            path = check_local_root(root)
        except UnsafeKey as exc:
            raise ValidationError({"root": str(exc)}) from exc
        if not path.is_dir():
            raise ValidationError({"root": f"directory does not exist: {path}"})
        fields.update(root=str(path))
    with transaction.atomic():
        # Lock the table's rows of this kind so two concurrent adds cannot both pass the check.
        list(Source.objects.select_for_update().filter(kind=kind).values_list("pk", flat=True))
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
    return source


def source_probe(source: Source) -> None:
    """Check the source can be listed now (bad bucket, no credentials...) with a clear error."""
    from ..storage import storage_for

    try:
        next(iter(storage_for(source).list()), None)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise StorageError(f"cannot list {source.location}: {exc}") from exc

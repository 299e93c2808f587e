"""Idempotency-Key for action POSTs: a client that retries after a timeout gets the first answer
back (status and body) and nothing is done twice.

The first request inserts an IdempotencyRecord (unique per user+key) and runs the action in the
same transaction; a concurrent retry blocks on that unique row until the first commits, then
reads its stored answer. If the action fails with an error the transaction rolls back, the
record with it, and a retry runs again: an error changed nothing, so there is nothing to replay.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import wraps

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..models import IdempotencyRecord
from .exceptions import IdempotencyMismatch

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1-200 printable ASCII characters (e.g. a UUID). A retry with the same key, by the "
        "same user, to the same path and with the same body returns the first response "
        "(header `Idempotent-Replayed: true`) and changes nothing; the same key with a different "
        "request is refused with 422."
    ),
    pattern=r"^[\x21-\x7e]{1,200}$",
)


def _canonical(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # QueryDict / MultiValueDict
        return {k: [_canonical(v) for v in vs] for k, vs in sorted(value.lists())}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def request_hash(request, kwargs) -> str:
    payload = {"method": request.method, "path": request.path, "kwargs": kwargs, "data": _canonical(request.data)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, cls=JSONEncoder, default=str).encode()).hexdigest()


def _key(request):
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_RE.match(key):
        raise exceptions.ValidationError({HEADER: ["must be 1-200 printable ASCII characters without spaces"]})
    return key


def idempotent(view_method):
    """Decorate a DRF view/action method so an Idempotency-Key makes it safe to retry."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = _key(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        digest = request_hash(request, kwargs)  # parses the body first: malformed input is a plain 400
        with transaction.atomic():
            record, created = IdempotencyRecord.objects.select_for_update().get_or_create(
                user=request.user,
                key=key,
                defaults={"method": request.method, "path": request.path[:1024], "request_hash": digest},
            )
            if not created:
                if record.request_hash != digest or record.path != request.path[:1024] or record.method != request.method:
                    raise IdempotencyMismatch()
                replay = Response(record.response, status=record.status)
                replay["Idempotent-Replayed"] = "true"
                return replay
            response = view_method(self, request, *args, **kwargs)
            record.status = response.status_code
            data = getattr(response, "data", None)
            record.response = json.loads(json.dumps(data, cls=JSONEncoder)) if data is not None else None
            record.save(update_fields=["status", "response"])
        return response

    wrapper.idempotent = True
    return wrapper

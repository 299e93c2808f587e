"""Idempotency-Key for action POSTs: a client that retries after a timeout gets the first answer
back (status and body, header `Idempotent-Replayed: true`) and nothing is done twice.

Records are unique per (user, key). For database-only actions the record and the action commit
in one transaction: a concurrent retry blocks on the unique row until the first commits, then
reads its stored answer; if the action fails the record rolls back with it and a retry runs
again (an error changed nothing, so there is nothing to replay). Actions that touch storage run
outside any outer transaction (see `idempotent(atomic=False)`). Services that accept a key get a
user-scoped one as well, so even a lost record cannot make them act twice.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..models import IdempotencyRecord
from ..services.idempotency import KEY_PATTERN, idempotency_key_digest
from .exceptions import Conflict, IdempotencyMismatch

HEADER = "Idempotency-Key"
KEY_RE = re.compile(KEY_PATTERN)
STALE_AFTER = timedelta(minutes=10)

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
    pattern=KEY_PATTERN,
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


def scoped_key(request):
    """The key handed on to services that take one: a fixed-length digest of user and key, so
    two users' keys never collide in the services' unique columns and any valid key fits them."""
    return idempotency_key_digest(user=request.user, key=request.headers.get(HEADER), channel="api")


def _replay(record):
    replay = Response(record.response, status=record.status)
    replay["Idempotent-Replayed"] = "true"
    return replay


def _store(record, response):
    record.status = response.status_code
    data = getattr(response, "data", None)
    record.response = json.loads(json.dumps(data, cls=JSONEncoder)) if data is not None else None
    record.save(update_fields=["status", "response"])


def _claim(request, key, digest):
    """The record for this key, locked; (record, created). Refuses a key reused differently."""
    record, created = IdempotencyRecord.objects.select_for_update().get_or_create(
        user=request.user,
        key=idempotency_key_digest(user=request.user, key=key, channel="api-record"),
        defaults={"method": request.method, "path": request.path[:1024], "request_hash": digest},
    )
    if not created and (record.request_hash != digest or record.path != request.path[:1024]
                        or record.method != request.method):
        raise IdempotencyMismatch()
    return record, created


def idempotent(view_method=None, *, atomic=True):
    """Decorate a DRF view/action method so an Idempotency-Key makes it safe to retry.

    atomic=True (database-only actions): the record and the action commit together, so the
    action happens exactly once. atomic=False (actions that touch storage, whose services commit
    their audit rows before acting and must not be held in an outer transaction): the record is
    committed first as "running", the action runs in its own transactions, then the answer is
    stored; a concurrent retry meanwhile gets 409, and a failed action removes the record.
    """
    if view_method is None:
        return lambda fn: idempotent(fn, atomic=atomic)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = _key(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        digest = request_hash(request, kwargs)  # parses the body first: malformed input is a plain 400
        if atomic:
            with transaction.atomic():
                record, created = _claim(request, key, digest)
                if not created:
                    return _replay(record)
                response = view_method(self, request, *args, **kwargs)
                _store(record, response)
            return response

        with transaction.atomic():
            record, created = _claim(request, key, digest)
            if not created:
                if record.status:
                    return _replay(record)
                if record.created_at > timezone.now() - STALE_AFTER:
                    raise Conflict("A request with this Idempotency-Key is still running; retry in a moment.")
                # the first attempt died mid-way: its services are idempotent, so run it again
                IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now())
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk, status=0).delete()
            raise
        _store(record, response)
        return response

    wrapper.idempotent = True
    return wrapper

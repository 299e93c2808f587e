"""One JSON shape for every API error, so a script can always read `detail` (and `errors` for
field problems) instead of meeting an HTML page or a traceback.

Domain errors raised by services (Django's ValidationError / PermissionDenied, storage errors,
unique-constraint races) are translated here; anything else is logged and answered with a plain
500 JSON body that leaks nothing.
"""
from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from ..services.review import ReviewRefused
from ..storage import ObjectChanged, ObjectMissing, StorageError, UnsafeKey

log = logging.getLogger("reviewapp.api")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class IdempotencyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request."
    default_code = "idempotency_key_reused"


def _messages(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for msgs in [errs] for e in msgs for m in e.messages] for field, errs in exc.error_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _summary(errors) -> str:
    """A one-line `detail` from field errors: the first message, prefixed with its field."""
    if isinstance(errors, dict):
        for field, value in errors.items():
            inner = _summary(value)
            if inner:
                return inner if field in ("non_field_errors", "detail") else f"{field}: {inner}"
    elif isinstance(errors, list):
        for value in errors:
            inner = _summary(value)
            if inner:
                return inner
    elif errors:
        return str(errors)
    return ""


def _translate(exc):
    """Map domain exceptions to DRF ones; None when it is not ours to translate."""
    if isinstance(exc, ReviewRefused):
        # a well-formed request the file's current state does not allow (already decided, not
        # your lease, too late to undo): a conflict, with the reason a curator would read
        return Conflict("; ".join(str(m) for m in exc.messages))
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(_messages(exc))
    if isinstance(exc, (ObjectDoesNotExist,)):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, UnsafeKey):
        return exceptions.ValidationError({"non_field_errors": [str(exc)]})
    if isinstance(exc, (ObjectChanged, ObjectMissing)):
        return Conflict(str(exc))
    if isinstance(exc, StorageError):
        err = exceptions.APIException(f"storage error: {exc}")
        err.status_code = status.HTTP_502_BAD_GATEWAY
        return err
    if isinstance(exc, IntegrityError):
        return Conflict("The request conflicts with an existing record (it may already have been done).")
    return None


def api_exception_handler(exc, context):
    if isinstance(exc, PermissionDenied):
        # keep the service's reason ("only an admin can do this") instead of DRF's generic text
        response = exception_handler(exceptions.PermissionDenied(str(exc) or None), context)
    elif isinstance(exc, Http404):
        response = exception_handler(exc, context)
    else:
        translated = _translate(exc)
        response = exception_handler(translated or exc, context)
    if response is None:
        view = context.get("view")
        log.exception("unhandled error in API view %s", type(view).__name__ if view else "?", exc_info=exc)
        set_rollback()
        return Response({"detail": "Internal error: it has been logged.", "code": "server_error"}, status=500)

    data = response.data
    if isinstance(exc, exceptions.ValidationError) or (
        isinstance(data, (dict, list)) and not (isinstance(data, dict) and set(data) <= {"detail"})
    ):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        body = {"detail": _summary(errors) or "Invalid input.", "code": "invalid", "errors": errors}
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else data
        body = {"detail": str(detail), "code": str(getattr(detail, "code", None) or "error")}
    response.data = body
    return response

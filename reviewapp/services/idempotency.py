"""Idempotency keys as they are stored, and expiry of stored Idempotency-Key answers.

A key comes from outside (an API header, a hidden form field) with any length and spelling; what
is stored is a fixed-length digest of the channel, the user and the key, so it always fits its
column, one user's key never meets another's, and the unique columns of decisions, jobs and plans
can hold it as it is. A key protects a client's retries, which come within minutes or hours;
keeping every answer for ever would only grow the table."""
import hashlib
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import IdempotencyRecord

DIGEST_LENGTH = 64  # sha256, hex
# What a client's key may be, in the API's header and in a form's hidden field alike: 1-200 printable
# ASCII characters, no spaces (a UUID fits). Anything else is refused with words, never stored.
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"


def idempotency_key_digest(*, user, key, channel: str) -> str | None:
    """The stored form of a client's idempotency key (None when there is none): sha256 of the
    channel ("api", "api-record", "ui"), the user's id and the key, as 64 hex characters."""
    if not key:
        return None
    raw = "\x1f".join((channel, str(user.pk), key))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def idempotency_records_expire(*, now=None) -> int:
    """Delete finished records older than DOPPEL_IDEMPOTENCY_HOURS; returns how many. Records of
    requests still running (status 0) are kept: their request may yet finish and be retried."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).exclude(status=0).delete()
    return deleted

"""Expiry of stored Idempotency-Key answers. A key protects a client's retries, which come within
minutes or hours; keeping every answer for ever would only grow the table."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import IdempotencyRecord


def idempotency_records_expire(*, now=None) -> int:
    """Delete finished records older than DOPPEL_IDEMPOTENCY_HOURS; returns how many. Records of
    requests still running (status 0) are kept: their request may yet finish and be retried."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).exclude(status=0).delete()
    return deleted

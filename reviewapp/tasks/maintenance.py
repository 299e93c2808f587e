"""Housekeeping tasks run by beat."""
from celery import shared_task

from ..services.idempotency import idempotency_records_expire


@shared_task(name="doppel.idempotency_expire")
def idempotency_expire():
    return idempotency_records_expire()

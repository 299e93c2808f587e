"""Housekeeping tasks run by beat."""
from celery import shared_task


@shared_task(name="doppel.idempotency_expire")
def idempotency_expire():
    from ..services.idempotency import idempotency_records_expire

    return idempotency_records_expire()

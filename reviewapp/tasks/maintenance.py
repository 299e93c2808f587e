"""Housekeeping tasks run by beat."""
from celery import shared_task


@shared_task(name="doppel.idempotency_expire")
def idempotency_expire():
    from ..services.idempotency import idempotency_records_expire

    return idempotency_records_expire()


@shared_task(name="doppel.jobs_stalled_requeue")
def jobs_stalled_requeue_task():
    """Beat's sweep for jobs whose messages were lost: see services/jobs.jobs_stalled_requeue."""
    from django.conf import settings

    from ..celery import broker_messages_waiting
    from ..services.jobs import jobs_stalled_requeue

    waiting = broker_messages_waiting(settings.CELERY_TASK_DEFAULT_QUEUE)
    return jobs_stalled_requeue(actor=None, broker_waiting=waiting)

"""Export tasks: a large spreadsheet is written by a worker, never inside a web request."""
from celery import shared_task


@shared_task(bind=True, acks_late=True)
def export_job(self, job_id):
    from ..services.export_jobs import export_run

    export_run(job_id)


__all__ = ["export_job"]

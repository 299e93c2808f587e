"""Export tasks: a large spreadsheet is written by a worker, never inside a web request."""
from celery import shared_task

from .pipeline import MAX_RETRIES, run_retrying


# Named as before the rename, so messages already queued under the old name still run.
@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, name="reviewapp.tasks.exports.export_job")
def export_job_task(self, job_id):
    """export_run ends a failed export failed itself; a database error reaching here is one it could
    not record (SQLite's "database is locked" outlasting the busy timeout): the job is still running,
    so it runs again, with backoff, and starts the file again."""
    from ..services.export_jobs import export_run

    run_retrying(self, export_run, job_id)


@shared_task(name="doppel.export_files_expire")
def export_files_expire():
    from ..services.export_jobs import export_files_expire as expire

    return expire()


__all__ = ["export_job_task", "export_files_expire"]

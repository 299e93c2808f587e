"""Export tasks: a large spreadsheet is written by a worker, never inside a web request."""
from celery import shared_task


# Named as before the rename, so messages already queued under the old name still run.
@shared_task(bind=True, acks_late=True, name="reviewapp.tasks.exports.export_job")
def export_job_task(self, job_id):
    from ..services.export_jobs import export_run

    export_run(job_id)


@shared_task(name="doppel.export_files_expire")
def export_files_expire():
    from ..services.export_jobs import export_files_expire as expire

    return expire()


__all__ = ["export_job_task", "export_files_expire"]

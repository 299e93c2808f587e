"""Name-list tasks: an uploaded list's lines are resolved and written by a worker, never inside
the web request (a 499,000-line list took longer than gunicorn's 60 s). Thin: takes the job's id
and calls the service, which resumes after the last line written, so a redelivery or a retry
writes nothing twice."""
from celery import shared_task

from .pipeline import MAX_RETRIES, run_retrying


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES, name="doppel.namelist_resolve",
             soft_time_limit=3600, time_limit=3660)
def namelist_resolve_task(self, job_id):
    """namelist_resolve_run ends a failed job failed itself; a database error reaching here is one it
    could not record: the job is still running, so it runs again, with backoff, from the last line
    written."""
    from ..services.namelists import namelist_resolve_run

    run_retrying(self, namelist_resolve_run, job_id)


__all__ = ["namelist_resolve_task"]

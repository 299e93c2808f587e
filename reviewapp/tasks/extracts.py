"""Extract tasks: build a job's archives; delete archives past their expiry (beat). Thin: they
take ids and call services. A redelivered build starts the unfinished archive again from
scratch (the partial object never landed), so no member is ever written twice."""
from celery import shared_task


@shared_task(name="doppel.extract_build", acks_late=True, soft_time_limit=24 * 3600, time_limit=24 * 3600 + 60)
def extract_build_task(job_id):
    from ..services.extracts import extract_run

    extract_run(job_id)


@shared_task(name="doppel.extracts_expire")
def extracts_expire():
    """Periodic: delete the archives of extracts past their expiry date (an audit row each)."""
    from ..services.extracts import extract_expire_due

    return extract_expire_due()


__all__ = ["extract_build_task", "extracts_expire"]

"""Execution tasks: deletion plans, purge, reingest copies and checks. Thin: they take ids and call
services, which make every step idempotent (a redelivered message after a crash finishes the work,
never repeats it)."""
from celery import shared_task


@shared_task(name="doppel.deletion_execute", acks_late=True)
def deletion_execute(job_id):
    from ..services.deletion import deletion_plan_run

    deletion_plan_run(job_id)


@shared_task(name="doppel.deletion_dry_run", acks_late=True)
def deletion_dry_run(plan_id):
    """The dry run's re-check of a new (or re-checked) plan; a redelivery checks only what is left."""
    from ..models import DeletionPlan
    from ..services.deletion import deletion_plan_dry_run

    plan = DeletionPlan.objects.filter(pk=plan_id).first()
    if plan is not None:
        deletion_plan_dry_run(actor=None, plan=plan)


@shared_task(name="doppel.quarantine_purge")
def quarantine_purge():
    """Periodic: purge quarantined objects past retention."""
    from ..services.deletion import deletion_purge_due

    return deletion_purge_due()


@shared_task(name="doppel.reingest_dispatch")
def reingest_dispatch(item_ids=None):
    """Copy queued reingests to the ingest location (with manifest)."""
    from ..services.reingest import reingest_process_queued

    return reingest_process_queued(item_ids=item_ids)


@shared_task(name="doppel.reingest_verify_one")
def reingest_verify_one(item_id):
    from ..models import ReingestItem
    from ..services.reingest import reingest_verify

    reingest_verify(item=ReingestItem(pk=item_id))


@shared_task(name="doppel.reingest_check")
def reingest_check():
    """Periodic: look for submitted/ingested reingests in the canonical store and verify them."""
    from ..services.reingest import reingest_check_all

    return reingest_check_all()


__all__ = ["deletion_execute", "deletion_dry_run", "quarantine_purge", "reingest_dispatch", "reingest_verify_one", "reingest_check"]


def _register_drivers():
    """Let the generic job controls (resume after a crash) re-queue executor jobs too."""
    from . import pipeline

    drivers = getattr(pipeline, "DRIVERS", None)
    if isinstance(drivers, dict):
        drivers.setdefault("delete", deletion_execute)


_register_drivers()

"""Execution tasks: deletion plans, purge, reingest copies and checks. Thin: they take ids and call
services, which make every step idempotent (a redelivered message after a crash finishes the work,
never repeats it). Services import these tasks at module level; a task imports its service inside
its body (the services import the tasks, so a task importing a service at the top would be a cycle)."""
from celery import shared_task


@shared_task(name="doppel.deletion_execute", acks_late=True)
def deletion_execute_task(job_id):
    from ..services.deletion import deletion_plan_run

    deletion_plan_run(job_id)


@shared_task(name="doppel.deletion_dry_run", acks_late=True)
def deletion_dry_run_task(plan_id):
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
def reingest_dispatch_task(item_ids=None):
    """Copy queued reingests to the ingest location (with manifest)."""
    from ..services.reingest import reingest_process_queued

    return reingest_process_queued(item_ids=item_ids)


@shared_task(name="doppel.reingest_verify_one")
def reingest_verify_one_task(item_id):
    from ..models import ReingestItem
    from ..services.reingest import reingest_verify

    reingest_verify(item=ReingestItem(pk=item_id))


@shared_task(name="doppel.reingest_check")
def reingest_check_task():
    """Periodic, and on an admin's request: look for submitted/ingested reingests in the canonical
    store and verify them."""
    from ..services.reingest import reingest_check_all

    return reingest_check_all()


__all__ = ["deletion_execute_task", "deletion_dry_run_task", "quarantine_purge", "reingest_dispatch_task", "reingest_verify_one_task",
           "reingest_check_task"]

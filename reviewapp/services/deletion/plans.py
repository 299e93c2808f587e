"""Deletion plans: the dry run an admin reviews, the confirm that queues the executor, cancel and
resume. A plan lists standing approve-delete decisions; nothing is touched until the executor runs."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ...models import DeletionItem, DeletionPlan, Job
from ...selectors.deletion import deletion_kept_copy, plannable_decisions
from ...tasks.execution import deletion_dry_run_task
from .. import jobs
from .common import LIVE_STATES, _require_admin
from .executor import dry_run_reason


def deletion_plan_create(*, actor, decisions=None, source=None, idempotency_key=None) -> DeletionPlan:
    """A dry run: list what would be deleted (nothing is). Only standing approve-delete decisions
    are taken, each at most once across all plans."""
    _require_admin(actor)
    if idempotency_key:
        existing = DeletionPlan.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        qs = plannable_decisions(source=source)
        if decisions is not None:
            ids = [getattr(d, "pk", d) for d in decisions]
            qs = qs.filter(pk__in=ids)
        items = []
        # Invariant 1, never both sides of a pair: an object kept by a live deletion is not
        # deleted, and an object on its way out is not anyone's kept copy.
        live = DeletionItem.objects.filter(state__in=LIVE_STATES)
        kept_ids = set(live.values_list("kept_asset_id", flat=True))
        leaving_ids = set(live.values_list("asset_id", flat=True))
        for d in qs.order_by("pk"):
            asset = d.asset
            kept, kept_etag = deletion_kept_copy(d)
            if kept.pk == asset.pk or asset.source.is_canonical:
                continue  # invariant 1: never the kept object, never a canonical source
            if asset.pk in kept_ids or kept.pk in leaving_ids:
                continue
            kept_ids.add(kept.pk)
            leaving_ids.add(asset.pk)
            snap = d.snapshot or {}
            cand = d.candidate
            etag = (snap.get("candidate") or {}).get("cleanup_etag") or (snap.get("asset") or {}).get("etag") or cand.cleanup_etag or asset.etag
            # The sha256 recorded when the decided-on content was analysed (only if the asset
            # still has that content): the executor recomputes it on local files.
            checksum = (snap.get("asset") or {}).get("checksum") or (asset.checksum if asset.etag == etag else "")
            items.append(
                DeletionItem(
                    decision=d,
                    asset=asset,
                    kept_asset=kept,
                    etag_at_decision=etag,
                    checksum_at_decision=checksum,
                    kept_etag_at_decision=kept_etag,
                    size=asset.size,
                    diff_score=cand.diff_score,
                    local_score=cand.local_score,
                    engine_version=cand.engine_version,
                    thresholds=cand.thresholds or {},
                )
            )
        if not items:
            raise ValidationError("there are no approved deletions waiting for a plan")
        plan = DeletionPlan.objects.create(created_by=actor, source=source, idempotency_key=idempotency_key or None)
        for it in items:
            it.plan = plan
        DeletionItem.objects.bulk_create(items)
        _dispatch_dry_run(plan)
    return plan


def deletion_plan_confirm(*, actor, plan) -> DeletionPlan:
    """The admin's go: queue the executor job. Confirming twice queues nothing twice."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            if plan.state in (DeletionPlan.State.CONFIRMED, DeletionPlan.State.EXECUTING, DeletionPlan.State.DONE):
                return plan
            raise ValidationError(f"this plan is {plan.get_state_display().lower()}; it cannot be confirmed")
        unchecked = dry_run_unchecked(plan).count()
        if unchecked:
            raise ValidationError(f"the dry run is still re-checking this plan ({unchecked} item{'s' if unchecked != 1 else ''} "
                                  "to go); confirm once it has finished and you have read its outcome")
        planned = plan.items.filter(state=DeletionItem.State.PLANNED).count()
        if not planned:
            raise ValidationError("nothing in this plan is planned any more (each item was undone or aborted): "
                                  "there is nothing to confirm; cancel the plan")
        plan.state = DeletionPlan.State.CONFIRMED
        plan.confirmed_by = actor
        plan.confirmed_at = timezone.now()
        plan.job = _executor_job_queue(actor=actor, plan=plan, run=1)
        plan.save(update_fields=["state", "confirmed_by", "confirmed_at", "job"])
    return plan


def deletion_plan_cancel(*, actor, plan) -> DeletionPlan:
    """Drop a dry run that was never confirmed. Its items never touched storage, so they are
    removed and their decisions can be planned again."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            raise ValidationError("only an unconfirmed plan can be cancelled")
        plan.state = DeletionPlan.State.CANCELLED
        plan.finished_at = timezone.now()
        plan.save(update_fields=["state", "finished_at"])
        plan.items.filter(state=DeletionItem.State.PLANNED, audit__isnull=True).delete()
    return plan


def deletion_plan_resume(*, actor, plan) -> DeletionPlan:
    """Run a confirmed plan again (after a crash or a storage error): items already done are
    skipped, items half-done finish, so the plan completes exactly once."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state not in (DeletionPlan.State.CONFIRMED, DeletionPlan.State.EXECUTING):
            raise ValidationError(f"this plan is {plan.get_state_display().lower()}; only a confirmed plan can run again")
        if plan.job_id:
            old = Job.objects.select_for_update().get(pk=plan.job_id)
            if old.state not in jobs.FINISHED_STATES:
                old.state = Job.State.FAILED
                old.error = "superseded by a new run of the plan"
                old.finished_at = timezone.now()
                old.save(update_fields=["state", "error", "finished_at"])
                jobs.job_event(old, "superseded", actor=actor)
        runs = Job.objects.filter(kind=Job.Kind.DELETE, params__plan_id=plan.pk).count()
        plan.job = _executor_job_queue(actor=actor, plan=plan, run=runs + 1)
        plan.save(update_fields=["job"])
    return plan


def _executor_job_queue(*, actor, plan, run: int) -> Job:
    """The executor job for this plan's ``run``-th run (its own idempotency key, so a repeated
    confirm or resume request makes no second job), queued once the transaction commits."""
    planned = plan.items.filter(state=DeletionItem.State.PLANNED)
    job = jobs.job_create(
        actor=actor,
        kind=Job.Kind.DELETE,
        source=plan.source,
        params={"plan_id": plan.pk},
        requested=planned.count(),
        # the bytes this run may move to quarantine, so its page reads "X of Y", not "X of 0 bytes"
        bytes_total=planned.aggregate(b=Sum("size"))["b"] or 0,
        idempotency_key=f"deletion-plan-{plan.pk}-{run}",
    )
    jobs.job_dispatch(job)
    return job


def dry_run_unchecked(plan):
    """Planned items the dry run has not re-checked yet; Confirm is refused while there are any."""
    return DeletionItem.objects.filter(plan_id=plan.pk, state=DeletionItem.State.PLANNED, dry_run_at__isnull=True)


def _dispatch_dry_run(plan):
    """Queue the dry run's re-check once the plan is committed: it reads every object (and
    decodes the kept copies), which is a worker's job, never a web request's."""
    plan_id = plan.pk
    transaction.on_commit(lambda: deletion_dry_run_task.delay(plan_id))


def deletion_plan_recheck(*, actor, plan) -> DeletionPlan:
    """Run the dry run again on an unconfirmed plan (storage may have changed since, or the first
    run's message was lost): every planned item is re-checked from scratch by a worker."""
    _require_admin(actor)
    with transaction.atomic():
        plan = DeletionPlan.objects.select_for_update().get(pk=plan.pk)
        if plan.state != DeletionPlan.State.DRAFT:
            raise ValidationError("only an unconfirmed plan can be re-checked; the executor re-checks every item itself")
        plan.items.filter(state=DeletionItem.State.PLANNED).update(dry_run_at=None, dry_run_reason="")
        _dispatch_dry_run(plan)
    return plan


def deletion_plan_dry_run(*, actor, plan) -> DeletionPlan:
    """The dry run's re-check: every planned item goes through the executor's own guards
    (EXECUTION_GUARDS: existence, ETag and content, physical identity, the kept copy decoded and
    the pair verified again under the approval rule, Object Lock), touching nothing, and records
    "would abort: reason" on the item so the admin sees it before Confirm. The executor repeats
    every check when it runs (things can change in between).
    Runs in a worker (tasks.execution.deletion_dry_run_task, actor None = the system). Only items
    not yet re-checked are taken and each result is committed on its own, so the plan page shows
    progress and a redelivered task finishes the rest instead of starting over."""
    if actor is not None:
        _require_admin(actor)
    item_ids = list(dry_run_unchecked(plan).order_by("pk").values_list("pk", flat=True))
    for item_id in item_ids:
        if not DeletionPlan.objects.filter(pk=plan.pk, state=DeletionPlan.State.DRAFT).exists():
            break  # cancelled meanwhile: nothing left to predict
        item = (DeletionItem.objects.filter(pk=item_id, state=DeletionItem.State.PLANNED)
                .select_related("asset__source", "kept_asset__source", "decision__candidate").first())
        if item is None:
            continue
        reason = dry_run_reason(item)
        DeletionItem.objects.filter(pk=item.pk).update(dry_run_reason=reason[:2000], dry_run_at=timezone.now())
    return plan

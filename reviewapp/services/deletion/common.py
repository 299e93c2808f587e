"""What plans, the executor and quarantine share: the doubt that stops a deletion, the audit row
written before every irreversible step, the hand-back of a file to review, and the undo rule."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from ...models import AuditEntry, Candidate, DeletionItem, DeletionPlan, ReviewItem, Takedown
from ...roles import is_admin

# Items that hold their object (or are about to): never planned again on either side of a pair.
LIVE_STATES = (DeletionItem.State.PLANNED, DeletionItem.State.EXECUTING, DeletionItem.State.QUARANTINED)


class Doubt(Exception):
    """A reason not to delete this item now; the file goes back to review."""


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _require_admin(actor):
    if not is_admin(actor):
        raise PermissionDenied("only an admin can do this")


def decision_undo_refusal(decision) -> str:
    """Why deletion forbids undoing `decision` ("" when it does not). Called by the undo while it
    holds the review item's lock (the lock the executor's claim takes too); the items and plans
    holding the decision are locked here, so a confirm or a claim cannot slip in between. Once a
    confirmed plan holds the decision, undo is refused: the admin's go stands until the executor
    itself re-checks (and a changed decision is then the admin's call, by cancelling or waiting)."""
    items = list(DeletionItem.objects.select_for_update(of=("self",)).filter(decision=decision).order_by("pk"))
    if any(i.state != DeletionItem.State.PLANNED for i in items if i.state != DeletionItem.State.ABORTED):
        return "too late to undo: the deletion of this file is running or has run"
    plans = DeletionPlan.objects.select_for_update().filter(
        pk__in=[i.plan_id for i in items if i.state == DeletionItem.State.PLANNED]).order_by("pk")
    for plan in plans:
        if plan.state != DeletionPlan.State.DRAFT:
            return (f"too late to undo: deletion plan #{plan.pk}, which holds this decision, was confirmed by an admin "
                    f"({plan.get_state_display().lower()}); ask an admin to restore the file after it runs")
    return ""


def review_return(*, actor, asset, reason) -> ReviewItem | None:
    """Put a file back in the review queue (an aborted deletion, a restore): its candidates are
    open again and nobody holds a lease. The AuditEntry written by the caller is the event."""
    item = ReviewItem.objects.select_for_update().filter(asset=asset).first()
    if item is None or Takedown.objects.filter(asset=asset).exists():
        return None  # a taken-down file never comes back to review: there is nothing left to decide on
    item.status = ReviewItem.Status.OPEN
    item.leased_by = None
    item.lease_expires_at = None
    item.decided_at = None
    item.save(update_fields=["status", "leased_by", "lease_expires_at", "decided_at"])
    Candidate.objects.filter(cleanup_asset=asset).update(status=Candidate.Status.OPEN)
    return item


def _audit(action, item=None, *, actor=None, asset=None, reason="", outcome="", **detail) -> AuditEntry:
    asset = asset or item.asset
    row = dict(
        action=action,
        item=item,
        source_name=asset.source.name,
        key=asset.key,
        etag=asset.etag,
        size=asset.size,
        executed_by=_actor(actor),
        reason=reason,
        outcome=outcome,
        detail=detail,
    )
    if item is not None:
        kept = item.kept_asset
        row.update(
            etag=item.etag_at_decision,
            size=item.size,
            kept_source_name=kept.source.name,
            kept_key=kept.key,
            kept_etag=item.kept_etag_at_decision,
            diff_score=item.diff_score,
            local_score=item.local_score,
            engine_version=item.engine_version,
            thresholds=item.thresholds,
            decision=item.decision,
            approved_by=item.decision.actor,
        )
    return AuditEntry.objects.create(**row)


def _audit_intent(item, action, *, actor, **detail) -> AuditEntry:
    """The audit row that must exist before the object moves: committed on its own, and reused
    when a crashed run repeats the step (one record per deletion, not per attempt)."""
    with transaction.atomic():
        existing = AuditEntry.objects.filter(item=item, action=action).order_by("id").first()
        if existing is not None:
            return existing
        return _audit(action, item, actor=actor, **detail)

"""Reingest: a clean-up copy that must go into the canonical store, tracked until the canonical
store provably holds it (present, same checksum, decodes)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import ReingestEvent, ReingestItem


def _event(item, from_state, actor=None, **detail):
    ReingestEvent.objects.create(
        item=item, from_state=from_state, to_state=item.state, actor=actor if getattr(actor, "pk", None) else None, detail=detail
    )


def reingest_request(*, actor, asset, reason, decision=None) -> ReingestItem:
    """Queue `asset` for reingest. One item per decision, and one open item per asset: asking
    twice returns the item already on its way."""
    reason = (reason or "").strip()
    with transaction.atomic():
        if decision is not None:
            existing = ReingestItem.objects.select_for_update().filter(decision=decision).first()
            if existing is not None:
                return existing
        open_item = (
            ReingestItem.objects.select_for_update()
            .filter(asset=asset)
            .exclude(state__in=[ReingestItem.State.FAILED, "withdrawn"])
            .first()
        )
        if open_item is not None and (decision is None or open_item.decision_id is None):
            return open_item
        item = ReingestItem.objects.create(
            asset=asset, decision=decision, reason=reason, created_by=actor if getattr(actor, "pk", None) else None
        )
        _event(item, "", actor, reason=reason)
        return item


def reingest_withdraw(*, actor, decision) -> ReingestItem | None:
    """Undo of a reingest decision: possible only while nothing has been copied yet."""
    with transaction.atomic():
        item = ReingestItem.objects.select_for_update().filter(decision=decision).first()
        if item is None or item.state == "withdrawn":
            return item
        if item.state != ReingestItem.State.QUEUED:
            raise ValidationError(f"the reingest is already {item.get_state_display().lower()}; it can no longer be withdrawn")
        prev = item.state
        item.state = "withdrawn"
        item.retryable = False
        item.save(update_fields=["state", "retryable", "updated_at"])
        _event(item, prev, actor, reason="decision undone")
        return item

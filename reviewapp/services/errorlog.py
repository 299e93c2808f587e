"""The error log: problems curators found that collections staff must fix by hand. Entries are
exported as spreadsheets, so an entry is only ever withdrawn (its decision undone), never deleted,
and a retried decision never logs the same problem twice."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import ErrorLogEntry


def error_log_add(*, actor, asset, category, note="", match_asset=None, decision=None) -> ErrorLogEntry:
    """Log a problem with `asset`. With a decision, the entry belongs to it (one per decision), so
    a retried request returns the entry already logged."""
    if category not in ErrorLogEntry.Category.values:
        raise ValidationError({"category": f"category must be one of {', '.join(ErrorLogEntry.Category.values)}"})
    if match_asset is not None and match_asset.pk == asset.pk:
        match_asset = None
    with transaction.atomic():
        if decision is not None:
            existing = ErrorLogEntry.objects.select_for_update().filter(decision=decision).first()
            if existing is not None:
                return existing
        return ErrorLogEntry.objects.create(
            asset=asset,
            match_asset=match_asset,
            decision=decision,
            category=category,
            note=(note or "").strip(),
            created_by=actor,
        )


def error_log_withdraw(*, actor, decision) -> ErrorLogEntry | None:
    """The decision that logged the entry was undone: keep the row (it may already be in a
    spreadsheet someone holds) but mark it withdrawn so exports and lists can leave it out."""
    with transaction.atomic():
        entry = ErrorLogEntry.objects.select_for_update().filter(decision=decision).first()
        if entry is None or entry.withdrawn:
            return entry
        entry.withdrawn = True
        entry.save(update_fields=["withdrawn"])
        return entry

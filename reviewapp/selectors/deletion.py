"""Read side of deletion: plans, their items, the audit trail and the rows of their CSVs."""
from __future__ import annotations

from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from ..models import Asset, AuditEntry, Decision, DeletionItem, DeletionPlan, ReingestItem, ReviewItem, Source

PLAN_CSV_HEADER = [
    "item", "state", "source", "key", "size", "etag_at_decision", "kept_source", "kept_key", "kept_etag",
    "diff_score", "local_score", "engine_version", "decision", "decided_at", "approver", "reason", "dry_run",
]

AUDIT_CSV_HEADER = [
    "id", "created_at", "action", "outcome", "source", "key", "etag", "size", "kept_source", "kept_key", "kept_etag",
    "diff_score", "local_score", "engine_version", "thresholds", "decision", "approved_by", "executed_by",
    "deletion_item", "reason",
]


def plan_list():
    return DeletionPlan.objects.select_related("created_by", "confirmed_by", "source", "job").annotate(
        n_items=Count("items"),
        n_planned=Count("items", filter=Q(items__state=DeletionItem.State.PLANNED)),
        n_quarantined=Count("items", filter=Q(items__state=DeletionItem.State.QUARANTINED)),
        n_aborted=Count("items", filter=Q(items__state=DeletionItem.State.ABORTED)),
    )


def would_abort_q() -> Q:
    """Planned items the dry run re-checked and found would abort (the reason is recorded)."""
    return Q(state=DeletionItem.State.PLANNED, dry_run_at__isnull=False) & ~Q(dry_run_reason="")


def plan_would_abort(plan) -> int:
    return plan.items.filter(would_abort_q()).count()


def gone_from_source_q() -> Q:
    """Items whose file an inventory found gone from its source (``selectors.review.in_source_q``):
    an abort hands it back to review, but no queue serves it until an inventory lists it again, so
    the plan page must not promise it "back to review"."""
    return Q(asset__state=Asset.State.VANISHED)


def plan_counts(plan) -> dict:
    counts = {s: 0 for s in DeletionItem.State.values}
    for row in plan.items.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["total"] = sum(counts.values())
    counts["would_abort"] = plan_would_abort(plan)
    counts["would_run"] = counts[DeletionItem.State.PLANNED] - counts["would_abort"]
    counts["would_abort_gone"] = plan.items.filter(would_abort_q() & gone_from_source_q()).count()
    counts["would_return"] = counts["would_abort"] - counts["would_abort_gone"]
    counts["bytes"] = sum(plan.items.values_list("size", flat=True).iterator(chunk_size=2000))
    return counts


def job_deletion_outcome(job) -> dict:
    """What one executor run did to its plan's items, from the items themselves (not the job's
    running counters): {plan_id, quarantined, quarantined_bytes, aborted, still_planned}. The
    job page shows these beside the plan's own counts, so the two always say the same thing:
    an item this run aborted is counted as aborted, never as a bare "processed"."""
    plan_id = (job.params or {}).get("plan_id")
    handled = DeletionItem.objects.filter(claimed_by_job=job)
    rows = {r["state"]: r for r in handled.values("state").annotate(n=Count("id"), b=Sum("size")).order_by()}
    get = lambda state, key="n": (rows.get(state) or {}).get(key) or 0  # noqa: E731
    return {
        "plan_id": plan_id,
        "quarantined": get(DeletionItem.State.QUARANTINED) + get(DeletionItem.State.PURGED) + get(DeletionItem.State.RESTORED),
        "quarantined_bytes": (get(DeletionItem.State.QUARANTINED, "b") + get(DeletionItem.State.PURGED, "b")
                              + get(DeletionItem.State.RESTORED, "b")),
        "aborted": get(DeletionItem.State.ABORTED),
        "still_planned": DeletionItem.objects.filter(plan_id=plan_id, state__in=[DeletionItem.State.PLANNED,
                                                                                 DeletionItem.State.EXECUTING]).count(),
    }


def dry_run_progress(plan, *, total=None, checked=None) -> dict:
    """How far the dry run's re-check of the planned items has got: {checked, total, percent,
    done}. An unconfirmed plan can be confirmed only when done. `total`/`checked` may come from
    a list's annotations instead of two queries."""
    planned = plan.items.filter(state=DeletionItem.State.PLANNED)
    total = planned.count() if total is None else total
    checked = planned.filter(dry_run_at__isnull=False).count() if checked is None else checked
    return {"checked": checked, "total": total, "percent": round(100 * checked / total) if total else 100,
            "done": checked == total}


def returned_q():
    """Aborted deletion items that sent their file back to review: the approval not undone, no
    decision about the file since that still stands other than a skip (a new decision ends
    "returned"; one that was undone again does not: a decide-and-undo must not make the file look
    like any other, e.g. for bulk approval), and the file is in review again (an Object Lock abort
    leaves it decided)."""
    later = (Decision.objects.filter(review_item=OuterRef("decision__review_item"), pk__gt=OuterRef("decision"))
             .exclude(action__in=[Decision.Action.SKIP, Decision.Action.UNDO]).filter(undone_by__isnull=True))
    return (Q(state=DeletionItem.State.ABORTED) & ~Q(decision__review_item__status=ReviewItem.Status.DECIDED)
            & Q(decision__undone_by__isnull=True) & ~Exists(later))


def returned_from_plans() -> list[dict]:
    """Files back in review because the executor aborted them, per plan: [{plan, n}], newest plan first."""
    rows = (DeletionItem.objects.filter(returned_q()).values("plan").annotate(n=Count("decision__review_item", distinct=True))
            .order_by("-plan"))
    return [{"plan": r["plan"], "n": r["n"]} for r in rows]


def returned_from_plan(asset) -> DeletionItem | None:
    """The aborted item that returned this file to review (the newest), with its reason; None otherwise."""
    return (DeletionItem.objects.filter(returned_q(), asset=asset).select_related("plan")
            .order_by("-updated_at", "-pk").first())


def plan_items(plan, *, state=None):
    qs = plan.items.select_related("asset__source", "kept_asset__source", "decision__actor")
    if state:
        qs = qs.filter(state=state)
    return qs


def plan_csv_rows(plan):
    for it in plan_items(plan).iterator(chunk_size=2000):
        yield [
            it.pk, it.state, it.asset.source.name, it.asset.key, it.size, it.etag_at_decision, it.kept_asset.source.name,
            it.kept_asset.key, it.kept_etag_at_decision, it.diff_score, it.local_score, it.engine_version,
            it.decision.action, it.decision.created_at, it.decision.actor.get_username(), it.reason,
            it.dry_run_outcome,
        ]


def quarantine_list(*, state=DeletionItem.State.QUARANTINED):
    return DeletionItem.objects.filter(state=state).select_related("asset__source", "kept_asset__source", "plan")


def audit_list(*, action=None, source=None, key=None):
    qs = AuditEntry.objects.select_related("approved_by", "executed_by")
    if action:
        qs = qs.filter(action=action)
    if source:
        qs = qs.filter(Q(source_name=source) | Q(kept_source_name=source))
    if key:
        qs = qs.filter(key__icontains=key)
    return qs


def audit_csv_rows(qs):
    for a in qs.iterator(chunk_size=2000):
        yield [
            a.pk, a.created_at, a.action, a.outcome, a.source_name, a.key, a.etag, a.size, a.kept_source_name, a.kept_key,
            a.kept_etag, a.diff_score, a.local_score, a.engine_version, _json(a.thresholds), a.decision_id,
            a.approved_by.get_username() if a.approved_by else "", a.executed_by.get_username() if a.executed_by else "",
            a.item_id, a.reason,
        ]


def _json(v):
    import json

    return json.dumps(v, sort_keys=True) if v else ""


# --- what the deletion services ask before they act ----------------------------------------------


def decision_has_run(decision) -> bool:
    """True once anything a decision asked for has touched storage or left Doppel: a deletion
    item past planned, or a reingest past queued. Undo is refused from then on."""
    if DeletionItem.objects.filter(decision=decision).exclude(state=DeletionItem.State.PLANNED).exists():
        return True
    return (
        ReingestItem.objects.filter(decision=decision)
        .exclude(state__in=[ReingestItem.State.QUEUED, ReingestItem.State.WITHDRAWN])
        .exists()
    )


def decision_stands(decision) -> bool:
    """An approval counts only while it is not undone and is still the file's last decision."""
    if Decision.objects.filter(undoes=decision).exists():
        return False
    return ReviewItem.objects.filter(pk=decision.review_item_id, last_decision=decision).exists()


def plannable_decisions(*, source=None):
    """Approve-delete decisions that still stand (not undone, still the file's last decision)
    and have no deletion item yet."""
    qs = Decision.objects.filter(
        action=Decision.Action.APPROVE_DELETE,
        undone_by__isnull=True,
        candidate__isnull=False,
        deletion_items__isnull=True,
        review_item__last_decision=F("pk"),
    ).exclude(asset__source__role=Source.Role.CANONICAL)
    if source is not None:
        qs = qs.filter(asset__source=source)
    return qs.select_related("asset__source", "candidate__match_asset__source", "actor", "review_item")


def deletion_kept_copy(decision):
    """The copy a deletion keeps: the chosen match, or the canonical object a verified reingest
    of this file created (which is then the copy the executor re-checks)."""
    reingest = (
        ReingestItem.objects.filter(asset=decision.asset, state=ReingestItem.State.VERIFIED, canonical_asset__isnull=False)
        .select_related("canonical_asset__source")
        .order_by("-verified_at")
        .first()
    )
    if reingest is not None:
        return reingest.canonical_asset, reingest.canonical_asset.etag
    snap = decision.snapshot or {}
    cand = decision.candidate
    kept_etag = (snap.get("candidate") or {}).get("match_etag") or (snap.get("match") or {}).get("etag") or cand.match_etag
    return cand.match_asset, kept_etag or cand.match_asset.etag


def reingest_verified(item) -> bool:
    """The kept copy of this item is the canonical object a verified reingest of its file created."""
    return ReingestItem.objects.filter(
        asset=item.asset, state=ReingestItem.State.VERIFIED, canonical_asset=item.kept_asset
    ).exists()

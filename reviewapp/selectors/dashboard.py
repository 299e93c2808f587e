"""What the dashboard shows: how much is left, how fast it goes, and what is running."""
from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from ..models import Asset, Decision, ErrorLogEntry, Job, ReviewItem
from .assets import cleanup_left
from .deletion import returned_from_plans
from .jobs import job_progress
from .review import available_q, in_source_q, queue_counts
from .sources import sources_with_counts

PACE_HOURS = 4


def _cleanup_left():
    """Objects and bytes still in clean-up sources (not vanished, not yet deleted)."""
    objects, size = cleanup_left()
    return {"objects": objects, "bytes": size}


def decisions_in_effect():
    """Decisions about a file that still stand: no skips, no undo rows, and not the decisions
    those undos took back (an undone approval settled nothing). One definition for every count."""
    return (Decision.objects.exclude(action__in=[Decision.Action.SKIP, Decision.Action.UNDO])
            .filter(undone_by__isnull=True))


def curator_pace(*, hours=PACE_HOURS, now=None):
    """Files settled per hour by each curator over the last `hours` (skips, undos and undone
    decisions excluded), measured from their first decision in the window so a late starter is
    not under-rated."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    rows = (decisions_in_effect().filter(created_at__gte=since)
            .values("actor_id").annotate(n=Count("id"), first=Min("created_at"), last=Max("created_at"))
            .order_by("-n"))
    users = dict(get_user_model().objects.filter(pk__in=[r["actor_id"] for r in rows]).values_list("pk", "username"))
    out = []
    for r in rows:
        span_h = max((now - r["first"]).total_seconds() / 3600.0, 0.25)
        out.append({"user": users.get(r["actor_id"], "?"), "decisions": r["n"], "per_hour": round(r["n"] / span_h, 1),
                    "last": r["last"]})
    return out


def dashboard_summary(*, now=None):
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    decided_today = (decisions_in_effect().filter(created_at__gte=today)
                     .values("action").annotate(n=Count("review_item", distinct=True)).order_by())
    by_action = {r["action"]: r["n"] for r in decided_today}
    sources = sources_with_counts().order_by("role", "name")
    # open: what the review queues serve and count (abandoned leases included, files gone from their
    # source not: available_q), so the dashboard and the review page say one number
    review = ReviewItem.objects.aggregate(
        open=Count("id", filter=available_q(now)),
        leased=Count("id", filter=Q(status=ReviewItem.Status.LEASED, lease_expires_at__gte=now) & in_source_q()),
        decided=Count("id", filter=Q(status=ReviewItem.Status.DECIDED)),
    )
    jobs = list(Job.objects.filter(Q(state__in=Job.ACTIVE_STATES) | Q(finished_at__gte=now - timedelta(hours=24)))
                .select_related("source").order_by("-created_at")[:10])
    for job in jobs:
        job.percent = _job_percent(job)
    return {
        "cleanup_left": _cleanup_left(),
        "sources": sources,
        "assets": Asset.objects.count(),
        "decided_today": sum(by_action.values()),
        "by_action": [(label, by_action.get(value, 0)) for value, label in Decision.Action.choices
                      if value not in (Decision.Action.SKIP, Decision.Action.UNDO)],
        "pace": curator_pace(now=now),
        "pace_hours": PACE_HOURS,
        "review": review,
        "queues": queue_counts(),
        "jobs": jobs,
        "errors_today": ErrorLogEntry.objects.filter(created_at__gte=today, withdrawn=False).count(),
        "errors_total": ErrorLogEntry.objects.filter(withdrawn=False).count(),
        "returned_from_plans": returned_from_plans(),
    }


def _job_percent(job):
    return job_progress(job).get("percent")

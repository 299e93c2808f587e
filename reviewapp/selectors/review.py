"""Read side of review: queues, their counts, the file view and what a curator may undo.

A queue is a dict of filters (source, namelist, job, verdict, band). Every function here accepts
the raw strings a request carries and ignores what it cannot parse, so a bad link shows the whole
queue instead of an error page (with a message saying so: `queue_unrecognised`).
"""
from __future__ import annotations

import random

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from matching.verdict import BULK_APPROVABLE_VERDICTS

from ..models import Asset, Candidate, Decision, DeletionItem, Job, NameList, NameListEntry, ReviewItem, Source, Verdict
from .deletion import returned_q

QUEUE_KEYS = ("source", "namelist", "job", "verdict", "band")

# Score bands over the best candidate's score: the higher of diff_score (0 = pixel-identical) and
# damage_score (the damaged share of the picture), so a damaged copy whose intact part matches
# never sorts among the near-identical files. "none" holds the files without a score:
# unreadable and no_match.
BANDS = [
    ("0-0.005", "≤ 0.005", 0.0, 0.005),
    ("0.005-0.02", "0.005 – 0.02", 0.005, 0.02),
    ("0.02-0.05", "0.02 – 0.05", 0.02, 0.05),
    ("0.05-0.15", "0.05 – 0.15", 0.05, 0.15),
    ("0.15+", "> 0.15", 0.15, None),
    ("none", "no score", None, None),
]
BAND_KEYS = [b[0] for b in BANDS]


def _band_q(band: str) -> Q | None:
    for key, _label, lo, hi in BANDS:
        if key != band:
            continue
        if key == "none":
            return Q(diff_score__isnull=True)
        # max(diff, damage) > lo  ⟺  diff > lo or damage > lo;  max(diff, damage) <= hi  ⟺  both <= hi
        q = Q(diff_score__isnull=False)
        if lo:
            q &= Q(diff_score__gt=lo) | Q(damage_score__gt=lo)
        if hi is not None:
            q &= Q(diff_score__lte=hi) & Q(damage_score__lte=hi)
        return q
    return None


ID_MAX = 2**63 - 1  # the largest primary key any supported database holds (SQLite INTEGER, bigint)


def _int(value):
    """An id from a request, or None: junk and numbers no row can have are not ids (a 20-digit
    number would overflow SQLite's INTEGER and answer 500)."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    return v if -ID_MAX <= v <= ID_MAX else None


def row_id(value) -> int | None:
    """An id as a request names a row, or None: ASCII digits alone, and a number a row can have.
    Why one rule: ``str.isdigit`` is true of "²" and "٣", which ``int`` refuses or reads as another
    number, and a 20-digit number overflows SQLite's INTEGER; each view that tested digits its own way
    answered 500 to one of them (a superscript two for an archive or a source, a word for a source)."""
    text = str(value) if value is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    v = int(text)
    return v if v <= ID_MAX else None


def queue_clean(params) -> dict:
    """The recognised filters of a request's GET/POST (or any mapping), as a small dict."""
    queue = {}
    if not params:
        return queue
    for key in ("source", "namelist", "job"):
        v = _int(params.get(key))
        if v:
            queue[key] = v
    verdict = params.get("verdict")
    if verdict in Verdict.values:
        queue["verdict"] = verdict
    band = params.get("band")
    if band in BAND_KEYS:
        queue["band"] = band
    return queue


def queue_unrecognised(params) -> list[str]:
    """What a request asked to filter by that `queue_clean` cannot use, in a curator's words:
    values that do not parse and ids that name nothing. A page that shows the whole queue in
    their place says so; "Next" refuses to serve a file from a queue the curator did not ask for."""
    if not params:
        return []
    cleaned = queue_clean(params)
    models = {"source": Source, "namelist": NameList, "job": Job}
    problems = []
    for key in QUEUE_KEYS:
        raw = params.get(key)
        if raw in (None, ""):
            continue
        shown = str(raw)[:40]
        if key not in cleaned:
            problems.append(f"{key} “{shown}” is not one Doppel knows")
        elif key in models and not models[key].objects.filter(pk=cleaned[key]).exists():
            problems.append(f"there is no {key} {cleaned[key]}")
    return problems


def queue_q(queue: dict | None) -> Q:
    """The filter for one queue, on ReviewItem."""
    queue = queue_clean(queue)
    q = Q()
    if "source" in queue:
        q &= Q(asset__source_id=queue["source"])
    if "job" in queue:
        q &= Q(job_id=queue["job"]) | Q(best_candidate__job_id=queue["job"])
    if "verdict" in queue:
        q &= Q(verdict=queue["verdict"])
    if "band" in queue:
        q &= _band_q(queue["band"])
    if "namelist" in queue:
        # a subquery, not a join: one file listed twice must not appear twice
        q &= Q(asset_id__in=NameListEntry.assets.through.objects.filter(
            namelistentry__namelist_id=queue["namelist"]).values("asset_id"))
    return q


def in_source_q() -> Q:
    """The clean-up file is still in its source. A file an inventory found gone has nothing left to
    decide (approving it is refused, its pictures may be gone), so no queue serves or counts it; the
    item stays as it was and comes back the day an inventory lists the file again."""
    return ~Q(asset__state=Asset.State.VANISHED)


def lease_free_q(now=None) -> Q:
    """Open files, plus leased ones whose lease ran out (an abandoned lease returns the file): on the
    row's own columns only, for the conditional UPDATE that takes a lease. A condition through a join
    makes Django's UPDATE a subquery (``id IN (SELECT ...)``), which PostgreSQL does not re-check on
    the row it waited for, so two curators both won one file (the concurrency test caught it)."""
    now = now or timezone.now()
    return Q(status=ReviewItem.Status.OPEN) | Q(status=ReviewItem.Status.LEASED, lease_expires_at__lt=now)


def available_q(now=None) -> Q:
    """What a queue serves and counts: the files free to lease (``lease_free_q``) still in their source."""
    return lease_free_q(now) & in_source_q()


def lease_current(*, actor, queue=None, now=None):
    """The file this curator holds an unexpired lease on in this queue, or None."""
    now = now or timezone.now()
    return (ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, leased_by=actor, lease_expires_at__gte=now)
            .filter(queue_q(queue) & in_source_q()).order_by("priority", "id").first())


def queue_items(queue=None, now=None):
    """Files a curator could be served from this queue, in queue order."""
    return ReviewItem.objects.filter(available_q(now)).filter(queue_q(queue)).order_by("priority", "id")


def queue_walk(queue=None, now=None, page=100, fields=("id", "skipped_by")):
    """Yield (fields…) of the files a curator could be served, in queue order: abandoned leases
    first, then open files by priority. Two plain ordered queries instead of one OR, so each is an
    index scan and "next" costs the same with a thousand or a million files in the queue."""
    now = now or timezone.now()
    q = queue_q(queue) & in_source_q()
    expired = (ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, lease_expires_at__lt=now)
               .filter(q).order_by("priority", "id").values_list(*fields))
    yield from expired[:page]
    open_qs = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).filter(q).order_by("priority", "id").values_list(*fields)
    seen = 0
    while True:
        rows = list(open_qs[seen:seen + page])
        yield from rows
        if len(rows) < page:
            return
        seen += len(rows)


def queue_peek(*, actor, queue=None, exclude=(), limit=1):
    """The next files this curator would get, without leasing them (to prefetch their images)."""
    out = []
    for n, (item_id, asset_id, best_id, skipped_by) in enumerate(
            queue_walk(queue, page=20, fields=("id", "asset_id", "best_candidate_id", "skipped_by"))):
        if n >= 40:
            break
        if item_id in exclude or actor.pk in (skipped_by or []):
            continue
        out.append({"id": item_id, "asset_id": asset_id, "best_candidate_id": best_id})
        if len(out) >= limit:
            break
    return out


def queue_counts(*, queue=None) -> dict:
    """Open counts per verdict, per band, per source and per job, within `queue` minus the
    dimension being counted (so the verdict counts answer "how many of each in this source")."""
    queue = queue_clean(queue)
    base = ReviewItem.objects.filter(available_q())

    def without(key):
        return base.filter(queue_q({k: v for k, v in queue.items() if k != key}))

    verdict_counts = dict(without("verdict").values_list("verdict").annotate(n=Count("id")).order_by())
    band_qs = without("band")
    band_counts = band_qs.aggregate(**{f"b{i}": Count("id", filter=_band_q(key)) for i, key in enumerate(BAND_KEYS)})
    sources = list(without("source").values("asset__source_id", "asset__source__name")
                   .annotate(n=Count("id")).order_by("asset__source__name"))
    jobs = list(without("job").exclude(job_id=None).values("job_id").annotate(n=Count("id")).order_by("-job_id")[:20])
    namelists = list(without("namelist").filter(asset__namelist_entries__isnull=False)
                     .values("asset__namelist_entries__namelist_id", "asset__namelist_entries__namelist__title")
                     .annotate(n=Count("id", distinct=True)).order_by("-asset__namelist_entries__namelist_id")[:30])
    return {
        "total": base.filter(queue_q(queue)).count(),
        "namelists": [(r["asset__namelist_entries__namelist_id"], r["asset__namelist_entries__namelist__title"], r["n"])
                      for r in namelists],
        "verdicts": [(v, label, verdict_counts.get(v, 0)) for v, label in Verdict.choices],
        "bands": [(key, label, band_counts[f"b{i}"]) for i, (key, label, _lo, _hi) in enumerate(BANDS)],
        "sources": [(s["asset__source_id"], s["asset__source__name"], s["n"]) for s in sources],
        "jobs": [(j["job_id"], j["n"]) for j in jobs],
        "decided": ReviewItem.objects.filter(status=ReviewItem.Status.DECIDED).filter(queue_q(queue)).count(),
    }


def candidate_outdated(candidate, *, asset, latest_job_id=None) -> str | None:
    """Why this candidate's verdict is no longer the current word on the pair, or None when it is.

    A candidate records what it was computed from: each side's ETag then (cleanup_etag,
    match_etag) and the comparison run that wrote it (job). It is outdated when either object
    changed since (and so was, or must be, analysed again), or when the file's latest comparison
    (the review item's job) did not include this pair, e.g. the kept copy no longer decodes and
    the new run left it out. Its verdict and "safe to delete" then describe content that is gone:
    the file view says so instead of showing them, choosing it is refused, and so is approving
    on it (reviewapp.services.review.approve_refusal). `asset` is the clean-up file (as loaded
    now) and `latest_job_id` its review item's job."""
    if candidate is None:
        return None
    match = candidate.match_asset
    if candidate.match_etag and match.etag != candidate.match_etag:
        again = " and was re-analysed" if match.analysed_etag and match.analysed_etag == match.etag else ""
        return f"the kept copy changed{again} since the pair was compared"
    if candidate.cleanup_etag and asset.etag != candidate.cleanup_etag:
        again = " and was re-analysed" if asset.analysed_etag and asset.analysed_etag == asset.etag else ""
        return f"this file changed{again} since the pair was compared"
    if latest_job_id and candidate.job_id and candidate.job_id != latest_job_id:
        return f"the file was compared again (job #{latest_job_id}) and this pair was not part of that comparison"
    return None


def best_candidate_current_q() -> Q:
    """`candidate_outdated` as a filter on ReviewItem, for its best candidate: the same three
    conditions (the kept copy's ETag, the clean-up copy's ETag, the latest comparison's job), so a
    bulk batch never offers a file whose best pair the file view calls outdated (a test holds the
    two to the same answer)."""
    c = "best_candidate__"
    match_changed = ~Q(**{f"{c}match_etag": ""}) & ~Q(**{f"{c}match_etag": F(f"{c}match_asset__etag")})
    cleanup_changed = ~Q(**{f"{c}cleanup_etag": ""}) & ~Q(**{f"{c}cleanup_etag": F("asset__etag")})
    compared_again = (Q(job__isnull=False) & Q(**{f"{c}job__isnull": False}) & ~Q(**{f"{c}job": F("job")}))
    return ~(match_changed | cleanup_changed | compared_again)


def review_item_get(item_id):
    """One file with everything the file view shows, in two queries."""
    try:
        item = (ReviewItem.objects
                .select_related("asset__source", "best_candidate__match_asset__source", "leased_by",
                                "last_decision__actor")
                .get(pk=item_id))
    except ReviewItem.DoesNotExist:
        return None, []
    candidates = list(Candidate.objects.filter(cleanup_asset_id=item.asset_id)
                      .select_related("match_asset__source").order_by("rank", "diff_score", "id"))
    return item, candidates


def decision_last_undoable(*, actor):
    """The curator's own last decision that settled a file, if it is still the file's decision
    and has not been undone. Skips do not count: undoing a skip means nothing."""
    last = (Decision.objects.filter(actor=actor)
            .exclude(action__in=[Decision.Action.SKIP, Decision.Action.UNDO])
            .select_related("review_item").order_by("-created_at", "-id").first())
    if last is None or Decision.objects.filter(undoes=last).exists():
        return None
    if last.review_item.last_decision_id != last.pk or last.review_item.status != ReviewItem.Status.DECIDED:
        return None
    return last


def bulk_batch(*, job=None, source=None, verdict=None, max_diff=None, max_local=None):
    """Files an admin could approve in bulk: open, best candidate identical or duplicate and
    marked safe to delete by the engine, within the admin's score limits."""
    return _bulk_filter(ReviewItem.objects.filter(available_q()), job=job, source=source, verdict=verdict,
                        max_diff=max_diff, max_local=max_local)


def bulk_batch_leased(*, job=None, source=None, verdict=None, max_diff=None, max_local=None):
    """Files that would be in the batch but another curator holds right now (a live lease): bulk
    approval leaves them out and says so, with who holds them."""
    live = Q(status=ReviewItem.Status.LEASED, lease_expires_at__gte=timezone.now())
    return _bulk_filter(ReviewItem.objects.filter(live), job=job, source=source, verdict=verdict,
                        max_diff=max_diff, max_local=max_local).select_related("leased_by", "asset__source")


def _bulk_filter(qs, *, job, source, verdict, max_diff, max_local):
    """A file an executor returned to review (its deletion aborted, the reason on its page) is never
    in a bulk batch: its approval just failed a re-check, so a person looks at it and its reason one
    file at a time (approving it again in bulk would only loop it through the next plan). Nor is a
    file the approval would refuse for what its rows already say: its best pair outdated, or
    either copy gone from its source (a takedown, a vanished object)."""
    verdicts = [verdict] if verdict in BULK_APPROVABLE_VERDICTS else sorted(BULK_APPROVABLE_VERDICTS)
    qs = (qs
          .filter(best_candidate__isnull=False, best_candidate__safe_to_delete=True,
                  best_candidate__verdict__in=verdicts, verdict__in=verdicts)
          .filter(queue_q({"job": job, "source": source}))
          .filter(best_candidate_current_q())
          .filter(in_source_q()).exclude(best_candidate__match_asset__state=Asset.State.VANISHED)
          .exclude(Exists(DeletionItem.objects.filter(returned_q(), asset=OuterRef("asset")))))
    if max_diff is not None:
        qs = qs.filter(best_candidate__diff_score__lte=max_diff, best_candidate__damage_score__lte=max_diff)
    if max_local is not None:
        qs = qs.filter(best_candidate__local_score__lte=max_local)
    return qs.order_by("id")


def bulk_batch_ids(qs) -> list[int]:
    """The ids of a bulk batch, in batch order: read once, then counted, sampled and sealed."""
    return list(qs.values_list("id", flat=True))


def bulk_sample(ids, *, n=20, seed=None):
    """A random sample of a batch (its ``bulk_batch_ids``), reproducible from the seed so the
    confirm page can show what was sampled."""
    rng = random.Random(seed)
    picked = rng.sample(ids, min(n, len(ids)))
    return list(ReviewItem.objects.filter(pk__in=picked)
                .select_related("asset__source", "best_candidate__match_asset__source").order_by("id"))

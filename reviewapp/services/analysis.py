"""Analysis and pairing: per asset fetch → decode → fingerprint → renditions, then per batch of
clean-up files: candidates from the shared candidate index in the database → verification → Candidate rows → one
ReviewItem per clean-up file.

A job works through JobItem rows. Each item's result and the job's counters are written in one
transaction that first locks the item and checks it is still pending, so a retried or
redelivered task (a worker killed mid-job) never repeats finished work or counts it twice, and
an asset already analysed at the same ETag by the same engine version is skipped outright.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

import matching
from matching.index import shared_id
from matching.thresholds import current as current_thresholds
from matching.verdict import FileDecision, damage_score, verdict_rank

from ..models import Asset, Candidate, Job, JobItem, NameList, NameListEntry, ReviewItem, Source
from ..selectors.assets import assets_needing_analysis
from ..selectors.candidate_index import candidates_for
from ..selectors.takedown import taken_down_ids
from ..storage import ObjectMissing, StorageError, UnsafeKey, sha256_file, storage_for
from .candidate_index import candidate_index_store, candidate_index_sync
from .jobs import (
    job_count,
    job_create,
    job_dispatch,
    job_event,
    job_finish,
    job_item_fail,
    job_items_add,
    job_may_continue,
    job_start,
)
from .renditions import asset_renditions_save, load_reduced, rendition_pool, renditions_delete
from .restore import restores_lapse

log = logging.getLogger(__name__)

ANALYSABLE = [Asset.State.LISTED, Asset.State.AVAILABLE, Asset.State.FINGERPRINTED, Asset.State.UNREADABLE]


class PermanentFailure(Exception):
    """This item cannot succeed by retrying (object gone, over the size limit)."""


def engine():
    return matching


def engine_version() -> str:
    return engine().ENGINE_VERSION


# --- starting -----------------------------------------------------------------------------------


def analysis_start(*, actor, source: Source | None = None, namelist: NameList | None = None, idempotency_key=None,
                   dispatch=True, params=None) -> Job:
    """Queue analysis of a source (or of a name list's selection) followed by pairing of its
    clean-up files. Canonical assets not yet analysed are included, since pairing needs them."""
    if (source is None) == (namelist is None):
        raise ValidationError("analyse either a source or a name list")
    if namelist is not None:
        if namelist.resolved_at is None:
            raise ValidationError("the name list has not been resolved yet")
        source = namelist.source
    with transaction.atomic():
        job = job_create(actor=actor, kind=Job.Kind.ANALYSE, source=source, namelist=namelist,
                         params={"phase": "analyse", **(params or {})}, idempotency_key=idempotency_key)
        if dispatch and job.state == Job.State.QUEUED:
            job_dispatch(job)
    return job


def analysis_scope(job: Job):
    """The assets this job was asked about (clean-up files to pair, or a canonical source)."""
    if job.namelist_id:
        entries = NameListEntry.objects.filter(namelist_id=job.namelist_id, status=NameListEntry.Status.FOUND)
        return Asset.objects.filter(namelist_entries__in=entries).distinct()
    return Asset.objects.filter(source_id=job.source_id)


def analysis_prepare(job_id: int) -> list[int]:
    """Register the job's items (idempotent) and return the pending ones to work on."""
    job = Job.objects.select_related("source").get(pk=job_id)
    if not job.params.get("prepared"):
        ev = engine_version()
        scope = analysis_scope(job)
        # a restored copy that expired before it was analysed is archived again (restore first)
        restores_lapse(scope)
        todo = set(assets_needing_analysis(scope, ev).values_list("id", flat=True))
        in_scope_todo = len(todo)
        if job.source.role == Source.Role.CLEANUP:
            canon = Asset.objects.filter(source__role=Source.Role.CANONICAL)
            todo |= set(assets_needing_analysis(canon, ev).values_list("id", flat=True))
        archived = scope.filter(state__in=[Asset.State.ARCHIVED, Asset.State.RESTORING]).count()
        job_items_add(job, sorted(todo))
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job_id)
            n = JobItem.objects.filter(job=job).count()
            sizes = Asset.objects.filter(job_items__job=job).aggregate(b=Sum("size"))["b"] or 0
            # Requested and Found count the same thing, the files this job analyses (all of them
            # exist: they were just listed); what the scope held is said beside, in params.
            job.requested = n
            job.found = n
            job.bytes_total = sizes
            job.params = {**job.params, "prepared": True, "archived_waiting": archived,
                          "in_scope": scope.exclude(state=Asset.State.VANISHED).count(),
                          "canonical_needed": n - in_scope_todo,
                          "already_analysed": max(scope.exclude(state__in=[Asset.State.ARCHIVED, Asset.State.RESTORING,
                                                                           Asset.State.VANISHED]).count()
                                                  - scope.filter(job_items__job=job).count(), 0)}
            job.save(update_fields=["requested", "found", "bytes_total", "params"])
            job_event(job, "prepared", items=n, archived_waiting=archived)
    return list(JobItem.objects.filter(job_id=job_id, state=JobItem.State.PENDING).values_list("id", flat=True))


# --- one asset ---------------------------------------------------------------------------------


def asset_facts(fa) -> dict:
    """The facts of an engine analysis (``matching.FileAnalysis``) an Asset row keeps in its own columns,
    cut to them: one mapping for every writer (an analysis job, a reingested canonical copy's check)."""
    return {
        "format": (fa.format or "")[:20],
        "width": fa.width or None,
        "height": fa.height or None,
        "pages": fa.pages or None,
        "pictures": fa.pictures or None,
        "bit_depth": fa.bit_depth or None,
        "mode": (fa.mode or "")[:16],
        "icc": None if fa.icc is None else fa.icc[:120],
    }


def analyse_asset_file(asset: Asset, path: str) -> dict:
    """Engine analysis of a fetched file, plus what the UI needs; returns the fields to store."""
    m = engine()
    fa = m.analyse_file(path, name=asset.name, max_pixels=settings.MAX_IMAGE_PIXELS, keep_image=True, rendition=True)
    # the web rendition is made from the full-detail rendition the engine decoded (one decode per file)
    saved = asset_renditions_save(asset, path, web=fa.readable, image=fa.image, rendition=fa.rendition)
    web, thumb = saved.get("web", ""), saved.get("thumb", "")
    stored = fa.to_dict()
    stored.update({kind: saved[kind] for kind in ("reduced", "detail") if kind in saved})
    return {
        "analysis": stored,
        **asset_facts(fa),
        "decode_status": fa.status,
        "decode_error": "\n".join(str(e) for e in fa.errors)[:5000],
        "ids": list(fa.ids),
        "engine_version": m.ENGINE_VERSION,
        "analysed_etag": asset.etag,
        "analysed_at": timezone.now(),
        "state": Asset.state_analysed(fa.status),
        "rendition": web,
        "thumbnail": thumb,
        "checksum": fa.sha256 or sha256_file(path),  # the engine hashed the bytes already
    }


def analyse_item(job_id: int, item_id: int) -> str:
    """Analyse one item of a job. Returns "done", "skipped", "paused" or "already"."""
    if not job_may_continue(job_id):
        return "paused"
    item = JobItem.objects.select_related("asset", "asset__source").get(pk=item_id)
    if item.state != JobItem.State.PENDING:
        return "already"
    asset = item.asset
    ev = engine_version()
    fields = None
    if not (asset.analysis and asset.engine_version == ev and asset.analysed_etag == asset.etag and _current(asset)):
        if taken_down_ids([asset.pk]):
            raise PermanentFailure(TAKEN_DOWN)
        if asset.state not in ANALYSABLE:
            raise PermanentFailure(f"{asset.key} is {asset.get_state_display().lower()}: nothing to analyse")
        if asset.size > settings.MAX_OBJECT_BYTES:
            raise PermanentFailure(f"{asset.key} is {asset.size} bytes, over the limit of {settings.MAX_OBJECT_BYTES}")
        if settings.TESTING and job_delay(job_id):
            import time

            time.sleep(job_delay(job_id))
        try:
            with storage_for(asset.source).fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
                fields = analyse_asset_file(asset, path)
        except (ObjectMissing, UnsafeKey) as exc:
            raise PermanentFailure(str(exc)) from exc
    with transaction.atomic():
        item = JobItem.objects.select_for_update().get(pk=item_id)
        if item.state != JobItem.State.PENDING:
            return "already"
        if fields is not None and taken_down_ids([asset.pk]):
            # taken down while it was analysed: what this analysis made goes, nothing is recorded
            _remove_made(fields)
            raise PermanentFailure(TAKEN_DOWN)
        if fields is not None:
            Asset.objects.filter(pk=asset.pk).update(updated_at=timezone.now(), **fields)
            if asset.source.role == Source.Role.CANONICAL:
                candidate_index_store(asset.pk, fields["analysis"], fields["analysed_at"])
        item.state = JobItem.State.DONE if fields is not None else JobItem.State.SKIPPED
        item.attempts += 1
        item.save(update_fields=["state", "attempts", "updated_at"])
        job_count(job_id, processed=1, bytes_done=asset.size)
    return "done" if fields is not None else "skipped"


# Why a taken-down object is not analysed (a job queued before its takedown reaches it after)
TAKEN_DOWN = "removed by a legal takedown: nothing of it is analysed or rendered again"


def _remove_made(fields: dict) -> None:
    """Delete the renditions an analysis wrote (``analyse_asset_file``'s fields name them)."""
    stored = fields.get("analysis") or {}
    renditions_delete([fields.get("rendition"), fields.get("thumbnail"), stored.get("reduced"), stored.get("detail")])


def job_delay(job_id) -> float:
    """Test hook (only under DOPPEL_TESTING): slow each item so a test can kill a worker mid-job."""
    return float(Job.objects.filter(pk=job_id).values_list("params__test_item_delay", flat=True).first() or 0)


# --- phases ------------------------------------------------------------------------------------


def analysis_advance(job_id: int) -> tuple[str, list[int]]:
    """Move the job on once its current phase has nothing pending. Returns (phase, pending item
    ids of the phase to dispatch); exactly one caller gets the transition (row lock)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state not in (Job.State.RUNNING, Job.State.QUEUED):
            return "stopped", []
        phase = job.params.get("phase", "analyse")
        if phase == "analyse":
            if JobItem.objects.filter(job=job, state=JobItem.State.PENDING).exists():
                return "analyse", []
            pair_job = _pair_job_create(job)
            job.params = {**job.params, "phase": "pair", "pair_job": pair_job.pk}
            job.save(update_fields=["params"])
            job_event(job, "analysed", processed=job.processed, failed=job.failed)
            return "pair", list(JobItem.objects.filter(job=pair_job, state=JobItem.State.PENDING).values_list("id", flat=True))
        if phase == "pair":
            pair_job = Job.objects.select_for_update().get(pk=job.params["pair_job"])
            if JobItem.objects.filter(job=pair_job, state=JobItem.State.PENDING).exists():
                return "pair", []
    # finished: outside the lock above, each finish takes its own
    job_finish(job.params["pair_job"])
    job_finish(job_id)
    return "done", []


def pending_pair_items(job: Job) -> list[int]:
    pj = job.params.get("pair_job")
    if not pj:
        return []
    return list(JobItem.objects.filter(job_id=pj, state=JobItem.State.PENDING).values_list("id", flat=True))


def _pair_job_create(job: Job) -> Job:
    existing = Job.objects.filter(parent=job, kind=Job.Kind.PAIR).first()
    if existing:
        return existing
    candidate_index_sync()   # whatever another writer left unindexed (normally nothing: one anti-join)
    pj = job_create(actor=job.created_by, kind=Job.Kind.PAIR, source=job.source, namelist=job.namelist, parent=job,
                    state=Job.State.RUNNING, params={"engine_version": engine_version()})
    scope = analysis_scope(job).filter(source__role=Source.Role.CLEANUP,
                                       state__in=[Asset.State.FINGERPRINTED, Asset.State.UNREADABLE])
    ids = list(scope.values_list("id", flat=True))
    job_items_add(pj, ids)
    size = scope.aggregate(b=Sum("size"))["b"] or 0
    Job.objects.filter(pk=pj.pk).update(requested=len(ids), found=len(ids), bytes_total=size, started_at=timezone.now())
    return pj


# --- pairing -----------------------------------------------------------------------------------

def with_image(asset: Asset, stored, fetch_path, *, load=None):
    """The stored analysis plus its reduced image and full-detail rendition: from the renditions
    storage when they were kept at analysis time (no refetch of the original, which on S3 means no
    second download), otherwise by fetching and decoding the file again. ``load``: how a rendition
    is read (a batch's read-ahead hands over what it already has)."""
    names = rendition_names(asset)
    if stored.readable and names:
        load = load or load_reduced
        image, detail = load(names[0]), load(names[1])
        if image is not None and detail is not None:
            stored.image, stored.rendition = image, detail
            return stored
    if not stored.readable and asset.analysis:
        return stored  # nothing to decode: verification works from the analysis (IDs, errors)
    fa = engine().analyse_file(fetch_path(), name=asset.name, max_pixels=settings.MAX_IMAGE_PIXELS, rendition=True)
    fa.path = None   # the fetched copy is temporary: the proof works from the rendition kept here
    if stored.ids is not None and asset.analysis:
        fa.ids = list(stored.ids)
    return fa


def rendition_names(asset: Asset) -> tuple[str, str] | None:
    """(reduced, full-detail) rendition names kept at analysis time, or None when either is missing."""
    a = asset.analysis if isinstance(asset.analysis, dict) else {}
    return (a["reduced"], a["detail"]) if a.get("reduced") and a.get("detail") else None


class _RenditionReads:
    """A pair batch's renditions read a file ahead, in the rendition threads: while one clean-up
    file is verified, the next one's reduced and full-detail PNGs and those of its candidates not
    cached yet are downloaded and decoded (a GET and a PNG decode, about 50 ms for a detail PNG,
    both releasing the GIL), so a free core or the network wait overlaps the verification instead
    of preceding it. Each name is read once: ``load`` hands over the read begun ahead (or reads
    now). Bounded: at most ``limit`` reads are held ahead, each dropped when it is used, the rest
    when the batch ends; nothing outlives the batch."""

    def __init__(self, limit: int = 16):
        self.limit = limit
        self.pending: dict[str, Future] = {}

    def ahead(self, names) -> None:
        pool = rendition_pool()
        for name in names:
            if name not in self.pending and len(self.pending) < self.limit:
                self.pending[name] = pool.submit(load_reduced, name)

    def load(self, name: str):
        job = self.pending.pop(name, None)
        return job.result() if job is not None else load_reduced(name)

    def close(self) -> None:
        for job in self.pending.values():
            job.cancel()
        self.pending.clear()


class _MatchCache:
    """Decoded kept copies for one batch (or one re-verification run): the same canonical often
    pairs several clean-up files. Keyed by asset and ETag, so a kept copy analysed again meanwhile
    is read again, never answered from the older picture."""

    def __init__(self, size=8, load=None):   # full-detail renditions: up to 12 MB each
        self.size = size
        self.load = load
        self.items: OrderedDict = OrderedDict()

    @staticmethod
    def key(asset: Asset):
        return asset.pk, asset.etag

    def __contains__(self, asset: Asset) -> bool:
        return self.key(asset) in self.items

    def get(self, asset: Asset, path_fn):
        key = self.key(asset)
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        m = engine()
        fa = with_image(asset, m.FileAnalysis.from_dict(asset.analysis or {"name": asset.name}), path_fn, load=self.load)
        self.items[key] = (fa, None)
        while len(self.items) > self.size:
            self.items.popitem(last=False)
        return fa, None


def stored_analysis(asset: Asset):
    return engine().FileAnalysis.from_dict(asset.analysis or {"name": asset.name})


def deeper_candidates(asset: Asset, first: list) -> list:
    """The candidates after the first ones, up to ``deeper_limit`` in all (matching's
    CandidateIndex.deeper_candidates, from the shared index): crops of one photograph can crowd the
    first places, and a canonical whose whole-picture hash a damage band spoiled is found by one
    region hash only, a few places further down, or by the thumbnail search alone."""
    seen = {c.key for c in first}
    return [c for c in candidates_for({asset.pk: stored_analysis(asset)}, limit=current_thresholds().deeper_limit,
                                      deeper=True)[asset.pk]
            if c.key not in seen]


def pair_asset(asset: Asset, cands: list, *, file_stack: ExitStack, batch_stack: ExitStack, match_cache: _MatchCache,
               deeper=None, kept: dict | None = None):
    """Verify one clean-up asset against its candidates (from the candidate index). Returns
    (FileDecision, [(match asset, found_by, PairResult)]). The clean-up file's temp copy lives on
    `file_stack`; kept copies are cached across the batch, so theirs live on `batch_stack`.
    ``deeper()``: the candidates after ``cands``, asked only when none of them is the same picture.
    ``kept``: candidate Asset rows the batch already read ({id: Asset}); the others are read here."""
    m = engine()
    fa_stored = stored_analysis(asset)
    if not cands:
        return m.decide_file(fa_stored, []), []
    cfa = with_image(asset, fa_stored, lambda: file_stack.enter_context(
        storage_for(asset.source).fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES)), load=match_cache.load)
    results: list = []
    try:
        _verify_candidates(asset, cfa, cands, results, batch_stack=batch_stack, match_cache=match_cache, kept=kept)
        if deeper is not None and not any(res.declared for _, _, res in results):
            # none is the same picture: look further down
            _verify_candidates(asset, cfa, deeper(), results, batch_stack=batch_stack, match_cache=match_cache,
                               kept=kept)
        with _engine_faults():
            decision = m.decide_file(cfa, [r for _, _, r in results])
    except _EngineFailed as exc:
        # one odd file must not stop its batch (its task would fail on every retry, the job never end)
        log.warning("verifying %s failed: %r", asset.pk, exc.__cause__)
        return m.verification_failed(cfa, exc.__cause__), []
    return decision, results


class _EngineFailed(Exception):
    """The engine raised while verifying a pair (not a storage error: those keep their meaning)."""


@contextmanager
def _engine_faults():
    """Whatever the engine raises here is this file's fault (``_EngineFailed``: decided as the CLI
    decides it); Celery's soft time limit is not: the batch's time is up, and pair_batch splits it."""
    try:
        yield
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # noqa: BLE001 - any engine fault, as verify_analyses' faults in the CLI
        raise _EngineFailed from exc


def _verify_candidates(asset: Asset, cfa, cands: list, results: list, *, batch_stack: ExitStack,
                       match_cache: _MatchCache, kept: dict | None = None) -> None:
    """Verify ``asset`` against each candidate's kept copy; appends (match asset, found_by, PairResult)."""
    m = engine()
    kept = kept or {}
    matches = {c.key: kept[c.key] for c in cands if c.key in kept}
    if len(matches) < len(cands):
        matches.update(kept_assets([c.key for c in cands if c.key not in matches]))
    for c in cands:
        ma = matches.get(c.key)
        if ma is None or ma.pk == asset.pk:
            continue
        try:
            # the lambda runs inside get(), in this iteration (B023 cannot see that)
            mfa, mpath = match_cache.get(ma, lambda: batch_stack.enter_context(
                storage_for(ma.source).fetch(ma.key, max_bytes=settings.MAX_OBJECT_BYTES)))  # noqa: B023
        except (ObjectMissing, UnsafeKey) as exc:
            log.info("candidate %s skipped: %s", ma.pk, exc)
            continue
        with _engine_faults():
            res = m.verify_analyses(cfa, mfa, shared_id=shared_id(c.reason))
        res.match = str(ma.pk)
        res.via = c.reason
        results.append((ma, c.reason, res))


# --- re-verification (a verifier change) -----------------------------------------------------


def reverify_start(*, actor, idempotency_key=None, dispatch=True) -> Job:
    """Queue re-verification of every open candidate with the current verifier. Admin-started:
    a verifier change re-judges open files from stored analyses and renditions; decided files keep
    the result (and version) they were decided with."""
    with transaction.atomic():
        job = job_create(actor=actor, kind=Job.Kind.REVERIFY, params={"verifier": engine().VERIFIER_VERSION},
                         idempotency_key=idempotency_key)
        job_event(job, "requested", actor=actor)
        if dispatch and job.state == Job.State.QUEUED:
            job_dispatch(job)
    return job


def _current(asset: Asset) -> bool:
    """The asset's stored analysis is what this engine would store (``matching.analysis_current``;
    the same rule as a query: ``selectors.assets.assets_needing_analysis``)."""
    a = asset.analysis or {}
    return engine().analysis_current(a.get("fingerprint_version"), a.get("width"), a.get("height"),
                                     format=a.get("format"), lossless=a.get("lossless"), status=a.get("status"),
                                     mode=a.get("mode"), bit_depth=a.get("bit_depth"),
                                     exif_orientation=a.get("exif_orientation"))


def _has_proof_data(asset: Asset) -> bool:
    a = asset.analysis or {}
    if a.get("status") == "unreadable":
        return True   # nothing to decode: judged from the analysis (IDs, errors)
    return rendition_names(asset) is not None and _current(asset)


def _never_fetch():
    raise PermanentFailure("re-verification works from stored data only")


def reverify_run(job_id: int) -> dict:
    """Re-verify the open clean-up files' candidates (same kept copies) from stored analyses and
    full-detail renditions; never fetches an original. Files whose stored data is too old (another
    fingerprint version, no rendition) are counted as needing re-analysis, with the archived ones
    among them (each costs a restore)."""
    job = job_start(job_id)
    if job is None:
        return {}
    m = engine()
    counts = {"reverified": 0, "needs_reanalysis": 0, "needs_restore": 0,
              "decided_kept": ReviewItem.objects.filter(status=ReviewItem.Status.DECIDED).count()}
    archived = {Asset.State.ARCHIVED, Asset.State.RESTORING}
    kept_copies = _MatchCache()   # a kept copy several open files pair with is read once, not once per file
    for review in ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).select_related("asset").iterator():
        asset = review.asset
        cands = list(Candidate.objects.filter(cleanup_asset=asset, status=Candidate.Status.OPEN)
                     .select_related("match_asset").order_by("rank"))
        matches = list({c.match_asset_id: (c.match_asset, c.found_by) for c in cands}.values())
        stale = [a for a in [asset] + [ma for ma, _ in matches] if not _has_proof_data(a)]
        if stale:
            counts["needs_reanalysis"] += 1
            counts["needs_restore"] += sum(a.state in archived for a in stale)
            continue
        cfa = with_image(asset, m.FileAnalysis.from_dict(asset.analysis), _never_fetch)
        results = []
        for ma, via in matches:
            mfa, _ = kept_copies.get(ma, _never_fetch)
            res = m.verify_analyses(cfa, mfa, shared_id=shared_id(via))
            res.match, res.via = str(ma.pk), via
            results.append((ma, via, res))
        decision = m.decide_file(cfa, [r for _, _, r in results])
        with transaction.atomic():
            if _write_pair_results(job, asset, decision, results) != "decided":
                counts["reverified"] += 1
    job_finish(job_id, **counts)
    return counts


def pair_damage(res, cleanup: Asset, match: Asset) -> float:
    """The pair's damage score (matching.verdict.damage_score): the damaged side's region the
    proof found, else either file's own damage evidence from its stored analysis."""
    own = [(a.analysis or {}).get("damage") if isinstance(a.analysis, dict) else None for a in (cleanup, match)]
    return damage_score(corrupt_side=res.corrupt_side or "none", region=res.region, own_damage=own)


def _write_pair_results(job: Job, asset: Asset, decision: FileDecision, results: list) -> str:
    """Candidates (unique per pair and engine version) and the file's ReviewItem, in one go.
    A decided file is never reopened; a leased one keeps its lease (the curator's view refreshes)."""
    ev = engine_version()
    best = decision.result
    ordered = sorted(results, key=lambda t: (0 if t[2] is best else 1, verdict_rank(t[2].verdict),
                                             t[2].diff_score + t[2].local_score))
    review = ReviewItem.objects.select_for_update().filter(asset=asset).first()
    if review is not None and review.status == ReviewItem.Status.DECIDED:
        return "decided"
    best_row = None
    for rank, (ma, via, res) in enumerate(ordered):
        cand, _ = Candidate.objects.update_or_create(
            cleanup_asset=asset, match_asset=ma, engine_version=ev,
            defaults=dict(
                found_by=via or "", diff_score=float(res.diff_score), local_score=float(res.local_score),
                damage_score=pair_damage(res, asset, ma),
                rotation=int(res.rotation) % 360, flipped=bool(res.flipped), corrupt_side=res.corrupt_side or "none",
                region=res.region, verdict=res.verdict, safe_to_delete=bool(res.safe_to_delete),
                reasons=list(res.reasons), thresholds=res.thresholds.to_dict(),
                proof=getattr(res, "proof", None),
                cleanup_etag=asset.etag, match_etag=ma.etag, rank=rank, job=job, status=Candidate.Status.OPEN,
            ),
        )
        if rank == 0 and res is best:
            best_row = cand
    # candidates of this engine version not seen this time go to the back
    Candidate.objects.filter(cleanup_asset=asset, engine_version=ev).exclude(
        match_asset__in=[ma for ma, _, _ in ordered]).update(rank=len(ordered) + 1)
    verdict = decision.verdict
    fields = dict(verdict=verdict, best_candidate=best_row,
                  diff_score=float(best.diff_score) if best_row and best else None,
                  local_score=float(best.local_score) if best_row and best else None,
                  damage_score=best_row.damage_score if best_row else 0.0, job=job)
    if review is None:
        ReviewItem.objects.create(asset=asset, status=ReviewItem.Status.OPEN, **fields)
        return "created"
    for k, v in fields.items():
        setattr(review, k, v)
    review.save(update_fields=list(fields))
    return "updated"


def kept_assets(ids) -> dict:
    """{id: Asset} of kept copies (candidates), with their source, in one query."""
    return {a.pk: a for a in Asset.objects.select_related("source").filter(pk__in=list(ids))}


def _renditions_to_pair(asset: Asset, cands: list, kept: dict, match_cache: _MatchCache) -> list[str]:
    """The rendition names pairing ``asset`` will read: its own and its candidates' not cached
    (none when it has no candidate: nothing is verified)."""
    if not cands:
        return []
    wanted = [asset] + [kept[c.key] for c in cands if c.key in kept and c.key != asset.pk and kept[c.key] not in match_cache]
    return [name for a in wanted for name in (rendition_names(a) or ())]


def pair_items(analysis_job_id: int, pair_job_id: int, item_ids: list[int]) -> dict:
    """Pair a batch of clean-up files. Each file is written in its own transaction, so a crash
    loses at most the file in hand; settled items are skipped on a retry."""
    out = {"done": 0, "skipped": 0, "failed": 0}
    pair_job = Job.objects.get(pk=pair_job_id)
    items = list(JobItem.objects.select_related("asset", "asset__source").filter(pk__in=item_ids, state=JobItem.State.PENDING))
    # one look-up of the shared candidate index for the whole batch (nothing of it is kept here)
    found = candidates_for({item.asset_id: stored_analysis(item.asset) for item in items})
    kept = kept_assets({c.key for item in items for c in found[item.asset_id]})   # one query for the batch
    reads = _RenditionReads()
    match_cache = _MatchCache(load=reads.load)
    with ExitStack() as stack:
        stack.callback(reads.close)
        for i, item in enumerate(items):
            if not job_may_continue(analysis_job_id):
                break
            asset = item.asset
            for nxt in items[i:i + 2]:   # this file's renditions (begun a file ago) and the next one's
                reads.ahead(_renditions_to_pair(nxt.asset, found[nxt.asset_id], kept, match_cache))
            try:
                with ExitStack() as per_file:
                    decision, results = pair_asset(asset, found[asset.pk], file_stack=per_file, batch_stack=stack,
                                                   match_cache=match_cache, kept=kept,
                                                   deeper=partial(deeper_candidates, asset, found[asset.pk]))
                    with transaction.atomic():
                        locked = JobItem.objects.select_for_update().get(pk=item.pk)
                        if locked.state != JobItem.State.PENDING:
                            continue
                        outcome = _write_pair_results(pair_job, asset, decision, results)
                        locked.state = JobItem.State.DONE if outcome != "decided" else JobItem.State.SKIPPED
                        locked.attempts += 1
                        locked.save(update_fields=["state", "attempts", "updated_at"])
                        job_count(pair_job_id, processed=1, bytes_done=asset.size)
                out["done"] += 1
            except (ObjectMissing, UnsafeKey, PermanentFailure) as exc:
                job_item_fail(pair_job_id, item.pk, str(exc))
                out["failed"] += 1
    return out


# --- inline (no broker) ------------------------------------------------------------------------


def analysis_run(job_id: int, *, progress=None, retries=2) -> Job | None:
    """Run a whole analysis job in this process (embedded mode, commands without a broker)."""
    if job_start(job_id) is None:
        return None
    pending = analysis_prepare(job_id)
    if progress:
        progress("analyse", total=len(pending))
    for item_id in pending:
        if not job_may_continue(job_id):
            return Job.objects.get(pk=job_id)
        _run_with_retries(job_id, item_id, retries)
        if progress:
            progress("analyse", step=1)
    phase, pair_ids = analysis_advance(job_id)
    if phase == "pair":
        pj = Job.objects.get(pk=job_id).params["pair_job"]
        if progress:
            progress("pair", total=len(pair_ids))
        batch = max(1, settings.ANALYSE_BATCH)
        for i in range(0, len(pair_ids), batch):
            if not job_may_continue(job_id):
                return Job.objects.get(pk=job_id)
            pair_items(job_id, pj, pair_ids[i:i + batch])
            if progress:
                progress("pair", step=len(pair_ids[i:i + batch]))
        analysis_advance(job_id)
    return Job.objects.get(pk=job_id)


def _run_with_retries(job_id, item_id, retries):
    for attempt in range(retries + 1):
        try:
            analyse_item(job_id, item_id)
            return
        except PermanentFailure as exc:
            job_item_fail(job_id, item_id, str(exc))
            return
        except StorageError as exc:
            if attempt == retries:
                job_item_fail(job_id, item_id, str(exc))
                return


def pending_pair_items_in(pair_job_id: int, item_ids) -> list[int]:
    return list(JobItem.objects.filter(job_id=pair_job_id, pk__in=list(item_ids), state=JobItem.State.PENDING)
                .values_list("id", flat=True))

"""Review: leasing files to curators and recording what they decide.

A lease is taken with a conditional UPDATE (`… WHERE status is open or the lease ran out`) that
returns 1 for exactly one caller, so two curators never hold the same file, on SQLite and
PostgreSQL alike and without a lock table. Decisions are append-only; an undo is a new row.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from matching.verdict import approval_refusal

from ..models import Asset, Candidate, Decision, DeletionItem, ErrorLogEntry, ReviewItem, Source, Takedown
from ..roles import is_admin, is_curator
from ..selectors.deletion import decision_has_run
from ..selectors.review import (
    bulk_batch,
    bulk_batch_leased,
    candidate_outdated,
    decision_last_undoable,
    in_source_q,
    lease_free_q,
    queue_q,
    queue_walk,
)
from .deletion import decision_undo_refusal, deletion_item_abort
from .errorlog import error_log_add, error_log_withdraw
from .reingest import reingest_request, reingest_withdraw

Action = Decision.Action
SETTLING = (Action.APPROVE_DELETE, Action.NOT_DUPLICATE, Action.LOG_ERROR, Action.REINGEST)


class ReviewRefused(ValidationError):
    """A decision that may not be made, with the reason a curator reads."""


NOTE_MAX = 4000  # characters in a decision's note (the page's text box and the API say the same)


def _lease_expiry(now):
    return now + timedelta(seconds=settings.LEASE_SECONDS)


def _require_curator(actor):
    if not is_curator(actor):
        raise ReviewRefused("only curators review files")


# ---------------------------------------------------------------------------------------------
# Leases


def _lock_curator(actor) -> None:
    """Serialise one curator's lease changes (two tabs, a double click): the user row is the lock."""
    get_user_model().objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()


def review_lease_take(*, actor, item_id, now=None) -> bool:
    """Lease one file to `actor` if nobody else holds it: one conditional UPDATE, true when this
    caller won. Renews the actor's own lease; any other file the actor held goes back to the
    queue, so a curator holds one lease at a time ("Review this file" included)."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_curator(actor)
        won = (ReviewItem.objects.filter(pk=item_id)
               .filter(lease_free_q(now) | Q(status=ReviewItem.Status.LEASED, leased_by=actor))
               .update(status=ReviewItem.Status.LEASED, leased_by=actor, lease_expires_at=_lease_expiry(now)))
        if won == 1:
            ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, leased_by=actor).exclude(pk=item_id).update(
                status=ReviewItem.Status.OPEN, leased_by=None, lease_expires_at=None)
    return won == 1


def review_lease_next(*, actor, queue=None) -> ReviewItem | None:
    """Serve the next open file of the queue to this curator and lease it.

    The curator's own unexpired lease in this queue comes back first (a reload must not lose the
    file); leases they hold elsewhere are released once a file of this queue is leased, so a
    curator never sits on files of a queue they left, and never loses the file they hold to a
    queue that turned out empty. Files they skipped come after everything else.
    """
    _require_curator(actor)
    with transaction.atomic():
        # Two "Next" requests of one curator (two tabs, a double click) must not each lease a
        # file: the curator's own row is the lock, so the second sees the first's lease and gets
        # that file back instead of a second one.
        _lock_curator(actor)
        return _lease_next_locked(actor=actor, queue=queue)


def _lease_next_locked(*, actor, queue):
    now = timezone.now()
    mine = ReviewItem.objects.filter(status=ReviewItem.Status.LEASED, leased_by=actor, lease_expires_at__gte=now)
    current = mine.filter(queue_q(queue) & in_source_q()).order_by("priority", "id").first()
    if current is not None:
        if review_lease_take(actor=actor, item_id=current.pk, now=now):
            return _load(current.pk)
    held_elsewhere = list(mine.values_list("pk", flat=True))

    def leased(item_id):
        ReviewItem.objects.filter(pk__in=held_elsewhere, leased_by=actor).exclude(pk=item_id).update(
            status=ReviewItem.Status.OPEN, leased_by=None, lease_expires_at=None)
        return _load(item_id)

    skipped_later = []
    # Walk the queue in order; losers of a race move on to the next row instead of waiting.
    for item_id, skipped_by in queue_walk(queue, now):
        if actor.pk in (skipped_by or []):
            skipped_later.append(item_id)
            continue
        if review_lease_take(actor=actor, item_id=item_id, now=now):
            return leased(item_id)
    for item_id in skipped_later:
        if review_lease_take(actor=actor, item_id=item_id, now=now):
            return leased(item_id)
    return None


def _load(item_id):
    return (ReviewItem.objects.select_related("asset__source", "best_candidate__match_asset__source")
            .get(pk=item_id))


def review_release(*, actor, item) -> ReviewItem:
    """Give a leased file back to the queue (the curator left it without deciding). Only the
    holder can: anyone else is refused with the reason (the API answers 409), so a release never
    looks successful while it changed nothing."""
    n = (ReviewItem.objects.filter(pk=item.pk, status=ReviewItem.Status.LEASED, leased_by=actor)
         .update(status=ReviewItem.Status.OPEN, leased_by=None, lease_expires_at=None))
    item.refresh_from_db()
    if not n:
        if item.status == ReviewItem.Status.DECIDED:
            raise ReviewRefused("this file is already decided")
        if item.status == ReviewItem.Status.LEASED:
            raise ReviewRefused("another curator holds this file; only they can release it")
        raise ReviewRefused("you hold no lease on this file")
    return item


def review_choose_candidate(*, actor, item, candidate) -> ReviewItem:
    """Make another candidate of the file its match (the curator saw a better kept copy)."""
    _require_curator(actor)
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        _check_can_act(actor, item)
        if candidate.cleanup_asset_id != item.asset_id:
            raise ReviewRefused("that candidate belongs to another file")
        if candidate.status != Candidate.Status.OPEN:
            raise ReviewRefused("that candidate is closed")
        outdated = candidate_outdated(candidate, asset=item.asset, latest_job_id=item.job_id)
        if outdated:
            raise ReviewRefused(f"that candidate is outdated ({outdated}): analyse the file again to compare the pair anew")
        item.best_candidate = candidate
        item.verdict = candidate.verdict
        item.diff_score = candidate.diff_score
        item.local_score = candidate.local_score
        item.damage_score = candidate.damage_score
        item.save(update_fields=["best_candidate", "verdict", "diff_score", "local_score", "damage_score"])
    return item


# ---------------------------------------------------------------------------------------------
# Decisions


def act_refusal(actor, item, *, now=None) -> str | None:
    """Why ``actor`` may not decide (or lease) this file now, or None: it is decided, it is gone
    from its source (nothing is left to decide: a reingest of it would chase a file that is not
    there; it returns to the queue when an inventory lists it again), or another curator's lease
    on it is running. One rule for the decisions, "Review this file" and the API's word on it."""
    now = now or timezone.now()
    if item.status == ReviewItem.Status.DECIDED:
        return "this file is already decided"
    if item.asset.state == Asset.State.VANISHED:
        return ("this file is no longer in its source: there is nothing to decide (it comes back to the queue "
                "when an inventory lists it again)")
    if (item.status == ReviewItem.Status.LEASED and item.leased_by_id != actor.pk
            and item.lease_expires_at and item.lease_expires_at >= now):
        return "another curator is reviewing this file right now"
    return None


def _check_can_act(actor, item, *, now=None):
    why = act_refusal(actor, item, now=now)
    if why:
        raise ReviewRefused(why)


def kept_intact(asset) -> bool:
    """The kept copy's row does not say it is damaged or unreadable (what the approval rule and the
    page's "not safe" words take as the kept copy's state; the executor decodes it again)."""
    return asset.decode_status not in (Asset.DecodeStatus.DAMAGED, Asset.DecodeStatus.UNREADABLE)


def approve_refusal(item, candidate) -> str | None:
    """Why deleting this clean-up file would be wrong, or None. Invariants 1 and 3: only a
    clean-up copy with an intact, canonical kept copy that holds at least as much may go."""
    asset = item.asset
    if asset.source.role != Source.Role.CLEANUP:
        return "this file is in a canonical source: Doppel never deletes there"
    if asset.state == Asset.State.VANISHED:
        return "this file is no longer in its source"
    if candidate is None:
        return "this file has no match to keep: log an error or route it to reingest"
    match = candidate.match_asset
    if match.pk == asset.pk:
        return "the kept copy is the file itself"
    if match.source.role != Source.Role.CANONICAL:
        return f"the match is in {match.source.name}, which is not a canonical source"
    if match.state == Asset.State.VANISHED:
        return "the kept copy is no longer in its source"
    # The pair was proven on the content each side had then (the candidate's ETags) by the run
    # that wrote it; an inventory that saw either object change, or a later comparison that left
    # the pair out, leaves the candidate open, but its proof no longer applies.
    outdated = candidate_outdated(candidate, asset=item.asset, latest_job_id=item.job_id)
    if outdated:
        return f"{outdated}: analyse it again before approving"
    why = approval_refusal(
        verdict=candidate.verdict, corrupt_side=candidate.corrupt_side, kept=match, cleanup=asset,
        kept_intact=kept_intact(match))
    return why[0] if why else None


def approve_refusal_for(actor, item) -> str | None:
    """Why ``actor`` approving deletion of this file on its best candidate would be refused now, or
    None: who may act on it (``act_refusal``), then what may be deleted (``approve_refusal``), as the
    decision itself checks them."""
    return act_refusal(actor, item) or approve_refusal(item, item.best_candidate)


def _snapshot(item, candidate):
    asset = item.asset
    snap = {
        "item_verdict": item.verdict,
        "asset": {"id": asset.pk, "source": asset.source.name, "key": asset.key, "etag": asset.etag,
                  "checksum": asset.checksum,
                  "size": asset.size, "width": asset.width, "height": asset.height, "pages": asset.pages,
                  "pictures": asset.pictures,
                  "bit_depth": asset.bit_depth, "engine_version": asset.engine_version},
    }
    if candidate is not None:
        m = candidate.match_asset
        snap["candidate"] = {
            "id": candidate.pk, "verdict": candidate.verdict, "diff_score": candidate.diff_score,
            "local_score": candidate.local_score, "rotation": candidate.rotation, "flipped": candidate.flipped,
            "corrupt_side": candidate.corrupt_side, "safe_to_delete": candidate.safe_to_delete,
            "engine_version": candidate.engine_version, "thresholds": candidate.thresholds,
            "cleanup_etag": candidate.cleanup_etag, "match_etag": candidate.match_etag,
        }
        snap["match"] = {"id": m.pk, "source": m.source.name, "key": m.key, "etag": m.etag, "size": m.size,
                         "width": m.width, "height": m.height, "pages": m.pages, "bit_depth": m.bit_depth}
    return snap


def _existing(idempotency_key, *, actor, item):
    if not idempotency_key:
        return None
    d = Decision.objects.filter(idempotency_key=idempotency_key).first()
    if d is not None and (d.actor_id != actor.pk or d.review_item_id != item.pk):
        raise ReviewRefused("this idempotency key was used for another decision")
    return d


def decision_record(*, actor, item, action, candidate=None, note="", error_category=None,
                    idempotency_key=None, bulk=False) -> Decision:
    """Record one curator decision about a clean-up file and settle the file.

    approve_delete only approves: nothing is deleted until an admin confirms a deletion plan, and
    the executor re-checks everything then. log_error and reingest create their follow-up rows in
    the same transaction, so an undo can withdraw them.
    """
    _require_curator(actor)
    if action not in Action.values or action == Action.UNDO:
        raise ReviewRefused(f"unknown action {action!r}")
    if bulk and not is_admin(actor):
        raise ReviewRefused("only admins approve in bulk")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:  # refused, never cut: a cut note could lose the part that mattered
        raise ReviewRefused(f"the note is {len(note):,} characters long; a note holds at most {NOTE_MAX:,}")
    done = _existing(idempotency_key, actor=actor, item=item)
    if done is not None:
        return done
    try:
        with transaction.atomic():
            return _decision_record(actor=actor, item=item, action=action, candidate=candidate, note=note,
                                    error_category=error_category, idempotency_key=idempotency_key, bulk=bulk)
    except IntegrityError:
        # a concurrent retry with the same key won the race
        done = _existing(idempotency_key, actor=actor, item=item)
        if done is not None:
            return done
        raise


def _decision_record(*, actor, item, action, candidate, note, error_category, idempotency_key, bulk):
    now = timezone.now()
    item = (ReviewItem.objects.select_for_update(of=("self",))
            .select_related("asset__source", "best_candidate__match_asset__source").get(pk=item.pk))
    _check_can_act(actor, item, now=now)
    if candidate is None:
        candidate = item.best_candidate
    else:
        candidate = Candidate.objects.select_related("match_asset__source").get(pk=candidate.pk)
        if candidate.cleanup_asset_id != item.asset_id:
            raise ReviewRefused("that candidate belongs to another file")

    if action == Action.APPROVE_DELETE:
        reason = approve_refusal(item, candidate)
        if reason:
            raise ReviewRefused(reason)
    if action == Action.LOG_ERROR:
        if error_category not in ErrorLogEntry.Category.values:
            raise ReviewRefused("choose an error category")

    snapshot = _snapshot(item, candidate)
    if error_category and action == Action.LOG_ERROR:
        snapshot["error_category"] = error_category
    decision = Decision.objects.create(
        review_item=item, asset=item.asset, candidate=candidate, action=action, note=note, actor=actor,
        bulk=bulk, snapshot=snapshot, idempotency_key=idempotency_key or None,
    )

    if action == Action.SKIP:
        skipped = list(item.skipped_by or [])
        if actor.pk not in skipped:
            skipped.append(actor.pk)
        item.skipped_by = skipped
        item.status = ReviewItem.Status.OPEN
        item.leased_by = None
        item.lease_expires_at = None
        item.save(update_fields=["skipped_by", "status", "leased_by", "lease_expires_at"])
        return decision

    item.status = ReviewItem.Status.DECIDED
    item.decided_at = now
    item.last_decision = decision
    item.leased_by = None
    item.lease_expires_at = None
    if candidate is not None and item.best_candidate_id != candidate.pk:
        item.best_candidate = candidate
    item.save(update_fields=["status", "decided_at", "last_decision", "leased_by", "lease_expires_at", "best_candidate"])
    siblings = Candidate.objects.filter(cleanup_asset_id=item.asset_id)
    if candidate is not None:
        siblings.filter(pk=candidate.pk).update(status=Candidate.Status.CHOSEN)
        siblings = siblings.exclude(pk=candidate.pk)
    siblings.update(status=Candidate.Status.CLOSED)

    if action == Action.LOG_ERROR:
        error_log_add(actor=actor, asset=item.asset, category=error_category, note=note,
                      match_asset=candidate.match_asset if candidate else None, decision=decision)
    elif action == Action.REINGEST:
        reingest_request(actor=actor, asset=item.asset, reason=note or "routed to reingest in review", decision=decision)
    return decision


UNDO_NOT_LAST = "that decision is no longer your last one; nothing was undone"


def decision_undo(*, actor, decision, idempotency_key=None) -> Decision:
    """Take back the curator's own last decision, before anything ran on it: the file returns to
    the queue and the error log entry / reingest it created is withdrawn."""
    _require_curator(actor)
    if idempotency_key:
        done = Decision.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            if done.action == Action.UNDO and done.undoes_id == decision.pk and done.actor_id == actor.pk:
                return done
            raise ReviewRefused("this idempotency key was used for another decision")
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=decision.review_item_id)
        decision = Decision.objects.select_related("asset").get(pk=decision.pk)
        if decision.actor_id != actor.pk:
            raise ReviewRefused("you can only undo your own decisions")
        if decision.action not in SETTLING:
            raise ReviewRefused("only a decision that settled a file can be undone")
        if Decision.objects.filter(undoes=decision).exists():
            raise ReviewRefused("this decision was already undone")
        if item.last_decision_id != decision.pk or item.status != ReviewItem.Status.DECIDED:
            raise ReviewRefused("this is no longer the file's current decision")
        last = decision_last_undoable(actor=actor)
        if last is None or last.pk != decision.pk:
            # named by a page or a client that has not seen a later decision: undo nothing rather
            # than another file's decision
            raise ReviewRefused(UNDO_NOT_LAST)
        if Takedown.objects.filter(asset_id=decision.asset_id).exists():
            raise ReviewRefused("this file was removed by a legal takedown: there is nothing to review again")
        refusal = decision_undo_refusal(decision)
        if refusal:
            raise ReviewRefused(refusal)
        if decision_has_run(decision):
            raise ReviewRefused("too late to undo: an action already ran on this decision")
        if decision.action == Action.APPROVE_DELETE:
            # a draft plan may already list it: take it out (audited) so it can never run
            for planned in DeletionItem.objects.filter(decision=decision, state=DeletionItem.State.PLANNED):
                deletion_item_abort(actor=actor, item=planned, reason="the approving decision was undone", reopen=False)
        if decision.action == Action.LOG_ERROR:
            error_log_withdraw(actor=actor, decision=decision)
        elif decision.action == Action.REINGEST:
            try:
                reingest_withdraw(actor=actor, decision=decision)
            except ReviewRefused:
                raise
            except ValidationError as exc:
                raise ReviewRefused(exc.messages) from exc
            except Exception as exc:  # the reingest moved on meanwhile
                raise ReviewRefused(f"too late to undo: {exc}") from exc
        undo = Decision.objects.create(
            review_item=item, asset=decision.asset, candidate=decision.candidate, action=Action.UNDO, actor=actor,
            undoes=decision, snapshot={"undone_action": decision.action}, idempotency_key=idempotency_key or None,
        )
        item.status = ReviewItem.Status.OPEN
        item.decided_at = None
        item.last_decision = None
        item.leased_by = None
        item.lease_expires_at = None
        item.save(update_fields=["status", "decided_at", "last_decision", "leased_by", "lease_expires_at"])
        Candidate.objects.filter(cleanup_asset_id=item.asset_id).update(status=Candidate.Status.OPEN)
    return undo


# ---------------------------------------------------------------------------------------------
# Bulk approval


def leased_refusal(item) -> str:
    """Why a bulk approval leaves out a file another curator holds: who, and until when."""
    until = timezone.localtime(item.lease_expires_at).strftime("%H:%M") if item.lease_expires_at else "?"
    return (f"{item.leased_by or 'another curator'} is reviewing this file right now (lease until {until}): "
            "it is theirs to decide; approve it later if they release it or the lease runs out")


class BatchChanged(ReviewRefused):
    """Files joined the bulk batch after the admin sampled it: nothing was approved."""

    def __init__(self, joined: int, now: int):
        self.joined, self.now = joined, now
        super().__init__(f"the batch changed since the sample: {joined} of its {now} files were not in the batch "
                         "you looked at; nothing was approved: look at the new sample and confirm again")


BULK_BATCH_LIMIT = 5000  # files approved in one go (the page and the API say so)
BULK_BATCH_SALT = "doppel.bulk-batch"
BULK_BATCH_MAX_AGE = 24 * 3600


def bulk_batch_seal(*, actor, ids) -> str:
    """The batch an admin is shown, as a signed token the confirmation carries back: the server
    can then tell the batch confirmed from the batch selected at that moment without keeping
    state, and no request can widen it (the signature covers the ids and the admin)."""
    return signing.dumps({"u": actor.pk, "ids": sorted(ids)}, salt=BULK_BATCH_SALT, compress=True)


@dataclass(frozen=True)
class SealedBatch:
    """The ids of a batch an admin was shown, with `key`: what identifies that one confirmation
    (the sealed token's digest), so it approves at most once."""

    ids: frozenset
    key: str

    def __contains__(self, item_id) -> bool:
        return item_id in self.ids


def bulk_batch_unseal(*, actor, token) -> SealedBatch | None:
    """The ids of a sealed batch, or None when the token is missing, forged, another admin's or
    older than a day (then the admin looks at a sample again)."""
    try:
        data = signing.loads(token or "", salt=BULK_BATCH_SALT, max_age=BULK_BATCH_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != actor.pk or not isinstance(data.get("ids"), list):
        return None
    return SealedBatch(frozenset(int(i) for i in data["ids"]), hashlib.sha256(token.encode()).hexdigest()[:40])


def bulk_approve(*, actor, items=None, leased=None, job=None, source=None, verdict=None, max_diff=None,
                 max_local=None, limit=BULK_BATCH_LIMIT, note="", idempotency_key=None, sampled=None) -> dict:
    """Approve deletion of each file of a batch the admin sampled first: `items`, or the batch the
    filters select (selectors.review.bulk_batch: identical/duplicate, safe to delete, within both
    score limits). One Decision per file, bulk=True, with the same refusals as a single approval.
    Files that fail a check are reported, not approved; so are the batch's files another curator
    holds a lease on (`leased`, or selected by the filters), with who holds them. A retry with the
    same key approves nothing twice.

    `sampled` is the batch the admin looked at (the ids `bulk_batch_unseal` reads back from the
    token the sample was shown with): when a file joined the batch since then, nothing is approved
    (the admin confirmed that batch, not this one: new files may have arrived with the same
    scores). Files that left it meanwhile are reported among the refused with why (decided, gone from
    their source, their pair no longer within the limits), so the counts the admin reads add up to
    the sample's batch. A retry of an approval that went through is answered from its idempotency
    key before this check.
    """
    if not is_admin(actor):
        raise ReviewRefused("only admins approve in bulk")
    if items is None:
        if max_diff is None or max_local is None:
            raise ReviewRefused("choose both score limits (max diff_score and max local_score)")
        batch = {"job": job, "source": source, "verdict": verdict, "max_diff": max_diff, "max_local": max_local}
        items = list(bulk_batch(**batch).select_related("asset__source", "best_candidate__match_asset__source")[:limit])
        if leased is None:
            leased = list(bulk_batch_leased(**batch)[:limit])
    if sampled is not None:
        # one sealed batch, one approval: sent again (a double submit, a replay a day later after
        # some of its files came back), it answers with what it approved and approves nothing new
        idempotency_key = f"bulk-batch:{sampled.key}"
    if idempotency_key:
        done = list(Decision.objects.filter(idempotency_key__startswith=f"{idempotency_key}:", actor=actor)
                    .order_by("pk"))
        if done:  # this confirmation went through already: answer with what it approved, approve nothing new
            return {"approved": done, "refused": []}
    if sampled is not None:
        joined = [it for it in items if it.pk not in sampled]
        if joined:
            raise BatchChanged(len(joined), len(items))
    approved, refused = [], []
    for item in leased or []:
        refused.append((item, leased_refusal(item)))
    if sampled is not None:
        here = {it.pk for it in items} | {it.pk for it in leased or []}
        for item in (ReviewItem.objects.filter(pk__in=sorted(sampled.ids - here))
                     .select_related("asset__source", "best_candidate__match_asset__source").order_by("pk")):
            refused.append((item, approve_refusal_for(actor, item)
                            or "no longer in the batch: its best pair's verdict or scores changed since the sample"))
    for item in items:
        key = f"{idempotency_key}:{item.pk}" if idempotency_key else None
        try:
            d = decision_record(actor=actor, item=item, action=Action.APPROVE_DELETE, note=note or "bulk approval",
                                idempotency_key=key, bulk=True)
        except ReviewRefused as exc:
            item.refresh_from_db(fields=["status", "leased_by", "lease_expires_at"])
            held = (item.status == ReviewItem.Status.LEASED and item.leased_by_id not in (None, actor.pk)
                    and item.lease_expires_at and item.lease_expires_at >= timezone.now())
            refused.append((item, leased_refusal(item) if held else "; ".join(exc.messages)))
            continue
        approved.append(d)
    return {"approved": approved, "refused": refused}

"""The curator's review screens: queue picker, "next", the file view and its actions.

Every action is a POST that ends in a redirect to the next file of the same queue, so the browser
never re-submits a decision. Images come from the pipeline's permission-checked rendition views.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from matching.verdict import region_bounds

from ..models import SEEN_ACTIONS, Asset, Candidate, Decision, ErrorLogEntry, Job, ReviewItem, Source
from ..selectors import review as sel
from ..selectors.assets import asset_fate
from ..selectors.deletion import returned_from_plan
from ..selectors.takedown import taken_down_ids
from ..services.review import (
    NOTE_MAX,
    act_refusal,
    decision_record,
    decision_undo,
    review_choose_candidate,
    review_lease_next,
    review_lease_take,
)
from .decorators import curator_required, form_idempotency_key, post_only


def _url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def asset_img(asset, kind="web", gone=frozenset()):
    """An asset's picture URL, or None when asking would be a 404 (it does not decode) or a 410
    (a legal takedown removed it: `gone`, from selectors.takedown.taken_down_ids)."""
    if asset is None or asset.decode_status == Asset.DecodeStatus.UNREADABLE or asset.pk in gone:
        return None
    return _url("asset-image", asset.pk, kind)


def candidate_img(candidate, kind, gone=frozenset()):
    if candidate is None or candidate.cleanup_asset_id in gone or candidate.match_asset_id in gone:
        return None
    return _url("candidate-image", candidate.pk, kind)


def pair_images(asset, cand, gone=frozenset()) -> dict:
    """The image URLs a file view asks for, for a file and its chosen pair: only renditions that
    can exist. A copy that does not decode has no web picture; the aligned kept copy needs a kept
    copy that decodes, the heat-map both copies; nothing of a taken-down object (`gone`) is asked
    for, since it answers 410. The page and the prefetch of the next file use this one rule, so
    neither asks for a picture that would be a 404 or a 410."""
    match = cand.match_asset if cand else None
    decodes = lambda a: a is not None and a.decode_status != Asset.DecodeStatus.UNREADABLE  # noqa: E731
    return {
        "img_cleanup": asset_img(asset, "web", gone),
        "img_aligned": candidate_img(cand, "aligned", gone) if decodes(match) else None,
        "img_raw": asset_img(match, "web", gone),
        "img_diff": candidate_img(cand, "diff", gone) if decodes(match) and decodes(asset) else None,
    }


def no_picture(asset, gone, otherwise) -> str:
    """Why a pane shows words instead of a picture of this copy (`otherwise`: it does not decode)."""
    if asset is not None and asset.pk in gone:
        return "Removed by a legal takedown: there is no picture of this copy any more."
    return otherwise


def prefetch_urls(peeked) -> list[str]:
    """What the browser preloads for the next files (queue_peek rows): the first images their
    pages show, by the same rule as the page itself."""
    ids = [n["id"] for n in peeked]
    rows = {r.pk: r for r in ReviewItem.objects.filter(pk__in=ids).select_related("asset", "best_candidate__match_asset")}
    gone = taken_down_ids([a for r in rows.values() for a in (r.asset_id, getattr(r.best_candidate, "match_asset_id", None))])
    urls = []
    for item_id in ids:
        row = rows.get(item_id)
        if row is not None:
            imgs = pair_images(row.asset, row.best_candidate, gone)
            urls += [u for u in (imgs["img_cleanup"], imgs["img_aligned"]) if u]
    return urls


def _qs(queue):
    return ("?" + urlencode(queue)) if queue else ""


def _errors(exc):
    return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@curator_required
def review_home(request):
    queue = sel.queue_clean(request.GET)
    for problem in sel.queue_unrecognised(request.GET):
        messages.warning(request, f"{problem}: showing the queue without that filter")
    counts = sel.queue_counts(queue=queue)
    names = dict(Source.objects.values_list("id", "name"))
    return render(request, "reviewapp/review/home.html", {
        "queue": queue, "qs": _qs(queue), "counts": counts,
        "source_names": names,
        "undoable": sel.decision_last_undoable(actor=request.user),
    })


@curator_required
def review_next(request):
    """GET changes nothing: back to the file you hold, the "queue empty" page, or the queue page
    whose "Start reviewing" button POSTs here. POST leases the next file and goes to it."""
    queue = sel.queue_clean(request.POST if request.method == "POST" else request.GET)
    if request.method != "POST":
        current = sel.lease_current(actor=request.user, queue=queue)
        if current is not None:
            return redirect(reverse("review-item", args=[current.pk]) + _qs(queue))
        if not sel.queue_items(queue).exists():
            return render(request, "reviewapp/review/empty.html", {
                "queue": queue, "qs": _qs(queue), "undoable": sel.decision_last_undoable(actor=request.user)})
        return redirect(reverse("review-home") + _qs(queue))
    unrecognised = sel.queue_unrecognised(request.POST)
    if unrecognised:  # never serve a file from a queue the curator did not ask for
        messages.error(request, "; ".join(unrecognised) + ": no file was taken")
        return redirect(reverse("review-home") + _qs(queue))
    try:
        item = review_lease_next(actor=request.user, queue=queue)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("review-home")
    if item is None:
        return redirect(reverse("review-next") + _qs(queue))
    return redirect(reverse("review-item", args=[item.pk]) + _qs(queue))


@curator_required
@post_only("review-item")
def review_take(request, pk):
    """The explicit "Review this file": lease this one file to you, if nobody else holds it."""
    queue = sel.queue_clean(request.POST)
    item = get_object_or_404(ReviewItem.objects.select_related("asset"), pk=pk)
    why = act_refusal(request.user, item)
    if why is None and not review_lease_take(actor=request.user, item_id=item.pk):
        # (taken or gone meanwhile: the rule says which, read again)
        item.refresh_from_db()
        item.asset.refresh_from_db()
        why = act_refusal(request.user, item) or "this file could not be leased to you; try again"
    if why:
        messages.warning(request, why)
    return redirect(reverse("review-item", args=[pk]) + _qs(queue))


def _region_box(region):
    """A damaged region (fractions) as CSS percentages, or None when it is not usable."""
    bounds = region_bounds(region)
    if bounds is None:
        return None
    top, left, bottom, right = bounds
    return {"top": f"{top * 100:.2f}%", "left": f"{left * 100:.2f}%",
            "height": f"{(bottom - top) * 100:.2f}%", "width": f"{(right - left) * 100:.2f}%"}


def _asset_damage(asset):
    if asset is None:
        return None
    analysis = asset.analysis if isinstance(asset.analysis, dict) else {}
    damage = analysis.get("damage") if isinstance(analysis.get("damage"), dict) else None
    return _region_box(damage.get("region")) if damage else None


def corruption_flags(item, candidate):
    """Which side is damaged and where, from the pair's verdict and each file's own analysis."""
    asset = item.asset
    match = candidate.match_asset if candidate else None
    flags = {"cleanup": None, "match": None}
    for side, a in (("cleanup", asset), ("match", match)):
        if a is None:
            continue
        if a.decode_status in (Asset.DecodeStatus.DAMAGED, Asset.DecodeStatus.UNREADABLE):
            flags[side] = {"text": a.get_decode_status_display(), "detail": a.decode_error[:300], "box": _asset_damage(a)}
    if candidate and candidate.corrupt_side in ("cleanup", "match"):
        side = candidate.corrupt_side
        box = _region_box(candidate.region) or (flags[side] or {}).get("box")
        flags[side] = {"text": "Damaged" if side == "cleanup" else "Kept copy damaged",
                       "detail": "; ".join(str(r) for r in (candidate.reasons or [])[:3]), "box": box}
    return flags


@curator_required
def review_item(request, pk):
    queue = sel.queue_clean(request.GET)
    item, candidates = sel.review_item_get(pk)
    if item is None:
        raise Http404("no such file in review")
    # Looking changes nothing (no lease on GET): the file is yours to decide only while you hold
    # its lease, taken by Next or by the "Review this file" button (both POSTs).
    now = timezone.now()
    lease_live = item.status == ReviewItem.Status.LEASED and item.lease_expires_at and item.lease_expires_at >= now
    refused = act_refusal(request.user, item, now=now)   # (decided, gone from its source, another's lease)
    mine = lease_live and item.leased_by_id == request.user.pk and refused is None
    readonly = not mine
    can_take = refused is None and not lease_live
    if lease_live and not mine:
        messages.warning(request, f"{item.leased_by} is reviewing this file right now.")
    cand = item.best_candidate
    match = cand.match_asset if cand else None
    prefetch = prefetch_urls(sel.queue_peek(actor=request.user, queue=queue, exclude=[item.pk], limit=1))
    gone = taken_down_ids([item.asset_id, *(c.match_asset_id for c in candidates)])
    outdated = {c.pk: sel.candidate_outdated(c, asset=item.asset, latest_job_id=item.job_id) for c in candidates}
    if cand is not None and cand.pk not in outdated:
        outdated[cand.pk] = sel.candidate_outdated(cand, asset=item.asset, latest_job_id=item.job_id)
    ctx = {
        "item": item, "asset": item.asset, "cand": cand, "match": match, "candidates": candidates,
        "queue": queue, "qs": _qs(queue), "readonly": readonly, "can_take": can_take,
        **pair_images(item.asset, cand, gone),
        "noimg_cleanup": no_picture(item.asset, gone, "The clean-up copy does not decode."),
        "noimg_match": no_picture(match, gone, "The kept copy does not decode."),
        "cand_outdated": outdated.get(cand.pk) if cand else None,
        "fate": asset_fate(item.asset),
        "flags": corruption_flags(item, cand),
        "categories": ErrorLogEntry.Category.choices,
        "default_category": _default_category(item, cand),
        "prefetch": prefetch,
        "idem": uuid.uuid4().hex,
        "note_max": NOTE_MAX,
        "undoable": sel.decision_last_undoable(actor=request.user),
        "other_candidates": [(c, asset_img(c.match_asset, "thumb", gone), outdated[c.pk])
                             for c in candidates if not cand or c.pk != cand.pk],
        "job": Job.objects.filter(pk=item.job_id).only("id", "kind").first() if item.job_id else None,
        "returned": returned_from_plan(item.asset),
    }
    return render(request, "reviewapp/review/item.html", ctx)


def _default_category(item, cand):
    if cand and cand.corrupt_side == "match":
        return ErrorLogEntry.Category.CANONICAL_CORRUPT
    if (cand and cand.corrupt_side == "cleanup") or item.verdict == "unreadable":
        return ErrorLogEntry.Category.CLEANUP_CORRUPT
    if item.verdict == "no_match":
        return ErrorLogEntry.Category.NOT_IN_CANONICAL
    return ErrorLogEntry.Category.OTHER


@curator_required
@post_only("review-item")
def review_decide(request, pk):
    queue = sel.queue_clean(request.POST)
    item = get_object_or_404(ReviewItem, pk=pk)
    action = request.POST.get("action", "")
    candidate = None
    raw = request.POST.get("candidate", "").strip()
    if raw:
        # a candidate the form names must be one of this file's: junk or an unknown id is refused,
        # never read as "no candidate given" (which would decide on the best candidate instead)
        cid = sel.row_id(raw)
        candidate = Candidate.objects.filter(pk=cid, cleanup_asset_id=item.asset_id).first() if cid else None
        if candidate is None:
            messages.error(request, f"that candidate ({raw[:40]}) does not belong to this file: nothing was recorded")
            return redirect(reverse("review-item", args=[pk]) + _qs(queue))
    if action in SEEN_ACTIONS and request.POST.get("shown") != "1":
        # the page's own guard, for its form: review.js sends it once both pictures are shown, and without
        # script the curator ticks it (a form posted without it approved a deletion whatever the page showed,
        # a picture still being prepared included: stop 75's leftover). The API's callers decide otherwise.
        messages.error(request, f"{Decision.Action(action).label} needs both pictures looked at: tick “I have looked at "
                                f"both pictures” beside the buttons, or let the page show them. Nothing was recorded.")
        return redirect(reverse("review-item", args=[pk]) + _qs(queue))
    try:
        d = decision_record(
            actor=request.user, item=item, action=action, candidate=candidate,
            note=request.POST.get("note", ""), error_category=request.POST.get("category") or None,
            idempotency_key=form_idempotency_key(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect(reverse("review-item", args=[pk]) + _qs(queue))
    if d.action == "skip":
        # announced like every outcome (the next file's page reads it out): a skip changes nothing
        # and has nothing to undo; the file comes back after everything else in this queue
        messages.success(request, f"Skipped: {item.asset.name}. It comes back after the other files in this queue.")
    else:
        messages.success(request, f"{d.get_action_display()}: {item.asset.name}. Press U to undo.")
    return _to_next(request, queue)


def _to_next(request, queue):
    """Lease the next file now and send the browser straight to it: one round trip per decision."""
    try:
        nxt = review_lease_next(actor=request.user, queue=queue)
    except ValidationError:
        nxt = None
    if nxt is None:
        return redirect(reverse("review-next") + _qs(queue))
    return redirect(reverse("review-item", args=[nxt.pk]) + _qs(queue))


@curator_required
@post_only("review-item")
def review_choose(request, pk):
    queue = sel.queue_clean(request.POST)
    item = get_object_or_404(ReviewItem, pk=pk)
    candidate = Candidate.objects.filter(pk=sel.row_id(request.POST.get("candidate")) or 0, cleanup_asset_id=item.asset_id).first()
    if candidate is None:
        messages.error(request, "that candidate does not belong to this file")
    else:
        try:
            review_choose_candidate(actor=request.user, item=item, candidate=candidate)
        except ValidationError as exc:
            messages.error(request, _errors(exc))
    return redirect(reverse("review-item", args=[pk]) + _qs(queue))


@curator_required
@post_only("review-home")
def review_undo(request):
    """Undo the decision the page named (its form carries the id), never simply the latest: a page
    left open while the curator decided elsewhere (another tab, the API) named a decision that is
    no longer the last one, and undoing the latest instead took back a file the curator never saw
    here (and, for an approval, took it out of a draft plan). The service refuses that in words."""
    queue = sel.queue_clean(request.POST)
    decision_pk = sel.row_id(request.POST.get("decision"))
    last = (Decision.objects.select_related("asset").filter(pk=decision_pk, actor=request.user).first()
            if decision_pk is not None else None)
    if last is None:
        messages.error(request, "nothing was undone: this page did not name one of your decisions; "
                                "reload it to see what you can undo")
        return redirect(reverse("review-next") + _qs(queue))
    try:
        decision_undo(actor=request.user, decision=last,
                      idempotency_key=form_idempotency_key(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect(reverse("review-next") + _qs(queue))
    messages.success(request, f"Undone: {last.get_action_display()} on {last.asset.name}.")
    review_lease_take(actor=request.user, item_id=last.review_item_id)  # back in your hands to decide again
    return redirect(reverse("review-item", args=[last.review_item_id]) + _qs(queue))

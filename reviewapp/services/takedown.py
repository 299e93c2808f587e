"""Legal takedown: one file must disappear from everywhere Doppel put it, at once.

In one action, for each object, with an audit row written before each step (and a follow-up row
when a step fails): the object itself (every version on a versioned bucket), every rendition of
it (web JPEG, thumbnail, reduced image, and the aligned and difference images of every candidate
that involves it, on either side), its quarantine copies, its copies in the ingest location, and
its members in live extracts (each affected archive rebuilt without it; the manifest says so).

A Takedown row is committed before the first byte goes: from then on every image URL of the
object, and of any pair involving it, answers 410 Gone, and no extract takes it in again.
Object Lock still wins: a locked object is reported and nothing of it is touched.
"""
from __future__ import annotations

import logging
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Asset, AuditEntry, Candidate, DeletionItem, ReingestItem, ReviewItem, Takedown
from ..roles import is_admin
from ..selectors.takedown import taken_down_ids
from ..storage import ObjectMissing, StorageError, storage_for
from . import extracts
from .deletion.executor import deletion_item_abort
from .deletion.quarantine import quarantine_purge_for_takedown, quarantine_target
from .reingest import ingest_keys, reingest_takedown
from .renditions import renditions_delete, renditions_storage

log = logging.getLogger(__name__)

MAX_ASSETS = 1000


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _audit(asset, step, *, actor, reason, outcome="", **detail) -> AuditEntry:
    return AuditEntry.objects.create(
        action=AuditEntry.Action.TAKEDOWN, source_name=asset.source.name, key=asset.key, etag=asset.etag,
        size=asset.size, executed_by=_actor(actor), reason=reason, outcome=outcome[:40],
        detail={"step": step, "asset": asset.pk, "role": asset.source.role, **detail},
    )


def _remove_object(asset, store, info) -> str:
    """Why "gone" is success: a takedown wants the object gone, and a second request for it (a form
    sent twice) that finds it removed after its own look reported a failed step and wrote "failed"
    audit rows for an object that was in fact gone."""
    if info is None:
        return "was already gone"
    try:
        n = store.delete_every_version(asset.key) if asset.source.versioned else None
        if n is not None:
            return f"deleted ({n} version{'s' if n != 1 else ''})"
        store.delete(asset.key)
    except ObjectMissing:
        return "was already gone"
    return "deleted"


def rendition_names(asset) -> list[str]:
    """Every rendition file of the asset and of every candidate involving it, as stored now
    (whatever tag or engine version made them) plus the names the rows point at."""
    st = renditions_storage()
    names = {n for n in (asset.rendition, asset.thumbnail, (asset.analysis or {}).get("reduced")) if n}
    dirs = [f"assets/{asset.pk}"]
    for cand in Candidate.objects.filter(Q(cleanup_asset=asset) | Q(match_asset=asset)):
        names.update(n for n in (cand.aligned_rendition, cand.diff_rendition) if n)
        dirs.append(f"candidates/{cand.pk}")
    for d in dirs:
        try:
            _subdirs, files = st.listdir(d)
        except (FileNotFoundError, NotADirectoryError, OSError):
            continue
        names.update(f"{d}/{f}" for f in files)
    return sorted(names)


def _remove_renditions(asset, names) -> None:
    renditions_delete(names)
    analysis = dict(asset.analysis or {})
    analysis.pop("reduced", None)
    Asset.objects.filter(pk=asset.pk).update(rendition="", thumbnail="", analysis=analysis if asset.analysis else None)
    Candidate.objects.filter(Q(cleanup_asset=asset) | Q(match_asset=asset)).update(aligned_rendition="", diff_rendition="")


def _remove_quarantine(asset, item) -> None:
    """Under the item's lock, as a restore records its work: a restore that finished first put the
    object back, which this takedown's object step (run after its row was committed) removed."""
    with transaction.atomic():
        item = DeletionItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
        if item.state != DeletionItem.State.QUARANTINED:
            return
        quarantine_purge_for_takedown(item, quarantine_target(item))


def _step(results, asset, step, func, *, actor, reason, **detail) -> bool:
    """Audit row first, then the step; a failure gets its own follow-up row and is reported."""
    _audit(asset, step, actor=actor, reason=reason, **detail)
    try:
        func()
    except (StorageError, OSError) as exc:
        _audit(asset, step, actor=actor, reason=reason, outcome="failed", error=str(exc)[:500])
        results.append(f"{step}: FAILED ({exc})")
        return False
    return True


def _leave_review(asset) -> None:
    """A taken-down file is out of the review queue for good: its review item is closed (the
    decided state, which pairing never reopens), any lease on it ends, its candidates close."""
    ReviewItem.objects.filter(asset=asset).exclude(status=ReviewItem.Status.DECIDED).update(
        status=ReviewItem.Status.DECIDED, decided_at=timezone.now(), leased_by=None, lease_expires_at=None)
    Candidate.objects.filter(cleanup_asset=asset, status=Candidate.Status.OPEN).update(status=Candidate.Status.CLOSED)


def _look(asset, store, *, actor, reason):
    """(the object's ObjectInfo or None when it is gone, None) or, when the store cannot say, (None,
    the takedown's failed result), audited."""
    try:
        return store.head(asset.key), None
    except ObjectMissing:
        return None, None
    except StorageError as exc:
        _audit(asset, "object", actor=actor, reason=reason, outcome="failed", error=str(exc)[:500])
        return None, {"asset": asset, "ok": False, "message": str(exc), "steps": []}


def takedown_asset(*, actor, asset, reason) -> dict:
    """Everything for one object. Returns {"asset", "ok", "message", "steps"}."""
    asset = Asset.objects.select_related("source").get(pk=asset.pk)
    store = storage_for(asset.source)
    info, failed = _look(asset, store, actor=actor, reason=reason)
    if failed:
        return failed
    lock = store.lock_status(asset.key, info.version_id) if info else ""
    if lock:
        _audit(asset, "object", actor=actor, reason=reason, outcome="refused: Object Lock", object_lock=lock)
        return {"asset": asset, "ok": False, "message": f"Object Lock: {lock}", "steps": []}
    with transaction.atomic():
        # once per object (a unique constraint backs it, get_or_create settles a race): a repeated request
        # is the first takedown finishing, so its steps run again, audited, but no second row is recorded
        record, first = Takedown.objects.get_or_create(asset=asset, defaults={"reason": reason, "actor": _actor(actor)})
        _leave_review(asset)
    # looked at again once the row is committed: a restore from quarantine that put the object back in
    # between (its own check of the row came first) is found here, not reported "already gone"
    info, failed = _look(asset, store, actor=actor, reason=reason)
    if failed:
        return failed
    for planned in DeletionItem.objects.filter(asset=asset, state=DeletionItem.State.PLANNED):
        # nothing left to delete or keep: a plan must not run on it, nor send it back to review
        deletion_item_abort(actor=actor, item=planned, reason="the object was removed by a legal takedown", reopen=False)
    steps: list[str] = [] if first else [
        f"already taken down {record.created_at:%Y-%m-%d %H:%M} UTC: recorded once, every step checked again"]
    failures: list[str] = []
    state = {}

    def obj():
        state["object"] = _remove_object(asset, store, info)

    if _step(failures, asset, "object", obj, actor=actor, reason=reason, etag_now=info.etag if info else "",
             size_now=info.size if info else None, versioned=bool(asset.source.versioned)):
        steps.append(f"object: {state['object']}")
    Asset.objects.filter(pk=asset.pk).update(state=Asset.State.VANISHED)

    names = rendition_names(asset)
    if _step(failures, asset, "renditions", lambda: _remove_renditions(asset, names), actor=actor, reason=reason,
             renditions=names):
        steps.append(f"renditions: {len(names)} removed")

    for item in DeletionItem.objects.filter(asset=asset, state=DeletionItem.State.QUARANTINED):
        if _step(failures, asset, "quarantine", lambda item=item: _remove_quarantine(asset, item), actor=actor,
                 reason=reason, quarantine=item.quarantine_location, deletion_item=item.pk):
            steps.append(f"quarantine copy removed ({item.quarantine_location})")

    for item in ReingestItem.objects.filter(asset=asset).order_by("pk"):
        def close(item=item):
            state["ingest"] = reingest_takedown(actor=actor, item=item)

        if _step(failures, asset, "ingest", close, actor=actor, reason=reason, ingest_location=item.target_location,
                 ingest_keys=ingest_keys(item), reingest_item=item.pk) and state["ingest"]:
            steps.append(state["ingest"])

    for archive in extracts.live_archives_holding([asset.pk]):
        if _step(failures, asset, "extract", lambda archive=archive: extracts.archive_remove_assets(
                archive=archive, asset_ids=[asset.pk], actor=actor, reason=reason),
                actor=actor, reason=reason, extract=archive.extract_id, archive=archive.pk, archive_key=archive.key):
            steps.append(f"extract #{archive.extract_id} archive {archive.key} rebuilt without it")

    ok = not failures
    message = state.get("object", "") if ok else "; ".join(failures)
    return {"asset": asset, "ok": ok, "message": message, "steps": steps + failures}


# Letters or digits a takedown's reason must hold: it is the recorded legal basis of the one deletion that takes a
# canonical object at once, without quarantine. Why letters and digits, not characters: twelve zero-width spaces,
# or eleven dots, were accepted as "a written reason" (a fresh-eyed attack), and the audit rows held nothing legible.
REASON_MIN_WRITTEN = 10


# Letters that show nothing: Unicode's default-ignorable code points of category Lo (the Hangul fillers; ten
# of U+3164 were a "written reason" an attack took a file down with, its audit row blank to the eye)
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def written_characters(text: str) -> int:
    """The letters and digits of ``text`` (Unicode categories L and N): what a person wrote, not spaces,
    punctuation, invisible format characters or the letters that show nothing (``INVISIBLE_LETTERS``)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN" and ch not in INVISIBLE_LETTERS)


def takedown_reason_refusal(reason: str) -> str | None:
    """Why ``reason`` is not a takedown's written reason, or None: the one rule the form, the API
    and the service apply, so each says the same thing."""
    if written_characters(reason or "") < REASON_MIN_WRITTEN:
        return f"a written reason (at least {REASON_MIN_WRITTEN} letters or digits) is required for a takedown"
    return None


def takedown_reason_validate(reason: str) -> None:
    """``takedown_reason_refusal`` as a field validator (Django forms and DRF both take it)."""
    why = takedown_reason_refusal(reason)
    if why:
        raise ValidationError(why)


def takedown_execute(*, actor, assets, reason) -> list[dict]:
    """Legal takedown: the named objects go at once, canonical included, without quarantine,
    and with them every copy Doppel made. An admin and a written reason are required."""
    if not is_admin(actor):
        raise PermissionDenied("only an admin can do this")
    reason = (reason or "").strip()
    why = takedown_reason_refusal(reason)
    if why:
        raise ValidationError({"reason": why})
    assets = list(dict.fromkeys(assets))
    if not assets:
        raise ValidationError("name at least one object to take down")
    if len(assets) > MAX_ASSETS:
        raise ValidationError(f"at most {MAX_ASSETS} objects per takedown")
    return [takedown_asset(actor=actor, asset=a, reason=reason) for a in assets]


def is_taken_down(*asset_ids) -> bool:
    return bool(taken_down_ids(asset_ids))


__all__ = ["is_taken_down", "rendition_names", "takedown_asset", "takedown_execute"]

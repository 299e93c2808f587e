"""Renditions for the UI (web-size JPEG and thumbnail of an asset; the aligned counterpart and the
difference image of a candidate), kept in the "renditions" storage (local directory or S3 via
django-storages). Browsers never reach the sources: views serve these, permission-checked.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import DatabaseError, transaction
from django.utils import timezone

import matching
from matching.decode import check_limits
from matching.render import render_web_jpeg

from ..models import Asset, Candidate, Takedown
from ..storage import storage_for
from ..tasks.renditions import asset_renditions_task, candidate_rendition_task

log = logging.getLogger(__name__)

WEB_SIDE = 1600
THUMB_SIDE = 320
ASSET_KINDS = ("web", "thumb")
CANDIDATE_KINDS = ("aligned", "diff")
# A rendition the image views found missing is made by a task (never in the web request: the
# original may be a 500 MB TIFF or a restored Glacier object). While it is queued, further requests
# for it queue nothing (a page polling, or many tabs): QUEUED_SECONDS, or until the task ends.
QUEUED_SECONDS = 300
# A rendering that failed (the file does not decode, is over the limits, or is gone) is recorded
# beside where the rendition would be, in the renditions storage that the web and the workers share;
# for FAILED_SECONDS the views answer "does not decode" (404) instead of queuing it again.
FAILED_SECONDS = 600


def renditions_storage():
    return storages["renditions"]


def _tag(*parts) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:12]


def _save(name: str, data: bytes) -> str:
    """Store ``data`` at ``name``, replacing what is there. A storage that overwrites in place (S3
    with file_overwrite) is written straight away: asking first cost a HEAD request per rendition;
    the file system would pick another name, so what is there is deleted first."""
    st = renditions_storage()
    if not getattr(st, "file_overwrite", False) and st.exists(name):
        st.delete(name)
    return st.save(name, ContentFile(data))


def _pillow_jpeg(path, max_side, quality=85) -> bytes:
    """The thumbnail (from the web JPEG): orientation applied, RGB, bounded size."""
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        check_limits(opened)  # the engine's pixel and decoded-byte limits, before anything is loaded
        opened.seek(0)
        im = ImageOps.exif_transpose(opened)
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.thumbnail((max_side, max_side))
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def render_web(path, max_side) -> bytes:
    return render_web_jpeg(path, max_side=max_side)


def _web_from_array(image, max_side, quality=85) -> bytes:
    """The web JPEG from a picture already decoded in displayed orientation (the engine's
    full-detail rendition): a resize, not a second decode of the original."""
    import numpy as np
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image))
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _asset_file(asset: Asset, kind: str, ext: str) -> str:
    """Where an asset's rendition of ``kind`` is kept: under the asset's folder (a takedown removes
    it whole), named by the asset and the ETag it was made from, so a new version of the object
    never reads an older picture."""
    return f"assets/{asset.pk}/{_tag(asset.pk, asset.etag)}-{kind}.{ext}"


def render_asset_files(asset: Asset, path, *, image=None) -> tuple[str, str]:
    """Make both renditions of an asset from a fetched file; returns (web name, thumb name).
    ``image``: the file already decoded at full detail (displayed orientation, long side >=
    WEB_SIDE or the file's own), used instead of decoding the file again (a 12 MP JPEG 2000
    took 4.6 s to decode for the web rendition alone)."""
    web_bytes = _web_from_array(image, WEB_SIDE) if image is not None else render_web(path, WEB_SIDE)
    web = _save(_asset_file(asset, "web", "jpg"), web_bytes)
    # the thumbnail comes from the web JPEG: one decode of the original, not two
    thumb = _save(_asset_file(asset, "thumb", "jpg"), _pillow_jpeg(io.BytesIO(web_bytes), THUMB_SIDE, quality=80))
    return web, thumb


_PNG_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}   # channels -> PNG colour type (grey, RGB, RGBA)


def png_bytes(image) -> bytes:
    """A lossless PNG of an 8-bit grey, RGB or RGBA array: every row "Up"-filtered (its
    difference from the row above, one numpy subtraction) and deflated at zlib level 1. Why not
    Pillow's encoder: it tries every filter on every row, which made the full-detail rendition
    (2048 x 1536) take 0.5-1 s, as long as the engine's whole analysis of a JPEG; this takes
    half that for the same size. Anything else (16-bit, other channel counts) goes to Pillow."""
    import numpy as np

    a = np.ascontiguousarray(image)
    channels = 1 if a.ndim == 2 else (a.shape[2] if a.ndim == 3 else 0)
    if a.dtype != np.uint8 or channels not in _PNG_COLOUR_TYPES or 0 in a.shape:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "PNG", compress_level=1)
        return buf.getvalue()
    h, w = a.shape[:2]
    rows = a.reshape(h, w * channels)
    raw = np.empty((h, w * channels + 1), np.uint8)
    raw[:, 0] = 2                                   # filter type 2: Up
    raw[0, 1:] = rows[0]                            # the row above the first is zeros
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # modulo 256, as PNG defines it

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.data, 1))
            + chunk(b"IEND", b""))


_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def rendition_pool() -> ThreadPoolExecutor:
    """Threads of this process that encode and upload renditions side by side (analysis) and read
    a pair batch's renditions ahead of use (pairing). Kept for the process's life, so each
    thread's storage connection (a boto3 client per thread in django-storages) is made once, not
    per file; made again after a fork (Celery's prefork pool)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = ThreadPoolExecutor(max_workers=3, thread_name_prefix="renditions"), os.getpid()
        return _pool


def asset_renditions_save(asset: Asset, path, *, web: bool, image=None, rendition=None) -> dict:
    """All renditions of an analysed file: {"web", "thumb"} when ``web`` (a convenience: "" when
    they cannot be made), "reduced" (``image``, the engine's reduced picture) and "detail" (``rendition``, its
    full-detail one) when given. The lossless detail PNG alone takes about as long to encode as
    the engine takes to analyse a JPEG, so the three are encoded and uploaded side by side
    (Pillow and the upload release the GIL). Returns only when all have been written, so the
    analysis naming them is committed after they exist; an error saving the reduced or detail
    picture is raised, as before (the item is retried and overwrites the same names)."""
    pool = rendition_pool()
    webs = pool.submit(_web_and_thumb, asset, path, rendition) if web else None
    jobs: dict[str, Future[str]] = {}
    if image is not None:
        jobs["reduced"] = pool.submit(save_reduced, asset, image)
    if rendition is not None:
        jobs["detail"] = pool.submit(save_detail, asset, rendition)
    pending: list[Future] = [*jobs.values(), *([webs] if webs is not None else [])]
    wait(pending)   # every upload over (or failed) before anything names them
    out = {kind: job.result() for kind, job in jobs.items()}
    if webs is not None:
        out["web"], out["thumb"] = webs.result()
    return out


def _web_and_thumb(asset: Asset, path, image) -> tuple[str, str]:
    try:
        return render_asset_files(asset, path, image=image)
    except Exception as exc:  # noqa: BLE001 - a rendition is a convenience, never a failure
        log.info("no rendition for asset %s: %s", asset.pk, exc)
        return "", ""


def save_reduced(asset: Asset, image) -> str:
    """Keep the engine's reduced picture (≤256 px, lossless PNG) so pairing can verify without
    fetching and decoding the original again."""
    return _save(_asset_file(asset, "reduced", "png"), png_bytes(image))


def save_detail(asset: Asset, image) -> str:
    """Keep the engine's full-detail rendition (<= 2048 px, lossless PNG): the proof compares at
    that detail, so pairing and re-verification never fetch the original again."""
    return _save(_asset_file(asset, "detail", "png"), png_bytes(image))


def load_reduced(name: str):
    """The reduced picture as a uint8 RGB array, or None when it is gone."""
    import numpy as np
    from PIL import Image

    try:
        with renditions_storage().open(name, "rb") as f:
            return np.ascontiguousarray(np.asarray(Image.open(f).convert("RGB")))
    except (OSError, ValueError):
        return None


def _within_object_limit(asset: Asset) -> None:
    """Image views fetch and decode only what analysis would: objects over DOPPEL_MAX_OBJECT_BYTES
    are refused from the inventoried size before any fetch (and by the fetch itself, from the
    size the store reports now)."""
    if asset.size and asset.size > settings.MAX_OBJECT_BYTES:
        raise ValidationError(f"{asset.key} is {asset.size} bytes, over the limit of {settings.MAX_OBJECT_BYTES}")


def renditions_delete(names) -> None:
    """Remove these renditions from the renditions storage, those that are there (an empty name is
    none): what a takedown, and a rendering or an analysis the takedown overtook, each remove."""
    st = renditions_storage()
    for name in names:
        if name and st.exists(name):
            st.delete(name)


class TakenDown(ValidationError):
    """Refused: a legal takedown removed this picture."""


class RenditionFailed(Exception):
    """Rendering this picture failed within FAILED_SECONDS (it does not decode, is over the
    limits, or the object is gone): the views answer 404, and nothing is queued again yet."""


def _refuse_taken_down(*asset_ids, made=()):
    """A legally taken-down picture is never rendered again, whatever asks. Asked again once a
    rendition is written (``made``: its names, removed then): a takedown that arrived while it was
    being rendered found nothing of it to remove, and it was served and kept (an attack)."""
    if Takedown.objects.filter(asset_id__in=asset_ids).exists():
        renditions_delete(made)
        raise TakenDown("this picture was removed by a legal takedown")


def asset_rendition(asset: Asset, kind: str) -> str:
    """Name in the renditions storage of the asset's web JPEG or thumbnail (made now if missing)."""
    if kind not in ASSET_KINDS:
        raise ValidationError(f"unknown rendition {kind!r}")
    _refuse_taken_down(asset.pk)
    field = "rendition" if kind == "web" else "thumbnail"
    name = getattr(asset, field)
    st = renditions_storage()
    if name and st.exists(name):
        return name
    _within_object_limit(asset)
    with storage_for(asset.source).fetch(asset.key, max_bytes=settings.MAX_OBJECT_BYTES) as path:
        web, thumb = render_asset_files(asset, path)
    _refuse_taken_down(asset.pk, made=(web, thumb))
    Asset.objects.filter(pk=asset.pk).update(rendition=web, thumbnail=thumb)
    asset.rendition, asset.thumbnail = web, thumb
    return web if kind == "web" else thumb


def _candidate_file(candidate: Candidate, kind: str, ext: str) -> str:
    """Where a candidate's rendition of ``kind`` is kept: under the candidate's folder (a takedown
    removes it whole), named by what it is made from (both objects' ETags and the alignment)."""
    c, m = candidate.cleanup_asset, candidate.match_asset
    tag = _tag(candidate.pk, c.etag, m.etag, candidate.rotation, candidate.flipped, candidate.engine_version)
    return f"candidates/{candidate.pk}/{tag}-{kind}.{ext}"


def candidate_rendition(candidate: Candidate, kind: str) -> str:
    """Name of the candidate's aligned counterpart (the kept copy turned like the clean-up copy)
    or its difference image, made on first request."""
    if kind not in CANDIDATE_KINDS:
        raise ValidationError(f"unknown rendition {kind!r}")
    _refuse_taken_down(candidate.cleanup_asset_id, candidate.match_asset_id)
    field = "aligned_rendition" if kind == "aligned" else "diff_rendition"
    name = getattr(candidate, field)
    st = renditions_storage()
    if name and st.exists(name):
        return name
    c, m = candidate.cleanup_asset, candidate.match_asset
    with ExitStack() as stack:
        _within_object_limit(m)
        _within_object_limit(c)
        mpath = stack.enter_context(storage_for(m.source).fetch(m.key, max_bytes=settings.MAX_OBJECT_BYTES))
        cpath = stack.enter_context(storage_for(c.source).fetch(c.key, max_bytes=settings.MAX_OBJECT_BYTES))
        if kind == "aligned":
            size = (c.width, c.height) if c.width and c.height else None
            data = matching.render_aligned(mpath, rotation=candidate.rotation, flipped=candidate.flipped, size=size)
        else:
            data = matching.render_diff(cpath, mpath, rotation=candidate.rotation, flipped=candidate.flipped)
    name = _save(_candidate_file(candidate, kind, "jpg"), data)
    _refuse_taken_down(candidate.cleanup_asset_id, candidate.match_asset_id, made=(name,))
    Candidate.objects.filter(pk=candidate.pk).update(**{field: name})
    setattr(candidate, field, name)
    return name


# --- the image views' side: find a stored rendition, or have a task make it -----------------------

def _asset_failed_file(asset: Asset) -> str:
    return _asset_file(asset, "failed", "txt")  # the web JPEG and the thumbnail are made together


def _candidate_failed_file(candidate: Candidate, kind: str) -> str:
    return _candidate_file(candidate, f"{kind}-failed", "txt")


def _stored(name: str, failed: str) -> str | None:
    """``name`` when it is in the renditions storage; None when it is not made yet; RenditionFailed
    when a rendering of it failed less than FAILED_SECONDS ago (``failed``: where that is noted).
    Reads only: a look at the storage, never a fetch or a decode."""
    st = renditions_storage()
    if name and st.exists(name):
        return name
    if st.exists(failed) and timezone.now() - st.get_modified_time(failed) < timedelta(seconds=FAILED_SECONDS):
        raise RenditionFailed(failed)
    return None


def asset_rendition_stored(asset: Asset, kind: str) -> str | None:
    """The stored name of the asset's web JPEG or thumbnail, or None when it is not made yet
    (see asset_rendition_request). Raises RenditionFailed when making it failed lately."""
    if kind not in ASSET_KINDS:
        raise ValidationError(f"unknown rendition {kind!r}")
    if asset.state == Asset.State.UNREADABLE:
        # its analysis found it does not decode: nothing to queue, however often it is looked at (the
        # failure note lapses after FAILED_SECONDS, and every look would decode the file again)
        raise RenditionFailed("the file does not decode (its analysis)")
    return _stored(asset.rendition if kind == "web" else asset.thumbnail, _asset_failed_file(asset))


def candidate_rendition_stored(candidate: Candidate, kind: str) -> str | None:
    """The stored name of the candidate's aligned counterpart or difference image, or None when it
    is not made yet (see candidate_rendition_request). Raises RenditionFailed when making it failed
    lately. ``candidate`` comes with both assets (their ETags name the files)."""
    if kind not in CANDIDATE_KINDS:
        raise ValidationError(f"unknown rendition {kind!r}")
    name = candidate.aligned_rendition if kind == "aligned" else candidate.diff_rendition
    return _stored(name, _candidate_failed_file(candidate, kind))


def _queue_once(key: str, send) -> bool:
    """Queue (``send``, on commit) unless the same rendering was queued less than QUEUED_SECONDS
    ago (the cache remembers it; its task forgets it when done). True when queued now."""
    if not cache.add(key, 1, QUEUED_SECONDS):
        return False

    def queue():
        try:
            send()
        except Exception:  # noqa: BLE001 - the broker is down: the image view still answers (503), a later request queues again
            log.exception("could not queue a rendition (%s)", key)
            cache.delete(key)

    transaction.on_commit(queue)
    return True


def _asset_queue_key(asset_id, etag) -> str:
    return f"doppel:rendition-queued:asset:{asset_id}:{_tag(etag)}"


def _candidate_queue_key(candidate_id, kind) -> str:
    return f"doppel:rendition-queued:candidate:{candidate_id}:{kind}"


def asset_rendition_request(asset: Asset) -> bool:
    """Have a task make the asset's web JPEG and thumbnail (asset_renditions_make). Asked by the
    image view when the picture is not stored yet: filling this cache of pictures is the only thing
    a GET changes, and doing it twice changes nothing. True when queued now (not already queued)."""
    asset_id = asset.pk
    return _queue_once(_asset_queue_key(asset_id, asset.etag), lambda: asset_renditions_task.delay(asset_id))


def candidate_rendition_request(candidate: Candidate, kind: str) -> bool:
    """Have a task make the candidate's aligned counterpart or difference image (as
    asset_rendition_request)."""
    if kind not in CANDIDATE_KINDS:
        raise ValidationError(f"unknown rendition {kind!r}")
    cand_id = candidate.pk
    return _queue_once(_candidate_queue_key(cand_id, kind), lambda: candidate_rendition_task.delay(cand_id, kind))


def _failure_note(failed: str, exc: Exception, *asset_ids) -> None:
    """Note beside the rendition that making it failed (the views answer 404 for FAILED_SECONDS).
    Nothing is left for a taken-down picture (``asset_ids``): a takedown that came while this one was
    failing may have listed the folder before the note was in it, so it is asked again after."""
    try:
        _save(failed, f"{type(exc).__name__}: {exc}"[:500].encode())
        _refuse_taken_down(*asset_ids, made=(failed,))
    except TakenDown:
        pass
    except Exception:  # noqa: BLE001 - not noted: the next request queues the rendering again
        log.exception("could not note the failed rendition %s", failed)


def _made(render, *, what: str, failed: str, queued_key: str, asset_ids: tuple) -> str:
    """A rendition task's work around ``render()``, for an asset's or a candidate's picture: a failure is
    noted at ``failed``, not raised (a rendition is a convenience; the view then says the file does not
    decode), and the queued mark (``queued_key``) is forgotten however it ends. Returns what happened."""
    try:
        render()
    except TakenDown:
        return "taken down"
    except DatabaseError as exc:
        # the database, not the file (a locked SQLite under the embedded web server's writes): not noted as
        # a picture that does not decode (404 for FAILED_SECONDS); the page's next ask queues it again
        log.warning("%s not recorded, to be asked again: %s", what, exc)
        return "retry"
    except Exception as exc:  # noqa: BLE001 - does not decode, over the limits, the object is gone
        log.info("no %s: %s", what, exc)
        _failure_note(failed, exc, *asset_ids)
        return "failed"
    finally:
        cache.delete(queued_key)
    return "made"


def asset_renditions_make(asset_id) -> str:
    """The task's work: make the asset's web JPEG and thumbnail unless they are there (idempotent: a
    redelivery or a second request finds them)."""
    asset = Asset.objects.select_related("source").filter(pk=asset_id).first()
    if asset is None:
        return "gone"

    def render():
        asset_rendition(asset, "web")
        asset_rendition(asset, "thumb")
    return _made(render, what=f"rendition for asset {asset_id}", failed=_asset_failed_file(asset),
                 queued_key=_asset_queue_key(asset.pk, asset.etag), asset_ids=(asset.pk,))


def candidate_rendition_make(candidate_id, kind: str) -> str:
    """The task's work for a candidate's aligned counterpart or difference image (as
    asset_renditions_make)."""
    cand = Candidate.objects.select_related("cleanup_asset__source", "match_asset__source").filter(pk=candidate_id).first()
    if cand is None:
        return "gone"
    return _made(lambda: candidate_rendition(cand, kind), what=f"{kind} rendition for candidate {candidate_id}",
                 failed=_candidate_failed_file(cand, kind), queued_key=_candidate_queue_key(cand.pk, kind),
                 asset_ids=(cand.cleanup_asset_id, cand.match_asset_id))

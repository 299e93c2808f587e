"""Rendition bytes for the UI, permission-checked: from the renditions storage through Django, or
a redirect to a short-lived signed URL when that storage is S3. Rows are looked up by id; no key
or path from the request is used.

These views never fetch or decode an original (a 500 MB TIFF or a restored Glacier object would
hold a web worker for minutes): a rendition that is not stored yet is queued for a worker
(services.renditions.*_rendition_request) and answered 503 with Retry-After, which the pages' script
(doppel.js) shows as "Preparing this picture…" and asks again. Queuing it is the only thing a GET
changes: filling a cache of pictures, idempotent, never a change to the archive's records."""
import hashlib
import logging

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response

from ..models import Asset, Candidate
from ..services.renditions import (
    ASSET_KINDS,
    CANDIDATE_KINDS,
    RenditionFailed,
    asset_rendition_request,
    asset_rendition_stored,
    candidate_rendition_request,
    candidate_rendition_stored,
    renditions_storage,
)
from ..services.takedown import is_taken_down
from .decorators import curator_required

log = logging.getLogger(__name__)

# How soon a page asks again for a picture being prepared (the thumbnail of a JPEG takes well under
# a second once a worker has it; a large TIFF longer: the page keeps asking, a bounded number of times).
RETRY_AFTER_SECONDS = 2


def _plain(text, status):
    resp = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    resp["Cache-Control"] = "no-store"
    return resp


def _etag(name) -> str | None:
    """A stored rendition's ETag (FileSystemStorage only; None elsewhere, where a signed URL is served): its
    name and its file's time, so a picture made again under the same name (another size or quality) is
    another tag. None when the file went meanwhile."""
    st = renditions_storage()
    if not isinstance(st, FileSystemStorage):
        return None
    try:
        made = st.get_modified_time(name).timestamp()
    except OSError:   # (gone meanwhile)
        return None
    return f'"{hashlib.sha256(f"{name}|{made}".encode()).hexdigest()[:32]}"'


def _open(name, etag):
    """The response carrying the stored rendition ``name``, or None when it went meanwhile.

    Cached by the browser only to be asked again each time (``no-cache``, with ``etag``: an unchanged
    picture answers 304, ``_picture``): a picture served with ``max-age`` stayed on screen for minutes
    after a legal takedown, from the browser's own cache, and the review page's prefetch put the next
    file's there too (a fresh-eyed attack, stop 75)."""
    st = renditions_storage()
    if not isinstance(st, FileSystemStorage):
        resp = HttpResponseRedirect(st.url(name))  # signed, expires (querystring_expire)
        resp["Cache-Control"] = "no-store"
        return resp
    try:
        opened = st.open(name, "rb")
    except FileNotFoundError:
        return None
    resp = FileResponse(opened, content_type="image/jpeg")
    resp["Cache-Control"] = "private, no-cache"
    if etag:
        resp["ETag"] = etag
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


def _discard(resp) -> None:
    """Close a response's file unsent. Not ``resp.close()``: that sends request_finished, whose
    close_old_connections would close the database connection in the middle of this request."""
    opened = getattr(resp, "file_to_stream", None)
    if opened is not None:
        opened.close()


def _picture(request, asset_ids, stored, request_rendering, what):
    """The one answer of both image views. ``stored()``: the rendition's name, None when it is not
    made yet, or RenditionFailed; ``request_rendering()`` queues it.

    The takedown is asked once, after the file is in hand (or, for a 304, after its tag is): a takedown
    that came at any moment before (while the rendition was being made or looked up, or one that removed
    the file just now) is a 410, and the file opened is closed unsent. A rendition made while a takedown
    ran is removed by the task itself (services.renditions._refuse_taken_down)."""
    resp = unchanged = None
    failed = False
    try:
        name = stored()
    except RenditionFailed:
        failed, name = True, None
    except Exception as exc:  # noqa: BLE001 - the renditions storage did not answer: a 404, never a 500
        log.warning("could not look up the rendition of %s: %s", what, exc)
        failed, name = True, None
    if name:
        etag = _etag(name)
        # the browser holds this very picture (If-None-Match): 304, nothing opened
        unchanged = get_conditional_response(request, etag=etag) if etag else None
        if unchanged is None:
            resp = _open(name, etag)
        else:
            unchanged["Cache-Control"] = "private, no-cache"
            unchanged["ETag"] = etag
    if is_taken_down(*asset_ids):
        if resp is not None:
            _discard(resp)
        return _plain("This picture was removed by a legal takedown.", 410)
    if unchanged is not None:
        return unchanged
    if resp is not None:
        return resp
    if failed:
        # (no-store, as the 503 and 410: the picture may be made once the file is mended)
        return _plain("No picture: the file does not decode, or is gone.", 404)
    if request_rendering():
        log.info("the picture of %s is not made yet: queued for a worker", what)
    else:  # asked again while it is being made (a page asks every few seconds): not worth a line each time
        log.debug("the picture of %s is not made yet: queued before", what)
    resp = _plain("Preparing this picture: ask again in a moment.", 503)
    resp["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx as an error: this one is the expected answer while a worker makes the
    # picture (logged above at INFO), not a fault, and a page asks for it every few seconds
    resp._has_been_logged = True
    return resp


@curator_required
def asset_image(request, pk, kind):
    if kind not in ASSET_KINDS:
        raise Http404("unknown rendition")
    asset = get_object_or_404(Asset.objects.select_related("source"), pk=pk)
    return _picture(request, (asset.pk,), lambda: asset_rendition_stored(asset, kind), lambda: asset_rendition_request(asset),
                    f"asset {asset.pk} ({kind})")


@curator_required
def candidate_image(request, pk, kind):
    if kind not in CANDIDATE_KINDS:
        raise Http404("unknown rendition")
    cand = get_object_or_404(Candidate.objects.select_related("cleanup_asset", "match_asset"), pk=pk)
    return _picture(request, (cand.cleanup_asset_id, cand.match_asset_id), lambda: candidate_rendition_stored(cand, kind),
                    lambda: candidate_rendition_request(cand, kind), f"candidate {cand.pk} ({kind})")

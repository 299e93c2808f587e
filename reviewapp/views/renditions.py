"""Rendition bytes for the UI, permission-checked: from the renditions storage through Django, or
a redirect to a short-lived signed URL when that storage is S3. Rows are looked up by id; no key
or path from the request is used."""
import logging

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404

from ..models import Asset, Candidate
from ..services.renditions import ASSET_KINDS, CANDIDATE_KINDS, asset_rendition, candidate_rendition, renditions_storage
from ..services.takedown import is_taken_down
from .decorators import curator_required

log = logging.getLogger(__name__)


def _gone():
    """A picture removed by a legal takedown: gone for good, and said so (never made again)."""
    resp = HttpResponse("This picture was removed by a legal takedown.", status=410, content_type="text/plain; charset=utf-8")
    resp["Cache-Control"] = "no-store"
    return resp


def _serve(name, *asset_ids):
    """The rendition, unless a takedown of one of ``asset_ids`` came while it was found or made (410),
    or the file went meanwhile (404)."""
    if is_taken_down(*asset_ids):
        return _gone()
    st = renditions_storage()
    if isinstance(st, FileSystemStorage):
        try:
            opened = st.open(name, "rb")
        except FileNotFoundError:
            if is_taken_down(*asset_ids):
                return _gone()
            raise Http404("no picture for this file (its rendition went meanwhile)") from None
        resp = FileResponse(opened, content_type="image/jpeg")
        resp["Cache-Control"] = "private, max-age=300"
        resp["X-Content-Type-Options"] = "nosniff"
        return resp
    return HttpResponseRedirect(st.url(name))  # signed, expires (querystring_expire)


@curator_required
def asset_image(request, pk, kind):
    if kind not in ASSET_KINDS:
        raise Http404("unknown rendition")
    asset = get_object_or_404(Asset.objects.select_related("source"), pk=pk)
    if is_taken_down(asset.pk):
        return _gone()
    try:
        name = asset_rendition(asset, kind)
    except Exception as exc:  # noqa: BLE001 - an unreadable or missing file is a 404, never a 500
        log.info("no %s rendition for asset %s: %s", kind, pk, exc)
        if is_taken_down(asset.pk):
            return _gone()
        raise Http404("no picture for this file (it does not decode, or the object is gone)") from None
    return _serve(name, asset.pk)


@curator_required
def candidate_image(request, pk, kind):
    if kind not in CANDIDATE_KINDS:
        raise Http404("unknown rendition")
    cand = get_object_or_404(Candidate.objects.select_related("cleanup_asset__source", "match_asset__source"), pk=pk)
    if is_taken_down(cand.cleanup_asset_id, cand.match_asset_id):
        return _gone()
    try:
        name = candidate_rendition(cand, kind)
    except Exception as exc:  # noqa: BLE001
        log.info("no %s rendition for candidate %s: %s", kind, pk, exc)
        if is_taken_down(cand.cleanup_asset_id, cand.match_asset_id):
            return _gone()
        raise Http404("no picture for this pair (a file does not decode, or is gone)") from None
    return _serve(name, cand.cleanup_asset_id, cand.match_asset_id)

"""Renditions: made from real files, stored in the renditions storage, served permission-checked
(FileResponse locally, a short-lived signed URL when the storage is S3). One the views do not find
stored is made by a task, never in the request: they answer 503 with Retry-After meanwhile."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from reviewapp.models import Asset, Candidate
from reviewapp.services.renditions import asset_rendition, candidate_rendition, renditions_storage
from tests.reviewapp.test_analysis import analyse_inline, inventory_inline, make_collection


def prepared(client, url, capture):
    """Ask for a picture that is not stored: 503 with Retry-After and the task queued, not run in the
    request; run it (as a worker would), then the answer to the same request."""
    with capture(execute=False) as queued:
        first = client.get(url)
    assert first.status_code == 503 and int(first["Retry-After"]) > 0, first
    assert first["Cache-Control"] == "no-store" and first["Content-Type"].startswith("text/plain")
    assert len(queued) == 1
    queued[0]()  # the task (eager in tests): the worker's part
    return client.get(url)


def refused_at_once(client, url, capture):
    """A picture that will not be made: 404 (not cached: the file may be mended), nothing queued."""
    with capture(execute=False) as queued:
        resp = client.get(url)
    assert resp.status_code == 404 and resp["Cache-Control"] == "no-store", resp
    assert queued == []
    return resp


@pytest.fixture
def paired(local_root, admin_user):
    from reviewapp.services.sources import source_add

    can, cl = make_collection(local_root)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    analyse_inline(admin_user, source=cleanup)
    return canonical, cleanup


def failures_age(seconds=None):
    """Make every noted rendering failure older than FAILED_SECONDS (or ``seconds``): the next
    request tries again."""
    import os
    import time
    from pathlib import Path

    from reviewapp.services.renditions import FAILED_SECONDS

    then = time.time() - (FAILED_SECONDS + 1 if seconds is None else seconds)
    for p in Path(renditions_storage().location).rglob("*-failed.txt"):
        os.utime(p, (then, then))


def jpeg_size(data: bytes):
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    return im.size


@pytest.mark.django_db
def test_asset_renditions_are_made_at_analysis_and_served(paired, curator_client):
    a = Asset.objects.get(name="C1234a.jpg")
    st = renditions_storage()
    assert st.exists(a.rendition) and st.exists(a.thumbnail)
    resp = curator_client.get(f"/images/asset/{a.pk}/web.jpg")
    assert resp.status_code == 200 and resp["Content-Type"] == "image/jpeg"
    assert jpeg_size(b"".join(resp.streaming_content)) == (300, 300)
    thumb = curator_client.get(f"/images/asset/{a.pk}/thumb.jpg")
    assert max(jpeg_size(b"".join(thumb.streaming_content))) <= 320


@pytest.mark.django_db
def test_missing_rendition_is_made_on_demand(paired):
    a = Asset.objects.get(name="IMG_0001.png")
    renditions_storage().delete(a.rendition)
    name = asset_rendition(a, "web")
    assert renditions_storage().exists(name)
    assert jpeg_size(renditions_storage().open(name).read()) == (300, 400)  # turned copy as displayed


@pytest.mark.django_db
def test_candidate_aligned_and_diff(paired, curator_client, django_capture_on_commit_callbacks):
    cand = Candidate.objects.get(cleanup_asset__name="IMG_0001.png")
    resp = prepared(curator_client, f"/images/candidate/{cand.pk}/aligned.jpg", django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    w, h = jpeg_size(b"".join(resp.streaming_content))
    assert h > w  # the landscape kept copy turned like the portrait clean-up copy
    resp = prepared(curator_client, f"/images/candidate/{cand.pk}/diff.jpg", django_capture_on_commit_callbacks)
    assert resp.status_code == 200
    cand.refresh_from_db()
    assert cand.aligned_rendition and cand.diff_rendition
    assert candidate_rendition(cand, "diff") == cand.diff_rendition  # not made twice


@pytest.mark.django_db
def test_an_image_view_never_decodes_the_original_in_the_request(paired, curator_client, monkeypatch, caplog,
                                                                  django_capture_on_commit_callbacks):
    """A picture not stored yet is queued for a worker (once, however often it is asked for) and
    answered 503 with Retry-After: nothing is fetched or decoded in the request. Once the task has
    run, the same request gets the picture."""
    import logging
    import threading

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task, candidate_rendition_task

    decoded, queued = [], []
    real_web, real_aligned = renditions.render_web, renditions.matching.render_aligned
    monkeypatch.setattr(renditions, "render_web", lambda *a, **k: decoded.append(threading.get_ident()) or real_web(*a, **k))
    monkeypatch.setattr(renditions.matching, "render_aligned",
                        lambda *a, **k: decoded.append(threading.get_ident()) or real_aligned(*a, **k))

    class Worker:  # what reaches the broker: the real tasks stay unrun
        def __init__(self, name):
            self.name = name

        def delay(self, *args):
            queued.append((self.name, *args))

    monkeypatch.setattr(renditions, "asset_renditions_task", Worker("asset"))
    monkeypatch.setattr(renditions, "candidate_rendition_task", Worker("candidate"))
    a = Asset.objects.get(name="IMG_0001.png")
    cand = Candidate.objects.get(cleanup_asset=a)
    renditions_storage().delete(a.rendition)
    web, aligned = f"/images/asset/{a.pk}/web.jpg", f"/images/candidate/{cand.pk}/aligned.jpg"
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        answers = [curator_client.get(u) for u in (web, web, aligned, aligned)]
    assert [r.status_code for r in answers] == [503] * 4
    assert all(r["Retry-After"] == "2" and r["Cache-Control"] == "no-store" and b"Preparing" in r.content for r in answers)
    assert decoded == []
    assert queued == [("asset", a.pk), ("candidate", cand.pk, "aligned")]  # asked twice each, queued once each
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # expected, not a fault
    # the worker's part
    assert asset_renditions_task(a.pk) == "made" and candidate_rendition_task(cand.pk, "aligned") == "made"
    assert len(decoded) == 2
    resp = curator_client.get(web)
    assert resp.status_code == 200 and jpeg_size(b"".join(resp.streaming_content)) == (300, 400)
    assert curator_client.get(f"/images/asset/{a.pk}/thumb.jpg").status_code == 200  # made with the web JPEG
    assert curator_client.get(aligned).status_code == 200
    assert asset_renditions_task(a.pk) == "made" and len(decoded) == 2  # a second run finds them


@pytest.mark.django_db
def test_a_failed_rendering_answers_404_until_it_is_old_enough_to_try_again(paired, curator_client,
                                                                              django_capture_on_commit_callbacks):
    """Not an eternal 503: a file that no longer decodes (it decoded at analysis) is said so (404) on
    later requests, without queuing it again, until the failure is FAILED_SECONDS old."""
    import os

    bad = Asset.objects.get(name="IMG_0001.png")
    renditions_storage().delete(bad.rendition)
    renditions_storage().delete(bad.thumbnail)
    Asset.objects.filter(pk=bad.pk).update(rendition="", thumbnail="")
    path = os.path.join(bad.source.root, bad.key)
    with open(path, "r+b") as f:   # garbled in place, its size, time and so its identity as inventoried kept
        f.write(b"\0" * 64)
    url = f"/images/asset/{bad.pk}/web.jpg"
    assert prepared(curator_client, url, django_capture_on_commit_callbacks).status_code == 404
    refused_at_once(curator_client, url, django_capture_on_commit_callbacks)
    refused_at_once(curator_client, f"/images/asset/{bad.pk}/thumb.jpg", django_capture_on_commit_callbacks)
    failures_age(seconds=10)  # recent: still 404
    assert curator_client.get(url).status_code == 404
    failures_age()
    assert prepared(curator_client, url, django_capture_on_commit_callbacks).status_code == 404  # tried again


@pytest.mark.django_db
def test_a_takedown_while_the_picture_is_being_made_is_410_and_leaves_no_picture(paired, curator_client, admin_user,
                                                                                 monkeypatch,
                                                                                 django_capture_on_commit_callbacks):
    """The takedown lands while the worker renders (after its first look, before it writes): the
    rendition it writes is removed, nothing of it is noted, and the view answers 410."""
    from pathlib import Path

    from reviewapp.models import Takedown
    from reviewapp.services import renditions

    a = Asset.objects.get(name="IMG_0001.png")
    renditions_storage().delete(a.rendition)
    real = renditions.render_web

    def render_during_a_takedown(*args, **kwargs):
        Takedown.objects.create(asset=a, reason="court order 2026/99 (test)", actor=admin_user)
        return real(*args, **kwargs)

    monkeypatch.setattr(renditions, "render_web", render_during_a_takedown)
    resp = prepared(curator_client, f"/images/asset/{a.pk}/web.jpg", django_capture_on_commit_callbacks)
    assert resp.status_code == 410 and resp["Cache-Control"] == "no-store"
    assert curator_client.get(f"/images/asset/{a.pk}/thumb.jpg").status_code == 410
    left = [p.name for p in (Path(renditions_storage().location) / "assets" / str(a.pk)).iterdir()]
    assert not [n for n in left if n.endswith(("-web.jpg", "-thumb.jpg", "-failed.txt"))], left


@pytest.mark.django_db
def test_a_takedown_while_a_rendering_fails_leaves_no_failure_note(paired, curator_client, admin_user, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    """A takedown lists the folder it removes before the failing rendering wrote its note: the
    note is asked about again and removed, so nothing of the taken-down file is left."""
    from pathlib import Path

    from reviewapp.models import Takedown
    from reviewapp.services import renditions

    a = Asset.objects.get(name="IMG_0001.png")
    renditions_storage().delete(a.rendition)

    def fail_during_a_takedown(*args, **kwargs):
        Takedown.objects.create(asset=a, reason="court order 2026/97 (test)", actor=admin_user)
        raise ValueError("does not decode")

    monkeypatch.setattr(renditions, "render_web", fail_during_a_takedown)
    assert prepared(curator_client, f"/images/asset/{a.pk}/web.jpg", django_capture_on_commit_callbacks).status_code == 410
    left = [p.name for p in (Path(renditions_storage().location) / "assets" / str(a.pk)).iterdir()]
    assert not [n for n in left if n.endswith("-failed.txt")], left


@pytest.mark.django_db
def test_a_stored_picture_of_a_taken_down_file_is_410_and_queues_nothing(paired, curator_client, admin_user,
                                                                         django_capture_on_commit_callbacks):
    from reviewapp.models import Takedown

    a = Asset.objects.get(name="IMG_0001.png")
    cand = Candidate.objects.get(cleanup_asset=a)
    assert renditions_storage().exists(a.rendition)
    Takedown.objects.create(asset=cand.match_asset, reason="court order 2026/98 (test)", actor=admin_user)
    with django_capture_on_commit_callbacks() as queued:
        assert curator_client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 200  # not this one
        for kind in ("aligned", "diff"):  # the pair involves it: never made
            resp = curator_client.get(f"/images/candidate/{cand.pk}/{kind}.jpg")
            assert resp.status_code == 410 and b"legal takedown" in resp.content
        assert curator_client.get(f"/images/asset/{cand.match_asset_id}/web.jpg").status_code == 410  # stored, not served
    assert queued == []


@pytest.mark.django_db
def test_a_file_its_analysis_found_unreadable_is_404_at_once_and_never_queued(paired, curator_client,
                                                                             django_capture_on_commit_callbacks):
    # a fresh-eyed attack (stop 75): its failure note lapsed every FAILED_SECONDS, and each look at it
    # decoded the file again
    bad = Asset.objects.get(name="garbage.jpg")
    assert bad.state == Asset.State.UNREADABLE
    for kind in ("web", "thumb"):
        refused_at_once(curator_client, f"/images/asset/{bad.pk}/{kind}.jpg", django_capture_on_commit_callbacks)
    failures_age()
    refused_at_once(curator_client, f"/images/asset/{bad.pk}/web.jpg", django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_a_picture_is_asked_for_again_each_time_and_a_takedown_is_never_answered_from_the_browsers_copy(
        paired, curator_client, admin_user):
    # a fresh-eyed attack (stop 75): served with max-age=300, a taken-down picture stayed on screen for
    # minutes from the browser's cache. Now the browser asks each time (no-cache), and an unchanged
    # picture answers 304 by its ETag, checked after the takedown
    from reviewapp.models import Takedown

    a = Asset.objects.get(name="IMG_0001.png")
    url = f"/images/asset/{a.pk}/web.jpg"
    resp = curator_client.get(url)
    assert resp.status_code == 200 and resp["Cache-Control"] == "private, no-cache" and resp["ETag"]
    again = curator_client.get(url, HTTP_IF_NONE_MATCH=resp["ETag"])
    assert again.status_code == 304 and again["Cache-Control"] == "private, no-cache"
    assert curator_client.get(url, HTTP_IF_NONE_MATCH='"another"').status_code == 200
    # made again under the same name (another size, a rendering fix): another tag, the new picture
    import os
    import time
    path = renditions_storage().path(a.rendition)
    later = time.time() + 5
    os.utime(path, (later, later))
    assert curator_client.get(url, HTTP_IF_NONE_MATCH=resp["ETag"]).status_code == 200
    resp = curator_client.get(url)
    Takedown.objects.create(asset=a, reason="court order 2026/99 (test)", actor=admin_user)
    gone = curator_client.get(url, HTTP_IF_NONE_MATCH=resp["ETag"])
    assert gone.status_code == 410 and gone["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_bad_requests_are_404_never_500(paired, curator_client, django_capture_on_commit_callbacks):
    bad = Asset.objects.get(name="garbage.jpg")
    refused_at_once(curator_client, f"/images/asset/{bad.pk}/web.jpg", django_capture_on_commit_callbacks)
    good = Asset.objects.get(name="C1234a.jpg")
    assert curator_client.get(f"/images/asset/{good.pk}/original.jpg").status_code == 404
    assert curator_client.get("/images/asset/999999/web.jpg").status_code == 404
    assert curator_client.get("/images/candidate/999999/diff.jpg").status_code == 404


@pytest.mark.django_db
def test_renditions_need_a_curator(paired, client, django_user_model):
    a = Asset.objects.get(name="C1234a.jpg")
    assert client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 302  # to the login page
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 403


@pytest.mark.django_db
def test_s3_renditions_redirect_to_a_signed_url(paired, curator_client, s3_profile, s3_bucket, s3_server, settings,
                                               django_capture_on_commit_callbacks):
    from django.core.files.storage import storages

    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": s3_bucket, "endpoint_url": s3_server, "access_key": "testing", "secret_key": "testing",
                    "region_name": "us-east-1", "querystring_auth": True, "querystring_expire": 300, "file_overwrite": True},
    }}
    storages._storages.pop("renditions", None)
    try:
        a = Asset.objects.get(name="C1234a.jpg")  # its rendition is in the local storage, not in S3
        resp = prepared(curator_client, f"/images/asset/{a.pk}/web.jpg", django_capture_on_commit_callbacks)
        assert resp.status_code == 302
        assert resp["Location"].startswith(s3_server) and "Signature" in resp["Location"] and "Expires=" in resp["Location"]
        import requests

        assert jpeg_size(requests.get(resp["Location"], timeout=10).content) == (300, 300)
    finally:
        storages._storages.pop("renditions", None)


@pytest.mark.django_db
def test_image_views_obey_the_object_byte_limit(paired, curator_client, settings, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    """An image view's rendering fetches and decodes only what analysis would: over
    DOPPEL_MAX_OBJECT_BYTES it answers 404 and makes nothing, whether the inventoried size or the
    store's says so."""
    a = Asset.objects.get(name="IMG_0001.png")
    cand = Candidate.objects.get(cleanup_asset=a)
    renditions_storage().delete(a.rendition)
    Asset.objects.filter(pk=a.pk).update(rendition="")
    settings.MAX_OBJECT_BYTES = a.size - 1
    web = f"/images/asset/{a.pk}/web.jpg"
    assert prepared(curator_client, web, django_capture_on_commit_callbacks).status_code == 404
    assert prepared(curator_client, f"/images/candidate/{cand.pk}/aligned.jpg", django_capture_on_commit_callbacks).status_code == 404
    a.refresh_from_db()
    cand.refresh_from_db()
    assert a.rendition == "" and cand.aligned_rendition == ""
    # the inventoried size may be stale: the fetch checks the size the store reports now
    Asset.objects.filter(pk=a.pk).update(size=1)
    failures_age()
    assert prepared(curator_client, web, django_capture_on_commit_callbacks).status_code == 404
    settings.MAX_OBJECT_BYTES = 10 ** 9
    failures_age()
    assert prepared(curator_client, web, django_capture_on_commit_callbacks).status_code == 200


def test_the_configured_decode_limits_are_the_engines_defaults(settings):
    """Every decode in the process obeys DOPPEL_MAX_IMAGE_PIXELS and DOPPEL_MAX_DECODED_BYTES, also
    where a caller passes no limit (renditions, the executor's re-check)."""
    from matching import decode as engine_decode
    from reviewapp.apps import engine_limits_apply

    assert engine_decode.DEFAULT_MAX_PIXELS == settings.MAX_IMAGE_PIXELS
    assert engine_decode.DEFAULT_MAX_DECODED_BYTES == settings.MAX_DECODED_BYTES
    settings.MAX_DECODED_BYTES = 12345
    try:
        engine_limits_apply()
        assert engine_decode.DEFAULT_MAX_DECODED_BYTES == 12345
    finally:
        settings.MAX_DECODED_BYTES = 1024 ** 3
        engine_limits_apply()


@pytest.mark.django_db
def test_a_bomb_like_png_is_refused_by_analysis_and_the_image_view(local_root, admin_user, curator_client,
                                                                    django_capture_on_commit_callbacks):
    import sys
    from pathlib import Path

    from reviewapp.services.sources import source_add
    from tests.reviewapp.test_analysis import analyse_inline, inventory_inline

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "matching"))
    from mhelpers import bomb_png

    d = local_root / "bombs"
    d.mkdir()
    (d / "C0001.png").write_bytes(bomb_png(14000, 14000))
    src = source_add(actor=admin_user, name="bombs", kind="local", role="cleanup", root=str(d))
    inventory_inline(admin_user, src)
    analyse_inline(admin_user, source=src)
    a = Asset.objects.get(source=src)
    assert a.decode_status == "unreadable" and "decoded, over the limit" in a.decode_error
    url = f"/images/asset/{a.pk}/web.jpg"
    refused_at_once(curator_client, url, django_capture_on_commit_callbacks)   # never decoded for the view
    # and were it not known (analysed at another time), its rendering obeys the same limits
    Asset.objects.filter(pk=a.pk).update(state=Asset.State.FINGERPRINTED)
    assert prepared(curator_client, url, django_capture_on_commit_callbacks).status_code == 404


@pytest.mark.django_db
def test_analysis_makes_the_web_rendition_from_the_engines_decode_without_decoding_again(local_root, admin_user,
                                                                                         monkeypatch):
    """One decode per file: the web JPEG is a resize of the full-detail rendition analysis made."""
    from reviewapp.services import renditions
    from reviewapp.services.sources import source_add
    from tests.images import photo, save

    calls = []
    monkeypatch.setattr(renditions, "render_web", lambda *a, **k: calls.append(a) or b"")
    save(photo("astronaut", (2400, 1800)), local_root / "canonical" / "C0001234.png")
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical",
                           root=str(local_root / "canonical"))
    inventory_inline(admin_user, canonical)
    analyse_inline(admin_user, source=canonical)
    a = Asset.objects.get(name="C0001234.png")
    assert calls == []
    with renditions_storage().open(a.rendition) as f:
        assert jpeg_size(f.read()) == (1600, 1200)


def s3_renditions(settings, s3_bucket, s3_server):
    from django.core.files.storage import storages

    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": s3_bucket, "endpoint_url": s3_server, "access_key": "testing", "secret_key": "testing",
                    "region_name": "us-east-1", "file_overwrite": True},
    }}
    storages._storages.pop("renditions", None)
    return storages


@pytest.mark.django_db
def test_every_rendition_of_an_analysed_file_is_in_s3_when_its_name_is_returned(paired, s3_profile, s3_bucket,
                                                                                 s3_server, settings):
    """Encoded and uploaded side by side, but all written before the names are handed back (the
    analysis naming them is committed after); an overwriting storage is written without a HEAD
    first, and a second save at the same names replaces the objects."""
    import numpy as np

    from reviewapp.services import renditions

    storages = s3_renditions(settings, s3_bucket, s3_server)
    try:
        a = Asset.objects.get(name="C1234a.jpg")
        st = renditions.renditions_storage()
        asked = []
        real_exists = st.exists
        st.exists = lambda name: asked.append(name) or real_exists(name)
        detail = np.full((300, 200, 3), 90, np.uint8)
        reduced = np.full((30, 20, 3), 40, np.uint8)
        for shade in (90, 120):
            detail[:] = shade
            saved = renditions.asset_renditions_save(a, None, web=True, image=reduced, rendition=detail)
            assert set(saved) == {"web", "thumb", "reduced", "detail"}
            objects = {o["Key"]: o["Size"] for o in s3_profile.list_objects_v2(Bucket=s3_bucket)["Contents"]}
            assert all(any(k.endswith(saved[kind]) for k in objects) for kind in saved), (saved, objects)
            assert len(objects) == 4
            with st.open(saved["detail"]) as f:
                assert np.asarray(Image.open(f).convert("RGB"))[0, 0].tolist() == [shade] * 3
            with st.open(saved["web"]) as f:
                assert Image.open(f).size == (200, 300)
        assert asked == []
    finally:
        storages._storages.pop("renditions", None)


@pytest.mark.django_db
def test_a_failed_detail_upload_is_raised_only_once_the_other_renditions_are_written(paired, monkeypatch):
    """The error fails the analysis (the item is retried), but not while another upload is still
    running in the pool: the slow reduced picture is written when the error arrives."""
    import time

    import numpy as np

    from reviewapp.services import renditions

    def broken(asset, image):
        raise OSError("S3 unavailable")

    real_reduced = renditions.save_reduced

    def slow_reduced(asset, image):
        time.sleep(0.5)
        return real_reduced(asset, image)

    monkeypatch.setattr(renditions, "save_detail", broken)
    monkeypatch.setattr(renditions, "save_reduced", slow_reduced)
    a = Asset.objects.get(name="C1234a.jpg")
    renditions_storage().delete(a.analysis["reduced"])
    with pytest.raises(OSError, match="S3 unavailable"):
        renditions.asset_renditions_save(a, None, web=True, image=np.zeros((30, 20, 3), np.uint8),
                                         rendition=np.zeros((300, 200, 3), np.uint8))
    assert renditions_storage().exists(a.analysis["reduced"])


@pytest.mark.parametrize("shape", [(1, 1), (1, 7, 3), (5, 1, 3), (33, 17), (40, 31, 3), (9, 12, 4)])
def test_the_fast_png_is_lossless_for_every_8_bit_layout(shape):
    """The detail and reduced renditions are the proof's pictures: decoding the PNG gives back
    exactly the engine's array, whatever the channels (wrap-around differences included)."""
    import numpy as np

    from reviewapp.services.renditions import png_bytes

    a = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    a.reshape(-1)[::3] = 255   # large jumps between rows: the Up differences wrap around
    im = Image.open(io.BytesIO(png_bytes(a)))
    assert im.format == "PNG" and im.mode == {2: "L", 3: "RGB", 4: "RGBA"}[len(shape) if len(shape) == 2 else shape[2]]
    assert np.array_equal(np.asarray(im), a)


def test_a_16_bit_picture_still_goes_to_pillows_png():
    import numpy as np

    from reviewapp.services.renditions import png_bytes

    a = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(a)))), a)


@pytest.mark.celery
@pytest.mark.services
def test_a_worker_process_makes_the_picture_an_image_view_asked_for(local_root, celery_worker, paired, curator_client):
    """As in production and `make run`: the request only queues (503), a separate worker process
    fetches and decodes, and the page's next request gets the picture, or the 404 of a file that
    does not decode."""
    from tests.conftest import wait_for

    import os

    a = Asset.objects.get(name="IMG_0001.png")
    bad = Asset.objects.get(name="C1234a.jpg")   # decoded at analysis; garbled in place since
    renditions_storage().delete(a.rendition)
    renditions_storage().delete(bad.rendition)
    with open(os.path.join(bad.source.root, bad.key), "r+b") as f:
        f.write(b"\0" * 64)
    web, garbage = f"/images/asset/{a.pk}/web.jpg", f"/images/asset/{bad.pk}/web.jpg"
    assert curator_client.get(web).status_code == 503 and curator_client.get(garbage).status_code == 503
    resp = wait_for(lambda: (r := curator_client.get(web)).status_code == 200 and r, timeout=60, message="the worker's rendition")
    assert jpeg_size(b"".join(resp.streaming_content)) == (300, 400)
    wait_for(lambda: curator_client.get(garbage).status_code == 404, timeout=60, message="the worker's failure note")
    # a file its analysis found unreadable is not even queued
    assert curator_client.get(f"/images/asset/{Asset.objects.get(name='garbage.jpg').pk}/web.jpg").status_code == 404


@pytest.mark.django_db
def test_a_database_error_while_recording_a_picture_is_asked_again_not_noted_as_a_file_that_does_not_decode(
        paired, curator_client, monkeypatch, django_capture_on_commit_callbacks):
    # a locked SQLite under the embedded web server's writes is the database's fault, not the file's: noted,
    # it answered 404 ("does not decode") for FAILED_SECONDS
    from django.db import OperationalError

    from reviewapp.services import renditions

    a = Asset.objects.get(name="IMG_0001.png")
    renditions_storage().delete(a.rendition)
    url = f"/images/asset/{a.pk}/web.jpg"

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")
    real = renditions.asset_rendition
    monkeypatch.setattr(renditions, "asset_rendition", locked)
    assert renditions.asset_renditions_make(a.pk) == "retry"
    monkeypatch.setattr(renditions, "asset_rendition", real)
    assert prepared(curator_client, url, django_capture_on_commit_callbacks).status_code == 200

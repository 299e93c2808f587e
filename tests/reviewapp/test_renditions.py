"""Renditions: made from real files, stored in the renditions storage, served permission-checked
(FileResponse locally, a short-lived signed URL when the storage is S3)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from reviewapp.models import Asset, Candidate
from reviewapp.services.renditions import asset_rendition, candidate_rendition, renditions_storage
from tests.reviewapp.test_analysis import analyse_inline, inventory_inline, make_collection


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
def test_candidate_aligned_and_diff(paired, curator_client):
    cand = Candidate.objects.get(cleanup_asset__name="IMG_0001.png")
    resp = curator_client.get(f"/images/candidate/{cand.pk}/aligned.jpg")
    assert resp.status_code == 200
    w, h = jpeg_size(b"".join(resp.streaming_content))
    assert h > w  # the landscape kept copy turned like the portrait clean-up copy
    resp = curator_client.get(f"/images/candidate/{cand.pk}/diff.jpg")
    assert resp.status_code == 200
    cand.refresh_from_db()
    assert cand.aligned_rendition and cand.diff_rendition
    assert candidate_rendition(cand, "diff") == cand.diff_rendition  # not made twice


@pytest.mark.django_db
def test_bad_requests_are_404_never_500(paired, curator_client):
    bad = Asset.objects.get(name="garbage.jpg")
    assert curator_client.get(f"/images/asset/{bad.pk}/web.jpg").status_code == 404
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
def test_s3_renditions_redirect_to_a_signed_url(paired, curator_client, s3_profile, s3_bucket, s3_server, settings):
    from django.core.files.storage import storages

    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": s3_bucket, "endpoint_url": s3_server, "access_key": "testing", "secret_key": "testing",
                    "region_name": "us-east-1", "querystring_auth": True, "querystring_expire": 300, "file_overwrite": True},
    }}
    storages._storages.pop("renditions", None)
    try:
        a = Asset.objects.get(name="C1234a.jpg")
        resp = curator_client.get(f"/images/asset/{a.pk}/web.jpg")
        assert resp.status_code == 302
        assert resp["Location"].startswith(s3_server) and "Signature" in resp["Location"] and "Expires=" in resp["Location"]
        import requests

        assert jpeg_size(requests.get(resp["Location"], timeout=10).content) == (300, 300)
    finally:
        storages._storages.pop("renditions", None)


@pytest.mark.django_db
def test_image_views_obey_the_object_byte_limit(paired, curator_client, settings):
    """An image view fetches and decodes only what analysis would: over DOPPEL_MAX_OBJECT_BYTES
    it answers 404 and makes nothing, whether the inventoried size or the store's says so."""
    a = Asset.objects.get(name="IMG_0001.png")
    cand = Candidate.objects.get(cleanup_asset=a)
    renditions_storage().delete(a.rendition)
    Asset.objects.filter(pk=a.pk).update(rendition="")
    settings.MAX_OBJECT_BYTES = a.size - 1
    assert curator_client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 404
    assert curator_client.get(f"/images/candidate/{cand.pk}/aligned.jpg").status_code == 404
    a.refresh_from_db()
    cand.refresh_from_db()
    assert a.rendition == "" and cand.aligned_rendition == ""
    # the inventoried size may be stale: the fetch checks the size the store reports now
    Asset.objects.filter(pk=a.pk).update(size=1)
    assert curator_client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 404
    settings.MAX_OBJECT_BYTES = 10 ** 9
    assert curator_client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 200


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
def test_a_bomb_like_png_is_refused_by_analysis_and_the_image_view(local_root, admin_user, curator_client):
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
    assert curator_client.get(f"/images/asset/{a.pk}/web.jpg").status_code == 404


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

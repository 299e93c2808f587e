"""Extracts: one streamed tar archive per name list, with a manifest that accounts for every name
(extracted, not found, ambiguous and why, archived with the restore estimate, failed with the
reason), renditions at a chosen size, reproducible samples, retention, pause/resume without
duplicate members, and an S3 destination through a multipart upload. Real encoded files."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tarfile
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from reviewapp.models import Asset, AuditEntry, Extract, ExtractArchive, ExtractMember, Job, NameList, Source
from reviewapp.services import extracts as svc
from reviewapp.services import jobs as job_svc
from reviewapp.services.inventory import extract_ids
from reviewapp.services.namelists import namelist_upload
from reviewapp.storage import LocalStorage
from tests.factories import AssetFactory, SourceFactory
from tests.images import photo

QUOTED = 'Photo "Ærø", 1923 – 東京.jpg'


def jpeg(name="astronaut", size=(200, 150)):
    buf = io.BytesIO()
    photo(name, size=size).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png(name="coffee", size=(120, 160)):
    buf = io.BytesIO()
    photo(name, size=size).save(buf, "PNG")
    return buf.getvalue()


def put(source, key, data, **extra):
    info = LocalStorage(source.root).put(key, data)
    a = AssetFactory(source=source, key=key, name=key.rsplit("/", 1)[-1], size=info.size, etag=info.etag,
                     state=Asset.State.AVAILABLE, **extra)
    for v in extract_ids(key):
        a.identifiers.create(value=v)
    return a


def upload(actor, source, names, title="album covers"):
    data = "\n".join(names).encode("utf-8")
    return namelist_upload(actor=actor, source=source, title=title, uploaded_file=SimpleUploadedFile("list.txt", data))


@pytest.fixture
def extract_root(tmp_path, settings, local_root):
    root = tmp_path / "extracts"
    settings.EXTRACT_ROOTS = [root.resolve()]
    settings.EXTRACT_LOCATIONS = {"default": f"local:{root / 'out'}"}
    return root / "out"


@pytest.fixture
def store(db, local_root, extract_root, admin_user):
    (local_root / "covers").mkdir()
    src = SourceFactory(name="covers", root=str(local_root / "covers"), role=Source.Role.CLEANUP)
    assets = {
        "quoted": put(src, f"box1/{QUOTED}", jpeg("astronaut")),
        "tif": put(src, "box2/C0001234.jpg", jpeg("coffee", size=(300, 200)), width=300, height=200),
        "tif_small": put(src, "box3/C0001234.png", png("coffee"), width=120, height=160),
        "plain": put(src, "IMG_0001.jpg", jpeg("chelsea")),
        "archived": put(src, "cold/IMG_0002.jpg", jpeg("rocket"), storage_class="GLACIER"),
        "broken": put(src, "IMG_0003.jpg", b"this is not a picture at all" * 10),
    }
    Asset.objects.filter(pk=assets["archived"].pk).update(state=Asset.State.ARCHIVED)
    return src, assets


def build(admin, namelists, *, content="original", max_side=None, sample_size=None, sample_seed=None, title="covers",
          capture=None, **kw):
    ex = svc.extract_create(actor=admin, namelists=namelists, title=title, location="default",
                            expires_at=timezone.now() + timedelta(days=30), content=content, max_side=max_side,
                            sample_size=sample_size, sample_seed=sample_seed, **kw)
    svc.extract_run(ex.job_id)
    ex.refresh_from_db()
    return ex


def open_archive(root, archive):
    return tarfile.open(root / archive.key)


def manifest(tar):
    rows = list(csv.DictReader(io.StringIO(tar.extractfile("manifest.csv").read().decode("utf-8-sig"))))
    return {r["line"]: r for r in rows}, json.loads(tar.extractfile("manifest.json").read())


NAMES = [QUOTED, "C0001234", "IMG_0001.jpg", "nowhere.tif", "IMG_0002.jpg", "IMG_0003.jpg", "img_0001.JPG"]


@pytest.mark.django_db
def test_originals_archive_accounts_for_every_name(store, admin_user, extract_root):
    src, a = store
    nl = upload(admin_user, src, NAMES)
    ex = build(admin_user, [nl])
    assert ex.state == Extract.State.READY and ex.job.state == Job.State.DONE
    archive = ex.archives.get()
    assert (archive.requested, archive.found, archive.extracted) == (7, 6, 4)
    with open_archive(extract_root, archive) as tar:
        rows, doc = manifest(tar)
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("files/")}
    # the bytes in the archive are the stored bytes, hashed as written
    assert files[f"files/box1/{QUOTED}"] == (src_root := (extract_root.parent.parent / "sources" / "covers")).joinpath("box1", QUOTED).read_bytes()
    assert set(files) == {f"files/box1/{QUOTED}", "files/box2/C0001234.jpg", "files/IMG_0001.jpg"} | {"files/IMG_0003.jpg"}
    for name, data in files.items():
        row = next(r for r in rows.values() if r["path_in_archive"] == name)
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and int(row["bytes"]) == len(data)
    assert rows["1"]["name_requested"] == QUOTED and rows["1"]["outcome"] == "extracted"
    # ambiguous: the larger picture is chosen and the manifest says why
    assert rows["2"]["outcome"] == "ambiguous" and rows["2"]["key_chosen"] == "box2/C0001234.jpg"
    assert "chose box2/C0001234.jpg over box3/C0001234.png" in rows["2"]["detail"] and "most pixels" in rows["2"]["detail"]
    assert rows["4"]["outcome"] == "not_found" and rows["4"]["key_chosen"] == ""
    # archive tier: listed with the restore estimate, never silently skipped
    assert rows["5"]["outcome"] == "archived" and "GLACIER" in rows["5"]["detail"] and "restore takes" in rows["5"]["detail"]
    # the same object asked for twice is stored once, and the second line says so
    assert rows["7"]["outcome"] == "repeated" and "same object as line 3; stored once" in rows["7"]["detail"]
    assert rows["7"]["path_in_archive"] == "files/IMG_0001.jpg"
    assert doc["counts"]["requested"] == 7 and doc["summary"] == (
        "Of the 7 objects you requested, the database knew 6, and the archive contains 4. "
        "1 name repeated an object an earlier line named; it is counted once.")
    assert [m["name_requested"] for m in doc["members"]][0] == QUOTED
    assert archive.sha256 == hashlib.sha256((extract_root / archive.key).read_bytes()).hexdigest()


@pytest.mark.django_db
def test_renditions_at_the_chosen_size_and_undecodable_files_fail_with_the_reason(store, admin_user, extract_root):
    src, a = store
    nl = upload(admin_user, src, [QUOTED, "C0001234.png", "IMG_0003.jpg"])
    ex = build(admin_user, [nl], content="rendition", max_side=64)
    archive = ex.archives.get()
    with open_archive(extract_root, archive) as tar:
        rows, _doc = manifest(tar)
        thumb = tar.extractfile(f"files/box1/{QUOTED}.64px.jpg").read()
        portrait = tar.extractfile("files/box3/C0001234.png.64px.jpg").read()
    assert Image.open(io.BytesIO(thumb)).size == (64, 48)
    assert Image.open(io.BytesIO(portrait)).size == (48, 64)
    assert rows["3"]["outcome"] == "failed" and rows["3"]["detail"]
    assert (archive.requested, archive.found, archive.extracted) == (3, 3, 2)


@pytest.mark.django_db
def test_csv_manifest_neutralises_formula_names(store, admin_user, extract_root):
    src, _a = store
    nl = upload(admin_user, src, ["=HYPERLINK(\"http://x\")", "IMG_0001.jpg"])
    archive = build(admin_user, [nl]).archives.get()
    with open_archive(extract_root, archive) as tar:
        rows, doc = manifest(tar)
    assert rows["1"]["name_requested"].startswith("'=")
    assert doc["members"][0]["name_requested"].startswith("=")  # JSON keeps the name as requested


@pytest.mark.django_db
def test_one_archive_per_list_and_a_reproducible_sample(store, admin_user, extract_root):
    src, _a = store
    for i in range(30):
        put(src, f"many/P{i:03d}.jpg", jpeg("camera", size=(40, 30)))
    big = upload(admin_user, src, [f"P{i:03d}.jpg" for i in range(30)], title="books")
    small = upload(admin_user, src, ["IMG_0001.jpg"], title="logos")
    first = build(admin_user, [big, small], sample_size=5, sample_seed=42)
    again = build(admin_user, [big], sample_size=5, sample_seed=42, title="again")
    other = build(admin_user, [big], sample_size=5, sample_seed=7, title="other")
    assert first.archives.count() == 2
    picked = lambda ex: list(ex.archives.get(namelist=big).members.values_list("key", flat=True))  # noqa: E731
    assert len(picked(first)) == 5 and picked(first) == picked(again) and picked(first) != picked(other)
    assert first.archives.get(namelist=big).requested == 5
    assert first.archives.get(namelist=small).requested == 1  # a sample larger than the list is the list
    assert first.job.requested == 6 and first.job.processed == 6


@pytest.mark.django_db
def test_pause_drops_the_partial_archive_and_resume_writes_each_member_once(store, admin_user, extract_root, monkeypatch):
    src, _a = store
    for i in range(12):
        put(src, f"many/Q{i:03d}.jpg", jpeg("camera", size=(40, 30)))
    nl = upload(admin_user, src, [f"Q{i:03d}.jpg" for i in range(12)])
    monkeypatch.setattr(svc, "FLUSH_EVERY", 4)
    ex = svc.extract_create(actor=admin_user, namelists=[nl], title="paused", location="default",
                            expires_at=timezone.now() + timedelta(days=3))
    real = svc._add_member
    calls = {"n": 0}

    def pause_after_five(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            job_svc.job_pause(actor=admin_user, job=ex.job)
        return real(*args, **kw)

    monkeypatch.setattr(svc, "_add_member", pause_after_five)
    svc.extract_run(ex.job_id)
    archive = ex.archives.get()
    assert archive.state == ExtractArchive.State.PENDING
    assert not (extract_root / archive.key).exists() and not list(extract_root.rglob("*.doppel-tmp"))
    assert Job.objects.get(pk=ex.job_id).state == Job.State.PAUSED
    job_svc.job_resume(actor=admin_user, job=ex.job)  # eager dispatch happens on commit; run it here
    svc.extract_run(ex.job_id)
    archive.refresh_from_db()
    assert archive.state == ExtractArchive.State.BUILT
    with open_archive(extract_root, archive) as tar:
        names = [m.name for m in tar.getmembers()]
    assert len(names) == len(set(names)) == 12 + 2
    assert ExtractMember.objects.filter(archive=archive).count() == 12
    job = Job.objects.get(pk=ex.job_id)
    assert (job.state, job.processed, job.found) == (Job.State.DONE, 12, 12)


@pytest.mark.django_db
def test_expired_extracts_are_deleted_with_an_audit_row(store, admin_user, extract_root):
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"])
    keep = build(admin_user, [nl], title="keep")
    gone = build(admin_user, [nl], title="gone")
    Extract.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert svc.extract_expire_due() == {"expired": 1, "failed": 0}
    gone.refresh_from_db()
    archive = gone.archives.get()
    assert gone.state == Extract.State.EXPIRED and archive.state == ExtractArchive.State.DELETED
    assert not (extract_root / archive.key).exists()
    assert (extract_root / keep.archives.get().key).exists()
    row = AuditEntry.objects.get(action=AuditEntry.Action.EXPIRE)
    assert row.key == archive.key and row.reason == "retention period ended" and row.detail["extract"] == gone.pk
    assert svc.extract_expire_due() == {"expired": 0, "failed": 0}  # nothing twice


@pytest.mark.django_db
def test_bad_requests_are_refused_with_reasons(store, admin_user, curator, extract_root, settings, tmp_path):
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"])
    ok = dict(namelists=[nl], title="t", location="default", expires_at=timezone.now() + timedelta(days=1))
    with pytest.raises(PermissionDenied):
        svc.extract_create(actor=curator, **ok)
    for change, field in [({"expires_at": None}, "expires_at"), ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
                          ({"expires_at": timezone.now() + timedelta(days=5000)}, "expires_at"),
                          ({"location": "elsewhere"}, "location"), ({"content": "rendition"}, "max_side"),
                          ({"content": "rendition", "max_side": 10**6}, "max_side"), ({"namelists": []}, "namelists"),
                          ({"sample_size": 0}, "sample_size"), ({"title": " "}, "title"),
                          ({"namelists": [NameList.objects.create(source=src, title="half made")]}, "namelists")]:
        with pytest.raises(ValidationError) as err:
            svc.extract_create(actor=admin_user, **{**ok, **change})
        assert field in err.value.message_dict, change
    settings.EXTRACT_LOCATIONS = {"default": f"local:{tmp_path / 'not-allowed'}", "inside": f"local:{src.root}/x"}
    settings.EXTRACT_ROOTS = [tmp_path.resolve()]
    with pytest.raises(ValidationError, match="overlaps source"):
        svc.extract_create(actor=admin_user, **{**ok, "location": "inside"})
    settings.EXTRACT_ROOTS = [(tmp_path / "only-here").resolve()]
    with pytest.raises(ValidationError, match="not under DOPPEL_EXTRACT_ROOTS"):
        svc.extract_create(actor=admin_user, **ok)
    assert not Extract.objects.exists()


@pytest.mark.django_db
@pytest.mark.services
def test_s3_destination_streams_a_multipart_upload(store, admin_user, s3_profile, s3_bucket, settings):
    src, _a = store
    put(src, "big/noise.bin", os.urandom(9 * 1024 * 1024))
    nl = upload(admin_user, src, ["noise.bin", "IMG_0001.jpg"])
    settings.EXTRACT_LOCATIONS = {"s3": f"s3:moto:{s3_bucket}/extracts"}
    ex = svc.extract_create(actor=admin_user, namelists=[nl], title="to s3", location="s3",
                            expires_at=timezone.now() + timedelta(days=1))
    svc.extract_run(ex.job_id)
    archive = ex.archives.get()
    etag = s3_profile.head_object(Bucket=s3_bucket, Key=f"extracts/{archive.key}")["ETag"].strip('"')
    assert etag.endswith("-2")  # a multipart upload of two parts: streamed, never held whole
    body = s3_profile.get_object(Bucket=s3_bucket, Key=f"extracts/{archive.key}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == archive.sha256 and archive.extracted == 2
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile("files/big/noise.bin").read() == (src_file := open(os.path.join(src.root, "big/noise.bin"), "rb")).read()
        src_file.close()
    Extract.objects.filter(pk=ex.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    svc.extract_expire_due()
    assert "Contents" not in s3_profile.list_objects_v2(Bucket=s3_bucket, Prefix="extracts/")


@pytest.mark.django_db
def test_page_makes_an_extract_and_shows_the_counts(store, admin_user, curator, client, extract_root,
                                                    django_capture_on_commit_callbacks):
    src, _a = store
    nl = upload(admin_user, src, NAMES)
    client.force_login(curator)
    assert client.get("/extracts/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/extracts/").content.decode()
    assert '<label for="id_title">' in page and '<label for="id_expires_on">' in page and not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script (CSP)
    form = {"title": "album covers", "namelists": [nl.pk], "location": "default", "content": "rendition",
            "max_side": "500", "expires_on": ""}
    r = client.post("/extracts/", form)
    assert r.status_code == 200 and "This field is required" in r.content.decode() and not Extract.objects.exists()
    r = client.post("/extracts/", {**form, "namelists": ["9" * 23]})  # no row can have it: invalid, not a 500
    assert r.status_code == 200 and "is not a valid value" in r.content.decode() and not Extract.objects.exists()
    form["expires_on"] = (timezone.now() + timedelta(days=10)).date().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/extracts/", form)
    ex = Extract.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/extracts/{ex.pk}/"
    ex.refresh_from_db()
    assert ex.state == Extract.State.READY and ex.max_side == 500
    detail = client.get(f"/extracts/{ex.pk}/").content.decode()
    assert "Of the 7 objects you requested, the database knew 6, and the archive contains 3." in detail
    assert QUOTED.replace('"', "&quot;") in detail
    for junk in ("%C2%B2", "%D9%A3", "9" * 30, "-1"):   # not an archive of it: the first one is shown, not a 500
        assert "archive contains 3" in client.get(f"/extracts/{ex.pk}/?archive={junk}").content.decode(), junk
    csv_text = b"".join(client.get(f"/extracts/archives/{ex.archives.get().pk}/manifest.csv").streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(csv_text)))[1][:3] == ["1", QUOTED, "extracted"]
    dash = client.get("/").content.decode()
    assert 'data-testid="live-extracts"' in dash and "album covers" in dash
    r = client.post(f"/extracts/{ex.pk}/delete/", {"confirm": "on"})
    ex.refresh_from_db()
    assert r.status_code == 302 and ex.state == Extract.State.EXPIRED
    assert "album covers" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_deleting_an_extract_now_asks_for_a_ticked_box_first(store, admin_user, extract_root, client):
    """'Delete the archives now' deleted them on one click: now the button leads to a page that says
    what goes and asks for a ticked box; without it nothing is deleted, and the page says so."""
    src, _a = store
    ex = build(admin_user, [upload(admin_user, src, ["IMG_0001.jpg"])])
    archive = ex.archives.get()
    client.force_login(admin_user)
    detail = client.get(f"/extracts/{ex.pk}/").content.decode()
    assert f'href="/extracts/{ex.pk}/delete/"' in detail and 'data-testid="extract-delete"' in detail
    page = client.get(f"/extracts/{ex.pk}/delete/").content.decode()
    assert "Delete the archives of covers now?" in page and archive.key in page
    assert '<input type="checkbox" name="confirm"' in page
    for refused in ({}, {"confirm": ""}):
        r = client.post(f"/extracts/{ex.pk}/delete/", refused)
        assert r.status_code == 200 and "nothing was deleted (the box was not ticked)" in r.content.decode()
        assert svc.extract_delete_refusal(False) in r.content.decode()
    ex.refresh_from_db()
    assert ex.state == Extract.State.READY and (extract_root / archive.key).exists()
    r = client.post(f"/extracts/{ex.pk}/delete/", {"confirm": "on"})
    ex.refresh_from_db()
    assert r.status_code == 302 and r["Location"] == f"/extracts/{ex.pk}/" and ex.state == Extract.State.EXPIRED
    assert not (extract_root / archive.key).exists()
    assert "are deleted" in client.get(f"/extracts/{ex.pk}/delete/").content.decode()


@pytest.mark.django_db
def test_api_makes_and_reports_an_extract(store, admin_user, curator, extract_root, django_capture_on_commit_callbacks):
    from tests.conftest import api_client_for

    src, _a = store
    nl = upload(admin_user, src, NAMES)
    body = {"title": "logos", "namelists": [nl.pk], "location": "default",
            "expires_at": (timezone.now() + timedelta(days=2)).isoformat()}
    assert api_client_for(curator).post("/api/v1/extracts/", body, format="json").status_code == 403
    api = api_client_for(admin_user)
    r = api.post("/api/v1/extracts/", {**body, "location": "http://evil.example/"}, format="json")
    assert r.status_code == 400 and "location" in r.json()["errors"]
    r = api.post("/api/v1/extracts/", {**body, "expires_at": None}, format="json")
    assert r.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/extracts/", body, format="json", HTTP_IDEMPOTENCY_KEY="ex-1")
    assert r.status_code == 201
    ex_id = r.json()["id"]
    again = api.post("/api/v1/extracts/", body, format="json", HTTP_IDEMPOTENCY_KEY="ex-1")
    assert again.json()["id"] == ex_id and Extract.objects.count() == 1
    got = api.get(f"/api/v1/extracts/{ex_id}/").json()
    assert (got["requested"], got["found"], got["extracted"]) == (7, 6, 4) and got["state"] == "ready"
    archive = got["archives"][0]
    assert archive["summary"] == ("Of the 7 objects you requested, the database knew 6, and the archive contains 4. "
                                  "1 name repeated an object an earlier line named; it is counted once.")
    assert archive["repeated"] == got["repeated"] == 1
    rows = api.get(f"/api/v1/extracts/{ex_id}/members/", {"archive": archive["id"], "outcome": "archived"}).json()["results"]
    assert [r["key"] for r in rows] == ["cold/IMG_0002.jpg"] and "restore takes" in rows[0]["detail"]
    assert api.get(f"/api/v1/extracts/{ex_id}/members/", {"archive": "x"}).status_code == 400
    lines = [r["line"] for r in api.get(f"/api/v1/extracts/{ex_id}/members/", {"archive": archive["id"]}).json()["results"]]
    assert lines == list(range(1, 8))  # manifest order
    assert api.get(f"/api/v1/extracts/{ex_id}/manifest-csv/", {"archive": archive["id"]}).status_code == 200
    job = api.get(f"/api/v1/jobs/{got['job']}/").json()
    assert job["kind"] == "extract" and job["state"] == "done"


@pytest.mark.django_db
def test_the_api_deletes_an_extract_early_only_when_the_body_confirms_it(store, admin_user, extract_root):
    """The page asks for a ticked box; `POST delete-now/` deleted at once on a bare POST. Now it
    asks for `confirm: true`, by the same rule (services.extracts.extract_delete_refusal)."""
    from tests.conftest import api_client_for

    src, _a = store
    ex = build(admin_user, [upload(admin_user, src, ["IMG_0001.jpg"])])
    archive = ex.archives.get()
    api = api_client_for(admin_user)
    url = f"/api/v1/extracts/{ex.pk}/delete-now/"
    for refused in ({}, {"confirm": False}):
        r = api.post(url, refused, format="json")
        assert r.status_code == 400, r.content
        assert r.json()["errors"]["confirm"] == [svc.extract_delete_refusal(refused.get("confirm"))]
    r = api.post(url, {"confirm": "perhaps"}, format="json")
    assert r.status_code == 400 and "confirm" in r.json()["errors"]
    ex.refresh_from_db()
    assert ex.state == Extract.State.READY and (extract_root / archive.key).exists()
    r = api.post(url, {"confirm": True}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert not (extract_root / archive.key).exists()


@pytest.mark.django_db
def test_the_service_refuses_an_early_delete_without_a_confirmation(store, admin_user, extract_root):
    src, _a = store
    ex = build(admin_user, [upload(admin_user, src, ["IMG_0001.jpg"])])
    with pytest.raises(ValidationError) as refused:
        svc.extract_delete(actor=admin_user, extract=ex, confirm=False)
    assert refused.value.message_dict == {"confirm": [svc.extract_delete_refusal(False)]}
    ex.refresh_from_db()
    assert ex.state == Extract.State.READY


@pytest.mark.django_db
def test_command_makes_an_extract_and_expires_due(store, admin_user, extract_root):
    from django.core.management import CommandError, call_command

    src, _a = store
    nl = upload(admin_user, src, NAMES)
    with pytest.raises(CommandError, match="expiry is required"):
        call_command("doppel_extract", user=admin_user.username, namelist=[nl.pk], title="t")
    out = io.StringIO()
    call_command("doppel_extract", user=admin_user.username, namelist=[nl.pk], title="thumbs", days=3,
                 content="rendition", size=32, stdout=out)
    text = out.getvalue()
    assert "the database knew 6, and the archive contains 3" in text
    ex = Extract.objects.get()
    assert ex.max_side == 32 and (extract_root / ex.archives.get().key).exists()
    Extract.objects.filter(pk=ex.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    out = io.StringIO()
    call_command("doppel_extract", expire_due=True, stdout=out)
    assert "expired 1 extract" in out.getvalue() and not (extract_root / ex.archives.get().key).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery
def test_worker_builds_extracts_and_obeys_pause_resume_and_cancel(store, admin_user, extract_root, celery_worker):
    from reviewapp.models import NameList
    from tests.conftest import wait_for

    src, _a = store
    nl = upload(admin_user, src, NAMES)

    def finished(job_id):
        return lambda: Job.objects.get(pk=job_id).state in (Job.State.DONE, Job.State.FAILED, Job.State.CANCELLED)

    # paused before the worker takes it: nothing is built until it is resumed
    ex = svc.extract_create(actor=admin_user, namelists=[NameList.objects.get(pk=nl.pk)], title="paused first",
                            location="default", expires_at=timezone.now() + timedelta(days=1))
    job_svc.job_pause(actor=admin_user, job=ex.job)
    ex2 = svc.extract_create(actor=admin_user, namelists=[nl], title="cancelled", location="default",
                             expires_at=timezone.now() + timedelta(days=1))
    job_svc.job_cancel(actor=admin_user, job=ex2.job)
    ex3 = svc.extract_create(actor=admin_user, namelists=[nl], title="straight", location="default",
                             expires_at=timezone.now() + timedelta(days=1))
    wait_for(finished(ex3.job_id), timeout=90, message="extract job")
    assert Job.objects.get(pk=ex3.job_id).state == Job.State.DONE, celery_worker.logs()[-3000:]
    assert ExtractArchive.objects.get(extract=ex3).state == ExtractArchive.State.BUILT
    assert ExtractArchive.objects.get(extract=ex).state == ExtractArchive.State.PENDING
    assert Job.objects.get(pk=ex.job_id).state == Job.State.PAUSED
    job_svc.job_resume(actor=admin_user, job=Job.objects.get(pk=ex.job_id))
    wait_for(finished(ex.job_id), timeout=90, message="resumed extract job")
    archive = ExtractArchive.objects.get(extract=ex)
    assert archive.state == ExtractArchive.State.BUILT and archive.extracted == 4
    assert ExtractMember.objects.filter(archive=archive).count() == 7
    assert ExtractArchive.objects.get(extract=ex2).state == ExtractArchive.State.PENDING
    wait_for(lambda: Extract.objects.get(pk=ex2.pk).state == Extract.State.CANCELLED, timeout=30, message="cancelled extract")
    assert not (extract_root / ExtractArchive.objects.get(extract=ex2).key).exists()
    assert "doppel.extract_build" in celery_worker.logs()


@pytest.mark.django_db
def test_an_object_named_twice_is_stored_once_even_across_flushes(store, admin_user, extract_root, monkeypatch):
    src, _a = store
    monkeypatch.setattr(svc, "FLUSH_EVERY", 1)  # the first line is in the database when the second comes
    nl = upload(admin_user, src, ["IMG_0001.jpg", "nowhere.tif", "img_0001.JPG"])
    archive = build(admin_user, [nl]).archives.get()
    rows = {m.line: m for m in archive.members.all()}
    assert rows[3].arcname == rows[1].arcname == "files/IMG_0001.jpg" and rows[3].sha256 == rows[1].sha256
    assert "same object as line 1" in rows[3].detail
    with open_archive(extract_root, archive) as tar:
        assert [n for n in tar.getnames() if n.startswith("files/")] == ["files/IMG_0001.jpg"]


@pytest.mark.django_db
def test_an_object_named_again_is_fetched_stored_and_counted_once_whatever_became_of_it(store, admin_user, extract_root,
                                                                                          monkeypatch):
    """Three names of one picture counted three files; an archived or undecodable object named twice
    was listed, fetched and counted as failed twice. Every object once, on its first line; each
    repeat is its own outcome and the counts say how many names repeated."""
    src, _a = store
    real, fetched = svc._add_member, []

    def counting(tar, extract, asset, store_cache):
        fetched.append(asset.key)
        return real(tar, extract, asset, store_cache)

    monkeypatch.setattr(svc, "_add_member", counting)
    nl = upload(admin_user, src, ["IMG_0001.jpg", "img_0001.JPG", "Img_0001.jpg", "C0001234", "IMG_0002.jpg",
                                  "IMG_0002.jpg", "IMG_0003.jpg", "IMG_0003.jpg"])
    ex = build(admin_user, [nl], content="rendition", max_side=64)
    archive = ex.archives.get()
    with open_archive(extract_root, archive) as tar:
        files = [n for n in tar.getnames() if n.startswith("files/")]
    assert len(files) == 2 == archive.extracted
    assert sorted(fetched) == ["IMG_0001.jpg", "IMG_0003.jpg", "box2/C0001234.jpg"]
    rows = {m.line: m for m in archive.members.all()}
    assert [rows[n].outcome for n in range(1, 9)] == [
        "extracted", "repeated", "repeated", "ambiguous", "archived", "repeated", "failed", "repeated"]
    assert (archive.requested, archive.found, archive.repeated) == (8, 8, 4)
    assert rows[3].arcname == rows[1].arcname and "same object as line 1; stored once" in rows[3].detail
    assert "same object as line 7 (failed); counted once" in rows[8].detail
    assert ex.job.failed == 1 and svc.archive_counts(archive)["failed"] == 1
    assert svc.counts_sentence(svc.archive_counts(archive)) == (
        "Of the 8 objects you requested, the database knew 8, and the archive contains 2. "
        "4 names repeated objects earlier lines named; each is counted once.")


@pytest.mark.django_db
def test_cancelling_its_job_cancels_the_extract_at_once_queued_or_paused(store, admin_user, extract_root, client,
                                                                           monkeypatch):
    """A cancelled extract stayed "waiting to be built" (or "building", once paused) until a worker ran
    its job again, which for a paused job never happens: the cancel itself says so now."""
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg", "C0001234"])
    queued = svc.extract_create(actor=admin_user, namelists=[nl], title="queued", location="default",
                                expires_at=timezone.now() + timedelta(days=1))
    job_svc.job_cancel(actor=admin_user, job=queued.job)   # no worker runs after this
    queued.refresh_from_db()
    assert queued.state == Extract.State.CANCELLED
    monkeypatch.setattr(svc, "FLUSH_EVERY", 1)
    paused = svc.extract_create(actor=admin_user, namelists=[nl], title="paused", location="default",
                                expires_at=timezone.now() + timedelta(days=1))
    real = svc._add_member

    def pause_first(*args, **kw):
        job_svc.job_pause(actor=admin_user, job=Job.objects.get(pk=paused.job_id))
        return real(*args, **kw)

    monkeypatch.setattr(svc, "_add_member", pause_first)
    svc.extract_run(paused.job_id)
    assert Job.objects.get(pk=paused.job_id).state == Job.State.PAUSED
    job_svc.job_cancel(actor=admin_user, job=paused.job)
    paused.refresh_from_db()
    assert paused.state == Extract.State.CANCELLED
    client.force_login(admin_user)
    page = client.get(f"/extracts/{paused.pk}/").content.decode()
    assert "Not built: the extract was cancelled" in page and 'name="doppel-refresh"' not in page


@pytest.mark.django_db
def test_a_list_still_being_looked_up_is_refused_pointing_at_its_job_not_at_a_missing_button(
        store, admin_user, extract_root, client):
    """The refusal said "resolve it again from its page", and that page has no way to: it now says
    the list's page shows the job looking its names up, which that page does."""
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"], title="still reading")
    NameList.objects.filter(pk=nl.pk).update(resolved_at=None)
    client.force_login(admin_user)
    r = client.post("/extracts/", {"title": "t", "namelists": [nl.pk], "location": "default", "content": "original",
                                   "expires_on": (timezone.now() + timedelta(days=3)).date().isoformat()})
    page = r.content.decode()
    assert r.status_code == 200 and not Extract.objects.exists()
    assert "its names are still being looked up (the list&#x27;s page shows the job doing it)" in page
    assert "still reading" in page and "resolve it again" not in page
    listpage = client.get(f"/namelists/{nl.pk}/").content.decode()
    job = nl.jobs.get()
    assert f'href="/jobs/{job.pk}/"' in listpage and job.get_kind_display() in listpage


@pytest.mark.django_db
def test_a_paused_extract_reads_paused_not_building(store, admin_user, extract_root, client, monkeypatch):
    """Its job was paused, and the extract's page, the list, the dashboard and the API all said
    "building" until it was resumed: now they say paused, and building again once resumed."""
    from tests.conftest import api_client_for

    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg", "C0001234"])
    monkeypatch.setattr(svc, "FLUSH_EVERY", 1)
    ex = svc.extract_create(actor=admin_user, namelists=[nl], title="halted", location="default",
                            expires_at=timezone.now() + timedelta(days=1))
    queued = svc.extract_create(actor=admin_user, namelists=[nl], title="never started", location="default",
                                expires_at=timezone.now() + timedelta(days=1))
    job_svc.job_pause(actor=admin_user, job=queued.job)   # paused before any worker took it
    real = svc._add_member

    def pause_first(*args, **kw):
        job_svc.job_pause(actor=admin_user, job=Job.objects.get(pk=ex.job_id))
        return real(*args, **kw)

    monkeypatch.setattr(svc, "_add_member", pause_first)
    svc.extract_run(ex.job_id)   # paused while building
    label = Extract.State.PAUSED.label
    for e in (ex, queued):
        e.refresh_from_db()
        assert e.state == Extract.State.PAUSED and e.job.state == Job.State.PAUSED
    client.force_login(admin_user)
    detail = client.get(f"/extracts/{ex.pk}/").content.decode()
    assert f'data-testid="extract-state">{label}<' in detail and "Building" not in detail
    listed = client.get("/extracts/").content.decode()
    assert listed.count(f"<td>{label}</td>") == 2 and "Building" not in listed
    assert f"<td>{label}</td>" in client.get("/").content.decode()  # live extracts on the dashboard
    assert api_client_for(admin_user).get(f"/api/v1/extracts/{ex.pk}/").json()["state"] == "paused"
    monkeypatch.setattr(svc, "_add_member", real)
    job_svc.job_resume(actor=admin_user, job=ex.job)
    ex.refresh_from_db()
    assert ex.state == Extract.State.PENDING   # waiting for a worker again
    svc.extract_run(ex.job_id)
    ex.refresh_from_db()
    assert ex.state == Extract.State.READY


@pytest.mark.django_db
def test_an_extract_that_holds_no_file_fails_and_says_why(store, admin_user, extract_root, client):
    """It was "ready" with nothing in it: a person fetched an archive of manifests. Now it fails with
    what became of the names; the manifest stays for the line-by-line reasons."""
    from django.utils.html import escape

    from tests.conftest import api_client_for

    src, _a = store
    nl = upload(admin_user, src, ["nowhere.tif", "IMG_0002.jpg", "cold/IMG_0002.jpg"])
    ex = build(admin_user, [nl])
    why = ("no file was put in the archive: 1 not found; 1 in an archive tier, not restored; "
           "1 named again (counted once, on its first line). The manifest gives each name's reason.")
    assert (ex.state, ex.job.state, ex.job.error) == (Extract.State.FAILED, Job.State.FAILED, why)
    archive = ex.archives.get()
    assert archive.state == ExtractArchive.State.BUILT and (extract_root / archive.key).exists()
    client.force_login(admin_user)
    assert escape(why) in client.get(f"/extracts/{ex.pk}/").content.decode()
    assert api_client_for(admin_user).get(f"/api/v1/extracts/{ex.pk}/").json()["error"] == why
    # one file is enough to be ready
    ok = build(admin_user, [upload(admin_user, src, ["nowhere.tif", "IMG_0001.jpg"], title="one")], title="one")
    assert ok.state == Extract.State.READY and ok.job.error == ""


@pytest.mark.django_db
def test_an_expiry_date_means_the_end_of_that_day_on_the_page_the_api_and_the_command(store, admin_user, extract_root,
                                                                                        client):
    """The page read "expires on 12 May" as the end of that day, the API as its first second: the
    same date kept an extract a day less through the API. One rule (extract_expiry) for all three."""
    from datetime import UTC, datetime, time

    from django.core.management import call_command

    from tests.conftest import api_client_for

    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"])
    day = (timezone.now() + timedelta(days=5)).date()
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    client.force_login(admin_user)
    client.post("/extracts/", {"title": "page", "namelists": [nl.pk], "location": "default", "content": "original",
                               "expires_on": day.isoformat()})
    api = api_client_for(admin_user)
    body = {"title": "api", "namelists": [nl.pk], "location": "default"}
    assert api.post("/api/v1/extracts/", {**body, "expires_at": day.isoformat()}, format="json").status_code == 201
    moment = f"{day.isoformat()}T12:30:00Z"
    assert api.post("/api/v1/extracts/", {**body, "title": "api moment", "expires_at": moment},
                    format="json").status_code == 201
    r = api.post("/api/v1/extracts/", {**body, "title": "no such day", "expires_at": "2031-02-30"}, format="json")
    assert r.status_code == 400 and "expires_at" in r.json()["errors"]
    call_command("doppel_extract", user=admin_user.username, namelist=[nl.pk], title="command", expires=day.isoformat(),
                 stdout=io.StringIO())
    expiry = dict(Extract.objects.values_list("title", "expires_at"))
    assert expiry["page"] == expiry["api"] == expiry["command"] == end_of_day
    assert svc.extract_expiry(day) == end_of_day
    assert expiry["api moment"] == datetime.combine(day, time(12, 30), tzinfo=UTC)


@pytest.mark.django_db
def test_deleting_an_extract_while_an_archive_is_being_written_leaves_no_archive_behind(store, admin_user, extract_root,
                                                                                        monkeypatch):
    """'Delete the archives now' landed while a list's archive was being written: the delete found
    no file yet, and the build then put it in place and said 'built', on an extract reading
    'expired' that no expiry and no takedown reached again. Now the build, recording it, finds the
    extract ended, deletes what it wrote and records it deleted; and nothing else is built."""
    src, _a = store
    first = upload(admin_user, src, ["IMG_0001.jpg"], title="first")
    second = upload(admin_user, src, ["C0001234"], title="second")
    ex = svc.extract_create(actor=admin_user, namelists=[first, second], title="race", location="default",
                            expires_at=timezone.now() + timedelta(days=3))
    real = svc._add_manifests

    def delete_now_mid_write(tar, archive):  # the tar is written, not yet in place
        if not Extract.objects.filter(pk=ex.pk, state=Extract.State.EXPIRED).exists():
            svc.extract_delete(actor=admin_user, extract=ex, confirm=True)
        return real(tar, archive)

    monkeypatch.setattr(svc, "_add_manifests", delete_now_mid_write)
    svc.extract_run(ex.job_id)
    ex.refresh_from_db()
    assert ex.state == Extract.State.EXPIRED
    assert set(ex.archives.values_list("state", flat=True)) == {ExtractArchive.State.DELETED}
    assert not [p for p in extract_root.rglob("*") if p.is_file()]
    assert Job.objects.get(pk=ex.job_id).state == Job.State.CANCELLED
    late = AuditEntry.objects.get(action=AuditEntry.Action.EXPIRE, key=ex.archives.get(namelist=first).key,
                                  outcome="deleted once written, never offered")
    assert late.reason == "the extract ended while this archive was being written"


@pytest.mark.django_db
def test_an_archive_of_an_ended_extract_is_never_built(store, admin_user, extract_root):
    """The job listed its archives once, at its start: one reached after the extract was deleted
    was still written and recorded 'built'."""
    src, _a = store
    ex = svc.extract_create(actor=admin_user, namelists=[upload(admin_user, src, ["IMG_0001.jpg"])], title="late",
                            location="default", expires_at=timezone.now() + timedelta(days=3))
    svc.extract_delete(actor=admin_user, extract=ex, confirm=True)
    archive = svc.archive_build(archive=ex.archives.get())
    assert archive.state == ExtractArchive.State.DELETED and not (extract_root / archive.key).exists()
    assert svc.extract_run(ex.job_id) is None or Job.objects.get(pk=ex.job_id).state == Job.State.CANCELLED
    assert Extract.objects.get(pk=ex.pk).state == Extract.State.EXPIRED


@pytest.mark.django_db
def test_an_ended_extract_with_an_archive_left_is_swept_and_reached_by_a_takedown(store, admin_user, extract_root):
    """An extract reading 'expired' with an archive still on storage (a delete that failed part-way)
    was skipped by the beat for ever, and a takedown of a file in it rebuilt nothing."""
    src, a = store
    ex = build(admin_user, [upload(admin_user, src, ["IMG_0001.jpg"])])
    archive = ex.archives.get()
    Extract.objects.filter(pk=ex.pk).update(state=Extract.State.EXPIRED, expired_at=timezone.now())
    assert list(svc.live_archives_holding([a["plain"].pk])) == [archive]
    assert svc.extract_expire_due(now=timezone.now() + timedelta(days=400)) == {"expired": 1, "failed": 0}
    archive.refresh_from_db()
    assert archive.state == ExtractArchive.State.DELETED and not (extract_root / archive.key).exists()
    assert not svc.live_archives_holding([a["plain"].pk]).exists()
    assert svc.extract_expire_due(now=timezone.now() + timedelta(days=400)) == {"expired": 0, "failed": 0}


@pytest.mark.django_db
def test_the_extract_form_sent_twice_queues_one_extract_and_says_so(store, admin_user, client, extract_root,
                                                                    django_user_model):
    """The form had no key of its own: sent twice it queued extracts #2 and #3; a raw key field was
    stored as typed (300 characters: a 500 on PostgreSQL), was nobody's in particular, and a key
    reused with another title returned the old extract saying 'queued'."""
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"])
    client.force_login(admin_user)
    page = client.get("/extracts/").content.decode()
    key = re.search(r'<input type="hidden" name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    assert key not in client.get("/extracts/").content.decode()  # one key per form shown
    form = {"title": "album covers", "namelists": [nl.pk], "location": "default", "content": "original",
            "expires_on": (timezone.now() + timedelta(days=10)).date().isoformat(), "idempotency_key": key}
    first = client.post("/extracts/", form)
    ex = Extract.objects.get()
    assert first.status_code == 302 and ex.idempotency_key != key  # stored as a digest bound to the user
    again = client.post("/extracts/", form, follow=True)
    assert Extract.objects.count() == 1 and again.redirect_chain[-1][0] == f"/extracts/{ex.pk}/"
    assert f"already queued as extract #{ex.pk}" in again.content.decode()
    other = client.post("/extracts/", {**form, "title": "something else"})
    text = other.content.decode()
    assert other.status_code == 200 and Extract.objects.count() == 1
    assert f"already used for extract #{ex.pk} (album covers), which has another title: nothing new was queued" in text
    assert "reload the page for a new form" in text
    for bad in ("k" * 300, "two words", "caf\u00e9"):
        r = client.post("/extracts/", {**form, "idempotency_key": bad})
        assert r.status_code == 200 and "this form&#x27;s key is not valid" in r.content.decode(), bad
    assert Extract.objects.count() == 1
    colleague = django_user_model.objects.create_user("colleague", password="x")
    colleague.groups.set(admin_user.groups.all())
    colleague.is_superuser = admin_user.is_superuser
    colleague.save()
    client.force_login(colleague)
    assert client.post("/extracts/", form).status_code == 302  # the same key, another person: their own extract
    assert Extract.objects.count() == 2


@pytest.mark.django_db
def test_the_same_request_sent_twice_at_once_queues_one_extract_not_an_error(store, admin_user, extract_root,
                                                                            monkeypatch):
    """Two sends of one form (or one API key) at the same moment: both found no extract with the
    key, and the second one's insert hit the unique key and was a 500. Now it gets the first's."""
    src, _a = store
    nl = upload(admin_user, src, ["IMG_0001.jpg"])
    real = svc._extract_record
    first = {}

    def the_other_send_wins(**kw):
        first["extract"] = real(**kw)  # committed by the other request just before this one's insert
        return real(**kw)

    monkeypatch.setattr(svc, "_extract_record", the_other_send_wins)
    ex = svc.extract_create(actor=admin_user, namelists=[nl], title="twice", location="default",
                            expires_at=timezone.now() + timedelta(days=3), idempotency_key="k" * 64)
    assert ex.pk == first["extract"].pk and Extract.objects.count() == 1 and Job.objects.filter(kind=Job.Kind.EXTRACT).count() == 1

"""API: sources and name lists."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewapp import models as m
from tests.factories import AssetFactory, SourceFactory

pytestmark = pytest.mark.django_db


def test_admin_adds_a_local_source_curator_reads_it(admin_api, curator_api, local_root):
    (local_root / "scans").mkdir()
    r = admin_api.post("/api/v1/sources/", {"name": "scans", "kind": "local", "role": "cleanup",
                                            "root": str(local_root / "scans")}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["location"] == str((local_root / "scans").resolve()) and body["created_by"] == "admin1"
    assert curator_api.get(f"/api/v1/sources/{body['id']}/").json()["name"] == "scans"
    assert [s["name"] for s in curator_api.get("/api/v1/sources/?role=cleanup").json()["results"]] == ["scans"]
    r = curator_api.post("/api/v1/sources/", {"name": "x", "kind": "local", "role": "cleanup",
                                              "root": str(local_root)}, format="json")
    assert r.status_code == 403


def test_source_errors_say_what_is_wrong(admin_api, local_root, tmp_path):
    (local_root / "a" / "b").mkdir(parents=True)
    (local_root / "c").mkdir()
    ok = admin_api.post("/api/v1/sources/", {"name": "a", "kind": "local", "role": "canonical",
                                             "root": str(local_root / "a")}, format="json")
    assert ok.status_code == 201
    cases = [
        ({"name": "a", "kind": "local", "role": "cleanup", "root": str(local_root / "a" / "b")}, "name"),
        ({"name": "A", "kind": "local", "role": "cleanup", "root": str(local_root / "c")}, "name"),   # any case
        ({"name": "inner", "kind": "local", "role": "cleanup", "root": str(local_root / "a" / "b")}, "non_field_errors"),
        ({"name": "outside", "kind": "local", "role": "cleanup", "root": str(tmp_path)}, "root"),
        ({"name": "s3x", "kind": "s3", "role": "cleanup", "storage_profile": "nope", "bucket": "b-1"}, "storage_profile"),
        ({"name": "bad name!", "kind": "local", "role": "cleanup"}, "name"),
        ({"name": "k", "kind": "ftp", "role": "cleanup"}, "kind"),
    ]
    for body, field in cases:
        r = admin_api.post("/api/v1/sources/", body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert field in r.json()["errors"], (body, r.json())
        assert r.json()["detail"]
    assert m.Source.objects.count() == 1


def test_source_create_retry_creates_one(admin_api, local_root):
    (local_root / "s").mkdir()
    body = {"name": "s", "kind": "local", "role": "cleanup", "root": str(local_root / "s")}
    r1 = admin_api.post("/api/v1/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY="src-1")
    r2 = admin_api.post("/api/v1/sources/", body, format="json", HTTP_IDEMPOTENCY_KEY="src-1")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert m.Source.objects.count() == 1
    # without the key the retry is refused by the overlap/name rules, not duplicated
    assert admin_api.post("/api/v1/sources/", body, format="json").status_code == 400


def _upload(api, source, text, name="box.txt", key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post("/api/v1/namelists/", {"source": source.pk, "title": "Box 12",
                                            "file": SimpleUploadedFile(name, text.encode(), "text/plain")},
                    format="multipart", **extra)


def test_namelist_upload_answers_202_with_the_job_that_resolves_it_then_counts_and_misses(
        admin_api, curator_api, local_root, django_capture_on_commit_callbacks):
    # the upload's lines are resolved by a job, as a large export is written by one: 202 with the job
    # and where to poll it, and the list's counts once it is done
    source = SourceFactory()
    for key in ("box12/C0001.jpg", "box12/C0002.tif", "other/C0002.tif"):
        AssetFactory(source=source, key=key)
    with django_capture_on_commit_callbacks() as queued:
        r = _upload(admin_api, source, "C0001.jpg\nC0002.tif\n=missing.tif\n")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["kind"] == "namelist" and job["state"] == "queued" and job["requested"] == 3
    assert r["Location"] == f"/api/v1/jobs/{job['id']}/"
    nl = curator_api.get(f"/api/v1/namelists/{job['namelist']}/").json()
    assert nl["resolved_at"] is None and nl["found"] == 0
    for callback in queued:
        callback()
    assert curator_api.get(r["Location"]).json()["state"] == "done"
    nl = curator_api.get(f"/api/v1/namelists/{job['namelist']}/").json()
    assert (nl["requested"], nl["found"], nl["not_found"], nl["ambiguous"]) == (3, 1, 1, 1) and nl["resolved_at"]
    r = curator_api.get(f"/api/v1/namelists/{nl['id']}/misses/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["line", "name", "status", "matches"]
    assert sorted((row[1], row[2]) for row in rows[1:]) == [("'=missing.tif", "not_found"), ("C0002.tif", "ambiguous")]


def test_namelist_upload_errors(admin_api, curator_api, local_root):
    source = SourceFactory()
    r = _upload(admin_api, source, "")
    assert r.status_code == 400 and r.json()["detail"]
    r = admin_api.post("/api/v1/namelists/", {"source": source.pk, "title": "t"}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()["errors"]
    r = admin_api.post("/api/v1/namelists/", {"source": source.pk, "title": "t"}, format="json")
    assert r.status_code == 415
    assert _upload(curator_api, source, "C0001\n").status_code == 403
    assert curator_api.get("/api/v1/namelists/999/misses/").status_code == 404
    assert m.NameList.objects.count() == 0


def test_namelist_upload_retry_uploads_once(admin_api, local_root):
    source = SourceFactory()
    AssetFactory(source=source, key="C0001.jpg")
    r1 = _upload(admin_api, source, "C0001.jpg\n", key="nl-1")
    r2 = _upload(admin_api, source, "C0001.jpg\n", key="nl-1")
    assert r1.status_code == r2.status_code == 202 and r1.json()["id"] == r2.json()["id"]
    # the same key with another file is a different request
    assert _upload(admin_api, source, "C0002.jpg\n", key="nl-1").status_code == 422
    assert m.NameList.objects.count() == 1

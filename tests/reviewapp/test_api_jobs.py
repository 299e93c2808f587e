"""API: jobs — start inventory / restore estimate / analysis, poll progress, pause / resume /
cancel — on a local source holding real encoded images."""
import pytest

from reviewapp import models as m
from tests.factories import SourceFactory
from tests.images import photo, save

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo_source(local_root):
    root = local_root / "cleanup"
    for i, name in enumerate(["coffee", "chelsea", "rocket"]):
        save(photo(name, size=(120, 90)), root / f"C000{i}.jpg")
    return SourceFactory(name="cleanup", root=str(root.resolve()))


def test_inventory_runs_and_progress_reaches_100(admin_api, curator_api, photo_source,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_api.post("/api/v1/jobs/inventory/", {"source": photo_source.pk}, format="json")
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["kind"] == "inventory" and job["created_by"] == "admin1"
    progress = curator_api.get(f"/api/v1/jobs/{job['id']}/progress/").json()
    assert progress["percent"] == 100.0 and progress["found"] == 3, progress
    detail = curator_api.get(f"/api/v1/jobs/{job['id']}/").json()
    assert detail["state"] == "done" and detail["progress"]["found"] == 3
    keys = [a["key"] for a in curator_api.get(f"/api/v1/assets/?source={photo_source.pk}").json()["results"]]
    assert sorted(keys) == ["C0000.jpg", "C0001.jpg", "C0002.jpg"]


def test_start_job_retry_creates_one_job(admin_api, photo_source):
    body = {"source": photo_source.pk}
    r1 = admin_api.post("/api/v1/jobs/analysis/", body, format="json", HTTP_IDEMPOTENCY_KEY="an-1")
    r2 = admin_api.post("/api/v1/jobs/analysis/", body, format="json", HTTP_IDEMPOTENCY_KEY="an-1")
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] == r2.json()["id"]
    assert m.Job.objects.filter(kind="analyse").count() == 1


def test_job_start_errors(admin_api, curator_api, photo_source):
    r = admin_api.post("/api/v1/jobs/analysis/", {}, format="json")
    assert r.status_code == 400 and "source" in r.json()["detail"]
    r = admin_api.post("/api/v1/jobs/inventory/", {"source": 424242}, format="json")
    assert r.status_code == 400 and "source" in r.json()["errors"]
    # a restore estimate only makes sense where objects can be archived
    r = admin_api.post("/api/v1/jobs/restore-estimate/", {"source": photo_source.pk}, format="json")
    assert r.status_code == 400 and "local source" in r.json()["detail"]
    assert curator_api.post("/api/v1/jobs/inventory/", {"source": photo_source.pk}, format="json").status_code == 403
    assert not m.Job.objects.exists()


def test_pause_resume_cancel(admin_api, curator_api, photo_source):
    job = m.Job.objects.create(kind=m.Job.Kind.ANALYSE, source=photo_source, requested=5)
    assert curator_api.post(f"/api/v1/jobs/{job.pk}/pause/").status_code == 403
    r = admin_api.post(f"/api/v1/jobs/{job.pk}/pause/")
    assert r.status_code == 200 and r.json()["state"] == "paused"
    r = admin_api.post(f"/api/v1/jobs/{job.pk}/pause/")
    assert r.status_code == 400 and "paused" in r.json()["detail"]
    r = admin_api.post(f"/api/v1/jobs/{job.pk}/resume/")
    assert r.status_code == 200 and r.json()["state"] == "queued"
    r = admin_api.post(f"/api/v1/jobs/{job.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = admin_api.post(f"/api/v1/jobs/{job.pk}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert again.status_code == 200 and again.json() == r.json()
    assert m.JobEvent.objects.filter(job=job, event="cancelled").count() == 1
    assert admin_api.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 400
    assert admin_api.post("/api/v1/jobs/99999/cancel/").status_code == 404


def test_restore_confirm_only_for_a_waiting_restore(admin_api, photo_source):
    job = m.Job.objects.create(kind=m.Job.Kind.INVENTORY, source=photo_source)
    r = admin_api.post(f"/api/v1/jobs/{job.pk}/restore-confirm/")
    assert r.status_code == 400 and "restore" in r.json()["detail"]


def test_job_list_filters(curator_api, photo_source):
    a = m.Job.objects.create(kind=m.Job.Kind.ANALYSE, source=photo_source, state=m.Job.State.RUNNING)
    m.Job.objects.create(kind=m.Job.Kind.INVENTORY, source=photo_source, state=m.Job.State.DONE)
    r = curator_api.get("/api/v1/jobs/", {"kind": "analyse", "state": "running"})
    assert [j["id"] for j in r.json()["results"]] == [a.pk]
    assert curator_api.get("/api/v1/jobs/", {"state": "sleeping"}).status_code == 400

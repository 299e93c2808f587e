"""Large exports run as a job, not inside the request: the page and the API hand back a job, the
worker writes the file (here eagerly, on commit) and the job offers it for download, admin-only."""
import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reviewapp.models import Job
from reviewapp.services.errorlog import error_log_add
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory, UserFactory


@pytest.fixture
def logged(db, settings, local_root):  # local_root: renditions (and so export files) in a temp dir
    settings.EXPORT_INLINE_ROWS = 2
    admin = UserFactory(role="admin", username="boss")
    cur = UserFactory(role="curator", username="cur")
    kept = SourceFactory(name="kept-src")
    for i in range(3):
        error_log_add(actor=cur, asset=AssetFactory(source=kept, key=f"box/C000{i}.tif"), category="wrong_id",
                      note=f"=note {i}")
    withdrawn = error_log_add(actor=cur, asset=ReviewItemFactory().asset, category="other")
    withdrawn.withdrawn = True
    withdrawn.save(update_fields=["withdrawn"])
    error_log_add(actor=cur, asset=AssetFactory(key="elsewhere/C0009.tif"), category="other")
    return admin, cur, kept


def test_a_large_xlsx_export_from_the_page_becomes_a_job_with_a_download_link(
        client, logged, django_capture_on_commit_callbacks):
    admin, cur, kept = logged
    client.force_login(admin)
    # a GET changes nothing: it offers the job as a form, whose POST starts it
    page = client.get(reverse("errorlog-list"), {"format": "xlsx", "source": kept.pk})
    assert page.status_code == 200 and 'data-testid="export-start"' in page.content.decode()
    assert not Job.objects.filter(kind=Job.Kind.EXPORT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("errorlog-list") + f"?format=xlsx&source={kept.pk}")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert r.status_code == 302 and r["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.state == Job.State.DONE and (job.requested, job.found, job.processed) == (3, 3, 3)
    assert job.params["filters"]["source"] == kept.pk
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert reverse("job-download", args=[job.pk]) in page and job.params["filename"] in page
    download = client.get(reverse("job-download", args=[job.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    ws = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(ws.values)
    assert [row[4] for row in rows[1:]] == ["box/C0000.tif", "box/C0001.tif", "box/C0002.tif"]
    assert rows[1][7] == "'=note 0"  # the same neutralised cells as an inline export
    assert ws.freeze_panes == "A2"
    client.force_login(cur)  # the file stays admin-only
    assert client.get(reverse("job-download", args=[job.pk])).status_code == 403


def test_a_small_export_is_still_answered_straight_away(client, logged):
    admin, _, kept = logged
    client.force_login(admin)
    r = client.get(reverse("errorlog-list"), {"format": "csv", "category": "other"})
    assert r.status_code == 200 and r.streaming  # 1 row (the withdrawn one is left out): no job
    assert not Job.objects.filter(kind=Job.Kind.EXPORT).exists()


def test_the_api_answers_202_with_the_job_and_serves_its_file(logged, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    admin, cur, _ = logged
    api = APIClient()
    api.force_authenticate(admin)
    r = api.get("/api/v1/error-log/export-csv/")   # a GET changes nothing: it says how to queue the job
    assert r.status_code == 409 and "POST to this URL" in r.json()["detail"]
    assert not Job.objects.filter(kind=Job.Kind.EXPORT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/error-log/export-csv/")
    assert r.status_code == 202 and r["Location"] == f"/api/v1/jobs/{r.json()['id']}/"
    job = Job.objects.get(pk=r.json()["id"])
    assert job.state == Job.State.DONE and job.requested == 4  # withdrawn left out, as inline
    file = api.get(f"/api/v1/jobs/{job.pk}/download/")
    assert file.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(file.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 4 and all(row["withdrawn"] == "" for row in rows)
    api.force_authenticate(cur)
    assert api.get(f"/api/v1/jobs/{job.pk}/download/").status_code == 403


def test_a_job_that_is_not_a_finished_export_has_nothing_to_download(client, logged):
    admin, _, _ = logged
    client.force_login(admin)
    other = Job.objects.create(kind=Job.Kind.INVENTORY, state=Job.State.DONE)
    assert client.get(reverse("job-download", args=[other.pk])).status_code == 404


def test_export_files_expire_after_the_keep_time_and_the_job_says_so(client, logged, settings,
                                                                      django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.core.files.storage import storages
    from django.utils import timezone

    from reviewapp.services.export_jobs import export_files_expire

    admin, _, _ = logged
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("errorlog-list") + "?format=csv")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    name = job.params["file"]
    assert storages["renditions"].exists(name)
    settings.EXPORT_KEEP_HOURS = 72
    assert export_files_expire(now=timezone.now() + timedelta(hours=71)) == 0
    assert export_files_expire(now=timezone.now() + timedelta(hours=73)) == 1
    job.refresh_from_db()
    assert not storages["renditions"].exists(name) and job.params["expired"] is True
    assert client.get(reverse("job-download", args=[job.pk])).status_code == 404
    assert export_files_expire(now=timezone.now() + timedelta(hours=100)) == 0  # nothing twice


def test_an_export_that_fails_recording_its_file_ends_failed_with_the_reason(client, logged, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    # SQLite's "database is locked" while the job recorded its file left the job "running" for ever
    from django.core.files.storage import storages
    from django.db import OperationalError

    import reviewapp.services.export_jobs as export_jobs

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(export_jobs, "job_set_params", locked)
    admin, _, _ = logged
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("errorlog-list") + "?format=csv")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert r.status_code == 302 and r["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == "export failed: database is locked"
    assert not storages["renditions"].listdir(f"exports/job-{job.pk}")[1]   # no file left that no job offers
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "export failed: database is locked" in page


def test_an_export_whose_failure_cannot_be_recorded_runs_again(client, logged, monkeypatch,
                                                               django_capture_on_commit_callbacks):
    # the export and then job_fail itself met "database is locked": the exception escaped the task and
    # the job stayed "running"; the task now runs it again and the second run writes the file
    from django.db import OperationalError

    import reviewapp.services.export_jobs as export_jobs

    def once(real):
        calls = []

        def locked_once(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise OperationalError("database is locked")
            return real(*args, **kwargs)
        return locked_once

    monkeypatch.setattr(export_jobs, "error_log_rows", once(export_jobs.error_log_rows))
    monkeypatch.setattr(export_jobs, "job_fail", once(export_jobs.job_fail))
    admin, _, _ = logged
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("errorlog-list") + "?format=csv")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert job.state == Job.State.DONE and job.processed == job.requested == 4 and job.params["file"]
    assert client.get(reverse("job-download", args=[job.pk])).status_code == 200


@pytest.mark.parametrize("stop", ["cancel", "pause"])
def test_an_export_cancelled_or_paused_while_writing_stops_and_stores_no_file(
        client, logged, monkeypatch, caplog, django_capture_on_commit_callbacks, stop):
    """It wrote on to the last row, stored the file and recorded it on a cancelled job, which
    offers no download and which the expiry never looks at: the file stayed for ever. Now it stops
    at the next count, stores nothing and logs no failure; a paused one is written again on resume."""
    from django.core.files.storage import storages

    import reviewapp.services.export_jobs as export_jobs
    from reviewapp.services import jobs as job_svc

    admin, _, _ = logged
    monkeypatch.setattr(export_jobs, "COUNT_EVERY", 1)
    real = export_jobs.error_log_rows

    def stopped_after_the_first_row(qs, **kwargs):
        for n, row in enumerate(real(qs, **kwargs)):
            if n == 1:
                job = Job.objects.get(kind=Job.Kind.EXPORT)
                (job_svc.job_cancel if stop == "cancel" else job_svc.job_pause)(actor=admin, job=job)
            yield row

    monkeypatch.setattr(export_jobs, "error_log_rows", stopped_after_the_first_row)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("errorlog-list") + "?format=xlsx")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert job.state == (Job.State.CANCELLED if stop == "cancel" else Job.State.PAUSED) and job.error == ""
    assert job.processed < 4 and not job.params.get("file")
    exports = storages["renditions"]
    assert not exports.exists(f"exports/job-{job.pk}") or not exports.listdir(f"exports/job-{job.pk}")[1]
    assert not [r for r in caplog.records if r.name.startswith("reviewapp") and r.levelname in ("ERROR", "WARNING")]
    if stop == "pause":
        monkeypatch.setattr(export_jobs, "error_log_rows", real)
        with django_capture_on_commit_callbacks(execute=True):
            job_svc.job_resume(actor=admin, job=job)
        job.refresh_from_db()
        assert job.state == Job.State.DONE and client.get(reverse("job-download", args=[job.pk])).status_code == 200


def test_a_large_export_counts_its_rows_once_to_say_how_many(client, logged):
    # the page and the API ran the COUNT over the error log twice: once to decide, once to say it
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    admin, _, _ = logged
    api = APIClient()
    api.force_authenticate(admin)
    with CaptureQueriesContext(connection) as queries:
        r = api.get("/api/v1/error-log/export-csv/")
    assert r.status_code == 409 and "holds 4 rows" in r.json()["detail"]
    assert sum("COUNT(" in q["sql"] for q in queries.captured_queries) == 1
    client.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("errorlog-list"), {"format": "csv"})
    assert 'data-testid="export-start"' in page.content.decode()
    assert sum("COUNT(" in q["sql"] for q in queries.captured_queries) == 2   # the offer's, and the list's pages


def test_an_export_job_counts_as_found_the_rows_it_wrote(client, logged, monkeypatch, django_capture_on_commit_callbacks):
    # Found was the COUNT taken before the rows were read, so a row logged in between was in the file
    # and in Processed but not in Found
    import reviewapp.services.export_jobs as export_jobs

    admin, cur, kept = logged
    real = export_jobs.error_log_rows

    def logged_meanwhile(qs, **kwargs):
        error_log_add(actor=cur, asset=AssetFactory(source=kept, key="box/C0003.tif"), category="wrong_id")
        yield from real(qs, **kwargs)

    monkeypatch.setattr(export_jobs, "error_log_rows", logged_meanwhile)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("errorlog-list") + "?format=csv")
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    rows = list(csv.DictReader(io.StringIO(b"".join(client.get(reverse("job-download", args=[job.pk])).streaming_content)
                                           .decode("utf-8-sig"))))
    assert job.state == Job.State.DONE and len(rows) == job.found == job.processed == 5 and job.requested == 4

"""API: error log (list, CSV/XLSX export), reingest items and the "ingested" report, deletion plans
(dry run, confirm, items, audit) executed on real local files, and legal takedown."""
import csv
import io

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from reviewapp import models as m
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory
from tests.images import photo, save

pytestmark = pytest.mark.django_db


def _inventory(api, source, capture):
    with capture(execute=True):
        r = api.post("/api/v1/jobs/inventory/", {"source": source.pk}, format="json")
    assert r.status_code == 201, r.content


@pytest.fixture
def pair(local_root, admin_api, django_capture_on_commit_callbacks):
    """The same photo in a canonical and a clean-up directory, inventoried through the API, with
    the candidate and review item analysis would have made."""
    img = photo("chelsea", size=(160, 120))
    save(img, local_root / "canon" / "C0001.jpg")
    save(img, local_root / "cleanup" / "C0001.jpg")
    canon = SourceFactory(name="canon", role="canonical", root=str((local_root / "canon").resolve()))
    cleanup = SourceFactory(name="cleanup", role="cleanup", root=str((local_root / "cleanup").resolve()))
    _inventory(admin_api, canon, django_capture_on_commit_callbacks)
    _inventory(admin_api, cleanup, django_capture_on_commit_callbacks)
    kept, gone = canon.assets.get(), cleanup.assets.get()
    m.Asset.objects.filter(pk__in=[kept.pk, gone.pk]).update(
        state="fingerprinted", decode_status="ok", width=160, height=120, pages=1, bit_depth=8)
    from reviewapp.storage import sha256_file

    for a in (kept, gone):  # the sha256 analysis records (the executor recomputes it before deleting)
        m.Asset.objects.filter(pk=a.pk).update(checksum=sha256_file(local_root / a.source.name / a.key))
    cand = CandidateFactory(cleanup_asset=gone, match_asset=kept, verdict="identical", diff_score=0.0,
                            local_score=0.0, cleanup_etag=gone.etag, match_etag=kept.etag)
    return ReviewItemFactory(best_candidate=cand), local_root


def test_error_log_list_and_exports(curator_api, admin_api, curator):
    asset = AssetFactory(key="box/C0009.tif")
    m.ErrorLogEntry.objects.create(asset=asset, category="wrong_id", note="=HYPERLINK(\"x\")", created_by=curator)
    m.ErrorLogEntry.objects.create(asset=asset, category="other", note="withdrawn one", created_by=curator,
                                   withdrawn=True)
    r = curator_api.get("/api/v1/error-log/", {"category": "wrong_id"})
    assert [e["asset"]["key"] for e in r.json()["results"]] == ["box/C0009.tif"]
    assert curator_api.get("/api/v1/error-log/", {"category": "typo"}).status_code == 400
    assert curator_api.get("/api/v1/error-log/export-csv/").status_code == 403

    r = admin_api.get("/api/v1/error-log/export-csv/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["id", "logged_at", "category"]
    assert len(rows) == 2  # the withdrawn entry is left out
    row = dict(zip(header, rows[1]))
    assert row["key"] == "box/C0009.tif" and row["note"].startswith("'=")  # no formula injection
    assert row["link"].startswith("http://testserver/")

    r = admin_api.get("/api/v1/error-log/export-xlsx/", {"withdrawn": "true"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    values = [list(row) for row in wb.active.iter_rows(values_only=True)]
    assert values[0][0] == "id" and len(values) == 2
    assert dict(zip(values[0], values[1]))["note"] == "withdrawn one"


def test_reingest_list_and_ingested_report(curator_api, admin_api, curator, local_root):
    save(photo("rocket", size=(80, 60)), local_root / "canon" / "x" / "C0010.tif")
    canon = SourceFactory(name="canon", role="canonical", root=str((local_root / "canon").resolve()))
    SourceFactory(name="canon2", role="canonical")
    asset = AssetFactory(key="C0010.tif")
    item = m.ReingestItem.objects.create(asset=asset, reason="more pixels", created_by=curator,
                                         state=m.ReingestItem.State.SUBMITTED, checksum="ab" * 32)  # as the copy leaves it
    r = curator_api.get("/api/v1/reingest/", {"state": "submitted"})
    assert [x["id"] for x in r.json()["results"]] == [item.pk]
    body = {"canonical_key": "x/C0010.tif", "source": canon.pk}
    assert curator_api.post(f"/api/v1/reingest/{item.pk}/ingested/", body, format="json").status_code == 403
    r = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", {"source": canon.pk}, format="json")
    assert r.status_code == 400 and "canonical_key" in r.json()["errors"]
    r = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", {**body, "canonical_key": "../etc/passwd"},
                       format="json")
    assert r.status_code == 400 and "canonical_key" in r.json()["errors"]
    r = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", {**body, "canonical_key": "x/none.tif"},
                       format="json")
    assert r.status_code == 400 and "no object" in r.json()["detail"]
    r = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", body, format="json", HTTP_IDEMPOTENCY_KEY="ing-1")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "ingested" and r.json()["canonical_key"] == "x/C0010.tif"
    assert r.json()["canonical_asset"] == m.Asset.objects.get(source=canon, key="x/C0010.tif").pk
    again = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", body, format="json", HTTP_IDEMPOTENCY_KEY="ing-1")
    assert again.json() == r.json()
    assert m.ReingestEvent.objects.filter(item=item, to_state="ingested").count() == 1


def test_deletion_plan_dry_run_confirm_execute_audit(pair, curator_api, admin_api,
                                                     django_capture_on_commit_callbacks):
    item, root = pair
    d = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete"}, format="json")
    assert d.status_code == 201, d.content
    with django_capture_on_commit_callbacks() as queued:
        r = admin_api.post("/api/v1/deletion-plans/", {"decisions": [d.json()["id"]]}, format="json",
                           HTTP_IDEMPOTENCY_KEY="plan-1")
    assert r.status_code == 201, r.content
    plan = r.json()
    assert plan["state"] == "draft" and plan["item_count"] == 1 and plan["bytes_total"] > 0
    # the request only queued the dry run; confirm waits for it
    assert plan["dry_run"] == {"checked": 0, "total": 1, "percent": 0, "done": False} and len(queued) == 1
    r = admin_api.post(f"/api/v1/deletion-plans/{plan['id']}/confirm/")
    assert r.status_code == 400 and "still re-checking" in r.json()["detail"]
    queued[0]()  # the worker
    assert admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/").json()["dry_run"]["done"] is True
    assert (root / "cleanup" / "C0001.jpg").exists()  # a dry run touches nothing
    retry = admin_api.post("/api/v1/deletion-plans/", {"decisions": [d.json()["id"]]}, format="json",
                           HTTP_IDEMPOTENCY_KEY="plan-1")
    assert retry.json()["id"] == plan["id"] and m.DeletionPlan.objects.count() == 1
    items = admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/items/").json()["results"]
    assert [(i["asset"]["key"], i["kept_asset"]["source_name"], i["state"], i["dry_run_outcome"]) for i in items] == [
        ("C0001.jpg", "canon", "planned", "would run")]

    with django_capture_on_commit_callbacks(execute=True):
        r = admin_api.post(f"/api/v1/deletion-plans/{plan['id']}/confirm/")
    assert r.status_code == 200, r.content
    assert r.json()["state"] in ("confirmed", "executing", "done")
    assert not (root / "cleanup" / "C0001.jpg").exists()
    assert (root / "canon" / "C0001.jpg").exists()  # the kept copy stays
    items = admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/items/").json()["results"]
    assert items[0]["state"] == "quarantined"
    audit = admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/audit/").json()["results"]
    assert "quarantine" in {a["action"] for a in audit}
    assert all(a["key"] == "C0001.jpg" and a["kept_key"] == "C0001.jpg" for a in audit)
    # restore puts it back
    r = admin_api.post(f"/api/v1/deletion-items/{items[0]['id']}/restore/")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "restored" and (root / "cleanup" / "C0001.jpg").exists()


def test_run_the_dry_run_again_through_the_api_rechecks_every_planned_item(pair, curator_api, admin_api,
                                                                          django_capture_on_commit_callbacks):
    """POST .../recheck/ (the page's "Run the dry run again"): the items' outcomes are cleared and a
    worker checks them again, here after the object to delete vanished; curators may not."""
    item, root = pair
    d = curator_api.post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        plan = admin_api.post("/api/v1/deletion-plans/", {"decisions": [d.json()["id"]]}, format="json").json()
    items = admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/items/").json()["results"]
    assert [i["dry_run_outcome"] for i in items] == ["would run"]
    (root / "cleanup" / "C0001.jpg").unlink()
    assert curator_api.post(f"/api/v1/deletion-plans/{plan['id']}/recheck/").status_code == 403
    with django_capture_on_commit_callbacks() as queued:
        r = admin_api.post(f"/api/v1/deletion-plans/{plan['id']}/recheck/")
    assert r.status_code == 200, r.content
    assert r.json()["dry_run"]["done"] is False and len(queued) == 1
    queued[0]()  # the worker
    items = admin_api.get(f"/api/v1/deletion-plans/{plan['id']}/items/").json()["results"]
    assert items[0]["state"] == "planned" and items[0]["dry_run_outcome"].startswith("would abort")
    assert (root / "canon" / "C0001.jpg").exists()


def test_deletion_plan_errors(admin_api, curator_api):
    assert admin_api.post("/api/v1/deletion-plans/", {}, format="json").status_code == 400
    r = admin_api.post("/api/v1/deletion-plans/", {"decisions": [12345]}, format="json")
    assert r.status_code == 400 and "decisions" in r.json()["errors"]
    source = SourceFactory()
    r = admin_api.post("/api/v1/deletion-plans/", {"source": source.pk}, format="json")
    assert r.status_code == 400 and "no approved deletions" in r.json()["detail"]
    assert curator_api.get("/api/v1/deletion-plans/").status_code == 403
    assert admin_api.post("/api/v1/deletion-plans/777/confirm/").status_code == 404
    assert not m.DeletionPlan.objects.exists()


def test_takedown_removes_canonical_at_once_with_audit(pair, admin_api, curator_api):
    item, root = pair
    kept = item.best_candidate.match_asset
    body = {"assets": [kept.pk], "reason": "court order 2026/17: remove at once"}
    assert curator_api.post("/api/v1/takedown/", body, format="json").status_code == 403
    r = admin_api.post("/api/v1/takedown/", {**body, "reason": "because"}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    assert (root / "canon" / "C0001.jpg").exists()
    r = admin_api.post("/api/v1/takedown/", body, format="json", HTTP_IDEMPOTENCY_KEY="td-1")
    assert r.status_code == 201, r.content
    assert [{k: v for k, v in x.items() if k != "steps"} for x in r.json()["results"]] == [
        {"asset": kept.pk, "ok": True, "message": "deleted"}]
    # one audit row per step: the object, then its renditions (services/takedown.py)
    assert [(a["action"], a["key"], a["reason"], a["detail"]["step"]) for a in r.json()["audit"]] == [
        ("takedown", "C0001.jpg", body["reason"], "object"), ("takedown", "C0001.jpg", body["reason"], "renditions")]
    assert not (root / "canon" / "C0001.jpg").exists()
    again = admin_api.post("/api/v1/takedown/", body, format="json", HTTP_IDEMPOTENCY_KEY="td-1")
    assert again.json() == r.json()
    assert m.AuditEntry.objects.filter(action="takedown").count() == 2
    r = admin_api.get("/api/v1/audit/", {"action": "takedown"})
    assert len(r.json()["results"]) == 2


def test_takedown_retry_while_running_is_409_and_failure_allows_retry(pair, admin_api, monkeypatch):
    """Storage actions are not held in an outer transaction (the audit row commits before the
    object goes), so a retry that arrives while the first is still running is told to wait."""
    from reviewapp.api import execution as execution_api

    item, root = pair
    kept = item.best_candidate.match_asset
    body = {"assets": [kept.pk], "reason": "court order 2026/18: remove at once"}
    real = execution_api.takedown_execute
    seen = {}

    def slow_takedown(**kwargs):
        seen["retry"] = admin_api.post("/api/v1/takedown/", body, format="json", HTTP_IDEMPOTENCY_KEY="td-2")
        raise ValidationError("storage said no")

    monkeypatch.setattr(execution_api, "takedown_execute", slow_takedown)
    r = admin_api.post("/api/v1/takedown/", body, format="json", HTTP_IDEMPOTENCY_KEY="td-2")
    assert seen["retry"].status_code == 409 and "still running" in seen["retry"].json()["detail"]
    assert r.status_code == 400 and r.json()["detail"] == "storage said no"
    assert not m.IdempotencyRecord.objects.filter(key="td-2").exists()  # the failure is not replayed
    monkeypatch.setattr(execution_api, "takedown_execute", real)
    r = admin_api.post("/api/v1/takedown/", body, format="json", HTTP_IDEMPOTENCY_KEY="td-2")
    assert r.status_code == 201 and r.json()["results"][0]["ok"] is True
    assert not (root / "canon" / "C0001.jpg").exists()


def test_reporting_ingested_under_a_name_too_long_for_the_filesystem_is_refused_with_words(
        admin_api, admin_client_doppel, curator, local_root):
    (local_root / "canon").mkdir(exist_ok=True)
    canon = SourceFactory(name="canon", role="canonical", root=str((local_root / "canon").resolve()))
    item = m.ReingestItem.objects.create(asset=AssetFactory(key="C0011.tif"), reason="more pixels", created_by=curator,
                                         state=m.ReingestItem.State.SUBMITTED, checksum="ab" * 32)
    body = {"canonical_key": "a" * 300, "source": canon.pk}
    r = admin_api.post(f"/api/v1/reingest/{item.pk}/ingested/", body, format="json")
    assert r.status_code == 400 and "not a name this filesystem can hold" in str(r.json())
    r = admin_client_doppel.post(f"/reingest/{item.pk}/ingested/", body, follow=True)
    assert r.status_code == 200 and "not a name this filesystem can hold" in r.content.decode()
    item.refresh_from_db()
    assert item.state == m.ReingestItem.State.SUBMITTED

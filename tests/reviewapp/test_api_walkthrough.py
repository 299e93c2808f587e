"""The README's automation example, run for real: plain HTTP (requests) against a live server,
real images in two local folders, the pipeline running eagerly behind the API."""
import io
import time
import uuid

import pytest
import requests

from tests.factories import UserFactory
from tests.images import photo, save, truncate

pytestmark = pytest.mark.django_db(transaction=True)


def automation_example(base_url, token, canonical_dir, cleanup_dir, out_csv):
    """Kept in step with README.md "REST API → automation example"."""
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"

    def call(method, path, key=None, **kw):
        headers = {"Idempotency-Key": key} if key else {}  # safe to retry with the same key
        r = api.request(method, f"{base_url}/api/v1/{path}", headers=headers, timeout=60, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.json()['detail']}")
        return r

    def wait(job):
        while True:
            p = call("GET", f"jobs/{job['id']}/progress/").json()
            state = call("GET", f"jobs/{job['id']}/").json()["state"]
            if state in ("done", "failed", "cancelled"):
                return state, p
            time.sleep(1)  # p["percent"], p["eta_seconds"] for a progress bar

    # 1. add the two sources (admin) and inventory them
    canon = call("POST", "sources/", key="src-canon", json={
        "name": "canon", "kind": "local", "role": "canonical", "root": str(canonical_dir)}).json()
    cleanup = call("POST", "sources/", key="src-cleanup", json={
        "name": "cleanup", "kind": "local", "role": "cleanup", "root": str(cleanup_dir)}).json()
    for source in (canon, cleanup):
        wait(call("POST", "jobs/inventory/", key=f"inv-{source['id']}", json={"source": source["id"]}).json())

    # 2. start the analysis of the clean-up source and poll its progress
    job = call("POST", "jobs/analysis/", key="analyse-cleanup-1", json={"source": cleanup["id"]}).json()
    state, progress = wait(job)

    # 3. page through the duplicates (cursor pagination: follow "next")
    duplicates, url = [], f"candidates/?source={cleanup['id']}&verdict=duplicate&page_size=100"
    while url:
        page = call("GET", url).json()
        duplicates += page["results"]
        url = page["next"] and page["next"].split("/api/v1/", 1)[1]

    # 4. record decisions: claim files one by one (a lease), approve sure duplicates, log the rest
    decided = []
    while True:
        r = call("POST", "review/next/", json={"source": cleanup["id"]})
        if r.status_code == 204:  # queue empty
            break
        item = r.json()
        best = next((c for c in item["candidates"] if c["id"] == item["best_candidate"]), None)
        if best and best["verdict"] in ("identical", "duplicate") and best["safe_to_delete"]:
            body = {"item": item["id"], "action": "approve_delete"}
        else:
            body = {"item": item["id"], "action": "log_error", "error_category": "other",
                    "note": f"verdict {item['verdict']}"}
        decided.append(call("POST", "decisions/", key=str(uuid.uuid4()), json=body).json())

    # 5. export the error log (admin) as CSV (or export-xlsx/)
    r = call("GET", "error-log/export-csv/", params={"source": cleanup["id"]})
    out_csv.write_bytes(r.content)
    return state, progress, duplicates, decided


def test_readme_automation_example(live_server, local_root, tmp_path, settings):
    settings.ALLOWED_HOSTS = ["*"]
    canonical_dir, cleanup_dir = local_root / "canonical", local_root / "cleanup"
    save(photo("astronaut", (300, 300)), canonical_dir / "C0001234.tif")
    save(photo("coffee", (300, 200)), canonical_dir / "C0002345.tif")
    save(photo("astronaut", (240, 240)), cleanup_dir / "C1234a.jpg")  # resized copy: duplicate
    truncate(save(photo("coffee", (300, 200)), cleanup_dir / "C2345.jpg"), 0.5)  # damaged copy
    save(photo("rocket", (300, 200)), cleanup_dir / "unique.jpg")  # no match
    admin = UserFactory(username="robot", role="admin")
    from django.core.management import call_command

    out_token = io.StringIO()
    call_command("doppel_token", admin.username, stdout=out_token, stderr=io.StringIO())  # as the README says
    token = out_token.getvalue().strip()
    out = tmp_path / "errors.csv"
    state, progress, duplicates, decided = automation_example(
        live_server.url, token, canonical_dir.resolve(), cleanup_dir.resolve(), out)

    assert state == "done" and progress["percent"] == 100.0
    assert [(d["cleanup"]["key"], d["match"]["key"]) for d in duplicates] == [("C1234a.jpg", "C0001234.tif")]
    actions = sorted(d["action"] for d in decided)
    assert actions == ["approve_delete", "log_error", "log_error"], decided
    text = out.read_text(encoding="utf-8-sig")
    assert "C2345.jpg" in text and "unique.jpg" in text and "C1234a.jpg" not in text

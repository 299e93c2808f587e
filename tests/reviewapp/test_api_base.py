"""What every API view shares: errors are JSON even on the CSV and XLSX download endpoints."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewapp.models import Extract

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", ["text/csv", "*/*", None])
def test_csv_endpoints_answer_errors_as_json(admin_api, curator_api, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    answers = [
        admin_api.get("/api/v1/namelists/999999/misses/", **headers),              # 404
        admin_api.get("/api/v1/extracts/999999/manifest-csv/", {"archive": 1}, **headers),  # 404
        curator_api.get("/api/v1/error-log/export-csv/", **headers),                # 403: admins only
    ]
    assert [r.status_code for r in answers] == [404, 404, 403]
    for r in answers:
        assert r["Content-Type"].startswith("application/json"), (r.request["PATH_INFO"], r["Content-Type"])
        assert r.json()["detail"]


@pytest.mark.parametrize("archive", ["²", "abc", "99999999999999999999999"])
def test_a_bad_archive_parameter_of_a_csv_download_is_a_json_400(admin_api, archive):
    extract = Extract.objects.create(title="t", location="here", expires_at=timezone.now() + timedelta(days=1))
    r = admin_api.get(f"/api/v1/extracts/{extract.pk}/manifest-csv/", {"archive": archive}, HTTP_ACCEPT="text/csv")
    assert r.status_code == 400 and r["Content-Type"].startswith("application/json")
    assert "archive" in r.json()["errors"]

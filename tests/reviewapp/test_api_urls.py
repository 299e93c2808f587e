"""The API answers JSON on every /api/ path: unknown routes, ids with a dot, a missing trailing
slash, other versions, with DEBUG on or off (Django's HTML 404 lists every URL with DEBUG=1)."""
import pytest

from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/", "/api/v1/", "/api/v1/nope/", "/api/v2/sources/", "/api/v1/sources/1.5/", "/api/v1/sources/1.json",
    "/api/v1/sources/abc/", "/api/v1/sources/1/nope/", "/api/v1/decisions/1.5/undo/", "/api/v1/review/%2e%2e/",
    "/api/v1/review/99999999999999999999/", "/api/v1/sources", "/api/v1/jobs/1/progress",
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_every_api_path_answers_json_for_every_method(admin_user, settings, debug):
    settings.DEBUG = debug
    api = api_client_for(admin_user)
    for path in PATHS:
        for method in ("get", "post", "put", "patch", "delete"):
            r = getattr(api, method)(path)
            assert r.status_code in (404, 405), (method, path, r.status_code)
            assert r["Content-Type"].startswith("application/json"), (method, path, r["Content-Type"])
            body = r.json()
            assert body["detail"] and "code" in body, (method, path, body)


def test_unknown_api_path_is_json_for_anonymous_callers_and_unsafe_methods_without_csrf(client, settings):
    settings.DEBUG = True
    r = client.post("/api/v1/does-not-exist/", data="{}", content_type="application/json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_missing_trailing_slash_says_so(admin_user):
    r = api_client_for(admin_user).get("/api/v1/sources")
    assert r.status_code == 404 and "/api/v1/sources/" in r.json()["detail"]

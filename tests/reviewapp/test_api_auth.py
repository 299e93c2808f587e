"""API authentication, roles, CSRF, rate limits, error shape and the schema/docs pages."""
import io
import json
import os
from datetime import timedelta
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import AssetFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_anonymous_gets_401_json():
    r = APIClient().get("/api/v1/assets/")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"
    assert r["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_bad_token_is_401():
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    r = api.get("/api/v1/assets/")
    assert r.status_code == 401
    assert "token" in r.json()["detail"].lower()


@pytest.mark.django_db
def test_token_acts_as_its_user(curator_api, curator):
    asset = AssetFactory()
    r = curator_api.get(f"/api/v1/assets/{asset.pk}/")
    assert r.status_code == 200
    assert r.json()["key"] == asset.key
    # the token made by the management command the README names works the same way
    out = io.StringIO()
    call_command("doppel_token", "curator1", stdout=out, stderr=io.StringIO())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert api.get(f"/api/v1/assets/{asset.pk}/").json()["key"] == asset.key


@pytest.mark.django_db
def test_user_without_role_is_403():
    nobody = UserFactory(username="norole")
    _, token = AuthToken.objects.create(user=nobody)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    r = api.get("/api/v1/assets/")
    assert r.status_code == 403
    assert "curator" in r.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", [
    ("post", "/api/v1/sources/"),
    ("post", "/api/v1/jobs/inventory/"),
    ("post", "/api/v1/jobs/analysis/"),
    ("get", "/api/v1/deletion-plans/"),
    ("post", "/api/v1/deletion-plans/"),
    ("post", "/api/v1/takedown/"),
    ("get", "/api/v1/error-log/export-csv/"),
    ("get", "/api/v1/error-log/export-xlsx/"),
    ("get", "/api/v1/audit/"),
])
def test_curator_is_403_on_admin_endpoints(curator_api, method, path):
    r = getattr(curator_api, method)(path, {}, format="json") if method == "post" else curator_api.get(path)
    assert r.status_code == 403, r.content
    assert r.json()["detail"] == "You need the admin role for this." or "admin" in r.json()["detail"]


@pytest.mark.django_db
def test_admin_passes_the_same_admin_check(admin_api):
    assert admin_api.get("/api/v1/deletion-plans/").status_code == 200
    assert admin_api.get("/api/v1/audit/").status_code == 200


@pytest.mark.django_db
def test_session_auth_needs_csrf_for_writes(curator, local_root):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(curator)
    assert api.get("/api/v1/review/").status_code == 200  # reads need no CSRF token
    r = api.post("/api/v1/review/next/", {}, format="json")
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]
    # with the CSRF cookie and header, as a browser page would send them
    page = api.get("/accounts/login/")
    csrf = page.cookies["csrftoken"].value
    r = api.post("/api/v1/review/next/", {}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 204  # nothing in the queue


@pytest.mark.django_db
def test_write_rate_limit_applies_to_writes_only(curator_api, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"write": "2/min"}}
    assert curator_api.post("/api/v1/review/next/", {}, format="json").status_code == 204
    assert curator_api.post("/api/v1/review/next/", {}, format="json").status_code == 204
    r = curator_api.post("/api/v1/review/next/", {}, format="json")
    assert r.status_code == 429
    assert "throttled" in r.json()["code"]
    assert int(r["Retry-After"]) > 0
    for _ in range(5):  # reads are never limited: polling progress must keep working
        assert curator_api.get("/api/v1/review/").status_code == 200
    cache.clear()


@pytest.mark.django_db
def test_malformed_json_is_400(admin_api):
    r = admin_api.post("/api/v1/sources/", data="{not json", content_type="application/json")
    assert r.status_code == 400
    assert "JSON" in r.json()["detail"]


@pytest.mark.django_db
def test_unknown_id_is_404_json(curator_api):
    r = curator_api.get("/api/v1/candidates/999999/")
    assert r.status_code == 404
    assert r.json() == {"detail": "No Candidate matches the given query.", "code": "not_found"}
    assert curator_api.get("/api/v1/candidates/not-a-number/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("query,param", [
    ("verdict=nonsense", "verdict"),
    ("diff_score_min=abc", "diff_score_min"),
    ("diff_score_max=NaN", "diff_score_max"),
    ("source=999999", "source"),
    ("source=x", "source"),
    ("safe_to_delete=maybe", "safe_to_delete"),
])
def test_bad_filter_value_is_400_naming_the_parameter(curator_api, query, param):
    r = curator_api.get(f"/api/v1/candidates/?{query}")
    assert r.status_code == 400, r.content
    body = r.json()
    assert param in body["errors"]
    assert body["detail"].startswith(param)


@pytest.mark.django_db
def test_bad_cursor_is_404(curator_api):
    r = curator_api.get("/api/v1/assets/?cursor=garbage")
    assert r.status_code == 404
    assert "cursor" in r.json()["detail"].lower()


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(client, curator_api):
    r = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    schema = json.loads(r.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/decisions/{id}/undo/" in schema["paths"]
    assert "Rate limits" in schema["info"]["description"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
    # the bundled Swagger UI script the page loads is served by this app
    import re
    src = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', html).group(1)
    assert client.get(src).status_code == 200
    assert client.get("/api/redoc/").status_code == 200


@pytest.mark.django_db
def test_every_operation_documents_its_errors(client):
    schema = json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/json").content)
    ops = [(p, meth, op) for p, item in schema["paths"].items() for meth, op in item.items()]
    assert len(ops) > 40
    for path, meth, op in ops:
        codes = set(op["responses"])
        assert {"400", "401", "403", "404"} <= codes, (meth, path)
        if meth == "post":
            assert {"409", "422", "429"} <= codes, (meth, path)
            assert any(p["name"] == "Idempotency-Key" for p in op.get("parameters", [])), (meth, path)
        assert op.get("summary"), (meth, path)


def test_schema_validates_without_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn`: the schema is valid OpenAPI 3 and every
    endpoint resolved its serializers."""
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "reviewapp.settings_test"}
    out = subprocess.run([sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
                          "--file", str(tmp_path / "schema.yaml")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "/api/v1/takedown/" in (tmp_path / "schema.yaml").read_text()


@pytest.mark.django_db
def test_service_permission_denied_keeps_its_reason(admin_api, monkeypatch):
    """A service refusing with Django's PermissionDenied becomes a 403 that says why."""
    from django.core.exceptions import PermissionDenied

    from reviewapp.api import execution as execution_api

    def refuse(**kwargs):
        raise PermissionDenied("only an admin can do this")

    monkeypatch.setattr(execution_api, "takedown_execute", refuse)
    asset = AssetFactory()
    r = admin_api.post("/api/v1/takedown/", {"assets": [asset.pk], "reason": "court order 12345"}, format="json")
    assert r.status_code == 403
    assert r.json() == {"detail": "only an admin can do this", "code": "permission_denied"}


@pytest.mark.django_db
def test_storage_errors_map_to_4xx_5xx_json(admin_api, monkeypatch):
    from reviewapp.api import execution as execution_api
    from reviewapp.storage import ObjectChanged, StorageError, UnsafeKey

    asset = AssetFactory()
    body = {"assets": [asset.pk], "reason": "court order 12345"}
    for exc, code in ((UnsafeKey("key escapes the root"), 400), (ObjectChanged("ETag changed"), 409),
                      (StorageError("endpoint unreachable"), 502)):
        def fail(exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(execution_api, "takedown_execute", fail)
        r = admin_api.post("/api/v1/takedown/", body, format="json")
        assert r.status_code == code, (exc, r.content)
        assert str(exc) in r.json()["detail"]


@pytest.mark.django_db
def test_unexpected_error_is_json_without_traceback(admin_api, monkeypatch):
    from reviewapp.api import execution as execution_api

    def crash(**kwargs):
        raise RuntimeError("secret internals /srv/doppel")

    monkeypatch.setattr(execution_api, "takedown_execute", crash)
    r = admin_api.post("/api/v1/takedown/", {"assets": [AssetFactory().pk], "reason": "court order 12345"},
                       format="json")
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal error: it has been logged.", "code": "server_error"}


# --- tokens stored hashed, with an expiry ----------------------------------------------------------


@pytest.mark.django_db
def test_tokens_are_stored_as_digests_and_expire(curator):
    from django.utils import timezone

    from reviewapp.services.tokens import api_token_create

    token, expiry = api_token_create(user=curator, days=2)
    row = AuthToken.objects.get(user=curator)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128  # SHA-512 hex, not the token
    assert timedelta(days=1, hours=23) < expiry - timezone.now() <= timedelta(days=2)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/review/").status_code == 200
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    r = api.get("/api/v1/review/")
    assert r.status_code == 401 and r["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_default_token_lifetime_is_the_configured_one(curator, settings):
    from django.utils import timezone

    from reviewapp.services.tokens import api_token_create

    _, expiry = api_token_create(user=curator)
    assert timedelta(days=89) < expiry - timezone.now() <= timedelta(days=90)


@pytest.mark.django_db
def test_token_command_refuses_unknown_users_and_users_without_a_role_and_revokes(curator):
    from django.core.management.base import CommandError

    UserFactory(username="norole")
    with pytest.raises(CommandError, match="no user named"):
        call_command("doppel_token", "ghost")
    with pytest.raises(CommandError, match="no Doppel role"):
        call_command("doppel_token", "norole")
    call_command("doppel_token", "curator1", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("doppel_token", "curator1", "--days", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert AuthToken.objects.filter(user=curator).count() == 2
    call_command("doppel_token", "curator1", "--revoke", stdout=io.StringIO())
    assert not AuthToken.objects.filter(user=curator).exists()


def test_token_command_outside_make_says_what_is_missing_in_one_line(tmp_path):
    """Without DEBUG or SECRET_KEY (as outside `make`), the command fails with one line naming the
    setting, not a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DOPPEL_TESTING", "DJANGO_SETTINGS_MODULE"}}
    env["DOPPEL_VAR_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "manage.py", "doppel_token", "robot"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY" in lines[0] and "Traceback" not in out.stderr


# --- login throttling ------------------------------------------------------------------------------


def _login(client, username, password, ip):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_that_ip_and_name_only(client, settings):
    """25 wrong passwords then the right one used to log in. Now the pair (IP, user name) locks
    after DOPPEL_LOGIN_FAILURE_LIMIT failures; the curator from another address still gets in,
    and the attacker's address can still try other names (it cannot lock anyone out)."""
    from django.test import Client

    user = UserFactory(username="cur", role="curator")
    user.set_password("right-password-123")
    user.save()
    codes = [_login(client, "cur", "wrong", "203.0.113.9").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the limit-th failure locks
    r = _login(client, "cur", "right-password-123", "203.0.113.9")
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    ok = Client()
    r = _login(ok, "cur", "right-password-123", "198.51.100.7")
    assert r.status_code == 302 and ok.session["_auth_user_id"] == str(user.pk)
    # a too-long name is counted like any other, never a database error
    assert _login(Client(), "x" * 5000, "wrong", "203.0.113.9").status_code == 200


def test_client_ip_trusts_only_the_configured_proxies(settings):
    from django.test import RequestFactory

    from reviewapp.middleware import client_ip

    rf = RequestFactory()
    req = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7")
    settings.PROXY_COUNT = 0
    assert client_ip(req) == "10.0.0.1"  # no proxy configured: the header is the client's own claim
    settings.PROXY_COUNT = 1
    assert client_ip(req) == "198.51.100.7"  # what our proxy saw, not what the client wrote first
    bad = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(bad) == "10.0.0.1"

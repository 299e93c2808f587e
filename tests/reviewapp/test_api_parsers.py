"""The API's JSON parser: a body that nests too deep is a 400 parse error, never a 500."""
import pytest

from reviewapp.api.parsers import MAX_DEPTH, nesting_depth
from reviewapp.models import Decision
from tests.conftest import api_client_for


def test_nesting_depth_counts_brackets_outside_strings():
    assert nesting_depth('{"a": [1, {"b": []}]}') == 4
    assert nesting_depth('{"a": "[[[[[[\\"[[["}') == 1
    assert nesting_depth('{"a": "x\\\\", "b": [[[]]]}') == 4  # an escaped backslash ends before the quote
    assert nesting_depth("[]" * 100) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/decisions/", "/api/v1/review/next/", "/api/v1/deletion-plans/"])
def test_a_deeply_nested_body_is_a_parse_error_not_a_server_error(admin_user, path):
    api = api_client_for(admin_user)
    body = "[" * 5000 + "]" * 5000
    r = api.post(path, body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert f"nests deeper than {MAX_DEPTH} levels" in r.json()["detail"]
    assert not Decision.objects.exists()
    # as deep as allowed: parsed, then refused for what it is (not a dict of fields), never a 500
    ok = api.post(path, "[" * MAX_DEPTH + "]" * MAX_DEPTH, content_type="application/json")
    assert ok.status_code in (400, 403), ok.content


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["utf-16-le", "utf-32-le", "utf-16"])
def test_a_deep_body_in_another_charset_is_a_parse_error_too(curator, charset):
    """U+2200 holds a quote byte in UTF-16/32: counting bytes took it for a string's start and
    missed the nesting after it (an attacker's 500)."""
    api = api_client_for(curator)
    body = ('["a\u2200",' + "[" * 50000).encode(charset)
    r = api.post("/api/v1/review/next/", body, content_type=f"application/json; charset={charset}")
    assert r.status_code == 400, r.content
    assert "nests deeper than" in r.json()["detail"]

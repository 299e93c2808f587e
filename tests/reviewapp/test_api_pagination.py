"""Cursors come from clients: a forged one is a 404 "Invalid cursor", never a server error."""
import base64
from urllib.parse import quote

import pytest

from tests.factories import ReviewItemFactory


def _cursor(text: str) -> str:
    return quote(base64.b64encode(text.encode()).decode())


@pytest.mark.django_db
@pytest.mark.parametrize("position", ["x", "%00", "2026-12-01 08:02:57.138972+00:00", "9" * 25, "-1"])
def test_a_forged_cursor_position_is_a_404_on_every_list(curator_api, position):
    ReviewItemFactory()
    for path in ("review", "decisions", "audit", "assets", "candidates", "jobs"):
        r = curator_api.get(f"/api/v1/{path}/?cursor={_cursor(f'r=1&p={position}')}")
        assert r.status_code in (403, 404), (path, r.status_code)  # 403: an admin-only list for a curator
        assert r["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_a_cursor_the_api_made_still_pages(curator_api):
    for _ in range(3):
        ReviewItemFactory()
    first = curator_api.get("/api/v1/review/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = curator_api.get(first["next"]).json()
    assert len(second["results"]) == 1


@pytest.mark.parametrize("size", ["-1", "0", "abc", "1.5"])
@pytest.mark.django_db
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400_not_the_default(curator_api, size):
    r = curator_api.get("/api/v1/assets/", {"page_size": size})
    assert r.status_code == 400, r.content
    assert "page_size" in r.json()["errors"]


@pytest.mark.django_db
def test_a_page_size_over_the_limit_gives_the_limit(curator_api):
    from reviewapp.api.pagination import IdCursorPagination
    r = curator_api.get("/api/v1/assets/", {"page_size": str(IdCursorPagination.max_page_size + 1)})
    assert r.status_code == 200

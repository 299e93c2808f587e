"""The API docs page works offline: headless Chromium opens /api/docs/ (Swagger UI served by
Django from drf-spectacular-sidecar, no CDN) and the operations render from /api/schema/."""
import pytest

from tests.conftest import browser_login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.services]


def test_swagger_ui_renders_every_tag_offline(page, live_server, transactional_db):
    UserFactory(username="docs-admin", role="admin")
    browser_login(page, live_server, "docs-admin", "pw-docs-admin")
    external = []
    page.on("request", lambda req: external.append(req.url) if not req.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-tag", timeout=30000)
    tags = {t.strip().lower() for t in page.locator(".opblock-tag span").all_inner_texts() if t.strip()} or \
        {t.strip().lower() for t in page.locator(".opblock-tag").all_inner_texts()}
    text = " ".join(tags)
    for tag in ("sources", "jobs", "review", "decisions", "error log", "deletion"):
        assert tag in text, tags
    assert page.locator(".opblock").count() > 40
    assert external == [], external  # nothing fetched from outside (no CDN)

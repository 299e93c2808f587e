"""The API docs page works offline: headless Chromium opens /api/docs/ (Swagger UI served by
Django from drf-spectacular-sidecar, no CDN) and the operations render from /api/schema/."""
import re

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


def test_redoc_renders_offline_without_web_fonts_or_inline_scripts(page, live_server, transactional_db):
    UserFactory(username="redoc-admin", role="admin")
    browser_login(page, live_server, "redoc-admin", "pw-redoc-admin")
    loaded, refused = [], []
    page.on("response", lambda resp: loaded.append(resp.url))  # a request the CSP blocks gets no response
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    response = page.goto(f"{live_server.url}/api/redoc/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "script-src 'self' 'unsafe-inline'" not in csp
    page.wait_for_selector("h1", timeout=30000)  # Redoc's rendering of the API title
    assert "Doppel API" in page.locator("h1").first.inner_text()
    html = page.evaluate("() => document.documentElement.outerHTML")
    assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html
    assert [u for u in loaded if not u.startswith(live_server.url) and not u.startswith(("data:", "blob:"))] == []
    # nothing is refused: Redoc's footer logo (an outside image its bundle always asks for) is not asked for
    assert refused == [], refused


def test_docs_pages_carry_no_inline_script(admin_client_doppel):
    for url in ("/api/docs/", "/api/redoc/"):
        response = admin_client_doppel.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], url
        assert "script-src 'self'" in response["Content-Security-Policy"]
    script = admin_client_doppel.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_redoc_is_served_a_bundle_that_asks_for_nothing_outside_the_site(admin_client_doppel):
    html = admin_client_doppel.get("/api/redoc/").content.decode()
    src = re.search(r'<script src="([^"]+)"', html).group(1)
    assert src == "/api/redoc/redoc.standalone.js"
    bundle = admin_client_doppel.get(src)
    assert bundle.status_code == 200 and bundle["Content-Type"].startswith("application/javascript")
    assert b"cdn.redoc.ly" not in bundle.content
    assert b"Redoc" in bundle.content and len(bundle.content) > 500_000  # the whole sidecar bundle, not a stub

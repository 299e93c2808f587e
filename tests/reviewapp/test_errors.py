"""Error pages: a curator following a link to an admin page gets the site's own 403 page saying
why, with no traceback in the log; unknown pages get a styled 404, a crash a styled 500; /api/
paths keep answering JSON."""
import logging

import pytest
from django.test import Client
from django.urls import path

from reviewapp.urls import urlpatterns as site_urls


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("crash/", crash), *site_urls]
handler403 = "reviewapp.views.errors.permission_denied"
handler404 = "reviewapp.views.errors.page_not_found"
handler500 = "reviewapp.views.errors.server_error"


def test_a_curator_on_an_admin_page_gets_a_styled_403_and_no_traceback_in_the_log(curator_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        r = curator_client.get("/deletions/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "reviewapp/doppel.css" in html and 'class="topbar"' in html  # the site's layout
    assert "This page is for Doppel admins" in html and "curator1" in html
    assert "<script>" not in html and "style=" not in html
    records = [rec for rec in caplog.records if rec.name == "django.request"]
    assert records and all(rec.exc_info is None for rec in records)
    assert "Forbidden" in records[0].getMessage()  # still one line saying what happened
    assert "Traceback" not in caplog.text


def test_an_unknown_page_gets_a_styled_404(curator_client, settings):
    settings.DEBUG = False
    r = curator_client.get("/no/such/page/")
    assert r.status_code == 404
    html = r.content.decode()
    assert "Nothing here" in html and "/no/such/page/" in html and "reviewapp/doppel.css" in html


@pytest.mark.urls("tests.reviewapp.test_errors")
def test_a_crash_gets_a_styled_500_that_needs_no_request_context(db, settings, caplog):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        r = client.get("/crash/")
    assert r.status_code == 500
    html = r.content.decode()
    assert "Something went wrong on our side" in html and "reviewapp/doppel.css" in html
    assert any(rec.exc_info for rec in caplog.records if rec.name == "django.request")  # a real error keeps its traceback


@pytest.mark.urls("tests.reviewapp.test_errors")
def test_api_paths_never_get_the_html_pages(db, curator, settings):
    from reviewapp.views.errors import page_not_found, permission_denied, server_error
    from django.test import RequestFactory

    request = RequestFactory().get("/api/v1/nothing/")
    request.user = curator
    for handler, status in ((permission_denied, 403), (page_not_found, 404)):
        r = handler(request, Exception("x"))
        assert r.status_code == status and r["Content-Type"] == "application/json"
    r = server_error(request)
    assert r.status_code == 500 and r["Content-Type"] == "application/json"
    api = Client()
    api.force_login(curator)
    r = api.post("/api/v1/sources/", {"name": "x"})  # curators may not add sources
    assert r.status_code == 403 and r["Content-Type"].startswith("application/json")


def test_a_form_without_its_csrf_token_gets_a_styled_page_saying_nothing_changed(curator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    r = client.post("/jobs/start/", {"kind": "inventory", "source": 1})
    assert r.status_code == 403
    html = r.content.decode()
    assert "This form has expired" in html and "Nothing was changed" in html and "reviewapp/doppel.css" in html


@pytest.mark.parametrize("path", ["/jobs/1/bogus/extra/", "/no/such/page/", "/review/99999999/", "/sources/abc/"])
def test_unknown_pages_get_the_styled_404_with_debug_on_and_never_the_list_of_urls(curator_client, settings, path):
    """`make run` runs with DEBUG=1, where Django's own 404 page lists every URL pattern (and
    handler404 is not used): an unknown path, or a view's Http404, still gets the site's page."""
    settings.DEBUG = True
    r = curator_client.get(path)
    assert r.status_code == 404
    html = r.content.decode()
    assert "Nothing here" in html and "reviewapp/doppel.css" in html
    assert "Django tried these URL patterns" not in html and "URLconf" not in html and "review-decide" not in html


def test_a_path_without_its_trailing_slash_still_redirects_to_it(curator_client, settings):
    settings.DEBUG = True
    r = curator_client.get("/review?source=1")
    assert r.status_code == 301 and r["Location"] == "/review/?source=1"
    assert curator_client.get("/review/no-such").status_code == 404

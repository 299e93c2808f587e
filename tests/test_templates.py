"""Every template keeps to the Content-Security-Policy and the UI conventions: no inline <script>,
<style>, event handler or style attribute (the policy would refuse them), and every page that
extends base.html gets the live regions from one include."""
import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGES = sorted(p for p in TEMPLATES.rglob("*.html"))

INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    # not CSP but WCAG 2.2.1: a refresh the user cannot pause (use <meta name="doppel-refresh">)
    "meta refresh": re.compile(r"http-equiv=.refresh", re.I),
}


@pytest.mark.parametrize("template", PAGES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_holds_what_the_csp_refuses(template):
    text = template.read_text(encoding="utf-8")
    found = {what: rx.findall(text) for what, rx in INLINE.items() if rx.search(text)}
    assert found == {}, found


def test_the_live_regions_come_from_one_include_in_base():
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    live = (TEMPLATES / "reviewapp" / "_live.html").read_text(encoding="utf-8")
    assert '{% include "reviewapp/_live.html" %}' in base
    assert 'role="status"' in live and 'role="alert"' in live
    others = [p for p in PAGES if p.name not in ("_live.html",) and 'role="status"' in p.read_text(encoding="utf-8")]
    assert others == [], "pages announce through Doppel.announce(), not a second status region"


def test_the_help_overlay_and_error_form_are_dialogs():
    item = (TEMPLATES / "reviewapp" / "review" / "item.html").read_text(encoding="utf-8")
    assert '<dialog id="help"' in item and '<dialog id="error-dialog"' in item
    assert 'role="tablist"' not in item and item.count('aria-pressed=') == 4


# --- every page as rendered ------------------------------------------------------------------------

ARIA_REFERENCES = re.compile(r'\baria-(?:describedby|labelledby)="([^"]*)"')
IDS = re.compile(r'\bid="([^"]+)"')
# the pages whose forms are sent back with their errors when a POST is refused
FORM_PAGES = ["source-add", "extract-list", "takedown", "namelist-upload", "review-bulk"]
JUNK = ("?page=-1&state=nope&date_from=not-a-date&category=zz&kind=zz&verdict=zz&max_diff=NaN&max_local=inf&q="
        + "x" * 300)


def dangling_references(html: str) -> list[str]:
    """The ids an aria-describedby or aria-labelledby names that no element on the page has."""
    ids = set(IDS.findall(html))
    return sorted({ref for refs in ARIA_REFERENCES.findall(html) for ref in refs.split() if ref not in ids})


def _page_rows(admin):
    from datetime import timedelta

    from django.utils import timezone

    from reviewapp.models import DeletionPlan, Extract, ExtractArchive, Job, NameList, ReingestItem
    from tests.factories import ReviewItemFactory

    item = ReviewItemFactory()
    asset = item.asset
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=asset.source, state=Job.State.RUNNING, requested=10)
    namelist = NameList.objects.create(source=asset.source, title="box 1")
    extract = Extract.objects.create(title="for legal", location="default", job=job,
                                     expires_at=timezone.now() + timedelta(days=3))
    ExtractArchive.objects.create(extract=extract, namelist=namelist, key="extract-1/box-1.tar")
    return {"source": asset.source_id, "asset": asset.pk, "review": item.pk, "job": job.pk, "namelist": namelist.pk,
            "deletion-plan": DeletionPlan.objects.create(created_by=admin).pk, "extract": extract.pk,
            "reingest": ReingestItem.objects.create(asset=asset, reason="only good copy").pk}


@pytest.mark.django_db
def test_every_aria_reference_on_every_page_names_an_element_on_that_page(client, admin_user):
    """aria-describedby and aria-labelledby name ids; one that names nothing leaves a screen reader
    without the help text or the error it was meant to read (Django points a field at
    id_<name>_helptext and id_<name>_error: a template must give those ids to what it shows)."""
    from django.urls import reverse

    from reviewapp.views import urls as ui_urls

    rows = _page_rows(admin_user)
    client.force_login(admin_user)
    seen, dangling = 0, {}
    for pattern in ui_urls.urlpatterns:
        route = str(pattern.pattern)
        if "<slug:" in route or route.endswith((".csv", ".jpg", "download/")):
            continue   # actions and files, not pages
        kwargs = {}
        if "<int:pk>" in route:
            owner = next((k for k in sorted(rows, key=len, reverse=True) if pattern.name.startswith(k)), None)
            if owner is None or not pattern.name.endswith(("-detail", "-item", "-delete")):
                continue
            kwargs["pk"] = rows[owner]
        url = reverse(pattern.name, kwargs=kwargs)
        answers = [client.get(url), client.get(url + JUNK)]
        if pattern.name in FORM_PAGES:
            answers.append(client.post(url, {"sent": "1"}))   # bound, every field missing
        for r in answers:
            if r.status_code == 200 and r["Content-Type"].startswith("text/html"):
                seen += 1
                if found := dangling_references(r.content.decode()):
                    dangling[f"{r.request['REQUEST_METHOD']} {r.request['PATH_INFO']}"] = found
    assert seen >= 40, seen
    assert dangling == {}, "\n".join(f"{k}: {v}" for k, v in dangling.items())


PROGRESS = re.compile(r"<progress\b[^>]*>", re.I)


@pytest.mark.parametrize("template", PAGES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_progress_bar_has_a_name_that_says_whose_progress_it_is(template):
    """A <progress> without a name is read as "progress bar, 40 %" (of what?): each has an
    aria-label or aria-labelledby, or an id that a <label for> on the page names."""
    text = template.read_text(encoding="utf-8")
    labelled = set(re.findall(r'<label\b[^>]*\bfor="([^"]+)"', text))

    def named(tag):
        own = re.search(r'\bid="([^"]+)"', tag)
        return bool(re.search(r"\baria-label(?:ledby)?=", tag)) or bool(own and own.group(1) in labelled)

    unnamed = [tag for tag in PROGRESS.findall(text) if not named(tag)]
    assert unnamed == [], unnamed


ERROR_TITLE = re.compile(r"<title>\s*Error: ")
ALERT_REGION = re.compile(r'<div role="alert" id="live-alert"[^>]*>(.*?)</div>', re.S)


@pytest.mark.django_db
@pytest.mark.parametrize("method, name, data", [
    ("get", "review-bulk", {"max_diff": "abc", "max_local": "1"}),
    ("get", "errorlog-list", {"date_from": "notadate"}),
    ("post", "namelist-upload", {"title": "box"}),
    ("post", "extract-list", {"title": ""}),
    ("post", "takedown", {"keys": ""}),
    ("post", "source-add", {"name": ""}),
])
def test_a_form_the_server_refuses_says_so_in_the_title_and_the_alert_region(client, admin_user, method, name, data):
    """WCAG 3.3.1 / 4.1.3: the title starts with "Error: " and the alert region says what was wrong,
    field by field (the page's own inline errors stay by their fields)."""
    from django.urls import reverse

    client.force_login(admin_user)
    r = getattr(client, method)(reverse(name), data)
    assert r.status_code == 200
    html = r.content.decode()
    assert ERROR_TITLE.search(html), re.search(r"<title>.*?</title>", html, re.S).group(0)
    alert = ALERT_REGION.search(html).group(1)
    assert 'id="form-error-summary"' in alert and "The form was not accepted" in alert, alert


@pytest.mark.django_db
def test_a_form_page_without_errors_has_a_plain_title_and_an_empty_alert_region(client, admin_user):
    from django.urls import reverse

    client.force_login(admin_user)
    html = client.get(reverse("takedown")).content.decode()
    assert not ERROR_TITLE.search(html)
    assert "form-error-summary" not in ALERT_REGION.search(html).group(1)

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

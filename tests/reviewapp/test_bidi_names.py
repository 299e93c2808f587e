"""A file name with a bidirectional control character is shown with the character made visible
("⟨U+202E⟩"), never obeyed: "C0001010\u202egpj.png" reversed its tail on screen and read as a
".jpg" (WCAG 1.3.2, and an honest name for what is about to be deleted)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from reviewapp.templatetags.doppel_words import bidi_visible
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory

pytestmark = pytest.mark.django_db

TRICK = "C0001010\u202egpj.png"
SHOWN = "C0001010⟨U+202E⟩gpj.png"


def test_every_bidi_control_is_shown_by_its_code_point():
    assert bidi_visible(TRICK) == SHOWN
    assert bidi_visible("a\u200fb\u2066c\u2069d\u061ce") == "a⟨U+200F⟩b⟨U+2066⟩c⟨U+2069⟩d⟨U+061C⟩e"
    assert bidi_visible("plain_ÅØ_名前.jpg") == "plain_ÅØ_名前.jpg" and bidi_visible(None) == ""


def test_the_review_page_the_file_page_and_the_source_list_show_the_control_not_obey_it(client, admin_user):
    asset = AssetFactory(key=f"box/{TRICK}")
    item = ReviewItemFactory(best_candidate=CandidateFactory(cleanup_asset=asset))
    client.force_login(admin_user)
    for url in (reverse("review-item", args=[item.pk]), reverse("asset-detail", args=[asset.pk]),
                reverse("source-detail", args=[asset.source_id])):
        html = client.get(url).content.decode()
        assert SHOWN in html, url
        assert "\u202e" not in html, url


def test_each_restore_button_in_quarantine_names_its_file(rf: RequestFactory, admin_user):
    rows = [SimpleNamespace(pk=n, plan_id=1, size=10, purge_after=timezone.now(), quarantine_location="q", reason="",
                            asset=SimpleNamespace(key=key, source=SimpleNamespace(name="cleanup")))
            for n, key in ((1, "a/one.jpg"), (2, f"b/{TRICK}"))]
    request = rf.get(reverse("quarantine-list"))
    request.user = admin_user
    html = render_to_string("reviewapp/deletion/quarantine.html", {"page": rows}, request=request)
    assert 'Restore<span class="visually-hidden"> a/one.jpg</span></button>' in html
    assert f'Restore<span class="visually-hidden"> b/{SHOWN}</span></button>' in html

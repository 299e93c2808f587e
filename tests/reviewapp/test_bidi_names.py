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


def test_a_message_the_server_builds_around_a_file_name_shows_the_control_not_obeys_it(curator_client):
    """"Skipped: C0001010<U+202E>gpj.png. It comes back …": the override reversed the rest of the
    sentence, in the page's status region and its title. Messages go through bidi_visible now."""
    item = ReviewItemFactory(best_candidate=CandidateFactory(cleanup_asset=AssetFactory(key=f"box/{TRICK}", name=TRICK),
                                                             verdict="identical"))
    curator_client.post(reverse("review-next"))
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "skip"}, follow=True)
    html = r.content.decode()
    assert f"Skipped: {SHOWN}. It comes back after the other files in this queue." in html
    assert "\u202e" not in html


def test_a_refusal_naming_a_list_shows_the_control_in_the_form_errors(client, admin_user, settings, tmp_path):
    """A service's refusal that names a name list ("… choose it once that job is done: <title>") is
    shown in the field's errors and in the page's error summary with the control made visible."""
    from reviewapp.models import NameList

    settings.EXTRACT_ROOTS = [tmp_path.resolve()]
    settings.EXTRACT_LOCATIONS = {"default": f"local:{tmp_path / 'out'}"}
    nl = NameList.objects.create(source=AssetFactory().source, title=TRICK)   # not resolved yet
    client.force_login(admin_user)
    r = client.post(reverse("extract-list"), {
        "title": "t", "namelists": [nl.pk], "location": "default", "content": "original",
        "expires_on": (timezone.now() + timezone.timedelta(days=3)).date().isoformat()})
    html = r.content.decode()
    assert r.status_code == 200 and html.count(f"once that job is done: {SHOWN}") >= 2   # field and summary
    assert "\u202e" not in html and "&amp;" not in html.split('data-testid="form-error-summary"')[1][:400]


def test_a_stored_reason_naming_a_key_shows_the_control_on_the_job_page(client, admin_user):
    """Jobs, aborted plan items and reingests keep a sentence that names the object ("cleanup:<key>
    no longer exists; retry once it is back"): their pages show it with the control made visible."""
    from reviewapp.models import Job

    job = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.FAILED,
                             error=f"cleanup:box/{TRICK} no longer exists; retry once it is back")
    client.force_login(admin_user)
    html = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert f"cleanup:box/{SHOWN} no longer exists" in html and "\u202e" not in html

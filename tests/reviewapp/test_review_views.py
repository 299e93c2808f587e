"""Review UI: queue picker, next, file view, actions over HTTP (CSRF, roles, errors never 500)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse

from reviewapp.models import Asset, Candidate, Decision, DeletionItem, ErrorLogEntry, Job, ReingestItem, ReviewItem, Source
from reviewapp.services.deletion import deletion_restore
from reviewapp.services.review import review_lease_take
from reviewapp.services.takedown import takedown_execute
from tests import images
from tests.conftest import api_client_for
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory
from tests.reviewapp.test_deletion import run_plan, scenario, sources, users  # noqa: F401 - fixtures
from tests.reviewapp.test_demo import demo_dirs, run_demo  # noqa: F401 - demo_dirs is a fixture

pytestmark = pytest.mark.django_db


def make_real_pair(root, n=1, *, rotation=0, flipped=False, verdict="duplicate", corrupt_side="none", region=None,
                   photos=("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "grass")):
    """Clean-up and canonical local sources under `root` holding real JPEGs, with one review item
    per clean-up file (the pair job's output, made by hand)."""
    from PIL import Image

    cdir, kdir = root / "cleanup", root / "canonical"
    cleanup = Source.objects.filter(root=str(cdir)).first() or SourceFactory(name="cleanup", root=str(cdir), role="cleanup")
    canon = Source.objects.filter(root=str(kdir)).first() or SourceFactory(name="canonical", root=str(kdir), role="canonical")
    items = []
    start = Asset.objects.filter(source=cleanup).count()
    for i in range(start, start + n):
        photo = photos[i % len(photos)]
        img = images.photo(photo, size=(480, 360))
        ckey, kkey = f"scan_{i:03d}.jpg", f"C{i:06d}.jpg"
        images.save(img, cdir / ckey)
        kept = img
        if rotation:
            kept = kept.rotate(-rotation, expand=True) if rotation in (90, 180, 270) else kept
        if flipped:
            kept = kept.transpose(Image.FLIP_LEFT_RIGHT)
        images.save(kept, kdir / kkey, quality=95)
        ca = AssetFactory(source=cleanup, key=ckey, size=(cdir / ckey).stat().st_size, width=480, height=360)
        ka = AssetFactory(source=canon, key=kkey, size=(kdir / kkey).stat().st_size, width=kept.width, height=kept.height,
                          storage_class="GLACIER_IR")
        cand = CandidateFactory(cleanup_asset=ca, match_asset=ka, rotation=rotation, flipped=flipped, verdict=verdict,
                                corrupt_side=corrupt_side, region=region, diff_score=0.003 + i / 1000,
                                safe_to_delete=verdict in ("identical", "duplicate", "rotated", "cleanup_corrupt"))
        items.append(ReviewItemFactory(best_candidate=cand))
    return items


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# ---------------------------------------------------------------- access


def test_anonymous_goes_to_login_and_non_curator_gets_403(client):
    item = ReviewItemFactory()
    for url in (reverse("review-home"), reverse("review-next"), reverse("review-item", args=[item.pk])):
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    client.force_login(UserFactory(username="norole"))
    assert client.get(reverse("review-next")).status_code == 403
    assert client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete"}).status_code == 403
    assert not Decision.objects.exists()


def test_the_page_form_approves_a_deletion_only_from_a_curator_shown_both_pictures(curator_client):
    """Stop 75's leftover: the form posted without script approved a deletion whatever the page showed (a
    picture still being prepared included). The page's script sends "shown" once both pictures are in; without
    script the curator ticks it. Every other decision is taken without it."""
    item = ReviewItemFactory()
    page = curator_client.post(reverse("review-next"), follow=True).content.decode()     # leased: the decide form
    form = page[page.index('id="decide-form"'):]
    assert re.search(r'<noscript><label class="shown-check"[^>]*><input type="checkbox" name="shown" value="1">', form)
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete"}, follow=True)
    assert "needs both pictures looked at" in r.content.decode() and "Nothing was recorded" in r.content.decode()
    assert not Decision.objects.exists()
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "shown": "yes"},
                            follow=True)
    assert "needs both pictures looked at" in r.content.decode() and not Decision.objects.exists()
    curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "shown": "1"})
    assert Decision.objects.get().action == "approve_delete"
    other = ReviewItemFactory()
    curator_client.post(reverse("review-decide", args=[other.pk]), {"action": "not_duplicate"})
    assert Decision.objects.get(review_item=other).action == "not_duplicate"


def test_decide_needs_post_and_csrf(curator):
    item = ReviewItemFactory()
    c = Client(enforce_csrf_checks=True)
    c.force_login(curator)
    # a GET records nothing (the login page's `next` after a session ran out mid-decision): back to
    # the file, saying so, not a bare 405
    r = c.get(reverse("review-decide", args=[item.pk]), follow=True)
    assert r.redirect_chain == [(reverse("review-item", args=[item.pk]), 302)]
    assert "Nothing was recorded" in r.content.decode() and not Decision.objects.exists()
    assert c.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete"}).status_code == 403
    page = c.get(reverse("review-item", args=[item.pk]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    r = c.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "shown": "1", "csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert Decision.objects.get().action == "approve_delete"


# ---------------------------------------------------------------- queues and next


def test_home_shows_counts_per_verdict_including_unreadable_and_no_match(curator_client):
    ReviewItemFactory(best_candidate=CandidateFactory(verdict="identical"))
    ReviewItem.objects.create(asset=AssetFactory(), verdict="no_match")
    ReviewItem.objects.create(asset=AssetFactory(), verdict="unreadable")
    r = curator_client.get(reverse("review-home"))
    html = r.content.decode()
    assert r.status_code == 200
    assert re.search(r'data-testid="queue-total">3<', html)
    for v in ("identical", "no_match", "unreadable", "rotated", "different"):
        assert f'data-verdict="{v}"' in html
    r = curator_client.get(reverse("review-home") + "?verdict=no_match")
    assert re.search(r'data-testid="queue-total">1<', r.content.decode())


def test_next_redirects_to_a_leased_file_keeping_the_queue_and_says_when_empty(curator_client, curator):
    a = ReviewItemFactory(best_candidate=CandidateFactory(verdict="rotated"))
    ReviewItemFactory(best_candidate=CandidateFactory(verdict="identical"))
    a2 = ReviewItemFactory(best_candidate=CandidateFactory(verdict="rotated"))
    r = curator_client.post(reverse("review-next"), {"verdict": "rotated"})
    assert r.status_code == 302 and r["Location"] == reverse("review-item", args=[a.pk]) + "?verdict=rotated"
    a.refresh_from_db()
    assert a.status == "leased" and a.leased_by == curator
    # a decision leases the next file of the same queue at once and goes straight to it
    r = curator_client.post(reverse("review-decide", args=[a.pk]), {"action": "not_duplicate", "verdict": "rotated"})
    assert r["Location"] == reverse("review-item", args=[a2.pk]) + "?verdict=rotated"
    a2.refresh_from_db()
    assert a2.status == "leased" and a2.leased_by == curator
    r = curator_client.post(reverse("review-decide", args=[a2.pk]), {"action": "not_duplicate", "verdict": "rotated"})
    assert r["Location"] == reverse("review-next") + "?verdict=rotated"
    r = curator_client.get(r["Location"])
    assert r.status_code == 200 and b'data-testid="queue-empty"' in r.content


def test_a_filter_doppel_cannot_use_takes_no_file_and_says_so(curator_client, curator):
    """"Next" with a source that is not an id or names nothing serves no file from the whole
    queue in its place; the queue page says which filter it left out."""
    item = ReviewItemFactory(best_candidate=CandidateFactory(verdict="identical"))
    for bad in ({"source": "abc"}, {"source": "99999999"}, {"verdict": "zzz"}):
        r = curator_client.post(reverse("review-next"), bad, follow=True)
        assert r.status_code == 200 and "no file was taken" in r.content.decode()
        item.refresh_from_db()
        assert item.status == "open"
    page = curator_client.get(reverse("review-home"), {"source": "abc"}).content.decode()
    assert "source “abc” is not one Doppel knows: showing the queue without that filter" in page
    r = curator_client.post(reverse("review-next"), {"source": item.asset.source_id})
    assert r["Location"].startswith(reverse("review-item", args=[item.pk]))


def test_file_view_shows_both_sides_badges_metadata_and_other_candidates(curator_client, local_root, django_assert_max_num_queries,
                                                                         picture):
    item = make_real_pair(local_root, rotation=90, flipped=True, verdict="rotated")[0]
    other = CandidateFactory(cleanup_asset=item.asset, verdict="different", diff_score=0.3, rank=1)
    url = reverse("review-item", args=[item.pk])
    curator_client.post(reverse("review-take", args=[item.pk]))
    with django_assert_max_num_queries(16):
        r = curator_client.get(url)
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="rotation-badge"' in html and "90°" in html and 'data-testid="mirror-badge"' in html
    assert item.asset.key in html and item.best_candidate.match_asset.key in html
    assert "GLACIER_IR" in html and "480×360" in html and "360×480" in html
    assert f'data-candidate="{other.pk}"' in html and "Make this the match" in html
    for key in ('data-key="d"', 'data-key="n"', 'data-key="e"', 'data-key="r"', 'data-key="s"'):
        assert key in html
    web = url_or_none("asset-image", item.asset.pk, "web")
    assert web, "the rendition view route is gone"  # both images must really be served
    aligned = reverse("candidate-image", args=[item.best_candidate.pk, "aligned"])
    assert f'src="{web}"' in html and f'src="{aligned}"' in html
    for u in (web, aligned):
        img = picture(curator_client, u)
        assert img.status_code == 200
        assert b"".join(img.streaming_content if img.streaming else [img.content])[:2] == b"\xff\xd8"


def test_file_view_flags_the_damaged_side_and_outlines_the_region(curator_client, local_root):
    item = make_real_pair(local_root, verdict="match_corrupt", corrupt_side="match",
                          region={"top": 0.4, "left": 0.0, "bottom": 0.5, "right": 1.0})[0]
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert 'data-testid="flag-match"' in html and 'data-testid="flag-cleanup"' not in html
    assert 'data-testid="damage-match"' in html and 'data-box-top="40.00%"' in html and 'data-box-height="10.00%"' in html
    assert "damaged region: <span data-testid=\"region-match\">a band 10% high, from 40% to 50% down</span>" in html
    # approve is refused with a clear message, never a 500
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "shown": "1"}, follow=True)
    assert r.status_code == 200 and "kept copy is damaged" in r.content.decode()
    assert not Decision.objects.exists()


def test_cleanup_damage_from_its_own_analysis_is_outlined_on_the_left(curator_client, local_root):
    item = make_real_pair(local_root)[0]
    Asset.objects.filter(pk=item.asset_id).update(
        decode_status="damaged", decode_error="truncated",
        analysis={"damage": {"region": {"top": 0.6, "left": 0, "bottom": 1, "right": 1}}})
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert 'data-testid="flag-cleanup"' in html and 'data-testid="damage-cleanup"' in html and 'data-box-top="60.00%"' in html
    assert f'alt="Clean-up copy {item.asset.name}, damaged: bottom 40%"' in html


def test_a_file_leased_by_someone_else_is_read_only(curator_client):
    item = ReviewItemFactory()
    other = UserFactory(role="curator", username="other")
    c2 = Client()
    c2.force_login(other)
    c2.post(reverse("review-take", args=[item.pk]))
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert 'data-testid="readonly"' in html and 'id="decide-form"' not in html and 'id="take-form"' not in html
    assert curator_client.post(reverse("review-take", args=[item.pk])).status_code == 302  # refused, with a message
    item.refresh_from_db()
    assert item.leased_by == other


def test_review_this_file_says_why_a_file_gone_from_its_source_cannot_be_taken(curator_client):
    from reviewapp.models import Asset

    item = ReviewItemFactory()
    Asset.objects.filter(pk=item.asset_id).update(state=Asset.State.VANISHED)
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert 'data-fate="vanished"' in html and "No longer in its source" in html and 'id="take-form"' not in html
    r = curator_client.post(reverse("review-take", args=[item.pk]), follow=True)
    assert "this file is no longer in its source: there is nothing to decide" in r.content.decode()
    assert "another curator" not in r.content.decode()
    item.refresh_from_db()
    assert item.status == "open" and item.leased_by is None


def test_looking_at_files_takes_no_lease(curator_client, curator):
    """GET changes nothing: visiting ids (or a crawler following links) ties up no files. The
    lease is taken by Next or "Review this file", both POSTs."""
    items = [ReviewItemFactory() for _ in range(3)]
    for it in items:
        r = curator_client.get(reverse("review-item", args=[it.pk]))
        assert r.status_code == 200
        html = r.content.decode()
        assert 'id="take-form"' in html and 'id="decide-form"' not in html
    r = curator_client.get(reverse("review-next"))
    assert r.status_code == 302 and r["Location"] == reverse("review-home")
    curator_client.get(reverse("review-home"))
    assert not ReviewItem.objects.exclude(status="open").exists()
    assert Client().get(reverse("review-take", args=[items[0].pk])).status_code in (302, 405)
    r = curator_client.get(reverse("review-take", args=[items[0].pk]))
    assert r.status_code == 302 and r["Location"] == reverse("review-item", args=[items[0].pk])
    # the explicit POST takes exactly that file, and the page is then yours to decide
    r = curator_client.post(reverse("review-take", args=[items[1].pk]))
    assert r.status_code == 302 and r["Location"] == reverse("review-item", args=[items[1].pk])
    items[1].refresh_from_db()
    assert items[1].status == "leased" and items[1].leased_by == curator
    html = curator_client.get(reverse("review-item", args=[items[1].pk])).content.decode()
    assert 'id="decide-form"' in html
    # GET Next now brings you back to the file you hold, still without leasing anything new
    r = curator_client.get(reverse("review-next"))
    assert r["Location"] == reverse("review-item", args=[items[1].pk])
    assert ReviewItem.objects.filter(status="leased").count() == 1


# ---------------------------------------------------------------- actions


def test_log_error_reingest_skip_and_undo_over_http(curator_client, curator):
    a, b, c = (ReviewItemFactory() for _ in range(3))
    r = curator_client.post(reverse("review-decide", args=[a.pk]), {"action": "log_error", "category": "wrong_id", "note": "C123 ≠ C124"})
    assert r.status_code == 302
    assert ErrorLogEntry.objects.get().note == "C123 ≠ C124"
    r = curator_client.post(reverse("review-decide", args=[b.pk]), {"action": "log_error"}, follow=True)
    assert "choose an error category" in r.content.decode()
    curator_client.post(reverse("review-decide", args=[b.pk]), {"action": "reingest"})
    assert b.asset.reingests.count() == 1
    r = curator_client.post(reverse("review-decide", args=[c.pk]), {"action": "skip"}, follow=True)
    assert f"Skipped: {c.asset.name}. It comes back after the other files" in r.content.decode()  # announced too
    c.refresh_from_db()
    assert curator.pk in c.skipped_by
    assert c.status == "leased"  # the only file left: the skipped one comes back at the end of the queue

    b_decision = Decision.objects.get(review_item=b, action="reingest")
    r = curator_client.post(reverse("review-undo"), {"decision": b_decision.pk})
    assert r.status_code == 302 and r["Location"] == reverse("review-item", args=[b.pk])
    b.refresh_from_db()
    # undone, and leased back to the curator by the undo POST so they can decide again at once
    assert b.status == "leased" and b.leased_by == curator and b.asset.reingests.get().state == "withdrawn"
    a_decision = Decision.objects.get(review_item=a, action="log_error")
    r = curator_client.post(reverse("review-undo"), {"decision": a_decision.pk}, follow=True)  # not the last one
    assert "that decision is no longer your last one; nothing was undone" in r.content.decode()
    assert Decision.objects.filter(action="undo").count() == 1


def test_undo_on_a_stale_page_undoes_nothing_rather_than_a_later_decision(curator_client, curator):
    """The page named the decision on one file; the curator decided another file elsewhere (the
    API, another tab) before pressing that Undo: nothing is undone, and the page says why."""

    first, later = ReviewItemFactory(), ReviewItemFactory()
    api = api_client_for(curator)
    assert api.post("/api/v1/decisions/", {"item": first.pk, "action": "log_error", "error_category": "wrong_id"},
                    format="json").status_code == 201
    page = curator_client.get(reverse("review-home")).content.decode()
    named = Decision.objects.get(review_item=first)
    assert f'name="decision" value="{named.pk}"' in page and first.asset.name in page
    assert api.post("/api/v1/decisions/", {"item": later.pk, "action": "not_duplicate"},
                    format="json").status_code == 201
    r = curator_client.post(reverse("review-undo"), {"decision": named.pk}, follow=True)
    html = r.content.decode()
    assert "that decision is no longer your last one; nothing was undone" in html
    assert re.search(r'role="alert"[^>]*><p class="msg-error">that decision is no longer', html)  # announced
    assert not Decision.objects.filter(action="undo").exists()
    assert ReviewItem.objects.get(pk=later.pk).status == "decided"
    # the API undoes exactly the decision it names, on the same rule
    r = api.post(f"/api/v1/decisions/{named.pk}/undo/")
    assert r.status_code == 409 and "no longer your last one" in str(r.json())
    # a page that named no decision (or another user's) undoes nothing either
    r = curator_client.post(reverse("review-undo"), follow=True)
    assert "nothing was undone" in r.content.decode() and not Decision.objects.filter(action="undo").exists()


def _decision_keys_json(html):
    import html as html_mod
    import json

    m = re.search(r'<script id="decision-keys" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page carries no decision-keys data for review.js"
    return json.loads(html_mod.unescape(m.group(1)))


def test_the_actions_keys_labels_and_help_come_from_one_table(curator_client, monkeypatch):
    """Buttons, key help and review.js's key map are rendered from DECISION_KEYS: change a row's
    key, label or help there and every one of them follows."""
    from reviewapp.models import review as review_models

    item = ReviewItemFactory()
    curator_client.post(reverse("review-take", args=[item.pk]))
    curator_client.post(reverse("review-decide", args=[ReviewItemFactory().pk]), {"action": "not_duplicate"})  # U has work
    curator_client.post(reverse("review-take", args=[item.pk]))

    def page():
        return curator_client.get(reverse("review-item", args=[item.pk])).content.decode()

    html = page()
    data = _decision_keys_json(html)
    assert data == {k.key: k.as_data() for k in review_models.DECISION_KEYS}
    assert {a["action"] for a in data.values()} == set(Decision.Action.values)
    for k in review_models.DECISION_KEYS:
        assert f'<dt>{k.key.upper()}</dt><dd>{k.help}</dd>' in html
        assert re.search(rf'data-key="{k.key}"[^>]*aria-keyshortcuts="{k.key.upper()}"', html), k
        assert f'<kbd aria-hidden="true">{k.key.upper()}</kbd> {k.label}' in html, k
    # every shortcut on the page is one key: an action's key never shadows a view key
    shortcuts = re.findall(r'aria-keyshortcuts="([^"]+)"', html)
    assert len(shortcuts) == len(set(shortcuts)), shortcuts

    moved = tuple(review_models.DecisionKey(k.action, "x", "skip it for now", way=k.way, style=k.style)
                  if k.action == "skip" else k for k in review_models.DECISION_KEYS)
    monkeypatch.setattr(review_models, "DECISION_KEYS", moved)
    monkeypatch.setattr("reviewapp.templatetags.doppel_decisions.DECISION_KEYS", moved)
    html = page()
    assert _decision_keys_json(html)["x"]["action"] == "skip" and "s" not in _decision_keys_json(html)
    assert '<dt>X</dt><dd>skip it for now</dd>' in html and 'value="skip" class="secondary" data-key="x"' in html


def test_review_js_holds_no_action_of_its_own():
    """review.js learns actions and keys from the page's data, so a new action needs no JS."""
    from pathlib import Path

    js = (Path(__file__).resolve().parents[2] / "static" / "reviewapp" / "review.js").read_text()
    for action in Decision.Action.values:
        assert f'"{action}"' not in js, action
    assert "decision-keys" in js


def test_the_empty_queue_page_offers_undo_by_the_tables_key(curator_client):
    item = ReviewItemFactory()
    curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "not_duplicate"})
    html = curator_client.get(reverse("review-next"), follow=True).content.decode()
    assert 'data-testid="queue-empty"' in html
    assert _decision_keys_json(html)["u"]["way"] == "undo-form"
    assert 'data-key="u" aria-keyshortcuts="U">Undo my last decision (U): Not a duplicate' in html


def test_idempotency_key_from_the_form_prevents_double_submit(curator_client):
    item = ReviewItemFactory()
    for _ in range(2):
        curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "not_duplicate", "idempotency_key": "abc"})
    assert Decision.objects.count() == 1


def test_bad_input_gives_messages_not_errors(curator_client):
    item = ReviewItemFactory()
    foreign = CandidateFactory()
    r = curator_client.post(reverse("review-next"), {"verdict": "<script>", "source": "abc"}, follow=True)
    assert r.status_code == 200 and "no file was taken" in r.content.decode() and "<script>" not in r.content.decode()
    r = curator_client.post(reverse("review-next"))
    assert r.status_code == 302 and r["Location"] == reverse("review-item", args=[item.pk])
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "explode"}, follow=True)
    assert r.status_code == 200 and "unknown action" in r.content.decode()
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "candidate": foreign.pk}, follow=True)
    assert "does not belong" in r.content.decode()
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "candidate": "x"}, follow=True)
    assert r.status_code == 200
    assert curator_client.get(reverse("review-item", args=[999999])).status_code == 404


@pytest.mark.parametrize("bad", ["x", "1.5", "-1", "0", "999999999", "１", "99999999999999999999999"])
def test_decide_with_an_unknown_candidate_is_refused_and_records_nothing(curator_client, curator, bad):
    item = ReviewItemFactory()
    curator_client.post(reverse("review-take", args=[item.pk]))
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "not_duplicate", "candidate": bad},
                            follow=True)
    assert r.status_code == 200
    assert "does not belong to this file: nothing was recorded" in r.content.decode()
    assert Decision.objects.count() == 0
    item.refresh_from_db()
    assert item.status == ReviewItem.Status.LEASED and item.leased_by == curator


def test_choose_another_candidate_over_http(curator_client):
    item = ReviewItemFactory()
    better = CandidateFactory(cleanup_asset=item.asset, verdict="identical", diff_score=0.0, rank=1)
    r = curator_client.post(reverse("review-choose", args=[item.pk]), {"candidate": better.pk})
    assert r["Location"] == reverse("review-item", args=[item.pk])
    item.refresh_from_db()
    assert item.best_candidate == better and item.verdict == "identical"
    curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "candidate": better.pk, "shown": "1"})
    assert Candidate.objects.get(pk=better.pk).status == "chosen"


def test_next_file_images_are_prefetched(curator_client, local_root):
    first, second = make_real_pair(local_root, n=2)
    html = curator_client.get(reverse("review-item", args=[first.pk])).content.decode()
    web = url_or_none("asset-image", second.asset.pk, "web")
    assert web, "the rendition view route is gone"  # a removed route fails, never skips
    assert f'rel="prefetch" href="{web}"' in html


def test_unreadable_and_no_match_files_render_without_a_match(curator_client, local_root):
    src = SourceFactory(root=str(local_root / "c2"), role="cleanup")
    images.save(images.photo("coins", size=(200, 150)), local_root / "c2" / "bad.jpg")
    images.truncate(local_root / "c2" / "bad.jpg", keep=0.3)
    bad = ReviewItem.objects.create(asset=AssetFactory(source=src, key="bad.jpg", decode_status="unreadable",
                                                       decode_error="image file is truncated"), verdict="unreadable")
    curator_client.post(reverse("review-take", args=[bad.pk]))
    html = curator_client.get(reverse("review-item", args=[bad.pk])).content.decode()
    assert 'data-testid="no-match"' in html and "does not decode" in html
    assert 'data-testid="flag-cleanup"' in html and "truncated" in html
    assert re.search(r'value="approve_delete"[^>]*disabled', html)
    assert re.search(r'<option value="cleanup_corrupt" selected>', html)
    r = curator_client.post(reverse("review-decide", args=[bad.pk]), {"action": "approve_delete", "shown": "1"}, follow=True)
    assert "no match to keep" in r.content.decode()
    r = curator_client.post(reverse("review-decide", args=[bad.pk]), {"action": "reingest", "note": "only copy"})
    assert r.status_code == 302 and bad.asset.reingests.get().reason == "only copy"


# ---------------------------------------------------------------- every image of the demo exists


class _ImageRefs(HTMLParser):
    """Every image URL a file view makes the browser (or review.js) ask for: <img src>, the
    heat-map's <img data-src> (loaded on H), <link rel=prefetch>, the page's data-prefetch list
    (review.js preloads it) and the viewer's data-aligned / data-raw (the O toggle swaps them in)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.urls += [a[k] for k in ("src", "data-src") if a.get(k)]
        if tag == "link" and "prefetch" in (a.get("rel") or "").split() or tag == "link" and a.get("rel") == "icon":
            self.urls.append(a.get("href") or "")
        if a.get("id") == "review":
            self.urls += (a.get("data-prefetch") or "").split()
        if a.get("id") == "viewer":
            self.urls += [a[k] for k in ("data-aligned", "data-raw") if a.get(k)]


def test_every_image_a_demo_file_view_asks_for_exists(demo_dirs, client, picture):
    """The demo as `make run` loads it (doppel_demo into the test database and storage), walked
    as a curator does it: Next, look at the file (and follow every image, the heat-map and what the
    page prefetches for the next file), Skip, until every file was seen; then every file's page
    once more read-only, and every object's and source's page. Not one image request may fail."""
    run_demo()
    client.force_login(get_user_model().objects.get(username="curator"))
    items = set(ReviewItem.objects.values_list("pk", flat=True))
    assert len(items) >= 20
    seen, asked, failed = set(), {}, []

    def walk_page(url):
        r = client.get(url)
        assert r.status_code == 200, url
        refs = _ImageRefs()
        refs.feed(r.content.decode())
        for src in refs.urls:
            if src.startswith("data:") or src in asked:
                continue
            got = picture(client, src)
            asked[src] = got.status_code
            if got.status_code != 200:
                failed.append((url, src, got.status_code))

    r = client.post(reverse("review-next"))
    for _ in range(3 * len(items)):
        m = re.match(r"^/review/(\d+)/", r["Location"]) if r.status_code == 302 else None
        if m is None or int(m.group(1)) in seen:
            break
        pk = int(m.group(1))
        seen.add(pk)
        walk_page(r["Location"])
        r = client.post(reverse("review-decide", args=[pk]), {"action": "skip"})
    assert seen == items, f"the curator's walk reached {len(seen)} of {len(items)} files"
    for pk in items:
        walk_page(reverse("review-item", args=[pk]))
    # every object's own page, and the sources' pages with their thumbnails
    for pk in Asset.objects.values_list("pk", flat=True):
        walk_page(reverse("asset-detail", args=[pk]))
    for pk in Source.objects.values_list("pk", flat=True):
        walk_page(reverse("source-detail", args=[pk]))
    assert len(asked) > 2 * len(items)  # the walk really followed the images
    assert not failed, "image requests that failed (page, image, status):\n" + "\n".join(map(str, failed))


@pytest.mark.parametrize("rotation, flipped", [(90, False), (270, False), (0, True), (90, True)])
def test_turn_arrows_and_words_agree_on_the_file_view_the_asset_page_and_the_api(
        client, local_root, rotation, flipped):
    """The engine's rotation is counter-clockwise: every arrow beside it is ↺ and every word says
    counter-clockwise; a mirrored-only pair says "mirrored", never "turned 0"."""
    from rest_framework.test import APIClient

    item = make_real_pair(local_root, rotation=rotation, flipped=flipped, verdict="rotated")[0]
    cand = item.best_candidate
    cand.reasons = []  # only what the page itself renders
    cand.safe_to_delete = False
    cand.save()
    curator = UserFactory(role="curator")
    client.force_login(curator)
    page = client.get(reverse("review-item", args=[item.pk])).content.decode()
    asset_page = client.get(reverse("asset-detail", args=[item.asset_id])).content.decode()
    api = APIClient()
    api.force_authenticate(curator)
    data = api.get(f"/api/v1/candidates/{cand.pk}/").json()
    for text in (page, asset_page, data["turn"]):
        assert "↻" not in text and "turned 0" not in text and "clockwise" not in text.replace("counter-clockwise", "")
    if rotation:
        badge = re.search(r'data-testid="rotation-badge"[^>]*>(.*?)</span></span>', page, re.S).group(0)
        assert "↺" in badge and f"{rotation}°" in badge and "counter-clockwise" in badge
        assert data["turn"].startswith(f"turned {rotation}° counter-clockwise") and "counter-clockwise" in asset_page
    else:
        assert 'data-testid="rotation-badge"' not in page and data["turn"] == "mirrored"
    assert ('data-testid="mirror-badge"' in page) == flipped and ("mirrored" in data["turn"]) == flipped


# ---------------------------------------------------------------- what became of the file


def _image_refs(html):
    refs = _ImageRefs()
    refs.feed(html)
    return [u for u in refs.urls if u and not u.startswith("data:")]


def test_the_file_view_says_a_file_is_in_quarantine_by_which_plan_and_then_that_it_was_restored(
        client, run_plan, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)
    plan = run_plan(admin, [d])
    assert plan.items.get().state == DeletionItem.State.QUARANTINED
    client.force_login(cur)
    html = client.get(reverse("review-item", args=[d.review_item_id])).content.decode()
    fate = re.search(r'data-fate="quarantined">(.*?)</p>', html, re.S).group(1)
    assert "In quarantine since" in fate and f"deletion plan #{plan.pk}" in fate and "restored" in fate
    assert reverse("deletion-plan-detail", args=[plan.pk]) not in fate  # the plan page is an admin's: no link to a 403
    client.force_login(admin)
    html = client.get(reverse("review-item", args=[d.review_item_id])).content.decode()
    assert f'<a href="{reverse("deletion-plan-detail", args=[plan.pk])}">Plan #{plan.pk}</a>' in html

    deletion_restore(actor=admin, item=plan.items.get())
    html = client.get(reverse("review-item", args=[d.review_item_id])).content.decode()
    assert 'data-fate="quarantined"' not in html
    assert re.search(rf'data-fate="restored">.*Restored from quarantine on .* \(deletion plan #{plan.pk}\)', html)


def test_a_taken_down_file_says_so_and_its_page_asks_for_no_picture_that_is_gone(client, sources, users):
    cur, admin = users
    d = scenario(*sources, cur)  # an approved file, as in the report: "Decided: Approve deletion"
    client.force_login(cur)
    before = _image_refs(client.get(reverse("review-item", args=[d.review_item_id])).content.decode())
    assert reverse("asset-image", args=[d.asset_id, "web"]) in before  # the picture was shown before
    takedown_execute(actor=admin, assets=[d.asset], reason="court order 2026/17 (test)")
    html = client.get(reverse("review-item", args=[d.review_item_id])).content.decode()
    assert re.search(r'data-fate="taken_down">.*Removed by a legal takedown on .*court order 2026/17', html, re.S)
    assert "Removed by a legal takedown: there is no picture of this copy any more." in html  # the pane's words
    refs = _image_refs(html)
    assert not [u for u in refs if client.get(u).status_code == 410], refs
    assert reverse("asset-image", args=[d.asset_id, "web"]) not in refs
    # the pair's pictures answer 410 too, so none of them is asked for
    assert not [u for u in refs if f"/candidate/{d.candidate_id}/" in u]


def test_a_failed_reingest_is_stated_with_its_reason_on_the_file_view(curator_client, curator):
    item = ReviewItemFactory()
    ReingestItem.objects.create(asset=item.asset, state=ReingestItem.State.FAILED, retryable=False,
                                error="the canonical copy does not decode fully (damaged)")
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    fate = re.search(r'data-fate="reingest_failed">(.*?)</p>', html, re.S).group(1)
    assert "Reingest failed: the canonical copy does not decode fully (damaged)" in fate and "not be retried" in fate
    assert reverse("reingest-detail", args=[item.asset.reingests.get().pk]) in fate  # curators may read it


# ---------------------------------------------------------------- outdated candidates


def _kept_copy_reanalysed(item, cand):
    """The kept copy changed (it no longer decodes) and was analysed again; the file was compared
    again by a later job that no longer found a kept copy: what the report saw on /review/10/."""
    match = cand.match_asset
    Asset.objects.filter(pk=match.pk).update(etag="new-etag", analysed_etag="new-etag", decode_status="unreadable")
    later = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.DONE)
    ReviewItem.objects.filter(pk=item.pk).update(verdict="no_match", best_candidate=None, job=later)


def test_a_candidate_computed_before_its_kept_copy_changed_is_shown_outdated_and_cannot_be_chosen(curator_client, curator):
    item = ReviewItemFactory()
    cand = item.best_candidate
    _kept_copy_reanalysed(item, cand)
    review_lease_take(actor=curator, item_id=item.pk)
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    other = re.search(rf'<div class="other" data-candidate="{cand.pk}">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "Outdated: the kept copy changed and was re-analysed since the pair was compared" in other
    assert "Make this the match" not in other and "safe" not in other
    r = curator_client.post(reverse("review-choose", args=[item.pk]), {"candidate": cand.pk}, follow=True)
    assert "that candidate is outdated" in r.content.decode()
    item.refresh_from_db()
    assert item.best_candidate is None and item.verdict == "no_match"
    api = api_client_for(curator).get(f"/api/v1/review/{item.pk}/").json()
    assert api["verdict"] == "no_match"
    assert api["candidates"][0]["outdated"] == "the kept copy changed and was re-analysed since the pair was compared"


def test_a_chosen_candidate_that_is_outdated_says_so_instead_of_safe_to_delete_and_d_is_refused(curator_client, curator):
    item = ReviewItemFactory()
    cand = item.best_candidate
    later = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.DONE)
    Candidate.objects.filter(pk=cand.pk).update(job=Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.DONE))
    ReviewItem.objects.filter(pk=item.pk).update(job=later)  # compared again since, without this pair
    review_lease_take(actor=curator, item_id=item.pk)
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert f"outdated: the file was compared again (job #{later.pk}) and this pair was not part of that comparison" in html
    assert "engine: safe to delete" not in html
    assert 'data-testid="d-refused"' in html
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "approve_delete", "candidate": cand.pk, "shown": "1"})
    assert r.status_code == 302
    assert not Decision.objects.filter(review_item=item).exists()
    # the same candidate, current (this run wrote it), is offered as safe again
    Candidate.objects.filter(pk=cand.pk).update(job=later)
    html = curator_client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert "engine: safe to delete" in html and "outdated" not in html

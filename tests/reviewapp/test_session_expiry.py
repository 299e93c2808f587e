"""A session that ends mid-action: the login page says why, and after login the browser's GET to
the action's POST-only address changes nothing and lands on the page the action belongs to, saying
it was not done (Django's bare 405 had no title, no navigation and no way on)."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from reviewapp.models import DeletionItem, ReingestItem

pytestmark = pytest.mark.django_db

ACTIONS = [  # (the POST-only action, where a GET to it goes instead)
    (reverse("deletion-item-restore", args=[7]), reverse("quarantine-list")),
    (reverse("deletion-plan-action", args=[3, "execute"]), reverse("deletion-plan-detail", args=[3])),
    (reverse("job-action", args=[5, "pause"]), reverse("job-detail", args=[5])),
    (reverse("job-start"), reverse("job-list")),
    (reverse("reingest-action", args=[4, "send"]), reverse("reingest-detail", args=[4])),
    (reverse("reingest-send-all"), reverse("reingest-list")),
    (reverse("reingest-check"), reverse("reingest-list")),
]


def test_the_login_page_says_the_session_ended_and_the_action_was_not_done(client):
    action = ACTIONS[0][0]
    r = client.post(action)
    assert r.status_code == 302 and r["Location"].startswith(reverse("login"))
    html = client.get(r["Location"]).content.decode()
    # (said so that it is true of a first visit to a bookmarked page as well: the page cannot tell the two apart
    # once the browser has dropped an expired session's cookie)
    assert "Sign in to go on. If your session ended while you were working, what you were doing was not done." in html
    assert 'aria-describedby="login-why"' in html
    # a plain visit to the login page (no `next`) says nothing of the kind
    assert "If your session ended" not in client.get(reverse("login")).content.decode()


@pytest.mark.parametrize("action, back", ACTIONS)
def test_after_login_a_get_to_an_admin_action_goes_to_its_page_saying_nothing_was_done(client, admin_user, action, back):
    client.force_login(admin_user)
    r = client.get(action)
    assert r.status_code == 302 and r["Location"] == back, (r.status_code, r.get("Location"))
    messages = [str(m) for m in r.wsgi_request._messages]
    assert messages and messages[0].startswith("Nothing was done"), messages
    assert not DeletionItem.objects.exists() and not ReingestItem.objects.exists()


def test_after_a_login_that_came_from_an_action_the_browser_lands_on_its_page_not_a_405(client, admin_user):
    admin_user.set_password("pw-expired")
    admin_user.save()
    action, back = ACTIONS[0]
    r = client.post(reverse("login"), {"username": admin_user.username, "password": "pw-expired", "next": action},
                    follow=True)
    assert r.status_code == 200 and r.redirect_chain[-1][0] == back, r.redirect_chain
    assert "Nothing was done" in r.content.decode()


def test_a_wrong_password_marks_the_fields_invalid_and_is_announced_not_a_static_alert(client, admin_user):
    html = client.post(reverse("login"), {"username": admin_user.username, "password": "wrong"}).content.decode()
    main = html[html.index("<main"):]
    assert 'role="alert"' not in main, "a role=alert present at load is not reliably read"
    assert len(re.findall(r'aria-invalid="true"', main)) == 2
    assert 'aria-describedby="login-error"' in main and 'id="login-error"' in main


def test_a_405_that_is_still_reachable_is_a_real_page_with_a_title_and_a_way_on(client, admin_user):
    client.force_login(admin_user)
    r = client.get(reverse("logout"))   # Django's logout takes only a POST
    assert r.status_code == 405 and "POST" in r["Allow"]
    html = r.content.decode()
    assert re.search(r"<title>Not done: that address takes a form's button · Doppel</title>", html), html[:300]
    assert '<nav class="mainnav"' in html and reverse("dashboard") in html and "<h1>Nothing was done</h1>" in html
    # a non-GET to an action is answered the same way
    assert "<h1>Nothing was done</h1>" in client.put(reverse("job-start")).content.decode()

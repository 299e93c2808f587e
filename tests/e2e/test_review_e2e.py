"""The curator's day in headless Chromium: log in, review from the keyboard, undo, see a
corruption flag, never share a file with a second curator, stay out of admin pages; the file view
is screenshotted and checked (not blank, both images really loaded)."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse

from reviewapp.models import Decision, ErrorLogEntry, ReviewItem
from tests.conftest import browser_login
from tests.factories import UserFactory
from tests.reviewapp.test_review_views import make_real_pair

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def item_id(page):
    return int(page.locator("#review").get_attribute("data-item"))


def wait_images(page, *ids):
    for i in ids:
        page.wait_for_function(
            f"() => {{ const i = document.getElementById('{i}'); return i && i.complete && i.naturalWidth > 0; }}",
            timeout=20000)


def screenshot_variance(png: bytes) -> float:
    from PIL import Image, ImageStat

    img = Image.open(io.BytesIO(png)).convert("L")
    return ImageStat.Stat(img).var[0]


def goto_next(page, live_server, qs=""):
    """The queue page, then "Start reviewing" (a POST: looking at pages never takes a lease)."""
    page.goto(f"{live_server.url}{reverse('review-home')}{qs}")
    page.click("#start-review")
    page.wait_for_selector("#review")


@pytest.fixture
def pairs(local_root):
    return make_real_pair(local_root, n=4, rotation=90, verdict="rotated")


def test_keyboard_only_review_with_undo_and_checked_screenshots(page, live_server, curator, pairs):
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    first = item_id(page)
    assert first == pairs[0].pk
    wait_images(page, "img-cleanup", "img-match")
    # both sides loaded and the same scale: the aligned kept copy has the clean-up copy's shape
    dims = page.evaluate("""() => ['img-cleanup', 'img-match'].map(id => {
        const i = document.getElementById(id); const r = i.getBoundingClientRect();
        return [i.naturalWidth, i.naturalHeight, Math.round(r.width), Math.round(r.height)]; })""")
    assert dims[0][0] > 0 and dims[1][0] > 0
    assert abs(dims[0][2] - dims[1][2]) <= 2 and abs(dims[0][3] - dims[1][3]) <= 2
    assert page.locator('[data-testid="rotation-badge"]').inner_text().strip().startswith("↺ 90")
    shot = page.locator("#viewer").screenshot()
    assert screenshot_variance(shot) > 200
    for sel in ("#img-cleanup", "#img-match"):
        assert screenshot_variance(page.locator(sel).screenshot()) > 200

    # viewer keys: blink, swipe, heat-map, raw orientation, zoom, help
    page.keyboard.press("b")
    assert "mode-blink" in page.locator("#viewer").get_attribute("class")
    page.keyboard.press("w")
    assert "mode-slider" in page.locator("#viewer").get_attribute("class")
    page.keyboard.press("h")
    wait_images(page, "img-diff")
    page.keyboard.press("1")
    page.keyboard.press("o")
    page.wait_for_function("() => document.getElementById('img-match').src.endsWith(document.getElementById('viewer').dataset.raw)")
    wait_images(page, "img-match")
    raw_dims = page.evaluate("() => [document.getElementById('img-match').naturalWidth, document.getElementById('img-match').naturalHeight]")
    assert raw_dims[0] < raw_dims[1]  # the kept copy is stored rotated: portrait as stored
    page.keyboard.press("o")
    page.keyboard.press("+")
    assert page.locator("#zoom-level").inner_text() == "150%"
    page.keyboard.press("0")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()

    # D approves and moves on
    with page.expect_navigation():
        page.keyboard.press("d")
    page.wait_for_selector("#review")
    second = item_id(page)
    assert second != first
    assert Decision.objects.get(review_item_id=first).action == "approve_delete"

    # E: category + note from the keyboard
    page.keyboard.press("e")
    page.wait_for_selector("#error-dialog[open]")
    page.keyboard.type("wrong ID on the scan")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#review")
    third = item_id(page)
    entry = ErrorLogEntry.objects.get(decision__review_item_id=second)
    assert entry.note == "wrong ID on the scan"

    # S skips, N decides, U undoes the N and brings that file back
    with page.expect_navigation():
        page.keyboard.press("s")
    page.wait_for_selector("#review")
    fourth = item_id(page)
    assert fourth not in (first, second, third)
    with page.expect_navigation():
        page.keyboard.press("n")
    with page.expect_navigation():
        page.keyboard.press("u")
    page.wait_for_selector("#review")
    assert item_id(page) == fourth
    assert ReviewItem.objects.get(pk=fourth).status == "leased"
    assert Decision.objects.filter(action="undo", undoes__review_item_id=fourth).count() == 1
    # R routes it to reingest; the skipped file comes back last
    with page.expect_navigation():
        page.keyboard.press("r")
    page.wait_for_selector("#review")
    assert item_id(page) == third
    assert ReviewItem.objects.get(pk=fourth).asset.reingests.count() == 1


def test_corruption_flag_shows_the_side_and_the_region(page, live_server, curator, local_root):
    item = make_real_pair(local_root, verdict="match_corrupt", corrupt_side="match",
                          region={"top": 0.5, "left": 0.0, "bottom": 0.75, "right": 1.0})[0]
    browser_login(page, live_server, "curator1", "pw-curator1")
    page.goto(f"{live_server.url}{reverse('review-item', args=[item.pk])}")
    with page.expect_navigation():  # looking took no lease: "Review this file" (a POST) does
        page.click("#take-form button")
    flag = page.locator('[data-testid="flag-match"]')
    assert flag.is_visible() and "Kept copy" in flag.inner_text()
    assert page.locator('[data-testid="flag-cleanup"]').count() == 0
    wait_images(page, "img-match")
    box = page.locator('[data-testid="damage-match"]').bounding_box()
    img = page.locator("#img-match").bounding_box()
    assert box and img and box["width"] > 0.9 * img["width"]
    assert abs((box["y"] - img["y"]) / img["height"] - 0.5) < 0.03
    assert abs(box["height"] / img["height"] - 0.25) < 0.03
    # D is refused with a clear message, said in the alert live region, and the file stays
    page.keyboard.press("d")
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('kept copy is damaged')")
    assert int(page.locator("#review").get_attribute("data-item")) == item.pk
    assert not Decision.objects.exists()


def test_two_curators_never_get_the_same_file(browser, live_server, local_root):
    make_real_pair(local_root, n=6)
    users = [UserFactory(role="curator", username=f"cur{i}") for i in range(2)]
    contexts = [browser.new_context(viewport={"width": 1200, "height": 800}) for _ in users]
    try:
        pages = [c.new_page() for c in contexts]
        for p, u in zip(pages, users):
            p.set_default_timeout(15000)
            browser_login(p, live_server, u.username, f"pw-{u.username}")
        seen = []
        for _round in range(3):
            ids = []
            for p in pages:
                goto_next(p, live_server)
                ids.append(item_id(p))
            assert ids[0] != ids[1]
            seen += ids
            for p in pages:
                with p.expect_navigation():
                    p.keyboard.press("n")
        assert len(set(seen)) == 6
    finally:
        for c in contexts:
            c.close()


POST_FROM_PAGE = """async (url) => {
    const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
    const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}, redirect: 'manual'});
    return r.status; }"""


def test_curator_cannot_reach_admin_pages(browser, page, live_server, curator, admin_user):
    from reviewapp.models import Job

    job = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.RUNNING)
    cancel = reverse("job-action", args=[job.pk, "cancel"])
    browser_login(page, live_server, "curator1", "pw-curator1")
    page.goto(f"{live_server.url}{reverse('review-home')}")  # a page with a form: the CSRF cookie is set
    assert page.evaluate(POST_FROM_PAGE, cancel) == 403
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING
    # the same request from an admin's browser works, so the 403 above was the role check
    ctx = browser.new_context()
    try:
        admin_page = ctx.new_page()
        browser_login(admin_page, live_server, "admin1", "pw-admin1")
        admin_page.goto(f"{live_server.url}{reverse('review-bulk')}")
        assert admin_page.locator('[name="max_diff"]').count() == 1
        admin_page.evaluate(POST_FROM_PAGE, cancel)
        job.refresh_from_db()
        assert job.state == Job.State.CANCELLED
    finally:
        ctx.close()

    assert page.locator('a[href="/review/bulk/"]').count() == 0
    resp = page.goto(f"{live_server.url}{reverse('review-bulk')}")
    assert resp.status == 403
    resp = page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url  # Django admin: not staff, so only its login form
    from django.urls import NoReverseMatch

    for name in ("source-add", "job-create"):
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        assert page.goto(f"{live_server.url}{url}").status == 403

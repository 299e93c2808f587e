"""The curator's day in headless Chromium: log in, review from the keyboard, undo, see a
corruption flag, never share a file with a second curator, stay out of admin pages; the file view
is screenshotted and checked (not blank, both images really loaded)."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse

from reviewapp.models import Decision, ErrorLogEntry, ReviewItem
from tests.conftest import browser_login, wait_for, wait_shown
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
    wait_shown(page)
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
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#review")
    third = item_id(page)
    entry = ErrorLogEntry.objects.get(decision__review_item_id=second)
    assert entry.note == "wrong ID on the scan"

    # S skips, N decides, U undoes the N and brings that file back
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("s")
    page.wait_for_selector("#review")
    fourth = item_id(page)
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('Skipped: ')")
    assert fourth not in (first, second, third)
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("n")
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("u")
    page.wait_for_selector("#review")
    assert item_id(page) == fourth
    # a plain page load after the undo form: the focus is on the file's name, not the page's top
    page.wait_for_function("() => document.activeElement === document.querySelector('#review h1')")
    assert ReviewItem.objects.get(pk=fourth).status == "leased"
    assert Decision.objects.filter(action="undo", undoes__review_item_id=fourth).count() == 1
    # R routes it to reingest; the skipped file comes back last
    wait_shown(page)
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


# ---------------------------------------------------------------- decisions without a page load
# review.js sends a decision in the background (the form's own POST, following its redirect) and
# swaps the next file's page into this one. These tests mark the window: a full page load would
# lose the mark, a swap keeps it.

MARK = "() => { window.__swapMark = 'kept'; }"
MARKED = "() => window.__swapMark === 'kept'"


def press_and_wait_for_item(page, key, old_item):
    """Press a decision key once the file is shown (a swapped-in file takes decisions only then)
    and wait for the next file."""
    page.wait_for_selector("#review[data-settled='1']")
    page.keyboard.press(key)
    page.wait_for_function(
        "old => { const r = document.getElementById('review'); return r && r.dataset.item !== String(old); }",
        arg=old_item)


def test_d_swaps_in_the_next_file_focuses_its_name_and_announces_the_decision(page, live_server, curator, pairs):
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server, "?verdict=rotated")
    first = item_id(page)
    wait_images(page, "img-cleanup", "img-match")
    page.evaluate(MARK)
    press_and_wait_for_item(page, "d", first)

    assert page.evaluate(MARKED), "the next file came with a full page load, not a swap"
    second = item_id(page)
    nxt = ReviewItem.objects.select_related("asset").get(pk=second)
    assert page.url == f"{live_server.url}{reverse('review-item', args=[second])}?verdict=rotated"
    assert page.locator("h1").inner_text() == nxt.asset.name
    wait_images(page, "img-cleanup", "img-match")
    assert Decision.objects.get(review_item_id=first).action == "approve_delete"
    assert ReviewItem.objects.get(pk=second).leased_by_id == curator.pk
    # the focus is on the new file's name, as a screen reader user needs to hear what changed
    assert page.evaluate("() => document.activeElement === document.querySelector('#review h1')")
    first_name = ReviewItem.objects.get(pk=first).asset.name
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('Press U')")
    assert page.locator("#live-status").inner_text().strip() == f"Approve deletion: {first_name}. Press U to undo."
    assert page.title().startswith(f"Approve deletion: {first_name}. Press U to undo. – Review {nxt.asset.name}")

    # the swapped-in page works like a loaded one: its keys, its own next decision, its form with
    # a fresh idempotency key (a second decision, not a repeat of the first)
    page.keyboard.press("b")
    assert "mode-blink" in page.locator("#viewer").get_attribute("class")
    page.keyboard.press("1")
    press_and_wait_for_item(page, "n", second)
    assert page.evaluate(MARKED)
    assert Decision.objects.get(review_item_id=second).action == "not_duplicate"
    assert Decision.objects.count() == 2

    # Back shows the previous file's URL and that file (decided now, so read-only); Forward returns
    third = item_id(page)
    page.go_back()
    page.wait_for_function("id => document.getElementById('review').dataset.item === String(id)", arg=second)
    assert page.url == f"{live_server.url}{reverse('review-item', args=[second])}?verdict=rotated"
    assert page.locator("#review").get_attribute("data-readonly") == "1"
    page.go_forward()
    page.wait_for_function("id => document.getElementById('review').dataset.item === String(id)", arg=third)
    assert page.locator("#review").get_attribute("data-readonly") == "0"


def test_a_d_the_server_refuses_shows_its_refusal_and_stays_on_the_file(page, live_server, curator, pairs):
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    first = item_id(page)
    assert page.locator('#decide-form button[value="approve_delete"]').get_attribute("aria-disabled") is None
    # the kept copy changes after the page was drawn: the page offers D, the server's rule refuses it
    kept = ReviewItem.objects.get(pk=first).best_candidate.match_asset
    kept.etag = "changed-since"
    kept.save(update_fields=["etag"])
    page.evaluate(MARK)
    wait_shown(page)
    page.keyboard.press("d")
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('changed since')")
    assert page.locator("#live-alert").inner_text().strip() == (
        "the kept copy changed since the pair was compared: analyse it again before approving")
    assert page.evaluate(MARKED) and item_id(page) == first
    assert page.url == f"{live_server.url}{reverse('review-item', args=[first])}"
    assert not Decision.objects.exists()
    # the page drawn again says so too, and D is now refused on the page itself
    assert page.locator('[data-testid="d-refused"]').inner_text().startswith("D is refused: the kept copy changed")
    page.keyboard.press("n")
    page.wait_for_function("old => document.getElementById('review').dataset.item !== String(old)", arg=first)
    assert Decision.objects.get(review_item_id=first).action == "not_duplicate"


def test_a_failed_background_post_falls_back_to_the_form_and_records_the_decision_once(page, live_server, curator, pairs):
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    first = item_id(page)

    def reach_the_server_then_fail(route):
        # the decision reaches the server (and is recorded), but the page never gets the answer
        if route.request.resource_type == "fetch":
            route.fetch(max_redirects=0)
            route.abort()
        else:
            route.continue_()

    page.route("**/decide/", reach_the_server_then_fail)
    page.evaluate(MARK)
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("d")
    page.wait_for_selector("#review")
    assert not page.evaluate(MARKED)  # the form's own submit: a full page load
    assert item_id(page) != first
    assert Decision.objects.filter(review_item_id=first).count() == 1  # the same idempotency key


def test_without_script_and_with_the_swap_off_a_decision_is_a_page_load(browser, page, live_server, curator, pairs):
    # swap off for this tab (what the benchmark compares against): the form's full page load
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    first = item_id(page)
    page.evaluate("() => sessionStorage.setItem('doppel-review-swap', 'off')")
    page.evaluate(MARK)
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("d")
    page.wait_for_selector("#review")
    assert not page.evaluate(MARKED) and item_id(page) != first
    assert Decision.objects.get(review_item_id=first).action == "approve_delete"

    # no JavaScript at all: the D button posts the form, the next file's page loads with the message
    ctx = browser.new_context(java_script_enabled=False)
    try:
        nojs = ctx.new_page()
        nojs.set_default_timeout(15000)
        browser_login(nojs, live_server, "curator1", "pw-curator1")
        goto_next(nojs, live_server)
        held = item_id(nojs)
        # approving a deletion asks the curator to say the pictures were looked at (the script's wait, without it)
        with nojs.expect_navigation():
            nojs.click('#decide-form button[value="approve_delete"]')
        assert item_id(nojs) == held and not Decision.objects.filter(review_item_id=held).exists()
        assert "needs both pictures looked at" in nojs.locator("#live-alert").inner_text()
        nojs.check('[data-testid=shown-check] input')
        with nojs.expect_navigation():
            nojs.click('#decide-form button[value="approve_delete"]')
        assert item_id(nojs) != held
        assert Decision.objects.get(review_item_id=held).action == "approve_delete"
        name = ReviewItem.objects.get(pk=held).asset.name
        assert nojs.locator("#live-status").inner_text().strip() == f"Approve deletion: {name}. Press U to undo."
    finally:
        ctx.close()


def test_deciding_the_last_file_goes_to_the_empty_queue_page_and_still_announces_it(page, live_server, curator, local_root):
    only = make_real_pair(local_root, n=1)[0]
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    assert item_id(page) == only.pk
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("d")
    page.wait_for_selector("[data-testid=queue-empty]")
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('Press U')")
    assert page.locator("#live-status").inner_text().strip() == f"Approve deletion: {only.asset.name}. Press U to undo."


def test_a_held_key_or_a_quick_second_press_decides_one_file_not_the_ones_after_it(page, live_server, curator, pairs):
    """Holding D, or pressing N again right after the next file came in, must not decide files the
    curator has not seen: a repeat is ignored, and a swapped-in file takes a decision only once it
    is shown (its images in, a moment gone by); the early press is answered, not silent."""
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server, "?verdict=rotated")
    first = item_id(page)
    wait_images(page, "img-cleanup", "img-match")
    page.keyboard.down("d")  # held: every further keydown is a repeat (Playwright sets repeat: true)
    page.wait_for_function(
        "old => { const r = document.getElementById('review'); return r && r.dataset.item !== String(old); }",
        arg=first)
    page.wait_for_selector("#review[data-settled='1']")
    for _ in range(3):  # still held, the next file shown: repeats decide nothing
        page.keyboard.down("d")
        page.wait_for_timeout(150)
    page.keyboard.up("d")
    assert Decision.objects.count() == 1 and Decision.objects.get().review_item_id == first
    second = item_id(page)
    page.keyboard.press("n")
    page.wait_for_function(
        "old => { const r = document.getElementById('review'); return r && r.dataset.item !== String(old); }",
        arg=second)
    page.keyboard.press("n")  # at once: the third file is not shown yet
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('still being shown')")
    page.wait_for_selector("#review[data-settled='1']")
    assert Decision.objects.count() == 2
    assert set(Decision.objects.values_list("review_item_id", flat=True)) == {first, second}


def test_single_key_shortcuts_can_be_turned_off_and_never_act_from_the_site_menu(page, live_server, curator, pairs):
    """WCAG 2.1.4, an attack: with a link of the site's menu focused, N decided the file on screen, and the
    shortcuts could not be turned off. A letter pressed in the menu now does nothing; the Keys dialog's switch
    turns every single-key shortcut off in this browser (the buttons still decide) and on again."""
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server, "?verdict=rotated")
    wait_images(page, "img-cleanup", "img-match")
    page.wait_for_selector("#review[data-settled='1']")
    first = item_id(page)
    page.locator("header a, nav a").first.focus()
    page.keyboard.press("n")
    page.wait_for_timeout(400)
    assert Decision.objects.count() == 0 and item_id(page) == first
    page.click("#btn-help")
    page.locator("#single-keys").uncheck()
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('shortcuts are off')")
    page.keyboard.press("Escape")
    page.locator("#review h1").focus()
    page.keyboard.press("n")
    page.wait_for_timeout(400)
    assert Decision.objects.count() == 0 and item_id(page) == first
    page.reload()                                        # kept in this browser
    page.wait_for_selector("#review[data-settled='1']")
    page.keyboard.press("n")
    page.wait_for_timeout(400)
    assert Decision.objects.count() == 0
    page.click("#btn-help")
    assert not page.locator("#single-keys").is_checked()
    page.locator("#single-keys").check()
    page.keyboard.press("Escape")
    page.locator("#review h1").focus()
    page.keyboard.press("n")
    page.wait_for_function(
        "old => { const r = document.getElementById('review'); return r && r.dataset.item !== String(old); }", arg=first)
    assert Decision.objects.count() == 1


def test_the_damaged_region_is_drawn_over_the_picture_not_over_preparing_this_picture(page, live_server, curator,
                                                                                      local_root, monkeypatch):
    """The red region was drawn over "Preparing this picture…" while the kept copy's picture was being made
    (stop 75's leftover): it is hidden until the picture is there."""
    from types import SimpleNamespace

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task, candidate_rendition_task

    item = make_real_pair(local_root, verdict="match_corrupt", corrupt_side="match",
                          region={"top": 0.5, "left": 0.0, "bottom": 0.75, "right": 1.0})[0]
    queued = []
    monkeypatch.setattr(renditions, "asset_renditions_task", SimpleNamespace(delay=lambda *a: queued.append((asset_renditions_task, a))))
    monkeypatch.setattr(renditions, "candidate_rendition_task",
                        SimpleNamespace(delay=lambda *a: queued.append((candidate_rendition_task, a))))
    browser_login(page, live_server, "curator1", "pw-curator1")
    page.goto(f"{live_server.url}{reverse('review-item', args=[item.pk])}")
    with page.expect_navigation():
        page.click("#take-form button")
    page.locator("#img-match").locator("xpath=..").locator("[data-testid=img-preparing]").wait_for()
    assert not page.locator('[data-testid="damage-match"]').is_visible()
    for task, args in list(queued):
        task(*args)
    wait_images(page, "img-match")
    assert page.locator('[data-testid="damage-match"]').is_visible()


def test_a_file_whose_picture_is_being_made_takes_decisions_once_the_picture_is_in(page, live_server, curator, pairs,
                                                                                  monkeypatch):
    """The image views never make a picture in the request (503, "Preparing this picture…"): a
    file swapped in whose kept copy is still being made must not be decided unseen by a quick second
    press, as a file whose picture was loading is not."""
    from types import SimpleNamespace

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task, candidate_rendition_task

    queued = []  # the broker; the worker's part is run by the test
    monkeypatch.setattr(renditions, "asset_renditions_task", SimpleNamespace(delay=lambda *a: queued.append((asset_renditions_task, a))))
    monkeypatch.setattr(renditions, "candidate_rendition_task",
                        SimpleNamespace(delay=lambda *a: queued.append((candidate_rendition_task, a))))

    def worker_runs(item):
        """The worker makes the pictures of ``item`` that were queued (the page prefetched the next
        file's too: those stay queued)."""
        mine = {(asset_renditions_task, (item.asset_id,)), (candidate_rendition_task, (item.best_candidate_id, "aligned"))}
        for job in [j for j in queued if j in mine]:
            queued.remove(job)
            job[0](*job[1])

    def preparing(img_id):
        page.locator(f"#{img_id}").locator("xpath=..").locator("[data-testid=img-preparing]").wait_for()

    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server, "?verdict=rotated")
    first = item_id(page)
    assert first == pairs[0].pk
    preparing("img-match")
    worker_runs(pairs[0])
    wait_images(page, "img-cleanup", "img-match")
    page.wait_for_function("() => document.getElementById('live-status').textContent.includes('ready')")
    page.keyboard.press("n")
    page.wait_for_function("old => { const r = document.getElementById('review'); return r && r.dataset.item !== String(old); }",
                           arg=first)
    assert item_id(page) == pairs[1].pk
    preparing("img-match")
    page.keyboard.press("n")   # at once: a second press meant for the file before
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('still being shown')")
    assert Decision.objects.count() == 1
    page.wait_for_selector("#review[data-settled='1']")   # its "Preparing this picture…" is what is shown
    page.keyboard.press("d")   # approving a deletion waits for the picture itself
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('waits until both pictures')")
    assert Decision.objects.count() == 1
    worker_runs(pairs[1])
    wait_images(page, "img-cleanup", "img-match")
    page.locator("[data-testid=live-status]", has_text="ready").wait_for()


def test_a_deletion_is_approved_only_once_both_pictures_are_shown_on_a_page_loaded_whole(page, live_server, curator,
                                                                                        local_root, monkeypatch):
    """A fresh-eyed attack (stop 75): a page loaded whole took D while its kept copy still said "Preparing this
    picture…". Approval waits for both pictures; the other decisions do not."""
    from types import SimpleNamespace

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task, candidate_rendition_task

    pairs = make_real_pair(local_root, n=2)
    queued = []
    monkeypatch.setattr(renditions, "asset_renditions_task", SimpleNamespace(delay=lambda *a: queued.append((asset_renditions_task, a))))
    monkeypatch.setattr(renditions, "candidate_rendition_task",
                        SimpleNamespace(delay=lambda *a: queued.append((candidate_rendition_task, a))))
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server)
    first = item_id(page)
    assert page.locator('#decide-form button[value="approve_delete"]').get_attribute("aria-disabled") is None
    page.locator("#img-match").locator("xpath=..").locator("[data-testid=img-preparing]").wait_for()
    page.keyboard.press("d")
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('waits until both pictures')")
    page.click('#decide-form button[value="approve_delete"]')
    page.wait_for_timeout(300)
    assert not Decision.objects.exists() and item_id(page) == first
    # the kept copy as stored (O) is in, the aligned overlay is not: blink and swipe show the overlay
    raw = reverse("asset-image", args=[ReviewItem.objects.get(pk=first).best_candidate.match_asset_id, "web"])
    page.keyboard.press("o")
    page.wait_for_function("raw => document.getElementById('img-match').getAttribute('src') === raw", arg=raw)
    match_id = ReviewItem.objects.get(pk=first).best_candidate.match_asset_id
    wait_for(lambda: (asset_renditions_task, (match_id,)) in queued, timeout=20, message="the kept copy as stored asked for")
    for task, args in [q for q in queued if q[0] is asset_renditions_task]:
        queued.remove((task, args))
        task(*args)
    wait_images(page, "img-cleanup", "img-match")
    page.keyboard.press("b")
    page.keyboard.press("d")
    page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('waits until both pictures')")
    assert not Decision.objects.exists()
    page.keyboard.press("o")
    page.keyboard.press("1")
    for task, args in list(queued):
        task(*args)
    wait_images(page, "img-cleanup", "img-match")
    page.keyboard.press("d")
    page.wait_for_function("old => document.getElementById('review').dataset.item !== String(old)", arg=first)
    assert Decision.objects.get(review_item_id=first).action == "approve_delete"
    assert first in {p.pk for p in pairs}


def test_the_raw_orientation_asked_for_while_the_aligned_copy_is_being_made_is_shown_once_made(page, live_server, curator,
                                                                                               pairs, monkeypatch):
    """O while the aligned kept copy is still "Preparing this picture…": the page stops waiting for
    the aligned one and waits for the raw one (being made too), then shows it."""
    from types import SimpleNamespace

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task, candidate_rendition_task

    queued = []
    monkeypatch.setattr(renditions, "asset_renditions_task", SimpleNamespace(delay=lambda *a: queued.append((asset_renditions_task, a))))
    monkeypatch.setattr(renditions, "candidate_rendition_task",
                        SimpleNamespace(delay=lambda *a: queued.append((candidate_rendition_task, a))))
    browser_login(page, live_server, "curator1", "pw-curator1")
    goto_next(page, live_server, "?verdict=rotated")
    match = page.locator("#img-match")
    match.locator("xpath=..").locator("[data-testid=img-preparing]").wait_for()
    page.keyboard.press("o")
    raw = reverse("asset-image", args=[pairs[0].best_candidate.match_asset_id, "web"])
    page.wait_for_function("raw => document.getElementById('img-match').getAttribute('src') === raw", arg=raw)
    page.wait_for_timeout(3000)  # the aligned copy's next ask sees the raw one asked for instead
    assert match.locator("xpath=..").locator("[data-testid=img-preparing]").count() == 1
    assert match.get_attribute("data-preparing") == "1"
    for task, args in list(queued):
        task(*args)
    wait_images(page, "img-match")
    assert match.get_attribute("src") == raw and match.is_visible()
    assert match.locator("xpath=..").locator("[data-testid=img-preparing]").count() == 0

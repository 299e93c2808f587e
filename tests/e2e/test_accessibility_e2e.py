"""WCAG 2.2 AA in the browser: axe-core on every page a curator or an admin uses, reflow at 200%
zoom, the Content-Security-Policy never refusing anything a page needs, a full review round from
the keyboard alone, and what the live regions say.

axe-core is the npm package, vendored in tests/e2e/vendor/ (see README "Libraries"): it is run
through the DevTools protocol, so the page's CSP stays in force while it runs.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from reviewapp.models import Decision, ErrorLogEntry, Extract, ExtractArchive, Job, ReingestItem, ReviewItem
from tests.conftest import browser_login, wait_shown
from tests.factories import UserFactory, checked_plan
from tests.reviewapp.test_review_views import make_real_pair

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("critical", "serious")
THIRD_PARTY = {"api docs", "api redoc", "django admin"}


def run_axe(page) -> list[dict]:
    """Critical and serious axe-core violations on the current page (compact, for the message)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    return [{"id": v["id"], "impact": v["impact"], "count": len(v["nodes"]),
             "nodes": [n["target"] for n in v["nodes"]][:5], "help": v["help"]}
            for v in result["violations"] if v["impact"] in BLOCKING]


def sideways_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it reflows)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def small_chip_links(page) -> list[str]:
    """The state chips that are links (filters) whose target is under 24 CSS px tall (WCAG 2.5.8):
    axe passes them when they happen to stand far enough apart, a tester's ruler did not."""
    return page.evaluate("""() => [...document.querySelectorAll('a.chip')]
        .filter(a => a.getBoundingClientRect().height < 24).map(a => a.textContent.trim())""")


class CspWatch:
    """Collects the browser's own reports of anything the Content-Security-Policy refused."""

    def __init__(self, page):
        self.refused: list[str] = []
        page.on("console", self._console)

    def _console(self, msg):
        if "Content Security Policy" in msg.text or msg.text.startswith("Refused to"):
            if "https://cdn.redoc.ly/" in msg.text:
                return  # Redoc's footer logo: an outside load the policy is right to refuse
            self.refused.append(msg.text[:300])


def _no_match_item(local_root):
    """A clean-up file the engine found no kept copy for (D has nothing to keep)."""
    item = make_real_pair(local_root, n=1, verdict="no_match")[0]
    cand = item.best_candidate
    item.best_candidate = None
    item.verdict = "no_match"
    item.save(update_fields=["best_candidate", "verdict"])
    cand.delete()
    return item


def _world(local_root):
    """Enough real rows that every page has something on it: review items (one with a damaged kept
    copy, one with no match), an approved deletion in a plan, an error-log entry, a reingest item,
    a job and a name list."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reviewapp.services.inventory import inventory_start
    from reviewapp.services.namelists import namelist_upload
    from reviewapp.services.review import decision_record

    admin = UserFactory(username="admin-a11y", role="admin")
    curator = UserFactory(username="curator-a11y", role="curator")
    items = make_real_pair(local_root, n=4, rotation=180, verdict="rotated")
    items += make_real_pair(local_root, n=1, verdict="match_corrupt", corrupt_side="match",
                            region={"top": 0.51, "left": 0.0, "bottom": 1.0, "right": 1.0})
    items.append(_no_match_item(local_root))
    items += make_real_pair(local_root, n=2, verdict="duplicate")  # for the bulk approval sample
    for item, action, extra in ((items[0], "approve_delete", {}),
                                (items[1], "log_error", {"error_category": "other", "note": "wrong ID"}),
                                (items[2], "reingest", {})):
        decision_record(actor=admin, item=item, action=action, **extra)
    plan = checked_plan(actor=admin)
    cleanup = items[0].asset.source
    job = inventory_start(actor=admin, source=cleanup)
    names = namelist_upload(actor=admin, source=cleanup, title="box 1",
                            uploaded_file=SimpleUploadedFile("names.csv", b"scan_000.jpg\nnot_there.jpg\n"))
    extract = Extract.objects.create(title="for the catalogue", location="default", job=job,
                                     expires_at=timezone.now() + timedelta(days=3))
    ExtractArchive.objects.create(extract=extract, namelist=names, key=f"extract-{extract.pk}/box-1.tar")
    return {"admin": admin, "curator": curator, "items": items, "plan": plan, "job": job, "namelist": names,
            "extract": extract}


def _pages(world, role):
    """(label, url) for every page this role uses."""
    item = world["items"][3]
    asset = item.asset
    common = [
        ("dashboard", reverse("dashboard")),
        ("sources", reverse("source-list")),
        ("source", reverse("source-detail", args=[asset.source_id])),
        ("asset", reverse("asset-detail", args=[asset.pk])),
        ("review home", reverse("review-home")),
        ("jobs", reverse("job-list")),
        ("job", reverse("job-detail", args=[Job.objects.order_by("pk").first().pk])),
        ("name list", reverse("namelist-detail", args=[world["namelist"].pk])),
        ("review damaged kept copy", reverse("review-item", args=[world["items"][4].pk])),
        ("review no match", reverse("review-item", args=[world["items"][5].pk])),
        ("review rotated", reverse("review-item", args=[item.pk])),
        ("review decided", reverse("review-item", args=[world["items"][0].pk])),
        ("review empty queue", reverse("review-next") + "?verdict=different"),
        ("not found", "/no-such-page/"),   # (404: its links were under 24 px apart, a fresh-eyed attack's axe)
    ]
    if role == "curator":
        return common
    return common + [
        # the API docs: held to the CSP here (their own markup is Swagger UI's and Redoc's)
        ("api docs", reverse("api-docs")),
        ("api redoc", reverse("api-redoc")),
        ("django admin", "/admin/reviewapp/asset/"),
        ("add source", reverse("source-add")),
        ("bulk approve", reverse("review-bulk")),
        ("bulk sample", reverse("review-bulk") + "?max_diff=1&max_local=1"),
        ("upload name list", reverse("namelist-upload")),
        ("deletions", reverse("deletion-plan-list")),
        ("deletion plan", reverse("deletion-plan-detail", args=[world["plan"].pk])),
        ("quarantine", reverse("quarantine-list")),
        ("audit", reverse("audit-list")),
        ("takedown", reverse("takedown")),
        ("error log", reverse("errorlog-list")),
        ("reingest", reverse("reingest-list")),
        ("reingest item", reverse("reingest-detail", args=[ReingestItem.objects.first().pk])),
        ("extracts", reverse("extract-list")),
        ("extract", reverse("extract-detail", args=[world["extract"].pk])),
        ("delete extract", reverse("extract-delete", args=[world["extract"].pk])),
    ]


@pytest.mark.parametrize("role", ["curator", "admin"])
def test_every_page_passes_axe_reflows_at_200_and_400_percent_and_keeps_to_the_csp(browser, live_server, local_root, role):
    world = _world(local_root)
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    csp = CspWatch(page)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        failures = {"login": run_axe(page)}
        username = f"{role}-a11y"
        browser_login(page, live_server, username, f"pw-{username}")
        overflow, third_party = {}, {}
        for label, url in _pages(world, role):
            page.set_viewport_size({"width": 1280, "height": 720})
            resp = page.goto(f"{live_server.url}{url}")
            assert resp.status == (404 if label == "not found" else 200), (label, url, resp.status)
            page.wait_for_load_state("load")
            if label in ("api docs", "api redoc"):
                page.wait_for_selector(".swagger-ui .info, .api-info, [role=search]", timeout=20000)
            elif (h1 := page.locator("h1").count()) != 1:
                failures[f"{label}: h1"] = [f"{h1} h1 elements, not one"]
            if label in THIRD_PARTY:
                # Swagger UI's, Redoc's and Django admin's own markup is third-party (axe finds
                # contrast and nested-control issues in the first two); they must keep to the CSP.
                third_party[label] = page.title()
            elif found := run_axe(page):
                failures[label] = found
            # 200% zoom of 1280x720: the same page in a 640x360 CSS viewport
            page.set_viewport_size({"width": 640, "height": 360})
            page.wait_for_timeout(50)
            if (o := sideways_overflow(page)) > 1:
                overflow[label] = o
            # 400% zoom of 1280x1024 (WCAG 1.4.10's own case): a 320 px wide window. A data table
            # may scroll, inside its own named, focusable region; the page itself never does.
            page.set_viewport_size({"width": 320, "height": 640})
            page.wait_for_timeout(50)
            if (o := sideways_overflow(page)) > 1:
                overflow[f"{label} at 320 px"] = o
            elif label not in THIRD_PARTY and (found := run_axe(page)):
                failures[f"{label} at 320 px"] = found  # target sizes among them (WCAG 2.5.8)
            page.set_viewport_size({"width": 1280, "height": 720})
            if small := small_chip_links(page):
                failures[f"{label}: chip links under 24 px"] = small
        page.set_viewport_size({"width": 1280, "height": 720})
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(f"{live_server.url}{reverse('review-item', args=[world['items'][4].pk])}")
        page.screenshot(path=str(ARTIFACTS / f"a11y-review-{role}.png"))
    finally:
        ctx.close()
    failures = {k: v for k, v in failures.items() if v}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"a11y-axe-{role}.json").write_text(json.dumps(
        {"axe": failures, "overflow": overflow, "csp_refused": csp.refused, "third_party": third_party}, indent=1))
    assert not failures, failures
    assert not overflow, f"pages that scroll sideways at 200% and 400% zoom (px): {overflow}"
    assert not csp.refused, csp.refused


# ---------------------------------------------------------------- keyboard and live regions


def keyboard_login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    # the user name field has the focus on arrival (autofocus): wait for it before typing, and for the
    # password field after Tab (under load, keys typed before the focus landed were lost: login failed)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_password'")
    page.keyboard.type(f"pw-{username}")
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def focused(page, selector) -> bool:
    return page.evaluate("sel => !!document.activeElement && document.activeElement.matches(sel)", selector)


def tab_to(page, selector, limit=60):
    """Press Tab until the focus is on `selector` (the keyboard's way of getting there)."""
    for _ in range(limit):
        if focused(page, selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def current_item(page) -> int:
    return int(page.locator("#review").get_attribute("data-item"))


def live_text(page, region) -> str:
    page.wait_for_function("id => document.getElementById(id).textContent.trim() !== ''", arg=region)
    return page.locator(f"#{region}").inner_text().strip()


def finished_announcement(page) -> str:
    """What the page says once the work it follows finished: live.js reloads it (its next poll or refresh
    finds the work done), and the reloaded page's status region starts "Finished: "."""
    with page.expect_navigation(timeout=15000):
        pass
    page.wait_for_function("() => document.getElementById('live-status').textContent.startsWith('Finished: ')")
    return live_text(page, "live-status")


def start_reviewing(page, live_server):
    """From the queue page, "Start reviewing" by keyboard: the lease is taken by that POST, never
    by opening a page."""
    page.goto(f"{live_server.url}{reverse('review-home')}")
    tab_to(page, "#start-review")
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#review")


def test_a_full_review_round_from_the_keyboard_alone(page, live_server, local_root):
    curator = UserFactory(username="keys-a11y", role="curator")
    items = make_real_pair(local_root, n=5, rotation=180, verdict="rotated")
    keyboard_login(page, live_server, "keys-a11y")
    start_reviewing(page, live_server)
    assert page.locator("h1").inner_text() == items[0].asset.name
    alt = page.locator("#img-match").get_attribute("alt")
    assert alt == f"Kept copy {items[0].best_candidate.match_asset.name}, turned 180° to align", alt

    # ? opens a real modal dialog that holds the focus; Esc closes it and the focus comes back
    page.keyboard.press("?")
    assert page.locator("dialog#help[open]").count() == 1
    assert focused(page, "#help-close")
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('help').contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('help').open && document.activeElement.id === 'btn-help'")

    # view modes are toggle buttons; Space on a focused button presses that button, not "flip"
    page.keyboard.press("b")
    assert page.locator('.mode[data-mode="blink"]').get_attribute("aria-pressed") == "true"
    tab_to(page, '.mode[data-mode="side"]')
    page.keyboard.press("Space")
    assert "mode-side" in page.locator("#viewer").get_attribute("class")
    assert page.locator('.mode[data-mode="side"]').get_attribute("aria-pressed") == "true"
    assert page.locator('.mode[data-mode="blink"]').get_attribute("aria-pressed") == "false"

    # E opens the error dialog; Enter on Cancel cancels (nothing logged) and the focus returns
    page.keyboard.press("e")
    assert page.locator("#error-dialog[open]").count() == 1 and focused(page, "#error-note")
    page.keyboard.type("not meant")
    tab_to(page, "#error-cancel")
    page.keyboard.press("Enter")
    page.wait_for_function("""() => !document.getElementById('error-dialog').open
        && document.activeElement.matches('.mode[data-mode="side"]')""")
    assert current_item(page) == items[0].pk
    # Esc cancels too
    page.keyboard.press("e")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.getElementById('error-dialog').open")
    assert not Decision.objects.exists() and not ErrorLogEntry.objects.exists()
    # a letter typed in the note is text, not a shortcut; Enter in the note logs the error
    page.keyboard.press("e")
    page.keyboard.press("Control+a")
    page.keyboard.type("wrong ID on the scan, see D and N")
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#review")
    entry = ErrorLogEntry.objects.get()
    assert entry.note == "wrong ID on the scan, see D and N" and entry.decision.review_item_id == items[0].pk

    decided = [items[0].pk]
    for key in ("d", "n", "r", "s"):
        # a swapped-in file takes a decision once it is shown (its images in, a moment gone by)
        page.wait_for_selector("#review[data-settled='1']")
        decided.append(current_item(page))
        wait_shown(page)
        with page.expect_navigation():
            page.keyboard.press(key)
        page.wait_for_selector("#review, [data-testid=queue-empty]")
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("u")
    page.wait_for_selector("#review")

    actions = dict(Decision.objects.exclude(action="undo").values_list("review_item_id", "action"))
    assert actions == dict(zip(decided, ["log_error", "approve_delete", "not_duplicate", "reingest", "skip"])), actions
    undo = Decision.objects.get(action="undo")
    assert undo.undoes.action == "reingest" and undo.undoes.review_item_id == decided[3]
    assert current_item(page) == decided[3]  # the undone file is back in front of the curator
    assert ReviewItem.objects.get(pk=decided[3]).status == "leased"
    assert set(Decision.objects.values_list("actor_id", flat=True)) == {curator.pk}


def test_live_regions_announce_a_decision_and_a_refusal(page, live_server, local_root):
    UserFactory(username="live-a11y", role="curator")
    first = make_real_pair(local_root, n=1, verdict="match_corrupt", corrupt_side="match",
                           region={"top": 0.51, "left": 0.0, "bottom": 1.0, "right": 1.0})[0]
    second = make_real_pair(local_root, n=1, rotation=90, verdict="rotated")[0]
    third = _no_match_item(local_root)
    keyboard_login(page, live_server, "live-a11y")
    start_reviewing(page, live_server)
    assert current_item(page) == first.pk

    # the damaged kept copy: where, in words, in the flag and in the image's alt text; D says why not
    kept = first.best_candidate.match_asset.name
    assert "damaged region: bottom 49%" in page.locator("[data-testid=flag-match]").inner_text()
    assert page.locator("#img-match").get_attribute("alt") == f"Kept copy {kept}, damaged: bottom 49%"
    page.keyboard.press("d")
    refusal = live_text(page, "live-alert")
    assert refusal == "Approve deletion refused: the kept copy is damaged: route this file to reingest instead", refusal
    assert page.locator("#live-alert").is_visible()
    assert not Decision.objects.exists() and current_item(page) == first.pk

    # a decision: announced in the status region, and the next page's title starts with it
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("r")
    page.wait_for_selector("#review")
    assert current_item(page) == second.pk
    status = live_text(page, "live-status")
    assert status == f"Route to reingest: {first.asset.name}. Press U to undo.", status
    assert page.title().startswith(status), page.title()
    assert page.locator("#live-alert").inner_text().strip() == ""

    # a key that does not apply (D with no match at all) says why, in the alert region
    wait_shown(page)
    with page.expect_navigation():
        page.keyboard.press("n")
    page.wait_for_selector("#review")
    assert current_item(page) == third.pk
    page.keyboard.press("d")
    assert live_text(page, "live-alert") == "Approve deletion refused: this file has no match to keep: log an error or route it to reingest"
    assert "D is refused" in page.locator("[data-testid=d-refused]").inner_text()
    assert list(Decision.objects.order_by("pk").values_list("action", flat=True)) == ["reingest", "not_duplicate"]


def test_a_sending_note_still_waiting_never_lands_after_the_answer(page, live_server):
    """A decision answered within the live region's tick (a fast server, a swapped-in page): the
    region ends with the answer alone, not "Sending…" written after it."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => {
        Doppel.announce('Sending…', 'status');
        Doppel.showMessages([{region: 'live-status', cls: 'msg-success', text: 'Approve deletion: a.jpg.'},
                             {region: 'live-alert', cls: 'msg-error', text: 'one refusal'}]);
    }""")
    page.wait_for_timeout(400)
    assert page.locator("#live-status").inner_text().strip() == "Approve deletion: a.jpg."
    assert page.locator("#live-alert").inner_text().strip() == "one refusal"


def test_at_200_percent_zoom_both_images_stay_wide_and_the_dialogs_fit(browser, live_server, local_root):
    """1280x720 at 200% zoom is a 640x360 CSS viewport."""
    UserFactory(username="zoom-a11y", role="curator")
    item = make_real_pair(local_root, n=1, rotation=90, verdict="rotated")[0]
    ctx = browser.new_context(viewport={"width": 640, "height": 360})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    try:
        browser_login(page, live_server, "zoom-a11y", "pw-zoom-a11y")
        start_reviewing(page, live_server)  # the file is leased to this curator, so its actions are live
        assert current_item(page) == item.pk
        page.wait_for_function("""() => ['img-cleanup', 'img-match'].every(id => {
            const i = document.getElementById(id); return i && i.complete && i.naturalWidth > 0; })""")
        assert sideways_overflow(page) <= 1
        widths = page.evaluate("""() => ['img-cleanup', 'img-match'].map(
            id => document.getElementById(id).getBoundingClientRect().width)""")
        assert all(w >= 0.4 * 640 for w in widths), widths
        for key, dialog in (("?", "#help"), ("e", "#error-dialog")):
            page.keyboard.press(key)
            page.wait_for_selector(f"{dialog}[open]")
            box = page.locator(dialog).bounding_box()
            assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 640 and box["y"] + box["height"] <= 360, box
            assert sideways_overflow(page) <= 1
            page.keyboard.press("Escape")
            page.wait_for_function("sel => !document.querySelector(sel).open", arg=dialog)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "a11y-review-640x360.png"), full_page=True)
    finally:
        ctx.close()


def test_a_page_following_running_work_refreshes_until_the_user_pauses_it(page, live_server):
    """WCAG 2.2.1: the job page's automatic refresh can be paused (from the keyboard) and stays paused."""
    UserFactory(username="refresh-a11y", role="curator")
    job = Job.objects.create(kind=Job.Kind.INVENTORY, state=Job.State.RUNNING, requested=10, processed=3)
    keyboard_login(page, live_server, "refresh-a11y")
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("x-requested-with") == "fetch" else None)
    page.goto(f"{live_server.url}{reverse('job-detail', args=[job.pk])}")
    bar = page.locator("[data-testid=autorefresh]")
    assert "refreshes every 3 s" in bar.inner_text()
    page.wait_for_timeout(4000)  # longer than the 3 s period
    assert polls, "the running job's progress is refreshed by itself"
    tab_to(page, "[data-testid=autorefresh] button")
    page.keyboard.press("Enter")
    assert "paused" in bar.inner_text()
    assert live_text(page, "live-status") == "Automatic refresh paused."
    page.evaluate("() => { window.stillHere = true; }")
    seen = len(polls)
    page.wait_for_timeout(4000)  # longer than the 3 s period
    assert len(polls) == seen and page.evaluate("() => window.stillHere === true")
    assert run_axe(page) == []


def test_a_form_the_server_refuses_is_announced_and_the_focus_goes_to_the_first_wrong_field(page, live_server):
    """WCAG 3.3.1 / 4.1.3: after a server-side form error the title starts with "Error: ", the alert
    region says what was wrong, and the focus is on the first invalid field (not on <body>)."""
    UserFactory(username="formerr-a11y", role="admin")
    browser_login(page, live_server, "formerr-a11y", "pw-formerr-a11y")
    for url, field in ((reverse("review-bulk") + "?max_diff=abc&max_local=1", "id_max_diff"),
                       (reverse("errorlog-list") + "?date_from=notadate", "id_date_from")):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=field)
        assert page.title().startswith("Error: "), page.title()
        assert live_text(page, "live-alert").startswith("The form was not accepted"), url
    page.goto(f"{live_server.url}{reverse('takedown')}")
    page.wait_for_load_state("load")
    assert not page.title().startswith("Error: ")
    assert page.evaluate("() => document.activeElement === document.body || document.activeElement.id !== 'form-error-summary'")


def test_a_decision_sent_after_the_session_ended_says_so_instead_of_landing_on_the_login_page(browser, live_server, local_root):
    """WCAG 3.3 / 4.1.3: the review page's background POST answered by the login page (the session
    ran out) announces that the decision was not recorded; the curator stays on the file."""
    UserFactory(username="expired-a11y", role="curator")
    item = make_real_pair(local_root, n=1, rotation=90, verdict="rotated")[0]
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    try:
        keyboard_login(page, live_server, "expired-a11y")
        start_reviewing(page, live_server)
        assert current_item(page) == item.pk
        page.wait_for_selector("#review[data-settled='1']")
        ctx.clear_cookies(name="sessionid")   # the session ends; the CSRF cookie stays
        page.keyboard.press("n")
        page.wait_for_function("() => document.getElementById('live-alert').textContent.includes('session')")
        assert live_text(page, "live-alert") == "Your session ended: the decision was not recorded. Sign in again."
        assert current_item(page) == item.pk and "/accounts/login/" not in page.url
        assert not Decision.objects.exists()
    finally:
        ctx.close()


def test_a_view_mode_change_is_announced_and_clears_an_earlier_refusal(page, live_server, local_root):
    """B, W and H change only pixels: the status region says which view is on; a refusal said
    before does not stay in the alert region once the next action succeeded."""
    UserFactory(username="modes-a11y", role="curator")
    rotated = make_real_pair(local_root, n=1, rotation=90, verdict="rotated")[0]
    keyboard_login(page, live_server, "modes-a11y")
    page.goto(f"{live_server.url}{reverse('review-item', args=[rotated.pk])}")
    page.wait_for_selector("#review")
    page.keyboard.press("b")
    page.wait_for_function("() => document.getElementById('live-status').textContent.trim() === 'View: Blink.'")
    lone = _no_match_item(local_root)
    page.goto(f"{live_server.url}{reverse('review-item', args=[lone.pk])}")
    page.wait_for_selector("#review")
    page.keyboard.press("b")
    assert live_text(page, "live-alert").startswith("Blink needs an aligned kept copy")
    page.keyboard.press("1")
    page.wait_for_function("() => document.getElementById('live-status').textContent.trim() === 'View: Side by side.'")
    assert page.locator("#live-alert").inner_text().strip() == ""


def test_when_the_work_a_page_follows_finishes_the_outcome_is_announced_and_the_focus_kept(page, live_server):
    """WCAG 4.1.3: live.js reloads the page once the work finished; the reloaded page says what it
    finished with (status region and title) and the focus is not left on <body>."""
    UserFactory(username="finish-a11y", role="curator")
    job = Job.objects.create(kind=Job.Kind.INVENTORY, state=Job.State.RUNNING, requested=10, processed=3)
    keyboard_login(page, live_server, "finish-a11y")
    page.goto(f"{live_server.url}{reverse('job-detail', args=[job.pk])}")
    tab_to(page, "#autorefresh-toggle")
    Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, processed=10)
    status = finished_announcement(page)   # the next poll sees the finished job and reloads the page
    assert status == "Finished: Done: 10 of 10 processed, 0 failed", status
    assert page.title().startswith(f"{status} – "), page.title()
    assert page.evaluate("() => document.activeElement.hasAttribute('data-live-outcome')")
    # a later visit to the finished page announces nothing of the kind
    page.reload()
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert not page.title().startswith("Finished")


def test_when_an_extract_the_page_follows_is_built_its_counts_are_announced_and_the_focus_kept(page, live_server):
    """The extract page shares the reload and the announcement with the job page (doppel.js), and
    was not tested in a browser: once its archives are built, the reloaded page says its counts."""
    UserFactory(username="extract-a11y", role="admin")
    ex = Extract.objects.create(title="for the catalogue", location="default", state=Extract.State.BUILDING,
                                expires_at=timezone.now() + timedelta(days=3))
    keyboard_login(page, live_server, "extract-a11y")
    page.goto(f"{live_server.url}{reverse('extract-detail', args=[ex.pk])}")
    tab_to(page, "#autorefresh-toggle")
    Extract.objects.filter(pk=ex.pk).update(state=Extract.State.READY)
    status = finished_announcement(page)   # the page's next refresh finds the extract built
    assert status == ("Finished: Of the 0 objects you requested, the database knew 0, and the archive contains 0."), status
    assert page.title().startswith(f"{status} – "), page.title()
    assert page.evaluate("() => document.activeElement.hasAttribute('data-live-outcome')")


def test_when_a_plans_dry_run_finishes_the_page_says_so_and_keeps_the_focus(page, live_server, local_root):
    """The plan page follows its dry run with live.js (a region re-fetched in place, then one reload)
    and was not tested in a browser: once every item is re-checked, the reloaded page says so."""
    from reviewapp.models import DeletionItem
    from reviewapp.services.review import decision_record

    admin = UserFactory(username="plan-a11y", role="admin")
    item = make_real_pair(local_root, n=1, verdict="duplicate")[0]
    decision_record(actor=admin, item=item, action="approve_delete")
    plan = checked_plan(actor=admin)
    DeletionItem.objects.filter(plan=plan).update(dry_run_at=None)   # as if its worker had not run yet
    keyboard_login(page, live_server, "plan-a11y")
    page.goto(f"{live_server.url}{reverse('deletion-plan-detail', args=[plan.pk])}")
    tab_to(page, "#autorefresh-toggle")
    DeletionItem.objects.filter(plan=plan).update(dry_run_at=timezone.now())
    status = finished_announcement(page)   # the next poll of the dry-run region finds it done and reloads the page once
    assert status.startswith("Finished: Dry run finished: the planned item re-checked as the executor will re-check it."), status
    assert "Planned 1 · Quarantined 0" in status, status
    # the refresh toggle went with the running work: the focus is on what it finished with
    assert page.evaluate("() => document.activeElement.id") == "dry-run-done"


def test_a_name_list_page_follows_its_job_and_announces_how_the_list_resolved(page, live_server):
    """An upload is answered before its lines are resolved: the list's page follows the job (axe-clean
    while it runs, its refresh pausable from the keyboard) and says how the list resolved when done."""
    from reviewapp.models import NameList
    from tests.factories import SourceFactory

    UserFactory(username="list-a11y", role="curator")
    nl = NameList.objects.create(source=SourceFactory(), title="box 7", requested=2)
    Job.objects.create(kind=Job.Kind.NAMELIST, state=Job.State.RUNNING, namelist=nl, requested=2, processed=1,
                       started_at=timezone.now())
    keyboard_login(page, live_server, "list-a11y")
    page.goto(f"{live_server.url}{reverse('namelist-detail', args=[nl.pk])}")
    assert "Matching the list: 1 of 2 lines written." in page.locator("#namelist-live").inner_text()
    assert run_axe(page) == []
    tab_to(page, "#autorefresh-toggle")
    NameList.objects.filter(pk=nl.pk).update(found=1, not_found=1, resolved_at=timezone.now())
    Job.objects.filter(namelist=nl).update(state=Job.State.DONE, processed=2, finished_at=timezone.now())
    status = finished_announcement(page)   # the next poll sees the finished job and reloads the page
    assert status == "Finished: 2 lines resolved: 1 found, 1 not found, 0 ambiguous.", status
    assert page.title().startswith(f"{status} – "), page.title()
    assert run_axe(page) == []

"""The job page in Chromium: while a worker moves a job's counters, the progress bar and counts
move on the open page (static/reviewapp/live.js, no inline script), and when the job ends the page
shows its final state by itself."""
import pytest

from reviewapp.models import Job
from tests.conftest import browser_login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.services]


@pytest.mark.django_db(transaction=True)
def test_the_progress_bar_moves_on_the_open_job_page_and_the_end_shows_itself(page, live_server):
    UserFactory(username="curator-e2e", role="curator")
    job = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.RUNNING, requested=10, found=10)
    browser_login(page, live_server, "curator-e2e", "pw-curator-e2e")
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("x-requested-with") == "fetch" else None)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    live_state = page.get_by_test_id("job-live-state")
    assert live_state.inner_text() == "Running: 0 of 10 processed, 0 failed"
    page.evaluate("window.__samePage = true")  # gone if the whole page were reloaded

    Job.objects.filter(pk=job.pk).update(processed=4, failed=1)  # what a worker does
    page.wait_for_function(
        "() => document.querySelector('[data-testid=job-live-state]').innerText.startsWith('Running: 4 of 10')",
        timeout=15000)
    assert page.evaluate("window.__samePage") is True  # updated in place, not by a reload
    assert page.get_by_test_id("job-progress").get_attribute("value") == "50.0"
    assert polls and all(f"/jobs/{job.pk}/" in url for url in polls)

    Job.objects.filter(pk=job.pk).update(processed=9, state=Job.State.DONE)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=job-live-state]').innerText.startsWith('Done: 9 of 10')",
        timeout=15000)
    page.wait_for_load_state()
    assert page.get_by_test_id("job-state").inner_text() == "Done"  # the heading too, after one reload
    n = len(polls)
    page.wait_for_timeout(3000)
    assert len(polls) == n  # a finished job is not polled any more

"""Job services (idempotent creation, pause / resume / cancel, counters, progress) and the jobs
pages (admins act with POST + CSRF; curators only look)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from reviewapp.models import Job, JobEvent
from reviewapp.selectors.assets import cleanup_left
from reviewapp.selectors.jobs import job_progress
from reviewapp.services import jobs
from tests.factories import AssetFactory, SourceFactory
from tests.reviewapp.test_analysis import collection  # noqa: F401 - fixture
from tests.reviewapp.test_deletion import run_plan, sources, users  # noqa: F401 - fixtures


@pytest.mark.django_db
def test_job_create_is_idempotent_by_key(admin_user):
    a = jobs.job_create(actor=admin_user, kind="analyse", idempotency_key="k1")
    b = jobs.job_create(actor=admin_user, kind="analyse", idempotency_key="k1")
    assert a.pk == b.pk and Job.objects.count() == 1
    assert list(a.events.values_list("event", flat=True)) == ["created"]
    with pytest.raises(ValidationError):
        jobs.job_create(actor=admin_user, kind="nonsense")


@pytest.mark.django_db
def test_pause_resume_cancel_transitions(admin_user):
    job = jobs.job_create(actor=admin_user, kind="inventory", state=Job.State.RUNNING)
    jobs.job_pause(actor=admin_user, job=job)
    assert Job.objects.get(pk=job.pk).state == Job.State.PAUSED
    with pytest.raises(ValidationError):
        jobs.job_pause(actor=admin_user, job=job)
    assert jobs.job_may_continue(job.pk) is False
    jobs.job_cancel(actor=admin_user, job=job)
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED and job.finished_at
    with pytest.raises(ValidationError):
        jobs.job_resume(actor=admin_user, job=job)
    assert list(job.events.values_list("event", flat=True)) == ["created", "paused", "cancelled"]
    assert all(e.actor == admin_user for e in JobEvent.objects.exclude(event="created"))


@pytest.mark.django_db
def test_counters_use_increments_and_progress_has_rate_and_eta(admin_user):
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING, requested=100)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=10))
    stale = Job.objects.get(pk=job.pk)
    jobs.job_count(job.pk, processed=15, failed=5, bytes_done=2048)
    jobs.job_count(stale.pk, processed=5)  # another worker's view of the row does not matter
    p = job_progress(Job.objects.get(pk=job.pk))
    assert (p["processed"], p["failed"], p["bytes_done"], p["percent"]) == (20, 5, 2048, 25.0)
    assert 2.0 <= p["rate_per_s"] <= 2.6 and 25 <= p["eta_seconds"] <= 40
    jobs.job_finish(job.pk)
    p = job_progress(Job.objects.get(pk=job.pk))
    assert p["eta_seconds"] == 0


@pytest.mark.django_db
def test_cleanup_left_counts_present_clean_up_objects():
    cl = SourceFactory(role="cleanup")
    AssetFactory(source=cl, size=1000)
    AssetFactory(source=cl, size=500)
    AssetFactory(source=cl, size=7, state="vanished")
    AssetFactory(source=SourceFactory(role="canonical"), size=99999)
    assert cleanup_left() == (2, 1500)


@pytest.mark.django_db
def test_jobs_pages_show_progress_and_buttons_for_admins(admin_client_doppel, admin_user):
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING, requested=10)
    jobs.job_count(job.pk, processed=4, failed=1)
    page = admin_client_doppel.get("/jobs/")
    assert page.status_code == 200 and b"left in clean-up" in page.content
    detail = admin_client_doppel.get(f"/jobs/{job.pk}/")
    assert detail.status_code == 200 and b'data-testid="pause"' in detail.content and b"50.0 %" in detail.content
    js = admin_client_doppel.get(f"/jobs/{job.pk}/?format=json").json()
    assert js["processed"] == 4 and js["failed"] == 1 and js["percent"] == 50.0


@pytest.mark.django_db
def test_curator_sees_no_buttons_and_cannot_act(curator_client, admin_user):
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    detail = curator_client.get(f"/jobs/{job.pk}/")
    assert detail.status_code == 200 and b'data-testid="pause"' not in detail.content
    assert curator_client.post(f"/jobs/{job.pk}/pause/").status_code == 403
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING


@pytest.mark.django_db
def test_actions_need_post_and_csrf(admin_user):
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    c = Client(enforce_csrf_checks=True)
    c.force_login(admin_user)
    # a GET (the login page's `next` after the session ran out) pauses nothing: back to the job, saying so
    r = c.get(f"/jobs/{job.pk}/pause/")
    assert r.status_code == 302 and r["Location"] == f"/jobs/{job.pk}/"
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING
    assert c.post(f"/jobs/{job.pk}/pause/").status_code == 403  # no CSRF token
    page = c.get(f"/jobs/{job.pk}/")
    token = page.cookies["csrftoken"].value
    resp = c.post(f"/jobs/{job.pk}/pause/", {"csrfmiddlewaretoken": token})
    assert resp.status_code == 302 and Job.objects.get(pk=job.pk).state == Job.State.PAUSED
    # a bad transition is a message, not a 500
    resp = c.post(f"/jobs/{job.pk}/pause/", {"csrfmiddlewaretoken": token}, follow=True)
    assert resp.status_code == 200 and b"only a queued or running job" in resp.content
    assert c.post(f"/jobs/{job.pk}/explode/", {"csrfmiddlewaretoken": token}).status_code == 404
    assert c.get("/jobs/999999/").status_code == 404


@pytest.mark.django_db
def test_start_view_refuses_bad_input(admin_client_doppel):
    resp = admin_client_doppel.post("/jobs/start/", {"kind": "inventory", "source": "nope"}, follow=True)
    assert resp.status_code == 200 and b"choose a source" in resp.content
    src = SourceFactory(kind="local", role="cleanup")
    resp = admin_client_doppel.post("/jobs/start/", {"kind": "restore", "source": src.pk}, follow=True)
    assert resp.status_code == 200 and b"nothing is archived there" in resp.content


@pytest.mark.django_db
def test_anonymous_users_go_to_login(client):
    resp = client.get("/jobs/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


@pytest.mark.django_db
def test_running_jobs_refresh_their_progress_from_a_static_script_and_stop_when_finished(curator_client, admin_user):
    running = jobs.job_create(actor=admin_user, kind=Job.Kind.INVENTORY, state=Job.State.RUNNING)
    for url in (f"/jobs/{running.pk}/", "/jobs/"):
        html = curator_client.get(url).content.decode()
        assert "data-live-refresh=" in html and "reviewapp/live.js" in html
        assert "<script>" not in html  # no inline script (CSP)
        assert 'name="doppel-refresh"' in html  # doppel.js offers the pause button (WCAG 2.2.1)
    html = curator_client.get(f"/jobs/{running.pk}/").content.decode()
    assert 'id="job-live"' in html and "Running: 0 of 0 processed" in html
    jobs.job_finish(running.pk)
    for url in (f"/jobs/{running.pk}/", "/jobs/"):
        html = curator_client.get(url).content.decode()
        assert "data-live-refresh=" not in html and 'http-equiv="refresh"' not in html


@pytest.mark.django_db
def test_an_analysis_job_page_says_what_its_counts_are_made_of(curator_client, admin_user):
    job = jobs.job_create(actor=admin_user, kind=Job.Kind.ANALYSE, state=Job.State.DONE, requested=46)
    Job.objects.filter(pk=job.pk).update(found=46, params={"prepared": True, "in_scope": 22, "canonical_needed": 24,
                                                           "already_analysed": 0})
    html = curator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "22 files in scope; this job analyses 46, including 24 canonical files that pairing needs." in html


@pytest.mark.django_db
@pytest.mark.parametrize("kind, module, task", [
    ("delete", "execution", "deletion_execute_task"), ("extract", "extracts", "extract_build_task"),
    ("inventory", "pipeline", "inventory_job_task"), ("export", "exports", "export_job_task"),
    ("namelist", "namelists", "namelist_resolve_task"),
])
def test_dispatch_queues_the_driver_of_the_jobs_kind_once_the_transaction_commits(
        admin_user, monkeypatch, django_capture_on_commit_callbacks, kind, module, task):
    """One map of job kinds to drivers (services/jobs.JOB_DRIVERS): resuming a job after a crash
    queues the same task that started it, for the executor and extracts too."""
    import importlib

    driver = getattr(importlib.import_module(f"reviewapp.tasks.{module}"), task)
    assert jobs.JOB_DRIVERS[kind] is driver
    sent = []
    monkeypatch.setattr(driver, "delay", lambda *args: sent.append(args))
    job = jobs.job_create(actor=admin_user, kind=kind, state=Job.State.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_resume(actor=admin_user, job=job)
        assert sent == []  # nothing leaves before the commit
    assert sent == [(job.pk,)]


@pytest.mark.django_db
def test_a_kind_no_task_drives_cannot_be_dispatched(admin_user):
    job = jobs.job_create(actor=admin_user, kind="pair")
    with pytest.raises(ValidationError, match="no background task for pair jobs"):
        jobs.job_dispatch(job)


def test_job_and_reingest_events_read_as_words_not_python_dicts(admin_client_doppel, admin_user):
    from django.urls import reverse

    job = jobs.job_create(actor=admin_user, kind=Job.Kind.INVENTORY)
    jobs.job_event(job, "restore_requested", asset=7, by_parent=3, bytes=2_500_000, tiers=["Bulk", "Standard"],
                   estimate={"objects": 2, "bytes": 1500}, versioned=False)
    html = admin_client_doppel.get(reverse("job-detail", args=[job.pk])).content.decode()
    row = re.search(r"<td>restore_requested</td><td></td><td>(.*?)</td>", html).group(1)
    # one "key: value" per field, in the order the database keeps them (jsonb sorts its keys)
    assert sorted(row.split(" · ")) == ["asset: 7", "by parent: 3", "bytes: 2.5 MB", "estimate: (bytes: 1.5 kB, objects: 2)"
                                        if "(bytes" in row else "estimate: (objects: 2, bytes: 1.5 kB)",
                                        "tiers: Bulk, Standard", "versioned: no"]
    assert "{&#x27;" not in html and "{'" not in html  # no dict is printed as Python


def test_an_executor_job_page_counts_what_its_plan_says_aborted_and_quarantined(
        admin_client_doppel, run_plan, sources, users):
    """The report: "Found 0 · Failed 0 · Bytes 805.4 KB of 0 bytes" on the job while the plan said
    Aborted 1. The job page now counts from the plan's items, and the job knows its planned bytes."""
    from django.urls import reverse

    from reviewapp.models import DeletionItem
    from reviewapp.services.deletion import storage_for
    from reviewapp.units import byte_size
    from tests.reviewapp.test_deletion import img_bytes, scenario
    from tests.images import photo

    cur, admin = users
    ok = scenario(*sources, cur, key="box1/C0001.jpg")
    changed = scenario(*sources, cur, key="box1/C0002.jpg")
    kept = changed.candidate.match_asset
    storage_for(kept.source).put(kept.key, img_bytes(photo("astronaut", size=(640, 480)), "PNG", compress_level=1))
    plan = run_plan(admin, [ok, changed])
    states = dict(plan.items.values_list("asset_id", "state"))
    assert states == {ok.asset_id: DeletionItem.State.QUARANTINED, changed.asset_id: DeletionItem.State.ABORTED}
    job = Job.objects.get(pk=plan.job_id)
    assert job.bytes_total == ok.asset.size + changed.asset.size and job.bytes_done == ok.asset.size
    html = admin_client_doppel.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'data-testid="deletion-outcome">2: 1 moved to quarantine, 1 aborted' in html
    assert f"{byte_size(ok.asset.size)} of {byte_size(job.bytes_total)} planned" in html
    assert "<dt>Found</dt>" not in html


# --- the sweep for jobs whose messages were lost ----------------------------------------------

HOUR = timedelta(hours=1)


def silent(job, *, for_):
    """Make a job look as if its last progress was `for_` ago."""
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - for_, started_at=timezone.now() - 2 * for_)


@pytest.fixture
def driver_sent(monkeypatch):
    from reviewapp.tasks.pipeline import analysis_job_task

    sent = []
    monkeypatch.setattr(analysis_job_task, "delay", lambda *args: sent.append(args))
    return sent


@pytest.mark.django_db
def test_the_sweep_requeues_a_running_analysis_silent_for_longer_than_the_stall_time_once(
        admin_user, driver_sent, django_capture_on_commit_callbacks):
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    silent(job, for_=2 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == [job.pk]
        assert driver_sent == []  # queued once the transaction commits
    assert driver_sent == [(job.pk,)]
    event = job.events.get(event="requeued")
    assert event.actor is None and 2 * 3600 - 5 <= event.detail["silent_seconds"] <= 2 * 3600 + 5
    assert event.detail["pending"] == 0
    # the heartbeat restarted: the next sweep waits a whole stall time again
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == []
    assert driver_sent == [(job.pk,)]


@pytest.mark.django_db
def test_a_requeue_says_how_long_the_job_and_its_children_were_silent_not_the_parent_alone(
        admin_user, driver_sent, django_capture_on_commit_callbacks):
    """The job page's "requeued: silent seconds" counted from the parent's own heartbeat: a pairing
    child heard 90 minutes ago read as silent for 3 hours (the rule the sweep itself reads by,
    ``selectors.jobs.job_last_heard``, counts the children)."""
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    silent(job, for_=3 * HOUR)
    child = jobs.job_create(actor=None, kind="pair", state=Job.State.RUNNING, parent=job)
    Job.objects.filter(pk=child.pk).update(heartbeat_at=timezone.now() - 1.5 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == [job.pk]
    silence = job.events.get(event="requeued").detail["silent_seconds"]
    assert 1.5 * 3600 - 5 <= silence <= 1.5 * 3600 + 5


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["messages waiting on the broker", "progress within the stall time",
                                  "its pairing child made progress", "paused", "queued within the stall time",
                                  "an inventory (one long task)"])
def test_the_sweep_leaves_jobs_that_are_not_stalled_or_not_its_to_requeue(
        admin_user, driver_sent, django_capture_on_commit_callbacks, case, monkeypatch):
    from reviewapp.tasks.pipeline import inventory_job_task

    monkeypatch.setattr(inventory_job_task, "delay", lambda *args: driver_sent.append(args))
    kind = "inventory" if case.startswith("an inventory") else "analyse"
    state = {"paused": Job.State.PAUSED, "queued within the stall time": Job.State.QUEUED}.get(case, Job.State.RUNNING)
    job = jobs.job_create(actor=admin_user, kind=kind, state=state)
    if case == "queued within the stall time":
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - HOUR / 2)
    else:
        silent(job, for_=HOUR / 2 if case == "progress within the stall time" else 2 * HOUR)
    if case == "its pairing child made progress":
        child = jobs.job_create(actor=None, kind="pair", state=Job.State.RUNNING, parent=job)
        Job.objects.filter(pk=child.pk).update(heartbeat_at=timezone.now() - HOUR / 2)
    waiting = 3 if case == "messages waiting on the broker" else 0
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=waiting, silent_for=HOUR) == []
    assert driver_sent == [] and not JobEvent.objects.filter(event="requeued").exists()


@pytest.mark.django_db
def test_an_analysis_whose_item_messages_were_lost_finishes_once_the_sweep_requeues_it(
        collection, admin_user, monkeypatch, django_capture_on_commit_callbacks):
    """A worker killed between taking its messages and recording them: the job says running, its
    items pending, and nothing on the broker will ever run them. The sweep's re-queue runs them,
    and what had been done is not done again."""
    from reviewapp.models import JobItem, ReviewItem
    from reviewapp.services.analysis import analysis_start
    from reviewapp.tasks import pipeline

    canonical, cleanup = collection
    job = analysis_start(actor=admin_user, source=cleanup, dispatch=False)
    lost = []
    with monkeypatch.context() as m:
        m.setattr(pipeline.analyse_asset, "delay", lambda *args: lost.append(args))
        pipeline.analysis_job_task.apply(args=(job.pk,))
    assert len(lost) == 8
    item = JobItem.objects.filter(job=job).first()
    pipeline.analyse_asset.apply(args=(job.pk, item.pk))  # one of them had been done before the loss
    job.refresh_from_db()
    assert (job.state, job.processed) == (Job.State.RUNNING, 1)
    silent(job, for_=2 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == [job.pk]
    job.refresh_from_db()
    assert job.state == Job.State.DONE and (job.requested, job.processed, job.failed) == (8, 8, 0)
    assert job.events.get(event="requeued").detail["pending"] == 7
    assert dict(ReviewItem.objects.values_list("asset__name", "verdict")) == {
        "C1234a.jpg": "duplicate", "IMG_0001.png": "rotated", "C3456b.jpg": "cleanup_corrupt",
        "unique.jpg": "no_match", "garbage.jpg": "unreadable"}


@pytest.mark.django_db
def test_a_job_queued_longer_than_the_stall_time_and_never_started_has_its_driver_queued_again(
        admin_user, driver_sent, django_capture_on_commit_callbacks):
    """The driver's own message lost (the broker down at the commit, a killed embedded worker): the job
    said queued for ever, and Resume refuses a queued job."""
    job = jobs.job_create(actor=admin_user, kind="analyse")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - 2 * HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == [job.pk]
        assert jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR) == []   # a stall time first
    assert driver_sent == [(job.pk,)]
    assert job.events.get(event="requeued").detail["pending"] == 0


def settle(job, n):
    """n of the job's pending items settled by a worker (progress)."""
    from reviewapp.models import JobItem

    for item in JobItem.objects.filter(job=job, state=JobItem.State.PENDING)[:n]:
        JobItem.objects.filter(pk=item.pk).update(state=JobItem.State.DONE)


@pytest.mark.django_db
def test_a_job_re_queued_three_times_with_nothing_settled_gives_up_its_pending_items_and_finishes_without_them(
        admin_user, driver_sent, django_capture_on_commit_callbacks):
    """An item that stops the worker reading it (a decoder crash, the memory killer) would otherwise be
    re-queued for ever and the job never end. Progress between re-queues starts the count again."""
    from reviewapp.models import JobItem

    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    jobs.job_items_add(job, [a.pk for a in AssetFactory.create_batch(4)])

    def sweep():
        silent(job, for_=2 * HOUR)
        with django_capture_on_commit_callbacks(execute=True):
            return jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR)

    for _ in range(3):
        assert sweep() == [job.pk]
    settle(job, 1)                       # a worker settled one: not stuck, the count starts again
    for _ in range(3):
        assert sweep() == [job.pk]
    assert JobItem.objects.filter(job=job, state=JobItem.State.PENDING).count() == 3
    assert len(driver_sent) == 6 and not job.events.filter(event="gave_up").exists()
    assert sweep() == [job.pk]           # the fourth with nothing settled since the three before
    assert set(JobItem.objects.filter(job=job).values_list("state", flat=True)) == {JobItem.State.DONE,
                                                                                  JobItem.State.FAILED}
    failed = JobItem.objects.filter(job=job, state=JobItem.State.FAILED)
    assert failed.count() == 3 and "no worker finished this in 3 re-queues" in failed.first().error
    assert Job.objects.get(pk=job.pk).failed == 3
    assert job.events.get(event="gave_up").detail["failed"] == 3
    assert len(driver_sent) == 7         # the driver then finishes the phase without them


@pytest.mark.django_db
def test_a_job_whose_driver_never_settles_anything_fails_after_three_re_queues(
        admin_user, driver_sent, django_capture_on_commit_callbacks):
    job = jobs.job_create(actor=admin_user, kind="analyse")
    for _ in range(4):
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - 3 * HOUR, heartbeat_at=timezone.now() - 2 * HOUR)
        with django_capture_on_commit_callbacks(execute=True):
            jobs.jobs_stalled_requeue(actor=None, broker_waiting=0, silent_for=HOUR)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "no worker finished its driver in 3 re-queues" in job.error
    assert len(driver_sent) == 3


def test_the_stall_time_by_default_outlasts_the_visibility_timeout_and_every_analysis_tasks_time_limit():
    from django.conf import settings as conf

    from reviewapp import settings as defaults
    from reviewapp.tasks import pipeline

    limits = [t.time_limit or 0 for t in (pipeline.analysis_job_task, pipeline.analyse_asset, pipeline.pair_batch)]
    assert max(limits) == 1860
    assert defaults.JOB_STALL_SECONDS > max(max(limits), conf.VISIBILITY_TIMEOUT)


@pytest.mark.parametrize("files, batches", [(6, [1] * 6), (100, [13] * 7 + [9]), (1000, [50] * 20), (1, [1])])
def test_a_pair_phase_is_spread_over_the_workers_and_cut_into_batches_of_at_most_the_batch_size(
        settings, monkeypatch, files, batches):
    """A batch pairs on one worker process, one file after another: a job of a few dozen files in
    one batch of 50 paired on one worker while the others idled."""
    from reviewapp.tasks import pipeline

    settings.ANALYSE_BATCH, settings.PAIR_SPREAD = 50, 8
    sent = []
    monkeypatch.setattr(pipeline.pair_batch, "delay", lambda job_id, pair_job_id, ids: sent.append(ids))
    pipeline._dispatch_pairs(1, list(range(files)), 2)
    assert [len(ids) for ids in sent] == batches
    assert sorted(i for ids in sent for i in ids) == list(range(files))


@pytest.mark.django_db
def test_a_running_job_is_resumed_only_once_it_has_gone_silent_and_once_per_silence(
        admin_user, monkeypatch, django_capture_on_commit_callbacks):
    """Resuming a running job queues its pending work again: that recovers lost messages, and it is
    refused while the job (or a child) is progressing, and again right after a resume, so clicks and
    retried calls do not fill the queue with copies of the work."""
    sent = []
    monkeypatch.setattr(jobs.JOB_DRIVERS[Job.Kind.ANALYSE], "delay", lambda *args: sent.append(args))
    job = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    child = jobs.job_create(actor=admin_user, kind="analyse", state=Job.State.RUNNING)
    quiet = timezone.now() - jobs.RUNNING_RESUME_SILENCE - timedelta(seconds=5)
    Job.objects.filter(pk=job.pk).update(started_at=quiet, heartbeat_at=quiet, created_at=quiet)
    Job.objects.filter(pk=child.pk).update(parent=job, started_at=quiet, heartbeat_at=timezone.now())
    with pytest.raises(ValidationError, match="running .progress 0 s ago"):
        jobs.job_resume(actor=admin_user, job=job)  # its child is working
    Job.objects.filter(pk=child.pk).update(heartbeat_at=quiet)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_resume(actor=admin_user, job=job)
    assert sent == [(job.pk,)]
    with pytest.raises(ValidationError, match="only after 2 minutes without progress"):
        jobs.job_resume(actor=admin_user, job=job)
    assert sent == [(job.pk,)]
    assert list(job.events.values_list("event", flat=True)) == ["created", "resumed"]


@pytest.mark.django_db
def test_a_job_no_worker_has_started_in_a_minute_says_so_and_how_to_start_one(curator_client, admin_user, monkeypatch):
    """A new user's job said "Queued", and nothing more, for as long as no worker ran."""
    from types import SimpleNamespace

    import reviewapp.selectors.jobs as job_selectors
    from reviewapp.selectors.jobs import WORKER_NOTICE_AFTER, job_waiting_for_a_worker

    job = jobs.job_create(actor=admin_user, kind="analyse")
    assert job_waiting_for_a_worker(job) is None                                 # just queued: a worker has time
    assert b'data-testid="job-no-worker"' not in curator_client.get(f"/jobs/{job.pk}/").content
    later = timezone.now() + 3 * WORKER_NOTICE_AFTER + timedelta(seconds=5)    # (the page's clock, three minutes on)
    monkeypatch.setattr(job_selectors, "timezone", SimpleNamespace(now=lambda: later))
    page = curator_client.get(f"/jobs/{job.pk}/").content.decode()
    notice = re.search(r'data-testid="job-no-worker">([^<]*)', page).group(1)
    assert notice.startswith("No worker has started this job in 3 minutes") and "celery -A reviewapp worker -Q" in page
    assert curator_client.get(f"/jobs/{job.pk}/?format=json").json()["waiting_for_a_worker_s"] >= 180
    listed = curator_client.get("/jobs/").content.decode()          # the jobs list says it too
    assert re.search(r'data-testid="job-list-no-worker">no worker for 3 minutes<', listed)
    # a resume or re-queue starts the wait again; a job a worker started is not waiting for one
    jobs.job_event(Job.objects.get(pk=job.pk), "requeued")
    assert job_waiting_for_a_worker(Job.objects.get(pk=job.pk), now=timezone.now() + timedelta(seconds=5)) is None
    jobs.job_start(job.pk)
    assert job_waiting_for_a_worker(Job.objects.get(pk=job.pk)) is None
    assert b'data-testid="job-no-worker"' not in curator_client.get(f"/jobs/{job.pk}/").content

"""Dashboard: objects and bytes left, decided today, pace per curator, errors, jobs."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviewapp.models import Asset, Decision, Job
from reviewapp.selectors.dashboard import curator_pace, dashboard_summary
from reviewapp.selectors.review import queue_counts
from reviewapp.services.review import decision_record, decision_undo
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_summary_counts_left_decided_errors_and_pace(curator):
    cleanup = SourceFactory(role="cleanup")
    AssetFactory(source=cleanup, size=5000)
    AssetFactory(source=cleanup, size=7000, state="vanished")  # gone: not left
    items = [ReviewItemFactory() for _ in range(4)]
    decision_record(actor=curator, item=items[0], action="approve_delete")
    decision_record(actor=curator, item=items[1], action="log_error", error_category="wrong_id")
    d = decision_record(actor=curator, item=items[2], action="not_duplicate")
    decision_undo(actor=curator, decision=d)
    decision_record(actor=curator, item=items[3], action="skip")
    s = dashboard_summary()
    # 4 clean-up assets from the factories + 1 of 5000 bytes; the vanished one does not count
    assert s["cleanup_left"]["objects"] == 5
    assert s["cleanup_left"]["bytes"] == 4 * 1000 + 5000
    # skips and undos are not decisions about a file, and the undone "not a duplicate" settled nothing:
    # the day's count agrees with the files decided
    assert s["decided_today"] == 2 == s["review"]["decided"]
    assert s["errors_today"] == 1
    assert s["review"]["decided"] == 2 and s["review"]["open"] == 2
    # a file gone from its source is not open in review: the dashboard says what the queues serve
    gone = ReviewItemFactory()
    Asset.objects.filter(pk=gone.asset_id).update(state="vanished")
    assert dashboard_summary()["review"]["open"] == 2 == queue_counts()["total"]
    assert dict(s["by_action"]) == {"Approve deletion": 1, "Not a duplicate": 0, "Log an error": 1,
                                    "Route to reingest": 0}
    pace = s["pace"]
    assert pace[0]["user"] == "curator1" and pace[0]["decisions"] == 2


def test_a_file_decided_undone_and_decided_again_counts_once(curator):
    item = ReviewItemFactory()
    first = decision_record(actor=curator, item=item, action="approve_delete")
    decision_undo(actor=curator, decision=first)
    item.refresh_from_db()
    decision_record(actor=curator, item=item, action="not_duplicate")
    s = dashboard_summary()
    assert s["decided_today"] == 1 == s["review"]["decided"]
    assert dict(s["by_action"])["Approve deletion"] == 0 and dict(s["by_action"])["Not a duplicate"] == 1


def test_pace_is_files_per_hour_since_the_first_decision_in_the_window(curator):
    now = timezone.now()
    items = [ReviewItemFactory() for _ in range(6)]
    for it in items:
        decision_record(actor=curator, item=it, action="not_duplicate")
    # pretend they were made over the last 2 hours (append-only rows: set the timestamps in SQL)
    from django.db import connection

    table = Decision._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET created_at = %s", [now - timedelta(hours=2)])
    pace = curator_pace(now=now)
    assert pace[0]["per_hour"] == 3.0
    assert curator_pace(now=now + timedelta(hours=10)) == []


def test_dashboard_page_renders_for_curators(curator_client, curator):
    job = Job.objects.create(kind=Job.Kind.ANALYSE, state=Job.State.RUNNING, requested=10, processed=4)
    item = ReviewItemFactory()
    decision_record(actor=curator, item=item, action="log_error", error_category="other")
    r = curator_client.get(reverse("dashboard"))
    html = r.content.decode()
    assert r.status_code == 200
    assert re.search(r'data-testid="decided-today"><div class="n">1<', html)
    assert re.search(r'data-testid="errors-logged"><div class="n">1<', html)
    assert str(job) in html and "40.0%" in html
    assert "curator1" in html


def test_dashboard_needs_a_role(client):
    client.force_login(UserFactory(username="plain"))
    assert client.get(reverse("dashboard")).status_code == 403


def test_the_dashboard_the_sources_page_and_doppel_status_write_the_same_bytes_the_same_way(curator_client):
    """The report: the pages said "2.6 MB" (1024-based) where doppel_status and doppel_demo said
    "2.7 MB" (1000-based) for the same bytes. One function (reviewapp.units.byte_size) writes both."""
    from io import StringIO

    from django.core.management import call_command

    cleanup = SourceFactory(name="legacy", role="cleanup")
    AssetFactory(source=cleanup, size=2_730_000)
    out = StringIO()
    call_command("doppel_status", stdout=out)
    assert "1 objects / 2.7 MB left in clean-up" in out.getvalue()
    dashboard = curator_client.get(reverse("dashboard")).content.decode()
    assert re.search(r'data-testid="cleanup-left">.*<strong>2\.7 MB</strong>', dashboard)
    assert "2.6\xa0MB" not in dashboard and "2.6 MB" not in dashboard
    sources = curator_client.get(reverse("source-list")).content.decode()
    assert "2.7 MB" in sources

"""reviewapp/celery.py: what the broker says is waiting, on Redis (production) and on the embedded
SQLite broker, which beat's sweep for lost messages reads before it re-queues anything."""
from __future__ import annotations

import pytest

from reviewapp.celery import app, broker_messages_waiting
from tests.conftest import celery_app_on
from tests.reviewapp.test_doppel_run import sqlite_broker  # noqa: F401 - fixture


@pytest.fixture
def redis_broker(redis_url, settings):
    with celery_app_on(redis_url, settings):
        yield redis_url


@pytest.mark.parametrize("broker", ["redis_broker", "sqlite_broker"])
def test_messages_waiting_counts_what_no_worker_has_taken_and_an_empty_queue_is_zero(request, broker):
    request.getfixturevalue(broker)
    assert broker_messages_waiting("doppel") == 0  # Redis holds nothing of a queue never used
    for _ in range(3):
        app.send_task("doppel.idempotency_expire", queue="doppel")
    app.send_task("doppel.idempotency_expire", queue="elsewhere")
    assert broker_messages_waiting("doppel") == 3
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("doppel")
    assert broker_messages_waiting("doppel") == 0


def test_the_pictures_a_page_waits_for_go_to_their_own_queue_and_the_rest_to_the_default_one():
    # a fresh-eyed attack (stop 75): on the one queue a picture waited 114 s behind an analysis batch
    from django.conf import settings

    def queue_of(name):
        return app.amqp.router.route({}, name)["queue"].name
    assert queue_of("doppel.asset_renditions") == queue_of("doppel.candidate_rendition") == settings.PICTURES_QUEUE
    assert queue_of("doppel.namelist_resolve") == settings.CELERY_TASK_DEFAULT_QUEUE
    from reviewapp.tasks.renditions import asset_renditions_task
    assert asset_renditions_task.reject_on_worker_lost is False   # a file that kills a process is not handed out again

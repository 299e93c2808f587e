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

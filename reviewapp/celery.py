"""Celery application. Workers scale out by starting more of them against the same broker.

Production uses Redis; the embedded default (`make run`) uses kombu's SQLAlchemy transport on a
SQLite file (settings.EMBEDDED_BROKER_URL), so the task code is the same in both."""
import os
import sqlite3

from celery import Celery
from celery.signals import worker_init
from kombu.exceptions import ChannelError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")

app = Celery("doppel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["reviewapp"])

SQLITE_BROKER_PREFIXES = ("sqla+sqlite:///", "sqlalchemy+sqlite:///")


def sqlite_broker_path(url: str):
    """The file behind a `sqla+sqlite:///PATH` broker URL, or None for any other broker."""
    for prefix in SQLITE_BROKER_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix):]
    return None


def sqlite_broker_prepare(url: str):
    """Put a SQLite broker file in WAL mode (a property of the file, so once is enough): the web
    server publishing and the worker polling then do not block each other's reads."""
    path = sqlite_broker_path(url)
    if not path:
        return None
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with sqlite3.connect(path, timeout=30) as conn:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    return mode


def broker_messages_waiting(queue: str) -> int:
    """Messages waiting on the broker in `queue`, not yet taken by a worker (a passive declare:
    Redis counts the queue's lists, the SQLAlchemy transport its visible rows). A queue the broker
    holds nothing of (Redis drops an empty list) counts 0."""
    with app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            return 0


@worker_init.connect
def _prepare_broker(sender=None, **kwargs):
    sqlite_broker_prepare(app.conf.broker_url or "")

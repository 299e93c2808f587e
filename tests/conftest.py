"""Fixtures for the real services: PostgreSQL (via DATABASE_URL under CI), Redis, a Celery worker
process, a moto S3 server on loopback and headless Chromium.

Locally a missing service skips the tests that need it; under CI=true it fails them, so a green CI
run always means the services were really used.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API beside the live server

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("DOPPEL_CHROMIUM", "/usr/bin/chromium")
REDIS_URL = os.environ.get("DOPPEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def require_service(ok: bool, what: str):
    """Skip locally, fail under CI: a missing service, tool or module is never a silent pass in CI."""
    if ok:
        return
    if CI:
        pytest.fail(f"required service unavailable under CI: {what}", pytrace=False)
    pytest.skip(f"service unavailable: {what}")


def require_import(name: str):
    """An optional module the suite needs (e.g. simplejpeg), under the same rule as
    `require_service`: skipped locally when missing, a failure under CI."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        require_service(False, f"Python module {name!r} (see requirements.txt)")


def require_postgresql(connection, why: str):
    """Tests that need PostgreSQL's row locks or real concurrent connections: skipped on the local
    SQLite run, a failure under CI when the database is anything else."""
    require_service(connection.vendor == "postgresql", f"PostgreSQL ({why})")


def _port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Safety layers, switched off by name (issue #19)
#
# A file is protected in depth: the approval rule (review), the plan's selection, the executor's
# guards, the conditional copy and delete, the check of the quarantine copy's content, the local
# root pin, and the undo rules. A test that runs through all of them shows only that SOME layer
# held. `layers.only(NAME)` switches every other layer off, so the test shows NAME holds on its
# own, and fails when NAME alone is broken. Every patch target is named here and nowhere else:
# when a name moves module, repoint the constants below.

REVIEW = "reviewapp.services.review"
DELETION = REVIEW  # where decision_undo reads decision_undo_refusal and decision_has_run
DELETION_PLANS = "reviewapp.services.deletion.plans"  # where deletion_plan_create reads plannable_decisions
DELETION_EXECUTOR = "reviewapp.services.deletion.executor"  # where the executor reads EXECUTION_GUARDS and _same_bytes


def _plannable_unfiltered(*, source=None):
    """The plan's selection with its safety filters gone (canonical sources, undone or replaced
    decisions); only "each decision at most once" stays, which is bookkeeping, not a layer."""
    from reviewapp.models import Decision

    qs = Decision.objects.filter(action=Decision.Action.APPROVE_DELETE, candidate__isnull=False,
                                 deletion_items__isnull=True)
    if source is not None:
        qs = qs.filter(asset__source=source)
    return qs.select_related("asset__source", "candidate__match_asset__source", "actor", "review_item")


def _last_decision_of_anyone(*, actor):
    """"Only your last decision" without the "your": the last settling decision of any curator."""
    from reviewapp.models import Decision

    return (Decision.objects.exclude(action__in=[Decision.Action.SKIP, Decision.Action.UNDO])
            .order_by("-created_at", "-id").first())


def _unconditional(method):
    """A storage write that ignores the ETag and identity it is told to check."""

    def call(self, *args, **kwargs):
        kwargs.pop("if_etag", None)
        kwargs.pop("if_identity", None)
        return method(self, *args, **kwargs)

    return call


class SafetyLayers:
    """Named switches for every safety layer; see the comment above. `off(*names)` disables the
    named layers, `only(name)` all but one; `disabled` lists what is off (for messages)."""

    NON_GUARD_LAYERS = ("approval_rule", "plan_selection", "conditional_writes", "quarantine_copy_check", "root_pin",
                        "undo_last_only", "undo_plan_rule", "undo_has_run")

    def __init__(self, monkeypatch):
        import importlib

        self._mp = monkeypatch
        self._executor = importlib.import_module(DELETION_EXECUTOR)
        self._guards = list(self._executor.EXECUTION_GUARDS)
        self.disabled: list[str] = []

    @property
    def names(self) -> tuple[str, ...]:
        return self.NON_GUARD_LAYERS + tuple(g.__name__ for g in self._guards)

    def only(self, name: str) -> "SafetyLayers":
        if name not in self.names:
            raise KeyError(f"no safety layer {name!r}; known: {', '.join(self.names)}")
        return self.off(*[n for n in self.names if n != name])

    def off(self, *names: str) -> "SafetyLayers":
        from reviewapp.storage import LocalStorage, S3Storage

        mp = self._mp
        for name in names:
            if name not in self.names:
                raise KeyError(f"no safety layer {name!r}; known: {', '.join(self.names)}")
            if name in self.disabled:
                continue
            self.disabled.append(name)
            if name.startswith("guard_"):
                mp.setattr(self._executor, "EXECUTION_GUARDS",
                           [g for g in self._guards if g.__name__ not in self.disabled])
            elif name == "approval_rule":
                mp.setattr(f"{REVIEW}.approve_refusal", lambda item, candidate: None)
            elif name == "plan_selection":
                mp.setattr(f"{DELETION_PLANS}.plannable_decisions", _plannable_unfiltered)
            elif name == "conditional_writes":
                for cls in (LocalStorage, S3Storage):
                    mp.setattr(cls, "copy_to", _unconditional(cls.copy_to))
                    mp.setattr(cls, "delete", _unconditional(cls.delete))
            elif name == "quarantine_copy_check":
                mp.setattr(f"{DELETION_EXECUTOR}._same_bytes", lambda *a, **k: True)
            elif name == "root_pin":
                mp.setattr(LocalStorage, "_verify_root", lambda self, fd: None)
            elif name == "undo_last_only":
                mp.setattr(f"{REVIEW}.decision_last_undoable", _last_decision_of_anyone)
            elif name == "undo_plan_rule":
                mp.setattr(f"{DELETION}.decision_undo_refusal", lambda decision: "")
            elif name == "undo_has_run":
                mp.setattr(f"{DELETION}.decision_has_run", lambda decision: False)
        return self


@pytest.fixture
def layers(monkeypatch):
    """Safety layers by name: `layers.only("guard_content")` leaves that one layer on."""
    return SafetyLayers(monkeypatch)


# ---------------------------------------------------------------------------------------------
# Users and roles


@pytest.fixture
def curator(db):
    from tests.factories import UserFactory

    return UserFactory(role="curator", username="curator1")


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(role="admin", username="admin1")


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture(autouse=True)
def _cache_fresh():
    """Each test starts with an empty cache: it notes, for instance, which renderings are queued
    (services.renditions), and a note left by an earlier test with the same ids would stop this
    one's request from queuing."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def picture(django_capture_on_commit_callbacks):
    """``picture(client, url)``: GET an image view as a page does. A picture not stored yet answers
    503 with Retry-After and queues its rendering: that is run (as a worker would), then the same
    request is asked again."""
    def get(client, url):
        with django_capture_on_commit_callbacks(execute=True):
            resp = client.get(url)
        if resp.status_code == 503 and resp.has_header("Retry-After"):
            resp = client.get(url)
        return resp

    return get


@pytest.fixture
def admin_client_doppel(client, admin_user):
    client.force_login(admin_user)
    return client


def api_client_for(user):
    """A DRF client authenticated by a new API token of the user (tokens act as their user; only
    the token's digest is stored, so each client gets its own token)."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    _, token = AuthToken.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.token = token
    return api


@pytest.fixture
def admin_api(admin_user):
    return api_client_for(admin_user)


@pytest.fixture
def curator_api(curator):
    return api_client_for(curator)


# ---------------------------------------------------------------------------------------------
# Local roots and renditions in a temp dir


@pytest.fixture
def local_root(tmp_path, settings):
    """An allowed root for local sources, plus private renditions/quarantine/ingest dirs."""
    root = tmp_path / "sources"
    root.mkdir()
    settings.LOCAL_ROOTS = [root.resolve()]
    settings.QUARANTINE_DIR = tmp_path / "quarantine"
    settings.INGEST_LOCATION = f"local:{root / 'ingest'}"
    settings.STORAGES = {
        **settings.STORAGES,
        "renditions": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "renditions")},
        },
    }
    from django.core.files.storage import storages

    storages._storages.pop("renditions", None)
    yield root
    storages._storages.pop("renditions", None)


# ---------------------------------------------------------------------------------------------
# S3: moto's server on a loopback port (a real HTTP S3 API, not in-process mocks)


@pytest.fixture(scope="session")
def s3_server():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - moto[server] is in requirements-dev
        require_service(False, "moto[server] not installed")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 10
    while not _port_open("127.0.0.1", port) and time.time() < deadline:
        time.sleep(0.05)
    require_service(_port_open("127.0.0.1", port), f"moto S3 server on {url}")
    yield url
    server.stop()


S3_TEST_PROFILE = "moto"


@pytest.fixture
def s3_profile(s3_server, settings, monkeypatch):
    """Registers a storage profile pointing at the moto server; returns a boto3 client."""
    import boto3

    opts = {
        "endpoint_url": s3_server,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    settings.S3_PROFILES = {**settings.S3_PROFILES, S3_TEST_PROFILE: opts}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("s3", **opts)


@pytest.fixture
def s3_bucket(s3_profile):
    """A fresh, empty bucket on the moto server."""
    name = f"doppel-{uuid.uuid4().hex[:12]}"
    s3_profile.create_bucket(Bucket=name)
    return name


# ---------------------------------------------------------------------------------------------
# Redis and a real Celery worker process


@pytest.fixture(scope="session")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        ok = True
    except Exception:  # noqa: BLE001
        ok = False
    require_service(ok, f"Redis at {REDIS_URL}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@contextmanager
def celery_app_on(broker_url, settings, transport_options=None):
    """Point this process's Celery app at a real broker (not eager) for the block, then back.
    An eager task earlier in the session builds the producer pool for the default broker
    (amqp://localhost): it is dropped on the way in and out, so messages really go to this one."""
    from reviewapp.celery import app

    keys = ("broker_url", "task_always_eager") + (("broker_transport_options",) if transport_options is not None else ())
    old = {k: app.conf.get(k) for k in keys}
    app.conf.broker_url = broker_url
    app.conf.task_always_eager = False
    if transport_options is not None:
        app.conf.broker_transport_options = transport_options
    app._pool = None
    app.amqp._producer_pool = None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield broker_url
    finally:
        for k, v in old.items():
            app.conf[k] = v
        app._pool = None
        app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(transactional_db, redis_url, settings, tmp_path):
    """Start `celery worker` as a separate process against the test database and Redis; tasks
    queued by the test (on commit) are then really sent through the broker.

    Yields a handle with .env (for restarting after a kill), .proc and .restart().
    """
    from django.db import connection

    db = connection.settings_dict
    require_service(db["ENGINE"].endswith("postgresql"), "PostgreSQL test database (set CI=true or DATABASE_URL)")
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    import json

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "DOPPEL_TESTING": "1",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DOPPEL_S3_PROFILES": json.dumps(settings.S3_PROFILES),
        "DOPPEL_LOCAL_ROOTS": os.pathsep.join(str(p) for p in settings.LOCAL_ROOTS),
        "DOPPEL_VAR_DIR": str(tmp_path / "worker-var"),
        "DOPPEL_QUARANTINE_DIR": str(settings.QUARANTINE_DIR),
        "DOPPEL_INGEST_LOCATION": settings.INGEST_LOCATION,
        "DOPPEL_EXTRACT_ROOTS": os.pathsep.join(str(p) for p in settings.EXTRACT_ROOTS),
        "DOPPEL_EXTRACT_LOCATIONS": json.dumps(settings.EXTRACT_LOCATIONS),
        "DOPPEL_RENDITIONS_DIR": str(settings.STORAGES["renditions"].get("OPTIONS", {}).get("location", tmp_path / "renditions")),
        "PYTHONPATH": str(ROOT),
    }

    class Worker:
        def __init__(self):
            self.env = env
            self.proc = None
            self.log = tmp_path / "celery-worker.log"

        def start(self, concurrency=2, beat=False):
            """`beat`: run the beat schedule inside the worker too, as the embedded worker does."""
            from django.conf import settings

            logf = open(self.log, "ab")
            schedule = ["-B", "-s", str(tmp_path / "celerybeat-schedule")] if beat else []
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "reviewapp", "worker", "-l", "INFO", "-P", "prefork",
                 "-c", str(concurrency), "-Q", ",".join(settings.WORKER_QUEUES), "--without-gossip", "--without-mingle", "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
                 *schedule],
                cwd=ROOT, env=self.env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
            )
            deadline = time.time() + 60
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"celery worker exited: {self.log.read_text()[-3000:]}")
                if b"ready." in self.log.read_bytes():
                    return self
                time.sleep(0.2)
            pytest.fail(f"celery worker did not start: {self.log.read_text()[-3000:]}")

        def kill(self):
            """SIGKILL the whole worker process group: a crash, not a shutdown."""
            if self.proc and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

        def stop(self):
            if self.proc and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.kill()

        def restart(self):
            self.kill()
            return self.start()

        def logs(self):
            return self.log.read_text(errors="replace")

    with celery_app_on(redis_url, settings):
        w = Worker()
        w.start()
        yield w
        w.stop()


def wait_for(predicate, timeout=60.0, interval=0.2, message="condition"):
    """Poll until predicate() is truthy (for work done by another process)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


# ---------------------------------------------------------------------------------------------
# Headless Chromium through Playwright (never a downloaded browser)


@pytest.fixture(scope="session")
def browser():
    require_service(Path(CHROMIUM).exists() or bool(shutil.which("chromium")), f"Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service(False, "playwright python package")
    pw = sync_playwright().start()
    b = pw.chromium.launch(
        executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    )
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    yield pg
    # drain the page first: an image the last step's page was still loading reached the live server
    # while the test database was being flushed, and the two deadlocked (a teardown error under load)
    try:
        pg.wait_for_load_state("networkidle", timeout=10000)
    except Exception:
        pass
    ctx.close()


def wait_shown(page):
    """Wait until the file on the page takes decisions: a file swapped in after a decision is
    shown first (its images in, a moment gone by), as a curator sees it before deciding; and its
    pictures are in, or given up on (a deletion is approved only once both are shown)."""
    page.wait_for_function("() => { const r = document.getElementById('review'); return !r || r.dataset.settled === '1'; }")
    page.wait_for_function("() => Array.prototype.every.call(document.querySelectorAll('#img-cleanup, #img-match'), "
                           "i => i.complete && !i.dataset.preparing)", timeout=30000)


def browser_login(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()

"""`make run`'s supervisor (manage.py doppel_run): jobs queued by a web request are carried out by
a separate Celery worker over the embedded SQLite broker, and stopping the supervisor (or losing
the web server) leaves no worker process behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from reviewapp.celery import sqlite_broker_prepare
from reviewapp.management.commands.doppel_run import worker_command, worker_env
from reviewapp.models import Asset, Job, Source
from reviewapp.services.sources import source_add
from tests.conftest import ROOT, _port_open, celery_app_on, free_port, require_service, wait_for
from tests.reviewapp.test_analysis import make_collection


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture
def sqlite_broker(tmp_path, settings):
    """Point this process's Celery app at a temp SQLite broker, as doppel_run does for the server."""
    url = f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    assert sqlite_broker_prepare(url) == "wal"
    with celery_app_on(url, settings, transport_options={"connect_args": {"timeout": 30}}):
        yield url


@pytest.mark.django_db(transaction=True)
def test_a_job_started_from_the_page_is_queued_and_the_embedded_worker_finishes_it(
        client, admin_user, local_root, sqlite_broker, tmp_path, settings):
    from django.db import connection

    db = connection.settings_dict
    require_service(db["ENGINE"].endswith("postgresql"), "PostgreSQL test database (set CI=true or DATABASE_URL)")
    _, cleanup = make_collection(local_root)
    source = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cleanup))
    client.force_login(admin_user)

    started = time.monotonic()
    response = client.post("/jobs/start/", {"kind": "inventory", "source": source.pk})
    assert response.status_code == 302 and time.monotonic() - started < 5
    job = Job.objects.get(kind=Job.Kind.INVENTORY, source=source)
    assert job.state == Job.State.QUEUED  # the request only queued it: nothing ran in the request
    assert Asset.objects.filter(source=source).count() == 0

    var_dir = tmp_path / "worker-var"
    var_dir.mkdir()
    env = worker_env(broker=sqlite_broker, var_dir=var_dir, base={
        **os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DOPPEL_TESTING": "1", "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DOPPEL_LOCAL_ROOTS": os.pathsep.join(str(p) for p in settings.LOCAL_ROOTS),
        "DOPPEL_S3_PROFILES": json.dumps(settings.S3_PROFILES),
    })
    worker = subprocess.Popen(worker_command(concurrency=1, var_dir=var_dir), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = var_dir / "worker.log"
    try:
        wait_for(lambda: log.exists() and "ready." in log.read_text(), timeout=60, message="embedded worker ready")
        wait_for(lambda: Job.objects.get(pk=job.pk).state not in Job.ACTIVE_STATES, timeout=60, message="inventory job")
        job.refresh_from_db()
        assert job.state == Job.State.DONE, (job.error, log.read_text()[-2000:])
        assert Asset.objects.filter(source=source).count() == 5
        text = log.read_text()
        assert "sqla+sqlite" in text and "inventory_job" in text and "succeeded" in text
        progress = client.get(f"/jobs/{job.pk}/?format=json").json()
        assert progress["state"] == "done" and progress["percent"] == 100.0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        finally:
            if group_alive(worker.pid):
                os.killpg(worker.pid, signal.SIGKILL)


def start_doppel_run(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"CELERY_BROKER_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DOPPEL_TESTING"}}
    env.update({"DEBUG": "1", "DOPPEL_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"})
    out = tmp_path / "doppel_run.out"
    proc = subprocess.Popen([sys.executable, "manage.py", "doppel_run", "--port", str(port), "--concurrency", "1"],
                            cwd=ROOT, env=env, stdout=open(out, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    log = tmp_path / "var" / "worker.log"

    def ready():
        if proc.poll() is not None:
            raise AssertionError(out.read_text())
        return _port_open("127.0.0.1", port) and log.exists() and "ready." in log.read_text()

    try:
        wait_for(ready, timeout=90, message="web server and worker")
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    pids = {}
    for line in out.read_text().splitlines():
        if line.startswith("doppel_run: ") and " pid " in line:
            name, pid = line[len("doppel_run: "):].rsplit(" pid ", 1)
            pids[name] = int(pid)
    assert set(pids) == {"web server", "worker", "pictures worker"}, out.read_text()
    assert "broker sqla+sqlite:///" in out.read_text()
    return proc, pids, out


def assert_all_gone(pids):
    for name, pid in pids.items():
        assert not group_alive(pid), f"the {name}'s processes outlived doppel_run"


def test_stopping_make_run_stops_the_server_and_the_worker(tmp_path):
    proc, pids, out = start_doppel_run(tmp_path)
    assert all(group_alive(pid) for pid in pids.values())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, out.read_text()
    assert_all_gone(pids)
    assert "web server and workers stopped" in out.read_text()


def test_when_the_web_server_dies_the_worker_is_stopped_too(tmp_path):
    proc, pids, out = start_doppel_run(tmp_path)
    os.kill(pids["web server"], signal.SIGKILL)
    assert proc.wait(30) != 0
    assert_all_gone(pids)
    assert "the web server stopped" in out.read_text()

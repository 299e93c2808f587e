"""`make run`: the web server and the background Celery workers (the jobs' worker, and one process for
the review pages' pictures), started and stopped together.

Jobs never run inside a web request: the server only queues them on the broker (the embedded
SQLite broker unless CELERY_BROKER_URL says otherwise) and the worker carries them out, with the
same task code as production. Ctrl-C, SIGTERM or any of them ending stops them all, and each
child runs in its own process group which is ended whole, so no worker process outlives the
server.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from reviewapp.celery import sqlite_broker_prepare

STOP_GRACE_SECONDS = 15  # a warm worker shutdown finishes the item in hand; then it is killed


def _die_with_parent():
    """Linux: the child gets SIGTERM if this supervisor dies without cleaning up (SIGKILL)."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _celery_worker(*, queues, concurrency: int, name: str, logfile, beat_schedule=None) -> list[str]:
    """A `celery worker` of `make run`'s: prefork, without the cluster chatter a lone machine does not need."""
    beat = ["-B", "-s", str(beat_schedule)] if beat_schedule else []
    return [
        sys.executable, "-m", "celery", "-A", "reviewapp", "worker", "-l", "INFO", "-Q", ",".join(queues),
        "-P", "prefork", "-c", str(concurrency), *beat, "--without-gossip", "--without-mingle",
        "--without-heartbeat", "-n", name, "--logfile", str(logfile),
    ]


def worker_command(*, concurrency: int, var_dir) -> list[str]:
    """The embedded worker: the production queues, plus the beat schedule (purge, reingest checks)."""
    return _celery_worker(queues=settings.WORKER_QUEUES, concurrency=concurrency, name="embedded@%h",
                          logfile=var_dir / "worker.log", beat_schedule=var_dir / "celerybeat-schedule")


def pictures_worker_command(*, var_dir) -> list[str]:
    """The pictures' own worker process: the review page's pictures queue alone (settings.PICTURES_QUEUE).
    Why: every process of the main worker may be in a long analysis task (up to its time limit, minutes),
    and a curator's "Preparing this picture…" then waited for one to end; this one is always free for the
    pictures, which take well under a second each. The main worker takes them too when it is idle."""
    return _celery_worker(queues=(settings.PICTURES_QUEUE,), concurrency=1, name="pictures@%h",
                          logfile=var_dir / "pictures-worker.log")


def worker_env(*, broker: str, var_dir, base=None) -> dict:
    """The children's environment: a real broker (never eager) and the same var directory."""
    return {**(os.environ if base is None else base), "CELERY_BROKER_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "0", "DOPPEL_VAR_DIR": str(var_dir)}


def server_command(*, host: str, port: int) -> list[str]:
    """runserver without Nagle stalls (doppel_runserver), no autoreload: the supervisor owns its life."""
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), "doppel_runserver", f"{host}:{port}", "--noreload"]


class Supervisor:
    def __init__(self, commands: dict[str, list[str]], env: dict, out):
        self.commands = commands
        self.env = env
        self.out = out
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self):
        for name, cmd in self.commands.items():
            self.procs[name] = subprocess.Popen(cmd, env=self.env, cwd=settings.BASE_DIR, preexec_fn=_die_with_parent)
            self.out(f"doppel_run: {name} pid {self.procs[name].pid}")

    def wait(self) -> int:
        """Until a signal arrives or a child ends; returns the exit status for the supervisor."""
        while not self.stopping:
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    self.out(f"doppel_run: the {name} stopped (exit status {code}); stopping the rest")
                    return code or 1
            time.sleep(0.3)
        return 0

    def request_stop(self, signum, frame):
        self.stopping = True

    def stop(self):
        """SIGTERM to each child itself (Celery's warm shutdown ends its own pool and beat), then
        SIGKILL to whatever is left of each process group."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._signal(proc, signal.SIGKILL)  # whatever is left of its group (pool processes)
            proc.wait()
        for name, proc in self.procs.items():
            if not self._group_gone(proc.pid, timeout=10):
                self.out(f"doppel_run: processes of the {name} (group {proc.pid}) did not end")

    @staticmethod
    def _group_gone(pgid, timeout) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _signal(proc, signum):
        try:
            os.killpg(proc.pid, signum)  # the child called setsid: its pid is its group id
        except (ProcessLookupError, PermissionError):
            pass


class Command(BaseCommand):
    help = "Run the web server and a background job worker together (what `make run` starts)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=settings.EMBEDDED_WORKER_CONCURRENCY,
                            help="worker processes (default DOPPEL_EMBEDDED_WORKER_CONCURRENCY)")

    def handle(self, *args, host, port, concurrency, **options):
        var_dir = settings.VAR_DIR
        broker = settings.CELERY_BROKER_URL or settings.EMBEDDED_BROKER_URL
        sqlite_broker_prepare(broker)
        env = worker_env(broker=broker, var_dir=var_dir)
        say = lambda line: (self.stdout.write(line), self.stdout.flush())  # noqa: E731
        sup = Supervisor({"web server": server_command(host=host, port=port),
                          "worker": worker_command(concurrency=concurrency, var_dir=var_dir),
                          "pictures worker": pictures_worker_command(var_dir=var_dir)}, env, say)
        signal.signal(signal.SIGINT, sup.request_stop)
        signal.signal(signal.SIGTERM, sup.request_stop)
        signal.signal(signal.SIGHUP, sup.request_stop)
        shown = broker.split("://", 1)[0] + "://…" if "@" in broker else broker
        say(f"doppel_run: jobs run in the background worker (broker {shown}; log {var_dir / 'worker.log'})")
        code = 0
        try:
            sup.start()
            code = sup.wait()
        finally:
            sup.stop()
            say("doppel_run: web server and workers stopped")
        if code:
            sys.exit(code)

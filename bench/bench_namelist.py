"""Name-list upload: how long the web request takes (what gunicorn's 60 s timeout sees) and how
long the work queued by it takes, for a list of N lines against a source of A assets.

The list holds every asset's file name (found), then misses up to N lines. The upload goes through
the real view (Django's test client, logged in as an admin); tasks the request queues are held back
and run after it, one by one, each timed: in production a worker runs them.

    createdb -h 127.0.0.1 -U postgres doppel_bench_namelist
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doppel_bench_namelist \\
        .venv/bin/python bench/bench_namelist.py [--lines 499000] [--assets 100000]

An empty database is migrated and given the source; a later run empties its name lists and jobs
and reuses the source.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=499_000)
    ap.add_argument("--assets", type=int, default=100_000)
    args = ap.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("set DATABASE_URL (a database of its own: the bench writes to it)")
    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-namelist-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
                       "SECRET_KEY": "bench-only-" + "7" * 40, "DOPPEL_VAR_DIR": str(tmp / "var"),
                       "ALLOWED_HOSTS": "testserver", "CELERY_TASK_ALWAYS_EAGER": "1", "CELERY_BROKER_URL": ""})
    import django

    django.setup()
    from celery.app.task import Task
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from reviewapp.models import Asset, AssetIdentifier, Job, NameList, Source
    from reviewapp.roles import add_to_role, ensure_groups

    call_command("migrate", verbosity=0)
    ensure_groups()
    Job.objects.filter(namelist__isnull=False).update(namelist=None)
    NameList.objects.all().delete()
    Job.objects.all().delete()
    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_user("bench-admin")
    add_to_role(admin, "admin")
    names = [f"C{i:07d}.tif" for i in range(args.assets)]
    src = Source.objects.filter(name="bench-namelist").first()
    if src is not None and src.assets.count() != args.assets:
        sys.exit(f"the database holds the bench's source with {src.assets.count()} assets: use a fresh database")
    if src is None:
        src = Source.objects.create(name="bench-namelist", kind="local", role="cleanup", root=str(tmp))
        t = time.perf_counter()
        for i in range(0, len(names), 5000):
            batch = Asset.objects.bulk_create([Asset(source=src, key=f"box{j // 1000:03d}/{n}", name=n)
                                               for j, n in enumerate(names[i:i + 5000], start=i)])
            AssetIdentifier.objects.bulk_create([AssetIdentifier(asset=a, value=a.name[:8]) for a in batch])
        print(f"source: {args.assets} assets in {time.perf_counter() - t:.1f} s", flush=True)
    lines = names[: args.lines] + [f"missing-{i}.jpg" for i in range(max(0, args.lines - len(names)))]
    data = ("\n".join(lines) + "\n").encode()

    queued = []

    def hold(self, args=None, kwargs=None, **options):
        queued.append((self, tuple(args or ()), dict(kwargs or {})))

    client = Client()
    client.force_login(admin)
    with mock.patch.object(Task, "apply_async", hold), \
            mock.patch.object(Task, "delay", lambda self, *a, **k: hold(self, a, k)):
        t = time.perf_counter()
        resp = client.post("/namelists/upload/", {"source": src.pk, "title": "bench",
                                                  "file": SimpleUploadedFile("names.txt", data)})
        request_s = time.perf_counter() - t
    assert resp.status_code == 302, resp.content[:2000]
    print(f"request: {request_s:.1f} s for {len(lines)} lines ({len(data) / 1e6:.1f} MB), "
          f"{connection.vendor}; {len(queued)} task(s) queued", flush=True)
    for task, a, k in queued:
        t = time.perf_counter()
        task.apply(a, k)
        print(f"task {task.name}{a}: {time.perf_counter() - t:.1f} s", flush=True)
    nl = NameList.objects.latest("pk")
    print(f"list #{nl.pk}: requested {nl.requested}, found {nl.found}, not found {nl.not_found}, "
          f"ambiguous {nl.ambiguous}, resolved {'yes' if nl.resolved_at else 'no'}")


if __name__ == "__main__":
    main()

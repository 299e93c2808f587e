"""Review speed on PostgreSQL: p95 server time of "next" (lease + file view) and of a decision
with 1,000 and with 100,000 files in the queue, the ratio between the two (does the queue size
leak into the request time?), and throughput of 20 concurrent curators over loopback HTTP
against gunicorn.

Uses a throwaway database `doppel_bench` (created and dropped here). When PostgreSQL is not
reachable it says so and exits 0. Runtime: about 1–3 minutes.
"""
from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("DOPPEL_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("DOPPEL_BENCH_DB", "doppel_bench")
SAMPLES = int(os.environ.get("DOPPEL_BENCH_SAMPLES", "200"))
SIZES = [int(s) for s in os.environ.get("DOPPEL_BENCH_SIZES", "1000,100000").split(",")]
CURATORS = 20
THROUGHPUT_SECONDS = float(os.environ.get("DOPPEL_BENCH_SECONDS", "15"))


def admin_conn():
    import psycopg

    return psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3)


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100.0 * (len(values) - 1))))]


def ms(v):
    return f"{v * 1000:7.1f} ms"


def setup_db():
    with admin_conn() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB}"')
    os.environ["DATABASE_URL"] = f"{PG}/{DB}"
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "reviewapp.settings"
    os.environ["DB_CONN_MAX_AGE"] = "60"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def drop_db():
    from django.db import connections

    connections.close_all()
    with admin_conn() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


def _copy(model, rows):
    """COPY rows (dicts of attname → value over a default instance) into the model's table with
    explicit ids: a hundred thousand rows in seconds, and still every column the model has."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields]
    template = model()
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    defaults = {}
    for f in fields:
        v = getattr(template, f.attname)
        if v is None and getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            from django.utils import timezone

            v = timezone.now()
        defaults[f.attname] = v
    table = model._meta.db_table
    with connection.cursor() as cur:
        with cur.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({cols}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row([f.get_db_prep_save(row.get(f.attname, defaults[f.attname]), connection) for f in fields])
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


def seed(total, state):
    """Grow the review queue to `total` files: a clean-up asset, its canonical asset, the
    candidate and the review item for each."""
    from django.db import connection

    from reviewapp.models import Asset, Candidate, ReviewItem, Source

    if "sources" not in state:
        state["sources"] = (
            Source.objects.create(name="bench-cleanup", kind="local", role="cleanup", root="/bench/cleanup"),
            Source.objects.create(name="bench-canonical", kind="local", role="canonical", root="/bench/canonical"),
        )
        state["n"] = 0
    cleanup, canon = state["sources"]
    verdicts = ["identical", "duplicate", "rotated", "duplicate", "cleanup_corrupt", "different", "identical", "duplicate"]
    lo, hi = state["n"], total
    base = (Asset.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cbase = (Candidate.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    common = dict(state="fingerprinted", width=3000, height=2000, pages=1, bit_depth=8, decode_status="ok")

    def cid(i):
        return base + 2 * (i - lo)

    _copy(Asset, ({"id": cid(i), "source_id": cleanup.pk, "key": f"scan/{i:07d}.tif", "name": f"{i:07d}.tif",
                   "size": 1_000_000 + i, "etag": f"c{i}", "format": "TIFF", **common} for i in range(lo, hi)))
    _copy(Asset, ({"id": cid(i) + 1, "source_id": canon.pk, "key": f"C{i:07d}.jp2", "name": f"C{i:07d}.jp2",
                   "size": 900_000 + i, "etag": f"k{i}", "format": "JPEG2000", "storage_class": "GLACIER_IR", **common}
                  for i in range(lo, hi)))
    _copy(Candidate, ({"id": cbase + i - lo, "cleanup_asset_id": cid(i), "match_asset_id": cid(i) + 1, "found_by": "id+content",
                       "diff_score": (i % 97) / 1000.0, "local_score": (i % 53) / 1000.0, "verdict": verdicts[i % 8],
                       "safe_to_delete": True, "engine_version": "bench", "cleanup_etag": f"c{i}", "match_etag": f"k{i}",
                       "reasons": [], "thresholds": {}}
                      for i in range(lo, hi)))
    _copy(ReviewItem, ({"asset_id": cid(i), "best_candidate_id": cbase + i - lo, "verdict": verdicts[i % 8],
                        "diff_score": (i % 97) / 1000.0, "local_score": (i % 53) / 1000.0, "priority": i, "skipped_by": [],
                        "id": i + 1}
                       for i in range(lo, hi)))
    state["n"] = hi
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def curators(n):
    from tests.factories import UserFactory

    return [UserFactory(role="curator", username=f"bench{i}") for i in range(n)]


def latency(users, samples):
    """In-process server time (the whole Django stack, no network) of the three requests a
    curator makes per file."""
    from django.test import Client
    from django.urls import reverse

    c = Client()
    c.force_login(users[0])
    t_next, t_view, t_decide = [], [], []
    nxt = reverse("review-next")
    for _ in range(samples + 10):
        t0 = time.perf_counter()
        r = c.post(nxt)  # Next is a POST: it takes the lease
        t1 = time.perf_counter()
        assert r.status_code == 302 and r["Location"] != nxt, (r.status_code, r.get("Location"))
        item_url = r["Location"]
        r = c.get(item_url)
        t2 = time.perf_counter()
        assert r.status_code == 200
        r = c.post(item_url + "decide/", {"action": "not_duplicate"})
        t3 = time.perf_counter()
        assert r.status_code == 302
        t_next.append(t1 - t0)
        t_view.append(t2 - t1)
        t_decide.append(t3 - t2)
    if os.environ.get("DOPPEL_BENCH_PROFILE"):
        _profile(c, nxt)
    cut = slice(10, None)  # warm-up
    return {"next": t_next[cut], "view": t_view[cut], "decide": t_decide[cut]}


def _profile(c, nxt):
    """Print each SQL query of one next → view → decide cycle with its time (slowest first)."""
    from django.db import connection

    timings = []

    def wrapper(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - t0, sql[:160]))

    with connection.execute_wrapper(wrapper):
        r = c.post(nxt)
        url = r["Location"]
        c.get(url)
        c.post(url + "decide/", {"action": "not_duplicate"})
    print(f"  {len(timings)} queries, {sum(t for t, _ in timings) * 1000:.1f} ms in SQL")
    for t, sql in sorted(timings, reverse=True)[:8]:
        print(f"   {t * 1000:6.1f} ms  {sql}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throughput(users):
    """20 curators, one thread each, each with its own keep-alive HTTP session, against gunicorn
    on 127.0.0.1: next → file view → decide, as fast as the server lets them."""
    import requests
    from django.test import Client

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
           "DB_CONN_MAX_AGE": "60", "PYTHONPATH": str(ROOT)}
    workers = max(2, (os.cpu_count() or 2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "reviewapp.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "-k", "gthread", "--threads", "8", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(base + "/accounts/login/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        sessions = []
        for u in users:
            c = Client()
            c.force_login(u)
            s = requests.Session()
            token = secrets.token_hex(16)  # a 32-char CSRF secret: cookie and form field agree
            s.cookies.set("sessionid", c.cookies["sessionid"].value, domain="127.0.0.1")
            s.cookies.set("csrftoken", token, domain="127.0.0.1")
            sessions.append((s, token))
        done, cycle_times, errors = [0], [], []
        lock = threading.Lock()
        stop = time.time() + THROUGHPUT_SECONDS
        start_gate = threading.Barrier(len(sessions))

        def run(s, token):
            start_gate.wait()
            while time.time() < stop:
                t0 = time.perf_counter()
                try:
                    r = s.post(base + "/review/next/", data={"csrfmiddlewaretoken": token},
                               allow_redirects=False, timeout=30)
                    if r.status_code != 302 or r.headers["Location"].startswith("/review/next/"):
                        errors.append(f"next {r.status_code}")
                        return
                    url = base + r.headers["Location"]
                    r = s.get(url, timeout=30)
                    r.raise_for_status()
                    r = s.post(url + "decide/", data={"action": "not_duplicate", "csrfmiddlewaretoken": token},
                               allow_redirects=False, timeout=30)
                    if r.status_code != 302:
                        errors.append(f"decide {r.status_code}")
                        return
                except requests.RequestException as exc:
                    errors.append(str(exc))
                    return
                with lock:
                    done[0] += 1
                    cycle_times.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=run, args=st) for st in sessions]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        return {"files": done[0], "seconds": elapsed, "cycles": cycle_times, "errors": errors, "workers": workers}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def duplicate_check():
    from django.db.models import Count

    from reviewapp.models import Decision

    dup = (Decision.objects.exclude(action__in=["skip", "undo"]).values("review_item_id").annotate(n=Count("id"))
           .filter(n__gt=1).count())
    return dup


def main():
    try:
        admin_conn().close()
    except Exception as exc:  # noqa: BLE001
        print(f"bench_review: PostgreSQL not reachable at {PG} ({exc.__class__.__name__}: {exc}); skipped.")
        return 0
    t_all = time.perf_counter()
    setup_db()
    try:
        users = curators(CURATORS)
        state, results = {}, {}
        for size in SIZES:
            t0 = time.perf_counter()
            seed(size, state)
            print(f"queue of {size:>7,} files seeded in {time.perf_counter() - t0:5.1f} s")
            results[size] = latency(users, SAMPLES)
        print(f"\nserver time per request, in-process Django stack on PostgreSQL ({SAMPLES} files each):")
        print(f"{'queue':>9} {'request':<22} {'p50':>10} {'p95':>10}")
        labels = {"next": '"next" (lease)', "view": "file view (render)", "decide": "decision (POST)"}
        for size, r in results.items():
            for k, label in labels.items():
                print(f"{size:>9,} {label:<22} {ms(statistics.median(r[k]))} {ms(p(r[k], 95))}")
        if len(SIZES) >= 2:
            a, b = results[SIZES[0]], results[SIZES[-1]]
            print(f"\np95 ratio {SIZES[-1]:,} / {SIZES[0]:,} files (1.0 = does not grow with the queue):")
            for k, label in labels.items():
                ratio = p(b[k], 95) / max(p(a[k], 95), 1e-9)
                verdict = "ok" if p(b[k], 95) < 0.050 else "over the 50 ms aim"
                print(f"  {label:<22} {ratio:5.2f}x   (p95 at {SIZES[-1]:,}: {ms(p(b[k], 95)).strip()}, {verdict})")
            nl = [x + y for x, y in zip(b["next"], b["view"])]
            print(f'  "next" incl. file view p95 at {SIZES[-1]:,}: {ms(p(nl, 95)).strip()}')

        print(f"\nthroughput: {CURATORS} concurrent curators over loopback HTTP (gunicorn gthread), {THROUGHPUT_SECONDS:.0f} s:")
        t = throughput(users)
        rate = t["files"] / t["seconds"] if t["seconds"] else 0
        print(f"  {t['files']} files decided in {t['seconds']:.1f} s = {rate:.1f} files/s ({rate * 3600:,.0f} files/hour) "
              f"with {t['workers']} gunicorn workers on {os.cpu_count()} cores")
        if t["cycles"]:
            print(f"  per-file cycle (next + view + decide) p50 {ms(statistics.median(t['cycles'])).strip()}, "
                  f"p95 {ms(p(t['cycles'], 95)).strip()}")
        if t["errors"]:
            print(f"  errors: {len(t['errors'])}: {t['errors'][:3]}")
        dup = duplicate_check()
        print(f"  files decided twice (two curators on one file): {dup}")
        print(f"\nbench_review total {time.perf_counter() - t_all:.0f} s")
        return 1 if dup else 0
    finally:
        drop_db()


if __name__ == "__main__":
    sys.exit(main())

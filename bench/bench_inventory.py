"""Inventory of a million objects from an S3 Inventory report (CSV.gz parts + manifest.json with
each part's MD5) served by moto's S3 server in its own process: time and peak RSS of

  * the report reader alone (download each part to a temp file while checking its MD5, then
    decompress and parse it as a stream), at 100k and at 1M objects: constant memory means the
    two peaks are about the same;
  * the whole inventory job on PostgreSQL (rows compared 1,000 at a time, bulk inserts, IDs in
    names), at the same sizes;
  * a re-inventory of the same source from a report 1% smaller (every row compared and stamped as
    seen, the missing 1% marked vanished), in a fresh process: the vanished detection holds no
    per-object state, so its peak stays flat from 100k to 1M too.

    .venv/bin/python bench/bench_inventory.py [--sizes 100000,1000000] [--no-service] [--no-again]

Uses a throwaway database `doppel_bench_inventory` (created and dropped here). Without moto's
server or PostgreSQL it says so and exits 0. Runtime: the 1M inventory job alone took 11.5 min on 2 busy
cores (load 5); the re-inventory adds about half as much again (`--no-again` skips it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("DOPPEL_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("DOPPEL_BENCH_DB", "doppel_bench_inventory")
PART_ROWS = 200_000  # S3 writes parts of a few hundred thousand rows


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """VmHWM: this process image's own high-water mark (ru_maxrss would carry over the parent's
    RSS at fork time across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def profile(endpoint: str) -> dict:
    return {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "bench",
            "aws_secret_access_key": "bench", "addressing_style": "path"}


def objects(n: int):
    """Keys like a scan archive: boxes of 1,000 files, IDs in names, some archived."""
    classes = ["STANDARD"] * 8 + ["GLACIER", "DEEP_ARCHIVE"]
    for i in range(n):
        yield {"Key": f"scans/box{i // 1000:05d}/C{1000000 + i:08d}_{i % 7}.tif", "Size": 20_000_000 + i,
               "ETag": f"{i * 2654435761 % 2**128:032x}", "StorageClass": classes[i % 10],
               "LastModifiedDate": "2024-03-04T05:06:07.000Z"}


def make_report(client, n: int) -> str:
    from reviewapp import s3inventory

    client.create_bucket(Bucket=f"archive-{n}")
    return s3inventory.write_report(client, source_bucket=f"archive-{n}", dest_bucket="inventory",
                                    dest_prefix=f"archive/all/{n}", objects=objects(n), per_file=PART_ROWS)


def make_later_report(client, n: int) -> str:
    """The same bucket a day later: every 100th object deleted."""
    from reviewapp import s3inventory

    later = (o for i, o in enumerate(objects(n)) if i % 100 != 0)
    return s3inventory.write_report(client, source_bucket=f"archive-{n}", dest_bucket="inventory",
                                    dest_prefix=f"archive/later/{n}", objects=later, per_file=PART_ROWS)


# --- children: one measurement each, in a fresh process -------------------------------------------


def bucket_of(manifest: str) -> str:
    return "archive-" + manifest.rstrip("/").split("/")[-2]


def child_parse(endpoint: str, manifest: str) -> dict:
    import boto3

    from reviewapp import s3inventory

    client = boto3.client("s3", **{k: v for k, v in profile(endpoint).items() if k != "addressing_style"})
    base = rss_mb()
    t = time.perf_counter()
    n, samples = 0, []
    for _ in s3inventory.iter_report(client, manifest, source_bucket=bucket_of(manifest), prefix="scans/"):
        n += 1
        if n % 100_000 == 0:
            samples.append(round(rss_mb(), 1))
    return {"rows": n, "seconds": time.perf_counter() - t, "base_rss_mb": base, "peak_rss_mb": peak_rss_mb(),
            "rss_every_100k_mb": samples}


def child_service(endpoint: str, manifest: str) -> dict:
    import django

    django.setup()
    from reviewapp.models import Asset
    from reviewapp.services.sources import source_add

    source = source_add(actor=None, name=f"archive-{time.time_ns()}", kind="s3", role="canonical",
                        storage_profile="bench", bucket=bucket_of(manifest), prefix="scans/")
    job, seconds, base = timed_inventory(source, manifest)
    return {"rows": Asset.objects.filter(source=source).count(), "seconds": seconds, "base_rss_mb": base,
            "peak_rss_mb": peak_rss_mb(), "archived": Asset.objects.filter(source=source, state="archived").count()}


def timed_inventory(source, manifest: str):
    """One inventory job of ``source`` from ``manifest``, run in this process: (job, seconds, RSS
    in MB before it started)."""
    from reviewapp.models import Job
    from reviewapp.services.inventory import inventory_run

    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, params={"manifest": manifest})
    base = rss_mb()
    t = time.perf_counter()
    job = inventory_run(job.pk)
    seconds = time.perf_counter() - t
    assert job.state == Job.State.DONE, (job.state, job.error)
    return job, seconds, base


def child_again(endpoint: str, manifest: str) -> dict:
    import django

    django.setup()
    from reviewapp.models import Asset, Source

    source = Source.objects.filter(bucket=bucket_of(manifest)).latest("pk")
    job, seconds, base = timed_inventory(source, manifest)
    return {"rows": Asset.objects.filter(source=source).exclude(state="vanished").count(), "seconds": seconds,
            "base_rss_mb": base, "peak_rss_mb": peak_rss_mb(), "vanished": job.params["stats"]["vanished"]}


def run_child(kind: str, endpoint: str, manifest: str, env: dict) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", kind, "--endpoint", endpoint, "--manifest", manifest],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{kind} child failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--no-service", action="store_true", help="measure the report reader only")
    ap.add_argument("--no-again", action="store_true", help="skip the re-inventory")
    ap.add_argument("--child", choices=["parse", "service", "again"], help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", help=argparse.SUPPRESS)
    ap.add_argument("--manifest", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = {"parse": child_parse, "service": child_service, "again": child_again}[args.child]
        print(json.dumps(fn(args.endpoint, args.manifest)))
        return 0

    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(moto).exists():
        print("moto_server not installed (requirements-dev.txt): skipped")
        return 0
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-inv-"))
    server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import boto3

        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    print("moto_server did not start: skipped")
                    return 0
                time.sleep(0.1)
        client = boto3.client("s3", **{k: v for k, v in profile(endpoint).items() if k != "addressing_style"})
        client.create_bucket(Bucket="inventory")
        service = not args.no_service
        import secrets

        # production settings: with DEBUG on, Django keeps the last 9,000 SQL statements (each of
        # a 1,000-row bulk insert) in memory, which would be measured as the job's memory
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "SECRET_KEY": secrets.token_urlsafe(50),
               "DOPPEL_S3_PROFILES": json.dumps({"bench": profile(endpoint)}), "CELERY_BROKER_URL": "",
               "CELERY_TASK_ALWAYS_EAGER": "1", "DOPPEL_VAR_DIR": str(tmp / "var"), "TMPDIR": str(tmp)}
        if service:
            try:
                import psycopg

                with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
                    c.execute(f'CREATE DATABASE "{DB}"')
                env["DATABASE_URL"] = f"{PG}/{DB}"
                subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            except Exception as exc:  # noqa: BLE001
                print(f"PostgreSQL at {PG} unavailable ({exc}): the inventory job is not measured")
                service = False
        for n in [int(s) for s in args.sizes.split(",")]:
            t = time.perf_counter()
            manifest = make_report(client, n)
            parts = -(-n // PART_ROWS)
            print(f"{n:>9,} objects: report of {parts} part(s) written in {time.perf_counter() - t:.1f} s")
            p = run_child("parse", endpoint, manifest, env)
            assert p["rows"] == n, p
            print(f"  reader : {p['seconds']:6.1f} s = {n / p['seconds']:9,.0f} rows/s   peak RSS {p['peak_rss_mb']:6.1f} MB "
                  f"(after imports {p['base_rss_mb']:.1f} MB; every 100k rows: {p['rss_every_100k_mb']})")
            if service:
                s = run_child("service", endpoint, manifest, env)
                assert s["rows"] == n, s
                print(f"  job    : {s['seconds']:6.1f} s = {n / s['seconds']:9,.0f} rows/s   peak RSS {s['peak_rss_mb']:6.1f} MB "
                      f"(after setup {s['base_rss_mb']:.1f} MB; {s['archived']:,} archived) on PostgreSQL")
                if not args.no_again:
                    later = make_later_report(client, n)
                    a = run_child("again", endpoint, later, env)
                    assert a["vanished"] == -(-n // 100) and a["rows"] == n - a["vanished"], a
                    print(f"  again  : {a['seconds']:6.1f} s = {n / a['seconds']:9,.0f} rows/s   peak RSS {a['peak_rss_mb']:6.1f} MB "
                          f"(after setup {a['base_rss_mb']:.1f} MB; {a['vanished']:,} vanished) re-inventory, 1% deleted")
    finally:
        os.killpg(server.pid, 15)
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        if "DATABASE_URL" in locals().get("env", {}):
            try:
                import psycopg

                with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            except Exception:  # noqa: BLE001
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

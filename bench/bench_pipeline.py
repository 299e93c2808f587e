"""Pipeline throughput: assets per second end to end (inventory → analysis with renditions →
pairing → Candidate and ReviewItem rows), as a ratio to the engine CLI alone
(`python -m matching pairs`) on the same files, and 2 workers against 1. Two modes:

    .venv/bin/python bench/bench_pipeline.py [--n 1000] [--side 320]
    .venv/bin/python bench/bench_pipeline.py --production [--n 12] [--width 4000 --height 3000]

Default (embedded) mode: many small images; "workers" are processes running the pipeline's own
per-item functions (analyse_item, pair_items) on a fresh SQLite database, without a broker: the
same work a Celery worker does per message, minus Redis round trips.

Production mode: archive-size files (4000x3000 TIFF and JPEG 2000 canonicals, JPEG clean-up
copies) in moto's S3 server (its own process), PostgreSQL, Redis, renditions written to an S3
bucket, and real `celery -A reviewapp worker` processes (1, then 2, each with one pool process),
driven through the services the API calls (source_add, inventory_start, analysis_start) from
inventory to ReviewItems. Reported: files/s and MB/s against the CLI on the same files with the
same number of processes, 2 workers against 1, peak RSS (VmHWM) of every worker process, and GETs
per original counted from moto's request log. Runtime: about 3-6 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "grass", "gravel", "moon",
          "hubble_deep_field", "retina", "immunohistochemistry", "cell", "page", "clock"]


def load_photos(names) -> list:
    """scikit-image's sample photographs as uint8 RGB arrays (grey ones stacked, others scaled)."""
    import numpy as np
    import skimage.data

    photos = []
    for name in names:
        a = getattr(skimage.data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        a = a[..., :3]
        if a.dtype != np.uint8:
            a = (a / max(a.max(), 1) * 255).astype(np.uint8)
        photos.append(a)
    return photos


def generate(root: Path, n: int, side: int, seed: int = 7) -> tuple[int, int]:
    """n files: half canonical TIFF (LZW), half clean-up (mostly resized JPEG copies, some unique)."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    photos = load_photos(PHOTOS)
    can, cl = root / "canonical", root / "cleanup"
    can.mkdir(parents=True)
    cl.mkdir(parents=True)
    n_can = n // 2
    pics = []

    def picture():
        a = photos[rng.randrange(len(photos))]
        h, w = a.shape[:2]
        fh, fw = rng.uniform(0.35, 0.7), rng.uniform(0.35, 0.7)
        y, x = rng.randrange(0, int(h * (1 - fh)) + 1), rng.randrange(0, int(w * (1 - fw)) + 1)
        crop = a[y: y + int(h * fh), x: x + int(w * fw)].astype(np.int16)
        crop = np.clip(crop + rng.randint(-25, 25), 0, 255).astype(np.uint8)
        im = Image.fromarray(crop)
        im.thumbnail((side, side))
        return im

    for i in range(n_can):
        im = picture()
        im.save(can / f"C{1000000 + i:07d}.tif", "TIFF", compression="tiff_lzw")
        pics.append(im)
    for j in range(n - n_can):
        if rng.random() < 0.8:
            i = rng.randrange(n_can)
            im = pics[i].resize((max(8, int(pics[i].width * 0.75)), max(8, int(pics[i].height * 0.75))))
            name = f"C{1000000 + i}{'abc'[j % 3]}.jpg" if rng.random() < 0.5 else f"IMG_{j:05d}.jpg"
            if (cl / name).exists():  # a second copy of the same canonical: keep both files
                name = f"IMG_{j:05d}.jpg"
        else:
            im, name = picture(), f"IMG_{j:05d}.jpg"
        im.save(cl / name, "JPEG", quality=88)
    return n_can, n - n_can


def env_for(tmp: Path, db: Path) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DEBUG": "1", "LOG_LEVEL": "WARNING",
            "DOPPEL_VAR_DIR": str(tmp / "var"), "DATABASE_URL": f"sqlite:///{db}", "DOPPEL_LOCAL_ROOTS": str(tmp / "files"),
            "DOPPEL_RENDITIONS_DIR": str(tmp / "renditions" / db.stem), "CELERY_TASK_ALWAYS_EAGER": "1", "CELERY_BROKER_URL": ""}


def cli_run(files: Path, workers: int, out: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "matching", "pairs", str(files / "canonical"), str(files / "cleanup"),
                    "--out", str(out), "--workers", str(workers), "--quiet"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


# --- child: one pipeline run in its own database -------------------------------------------------


def _analyse_chunk(args):
    job_id, ids = args
    from django.db import connections

    from reviewapp.services import analysis

    connections.close_all()
    for item_id in ids:
        try:
            analysis.analyse_item(job_id, item_id)
        except analysis.PermanentFailure as exc:
            analysis.item_fail(job_id, item_id, str(exc))
    connections.close_all()
    return len(ids)


def _pair_chunk(args):
    job_id, pair_job_id, ids = args
    from django.db import connections

    from reviewapp.services import analysis

    connections.close_all()
    analysis.pair_items(job_id, pair_job_id, ids)
    connections.close_all()
    return len(ids)


def child(files: Path, workers: int) -> dict:
    import django

    django.setup()
    from django.db.backends.signals import connection_created

    def fast_sqlite(sender, connection, **kw):
        # WAL without fsync per commit: a laptop's SQLite should not measure the disk
        if connection.vendor == "sqlite":
            with connection.cursor() as c:
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("PRAGMA synchronous=OFF")

    connection_created.connect(fast_sqlite)
    from django.db import connections as _conns

    if _conns["default"].vendor == "sqlite":
        # writers queue on the lock instead of failing when two processes upgrade read → write
        _conns["default"].settings_dict.setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    import multiprocessing as mp

    from django.db import connections, transaction

    from reviewapp.models import Job, ReviewItem
    from reviewapp.services import analysis
    from reviewapp.services.inventory import inventory_run
    from reviewapp.services.jobs import job_start
    from reviewapp.services.sources import source_add

    can = source_add(actor=None, name="can", kind="local", role="canonical", root=str(files / "canonical"))
    cl = source_add(actor=None, name="cl", kind="local", role="cleanup", root=str(files / "cleanup"))
    t0 = time.perf_counter()
    for s in (can, cl):
        with transaction.atomic():
            job = Job.objects.create(kind=Job.Kind.INVENTORY, source=s)
        inventory_run(job.pk)
    job = analysis.analysis_start(actor=None, source=cl, dispatch=False)
    if workers == 1:
        analysis.analysis_run(job.pk)
    else:
        job_start(job.pk)
        pending = analysis.analysis_prepare(job.pk)
        connections.close_all()
        ctx = mp.get_context("fork")
        with ctx.Pool(workers) as pool:
            # small chunks, handed out as workers free up: a slow file holds up one worker only
            chunks = [(job.pk, pending[i:i + 8]) for i in range(0, len(pending), 8)]
            list(pool.imap_unordered(_analyse_chunk, chunks))
            phase, pair_ids = analysis.analysis_advance(job.pk)
            pj = Job.objects.get(pk=job.pk).params["pair_job"]
            connections.close_all()
            batches = [(job.pk, pj, pair_ids[i:i + 25]) for i in range(0, len(pair_ids), 25)]
            list(pool.imap_unordered(_pair_chunk, batches))
        analysis.analysis_advance(job.pk)
    elapsed = time.perf_counter() - t0
    job.refresh_from_db()
    assert job.state == Job.State.DONE, (job.state, job.error)
    return {"seconds": elapsed, "assets": job.requested, "failed": job.failed,
            "review_items": ReviewItem.objects.count()}


# --- production mode: moto S3 server, PostgreSQL, Redis, real celery workers ---------------------

PG = os.environ.get("DOPPEL_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PROD_DB = os.environ.get("DOPPEL_BENCH_DB", "doppel_bench_pipeline")
BENCH_REDIS = os.environ.get("DOPPEL_BENCH_REDIS_URL", os.environ.get("DOPPEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/13"))
BUCKET, RENDITIONS = "collections", "doppel-renditions"


def archive_picture(photo, width: int, height: int, rng):
    """A 12-megapixel scan-like picture: a photo upscaled to archive size, with film grain so that
    files compress like real scans rather than like flat colour."""
    import numpy as np
    from PIL import Image

    im = Image.fromarray(photo).resize((width, height), Image.Resampling.BICUBIC)
    a = np.asarray(im, dtype=np.int16)
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, 4, a.shape[:2])[..., None]
    return Image.fromarray(np.clip(a + grain, 0, 255).astype(np.uint8))


def generate_archive(root: Path, n: int, width: int, height: int, seed: int = 11) -> dict:
    """n files: half canonical (TIFF LZW and lossless JPEG 2000, alternately), half clean-up
    (JPEG q90 copies at full size, some renamed, one resized; one in six unrelated)."""
    import numpy as np
    import skimage.data

    rng = random.Random(seed)
    can, cl = root / "canonical", root / "cleanup"
    can.mkdir(parents=True)
    cl.mkdir(parents=True)
    n_can = max(1, n // 2)
    pics = []
    for i in range(n_can):
        a = getattr(skimage.data, PHOTOS[i % len(PHOTOS)])()
        a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
        if a.dtype != np.uint8:
            a = (a / max(a.max(), 1) * 255).astype(np.uint8)
        im = archive_picture(a, width, height, rng)
        if i % 2 == 0:
            im.save(can / f"C{2000000 + i:07d}.tif", "TIFF", compression="tiff_lzw")
        else:
            im.save(can / f"C{2000000 + i:07d}.jp2", "JPEG2000", irreversible=False)
        pics.append(im)
    for j in range(n - n_can):
        if j % 6 == 5:
            a = getattr(skimage.data, PHOTOS[(n_can + j) % len(PHOTOS)])()
            a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
            im, name = archive_picture(a.astype(np.uint8), width, height, rng).rotate(90, expand=True), f"IMG_{j:05d}.jpg"
        else:
            i = j % n_can
            im = pics[i] if j % 6 != 4 else pics[i].resize((width // 2, height // 2))
            name = f"C{2000000 + i}{'ab'[j % 2]}.jpg" if j % 3 else f"IMG_{j:05d}.jpg"
        im.save(cl / name, "JPEG", quality=90)
    sizes = {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}
    return sizes


def proc_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def vm_hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp: Path, endpoint: str, db: str) -> dict:
    import secrets

    profile = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "bench",
               "aws_secret_access_key": "bench", "addressing_style": "path"}
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50), "LOG_LEVEL": "WARNING", "DATABASE_URL": f"{PG}/{db}",
            "DB_CONN_MAX_AGE": "60", "CELERY_BROKER_URL": BENCH_REDIS, "CACHE_URL": BENCH_REDIS,
            "DOPPEL_S3_PROFILES": json.dumps({"bench": profile}), "DOPPEL_RENDITIONS_S3_BUCKET": RENDITIONS,
            "DOPPEL_RENDITIONS_S3_PROFILE": "bench", "DOPPEL_VAR_DIR": str(tmp / "var"),
            "DOPPEL_LOCAL_ROOTS": str(tmp / "files"), "PYTHONPATH": str(ROOT)}


def production_child(n_cleanup: int) -> dict:
    """Runs in its own process against the run's database: queue the jobs the way the API does
    and wait until the analysis job (analysis, then pairing) is done."""
    import django

    django.setup()
    from reviewapp.models import Job, ReviewItem
    from reviewapp.services.analysis import analysis_start
    from reviewapp.services.inventory import inventory_start
    from reviewapp.services.sources import source_add

    def wait(job, timeout=1800):
        deadline = time.time() + timeout
        while time.time() < deadline:
            job.refresh_from_db()
            if job.state in (Job.State.DONE, Job.State.FAILED, Job.State.CANCELLED):
                return job
            time.sleep(0.25)
        raise SystemExit(f"job {job.pk} still {job.state} after {timeout}s")

    can = source_add(actor=None, name="canonical", kind="s3", role="canonical", storage_profile="bench",
                     bucket=BUCKET, prefix="canonical/")
    cl = source_add(actor=None, name="cleanup", kind="s3", role="cleanup", storage_profile="bench",
                    bucket=BUCKET, prefix="cleanup/")
    t0 = time.perf_counter()
    for job in [inventory_start(actor=None, source=s) for s in (can, cl)]:
        assert wait(job).state == Job.State.DONE, (job.state, job.error)
    t_inv = time.perf_counter() - t0
    job = wait(analysis_start(actor=None, source=cl))
    elapsed = time.perf_counter() - t0
    assert job.state == Job.State.DONE, (job.state, job.error)
    items = ReviewItem.objects.count()
    assert items == n_cleanup, f"{items} review items for {n_cleanup} clean-up files"
    verdicts = {}
    for v in ReviewItem.objects.values_list("verdict", flat=True):
        verdicts[v] = verdicts.get(v, 0) + 1
    from django.db import connection

    with connection.cursor() as c:  # what the database holds per asset, for sizing
        c.execute("SELECT relname, pg_total_relation_size(relid) FROM pg_catalog.pg_statio_user_tables "
                  "WHERE relname LIKE 'reviewapp_%'")
        tables = dict(c.fetchall())
        row_bytes = {}
        for t in ("asset", "assetidentifier", "jobitem", "candidate", "reviewitem"):
            c.execute(f"SELECT count(*), coalesce(avg(pg_column_size(t.*)), 0) FROM reviewapp_{t} t")
            n, avg = c.fetchone()
            row_bytes[t] = {"rows": n, "avg_row_bytes": round(float(avg))}
    from reviewapp.models import Asset

    n_assets = Asset.objects.count()
    return {"seconds": elapsed, "inventory_seconds": t_inv, "assets": job.requested, "failed": job.failed,
            "review_items": items, "verdicts": verdicts, "n_assets": n_assets, "row_bytes": row_bytes,
            "db_bytes_per_asset": {k: v // max(n_assets, 1) for k, v in sorted(tables.items(), key=lambda kv: -kv[1])[:6]},
            "analysis_json_bytes": sum(len(json.dumps(a)) for a in Asset.objects.values_list("analysis", flat=True))
            // max(n_assets, 1)}


def production(args) -> int:
    import boto3
    import psycopg
    import redis

    try:
        redis.Redis.from_url(BENCH_REDIS, socket_connect_timeout=2).ping()
        psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        print(f"production mode needs PostgreSQL ({PG}) and Redis ({BENCH_REDIS}): {exc}; skipped")
        return 0
    moto = Path(sys.executable).parent / "moto_server"
    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-prod-"))
    procs = []
    try:
        files = tmp / "files"
        t = time.perf_counter()
        sizes = generate_archive(files, args.n, args.width, args.height)
        total_mb = sum(sizes.values()) / 2**20
        kinds = {}
        for name in sizes:
            kinds[Path(name).suffix] = kinds.get(Path(name).suffix, 0) + 1
        print(f"generated {len(sizes)} files of {args.width}x{args.height} ({kinds}), {total_mb:.0f} MB, "
              f"in {time.perf_counter() - t:.0f} s")
        port = free_port()
        moto_log = tmp / "moto.log"
        procs.append(subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                                      stderr=open(moto_log, "wb"), start_new_session=True))
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench")
        deadline = time.time() + 20
        while True:
            try:
                s3.list_buckets()
                break
            except Exception:  # noqa: BLE001
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{PROD_DB}_template" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{PROD_DB}_template"')
        env = production_env(tmp, endpoint, f"{PROD_DB}_template")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        results = {}
        for workers in (1, 2):
            cli = cli_run(files, workers, tmp / f"cli{workers}.csv")
            # a fresh bucket, database and broker for each run
            for b in (BUCKET, RENDITIONS):
                try:
                    for o in s3.list_objects_v2(Bucket=b).get("Contents", []):
                        s3.delete_object(Bucket=b, Key=o["Key"])
                except s3.exceptions.NoSuchBucket:
                    s3.create_bucket(Bucket=b)
            for name in sizes:
                s3.upload_file(str(files / name), BUCKET, name)
            db = f"{PROD_DB}_{workers}"
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                c.execute(f'CREATE DATABASE "{db}" TEMPLATE "{PROD_DB}_template"')
            redis.Redis.from_url(BENCH_REDIS).flushdb()
            env = production_env(tmp, endpoint, db)
            log_start = moto_log.stat().st_size
            workers_procs = []
            for w in range(workers):
                log = tmp / f"worker{workers}-{w}.log"
                p = subprocess.Popen(
                    [str(Path(sys.executable).parent / "celery"), "-A", "reviewapp", "worker", "-l", "INFO", "-Q", "doppel",
                     "--concurrency", "1", "--without-gossip", "--without-mingle", "-n", f"bench{w}@%h"],
                    cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
                procs.append(p)
                workers_procs.append((p, log))
            for p, log in workers_procs:
                deadline = time.time() + 60
                while b"ready." not in log.read_bytes():
                    if p.poll() is not None or time.time() > deadline:
                        print(log.read_text()[-3000:])
                        return 1
                    time.sleep(0.2)
            r = subprocess.run([sys.executable, __file__, "--production-child", "--n-cleanup",
                                str(sum(1 for k in sizes if k.startswith("cleanup/")))],
                               cwd=ROOT, env=env, capture_output=True, text=True)
            rss = [{"pid": pid, "peak_rss_mb": vm_hwm_mb(pid)} for p, _ in workers_procs for pid in proc_tree(p.pid)]
            for p, _ in workers_procs:
                os.killpg(p.pid, 15)
                p.wait(30)
            if r.returncode:
                print(r.stdout[-2000:], r.stderr[-4000:])
                for _, log in workers_procs:
                    print(log.read_text()[-3000:])
                return 1
            res = json.loads(r.stdout.strip().splitlines()[-1])
            with open(moto_log, "rb") as f:
                f.seek(log_start)
                requests_log = re.sub(r"\x1b\[[0-9;]*m", "", f.read().decode(errors="replace"))  # werkzeug colours 206s
            gets = {name: len(re.findall(rf'"GET /{BUCKET}/{re.escape(name)} HTTP', requests_log)) for name in sizes}
            # boto3's download_file fetches objects over 8 MiB as ranged GETs of 8 MiB: one download
            # of an original is ceil(size / 8 MiB) requests
            parts = {name: max(1, -(-size // (8 * 2**20))) for name, size in sizes.items()}
            downloads = {name: gets[name] / parts[name] for name in sizes}
            puts = len(re.findall(rf'"PUT /{RENDITIONS}/', requests_log))
            tasks = {}
            for _, log in workers_procs:
                for name, sec in re.findall(r"Task ([\w.]+)\[[^\]]+\] succeeded in ([\d.]+)s", log.read_text(errors="replace")):
                    n, total = tasks.get(name, (0, 0.0))
                    tasks[name] = (n + 1, total + float(sec))
            res.update(cli_seconds=cli, rss=rss, gets=gets, downloads=downloads, rendition_puts=puts, tasks=tasks,
                       loadavg=os.getloadavg())
            results[workers] = res
            fps, cfps = len(sizes) / res["seconds"], len(sizes) / cli
            print(f"{workers} worker(s): pipeline {len(sizes)} files in {res['seconds']:.1f} s = {fps:.2f} files/s, "
                  f"{total_mb / res['seconds']:.1f} MB/s (inventory {res['inventory_seconds']:.1f} s; "
                  f"{res['review_items']} review items {res['verdicts']}, {res['failed']} failed)")
            print(f"           engine CLI {cli:.1f} s = {cfps:.2f} files/s, {total_mb / cli:.1f} MB/s   "
                  f"ratio pipeline/CLI {fps / cfps:.2f} (goal ≥ 0.77)")
            print(f"           peak RSS per worker process (MB): {[round(x['peak_rss_mb']) for x in rss]}   "
                  f"GET requests per original: mean {sum(gets.values()) / len(gets):.2f}; downloads per original "
                  f"(GETs / 8 MiB parts): min {min(downloads.values()):.2f}, max {max(downloads.values()):.2f}; "
                  f"rendition PUTs {puts}")
            print("           task time (count, seconds): " + ", ".join(
                f"{k.rsplit('.', 1)[-1]} {n}x {t:.1f}s" for k, (n, t) in sorted(tasks.items())) +
                  f"   load average {os.getloadavg()[0]:.1f}")
        print(f"analysis JSON stored per asset: {results[2]['analysis_json_bytes']} bytes; average row sizes "
              f"(pg_column_size, bytes): {({k: v['avg_row_bytes'] for k, v in results[2].get('row_bytes', {}).items()})}")
        s1, s2 = results[1]["seconds"], results[2]["seconds"]
        print(f"scale-out 2 workers vs 1: {s1 / s2:.2f}x pipeline, {results[1]['cli_seconds'] / results[2]['cli_seconds']:.2f}x "
              f"CLI (cores: {os.cpu_count()}, shared with PostgreSQL, Redis and the S3 server)")
        if args.json:
            Path(args.json).write_text(json.dumps({"files": sizes, "runs": results}, indent=1))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
                for db in (f"{PROD_DB}_template", f"{PROD_DB}_1", f"{PROD_DB}_2"):
                    c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except Exception:  # noqa: BLE001
            pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="number of generated files, half canonical "
                    "(default 1000; 12 with --production)")
    ap.add_argument("--side", type=int, default=320, help="longest side of the generated images")
    ap.add_argument("--production", action="store_true", help="archive-size files, S3, PostgreSQL, Redis, celery workers")
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--json", help="also write the production results to this file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--production-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n-cleanup", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.files), args.workers)))
        return 0
    if args.production_child:
        print(json.dumps(production_child(args.n_cleanup)))
        return 0
    if args.production:
        args.n = args.n or 12
        return production(args)
    args.n = args.n or 1000

    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-"))
    try:
        files = tmp / "files"
        t = time.perf_counter()
        n_can, n_cl = generate(files, args.n, args.side)
        print(f"generated {args.n} images ({n_can} canonical TIFF, {n_cl} clean-up JPEG, ≤{args.side} px) "
              f"in {time.perf_counter() - t:.1f} s")
        template = tmp / "template.sqlite3"
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env_for(tmp, template), check=True)
        results = {}
        for workers in (1, 2):
            cli = cli_run(files, workers, tmp / f"cli{workers}.csv")
            db = tmp / f"run{workers}.sqlite3"
            shutil.copyfile(template, db)
            r = subprocess.run([sys.executable, __file__, "--child", "--workers", str(workers), "--files", str(files)],
                               cwd=ROOT, env=env_for(tmp, db), capture_output=True, text=True)
            if r.returncode:
                print(r.stderr[-4000:])
                return 1
            res = json.loads(r.stdout.strip().splitlines()[-1])
            res["cli_seconds"] = cli
            results[workers] = res
            print(f"{workers} worker(s): pipeline {res['assets']} assets in {res['seconds']:.1f} s = "
                  f"{res['assets'] / res['seconds']:.1f} assets/s ({res['review_items']} review items, {res['failed']} failed); "
                  f"engine CLI {args.n / cli:.1f} files/s ({cli:.1f} s)")
        for w in (1, 2):
            r = results[w]
            print(f"ratio pipeline/CLI, {w} worker(s): {(r['assets'] / r['seconds']) / (args.n / r['cli_seconds']):.2f} "
                  "(1.0 = no overhead; the pipeline also writes renditions, checksums and rows)")
        print(f"analysis JSON stored per asset: {results[2]['analysis_json_bytes']} bytes; average row sizes "
              f"(pg_column_size, bytes): {({k: v['avg_row_bytes'] for k, v in results[2].get('row_bytes', {}).items()})}")
        s1, s2 = results[1]["seconds"], results[2]["seconds"]
        print(f"scale-out 2 workers vs 1: {s1 / s2:.2f}x pipeline, "
              f"{results[1]['cli_seconds'] / results[2]['cli_seconds']:.2f}x CLI (cores: {os.cpu_count()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

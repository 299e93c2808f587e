"""Pipeline throughput: assets per second end to end (inventory → analysis with renditions →
pairing → Candidate and ReviewItem rows) on N generated images, as a ratio to the engine CLI
alone (`python -m matching pairs`) on the same files, and 2 workers against 1.

    .venv/bin/python bench/bench_pipeline.py [--n 1000] [--side 320]

"Workers" here are processes running the pipeline's own per-item functions (analyse_item,
pair_items) on a fresh SQLite database, without a broker: the same work a Celery worker does per
message, minus Redis round trips (a few ms per message). The CLI gets the same process counts.
"""
from __future__ import annotations

import argparse
import json
import os
import random
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


def generate(root: Path, n: int, side: int, seed: int = 7) -> tuple[int, int]:
    """n files: half canonical TIFF (LZW), half clean-up (mostly resized JPEG copies, some unique)."""
    import numpy as np
    import skimage.data
    from PIL import Image

    rng = random.Random(seed)
    photos = []
    for name in PHOTOS:
        a = getattr(skimage.data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        a = a[..., :3]
        if a.dtype != np.uint8:
            a = (a / max(a.max(), 1) * 255).astype(np.uint8)
        photos.append(a)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="number of generated files (half canonical)")
    ap.add_argument("--side", type=int, default=320, help="longest side of the generated images")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.files), args.workers)))
        return 0

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
        s1, s2 = results[1]["seconds"], results[2]["seconds"]
        print(f"scale-out 2 workers vs 1: {s1 / s2:.2f}x pipeline, "
              f"{results[1]['cli_seconds'] / results[2]['cli_seconds']:.2f}x CLI (cores: {os.cpu_count()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

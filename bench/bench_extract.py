"""Extract throughput and memory: N real JPEG files named in one name list, packaged by the
extract job (a streamed tar into a local extract location) as 500-px thumbnails and as
originals, against plain reading of the same files (open, read, sha256: the floor any packager
pays). Files/s and the peak RSS of each run, each in its own process; the thumbnail run is also
done on a tenth of the list, so a flat RSS shows memory does not grow with the list.

    .venv/bin/python bench/bench_extract.py [--n 10000] [--side 800] [--thumb 500]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "grass", "gravel", "moon"]


def generate(root: Path, n: int, side: int, seed: int = 11) -> int:
    """n JPEGs (side × 3/4 side), each a different random crop of a real photo; returns bytes."""
    from PIL import Image

    from bench_pipeline import load_photos

    rng = random.Random(seed)
    photos = [Image.fromarray(a) for a in load_photos(PHOTOS)]
    total = 0
    for i in range(n):
        im = photos[rng.randrange(len(photos))]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.5, 0.9)), int(h * rng.uniform(0.5, 0.9))
        x, y = rng.randrange(0, w - cw + 1), rng.randrange(0, h - ch + 1)
        crop = im.crop((x, y, x + cw, y + ch)).resize((side, side * 3 // 4))
        p = root / f"box{i // 1000:02d}" / f"C{i:07d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        crop.save(p, "JPEG", quality=88)
        total += p.stat().st_size
    return total


def env_for(tmp: Path) -> dict:
    # DEBUG off: with DEBUG on Django keeps the last 9,000 SQL queries of a connection in memory,
    # which would show up as RSS growing with the list.
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings", "DEBUG": "0", "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-only-" + "7" * 40,
            "DOPPEL_VAR_DIR": str(tmp / "var"), "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "DOPPEL_LOCAL_ROOTS": str(tmp / "files"), "DOPPEL_EXTRACT_ROOTS": str(tmp / "extracts"),
            "DOPPEL_EXTRACT_LOCATIONS": json.dumps({"default": f"local:{tmp / 'extracts'}"}),
            "CELERY_TASK_ALWAYS_EAGER": "1", "CELERY_BROKER_URL": ""}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --- children: each measured in its own process ----------------------------------------------------


def child_setup(files: Path) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reviewapp.models import Job
    from reviewapp.roles import add_to_role, ensure_groups
    from reviewapp.services.inventory import inventory_run, inventory_start
    from reviewapp.services.namelists import namelist_upload
    from reviewapp.services.sources import source_add

    ensure_groups()
    admin = get_user_model().objects.create_user("bench-admin")
    add_to_role(admin, "admin")
    src = source_add(actor=admin, name="covers", kind="local", role="cleanup", root=str(files))
    job = inventory_start(actor=admin, source=src)
    if Job.objects.get(pk=job.pk).state != "done":
        inventory_run(job.pk)
    names = sorted(p.name for p in files.rglob("*.jpg"))
    lists = {}
    for label, chosen in (("all", names), ("tenth", names[: max(1, len(names) // 10)])):
        nl = namelist_upload(actor=admin, source=src, title=f"bench {label}",
                             uploaded_file=SimpleUploadedFile("names.txt", "\n".join(chosen).encode()))
        lists[label] = nl.pk
    return {"lists": lists, "found": nl.found}


def child_extract(namelist_id: int, content: str, size: int | None) -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from reviewapp.models import Extract, NameList
    from reviewapp.services.extracts import extract_create, extract_run

    admin = get_user_model().objects.get(username="bench-admin")
    nl = NameList.objects.get(pk=namelist_id)
    t, c = time.perf_counter(), cpu_seconds()
    ex = extract_create(actor=admin, namelists=[nl], title=f"bench {content}", location="default",
                        expires_at=timezone.now() + timedelta(days=1), content=content, max_side=size)
    extract_run(ex.job_id)  # already built on commit in embedded mode; a finished job does not run twice
    seconds, cpu = time.perf_counter() - t, cpu_seconds() - c
    ex = Extract.objects.get(pk=ex.pk)
    a = ex.archives.get()
    return {"seconds": seconds, "cpu": cpu, "files": a.extracted, "requested": a.requested, "bytes": a.size, "state": ex.state,
            "rss_mb": peak_rss_mb()}


def child_plain(files: Path, thumb: int = 0) -> dict:
    """Plain reading (open, read, sha256), or with `thumb` plain Pillow thumbnailing to JPEG in
    memory: what the extract does per file, without the job, the database and the archive."""
    import io

    from PIL import Image

    t, c = time.perf_counter(), cpu_seconds()
    n = size = 0
    for p in sorted(files.rglob("*.jpg")):
        with open(p, "rb") as f:
            data = f.read()
        hashlib.sha256(data).hexdigest()
        if thumb:
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("RGB")
                im.thumbnail((thumb, thumb))
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=85)
                data = buf.getvalue()
        n += 1
        size += len(data)
    return {"seconds": time.perf_counter() - t, "cpu": cpu_seconds() - c, "files": n, "bytes": size, "rss_mb": peak_rss_mb()}


def run_child(tmp: Path, *args) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], cwd=ROOT, env=env_for(tmp),
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr[-4000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--side", type=int, default=800, help="source JPEG width (height 3/4 of it)")
    ap.add_argument("--thumb", type=int, default=500)
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "setup":
            out = child_setup(Path(rest[0]))
        elif kind == "plain":
            out = child_plain(Path(rest[0]), int(rest[1]))
        else:
            out = child_extract(int(rest[0]), rest[1], int(rest[2]) or None)
        print(json.dumps(out))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="doppel-bench-extract-"))
    try:
        files = tmp / "files"
        t = time.perf_counter()
        total = generate(files, args.n, args.side)
        print(f"generated {args.n} JPEGs of {args.side}×{args.side * 3 // 4} ({total / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env_for(tmp), check=True)
        setup = run_child(tmp, "setup", files)
        plain = run_child(tmp, "plain", files, 0)
        pil = run_child(tmp, "plain", files, args.thumb)
        rows = [("plain read + sha256", plain), (f"plain read + Pillow {args.thumb}-px JPEG in memory", pil)]
        small = run_child(tmp, "extract", setup["lists"]["tenth"], "rendition", args.thumb)
        rows.append((f"extract {args.thumb}-px thumbnails, {small['files']} files", small))
        thumbs = run_child(tmp, "extract", setup["lists"]["all"], "rendition", args.thumb)
        rows.append((f"extract {args.thumb}-px thumbnails, {thumbs['files']} files", thumbs))
        orig = run_child(tmp, "extract", setup["lists"]["all"], "original", 0)
        rows.append((f"extract originals, {orig['files']} files", orig))
        for label, r in rows:
            print(f"{label:50s} {r['files'] / r['seconds']:8.1f} files/s  {r['seconds']:7.1f} s wall  "
                  f"{r['files'] / r['cpu']:8.1f} files/CPU-s  {r['bytes'] / 1e6:8.1f} MB  peak RSS {r['rss_mb']:.0f} MB")

        def rate(r):
            return r["files"] / r["seconds"]

        print(f"wall-clock ratios: originals / plain reading {rate(orig) / rate(plain):.3f}; "
              f"thumbnails / plain reading {rate(thumbs) / rate(plain):.3f}; "
              f"thumbnails / plain Pillow thumbnailing {rate(thumbs) / rate(pil):.3f}")
        print(f"peak RSS, thumbnails of {small['files']} vs {thumbs['files']} files: {small['rss_mb']:.0f} MB vs "
              f"{thumbs['rss_mb']:.0f} MB (flat = memory does not grow with the list)")
        assert thumbs["state"] == "ready" and thumbs["files"] == args.n, thumbs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

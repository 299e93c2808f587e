"""Benchmark of the shared candidate index in PostgreSQL (models/candidate_index.py, searched by
reviewapp.selectors.candidate_index.candidates_for, the code pairing runs) against the numpy
popcount brute force that bench_matching.py times.

    .venv/bin/python bench/bench_index.py [--sizes 100000,1000000] [--queries 10000] [--sample 40]

Canonical fingerprints are derived from real photographs as bench_matching.py does (pHashes of
crops/scales/flips of scikit-image samples, whole picture and 4 regions, spread by 10-24 random bit
flips per hash to reach the count) and bulk-loaded with COPY into the app's own tables (made by its
migrations), with an Asset row each. The queries are real re-encoded, turned and resized crops:
8 orientations x (whole + 4 region hashes) each, searched as one clean-up file is (checksum, IDs,
whole picture within hash_radius_whole, regions within hash_radius_region, membership check).

For each size: load and index time, table+index size, queries/s and p95 per query from 2 worker
processes (each its own Django and connection), worker peak RSS, brute-force time per query
(8 orientations x whole + 4 regions over numpy arrays) on a sample, and recall against brute force
within the radius on that sample (must be 1.0; hits beyond the radius are counted too, must be 0).

Uses a throwaway database `doppel_bench_index` (created, migrated and dropped here).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PG = os.environ.get("DOPPEL_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("DOPPEL_BENCH_INDEX_DB", "doppel_bench_index")


def django_setup(url):
    os.environ["DATABASE_URL"] = url
    # DEBUG off: with DEBUG on, Django keeps every statement (and its probe lists) in memory,
    # which would be counted as the worker's RSS
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-index-" + os.urandom(16).hex())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    import django

    django.setup()


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def file_analysis(hashes8, n):
    """A clean-up file's stored analysis as pairing reads it (no ID in the name, its own bytes)."""
    import matching

    return matching.FileAnalysis.from_dict({
        "name": f"IMG_{n}.jpg", "status": "ok", "ids": [], "sha256": f"{10**12 + n:064x}",
        "hashes": [[f"{int(h):016x}" if h else "" for h in hs] for hs in hashes8]})


def _worker(args):
    url, queries, offset = args
    django_setup(url)
    from django.db import connection

    from reviewapp.selectors.candidate_index import candidates_for

    with connection.cursor() as cur:
        cur.execute("SET max_parallel_workers_per_gather = 0")   # 2 workers on 2 cores already
    times, found = [], 0
    for i, q in enumerate(queries):
        fa = file_analysis(q, offset + i)
        t = time.perf_counter()
        got = candidates_for({offset + i: fa})
        times.append(time.perf_counter() - t)
        found += bool(got[offset + i])
    return times, found, vm_hwm_mb()


def load(n, fp, url):
    """COPY n canonical assets, their index entries and hash rows; the band indexes are dropped
    for the load and built after it (as a bulk import would)."""
    import psycopg

    from reviewapp.models import Asset, CandidateIndexHash
    from reviewapp.services.analysis import engine_version
    from matching.index import split_bands

    ev = engine_version()
    asset_cols = [f.column for f in Asset._meta.concrete_fields]
    special = {"id": None, "source_id": 1, "key": None, "name": None, "state": "fingerprinted", "checksum": None,
               "decode_status": "ok", "analysis": "{}", "ids": "[]", "engine_version": ev, "size": 0,
               "analysed_at": "2026-01-01T00:00:00Z", "first_seen_at": "2026-01-01T00:00:00Z",
               "updated_at": "2026-01-01T00:00:00Z"}
    fixed = []
    for f in Asset._meta.concrete_fields:
        if f.column in special:
            fixed.append(special[f.column])
        elif f.null:
            fixed.append(None)
        else:
            d = f.get_default()
            fixed.append(json.dumps(d) if f.get_internal_type() == "JSONField" else d)
    from django.db import connection

    from reviewapp.models import Source

    with connection.cursor() as cur:
        cur.execute("TRUNCATE reviewapp_candidateindexhash, reviewapp_candidateindexid, reviewapp_candidateindexentry, "
                    "reviewapp_asset, reviewapp_source RESTART IDENTITY CASCADE")
    Source.objects.create(id=1, name="canon", kind="local", role=Source.Role.CANONICAL, root="/nonexistent")
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for i in range(4):
            cur.execute(f"DROP INDEX IF EXISTS cand_index_band{i}")
        with cur.copy(f"COPY reviewapp_asset ({', '.join(asset_cols)}) FROM STDIN") as copy:
            for k in range(n):
                row = list(fixed)
                for j, c in enumerate(asset_cols):
                    if c == "id":
                        row[j] = k + 1
                    elif c in ("key", "name"):
                        row[j] = f"c{k}.tif"
                    elif c == "checksum":
                        row[j] = f"{k:064x}"
                copy.write_row(row)
        thumbs = bench_thumbnails(n)
        with cur.copy("COPY reviewapp_candidateindexentry (asset_id, checksum, analysed_at, thumb, aspect) FROM STDIN") as copy:
            for k, (thumb, aspect) in enumerate(thumbs):
                copy.write_row((k + 1, f"{k:064x}", "2026-01-01T00:00:00Z", thumb, aspect))
        rows = 0
        with cur.copy("COPY reviewapp_candidateindexhash (asset_id, kind, hash, band0, band1, band2, band3) FROM STDIN") as copy:
            signed = fp.view(np.int64)
            for c in range(fp.shape[1]):
                kind = CandidateIndexHash.Kind.WHOLE if c == 0 else CandidateIndexHash.Kind.REGION
                col, scol = fp[:, c].tolist(), signed[:, c].tolist()
                for k in range(n):
                    if col[k]:
                        copy.write_row((k + 1, int(kind), scol[k], *split_bands(col[k])))
                        rows += 1
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(4):
            cur.execute(f"CREATE INDEX cand_index_band{i} ON reviewapp_candidateindexhash (kind, band{i}, hash, asset_id)")
        cur.execute("VACUUM ANALYZE reviewapp_candidateindexhash")
        cur.execute("VACUUM ANALYZE reviewapp_candidateindexentry")
        cur.execute("VACUUM ANALYZE reviewapp_asset")
        index_s = time.perf_counter() - t0
        cur.execute("SELECT pg_total_relation_size('reviewapp_candidateindexhash') "
                    "+ pg_total_relation_size('reviewapp_candidateindexentry')")
        size_mb = cur.fetchone()[0] / 2**20
    return load_s, index_s, size_mb, rows


ASPECTS = [(4, 3), (3, 2), (1, 1), (3, 4), (2, 3), (16, 9), (1, 1.41)]   # what a store of scans and photos holds


def bench_thumbnails(n, seed=3):
    """n kept thumbnails (24 x 24 grey, smooth like real ones) with log aspect ratios drawn from
    ``ASPECTS`` (+-3 %): the thumbnail search reads only those some turn of a query fits."""
    from matching.fingerprint import THUMB_SIDE

    rng = np.random.default_rng(seed)
    side = THUMB_SIDE
    base = rng.integers(0, 256, (64, side // 4, side // 4)).astype(np.uint8)
    tiles = np.kron(base, np.ones((1, 4, 4), np.uint8))              # 64 blocky "pictures"
    for k in range(n):
        w, h = ASPECTS[k % len(ASPECTS)]
        noise = rng.integers(-20, 21, (side, side))
        yield ((tiles[k % 64].astype(np.int16) + noise).clip(0, 255).astype(np.uint8).tobytes(),
               float(np.log(w / h)) + float(rng.uniform(-0.03, 0.03)))


def thumbnail_batches(url, batch_sizes=(1, 10), seed=4):
    """Time reviewapp.selectors.candidate_index.thumbnail_search (the fallback for damaged files the
    hashes cannot place) for a pair batch with 1 and with 10 such files, in a worker process of its
    own: seconds per batch, rows read, and the worker's peak RSS (flat: the rows are streamed in
    blocks)."""
    import base64

    django_setup(url)

    import matching
    from matching.fingerprint import THUMB_SIDE
    from reviewapp.models import CandidateIndexEntry
    from reviewapp.selectors.candidate_index import thumbnail_search

    rng = np.random.default_rng(seed)
    out = []
    for k in batch_sizes:
        files = {}
        for i in range(k):
            w, h = ASPECTS[i % len(ASPECTS)]
            thumb = rng.integers(0, 256, (THUMB_SIDE, THUMB_SIDE), dtype=np.uint8)
            files[i] = matching.FileAnalysis.from_dict({
                "name": f"IMG_{i}.jpg", "status": "damaged", "width": int(w * 300), "height": int(h * 300),
                "thumb": base64.b64encode(thumb.tobytes()).decode("ascii")})
        t = time.perf_counter()
        thumbnail_search(files)
        out.append((k, time.perf_counter() - t))
    rows = CandidateIndexEntry.objects.exclude(thumb=None).count()
    return out, rows, vm_hwm_mb()


def brute(fp, q, radius_w, radius_r):
    """Nearest whole and region distance per canonical row within the radii (numpy popcount)."""
    whole, regions = fp[:, 0], fp[:, 1:]
    w, r = {}, {}
    for o in range(8):
        if q[o][0]:
            d = np.bitwise_count(whole ^ np.uint64(q[o][0]))
            for k in np.nonzero((d <= radius_w) & (whole != 0))[0].tolist():
                w[k + 1] = min(w.get(k + 1, 99), int(d[k]))
        for h in q[o][1:]:
            if h:
                d = np.bitwise_count(regions ^ np.uint64(h))
                d = np.where(regions != 0, d, 99).min(1)
                for k in np.nonzero(d <= radius_r)[0].tolist():
                    r[k + 1] = min(r.get(k + 1, 99), int(d[k]))
    return w, r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=10_000, help="per size, split over 2 worker processes")
    ap.add_argument("--sample", type=int, default=40, help="queries checked against (and timed as) brute force")
    args = ap.parse_args()
    import psycopg

    try:
        with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{DB}"')
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL at {PG} unavailable ({exc}): skipped")
        return 0
    url = f"{PG}/{DB}"
    django_setup(url)
    from django.core.management import call_command

    from bench_matching import perturb, query_fingerprints, real_fingerprints
    from matching.index import band_radii
    from matching.thresholds import THRESHOLDS
    from reviewapp.models import CandidateIndexHash
    from reviewapp.selectors.candidate_index import hash_search

    rw, rr = THRESHOLDS.hash_radius_whole, THRESHOLDS.hash_radius_region
    try:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        rng = np.random.default_rng(7)
        base = real_fingerprints(3000, rng)
        qs = query_fingerprints(args.queries, rng, base)
        queries = [[[int(h) for h in hs] for hs in q.hashes] for q in qs]
        print(f"migrated; fingerprints of {len(base)} real crops and {len(queries)} real queries in "
              f"{time.perf_counter() - t:.0f} s; radius {rw} bits whole picture (bands probed at {band_radii(rw)}), "
              f"{rr} bits regions (at {band_radii(rr)}): every hash within them is found")
        for n in [int(s) for s in args.sizes.split(",")]:
            fp = perturb(base, n, rng, 10, 24)
            load_s, index_s, size_mb, rows = load(n, fp, url)
            half = len(queries) // 2
            t = time.perf_counter()
            with mp.get_context("spawn").Pool(2) as pool:
                out = pool.map(_worker, [(url, queries[:half], 0), (url, queries[half:], half)])
            wall = time.perf_counter() - t
            times = sorted(x for o in out for x in o[0])
            p95 = times[int(0.95 * (len(times) - 1))]
            mean_ms = sum(times) / len(times) * 1e3
            with_hits = sum(o[1] for o in out) / len(queries)
            sample = list(range(0, len(queries), max(1, len(queries) // args.sample)))[:args.sample]
            t = time.perf_counter()
            truths = [brute(fp, queries[i], rw, rr) for i in sample]
            brute_ms = (time.perf_counter() - t) / len(sample) * 1e3
            hit = want = beyond = 0
            for i, (tw, tr) in zip(sample, truths):
                q = queries[i]
                gw = hash_search({1: [h[0] for h in q if h[0]]}, kind=CandidateIndexHash.Kind.WHOLE, radius=rw).get(1, {})
                gr = hash_search({1: [h for hs in q for h in hs[1:] if h]}, kind=CandidateIndexHash.Kind.REGION,
                                 radius=rr).get(1, {})
                for truth, got in ((tw, gw), (tr, gr)):
                    want += len(truth)
                    hit += sum(1 for k, d in truth.items() if got.get(k) == d)
                    beyond += len(set(got) - set(truth))
            print(f"{n:>9,} canonical ({rows:,} hash rows): COPY {load_s:.0f} s, indexes {index_s:.0f} s, {size_mb:.0f} MB; "
                  f"{len(queries):,} queries from 2 processes in {wall:.0f} s = {len(queries) / wall:.1f} queries/s, "
                  f"mean {mean_ms:.1f} ms, p95 {p95 * 1e3:.1f} ms per query; worker peak RSS "
                  f"{[round(o[2]) for o in out]} MB; queries with a candidate {with_hits:.0%}")
            print(f"           brute force (numpy popcount, 8 orientations x whole + 4 regions) {brute_ms:.1f} ms/query: "
                  f"the index is {brute_ms / mean_ms:.2f}x brute force per query; recall within the radius on "
                  f"{len(sample)} queries: {hit}/{want} = {hit / max(want, 1):.3f}, beyond the radius: {beyond}")
            with mp.get_context("spawn").Pool(1) as pool:
                batches, rows, rss = pool.apply(thumbnail_batches, (url,))
            print("           thumbnail fallback (damaged files the hashes cannot place), one pass per pair batch over "
                  f"{rows:,} kept thumbnails: " + ", ".join(f"{k} file(s) {t:.1f} s" for k, t in batches)
                  + f"; worker peak RSS {rss:.0f} MB")
            sys.stdout.flush()
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())

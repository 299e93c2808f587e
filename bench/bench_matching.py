#!/usr/bin/env python3
"""Benchmark of the matching engine, everything measured in this run.

usage: .venv/bin/python bench/bench_matching.py [--workers N] [--quick] [--only fingerprint|formats|search|verify|cli]

1. Fingerprints per second on large images (4000x3000 JPEG, TIFF/LZW, tiled pyramid TIFF and JPEG 2000
   made here from a real photograph): `matching.analyse_file` (reduced decode + damage checks +
   8-orientation fingerprints) against the naive `imagehash.phash(Image.open(p))`, single process,
   then `analyse_file` throughput with all workers.
1b. Files per second for DNG, TIFF with a SubIFD master, HEIC, AVIF and PDF beside naive decoding
   of each (bench/formats_speed.py).
2. Candidate search: 10,000 clean-up fingerprints against 100k and 1M canonical fingerprints
   derived from real photographs (crops/scales/flips of scikit-image samples, pHash, plus
   few-bit perturbations to reach the count), multi-index hashing against brute force on the
   same data (brute force: a sample of queries timed and extrapolated).
3. Verification per candidate pair from analysed files (each file's analysis and full-detail rendition
   timed apart): engine 1.2's own `verify_analyses` (git revision ENGINE12_REV, imported from a
   temporary folder, on its own analyses) beside engine 2's (its screen, then the full-detail proof at
   the smaller copy's resolution, capped at 2048 px, with the arguments its verdict chooses), at
   4000x3000 (a photograph) and 1240x1754 (a text page), each with a lossless kept copy, a lossy one
   (JPEG q92) and a turned clean-up copy: CPU time, the two alternating, medians.
4. CLI files/s on a corpus (--corpus, default ../shared/corpus/dev), engine 1.2 (git revision
   ENGINE12_REV, extracted to a temporary folder) and this engine, alternately, same workers.
5. Peak memory (max RSS of this process and of the workers).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matching  # noqa: E402
from matching.fingerprint import REGIONS, fingerprints, grey, phash_bits  # noqa: E402
from matching.index import CandidateIndex, popcount64  # noqa: E402


def photos():
    from skimage import data
    out = []
    for name in ["astronaut", "coffee", "chelsea", "rocket", "motorcycle_left", "camera", "coins", "moon",
                 "page", "text", "brick", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry",
                 "retina", "colorwheel" if hasattr(data, "colorwheel") else "cat"]:
        try:
            a = getattr(data, name)()
        except Exception:
            continue
        if a.ndim == 2:
            a = np.stack([a] * 3, 2)
        a = a[..., :3]
        if a.dtype != np.uint8:
            a = (a.astype(float) / max(1, a.max()) * 255).astype(np.uint8)
        out.append(a)
    return out


def big_image(a, size=(4000, 3000)):
    im = Image.fromarray(a).resize(size, Image.Resampling.BICUBIC)
    rng = np.random.default_rng(0)
    arr = np.asarray(im).astype(np.int16) + rng.integers(-6, 7, (size[1], size[0], 1), dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def save_pyramid_tiff(im, path):
    """Tiled TIFF with reduced-resolution levels (NewSubfileType=1) after the full page."""
    levels = []
    w, h = im.size
    while max(w, h) > 512:
        w, h = w // 2, h // 2
        levels.append(im.resize((w, h), Image.Resampling.BOX))
    first = {254: 0}
    infos = [{254: 1} for _ in levels]
    im.save(path, "TIFF", compression="tiff_adobe_deflate", tiffinfo=first, save_all=True,
            append_images=levels)
    # Pillow writes the same tiffinfo for all frames; mark the reduced levels ourselves
    data = bytearray(Path(path).read_bytes())
    _mark_subfiles(data)
    Path(path).write_bytes(bytes(data))
    return infos


def _mark_subfiles(data: bytearray):
    import struct
    bo = "<" if data[:2] == b"II" else ">"
    off = struct.unpack(bo + "I", data[4:8])[0]
    i = 0
    while off and off + 2 <= len(data):
        n = struct.unpack(bo + "H", data[off:off + 2])[0]
        for k in range(n):
            e = off + 2 + 12 * k
            tag, typ = struct.unpack(bo + "HH", data[e:e + 4])
            if tag == 254 and i > 0:
                data[e + 8:e + 12] = struct.pack(bo + "I", 1)
        off = struct.unpack(bo + "I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
        i += 1


def time_per_file(fn, paths, reps):
    best = []
    for p in paths:
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            fn(p)
            ts.append(time.perf_counter() - t)
        best.append(min(ts))
    return float(np.mean(best))


def fingerprint_bench(workers, quick):
    import imagehash
    from matching.pairing import analyse_many
    src = photos()[:2]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {"JPEG": [], "TIFF (LZW)": [], "TIFF pyramid": [], "JPEG 2000": []}
        for i, a in enumerate(src):
            im = big_image(a)
            p = tmp / f"big{i}.jpg"
            im.save(p, "JPEG", quality=90)
            files["JPEG"].append(p)
            p = tmp / f"big{i}.tif"
            im.save(p, "TIFF", compression="tiff_lzw")
            files["TIFF (LZW)"].append(p)
            p = tmp / f"pyr{i}.tif"
            save_pyramid_tiff(im, p)
            files["TIFF pyramid"].append(p)
            p = tmp / f"big{i}.jp2"
            im.save(p, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
            files["JPEG 2000"].append(p)
            if quick:
                break
        for kind, paths in files.items():
            naive = time_per_file(lambda p: imagehash.phash(Image.open(p)), paths, 1 if "2000" in kind else 2)
            ours = time_per_file(lambda p: matching.analyse_file(p, keep_image=False), paths, 3)
            a = matching.analyse_file(paths[0])
            assert a.status == "ok", (kind, a.errors)
            # throughput with all workers over copies of the files
            many = [p.name for p in paths] * max(4, workers * 8 // len(paths))
            t = time.perf_counter()
            analyse_many(tmp, many, workers=workers, progress=False)
            par = len(many) / (time.perf_counter() - t)
            rows.append((kind, 1 / naive, 1 / ours, naive / ours, par))
    print("\n1. Fingerprints of 4000x3000 images (files/s; single process unless noted)")
    print(f"   {'format':14s} {'naive phash':>12s} {'analyse_file':>13s} {'speed-up':>9s} {f'{workers} workers':>11s}")
    for kind, n, o, r, par in rows:
        print(f"   {kind:14s} {n:12.2f} {o:13.2f} {r:8.1f}x {par:11.2f}")
    print("   naive = imagehash.phash(Image.open(p)) (full decode, 1 hash); analyse_file = reduced decode,"
          "\n   strict/structural damage checks, 5 region pHashes x 8 orientations, flatness")
    return rows


def real_fingerprints(n_target, rng):
    """pHashes (whole + regions) of real image crops/scales/flips: shape (n, 5) uint64, 0 = none."""
    out = []
    srcs = [np.asarray(Image.fromarray(a).reduce(max(1, max(a.shape[:2]) // 512))) for a in photos()]
    while len(out) < n_target:
        a = srcs[rng.integers(len(srcs))]
        h, w = a.shape[:2]
        ch, cw = int(h * rng.uniform(0.3, 1.0)), int(w * rng.uniform(0.3, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = a[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        g = grey(np.ascontiguousarray(crop))
        if g.std() < 8:
            continue
        hs = []
        for t, l, b, r in REGIONS:
            sub = g[int(t * ch):max(int(t * ch) + 1, int(b * ch)), int(l * cw):max(int(l * cw) + 1, int(r * cw))]
            hs.append(phash_bits(sub) if sub.std() >= 6 else 0)
        out.append(hs)
    return np.array(out, dtype=np.uint64)


def perturb(base, n, rng, min_bits, max_bits):
    """n fingerprints derived from the real ones: each a real fingerprint with min..max random
    bits flipped per hash (spread out like distinct photographs, clustered like real ones); the
    real fingerprints themselves come first."""
    idx = np.concatenate([np.arange(len(base)), rng.integers(0, len(base), n - len(base))])
    out = base[idx].copy()
    for c in range(out.shape[1]):  # every hash of the row gets its own random bits flipped
        nbc = np.concatenate([np.zeros(len(base), int), rng.integers(min_bits, max_bits + 1, n - len(base))])
        for k in range(max_bits):
            rows = np.where(nbc > k)[0]
            bits = rng.integers(0, 64, len(rows)).astype(np.uint64)
            v = out[rows, c]
            nz = v != 0
            out[rows[nz], c] = v[nz] ^ (np.uint64(1) << bits[nz])
    return out


class _Q:
    """A stored clean-up fingerprint (what FileAnalysis holds), for the index API."""
    flat = False
    readable = True

    def __init__(self, hashes8):
        self.hashes = [[int(h) for h in hs] for hs in hashes8]
        self.ids = []
        self.name = ""

    def hash_ints(self, o):
        return [int(h) if h else None for h in self.hashes[o]]


def query_fingerprints(n, rng, canon_real):
    """Clean-up fingerprints: real re-encoded/rotated/resized copies of canonical images (all 8
    orientation hashes computed from pixels), extended by few-bit perturbation."""
    import io
    srcs = photos()
    real = []
    for i in range(min(n, 300)):
        a = srcs[rng.integers(len(srcs))]
        h, w = a.shape[:2]
        ch, cw = int(h * rng.uniform(0.4, 1.0)), int(w * rng.uniform(0.4, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        im = Image.fromarray(np.ascontiguousarray(a[y:y + ch, x:x + cw]))
        im = im.rotate(int(rng.integers(4)) * 90, expand=True).resize((max(48, cw // 3), max(48, ch // 3)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=75)
        fp = fingerprints(np.asarray(Image.open(buf).convert("RGB")))
        if fp["flat"]:
            continue
        real.append([[h if h is not None else 0 for h in hs] for hs in fp["hashes"]])
    real = np.array(real, dtype=np.uint64)  # (m, 8, 5)
    idx = rng.integers(0, len(real), n)
    q = real[idx].copy()
    flips = rng.integers(0, 3, n)
    for k in range(2):
        sel = np.where(flips > k)[0]
        bits = rng.integers(0, 64, len(sel)).astype(np.uint64)
        q[sel] = np.where(q[sel] != 0, q[sel] ^ (np.uint64(1) << bits)[:, None, None], 0)
    return [_Q(x) for x in q]


def brute_force(queries, whole, regions, radius_w, radius_r):
    for q in queries:
        hits = set()
        for o in range(8):
            hw = q.hashes[o][0]
            if hw:
                hits.update(np.where(popcount64(whole ^ np.uint64(hw)) <= radius_w)[0].tolist())
            for h in q.hashes[o][1:]:
                if h:
                    d = popcount64(regions ^ np.uint64(h))
                    hits.update(np.where((d <= radius_r).any(1))[0].tolist())
    return hits


def search_bench(quick):
    rng = np.random.default_rng(7)
    t = time.perf_counter()
    base = real_fingerprints(1500 if quick else 3000, rng)
    print(f"\n2. Candidate search (fingerprints of {len(base)} real crops made in {time.perf_counter() - t:.1f} s)")
    queries = query_fingerprints(10_000, rng, base)
    results = []
    for n in (100_000, 1_000_000):
        fp = perturb(base, n, rng, 10, 24)
        idx = CandidateIndex()
        t = time.perf_counter()
        idx.add_hashes([f"k{i}" for i in range(n)], fp[:, 0], fp[:, 1:])
        idx.whole.build()
        idx.region.build()
        build = time.perf_counter() - t
        nq = 2000
        t = time.perf_counter()
        found = 0
        for q in queries[:nq]:
            found += len(idx.content_search(q, limit=5)) > 0
        per_q = (time.perf_counter() - t) / nq
        nb = 20
        t = time.perf_counter()
        brute_force(queries[:nb], fp[:, 0], fp[:, 1:], idx.radius_whole, idx.radius_region)
        per_b = (time.perf_counter() - t) / nb
        results.append((n, build, nq, per_q, per_b, found / nq))
    print(f"   {'canonical':>10s} {'build s':>8s} {'MIH ms/query':>13s} {'10k queries s':>14s} "
          f"{'brute ms/query':>15s} {'brute 10k s':>12s} {'speed-up':>9s} {'with hits':>9s}")
    for n, build, nq, pq, pb, hit in results:
        print(f"   {n:>10,d} {build:8.1f} {pq * 1e3:13.2f} {pq * 1e4:14.1f}{'*' if nq < 10_000 else ' '}"
              f"{pb * 1e3:15.1f} {pb * 1e4:11.1f}* {pb / pq:8.1f}x {hit:9.0%}")
    print("   * 10k-query times extrapolated from timed samples (MIH: 2,000 queries; brute force: 20 queries)")
    print("   'with hits': queries (real re-encoded, turned, resized crops) that found a candidate within radius")
    print("   each query: 8 orientations x (whole-picture pHash within 12 bits + 4 region pHashes within 8)")
    return results


ENGINE12_REV = "820d1e1"   # the last engine 1.2 commit


def text_page(size=(1240, 1754)):
    from PIL import ImageDraw, ImageFont
    rng = np.random.default_rng(3)
    im = Image.new("RGB", size, (246, 245, 241))
    d = ImageDraw.Draw(im)
    f = ImageFont.load_default(size=26)
    syl = ["ta", "ro", "mi", "ne", "sa", "lu", "ko", "ve", "di", "an", "or", "el", "us", "pa"]
    for y in range(150, size[1] - 200, 40):
        d.text((140, y), " ".join("".join(rng.choice(syl, rng.integers(1, 4))) for _ in range(14)),
               fill=(25, 25, 25), font=f)
    d.text((size[0] // 2 - 20, size[1] - 110), "317", fill=(30, 30, 30), font=f)
    return im


def extract_engine12(where: Path) -> bool:
    """Engine 1.2's `matching` package (git revision ENGINE12_REV) written into the new folder
    ``where``; False when git cannot give it (not a git checkout)."""
    import subprocess
    root = Path(__file__).resolve().parents[1]
    where.mkdir()
    return subprocess.run(f"git -C {root} archive {ENGINE12_REV} matching | tar -x -C {where}", shell=True).returncode == 0


def engine12(tmp) -> object:
    """Engine 1.2's own `matching` package, importable beside this one as `engine12_matching`
    (its modules import each other relatively), or None."""
    import importlib
    where = Path(tmp) / "engine12"
    if not extract_engine12(where):
        return None
    (where / "matching").rename(where / "engine12_matching")
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("engine12_matching")
    finally:
        sys.path.remove(str(where))


def verify_bench(quick):
    import importlib
    from copy import copy as shallow

    from matching.analysis import analyse_file
    from matching.compare import compare_arrays
    from matching.proof import attach_rendition
    from matching.verdict import verify_analyses
    reps = 2 if quick else 9
    print(f"\n3. Verification per candidate pair from analysed files (CPU time of this process, engine 1.2's own"
          f" verify_analyses and engine 2's alternating, median of {reps}; load average {os.getloadavg()[0]:.1f})")
    print(f"   {'pair (copy: 60% unless said, JPEG q85)':<40}{'files':>8}{'1.2 verify':>12}{'2.0 screen':>12}{'= 2.0':>8}"
          f"{'ratio':>8}  verdict")
    sk = photos()[0]
    pictures = [("photo 4000x3000", big_image(sk)), ("page 1240x1754", text_page())]
    # the kept copy lossless or itself lossy (then the proof models both losses), the copy as the
    # kept one stands or turned (the proof turns the full-detail kept rendition), or at the kept
    # copy's own size (the garble test runs, where the renditions are not capped): each its own cost
    variants = [("kept TIFF", "tif", 0, 0.6), ("kept JPEG q92", "jpg", 0, 0.6), ("kept TIFF, copy turned", "tif", 90, 0.6),
                ("kept TIFF, copy at 100%", "tif", 0, 1.0)]
    with tempfile.TemporaryDirectory() as tmp:
        old_engine = engine12(tmp)
        if old_engine is None:
            print(f"   engine 1.2 ({ENGINE12_REV}) could not be extracted from git: no comparison")
            return
        old_analyse = importlib.import_module("engine12_matching.analysis").analyse_file
        old_verify = importlib.import_module("engine12_matching.verdict").verify_analyses
        for n, (name, im) in enumerate(pictures):
            for k, (variant, ext, rot, scale) in enumerate(variants):
                small = im if scale == 1 else im.resize((round(im.width * scale), round(im.height * scale)),
                                                        Image.Resampling.LANCZOS)
                # own names per pair (the renditions are remembered per file)
                kept, copy = Path(tmp) / f"kept{n}{k}.{ext}", Path(tmp) / f"copy{n}{k}.jpg"
                im.save(kept, "TIFF", compression="tiff_lzw") if ext == "tif" else im.save(kept, "JPEG", quality=92)
                (small.rotate(rot, expand=True) if rot else small).save(copy, "JPEG", quality=85)
                # per file, timed apart: each engine's analysis, and engine 2's full-detail renditions
                t = time.perf_counter()
                c, m = analyse_file(copy), analyse_file(kept)
                assert attach_rendition(c) and attach_rendition(m)
                t_files = time.perf_counter() - t
                c12, m12 = old_analyse(copy), old_analyse(kept)

                # per pair: each engine's whole verify_analyses (engine 2: the screen, then the
                # full-detail proof with the arguments its verdict chooses), on shallow copies so
                # that nothing one call stores on an analysis helps the next
                def old(c12=c12, m12=m12):
                    return old_verify(shallow(c12), shallow(m12))

                def screen(c=c, m=m):
                    return compare_arrays(c.image, m.image, a_stream_check=True)

                def new(c=c, m=m):
                    return verify_analyses(shallow(c), shallow(m))

                # alternating, in CPU time: on a shared, loaded machine wall time mostly measures the
                # neighbours (the proof and the screen are single-threaded)
                ts: dict = {old: [], screen: [], new: []}
                for _ in range(reps):
                    for fn in ts:
                        t = time.process_time()
                        out = fn()
                        ts[fn].append(time.process_time() - t)
                t_old, t_screen, t_new = (float(np.median(v)) for v in ts.values())
                verdict = out.verdict
                assert verdict in ("duplicate", "rotated"), (verdict, out.reasons)
                size = out.proof["size"] if out.proof else ("?", "?")
                print(f"   {name + ', ' + variant:<40}{t_files * 1000:>6.0f}ms{t_old * 1000:>10.0f}ms"
                      f"{t_screen * 1000:>10.0f}ms{t_new * 1000:>6.0f}ms{t_new / t_old:>7.1f}x  {verdict}, proof at"
                      f" {size[0]}x{size[1]}")


def cli_bench(corpus, workers):
    """The engine CLI's files/s on a corpus, engine 1.2 against engine 2.0, at ``workers`` processes and at
    one: engine 2.0 verifies in its process pool and engine 1.2 in one process, so the one-process run
    says what a file costs, the other what a user waits."""
    import subprocess
    root = Path(__file__).resolve().parents[1]
    corpus = Path(corpus)
    if not (corpus / "canonical").is_dir():
        print(f"\n4. CLI files/s: no corpus at {corpus}")
        return
    n = len([p for p in (corpus / "cleanup").rglob("*") if p.is_file()])
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "engine12"
        ok = extract_engine12(old)
        for w in sorted({workers, 1}, reverse=True):
            print(f"\n4. CLI files/s on {corpus} ({w} worker{'s' if w > 1 else ''}; best of 2, alternating)")
            runs: dict = {"engine 1.2": [], "engine 2.0": []}
            for _ in range(2):
                for name, cwd in (("engine 1.2", old), ("engine 2.0", root)):
                    if name == "engine 1.2" and not ok:
                        continue
                    t = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "matching", "pairs", str(corpus / "canonical"),
                                    str(corpus / "cleanup"), "--out", str(Path(tmp) / "r.csv"), "--quiet",
                                    "--workers", str(w)], cwd=cwd, check=True, capture_output=True)
                    runs[name].append(time.perf_counter() - t)
            for name, ts in runs.items():
                if ts:
                    print(f"   {name}: {n / min(ts):.1f} clean-up files/s ({min(ts):.1f} s for {n})")
            if all(runs.values()):
                print(f"   engine 2.0 takes {min(runs['engine 2.0']) / min(runs['engine 1.2']):.2f}x engine 1.2's time")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="smaller run (tests, smoke)")
    ap.add_argument("--only", choices=("fingerprint", "formats", "search", "verify", "cli"), help="run one part only")
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"))
    a = ap.parse_args()
    t0 = time.time()
    print(f"{matching.ENGINE_VERSION}: benchmark on {os.cpu_count()} cores, {a.workers} workers")
    if a.only in (None, "fingerprint"):
        fingerprint_bench(a.workers, a.quick)
    if a.only in (None, "formats"):
        from formats_speed import formats_bench  # section 1b: bench/formats_speed.py
        formats_bench(a.quick)
    if a.only in (None, "search"):
        search_bench(a.quick)
    if a.only in (None, "verify"):
        verify_bench(a.quick)
    if a.only in (None, "cli"):
        cli_bench(a.corpus, a.workers)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\n5. Peak memory: this process {own:.0f} MB, largest worker {kids:.0f} MB; total time {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Accuracy gates of the matching engine, beside pHash <= 10 on the same corpora.

usage: .venv/bin/python bench/accuracy.py [CORPUS_DIR | --default-corpus DIR] [--extra DIR ...] [--workers N]
                                          [--no-baseline] [--loosen F]

Always: generates the look-alike corpus (bench/lookalikes.py: pages of one book, near-blank
pages, objects on one backdrop, bracketed shots, reframed texture crops, true copies) in a
temporary folder and gates it. Then, where present: CORPUS_DIR/dev (default ../shared/corpus),
CORPUS_DIR/hostile/files against dev/canonical (nothing may match), and every --extra corpus
(canonical/, cleanup/, truth.csv, e.g. made by corpus_gen.py --hard).

A corpus named on the command line that is missing fails. The default shared corpus may be absent
on a fresh clone (said so, and the look-alikes still gate), except under CI=true, where missing is
a failure. Gate rules: bench/gate.py. ``--loosen 1.2`` runs with every tolerance of the engine 20 %
looser (the gate must then FAIL: proof that the corpora bite).
Exits 0 when every gate passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import gate  # noqa: E402
import lookalikes  # noqa: E402

COLS = ["corpus", "method", "rows", "unsafe", "overconfident", "match_recall", "safe_recall", "corrupt_side",
        "near_miss_rejected", "gate"]


def loosen(f: float):
    """Every tolerance of the engine f times looser (in this process and its forked workers)."""
    import matching.thresholds as thresholds
    thresholds.THRESHOLDS = thresholds.THRESHOLDS.loosened(f)


def run_engine(canon, clean, out, workers):
    from matching.pairing import COLUMNS, pair_directories
    t = time.time()
    rows = pair_directories(canon, clean, workers=workers, progress=False)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return time.time() - t


def run_phash(canon, clean, out, radius=10):
    """The usual approach: 64-bit pHash (imagehash), nearest canonical within Hamming ``radius``
    is a duplicate, safe to delete."""
    import imagehash
    from PIL import Image

    def h(p):
        try:
            with Image.open(p) as im:
                return imagehash.phash(im.convert("RGB"))
        except Exception:
            return None
    canon, clean = Path(canon), Path(clean)
    cs = [(p.relative_to(canon).as_posix(), h(p)) for p in sorted(canon.rglob("*")) if p.is_file()]
    cs = [(k, v) for k, v in cs if v is not None]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cleanup", "match", "diff_score", "rotation", "flipped", "verdict", "safe_to_delete"])
        for p in sorted(clean.rglob("*")):
            if not p.is_file():
                continue
            rel, q = p.relative_to(clean).as_posix(), h(p)
            if q is None:
                w.writerow([rel, "", "", 0, "false", "unreadable", "false"])
                continue
            best = min(cs, key=lambda kv: kv[1] - q, default=None)
            if best is not None and best[1] - q <= radius:
                w.writerow([rel, best[0], best[1] - q, 0, "false", "duplicate", "true"])
            else:
                w.writerow([rel, "", "", 0, "false", "no_match", "false"])


def fmt(v):
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=None)
    ap.add_argument("--default-corpus", default=str(ROOT.parent / "shared" / "corpus"),
                    help="where the shared corpus usually is (absent: said so, a failure only under CI)")
    ap.add_argument("--keep-reports", help="copy every corpus's CSV report into this folder (to diff runs)")
    ap.add_argument("--extra", nargs="*", default=[], help="more corpora (canonical/, cleanup/, truth.csv)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=11, help="look-alike corpus seed")
    ap.add_argument("--no-baseline", action="store_true", help="skip pHash <= 10")
    ap.add_argument("--loosen", type=float, default=None, help="run with every tolerance this many times looser")
    ap.add_argument("--lookalikes-only", action="store_true", help="gate the generated look-alikes only")
    ap.add_argument("--table", default=None, help="also write the table (markdown) here")
    a = ap.parse_args()
    ci = os.environ.get("CI", "").lower() == "true"
    told = a.corpus is not None
    corpus = Path(a.corpus) if told else Path(a.default_corpus)
    if a.loosen:
        loosen(a.loosen)
        print(f"every tolerance {a.loosen}x looser: the gates are expected to FAIL")
    failed, table = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        look = tmp / "lookalikes"
        lookalikes.build(look, a.seed)
        sets = [("lookalikes", look / "canonical", look / "cleanup", look / "truth.csv")]
        if a.lookalikes_only:
            pass
        elif (corpus / "dev").is_dir():
            d = corpus / "dev"
            sets.append(("shared dev", d / "canonical", d / "cleanup", d / "truth.csv"))
            if (corpus / "hostile" / "files").is_dir():
                sets.append(("shared hostile", d / "canonical", corpus / "hostile" / "files", None))
        elif told or ci:
            print(f"corpus missing: {corpus}/dev" + (" (CI: a missing corpus is a failure)" if ci else ""))
            failed.append(str(corpus))
        else:
            print(f"shared corpus not found at {corpus}: gating the look-alikes only")
        for e in ([] if a.lookalikes_only else a.extra):
            e = Path(e)
            if not (e / "truth.csv").is_file():
                print(f"corpus missing: {e}")
                failed.append(str(e))
                continue
            sets.append((e.name, e / "canonical", e / "cleanup", e / "truth.csv"))
        for name, canon, clean, truth in sets:
            out = tmp / f"{name.replace(' ', '_')}.csv"
            secs = run_engine(canon, clean, out, a.workers)
            if a.keep_reports:
                Path(a.keep_reports).mkdir(parents=True, exist_ok=True)
                shutil.copy(out, Path(a.keep_reports) / out.name)
            m, bad = gate.score(truth, out) if truth else gate.expect_none(clean, out)
            ok = gate.passes(m)
            print(f"== {name}: {m['rows']} files in {secs:.1f} s: {'PASS' if ok else 'FAIL'}")
            for line in bad[:30]:
                print("  " + line)
            if not ok:
                failed.append(name)
            table.append({"corpus": name, "method": "engine", **m, "gate": "pass" if ok else "FAIL"})
            if not a.no_baseline:
                bout = tmp / f"{name.replace(' ', '_')}.phash.csv"
                run_phash(canon, clean, bout)
                bm, _ = gate.score(truth, bout) if truth else gate.expect_none(clean, bout)
                table.append({"corpus": name, "method": "pHash<=10", **bm, "gate": "pass" if gate.passes(bm) else "FAIL"})
    lines = ["| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    for r in table:
        lines.append("| " + " | ".join(fmt(r.get(k, "")) for k in COLS) + " |")
    print("\n".join(lines))
    if a.table:
        Path(a.table).write_text("\n".join(lines) + "\n")
    print("accuracy gates: " + ("FAILED on " + ", ".join(failed) if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Accuracy gates of the matching engine on the labelled corpus.

usage: .venv/bin/python bench/accuracy.py [CORPUS_DIR] [--extra DIR ...] [--workers N]

Runs `python -m matching pairs` on CORPUS_DIR/dev (then `evaluate.py --gate`) and on
CORPUS_DIR/hostile/files against dev/canonical (`evaluate.py --expect-none --gate`), plus any
--extra corpora (folders with canonical/, cleanup/, truth.csv, e.g. made by corpus_gen.py --hard).
Exits 0 when every gate passes, 1 otherwise; says so and exits 0 when CORPUS_DIR is absent.
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(canon, clean, out, workers):
    cmd = [sys.executable, "-m", "matching", "pairs", str(canon), str(clean), "--out", str(out), "--quiet"]
    if workers:
        cmd += ["--workers", str(workers)]
    t = time.time()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    summary = [line for line in p.stderr.splitlines() if line.startswith("doppel-match")]
    print(f"  cli exit {p.returncode} in {time.time() - t:.1f} s  {summary[-1] if summary else ''}")
    return p.returncode


def evaluate(evaluator, args):
    p = subprocess.run([sys.executable, str(evaluator)] + [str(a) for a in args] + ["--gate"],
                       cwd=ROOT, capture_output=True, text=True)
    for line in p.stdout.strip().splitlines():
        print("  " + line)
    return p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=str(ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--extra", nargs="*", default=[], help="more corpora (canonical/, cleanup/, truth.csv)")
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    corpus = Path(a.corpus)
    evaluator = corpus / "evaluate.py"
    if not corpus.is_dir() or not evaluator.is_file():
        print(f"corpus not found at {corpus}: accuracy check skipped")
        return 0
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = [("dev", corpus / "dev")] + [(Path(e).name, Path(e)) for e in a.extra]
        for name, d in sets:
            print(f"== {name}: {d}")
            out = Path(tmp) / f"{name}.csv"
            if run_cli(d / "canonical", d / "cleanup", out, a.workers) != 0 or \
                    evaluate(evaluator, [d / "truth.csv", out]) != 0:
                failed.append(name)
        hostile = corpus / "hostile" / "files"
        if hostile.is_dir():
            print(f"== hostile: {hostile} against dev/canonical")
            out = Path(tmp) / "hostile.csv"
            if run_cli(corpus / "dev" / "canonical", hostile, out, a.workers) != 0 or \
                    evaluate(evaluator, ["--expect-none", hostile, out]) != 0:
                failed.append("hostile")
    print("accuracy gates: " + ("FAILED on " + ", ".join(failed) if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

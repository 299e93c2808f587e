"""Command line: ``python -m matching pairs CANONICAL_DIR CLEANUP_DIR --out REPORT.csv [--workers N]``
and ``python -m matching analyse FILE...`` (JSON)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time

from .version import ENGINE_VERSION


def _pattern(s):
    try:
        re.compile(s)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"bad regular expression {s!r}: {e}")
    return s


def _workers(s):
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}")
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def build_parser():
    ap = argparse.ArgumentParser(prog="python -m matching", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pairs", help="pair every clean-up file with the canonical copy it duplicates")
    p.add_argument("canonical_dir")
    p.add_argument("cleanup_dir")
    p.add_argument("--out", required=True, help="CSV report to write")
    p.add_argument("--workers", type=_workers, default=None, help="processes (default: all cores)")
    p.add_argument("--id-pattern", action="append", type=_pattern, default=None, dest="id_patterns",
                   help="regex finding an ID in a file name (repeatable; named groups prefix/num optional)")
    p.add_argument("--limit", type=int, default=5, help="content candidates verified per file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    a = sub.add_parser("analyse", help="print the per-file analysis as JSON")
    a.add_argument("files", nargs="+")
    a.add_argument("--max-pixels", type=int, default=None)
    return ap


def main(argv=None) -> int:
    from .analysis import analyse_file
    from .pairing import COLUMNS, pair_directories
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.cmd == "analyse":
        out = []
        for f in args.files:
            if not os.path.isfile(f):
                ap.error(f"no such file: {f}")
            out.append(analyse_file(f, max_pixels=args.max_pixels).to_dict())
        json.dump(out if len(out) > 1 else out[0], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for d in (args.canonical_dir, args.cleanup_dir):
        if not os.path.isdir(d):
            ap.error(f"not a directory: {d}")
    outdir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(outdir):
        ap.error(f"output folder does not exist: {outdir}")
    t0 = time.time()
    rows = pair_directories(args.canonical_dir, args.cleanup_dir, workers=args.workers,
                            progress=not args.quiet, id_patterns=args.id_patterns, limit=args.limit)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    safe = sum(r["safe_to_delete"] == "true" for r in rows)
    print(f"doppel-match {ENGINE_VERSION}: {len(rows)} files in {time.time() - t0:.1f} s; safe to delete {safe}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), file=sys.stderr)
    return 0

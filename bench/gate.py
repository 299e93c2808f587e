"""Scoring a match report against a corpus's truth.csv, with the accuracy gate.

The rules are the corpus's own (``evaluate.py --gate`` of the shared corpus README), written here
so that `make accuracy` gates the generated look-alike corpus on a checkout without ../shared:
unsafe 0, overconfident 0, invalid 0, missing 0, match recall >= 0.98, safe recall >= 0.95,
orientation 1.0, corrupt side >= 0.9, near-miss rejected 1.0. ``expect_none``: hostile files,
a row for each, none safe, none declared a match.
"""
from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath

import numpy as np

SAFE = {"exact", "format", "resized", "exif_oriented"}
NEVER_SAFE = {"corrupt_canonical", "near_miss", "unique"}
NEEDS_PERSON = {"rotated", "corrupt_cleanup"}
NOT_A_MATCH = {"different", "no_match", "unreadable", ""}
VERDICTS = {"identical", "duplicate", "rotated", "cleanup_corrupt", "match_corrupt", "different", "unreadable",
            "no_match"}
TRUE = {"true", "1", "yes", "t", "y"}
GATE = {"unsafe": 0, "overconfident": 0, "invalid": 0, "missing": 0, "match_recall": 0.98, "safe_recall": 0.95,
        "orientation": 1.0, "corrupt_side": 0.9, "near_miss_rejected": 1.0}


def _turn(rot, flip):
    a = np.rot90(np.arange(6).reshape(2, 3), int(rot) // 90)
    return np.fliplr(a) if flip else a


def same_orientation(r1, f1, r2, f2) -> bool:
    x, y = _turn(r1, f1), _turn(r2, f2)
    return x.shape == y.shape and bool((x == y).all())


def _norm(p):
    return str(PurePosixPath(p.strip().replace("\\", "/"))) if p and p.strip() else ""


def read_report(path):
    report, repeated = {}, 0
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            key = _norm(r.get("cleanup", ""))
            repeated += key in report
            report[key] = r
    return report, repeated


def score(truth_path, report_path):
    """(metrics dict, list of problem lines)."""
    with open(truth_path, newline="") as f:
        truth = {r["cleanup_file"]: r for r in csv.DictReader(f)}
    report, repeated = read_report(report_path)
    c = dict(missing=sum(k not in report for k in truth) + repeated, unsafe=0, overconfident=0, invalid=0,
             match_ok=0, match_n=0, safe_ok=0, safe_n=0, orient_ok=0, orient_n=0, corrupt_ok=0, corrupt_n=0,
             nm_ok=0, nm_n=0)
    bad = []
    for name, t in truth.items():
        r = report.get(name, {})
        rel, exp = t["relation"], t["expected_match"]
        match, verdict = _norm(r.get("match", "")), (r.get("verdict") or "").strip().lower()
        safe = (r.get("safe_to_delete") or "").strip().lower() in TRUE
        declared = bool(match) and verdict not in NOT_A_MATCH
        if name in report and verdict not in VERDICTS:
            c["invalid"] += 1
            bad.append(f"invalid        {name}: verdict '{verdict}'")
        if safe and rel in NEEDS_PERSON:
            c["overconfident"] += 1
            bad.append(f"overconfident  {name} ({rel}) marked safe: needs a person")
        if exp:
            c["match_n"] += 1
            ok = declared and match == exp
            c["match_ok"] += ok
            if not ok:
                bad.append(f"missed match   {name} ({rel} {t.get('detail', '')}) -> got '{match}' {verdict}")
        if safe and (rel in NEVER_SAFE or match != exp):
            c["unsafe"] += 1
            bad.append(f"UNSAFE delete  {name} ({rel} {t.get('detail', '')}) -> '{match}' {verdict}")
        if rel in SAFE:
            c["safe_n"] += 1
            c["safe_ok"] += safe and match == exp
        if (rel == "rotated" or rel in SAFE) and declared and match == exp:
            c["orient_n"] += 1
            try:
                ok = same_orientation(int(float(r.get("rotation") or 0)),
                                      (r.get("flipped") or "").strip().lower() in TRUE,
                                      int(t["rotation"]), t["flipped"] == "1")
            except ValueError:
                ok = False
            c["orient_ok"] += ok
            if not ok:
                bad.append(f"orientation    {name} got rot={r.get('rotation')} flip={r.get('flipped')}")
        if rel.startswith("corrupt_"):
            c["corrupt_n"] += 1
            want = "cleanup_corrupt" if rel == "corrupt_cleanup" else "match_corrupt"
            ok = verdict == want and match == exp
            c["corrupt_ok"] += ok
            if not ok:
                bad.append(f"corrupt side   {name} ({t.get('detail', '')}) verdict '{verdict}' want {want}")
        if rel == "near_miss":
            c["nm_n"] += 1
            c["nm_ok"] += not declared
            if declared:
                bad.append(f"near miss kept {name} ({t.get('detail', '')}) -> '{match}' {verdict}")

    def ratio(a, b):
        return c[a] / c[b] if c[b] else 1.0
    m = dict(unsafe=c["unsafe"], overconfident=c["overconfident"], invalid=c["invalid"], missing=c["missing"],
             match_recall=ratio("match_ok", "match_n"), safe_recall=ratio("safe_ok", "safe_n"),
             orientation=ratio("orient_ok", "orient_n"), corrupt_side=ratio("corrupt_ok", "corrupt_n"),
             near_miss_rejected=ratio("nm_ok", "nm_n"), rows=len(truth), near_misses=c["nm_n"])
    return m, bad


def expect_none(files_dir, report_path):
    files = sorted(p.relative_to(files_dir).as_posix() for p in Path(files_dir).rglob("*") if p.is_file())
    report, repeated = read_report(report_path)
    missing = sum(f not in report for f in files) + repeated
    safe = [k for k, r in report.items() if (r.get("safe_to_delete") or "").strip().lower() in TRUE]
    declared = [k for k, r in report.items() if _norm(r.get("match", "")) and
                (r.get("verdict") or "").strip().lower() not in NOT_A_MATCH]
    bad = [f"declared/safe  {k} -> '{report[k].get('match')}' {report[k].get('verdict')}" for k in (safe + declared)]
    return dict(rows=len(files), missing=missing, unsafe=len(safe), false_matches=len(declared)), bad


def passes(m: dict) -> bool:
    if "false_matches" in m:
        return m["missing"] == 0 and m["unsafe"] == 0 and m["false_matches"] == 0
    return all((m[k] <= v) if isinstance(v, int) else (m[k] >= v) for k, v in GATE.items())

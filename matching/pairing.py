"""Pairing two directories (what the CLI runs): per-file analysis in a process pool (bounded time
and memory per file), candidate index over the canonical side, verification in a process pool too,
one row per file."""
from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from copy import copy
from pathlib import Path

from .analysis import FileAnalysis, analyse_file
from .index import CandidateIndex, shared_id
from .verdict import FileDecision, decide_file, verification_failed, verify_analyses
from .version import ENGINE_VERSION

FILE_TIMEOUT = 30          # seconds per file
FILE_MEMORY = 2 << 30      # extra address space a worker may use while decoding one file (bytes)
COLUMNS = ["cleanup", "match", "diff_score", "local_score", "rotation", "flipped", "verdict",
           "safe_to_delete", "corrupt_side", "region", "via", "status", "format", "width", "height",
           "reasons", "engine_version"]


def list_files(root) -> list:
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _init_worker(mem):
    """Per-worker limits: address space = what the forked process already maps + ``mem``
    (a decoder that tries to allocate more gets MemoryError, and the file is unreadable)."""
    try:
        import resource
        if mem:
            limit = _vm_size() + mem
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyse_task(args):
    path, name, timeout = args
    old = None
    try:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(timeout)
    except Exception:
        pass
    try:
        return analyse_file(path, name=name)
    except _Timeout:
        a = FileAnalysis(name=name)
        a.errors = [f"decoding took longer than {timeout} s"]
        return a
    except BaseException as e:  # MemoryError and anything else: the file is unreadable, the run goes on
        a = FileAnalysis(name=name)
        a.errors = [f"{type(e).__name__}: {e}"[:300]]
        return a
    finally:
        try:
            signal.alarm(0)
            if old is not None:
                signal.signal(signal.SIGALRM, old)
        except Exception:
            pass


def _each_in_pool(fn, tasks: list, *, workers: int | None, progress: bool, desc: str, chunksize: int = 1,
                  maxtasksperchild: int | None = None, serial_init: bool = False) -> Iterator:
    """``fn`` of each task, in order: in a process pool of ``workers`` (default: every core) forked from
    this process, each worker's address space bounded (``_init_worker``), or here for one worker or a few
    tasks (``serial_init``: bounded as a worker is, then); a progress bar on stderr when asked. The
    analysis and the verification both run so."""
    workers = workers or os.cpu_count() or 1
    pool = None
    if workers <= 1 or len(tasks) < 4:
        if serial_init:
            _init_worker(None)
        it: Iterator = map(fn, tasks)
    else:
        import multiprocessing as mp
        # (forked before the progress bar starts its monitor thread)
        pool = mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(FILE_MEMORY,),
                                           maxtasksperchild=maxtasksperchild)
        it = pool.imap(fn, tasks, chunksize=chunksize)
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(tasks), desc=desc, file=sys.stderr, unit="file")
        except Exception:
            bar = None
    try:
        for out in it:
            yield out
            if bar:
                bar.update(1)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        if bar:
            bar.close()


def analyse_many(root, rels, *, workers=None, progress=True, desc="analyse") -> dict:
    """Analyse files (relative paths under root) in parallel. Returns {rel: FileAnalysis}."""
    tasks = [(str(Path(root) / r), Path(r).name, FILE_TIMEOUT) for r in rels]
    analyses = _each_in_pool(_analyse_task, tasks, workers=workers, progress=progress, desc=desc, chunksize=4,
                             maxtasksperchild=200, serial_init=True)
    return dict(zip(rels, analyses))


def _fmt(x):
    return f"{x:.5f}"


def row_for(rel, a: FileAnalysis, decision: FileDecision) -> dict:
    res = decision.result
    verdict = decision.verdict
    row = {"cleanup": rel, "match": decision.match or "", "verdict": verdict,
           "diff_score": "", "local_score": "", "rotation": 0, "flipped": "false",
           "safe_to_delete": "false", "corrupt_side": "none", "region": "", "via": "",
           "status": a.status, "format": a.format, "width": a.width, "height": a.height,
           "reasons": "", "engine_version": ENGINE_VERSION}
    reasons = list(decision.reasons)
    if res is not None:
        if verdict not in ("unreadable", "no_match"):
            row.update(diff_score=_fmt(res.diff_score), local_score=_fmt(res.local_score),
                       rotation=res.rotation, flipped="true" if res.flipped else "false",
                       safe_to_delete="true" if (res.safe_to_delete and verdict == res.verdict) else "false",
                       corrupt_side=res.corrupt_side if verdict == res.verdict else "none",
                       region=json.dumps(res.region) if res.region else "", via=res.via)
        reasons = list(res.reasons) + reasons
    if verdict in ("different", "unreadable", "no_match"):
        row["safe_to_delete"] = "false"
    if verdict == "unreadable" and a.errors:
        reasons = ["does not decode: " + "; ".join(a.errors[:2])] + reasons[1:]
    row["reasons"] = " | ".join(dict.fromkeys(reasons))[:1000]
    return row


def _verify_candidate(a: FileAnalysis, canon: dict, cand, id_patterns):
    # (a shallow copy of the kept file's analysis: the full-detail rendition the proof attaches goes with
    # it, and only the last few stay, in ``proof.load_rendition``'s cache; attached to the analysis the run
    # keeps for every kept file, each one verified stayed in memory to the end of the run)
    m = copy(canon[cand.key])
    if id_patterns:
        from .names import extract_ids
        m.ids = extract_ids(m.name, id_patterns)
    r = verify_analyses(a, m, shared_id=shared_id(cand.reason))
    r.match, r.via = cand.key, cand.reason
    return r


# what each verification worker reads, set in the parent before the pool forks (the analyses and the
# candidate index travel by fork's copy-on-write, not through a pipe)
_VERIFYING: dict = {}


def _verify_file(rel: str) -> dict:
    """One clean-up file's report row: its candidates verified (the first few, then further down when none
    is the same picture) and the file decided; an error in any of it is the file's row, not the run's end."""
    canon, clean, idx = _VERIFYING["canon"], _VERIFYING["clean"], _VERIFYING["index"]
    id_patterns, limit = _VERIFYING["id_patterns"], _VERIFYING["limit"]
    a = copy(clean[rel])   # (its rendition, once attached, serves each of its candidates, and goes with it)
    if id_patterns:
        from .names import extract_ids
        a.ids = extract_ids(a.name, id_patterns)
    results = []
    try:
        first = idx.candidates(a, limit=limit)
        for cand in first:
            results.append(_verify_candidate(a, canon, cand, id_patterns))
        if not any(r.declared for r in results):   # none is the same picture: look further down
            for cand in idx.deeper_candidates(a, first):
                results.append(_verify_candidate(a, canon, cand, id_patterns))
        decision = decide_file(a, results)
    except Exception as e:  # never let one file stop the run
        decision = verification_failed(a, e)
    return row_for(rel, a, decision)


def verify_many(rels: list, *, workers=None, progress=True) -> list:
    """``_verify_file`` for each clean-up file, in order, in a process pool of ``workers`` (default: every
    core) forked from this process once ``_VERIFYING`` holds the analyses and the index.

    Why a pool: verification is most of a run's time (each pair's screen, and the full-detail proof, which
    decodes both files at full detail), and it ran in this one process whatever ``--workers`` said. Each
    file's verification reads only the analyses and the index, so the files are verified apart; a worker
    keeps its own few recent renditions (``proof.load_rendition``). Each worker's address space is bounded
    as an analysis worker's is, and a verification that runs out of it is that file's error row."""
    return list(_each_in_pool(_verify_file, rels, workers=workers, progress=progress, desc="verify"))


def pair_directories(canonical_dir, cleanup_dir, *, workers=None, progress=True, id_patterns=None,
                     limit=5) -> list:
    canonical_dir, cleanup_dir = Path(canonical_dir), Path(cleanup_dir)
    canon_rels, clean_rels = list_files(canonical_dir), list_files(cleanup_dir)
    canon = analyse_many(canonical_dir, canon_rels, workers=workers, progress=progress, desc="canonical")
    idx = CandidateIndex(id_patterns=id_patterns)
    for rel, a in canon.items():
        idx.add(rel, a)
    clean = analyse_many(cleanup_dir, clean_rels, workers=workers, progress=progress, desc="clean-up")
    _VERIFYING.update(canon=canon, clean=clean, index=idx, id_patterns=id_patterns, limit=limit)
    try:
        return verify_many(clean_rels, workers=workers, progress=progress)
    finally:
        _VERIFYING.clear()

"""Candidate search: by ID in the name, and by content with a multi-index hash (MIH) over 64-bit
pHashes of the whole picture and of regions. Canonical files are indexed in their own orientation;
a query tries all 8 turns of the clean-up copy, so the search is rotation/mirror invariant.

MIH: each 64-bit hash is cut into 4 chunks of 16 bits; one sorted array per chunk. A query probes,
in every chunk, all values within ``chunk_radius`` bits of its own chunk (binary search), so by the
pigeonhole principle every stored hash within 4*(chunk_radius+1)-1 bits is found without looking
at the others: cost grows with the bucket sizes, not with the number of stored hashes.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from . import thresholds as _thresholds
from .decode import DIHEDRAL, EXIF_TO_DIHEDRAL, dihedral, inverse
from .names import compile_patterns, extract_ids

N_CHUNKS = 4
CHUNK_BITS = 16


@dataclass
class Candidate:
    key: str
    reason: str            # "id" | "content" | "id+content"
    distance: int | None = None   # best Hamming distance (content), None for ID-only

    def to_dict(self):
        return {"key": self.key, "reason": self.reason, "distance": self.distance}


def _flip_masks(bits: int, radius: int) -> np.ndarray:
    masks = [0]
    for r in range(1, radius + 1):
        for combo in combinations(range(bits), r):
            m = 0
            for b in combo:
                m |= 1 << b
            masks.append(m)
    return np.array(masks, dtype=np.uint64)


_MASKS = {r: _flip_masks(CHUNK_BITS, r) for r in (0, 1, 2)}


def popcount64(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint64))


class MultiIndexHash:
    """Hamming-radius search over many 64-bit hashes (numpy, sorted chunk arrays)."""

    def __init__(self):
        self._h, self._o = [], []
        self.hashes = np.zeros(0, np.uint64)
        self.owners = np.zeros(0, np.int64)
        self._sorted = None

    def add(self, h: int, owner: int):
        self._h.append(h)
        self._o.append(owner)
        self._sorted = None

    def add_many(self, hashes: np.ndarray, owners: np.ndarray):
        self._flush()
        self.hashes = np.concatenate([self.hashes, hashes.astype(np.uint64)])
        self.owners = np.concatenate([self.owners, owners.astype(np.int64)])
        self._sorted = None

    def _flush(self):
        if self._h:
            self.hashes = np.concatenate([self.hashes, np.array(self._h, dtype=np.uint64)])
            self.owners = np.concatenate([self.owners, np.array(self._o, dtype=np.int64)])
            self._h, self._o = [], []

    def __len__(self):
        return len(self.hashes) + len(self._h)

    def build(self):
        self._flush()
        self._sorted = []
        for c in range(N_CHUNKS):
            vals = ((self.hashes >> np.uint64(c * CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.uint16)
            order = np.argsort(vals, kind="stable")
            # bucket table: entries with chunk value v are order[start[v]:start[v + 1]]
            start = np.searchsorted(vals[order], np.arange(1 << CHUNK_BITS, dtype=np.int64), "left")
            start = np.append(start, len(vals)).astype(np.int64)
            self._sorted.append((start, order))

    def search(self, queries, radius: int, chunk_radius: int = 1):
        """queries: iterable of 64-bit ints. Returns (query_index, owner, distance) arrays for all
        stored hashes within ``radius`` (guaranteed up to 4*(chunk_radius+1)-1)."""
        if self._sorted is None:
            self.build()
        qs = np.array(list(queries), dtype=np.uint64)
        if len(qs) == 0 or len(self.hashes) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        masks = _MASKS[chunk_radius].astype(np.uint16)
        found_q, found_e = [], []
        for c, (vals, order) in enumerate(self._sorted):
            qc = ((qs >> np.uint64(c * CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.uint16)
            probes = (qc[:, None] ^ masks[None, :]).ravel().astype(np.int64)   # (nq * nprobe)
            lo = vals[probes]
            hi = vals[probes + 1]
            n = hi - lo
            if n.sum() == 0:
                continue
            qidx = np.repeat(np.repeat(np.arange(len(qs)), len(masks)), n)
            starts = np.repeat(lo, n)
            offs = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
            found_q.append(qidx)
            found_e.append(order[starts + offs])
        if not found_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        q = np.concatenate(found_q)
        e = np.concatenate(found_e)
        d = popcount64(qs[q] ^ self.hashes[e])
        keep = d <= radius
        q, e, d = q[keep], e[keep], d[keep]
        if len(q) > 1:  # the same entry can be found through several chunks
            key = q.astype(np.int64) * (len(self.hashes) + 1) + e
            _, first = np.unique(key, return_index=True)
            q, e, d = q[first], e[first], d[first]
        return q, self.owners[e], d.astype(np.int64)


class CandidateIndex:
    """Canonical analyses in, candidates for a clean-up analysis out (sub-quadratic)."""

    def __init__(self, id_patterns=None, *, radius_whole: int | None = None, radius_region: int | None = None):
        T = _thresholds.current()
        self.patterns = compile_patterns(id_patterns)
        self.custom_patterns = bool(id_patterns)
        self.radius_whole = radius_whole if radius_whole is not None else T.hash_radius_whole
        self.radius_region = radius_region if radius_region is not None else T.hash_radius_region
        self.keys: list = []
        self.by_id: dict = {}
        self.by_sha256: dict = {}
        self.whole = MultiIndexHash()
        self.region = MultiIndexHash()
        # grey thumbnails for the fallback search (analyses that carry one)
        self._thumb_owner: list = []
        self._thumb_list: list = []
        self._thumb_aspect: list = []
        self._thumb_stack: np.ndarray | None = None

    def __len__(self):
        return len(self.keys)

    def _ids(self, analysis):
        if self.custom_patterns:
            return extract_ids(analysis.name, self.patterns)
        return list(analysis.ids) if analysis.ids is not None else extract_ids(analysis.name)

    def add(self, key, analysis):
        n = len(self.keys)
        self.keys.append(key)
        for i in self._ids(analysis):
            self.by_id.setdefault(i, []).append(n)
        if getattr(analysis, "sha256", ""):
            self.by_sha256.setdefault(analysis.sha256, []).append(n)
        if not analysis.readable:
            return
        thumb = analysis.thumb_array() if hasattr(analysis, "thumb_array") else None
        if thumb is not None and analysis.width and analysis.height:
            self._thumb_owner.append(n)
            self._thumb_list.append(thumb)
            self._thumb_aspect.append(float(np.log(analysis.width / analysis.height)))
            self._thumb_stack = None
        # near-blank pictures with a hash are searched too: the full-detail proof decides, not flatness
        if not analysis.hashes:
            return
        hs = analysis.hash_ints(0)
        if hs and hs[0] is not None:
            self.whole.add(hs[0], n)
        for h in hs[1:]:
            if h is not None:
                self.region.add(h, n)

    def add_hashes(self, keys, whole: np.ndarray, regions: np.ndarray | None = None):
        """Bulk add (benchmarks, stored fingerprints): whole (n,) uint64; regions (n, k) uint64, 0 = none."""
        base = len(self.keys)
        self.keys.extend(keys)
        owners = np.arange(base, base + len(keys))
        self.whole.add_many(whole, owners)
        if regions is not None:
            r = regions.reshape(len(keys), -1)
            ok = r != 0
            self.region.add_many(r[ok], np.repeat(owners, r.shape[1]).reshape(r.shape)[ok])

    def content_search(self, analysis, limit: int = 5):
        """[(owner, score, distance)] best first (score: lower is better)."""
        if not analysis.readable or not analysis.hashes:
            return []
        best: dict[int, tuple] = {}
        wq: list[int] = []
        rq: list[int] = []
        for o in range(len(analysis.hashes)):
            hs = analysis.hash_ints(o)
            if hs and hs[0] is not None:
                wq.append(hs[0])
            rq.extend(h for h in hs[1:] if h is not None)
        if wq and len(self.whole):
            _, owners, d = self.whole.search(wq, self.radius_whole, chunk_radius=2)
            for own, dist in zip(owners.tolist(), d.tolist()):
                if own not in best or dist < best[own][0]:
                    best[own] = (dist, dist)
        if rq and len(self.region):
            _, owners, d = self.region.search(rq, self.radius_region, chunk_radius=1)
            for own, dist in zip(owners.tolist(), d.tolist()):
                score = dist + 3  # a region agreeing counts a little less than the whole picture
                if own not in best or score < best[own][0]:
                    best[own] = (score, dist)
        ranked = sorted(best.items(), key=lambda kv: kv[1][0])[:limit]
        return [(own, sc, dist) for own, (sc, dist) in ranked]

    def deeper_candidates(self, analysis, first: list) -> list:
        """Candidates after ``first`` (what ``candidates`` gave), up to ``deeper_limit`` in all.

        Why: for the callers to verify when none of the first is the same picture. Crops of one
        photograph can crowd the first places, and a canonical whose whole-picture hash a damage
        band has spoiled is found by one region hash only, a few places further down."""
        keys = {c.key for c in first}
        return [c for c in self.candidates(analysis, limit=_thresholds.current().deeper_limit) if c.key not in keys]

    def thumbnail_search(self, analysis, limit: int | None = None) -> list:
        """[(owner, rows, diff)] best first: canonicals whose thumbnail agrees with the clean-up's
        from the top of its stored stream down, under any turn that fits the aspect ratio.

        Why: the fallback when the hashes find nothing. A bit flip garbles everything after it in
        scan order (the hashes of every region are garbage), but the rows above it are intact; a
        smooth gradient has pHash signs that are noise, but its shading agrees row by row. ``rows``:
        how many leading rows (of THUMB_SIDE, in the clean-up's stored order) agree within
        ``thumb_row_diff`` grey levels; ``diff``: their mean difference. Brute force over the
        thumbnails (THUMB_SIDE^2 bytes each), so it is only run for files the hashes did not place."""
        T = _thresholds.current()
        limit = T.thumb_limit if limit is None else limit
        q = analysis.thumb_array() if hasattr(analysis, "thumb_array") else None
        if q is None or not self._thumb_list or not (analysis.width and analysis.height) or q.std() < T.thumb_min_std:
            return []
        if self._thumb_stack is None:
            self._thumb_stack = np.stack(self._thumb_list, axis=2)        # (side, side, n): turns act on axes 0, 1
        owners = np.asarray(self._thumb_owner)
        aspects = np.asarray(self._thumb_aspect)
        stored = inverse(EXIF_TO_DIHEDRAL.get(analysis.exif_orientation, (0, False)))
        qs = dihedral(q.astype(np.float32), *stored)                       # the clean-up in its stored scan order
        la = float(np.log(analysis.width / analysis.height))
        best: dict = {}
        for t in DIHEDRAL:
            turned_aspect = -aspects if t[0] in (90, 270) else aspects
            fit = np.abs(turned_aspect - la) <= T.aspect_tol
            if not fit.any():
                continue
            cs = dihedral(dihedral(self._thumb_stack[:, :, fit], *t), *stored).astype(np.float32)
            d = np.abs(cs - qs[:, :, None]).mean(axis=1)                  # (rows, candidates)
            agree = d <= T.thumb_row_diff
            rows = np.where(agree.all(axis=0), agree.shape[0], np.argmin(agree, axis=0))
            ok = rows >= T.thumb_min_rows
            if not ok.any():
                continue
            csum = np.cumsum(d, axis=0)
            for j in np.where(ok)[0]:
                r = int(rows[j])
                key = (-r, float(csum[r - 1, j] / r))
                own = int(owners[fit][j])
                if own not in best or key < best[own]:
                    best[own] = key
        ranked = sorted(best.items(), key=lambda kv: kv[1])[:limit]
        return [(own, -k[0], round(k[1], 3)) for own, k in ranked]

    def candidates(self, analysis, limit: int = 5) -> list:
        out: list = []
        seen: dict = {}
        # byte-identical files first, blank or not, readable or not
        for n in self.by_sha256.get(getattr(analysis, "sha256", "") or None, []):
            seen[n] = len(out)
            out.append(Candidate(self.keys[n], "checksum", 0))
        for i in self._ids(analysis):
            for n in self.by_id.get(i, []):
                if n not in seen:
                    seen[n] = len(out)
                    out.append(Candidate(self.keys[n], "id", None))
                elif "id" not in out[seen[n]].reason:
                    out[seen[n]].reason += "+id"
        for own, _score, dist in self.content_search(analysis, limit=limit):
            if own in seen:
                c = out[seen[own]]
                if c.reason == "id":
                    c.reason, c.distance = "id+content", dist
            else:
                seen[own] = len(out)
                out.append(Candidate(self.keys[own], "content", dist))
        # nothing found by checksum or ID, and the hashes are not to be trusted (a damaged stream)
        # or found nothing: search by thumbnail, rows in stored scan order
        if not any(c.reason in ("checksum", "id") or "id" in c.reason for c in out) and (
                not out or getattr(analysis, "status", "") == "damaged"):
            for own, _rows, _diff in self.thumbnail_search(analysis):
                if own not in seen:
                    seen[own] = len(out)
                    out.append(Candidate(self.keys[own], "thumbnail", None))
        return out

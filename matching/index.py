"""Candidate search: by ID in the name, and by content with a multi-index hash (MIH) over 64-bit
pHashes of the whole picture and of regions. Canonical files are indexed in their own orientation;
a query tries all 8 turns of the clean-up copy, so the search is rotation/mirror invariant.

MIH: each 64-bit hash is cut into 4 bands of 16 bits; one bucket table per band. A query probes,
in band i, every value within r_i bits of its own band. A stored hash within distance d differs in
the four bands by d_0 + d_1 + d_2 + d_3 = d bits, so if d <= sum(r_i + 1) - 1 at least one band has
d_i <= r_i (pigeonhole) and the hash is found without looking at the others. `band_radii(radius)`
picks the cheapest r_i that guarantee ``radius`` exactly, so the radius searched is the radius found
(11 bits: 2 in every band; 12 would need 3 in one band, twice the probes).

The same band functions serve the SQL index of the app (reviewapp/selectors/candidate_index.py), so
the in-memory search (CLI, benchmarks) and the database search find the same candidates, ranked by
the same `rank_content` and `merge_candidates`.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from . import thresholds as _thresholds
from .decode import DIHEDRAL, EXIF_TO_DIHEDRAL, aspect_fits, dihedral, inverse
from .names import compile_patterns, extract_ids

N_CHUNKS = 4
CHUNK_BITS = 16
BAND_MASK = (1 << CHUNK_BITS) - 1
REGION_PENALTY = 3   # a region agreeing counts a little less than the whole picture


def split_bands(h: int) -> tuple[int, ...]:
    """The 4 bands of 16 bits of a 64-bit hash, lowest first."""
    return tuple((int(h) >> (CHUNK_BITS * c)) & BAND_MASK for c in range(N_CHUNKS))


def band_radii(radius: int) -> tuple[int, ...]:
    """Per-band probe radii that find every stored hash within ``radius`` bits, cheapest first:
    the smallest radii with sum(r_i + 1) - 1 >= radius, spread as evenly as the bands allow."""
    if radius < 0:
        raise ValueError("radius must be >= 0")
    base, extra = divmod(radius + 1, N_CHUNKS)
    # sum(r_i + 1) = radius + 1 when every band gets base (or base + 1 for `extra` bands)
    return tuple(max(base + (1 if c < extra else 0) - 1, -1) for c in range(N_CHUNKS))


def guaranteed_radius(radii) -> int:
    """The Hamming radius within which probing bands at ``radii`` finds every stored hash (-1 =
    a band not probed at all)."""
    return sum(r + 1 for r in radii) - 1


def signed64(h: int) -> int:
    """A 64-bit hash as a signed 64-bit integer (what a database's bigint holds)."""
    h = int(h) & ((1 << 64) - 1)
    return h - (1 << 64) if h >= 1 << 63 else h


def band_masks(radius: int) -> list[tuple[int, list[int]]]:
    """(band, [XOR masks]) to probe for ``radius``: every stored hash within ``radius`` bits of a
    query has, in one of these bands, the query's band value XOR one of that band's masks.

    Why apart from `band_probes`: the SQL index sends these few masks with the query hashes and
    lets the database expand the probes, instead of sending every probe value."""
    return [(c, [int(m) for m in _masks(r)]) for c, r in enumerate(band_radii(radius)) if r >= 0]


def band_probes(h: int, radius: int) -> list[tuple[int, int]]:
    """(band, value) pairs to look up for one query hash so that every stored hash within
    ``radius`` bits shares at least one of them."""
    bands = split_bands(h)
    return [(c, bands[c] ^ m) for c, masks in band_masks(radius) for m in masks]


def index_ids(analysis, patterns=None) -> list:
    """The IDs a file is paired by: read from its name with ``patterns`` when given, otherwise
    those its analysis stored (the engine's default patterns)."""
    if patterns:
        return extract_ids(analysis.name, compile_patterns(patterns))
    return list(analysis.ids) if analysis.ids is not None else extract_ids(analysis.name)


def stored_hashes(analysis) -> tuple[int | None, list[int]]:
    """What a canonical analysis puts in the index: its whole-picture hash and its region hashes,
    in its own orientation (near-blank pictures too: the full-detail proof decides, not flatness)."""
    if not analysis.readable or not analysis.hashes:
        return None, []
    hs = analysis.hash_ints(0)
    if not hs:
        return None, []
    return hs[0], [h for h in hs[1:] if h is not None]


def query_hashes(analysis) -> tuple[list[int], list[int]]:
    """What a clean-up analysis searches with: whole-picture and region hashes of all 8 turns."""
    if not analysis.readable or not analysis.hashes:
        return [], []
    wq: list[int] = []
    rq: list[int] = []
    for o in range(len(analysis.hashes)):
        hs = analysis.hash_ints(o)
        if hs and hs[0] is not None:
            wq.append(hs[0])
        rq.extend(h for h in hs[1:] if h is not None)
    return wq, rq


def rank_content(whole_hits, region_hits, limit: int = 5):
    """Content candidates from {owner: nearest whole-picture distance} and {owner: nearest region
    distance}: [(owner, score, distance)] best first, ties by owner (the order of insertion in
    the in-memory index, the asset id in the database). Score = whole distance, or region
    distance + REGION_PENALTY when that is lower; the distance reported is the one scored."""
    best = {}
    for own, dist in whole_hits.items():
        best[own] = (dist, dist)
    for own, dist in region_hits.items():
        score = dist + REGION_PENALTY
        if own not in best or score < best[own][0]:
            best[own] = (score, dist)
    ranked = sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:limit]
    return [(own, sc, dist) for own, (sc, dist) in ranked]


def merge_candidates(by_checksum, by_id, content) -> list:
    """The candidate list of one clean-up file: byte-identical files first (blank or not,
    readable or not), then files sharing an ID, then content hits ([(key, score, distance)]);
    a file found several ways appears once, its reason saying how."""
    out: list[Candidate] = []
    seen: dict = {}
    for key in by_checksum:
        if key not in seen:
            seen[key] = len(out)
            out.append(Candidate(key, "checksum", 0))
    for key in by_id:
        if key not in seen:
            seen[key] = len(out)
            out.append(Candidate(key, "id", None))
        elif "id" not in out[seen[key]].reason:
            out[seen[key]].reason += "+id"
    for key, _score, dist in content:
        if key in seen:
            c = out[seen[key]]
            if c.reason == "id":
                c.reason, c.distance = "id+content", dist
        else:
            seen[key] = len(out)
            out.append(Candidate(key, "content", dist))
    return out


def stored_thumbnail(analysis) -> tuple[np.ndarray, float] | None:
    """(grey thumbnail, log aspect ratio) a kept copy is indexed with for the fallback search, or
    None: an unreadable file, or an analysis without a thumbnail (made before it) or a size."""
    if not analysis.readable or not (analysis.width and analysis.height):
        return None
    thumb = analysis.thumb_array() if hasattr(analysis, "thumb_array") else None
    if thumb is None:
        return None
    return thumb, float(np.log(analysis.width / analysis.height))


def thumbnail_wanted(analysis, merged, deeper: bool = False) -> bool:
    """Whether a clean-up file is also searched by thumbnail: nothing found by checksum or ID, and
    the hashes found nothing or are not to be trusted (a damaged stream garbles every region's), or
    found only other pictures (``deeper``: the search further down, asked when none of the first
    candidates is the same picture). Why the last: a band in the *kept* copy spoils its hashes, not
    the copy's, so the copy's own hashes find other pictures and never it (an unnamed copy of a
    retina crop found two other crops, not its kept JPEG 2000 with a grey band across it, even
    20 deep); its rows above the band agree, which is what the thumbnail search looks for."""
    return not any(c.reason in ("checksum", "id") or "id" in c.reason for c in merged) and (
        not merged or deeper or getattr(analysis, "status", "") == "damaged")


def add_thumbnail_candidates(merged: list, found) -> list:
    """``merged`` and, after it, the thumbnail search's finds (``[(key, rows, diff)]``) not in it."""
    seen = {c.key for c in merged}
    out = list(merged)
    for key, _rows, _diff in found:
        if key not in seen:
            seen.add(key)
            out.append(Candidate(key, "thumbnail", None))
    return out


@dataclass(frozen=True)
class ThumbnailQuery:
    """A clean-up file as the thumbnail search compares it: its grey thumbnail in stored scan order
    (float32), its log aspect ratio, and the turn from the displayed frame to the stored one."""
    rows: np.ndarray
    aspect: float
    stored: tuple

    def aspect_windows(self, tol: float) -> list[tuple[float, float]]:
        """The ranges of kept log aspect ratios some turn fits: as is, and turned a quarter
        (a superset filter, e.g. for a database to read fewer thumbnails; ``thumbnail_hits`` checks
        every turn exactly)."""
        return [(self.aspect - tol, self.aspect + tol), (-self.aspect - tol, -self.aspect + tol)]


def thumbnail_query(analysis, T=None) -> ThumbnailQuery | None:
    """The clean-up file's side of the thumbnail search, or None when it is not searched: no
    thumbnail or size, or a thumbnail flatter than ``thumb_min_std`` (blank pages would all agree)."""
    T = T or _thresholds.current()
    q = analysis.thumb_array() if hasattr(analysis, "thumb_array") else None
    if q is None or not (analysis.width and analysis.height) or q.std() < T.thumb_min_std:
        return None
    stored = inverse(EXIF_TO_DIHEDRAL.get(analysis.exif_orientation, (0, False)))
    return ThumbnailQuery(dihedral(q.astype(np.float32), *stored), float(np.log(analysis.width / analysis.height)), stored)


def thumbnail_hits(q: ThumbnailQuery, stack: np.ndarray, owners: np.ndarray, aspects: np.ndarray, best: dict,
                   T=None) -> None:
    """Score the kept thumbnails ``stack`` (side, side, n; their owners and log aspect ratios) against
    ``q``, keeping in ``best`` {owner: (-rows, mean diff)} the best key of each. ``rows``: how many
    leading rows (in the clean-up's stored order) agree within ``thumb_row_diff`` grey levels, at
    least ``thumb_min_rows``, under a turn that fits the aspect ratio; ``diff``: their mean difference.

    Why: the fallback when the hashes find nothing. A bit flip garbles everything after it in scan
    order (the hashes of every region are garbage), but the rows above it are intact; a smooth
    gradient has pHash signs that are noise, but its shading agrees row by row. Blocks of kept
    thumbnails may come one after another (``best`` merges them), so nothing holds all of them."""
    T = T or _thresholds.current()
    if not len(owners):
        return
    for t in DIHEDRAL:
        fit = aspect_fits(q.aspect, aspects, t, T.aspect_tol)
        if not fit.any():
            continue
        cs = dihedral(dihedral(stack[:, :, fit], *t), *q.stored).astype(np.float32)
        d = np.abs(cs - q.rows[:, :, None]).mean(axis=1)                  # (rows, candidates)
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


def rank_thumbnail_hits(best: dict, limit: int) -> list:
    """[(owner, rows, diff)] best first: most agreeing rows, then the smallest mean difference, then
    the owner (the order of insertion in the in-memory index, the asset id in the database)."""
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))[:limit]
    return [(own, -k[0], round(k[1], 3)) for own, k in ranked]



def shared_id(found_by: str | None) -> bool | None:
    """Whether a pair shares an ID in its names, from how its candidate was found: the search looked
    IDs up with the configured patterns (``index_ids``), which the analyses' own ``ids`` (the engine's
    default patterns) may not match; None when not known (a candidate stored before ``found_by``: the
    engine then compares the analyses' IDs). Why: the pipeline let the engine compare the default IDs,
    so with custom patterns a damaged copy was "named after" a kept copy the configured patterns did
    not pair, and the command line and the app judged one pair apart."""
    return ("id" in found_by) if found_by else None


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


_MASKS: dict = {}


def _masks(r: int) -> np.ndarray:
    if r not in _MASKS:
        _MASKS[r] = _flip_masks(CHUNK_BITS, r)
    return _MASKS[r]


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

    def search(self, queries, radius: int, chunk_radius: int | None = None):
        """queries: iterable of 64-bit ints. Returns (query_index, owner, distance) arrays for all
        stored hashes within ``radius``: every one of them, since the bands are probed at
        `band_radii(radius)` (``chunk_radius`` probes every band at that radius instead, which
        guarantees 4*(chunk_radius+1)-1 bits)."""
        if self._sorted is None:
            self.build()
        qs = np.array(list(queries), dtype=np.uint64)
        if len(qs) == 0 or len(self.hashes) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        radii = band_radii(radius) if chunk_radius is None else (chunk_radius,) * N_CHUNKS
        found_q, found_e = [], []
        for c, (vals, order) in enumerate(self._sorted):
            if radii[c] < 0:
                continue
            masks = _masks(radii[c]).astype(np.uint16)
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
        return index_ids(analysis, self.patterns if self.custom_patterns else None)

    def add(self, key, analysis):
        n = len(self.keys)
        self.keys.append(key)
        for i in self._ids(analysis):
            self.by_id.setdefault(i, []).append(n)
        if getattr(analysis, "sha256", ""):
            self.by_sha256.setdefault(analysis.sha256, []).append(n)
        if not analysis.readable:
            return
        kept = stored_thumbnail(analysis)
        if kept is not None:
            self._thumb_owner.append(n)
            self._thumb_list.append(kept[0])
            self._thumb_aspect.append(kept[1])
            self._thumb_stack = None
        whole, regions = stored_hashes(analysis)
        if whole is not None:
            self.whole.add(whole, n)
        for h in regions:
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
        wq, rq = query_hashes(analysis)
        whole: dict[int, int] = {}
        region: dict[int, int] = {}
        for hashes, mih, radius, hits in ((wq, self.whole, self.radius_whole, whole),
                                          (rq, self.region, self.radius_region, region)):
            if hashes and len(mih):
                _, owners, d = mih.search(hashes, radius)
                for own, dist in zip(owners.tolist(), d.tolist()):
                    if own not in hits or dist < hits[own]:
                        hits[own] = dist
        return rank_content(whole, region, limit)

    def deeper_candidates(self, analysis, first: list) -> list:
        """Candidates after ``first`` (what ``candidates`` gave), up to ``deeper_limit`` in all.

        Why: for the callers to verify when none of the first is the same picture. Crops of one
        photograph can crowd the first places, and a canonical whose whole-picture hash a damage
        band has spoiled is found by one region hash only, a few places further down, or by the
        thumbnail search alone (``thumbnail_wanted``)."""
        keys = {c.key for c in first}
        return [c for c in self.candidates(analysis, limit=_thresholds.current().deeper_limit, deeper=True)
                if c.key not in keys]

    def thumbnail_search(self, analysis, limit: int | None = None) -> list:
        """[(owner, rows, diff)] best first: ``thumbnail_hits`` over every kept thumbnail, ranked
        by ``rank_thumbnail_hits``. Brute force, so it is only run for the files
        ``thumbnail_wanted`` names (the database streams its thumbnails through the same two)."""
        T = _thresholds.current()
        q = thumbnail_query(analysis, T)
        if q is None or not self._thumb_list:
            return []
        if self._thumb_stack is None:
            self._thumb_stack = np.stack(self._thumb_list, axis=2)        # (side, side, n): turns act on axes 0, 1
        best: dict = {}
        thumbnail_hits(q, self._thumb_stack, np.asarray(self._thumb_owner), np.asarray(self._thumb_aspect), best, T)
        return rank_thumbnail_hits(best, T.thumb_limit if limit is None else limit)

    def candidates(self, analysis, limit: int = 5, deeper: bool = False) -> list:
        """Checksum matches first, then shared IDs, then the ``limit`` nearest by content, then the
        thumbnail search's finds where ``thumbnail_wanted`` (``deeper``: asked by ``deeper_candidates``)."""
        by_checksum = self.by_sha256.get(getattr(analysis, "sha256", "") or None, [])
        by_id = [n for i in self._ids(analysis) for n in self.by_id.get(i, [])]
        merged = merge_candidates(by_checksum, by_id, self.content_search(analysis, limit=limit))
        if thumbnail_wanted(analysis, merged, deeper):
            merged = add_thumbnail_candidates(merged, self.thumbnail_search(analysis))
        for c in merged:
            c.key = self.keys[c.key]
        return merged

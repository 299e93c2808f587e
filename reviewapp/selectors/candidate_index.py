"""Searching the shared candidate index (models/candidate_index.py) for a batch of clean-up files.

The same candidates as matching.CandidateIndex over the same canonical analyses, ranked the same
way (matching.index.rank_content / merge_candidates), without loading the index into the process:
per batch, one SQL statement per hash kind probes the four band B-trees (multi-index hashing, at
matching.index.band_radii of the configured radius, which guarantees that radius exactly) and
checks the exact distance in the database; checksums and IDs are plain indexed lookups. A file
the hashes cannot place (a damaged stream, a smooth gradient) is searched by thumbnail, as
matching.CandidateIndex.candidates searches it, over the kept thumbnails read in blocks.

The statement is the same on PostgreSQL and SQLite except for how the query hashes and masks are
passed in (`unnest` of arrays, `json_each` of JSON text) and how XOR is spelled; `doppel_hamming` is a SQL function on
PostgreSQL (migration 0009) and a Python function on SQLite (reviewapp.signals).
"""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q

from matching.fingerprint import THUMB_SIDE
from matching.index import (
    BAND_MASK,
    CHUNK_BITS,
    add_thumbnail_candidates,
    band_masks,
    index_ids,
    merge_candidates,
    query_hashes,
    rank_content,
    rank_thumbnail_hits,
    signed64,
    thumbnail_hits,
    thumbnail_query,
    thumbnail_wanted,
)
from matching.thresholds import current as current_thresholds
from matching.version import ENGINE_VERSION

from ..models import Asset, CandidateIndexEntry, CandidateIndexHash, CandidateIndexId, Source, Takedown

HASH_TABLE = CandidateIndexHash._meta.db_table


def _queries_relation(vendor: str) -> str:
    """The query hashes as a relation q(f, h): one array per column on PostgreSQL, one JSON text
    of [file, hash] pairs on SQLite."""
    if vendor == "postgresql":
        return "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS u(f, h)"
    return "SELECT json_extract(value, '$[0]') AS f, json_extract(value, '$[1]') AS h FROM json_each(%s)"


def _masks_relation(vendor: str) -> str:
    if vendor == "postgresql":
        return "unnest(%s::integer[]) AS m(m)"
    return "(SELECT value AS m FROM json_each(%s)) AS m"


def _xor(vendor: str, a: str, b: str) -> str:
    """a XOR b in SQL (SQLite has no XOR operator; for these non-negative band values
    (a | b) - (a & b) is the same)."""
    return f"({a} # {b})" if vendor == "postgresql" else f"(({a} | {b}) - ({a} & {b}))"


def band_search_sql(vendor: str, bands) -> str:
    """One statement for one hash kind: the query hashes, and per band a join of (query hash,
    flip mask) pairs with that band's B-tree, probing the query's band value XOR the mask; the
    exact distance to the query hash is checked on each row found, the nearest per (file,
    canonical asset) kept. The probes are expanded by the database from the few masks
    (matching.index.band_masks): sending every probe value made the statement 30 times larger and
    its parameters cost more to pass than the search. CROSS JOIN makes SQLite loop over the
    queries and masks and look each probe up in the B-tree (with a plain JOIN it scans the index
    instead); PostgreSQL plans it as nested loops over index-only scans."""
    branches = []
    for b in bands:
        value = f"((q.h >> {CHUNK_BITS * b}) & {BAND_MASK})"
        probe = _xor(vendor, value if vendor != "postgresql" else f"{value}::integer", "m.m")
        branches.append(
            f"SELECT q.f AS f, h.asset_id AS asset_id, doppel_hamming(h.hash, q.h) AS d "
            f"FROM q CROSS JOIN {_masks_relation(vendor)} CROSS JOIN {HASH_TABLE} h "
            f"WHERE h.kind = %s AND h.band{b} = {probe} AND doppel_hamming(h.hash, q.h) <= %s")
    return (f"WITH q AS ({_queries_relation(vendor)}) "
            f"SELECT f, asset_id, MIN(d) FROM ({' UNION ALL '.join(branches)}) found GROUP BY f, asset_id")


def hash_search(queries: dict, *, kind: int, radius: int) -> dict:
    """{file key: [64-bit hashes]} -> {file key: {canonical asset id: nearest distance}} for every
    indexed hash of ``kind`` within ``radius`` bits of one of the file's hashes."""
    pairs = sorted({(int(f), signed64(h)) for f, hashes in queries.items() for h in hashes})
    out: dict = defaultdict(dict)
    if not pairs:
        return out
    vendor = connection.vendor
    masks = band_masks(radius)
    if vendor == "postgresql":
        params: list = [[f for f, _ in pairs], [h for _, h in pairs]]
    else:
        params = [json.dumps(pairs)]
    for _, band in masks:
        params += [band if vendor == "postgresql" else json.dumps(band), int(kind), int(radius)]
    with connection.cursor() as cur:
        cur.execute(band_search_sql(vendor, [b for b, _ in masks]), params)
        for f, asset_id, d in cur.fetchall():
            out[f][asset_id] = int(d)
    return out


INDEXED_STATES = [Asset.State.FINGERPRINTED, Asset.State.UNREADABLE]


def indexable_assets():
    """Canonical assets the index must hold: analysed by this engine, fingerprinted or unreadable."""
    return (Asset.objects.filter(source__role=Source.Role.CANONICAL, engine_version=ENGINE_VERSION,
                                 state__in=INDEXED_STATES).exclude(analysis=None))


def live_assets():
    """The canonical assets the index may offer now: canonical, analysed by this engine,
    fingerprinted or unreadable, indexed from their current analysis, and not removed by a legal
    takedown (one back at its key unchanged kept its analysis, and was offered as a kept copy)."""
    return (indexable_assets().filter(index_entry__analysed_at=F("analysed_at"))
            .exclude(Exists(Takedown.objects.filter(asset=OuterRef("pk")))))


def _live(asset_ids) -> set:
    """Of these canonical asset ids, those the index may offer now (``live_assets``)."""
    return set(live_assets().filter(pk__in=list(asset_ids)).values_list("pk", flat=True))


def candidates_for(analyses: dict, *, limit: int = 5, deeper: bool = False) -> dict:
    """{clean-up asset id: FileAnalysis} -> {clean-up asset id: [matching.Candidate]} with keys
    = canonical asset ids: checksum matches first, then shared IDs, then the ``limit`` nearest
    by content, as matching.CandidateIndex.candidates gives them (``deeper``: the search further
    down, where the thumbnail search runs too: matching.index.thumbnail_wanted)."""
    patterns = settings.ID_PATTERNS
    ids = {f: index_ids(fa, patterns) for f, fa in analyses.items()}
    sums = {f: fa.sha256 for f, fa in analyses.items() if getattr(fa, "sha256", "")}
    qh = {f: query_hashes(fa) for f, fa in analyses.items()}

    by_checksum = defaultdict(list)
    for pk, checksum in (CandidateIndexEntry.objects.filter(checksum__in=set(sums.values()))
                         .order_by("asset_id").values_list("asset_id", "checksum")):
        by_checksum[checksum].append(pk)
    by_value = defaultdict(list)
    wanted = {v for vs in ids.values() for v in vs}
    for pk, value in CandidateIndexId.objects.filter(value__in=wanted).order_by("asset_id").values_list("asset_id", "value"):
        by_value[value].append(pk)
    whole = hash_search({f: w for f, (w, _) in qh.items() if w}, kind=CandidateIndexHash.Kind.WHOLE,
                        radius=current_thresholds().hash_radius_whole)
    region = hash_search({f: r for f, (_, r) in qh.items() if r}, kind=CandidateIndexHash.Kind.REGION,
                         radius=current_thresholds().hash_radius_region)
    found = ({pk for pks in by_checksum.values() for pk in pks} | {pk for pks in by_value.values() for pk in pks}
             | {pk for hits in whole.values() for pk in hits} | {pk for hits in region.values() for pk in hits})
    live = _live(found) if found else set()

    out = {}
    for f in analyses:
        cs = [pk for pk in by_checksum.get(sums.get(f), []) if pk in live]
        by_id = [pk for v in ids[f] for pk in by_value.get(v, []) if pk in live]
        content = rank_content({pk: d for pk, d in whole.get(f, {}).items() if pk in live},
                               {pk: d for pk, d in region.get(f, {}).items() if pk in live}, limit)
        out[f] = merge_candidates(cs, by_id, content)
    wanted = {f: analyses[f] for f in analyses if thumbnail_wanted(analyses[f], out[f], deeper)}
    for f, found in thumbnail_search(wanted).items():
        out[f] = add_thumbnail_candidates(out[f], found)
    return out


THUMB_BLOCK = 4096   # kept thumbnails scored at once: 2.4 MB of them, whatever the store holds


def _windows(intervals) -> list:
    """Overlapping [lo, hi] ranges merged."""
    merged: list = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def thumbnail_search(analyses: dict, *, limit: int | None = None) -> dict:
    """{clean-up file key: FileAnalysis} -> {file key: [(canonical asset id, rows, diff)]}: the
    fallback search by thumbnail (matching.index.thumbnail_hits, ranked by rank_thumbnail_hits, as
    the in-memory index does), in one pass for the whole batch over the indexed kept thumbnails whose
    aspect ratio some turn of one of its files fits. The rows are streamed and scored ``THUMB_BLOCK``
    at a time, so a worker's memory stays flat however large the canonical store grows; the pass
    is a scan of those rows, which is why only the files the hashes cannot place are searched."""
    T = current_thresholds()
    queries = {f: q for f, fa in analyses.items() if (q := thumbnail_query(fa, T)) is not None}
    if not queries:
        return {}
    fits = Q()
    for lo, hi in _windows(w for q in queries.values() for w in q.aspect_windows(T.aspect_tol)):
        fits |= Q(aspect__gte=lo - 1e-9, aspect__lte=hi + 1e-9)   # the exact test is thumbnail_hits'
    # only live assets are read (the filter in the scan, not an IN list of every owner with a few
    # agreeing rows afterwards: a sky's top rows agree with thousands of kept thumbnails)
    rows = (CandidateIndexEntry.objects.filter(fits, thumb__isnull=False, asset_id__in=live_assets().values("pk"))
            .order_by("asset_id").values_list("asset_id", "aspect", "thumb").iterator(chunk_size=THUMB_BLOCK))
    best: dict = {f: {} for f in queries}
    block: list = []

    def score(block):
        owners = np.fromiter((pk for pk, _, _ in block), np.int64, len(block))
        aspects = np.fromiter((a for _, a, _ in block), np.float64, len(block))
        stack = np.stack([np.frombuffer(bytes(t), np.uint8).reshape(THUMB_SIDE, THUMB_SIDE) for _, _, t in block], axis=2)
        for f, q in queries.items():
            thumbnail_hits(q, stack, owners, aspects, best[f], T)

    for row in rows:
        block.append(row)
        if len(block) == THUMB_BLOCK:
            score(block)
            block = []
    if block:
        score(block)
    limit = T.thumb_limit if limit is None else limit
    return {f: rank_thumbnail_hits(hits, limit) for f, hits in best.items()}

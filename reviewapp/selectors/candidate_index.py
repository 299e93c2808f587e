"""Searching the shared candidate index (models/candidate_index.py) for a batch of clean-up files.

The same candidates as matching.CandidateIndex over the same canonical analyses, ranked the same
way (matching.index.rank_content / merge_candidates), without loading the index into the process:
per batch, one SQL statement per hash kind probes the four band B-trees (multi-index hashing, at
matching.index.band_radii of the configured radius, which guarantees that radius exactly) and
checks the exact distance in the database; checksums and IDs are plain indexed lookups.

The statement is the same on PostgreSQL and SQLite except for how the probe list is passed in
(`unnest` of arrays, `json_each` of one JSON text); `doppel_hamming` is a SQL function on
PostgreSQL (migration 0009) and a Python function on SQLite (reviewapp.signals).
"""
from __future__ import annotations

import json
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import F

from matching.index import band_probes, index_ids, merge_candidates, query_hashes, rank_content, signed64
from matching.thresholds import current as current_thresholds
from matching.version import ENGINE_VERSION

from ..models import Asset, CandidateIndexEntry, CandidateIndexHash, CandidateIndexId, Source

HASH_TABLE = CandidateIndexHash._meta.db_table


def _probe_relation(vendor: str) -> str:
    if vendor == "postgresql":
        return "unnest(%s::bigint[], %s::integer[], %s::bigint[]) AS p(f, v, q)"
    return ("(SELECT json_extract(value, '$[0]') AS f, json_extract(value, '$[1]') AS v, "
            "json_extract(value, '$[2]') AS q FROM json_each(%s)) AS p")


def _probe_params(vendor: str, probes: list[tuple[int, int, int]]) -> list:
    if vendor == "postgresql":
        return [[p[0] for p in probes], [p[1] for p in probes], [p[2] for p in probes]]
    return [json.dumps(probes)]


def band_search_sql(vendor: str, bands) -> str:
    """One statement for one hash kind: per band a join of the probe list with that band's
    B-tree, the exact distance to the probing hash checked on each row found, the nearest per
    (file, canonical asset) kept. CROSS JOIN makes SQLite loop over the probes and look each up
    in the B-tree (with a plain JOIN it scans the index instead); PostgreSQL plans it as a join."""
    branches = [
        f"SELECT p.f AS f, h.asset_id AS asset_id, doppel_hamming(h.hash, p.q) AS d "
        f"FROM {_probe_relation(vendor)} CROSS JOIN {HASH_TABLE} h "
        f"WHERE h.kind = %s AND h.band{b} = p.v AND doppel_hamming(h.hash, p.q) <= %s"
        for b in bands]
    return f"SELECT f, asset_id, MIN(d) FROM ({' UNION ALL '.join(branches)}) found GROUP BY f, asset_id"


def hash_search(queries: dict, *, kind: int, radius: int) -> dict:
    """{file key: [64-bit hashes]} -> {file key: {canonical asset id: nearest distance}} for every
    indexed hash of ``kind`` within ``radius`` bits of one of the file's hashes."""
    per_band = defaultdict(set)
    for f, hashes in queries.items():
        for h in hashes:
            q = signed64(h)
            for band, value in band_probes(h, radius):
                per_band[band].add((int(f), value, q))
    out: dict = defaultdict(dict)
    if not per_band:
        return out
    vendor = connection.vendor
    bands = sorted(per_band)
    params = []
    for b in bands:
        params += _probe_params(vendor, sorted(per_band[b])) + [int(kind), int(radius)]
    with connection.cursor() as cur:
        cur.execute(band_search_sql(vendor, bands), params)
        for f, asset_id, d in cur.fetchall():
            out[f][asset_id] = int(d)
    return out


INDEXED_STATES = [Asset.State.FINGERPRINTED, Asset.State.UNREADABLE]


def indexable_assets():
    """Canonical assets the index must hold: analysed by this engine, fingerprinted or unreadable."""
    return (Asset.objects.filter(source__role=Source.Role.CANONICAL, engine_version=ENGINE_VERSION,
                                 state__in=INDEXED_STATES).exclude(analysis=None))


def _live(asset_ids) -> set:
    """Of these canonical asset ids, those the index may offer now: canonical, analysed by this
    engine, fingerprinted or unreadable, and indexed from their current analysis."""
    return set(indexable_assets().filter(pk__in=list(asset_ids), index_entry__analysed_at=F("analysed_at"))
               .values_list("pk", flat=True))


def candidates_for(analyses: dict, *, limit: int = 5) -> dict:
    """{clean-up asset id: FileAnalysis} -> {clean-up asset id: [matching.Candidate]} with keys
    = canonical asset ids: checksum matches first, then shared IDs, then the ``limit`` nearest
    by content, as matching.CandidateIndex.candidates gives them."""
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
    return out

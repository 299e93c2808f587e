"""PROTOTYPE, not wired into pairing: multi-index hashing of the whole-picture fingerprint in SQL.

Measured by bench/bench_index.py against the numpy popcount brute force; the `engine2` work owns
the real shared candidate index (issue #14 items 1-2). This module exists so that those numbers
come from running code, and it has no callers in the application.

Each 64-bit hash is cut into BANDS bands of 16 bits, one B-tree index per band. By the pigeonhole
principle, a stored hash within Hamming distance r of a query differs from it by at most
floor(r / BANDS) bits in at least one band, so probing, in every band, every value within
BAND_RADIUS bits of the query's band finds every hash within GUARANTEED_RADIUS =
BANDS * (BAND_RADIUS + 1) - 1 bits (11 for 4 bands and band radius 2). The exact distance is then
checked in SQL, so only true hits leave the database.

Plain SQL that PostgreSQL runs (`bit_count` needs PostgreSQL 14+); the table lives outside the
Django models on purpose while it is a prototype (no migration).
"""
from __future__ import annotations

from itertools import combinations

BANDS = 4
BAND_BITS = 16
BAND_RADIUS = 2
GUARANTEED_RADIUS = BANDS * (BAND_RADIUS + 1) - 1
TABLE = "doppel_candidate_index_prototype"


def signed(h: int) -> int:
    """A 64-bit hash as PostgreSQL's signed bigint."""
    h &= (1 << 64) - 1
    return h - (1 << 64) if h >= 1 << 63 else h


def bands(h: int) -> list[int]:
    h &= (1 << 64) - 1
    return [(h >> (BAND_BITS * i)) & ((1 << BAND_BITS) - 1) for i in range(BANDS)]


def _neighbourhood(value: int, radius: int) -> list[int]:
    out = [value]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            v = value
            for b in bits:
                v ^= 1 << b
            out.append(v)
    return out


def create_schema(cursor) -> None:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (asset_id bigint NOT NULL, hash bigint NOT NULL, "
                   f"checksum text NOT NULL DEFAULT '', "
                   + ", ".join(f"b{i} integer NOT NULL" for i in range(BANDS)) + ")")


def create_indexes(cursor) -> None:
    for i in range(BANDS):
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_b{i} ON {TABLE} (b{i})")
    cursor.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_checksum ON {TABLE} (checksum)")
    cursor.execute(f"ANALYZE {TABLE}")


def rows(asset_ids, hashes, checksums=None):
    """Rows for COPY/INSERT: (asset_id, hash, checksum, b0..b3)."""
    for n, (a, h) in enumerate(zip(asset_ids, hashes)):
        yield (int(a), signed(int(h)), checksums[n] if checksums else "", *bands(int(h)))


def query_sql() -> str:
    """One index probe per band (a UNION of B-tree lookups), then the exact distance to the
    nearest of the query hashes for the few rows found."""
    probes = " UNION ".join(f"SELECT asset_id, hash FROM {TABLE} WHERE b{i} = ANY(%(b{i})s)" for i in range(BANDS))
    return (f"WITH found AS ({probes}) "
            f"SELECT asset_id, min(bit_count((hash # q)::bit(64))) AS distance "
            f"FROM found, unnest(%(q)s::bigint[]) AS q GROUP BY asset_id "
            f"HAVING min(bit_count((hash # q)::bit(64))) <= %(radius)s ORDER BY distance, asset_id LIMIT %(limit)s")


def search(cursor, query_hashes, *, radius: int = GUARANTEED_RADIUS, limit: int = 50) -> list[tuple[int, int]]:
    """(asset_id, distance) of stored hashes within `radius` of any of `query_hashes` (e.g. the
    8 orientations of a clean-up file), nearest first. Complete for radius <= GUARANTEED_RADIUS."""
    if radius > GUARANTEED_RADIUS:
        raise ValueError(f"radius {radius} is beyond the {GUARANTEED_RADIUS} bits this index guarantees")
    qs = [int(h) for h in query_hashes if h]
    if not qs:
        return []
    params = {"q": [signed(h) for h in qs], "radius": radius, "limit": limit}
    for i in range(BANDS):
        params[f"b{i}"] = sorted({v for h in qs for v in _neighbourhood(bands(h)[i], BAND_RADIUS)})
    cursor.execute(query_sql(), params)
    return [(int(a), int(d)) for a, d in cursor.fetchall()]

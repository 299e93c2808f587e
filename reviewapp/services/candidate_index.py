"""Writing the shared candidate index (models/candidate_index.py): one canonical asset's rows,
derived from its stored analysis, replaced in the transaction that stores the analysis; and a sync
that indexes whatever a writer left unindexed (run when a pair job starts, and by the migration).

Reads (the search) are in selectors/candidate_index.py.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from matching.analysis import FileAnalysis
from matching.index import index_ids, signed64, split_bands, stored_hashes, stored_thumbnail

from ..models import Asset, CandidateIndexEntry, CandidateIndexHash, CandidateIndexId
from ..selectors.candidate_index import indexable_assets

log = logging.getLogger(__name__)

SYNC_CHUNK = 2000


def index_rows(asset_id: int, analysis: dict, *, patterns=None):
    """(checksum, [(kind, hash, band0..band3)], [id values]) of one stored analysis: what the
    in-memory matching.CandidateIndex.add would index, as rows."""
    fa = FileAnalysis.from_dict(analysis)
    whole, regions = stored_hashes(fa)
    hashes = []   # kinds as CandidateIndexHash.Kind: 0 whole picture, 1 region (plain ints: migrations use this)
    if whole is not None:
        hashes.append((0, signed64(whole), *split_bands(whole)))
    hashes.extend((1, signed64(h), *split_bands(h)) for h in regions)
    ids = sorted({v[:64] for v in index_ids(fa, patterns)})
    return (fa.sha256 or "")[:64], hashes, ids


def thumbnail_row(analysis: dict) -> tuple[bytes | None, float | None]:
    """(thumbnail bytes, log aspect ratio) of one stored analysis, as the in-memory
    matching.CandidateIndex.add keeps them for the fallback search; (None, None) when it keeps none."""
    kept = stored_thumbnail(FileAnalysis.from_dict(analysis))
    return (None, None) if kept is None else (kept[0].tobytes(), kept[1])


def _index_replace(rows) -> None:
    """Replace the index rows of the assets in ``rows`` [(asset id, analysis or None, analysed_at)]:
    a few statements for the whole chunk, not a few per asset."""
    ids = [pk for pk, _, _ in rows]
    CandidateIndexHash.objects.filter(asset_id__in=ids).delete()
    CandidateIndexId.objects.filter(asset_id__in=ids).delete()
    CandidateIndexEntry.objects.filter(asset_id__in=ids).delete()
    entries, hashes, values = [], [], []
    for pk, analysis, analysed_at in rows:
        if not analysis:
            continue
        try:
            checksum, hs, vs = index_rows(pk, analysis, patterns=settings.ID_PATTERNS)
            thumb, aspect = thumbnail_row(analysis)
        except Exception as exc:  # noqa: BLE001 - one odd stored analysis must not stop the others
            log.warning("canonical asset %s not indexed: %s", pk, exc)
            checksum, hs, vs, thumb, aspect = "", [], [], None, None
        entries.append(CandidateIndexEntry(asset_id=pk, checksum=checksum, analysed_at=analysed_at,
                                           thumb=thumb, aspect=aspect))
        hashes += [CandidateIndexHash(asset_id=pk, kind=k, hash=h, band0=b0, band1=b1, band2=b2, band3=b3)
                   for k, h, b0, b1, b2, b3 in hs]
        values += [CandidateIndexId(asset_id=pk, value=v) for v in vs]
    CandidateIndexEntry.objects.bulk_create(entries, batch_size=1000)
    CandidateIndexHash.objects.bulk_create(hashes, batch_size=1000)
    CandidateIndexId.objects.bulk_create(values, batch_size=1000)


def candidate_index_store(asset_id: int, analysis: dict | None, analysed_at) -> None:
    """Replace one asset's rows (call inside the transaction that stores its analysis)."""
    _index_replace([(asset_id, analysis, analysed_at)])


def candidate_index_sync() -> int:
    """Index the canonical assets whose rows are missing or older than their analysis (a writer
    other than analysis, an engine upgrade, a source that became canonical). Returns how many.
    Cheap when nothing is missing: one anti-join."""
    stale = (indexable_assets()
             .filter(Q(index_entry__isnull=True) | Q(index_entry__analysed_at__lt=F("analysed_at"))
                     | Q(index_entry__analysed_at__gt=F("analysed_at"))
                     | Q(index_entry__analysed_at__isnull=True, analysed_at__isnull=False))
             .order_by("pk").values_list("pk", flat=True))
    n = 0
    while True:
        ids = list(stale[:SYNC_CHUNK])
        if not ids:
            return n
        rows = list(Asset.objects.filter(pk__in=ids).values_list("pk", "analysis", "analysed_at"))
        with transaction.atomic():
            _index_replace(rows)
        n += len(rows)
        if len(ids) < SYNC_CHUNK:
            return n


def hamming_sql_function_create(conn=None) -> None:
    """`doppel_hamming(a, b)`: the number of differing bits of two bigints, in SQL. PostgreSQL
    gets an inlinable SQL function (bit_count needs 14+); SQLite a Python function registered on
    each connection (reviewapp.signals)."""
    conn = conn or connection
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("CREATE OR REPLACE FUNCTION doppel_hamming(a bigint, b bigint) RETURNS integer "
                        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT bit_count((a # b)::bit(64))::integer $$")


_MASK64 = (1 << 64) - 1


def hamming(a, b) -> int | None:
    if a is None or b is None:
        return None
    return ((int(a) ^ int(b)) & _MASK64).bit_count()

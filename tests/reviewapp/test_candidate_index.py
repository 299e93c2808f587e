"""The shared candidate index in the database (services and selectors/candidate_index.py) offers
the same candidates as the in-memory matching.CandidateIndex over the same canonical analyses,
finds every hash within the radius the search guarantees (the configured radius) and nothing
beyond it, on PostgreSQL and on SQLite (whichever the test database is; CI runs PostgreSQL)."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

import matching
from matching.index import CandidateIndex
from matching.thresholds import THRESHOLDS
from reviewapp.models import Asset, CandidateIndexEntry, CandidateIndexHash, Source
from reviewapp.selectors.candidate_index import candidates_for, hash_search
from reviewapp.services.candidate_index import candidate_index_store, candidate_index_sync, hamming

pytestmark = pytest.mark.django_db

RADIUS = THRESHOLDS.hash_radius_whole
REGION_RADIUS = THRESHOLDS.hash_radius_region


def flip(h, bits):
    for b in bits:
        h ^= 1 << b
    return h


def spread(rng, h, d):
    """h with d bits flipped, spread evenly over the 4 bands: the neighbour a band probe misses first."""
    per = [d // 4 + (1 if c < d % 4 else 0) for c in range(4)]
    return flip(h, [c * 16 + b for c in range(4) for b in rng.sample(range(16), per[c])])


def near(rng, h, d):
    return spread(rng, h, d) if rng.random() < 0.5 else flip(h, rng.sample(range(64), d))


def analysis(name, whole, regions=(), *, sha="", status="ok", turns=None):
    """A stored analysis with the given orientation-0 hashes (other turns random unless given)."""
    rng = random.Random(hash((name, whole)))
    rows = [[whole, *regions, *[None] * (4 - len(regions))]]
    for o in range(1, 8):
        rows.append(turns[o - 1] if turns else [rng.getrandbits(64)] + [None] * 4)
    hashes = [[f"{h:016x}" if h is not None else "" for h in row] for row in rows]
    return {"name": name, "status": status, "hashes": hashes, "sha256": sha, "ids": matching.extract_ids(name),
            "engine_version": matching.ENGINE_VERSION, "fingerprint_version": matching.FINGERPRINT_VERSION}


def make_asset(source, key, stored, *, state=Asset.State.FINGERPRINTED, engine_version=None):
    return Asset.objects.create(source=source, key=key, name=stored["name"], analysis=stored, checksum=stored.get("sha256", ""),
                                engine_version=engine_version or matching.ENGINE_VERSION, state=state,
                                analysed_at=timezone.now())


@pytest.fixture
def sources():
    return (Source.objects.create(name="canon", kind="local", role=Source.Role.CANONICAL, root="/nonexistent/c"),
            Source.objects.create(name="clean", kind="local", role=Source.Role.CLEANUP, root="/nonexistent/d"))


def generated_corpus(canon, clean, seed=11):
    """Canonical analyses clustered around a few real-looking centres (neighbours at every
    distance up to 16 bits, evenly spread over the bands and at random), with region hashes,
    shared IDs and byte-identical checksums; clean-up analyses near some of the centres, turned
    (the match is in another orientation), by region only, by ID only, by checksum only."""
    rng = random.Random(seed)
    centres = [rng.getrandbits(64) for _ in range(12)]
    regions = [[rng.getrandbits(64) for _ in range(4)] for _ in centres]
    n = 0
    for c, centre in enumerate(centres):
        for d in range(17):
            for _ in range(2):
                n += 1
                rs = [near(rng, r, rng.randrange(0, 12)) for r in regions[c]]
                ident = f"C{1000 + n}" if n % 7 else f"C{5000 + c}"   # some centres share an ID
                make_asset(canon, f"{n}/{ident}.tif", analysis(f"{ident}.tif", near(rng, centre, d), rs,
                                                           sha=f"{n:064x}"))
    for _ in range(400):   # unrelated canonical files
        n += 1
        make_asset(canon, f"other{n}.tif", analysis(f"other{n}.tif", rng.getrandbits(64),
                                                    [rng.getrandbits(64) for _ in range(4)], sha=f"{n:064x}"))
    make_asset(canon, "blank.tif", analysis("blank.tif", None, status="unreadable", sha="ab" * 32),
               state=Asset.State.UNREADABLE)
    make_asset(canon, "C0009999.tif", analysis("C0009999.tif", centres[0]), engine_version="0.9")  # old engine
    make_asset(canon, "gone.tif", analysis("gone.tif", centres[1]), state=Asset.State.VANISHED)
    make_asset(clean, "cleanup-neighbour.jpg", analysis("x.jpg", centres[2]))   # never a candidate
    queries = []
    for c, centre in enumerate(centres):
        turned = [[near(rng, centre, rng.randrange(0, 4))] + [None] * 4] + [[rng.getrandbits(64)] + [None] * 4] * 6
        queries.append(analysis(f"IMG_{c}a.jpg", rng.getrandbits(64), turns=turned))       # whole, turned
        queries.append(analysis(f"IMG_{c}b.jpg", near(rng, centre, rng.randrange(0, 3)),
                                [near(rng, r, 2) for r in regions[c]]))                   # whole and regions
        queries.append(analysis(f"IMG_{c}c.jpg", rng.getrandbits(64), [near(rng, regions[c][0], 5)]))  # region only
        queries.append(analysis(f"C{5000 + c}x.jpg", rng.getrandbits(64)))                 # by ID only
        queries.append(analysis(f"C{5000 + c}y.jpg", near(rng, centre, 1)))                 # by ID and content
    queries.append(analysis("copy.jpg", rng.getrandbits(64), sha=f"{3:064x}"))           # byte-identical
    queries.append(analysis("damaged.jpg", None, status="unreadable", sha="ab" * 32))      # unreadable, same bytes
    queries.append(analysis("blank-ish.jpg", centres[0], status="unreadable"))
    return {make_asset(clean, f"q{i}-{q['name']}", q).pk: matching.FileAnalysis.from_dict(q)
            for i, q in enumerate(queries)}


def in_memory_index():
    idx = CandidateIndex()
    for pk, stored in (Asset.objects.filter(source__role=Source.Role.CANONICAL, engine_version=matching.ENGINE_VERSION,
                                            state__in=[Asset.State.FINGERPRINTED, Asset.State.UNREADABLE])
                       .order_by("pk").values_list("pk", "analysis")):
        idx.add(pk, matching.FileAnalysis.from_dict(stored))
    return idx


def as_tuples(cands):
    return [(c.key, c.reason, c.distance) for c in cands]


def test_the_database_offers_the_candidates_the_in_memory_index_offers(sources):
    canon, clean = sources
    queries = generated_corpus(canon, clean)
    assert candidate_index_sync() == Asset.objects.filter(source=canon, state=Asset.State.FINGERPRINTED,
                                                          engine_version=matching.ENGINE_VERSION).count() + 1
    idx = in_memory_index()
    for limit in (5, 1000):
        got = candidates_for(queries, limit=limit)
        for pk, fa in queries.items():
            assert as_tuples(got[pk]) == as_tuples(idx.candidates(fa, limit=limit)), fa.name
    got = candidates_for(queries, limit=1000)
    reasons = {c.reason for cands in got.values() for c in cands}
    assert {"checksum", "id", "content", "id+content"} <= reasons
    # every whole-picture neighbour up to the radius, none beyond it, whichever turn matched
    by_name = {fa.name: pk for pk, fa in queries.items()}
    distances = sorted({c.distance for c in got[by_name["IMG_3b.jpg"]] if c.reason == "content"})
    assert distances[-1] <= RADIUS and RADIUS in distances


def test_a_damaged_copy_the_hashes_cannot_place_is_offered_by_thumbnail_as_the_in_memory_index_offers_it(
        sources, tmp_path, monkeypatch):
    """Real encoded pictures; the clean-up copies' hashes are garbage (cleared, their streams
    damaged), so only the rows above the damage can find their kept copies. Read in blocks of 2
    thumbnails, the database search merges the blocks into the ranking the in-memory index gives."""
    from mhelpers import garbled_from
    from PIL import Image

    from matching.analysis import analyse_file
    from reviewapp.selectors import candidate_index as selector
    from tests.images import photo, save

    canon, clean = sources
    kept = {}
    for i, (name, size) in enumerate([("astronaut", (400, 300)), ("coffee", (400, 300)), ("chelsea", (400, 300)),
                                      ("rocket", (300, 400)), ("camera", (400, 400)), ("brick", (400, 300))]):
        fa = analyse_file(save(photo(name, size), tmp_path / f"C000{i}000.tif"))
        kept[name] = make_asset(canon, fa.name, fa.to_dict())
    # two more kept copies of the astronaut, indexed, then gone and left to an older engine: never offered
    twins = [make_asset(canon, f"C000{i}000.tif", kept["astronaut"].analysis | {"name": f"C000{i}000.tif"}) for i in (7, 8)]
    candidate_index_sync()
    assert CandidateIndexEntry.objects.exclude(thumb=None).count() == 8
    Asset.objects.filter(pk=twins[0].pk).update(state=Asset.State.VANISHED)
    Asset.objects.filter(pk=twins[1].pk).update(engine_version="0.9")

    def damaged(name, im):
        fa = analyse_file(save(Image.fromarray(garbled_from(im, 0.35)), tmp_path / name))
        fa.hashes, fa.status = [], "damaged"
        return fa

    queries = {
        "IMG_0001.jpg": damaged("IMG_0001.jpg", photo("astronaut", (400, 300))),
        "IMG_0002.jpg": damaged("IMG_0002.jpg", photo("rocket", (300, 400)).rotate(90, expand=True)),  # turned
        "IMG_0003.jpg": damaged("IMG_0003.jpg", photo("camera", (200, 200))),                          # smaller
        "IMG_0004.jpg": damaged("IMG_0004.jpg", photo("grass", (400, 300))),                           # kept nowhere
        "C0001000b.jpg": damaged("C0001000b.jpg", photo("astronaut", (400, 300))),  # its ID finds a candidate
        "IMG_0005.jpg": damaged("IMG_0005.jpg", Image.new("RGB", (400, 300), (200, 200, 200))),       # blank
    }
    qs = {make_asset(clean, name, fa.to_dict()).pk: fa for name, fa in queries.items()}
    monkeypatch.setattr(selector, "THUMB_BLOCK", 2)
    got = candidates_for(qs)
    idx = in_memory_index()
    for pk, fa in qs.items():
        assert as_tuples(got[pk]) == as_tuples(idx.candidates(fa)), fa.name
    first = {fa.name: (got[pk][0].key, got[pk][0].reason) if got[pk] else None for pk, fa in qs.items()}
    assert first["IMG_0001.jpg"] == (kept["astronaut"].pk, "thumbnail")
    assert first["IMG_0002.jpg"] == (kept["rocket"].pk, "thumbnail")
    assert first["IMG_0003.jpg"] == (kept["camera"].pk, "thumbnail")
    assert first["IMG_0004.jpg"] is None and first["IMG_0005.jpg"] is None
    assert [c.reason for c in got[next(pk for pk, fa in qs.items() if fa.name == "C0001000b.jpg")]] == ["id"]
    # an undamaged copy whose hashes find only another picture (here: made to find the coffee's):
    # the deeper search adds the thumbnail's finds, as the in-memory index does
    fa = analyse_file(save(photo("chelsea", (400, 300)), tmp_path / "IMG_0006.jpg"))
    fa.hashes = kept["coffee"].analysis["hashes"]
    pk6 = make_asset(clean, "IMG_0006.jpg", fa.to_dict()).pk
    shallow, deep = candidates_for({pk6: fa})[pk6], candidates_for({pk6: fa}, deeper=True)[pk6]
    assert as_tuples(shallow) == as_tuples(idx.candidates(fa)) and "thumbnail" not in {c.reason for c in shallow}
    assert as_tuples(deep) == as_tuples(idx.candidates(fa, deeper=True))
    assert [(c.key, c.reason) for c in deep if c.reason == "thumbnail"][:1] == [(kept["chelsea"].pk, "thumbnail")]


def test_hash_search_finds_every_stored_hash_within_the_radius_and_none_beyond(sources):
    canon, _ = sources
    rng = random.Random(5)
    q = rng.getrandbits(64)
    n = 0
    for d in range(RADIUS + 5):
        for h in (spread(rng, q, d), flip(q, rng.sample(range(64), d))):
            n += 1
            make_asset(canon, f"n{n}.tif", analysis(f"n{n}.tif", h))
    for i in range(300):
        make_asset(canon, f"r{i}.tif", analysis(f"r{i}.tif", rng.getrandbits(64)))
    for a in Asset.objects.all():
        candidate_index_store(a.pk, a.analysis, a.analysed_at)
    for radius in (RADIUS, REGION_RADIUS, 12):
        got = hash_search({1: [q]}, kind=CandidateIndexHash.Kind.WHOLE, radius=radius)[1]
        stored = {a.pk: int(a.analysis["hashes"][0][0], 16) for a in Asset.objects.all()}
        want = {pk: bin(h ^ q).count("1") for pk, h in stored.items() if bin(h ^ q).count("1") <= radius}
        assert got == want
        assert sum(1 for d in want.values() if d == radius) >= 2   # the evenly spread one among them


def test_a_batch_finds_for_each_file_exactly_the_hashes_within_the_radius_whatever_the_sign_bit(sources):
    """The database expands each query hash's band probes itself (shifting a signed bigint):
    files in one batch, query hashes with the top bit set and clear, neighbours at exactly the
    radius (evenly spread over the bands, the hardest to find) and one bit beyond it."""
    canon, _ = sources
    rng = random.Random(21)
    queries = {1: [rng.getrandbits(63) | (1 << 63), rng.getrandbits(63)], 2: [rng.getrandbits(63)], 3: [1 << 63]}
    n = 0
    for hashes in queries.values():
        for q in hashes:
            for d in (0, 1, REGION_RADIUS, REGION_RADIUS + 1, RADIUS, RADIUS + 1, RADIUS + 2):
                for h in (spread(rng, q, d), flip(q, rng.sample(range(64), d))):
                    n += 1
                    make_asset(canon, f"n{n}.tif", analysis(f"n{n}.tif", h, [h]))
    for i in range(200):
        make_asset(canon, f"r{i}.tif", analysis(f"r{i}.tif", rng.getrandbits(64), [rng.getrandbits(64)]))
    candidate_index_sync()
    stored = {a.pk: int(a.analysis["hashes"][0][0], 16) for a in Asset.objects.all()}
    for kind, radius in ((CandidateIndexHash.Kind.WHOLE, RADIUS), (CandidateIndexHash.Kind.REGION, REGION_RADIUS)):
        got = hash_search(queries, kind=kind, radius=radius)
        for f, hashes in queries.items():
            nearest = {pk: min(hamming(h, q) for q in hashes) for pk, h in stored.items()}
            want = {pk: d for pk, d in nearest.items() if d <= radius}
            assert got[f] == want, (f, kind)
            assert radius in want.values() and radius + 1 in nearest.values()


def test_an_asset_analysed_again_is_offered_with_its_new_hashes_only_once_indexed_again(sources):
    canon, clean = sources
    rng = random.Random(8)
    old, new = rng.getrandbits(64), rng.getrandbits(64)
    a = make_asset(canon, "a.tif", analysis("a.tif", old))
    candidate_index_sync()
    q = {make_asset(clean, "q.jpg", analysis("q.jpg", new)).pk: None}
    q = {pk: matching.FileAnalysis.from_dict(Asset.objects.get(pk=pk).analysis) for pk in q}
    assert candidates_for(q)[next(iter(q))] == []
    Asset.objects.filter(pk=a.pk).update(analysis=analysis("a.tif", new), analysed_at=timezone.now() + timedelta(seconds=1))
    assert candidates_for(q)[next(iter(q))] == []      # the stale rows are not offered
    assert candidate_index_sync() == 1 and candidate_index_sync() == 0
    assert as_tuples(candidates_for(q)[next(iter(q))]) == [(a.pk, "content", 0)]


def test_a_canonical_source_turned_clean_up_is_not_offered(sources):
    canon, clean = sources
    h = random.Random(9).getrandbits(64)
    make_asset(canon, "a.tif", analysis("a.tif", h))
    candidate_index_sync()
    fa = matching.FileAnalysis.from_dict(analysis("q.jpg", h))
    qpk = make_asset(clean, "q.jpg", analysis("q.jpg", h)).pk
    assert len(candidates_for({qpk: fa})[qpk]) == 1
    Source.objects.filter(pk=canon.pk).update(role=Source.Role.CLEANUP)
    assert candidates_for({qpk: fa})[qpk] == []
    assert CandidateIndexEntry.objects.count() == 1


def test_the_distance_function_counts_differing_bits_of_signed_bigints():
    assert hamming(-1, 0) == 64 and hamming(5, 6) == 2 and hamming(None, 1) is None
    with connection.cursor() as cur:
        cur.execute("SELECT doppel_hamming(%s, %s), doppel_hamming(%s, %s)", [-1, 0, -(2**63), 2**63 - 1])
        assert cur.fetchone() == (64, 64)


def test_the_migration_gives_entries_indexed_before_thumbnails_theirs_from_the_stored_analysis(sources, tmp_path):
    """Migration 0012's backfill: no file is read, the thumbnail comes from the stored analysis;
    an unreadable kept copy keeps none (nothing to search by)."""
    from importlib import import_module

    from django.apps import apps

    from matching.analysis import analyse_file
    from tests.images import photo, save

    canon, _ = sources
    fa = analyse_file(save(photo("coffee", (400, 300)), tmp_path / "C0001000.tif"))
    kept = make_asset(canon, fa.name, fa.to_dict())
    make_asset(canon, "blank.tif", analysis("blank.tif", None, status="unreadable", sha="ab" * 32),
               state=Asset.State.UNREADABLE)
    candidate_index_sync()
    want = CandidateIndexEntry.objects.get(asset=kept)
    assert bytes(want.thumb) == fa.thumb_array().tobytes()
    CandidateIndexEntry.objects.update(thumb=None, aspect=None)    # as indexed before migration 0012
    import_module("reviewapp.migrations.0012_thumb11").backfill(apps, None)
    got = {e.asset_id: (bytes(e.thumb) if e.thumb is not None else None, e.aspect) for e in CandidateIndexEntry.objects.all()}
    assert got[kept.pk] == (bytes(want.thumb), pytest.approx(want.aspect))
    assert [v for pk, v in got.items() if pk != kept.pk] == [(None, None)]

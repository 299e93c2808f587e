"""The PostgreSQL multi-index-hashing prototype (not wired into pairing) finds exactly what a
brute-force scan finds within the radius it guarantees, and nothing beyond it."""
import random

import pytest
from django.db import connection

from reviewapp import candidate_index as ci
from tests.conftest import require_service

pytestmark = pytest.mark.django_db


def flip(h, bits):
    for b in bits:
        h ^= 1 << b
    return h


def test_search_matches_brute_force_within_the_guaranteed_radius():
    require_service(connection.vendor == "postgresql", "PostgreSQL test database (set CI=true or DATABASE_URL)")
    rng = random.Random(3)
    stored = [rng.getrandbits(64) for _ in range(3000)]
    query = [rng.getrandbits(64) for _ in range(8)]  # 8 orientations of one clean-up file
    # plant neighbours of every distance 0..14 around two of the orientations
    for o in (0, 5):
        for d in range(15):
            stored.append(flip(query[o], rng.sample(range(64), d)))
    with connection.cursor() as cur:
        ci.create_schema(cur)
        for row in ci.rows(range(len(stored)), stored):
            cur.execute(f"INSERT INTO {ci.TABLE} (asset_id, hash, checksum, b0, b1, b2, b3) VALUES (%s, %s, %s, %s, %s, %s, %s)", row)
        ci.create_indexes(cur)
        got = ci.search(cur, query, limit=10_000)
    truth = {}
    for i, h in enumerate(stored):
        d = min(bin(h ^ q).count("1") for q in query)
        if d <= ci.GUARANTEED_RADIUS:
            truth[i] = d
    assert ci.GUARANTEED_RADIUS == 11
    assert dict(got) == truth and len(truth) >= 24
    assert [d for _, d in got] == sorted(d for _, d in got)  # nearest first


def test_a_radius_beyond_the_guarantee_is_refused():
    with pytest.raises(ValueError, match="beyond the 11 bits"):
        ci.search(None, [1], radius=12)

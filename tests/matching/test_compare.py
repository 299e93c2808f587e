import numpy as np
import pytest

from matching.compare import compare_arrays
from matching.decode import DIHEDRAL, dihedral

from mhelpers import grey_band


@pytest.mark.parametrize("t", DIHEDRAL)
def test_orientation_found(photo, t):
    a = np.asarray(photo)
    r = compare_arrays(np.ascontiguousarray(dihedral(a, *t)), a)
    assert (r.rotation, r.flipped) == t
    assert r.diff_score < 0.01 and r.local_score < 0.03


def test_grey_band_masked_and_attributed(photo):
    a = np.asarray(photo)
    b = np.asarray(grey_band(photo, 0.5, 0.15))
    r = compare_arrays(b, a)
    assert r.band_a > 0.1 and r.band_b == 0
    assert r.diff_score < 0.01 and r.local_score < 0.05
    assert r.region_a["top"] < 0.5 < r.region_a["bottom"] and r.region_a["left"] == 0.0
    r2 = compare_arrays(a, b)
    assert r2.band_b > 0.1 and r2.band_a == 0


def test_aspect_mismatch_gives_none(photo):
    a = np.asarray(photo)
    assert compare_arrays(a[:, :100], a) is None

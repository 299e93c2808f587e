import numpy as np
import pytest
from PIL import Image

from matching.decode import DIHEDRAL, dihedral
from matching.fingerprint import fingerprints, flat_runs, hamming, phash_bits, grey


def test_phash_stable_under_resize_and_jpeg(photo):
    import io
    a = np.asarray(photo)
    buf = io.BytesIO()
    photo.resize((120, 90), Image.LANCZOS).save(buf, "JPEG", quality=60)
    b = np.asarray(Image.open(buf).convert("RGB"))
    assert hamming(phash_bits(grey(a)), phash_bits(grey(b))) <= 6


def test_unrelated_photos_far_apart(photo, photo2):
    assert hamming(phash_bits(grey(np.asarray(photo))), phash_bits(grey(np.asarray(photo2)))) > 16


@pytest.mark.parametrize("t", DIHEDRAL)
def test_dihedral_invariance(photo, t):
    """The 8 stored orientation hashes of a turned copy contain the original's identity hash."""
    a = np.asarray(photo)
    fa = fingerprints(a)
    fb = fingerprints(np.ascontiguousarray(dihedral(a, *t)))
    want = fa["hashes"][0]
    best = min(([hamming(x, y) for x, y in zip(hs, want)] for hs in fb["hashes"]), key=sum)
    assert best[0] == 0 and max(best) <= 3


def test_flat_detection(photo):
    assert not fingerprints(np.asarray(photo))["flat"]
    blank = np.full((100, 120, 3), 200, np.uint8)
    assert fingerprints(blank)["flat"]
    noise_free_gradient = np.tile(np.linspace(100, 110, 120).astype(np.uint8)[None, :, None], (100, 1, 3))
    assert fingerprints(noise_free_gradient)["flat"]


def test_flat_runs_find_grey_band(photo):
    a = np.asarray(photo).copy()
    a[100:140] = 128
    runs = flat_runs(a, axis=0)
    assert runs and runs[0][0] <= 101 and runs[0][1] >= 139

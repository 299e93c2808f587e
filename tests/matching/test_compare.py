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


def test_the_screen_lists_the_other_turns_that_fit_best_first_and_screens_a_given_turn_at_its_score(photo):
    a = np.asarray(photo)
    r = compare_arrays(a, a)
    assert (r.rotation, r.flipped) == (0, False)
    # a 320x240 picture: the turns that keep its aspect ratio, not the quarter turns
    assert [t for _, t in r.other_turns] and all(t[0] in (0, 180) and t != (0, False) for _, t in r.other_turns)
    assert [s for s, _ in r.other_turns] == sorted(s for s, _ in r.other_turns)
    score, turn = r.other_turns[0]
    given = compare_arrays(a, a, orientation=turn, orientation_score=score)
    assert given.turn == turn and given.orient_score == score and given.other_turns == ()


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


def _cells_by_definition(D, valid, edges, cols):
    """Per cell: the sum over trusted pixels and their count, one slice at a time."""
    S = np.zeros((len(edges) - 1, len(cols) - 1))
    C = np.zeros(S.shape, np.int64)
    for i in range(S.shape[0]):
        for k in range(S.shape[1]):
            v = valid[edges[i]:edges[i + 1], cols[k]:cols[k + 1]]
            S[i, k] = D[edges[i]:edges[i + 1], cols[k]:cols[k + 1]][v].sum(dtype=np.float64)
            C[i, k] = v.sum()
    return S, C


@pytest.mark.parametrize("shape", [(192, 256), (37, 11), (5, 6)])
def test_cell_sums_are_the_sums_over_trusted_pixels_of_each_cell(shape):
    from matching.compare import _cell_sums

    rng = np.random.default_rng(shape[0])
    D = rng.random(shape, dtype=np.float32)
    valid = rng.random(shape) > 0.4
    valid[: shape[0] // 3, : shape[1] // 2] = False          # a whole untrusted corner: empty cells
    edges = np.linspace(0, shape[0], min(32, shape[0]) + 1).astype(int)
    cols = np.linspace(0, shape[1], 9).astype(int)          # repeated columns when narrower than 8
    S, C = _cell_sums(D, valid, edges, cols)
    S0, C0 = _cells_by_definition(D, valid, edges, cols)
    assert np.array_equal(C, C0)
    np.testing.assert_allclose(S, S0, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("width", [256, 181, 8, 5])
def test_segment_stats_are_each_segments_std_and_mean_per_row(width):
    from matching.compare import _seg_stats

    g = np.random.default_rng(width).random((40, width), dtype=np.float32) * 255
    g[3] = 17.0                                              # an exactly flat row: std 0
    std, mean = _seg_stats(g)
    edges = np.linspace(0, width, 9).astype(int)
    for i in range(8):
        part = g[:, edges[i]:max(edges[i] + 1, edges[i + 1])].astype(np.float64)
        np.testing.assert_allclose(std[:, i], part.std(axis=1), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(mean[:, i], part.mean(axis=1), rtol=1e-6, atol=1e-4)
    assert (std[3] == 0).all()


def test_many_separate_flat_runs_are_a_pattern_not_damage_bands():
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(0)
    other = rng.normal(128, 20, (120, 160))
    one = other.copy()
    one[50:60] = 128.0                                   # one painted band: damage
    assert _band_rows(one, other, 0.0, T)[50:60].all()
    lines = other.copy()
    for y in range(10, 110, 20):
        lines[y:y + 4] = 255.0                          # five gaps of one flat colour: a pattern
    assert not _band_rows(lines, other, 0.0, T).any()

import numpy as np
import pytest

from matching.compare import compare_arrays
from matching.decode import DIHEDRAL, dihedral

from mhelpers import drifted, drifted_chroma, grey_band, jpeg_bytes, one_layout


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


def test_a_band_of_another_colour_among_flat_gaps_of_the_pictures_own_colour_is_still_a_band():
    # corpus_gen from screenshots, seed 933: a grey band over a line of text on white, in a kept
    # JPEG 2000 whose white rows were flat where the copy's rang: the gaps made a "pattern" and the
    # band was masked with them, not found (the copy "different")
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(0)
    other = np.clip(rng.normal(248, 8, (120, 160)), 0, 255)   # white paper, ringing
    one = other.copy()
    for y in (8, 30, 52, 100):
        one[y:y + 3] = 248.0                              # flat gaps of the paper's own colour
    one[70:82] = 128.0                                    # a grey band: another colour
    found = _band_rows(one, other, 0.0, T)
    assert found[70:82].all() and not found[:60].any()


def test_a_grey_band_in_a_small_jpeg_crop_of_brick_is_a_band_though_its_edges_ring_in_a_few_parts():
    # corpus_gen --hard --grid 5 --min-side 96, seed 457: a 10-row band in a 102 px JPEG of bricks
    # rang at 2.3-3.0 grey levels in a part or two of each row (the 8x8 blocks straddle its edges),
    # was not "flat", and the copy was "different" instead of cleanup_corrupt
    import io

    from PIL import Image
    from skimage import data
    brick = Image.fromarray(data.brick()[160:360, 40:240]).convert("RGB").resize((102, 102), Image.LANCZOS)
    banded = np.asarray(brick).copy()
    banded[57:67] = 128
    buf = io.BytesIO()
    Image.fromarray(banded).save(buf, "JPEG", quality=90)
    copy = np.asarray(Image.open(buf))
    r = compare_arrays(copy, np.asarray(brick))
    assert r.band_a > 0.05 and r.band_b == 0
    assert r.region_a["top"] <= 57 / 102 and 67 / 102 <= r.region_a["bottom"]


def test_a_copy_whose_stream_drifts_darker_from_one_block_on_is_damaged_from_there(photo):
    import io

    from PIL import Image
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(drifted(photo), 90))))
    r = compare_arrays(copy, np.asarray(photo), a_stream_check=True)
    assert r.stream_a and r.region_a is not None
    assert 48 / 240 <= r.region_a["top"] <= 64 / 240 and r.region_a["bottom"] == 1.0


@pytest.mark.parametrize("by", [17, -12])
def test_a_drift_that_runs_on_into_a_plain_part_both_pictures_share_is_damaged_from_where_it_began(photo, by):
    # seed 53005: a 128 px crop of a staircase, 17 levels lighter from its 96th row on, its bottom 12 rows
    # plain on both sides: those rows were masked as bands (flat, at levels apart), the rows left below
    # the drift's start were too few to carry it, and the copy was "different", not cleanup_corrupt
    import io

    from PIL import Image
    kept = np.asarray(photo).copy()
    kept[216:] = 115                             # the picture's own plain part, on both sides
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(drifted(Image.fromarray(kept), top=176, left=0, by=by), 90))))
    r = compare_arrays(copy, kept, a_stream_check=True)
    assert r.band_a > 0 and r.band_b > 0         # the plain rows, flat on each side at levels the drift moved apart
    assert r.stream_a and r.region_a is not None
    assert 160 / 240 <= r.region_a["top"] <= 184 / 240 and r.region_a["bottom"] == 1.0


def test_a_copy_whose_stream_is_recoloured_from_one_block_on_is_damaged_from_there(photo):
    # seed 801: a flip in a chroma DC the decoder recovered from; Cb -1.4 and Cr -1.75 from 85 % of
    # the way down to the end, the grey moved under a level: "different", not cleanup_corrupt
    import io

    from PIL import Image
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(drifted_chroma(photo), 90))))
    assert not compare_arrays(np.asarray(Image.open(io.BytesIO(jpeg_bytes(drifted(photo, by=-1), 90)))),
                              np.asarray(photo), a_stream_check=True).stream_a   # the grey alone: under its floor
    r = compare_arrays(copy, np.asarray(photo), a_stream_check=True)
    assert r.stream_a and r.region_a is not None
    assert 48 / 240 <= r.region_a["top"] <= 64 / 240 and r.region_a["bottom"] == 1.0


@pytest.mark.parametrize("q", [70, 90])
def test_a_shared_header_above_another_panel_of_one_layout_is_not_a_stream_shifted_from_there(q):
    # an attack's screenshots of one layout: the header agrees, the copy's panel below is grey where the
    # kept page is white, with its own lines of text: every part below was off one way, as a flipped DC
    # leaves it, and the copy was "garbled from one row on"; its detail there is not the kept page's
    import io

    from PIL import Image
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(one_layout("code"), q))))
    assert not compare_arrays(copy, np.asarray(one_layout("text")), a_stream_check=True).stream_a


def test_a_shifted_stream_keeps_the_pictures_detail_and_another_picture_there_does_not(photo):
    from dataclasses import replace

    from matching import thresholds
    from matching.compare import _keeps_detail
    from matching.fingerprint import grey
    T = thresholds.current()
    gb = grey(np.asarray(photo))
    damaged = np.zeros(gb.shape, bool)
    damaged[120:] = True
    seen = np.ones(gb.shape, bool)
    drift = grey(np.asarray(drifted(photo, top=120, left=0, by=-6)))
    assert _keeps_detail(damaged, drift, gb, seen, T) is damaged
    # a drift that takes the rest to white takes much of its detail with it, as the decoder clips
    clipped = grey(np.asarray(drifted(photo, top=120, left=0, by=230)))
    assert _keeps_detail(damaged, clipped, gb, seen, T) is damaged
    flat = gb.copy()
    flat[120:] = 200.0                       # a plain panel where the kept picture has detail
    assert _keeps_detail(damaged, flat, gb, seen, T) is None
    other = gb.copy()
    other[120:] = np.flipud(gb[:120]) - 6    # another picture's detail there
    assert _keeps_detail(damaged, other, gb, seen, T) is None
    # two plain parts: no detail to tell, the test stands aside
    plain_a, plain_b = drift.copy(), gb.copy()
    plain_a[120:], plain_b[120:] = 190.0, 200.0
    assert _keeps_detail(damaged, plain_a, plain_b, seen, T) is damaged
    assert _keeps_detail(None, drift, gb, seen, T) is None
    # the limit is the named one
    assert _keeps_detail(damaged, flat, gb, seen, replace(T, shift_detail_ratio=2.5)) is damaged


def test_a_tinted_panel_of_one_layout_is_not_a_stream_recoloured_from_there():
    # the attack's layout pages with the grey panel tinted (a cool white, cream): the chroma drift
    # found the panel "re-coloured from one row on" and the copy was cleanup_corrupt, named after the
    # kept page; the grey's detail there is not the kept page's
    import io

    from PIL import Image
    kept = np.asarray(one_layout("text"))
    for tint in ((235, 245, 255), (250, 244, 225)):
        page = np.asarray(one_layout("code")).copy()
        panel = (page[64:] == 242).all(axis=2)
        page[64:][panel] = tint
        copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(page), 85))))
        assert not compare_arrays(copy, kept, a_stream_check=True).stream_a


@pytest.mark.parametrize("cb, cr", [(-1.5, -1.75), (2.0, 0.0)])
def test_a_recolouring_of_the_whole_picture_or_of_one_part_is_not_a_drift(photo, cb, cr):
    import io

    from PIL import Image
    whole = drifted_chroma(photo, top=0, left=0, cb=cb, cr=cr)     # another colour balance: the top differs too
    part = np.asarray(photo).copy()
    part[120:, 200:] = np.asarray(drifted_chroma(photo, top=0, left=0, cb=cb, cr=cr))[120:, 200:]   # an edit
    for im in (whole, Image.fromarray(part)):
        copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(im, 90))))
        assert not compare_arrays(copy, np.asarray(photo), a_stream_check=True).stream_a


@pytest.mark.parametrize("by", [4, -4])
def test_a_drift_is_not_found_in_a_true_copy_or_in_an_edit_confined_to_one_part(photo, by):
    import io

    from PIL import Image
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=30)
    r = compare_arrays(np.asarray(Image.open(buf)), np.asarray(photo), a_stream_check=True)
    assert not r.stream_a
    edit = np.asarray(photo).astype(int)
    edit[120:, 200:] += by                      # the lower right part lifted or darkened: an edit
    buf = io.BytesIO()
    Image.fromarray(np.clip(edit, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    assert not compare_arrays(np.asarray(Image.open(buf)), np.asarray(photo), a_stream_check=True).stream_a


def test_a_band_with_a_speckled_row_or_two_is_one_band_not_a_pattern_of_runs():
    # a grey band in a lossy JPEG 2000 canonical of grass, 128 px: rows 69-77 flat but for two
    # speckled ones, three runs, more than max_bands: the band was the picture's "pattern" and the
    # copy "different" instead of match_corrupt
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(1)
    other = rng.normal(128, 20, (120, 160))
    one = other.copy()
    one[50:61] = 128.0
    one[54] = other[54]                                  # speckled rows inside the band
    one[57] = other[57]
    band = _band_rows(one, other, 0.0, T)
    assert band[50:61].all() and not band[:45].any() and not band[66:].any()


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_a_band_a_lossy_coder_rang_in_a_small_busy_picture_is_a_band(seed):
    # corpus_gen --hard, seed 13001: an 80x60 crop of a hillshade kept as an 8:1 JPEG 2000 with rows
    # filled at 128. The coder rang in the fill at 4-6 with its 10 px parts' means 10-11 apart (over the
    # speckled rule's 10), beside the copy's 15-90: no band, and the good copy "different"
    import io

    from PIL import Image

    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (30, 40)).astype(np.uint8)
    picture = np.asarray(Image.fromarray(small).resize((80, 60), Image.BICUBIC))
    banded = picture.copy()
    banded[34:45] = 128
    buf = io.BytesIO()
    Image.fromarray(banded).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    kept = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")).astype(np.float32)
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(picture), 90))).convert("L")).astype(np.float32)
    band = _band_rows(kept, copy, 0.0, T)
    assert band[36:43].all() and not band[:31].any() and not band[48:].any()
    # the picture itself, coded the same way, has no band where the copy has its texture
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    plain = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")).astype(np.float32)
    assert not _band_rows(plain, copy, 0.0, T).any()


@pytest.mark.parametrize("x0,y0,top", [(280, 20, 63), (300, 0, 42), (300, 20, 30), (300, 20, 33), (300, 20, 42)])
def test_a_grey_band_a_lossy_coder_rang_between_black_and_white_is_a_band(x0, y0, top):
    # corpus_gen --hard --grid 4 --min-side 64, seed 52004: a 100x82 crop of the horse silhouette kept as
    # an 8:1 JPEG 2000 with 6 rows filled at 128. The coder moved the fill's parts' means 10-12 levels apart
    # beside black and white (over the speckled rule's 10): no band, and the good copy "different". A
    # tenth of the fill's offset from the copy (speckled_band_ringing) is what such ringing may span
    import io

    from PIL import Image
    from skimage import data

    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    crop = Image.fromarray(data.horse().astype(np.uint8)[y0:y0 + 82, x0:x0 + 100] * 255).convert("RGB")
    banded = np.asarray(crop).copy()
    banded[top:top + 6] = 128
    buf = io.BytesIO()
    Image.fromarray(banded).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    kept = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L")).astype(np.float32)
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(crop, 90))).convert("L")).astype(np.float32)
    band = _band_rows(kept, copy, 0.0, T)
    assert band[top + 1:top + 5].all() and not band[:top - 4].any() and not band[top + 10:].any()
    # the copy has no band where the kept picture has the silhouette
    assert not _band_rows(copy, kept, 0.0, T)[top + 1:top + 5].any()


def test_a_flat_run_the_other_side_shows_a_few_rows_away_is_the_picture_moved_not_a_band():
    # corpus_gen --hard --grid 4 --min-side 96, seed 702: a phantom's crop reframed by 4 px. The kept
    # copy's flat run of columns at 51 met the copy's shifted edge, read as a band painted over the
    # copy's detail, and with it masked the rest agreed: a near miss was "kept copy is damaged"
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(3)
    picture = rng.normal(128, 20, (130, 100))
    picture[40:55] = 51.0                                # the picture's own flat run
    kept, copy = picture[10:110], picture[14:114] + rng.normal(0, 1, (100, 100))   # the copy 4 rows on
    assert not _band_rows(kept, copy, 0.0, T).any()
    painted = kept.copy()
    painted[60:72] = 200.0                               # a band of a level the copy shows nowhere near
    band = _band_rows(painted, copy, 0.0, T)
    assert band[60:72].all() and not band[:50].any()


def test_a_fill_at_nearly_the_pictures_own_level_is_a_band_of_the_kept_side_only():
    # a plain part of a picture (121, std 1.5) with 8 rows filled at 128 on one side, speckled to 0.5 as a
    # lossy coder keeps a fill: the rules that want texture or another colour on the other side miss it;
    # read as the kept side's, it is a band. Where both runs are flat, which was filled is not known:
    # never read on the copy's side, which would make the good copy the damaged one
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(5)
    rows = np.linspace(118, 124, 60)[:, None] + rng.normal(0, 1.5, (60, 64))
    filled = rows.copy()
    filled[24:32] = 128 + rng.normal(0, 0.5, (8, 64))
    band = _band_rows(filled, rows, 0.0, T, level_fill=True)
    assert band[25:31].all() and not band[:18].any() and not band[38:].any()
    assert not _band_rows(filled, rows, 0.0, T).any()                  # (not asked of the copy's side)
    # the picture's own rows at its level (no fill), and a whole side a few levels off (another exposure)
    assert not _band_rows(rows + rng.normal(0, 0.5, rows.shape), rows, 0.0, T, level_fill=True).any()
    assert not _band_rows(rows + 6.0, rows, 0.0, T, level_fill=True).any()


def test_single_flat_rows_a_row_apart_are_not_bridged_into_a_band():
    # a 100 px text page's left margin: columns 0 and 2 flat where a q30 copy rings, column 1 not;
    # bridging them made a 3-column "damage band" of the kept copy (match_corrupt)
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(2)
    other = rng.normal(128, 20, (67, 100))
    one = other.copy()
    one[0] = 250.0
    one[2] = 250.0
    assert not _band_rows(one, other, 0.0, T).any()


def test_stream_damage_begins_where_the_garbled_part_of_its_mcu_row_begins(photo):
    # seed 816: a flip garbled a 106 px copy from column 140 of row 16 (the rest of that MCU row),
    # every row from 32 on 20 grey levels off; the damage was found from row 29, and the trusted
    # part above it differed by 0.031: "different"
    import io

    from PIL import Image
    small = photo.resize((160, 106), Image.LANCZOS)
    a = np.asarray(small).astype(int)
    rng = np.random.default_rng(8)
    a[16:32, 140:] = rng.integers(0, 256, a[16:32, 140:].shape)
    a[32:] += 20
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), 90))))
    r = compare_arrays(copy, np.asarray(small), a_stream_check=True)
    assert r.stream_a and r.region_a is not None
    assert 12 / 106 <= r.region_a["top"] <= 17 / 106, r.region_a


def test_stream_damage_begins_at_the_first_of_its_garbled_blocks_however_far_up_they_run():
    # n815 (102 px): blocks garbled one by one above where the rest of the stream is garbage, each
    # within garbled_back rows of the next; the search stopped at the first of them it reached, the
    # trusted part above kept the others (a window 0.105 off, over damaged_local: "different")
    from matching.compare import _garbled_top
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(3)
    Ds = rng.uniform(0.0, 0.004, (102, 102))
    Ds[64:] = 0.2                      # the rest of the stream
    Ds[52:60, 26:39] = 0.07            # a garbled block 12 rows above it ...
    Ds[40:48, 65:78] = 0.07            # ... and another 12 rows above that
    top = _garbled_top(Ds, np.ones(Ds.shape, bool), 64, 8, 0.04, T)
    assert top == 40
    Ds[40:48, 65:78] = 0.002           # without the upper block, the search stops at the lower one
    assert _garbled_top(Ds, np.ones(Ds.shape, bool), 64, 8, 0.04, T) == 52


def _flipped_three_times(small, rng, *, drift=3, garbage_from=64):
    """``small`` as a copy with three flips the decoder recovered from: garbage at the right of its second
    MCU row, every later block ``drift`` grey levels lighter, and garbage again in most of the width from
    ``garbage_from`` on."""
    a = np.asarray(small).astype(int)
    a[16:32, 120:] = rng.integers(0, 256, a[16:32, 120:].shape)
    a[32:] += drift
    a[garbage_from:, 20:140] = rng.integers(0, 256, a[garbage_from:, 20:140].shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def test_a_stream_drifted_by_one_flip_and_garbled_by_later_ones_is_damaged_from_the_first(photo):
    # seed 1205: a 123x83 copy garbled at the right of its second MCU row, 3.3 grey levels lighter below,
    # garbage again from 77 % down: no single signature covered the rest ("different", not
    # cleanup_corrupt)
    import io

    from PIL import Image
    small = photo.resize((160, 106), Image.LANCZOS)
    copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(_flipped_three_times(
        small, np.random.default_rng(5))), 90))))
    r = compare_arrays(copy, np.asarray(small), a_stream_check=True)
    assert r.stream_a and r.region_a is not None
    assert 12 / 106 <= r.region_a["top"] <= 17 / 106 and r.region_a["bottom"] == 1.0, r.region_a


def test_an_edit_reaching_the_bottom_edge_is_not_stream_damage_however_garbled(photo):
    # the shared corpus's near misses paste a rectangle of one colour anywhere, the bottom edge
    # included: from its top to the end of the picture every row block differs, but in a part or two,
    # or in half of them (the dev corpus's C1490978: a third of the width, straddling four parts)
    import io

    from PIL import Image
    small = photo.resize((160, 106), Image.LANCZOS)
    for box, fill in (((100, 70, 125, 106), (250, 20, 200)), ((30, 60, 55, 106), (0, 0, 0)),
                      ((38, 76, 83, 106), (190, 250, 220))):
        edit = small.copy()
        edit.paste(fill, box)
        copy = np.asarray(Image.open(io.BytesIO(jpeg_bytes(edit, 90))))
        assert not compare_arrays(copy, np.asarray(small), a_stream_check=True).stream_a, box


def test_garbage_over_the_whole_lower_part_without_a_drift_is_not_a_drift_among_garbage():
    # a fresh-eyed attack on proof 1.28: a patch of one colour pasted over the lower part, 50-100 % wide,
    # is "garbled" in every part below its top; without the drift the flips leave between their garbage,
    # it is not this signature (10 of 401 such near misses were cleanup_corrupt)
    from matching.compare import _drift_among_garbage
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(6)
    kept = rng.normal(128, 20, (106, 160))
    dy = rng.normal(0, 0.001, kept.shape)
    dy[70:, 10:150] = 0.2                              # the patch: 7/8 of the width, to the bottom
    ok = np.ones(kept.shape, bool)
    assert _drift_among_garbage(dy, np.abs(dy), kept, ok, (0, False), T) is None
    flips = dy.copy()
    flips[32:70] += 0.013                              # the same garbage after a drift: several flips
    mask = _drift_among_garbage(flips, np.abs(flips), kept, ok, (0, False), T)
    assert mask is not None and mask[:28].sum() == 0 and mask[34:].all()


def test_a_band_whose_first_rows_ring_is_one_band_not_a_pattern_of_runs():
    # seed 1202: a grey band in an 8:1 JPEG 2000 of the moon: flat, not flat, flat, not flat, then flat
    # for 37 rows; three runs, over max_bands, read as the picture's pattern: "different", not
    # match_corrupt
    from matching.compare import _band_rows
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(4)
    other = rng.normal(120, 3, (160, 160))               # the moon's plain surface, 8 levels under the band
    other[[61, 63]] = rng.normal(128, 0.4, (2, 160))     # rows where the copy is as plain as the band, at its
    one = other.copy()                                   # level: flat there too, they are no damage
    one[60:100] = 128.0
    band = _band_rows(one, other, 0.0, T)
    assert band[60:100].all() and not band[:55].any() and not band[105:].any()


def test_a_turn_fits_only_where_the_turned_kept_picture_has_the_copys_aspect_ratio():
    from matching.compare import orientation_scores, turn_fits
    copy, kept = np.zeros((297, 327, 3), np.uint8), np.zeros((560, 503, 3), np.uint8)   # 1.10 and 0.90
    fits = {t for t in DIHEDRAL if turn_fits(copy.shape, kept.shape, t, 0.08)}
    assert fits == {t for t in DIHEDRAL if t[0] in (90, 270)}
    # the screen keeps to the same rule: it scores the turns that fit, and only those
    assert {t for _, t in orientation_scores(copy, kept, aspect_tol=0.08)} == fits
    assert all(turn_fits(copy.shape, copy.shape, t, 0.08) is (t[0] in (0, 180)) for t in DIHEDRAL)


def test_the_intact_part_has_detail_only_if_both_sides_have_it():
    """A page cut just above its first line keeps a white top, which agrees with any picture plain
    enough there: the part both sides trust is as telling as its plainer side, however much a
    diagram's thin arcs make of the other (they measured 13.7 grey levels of detail before)."""
    from PIL import Image, ImageDraw

    from mhelpers import text_page
    page = np.asarray(text_page((327, 297), 1, top=45, font=14, pitch=22, paper=(255, 255, 255)))
    cut = page.copy()
    cut[44:] = 128          # the decoder's grey after the cut
    diagram = Image.new("RGB", (297, 327), (255, 255, 255))
    d = ImageDraw.Draw(diagram)
    for k in range(6):
        d.arc((-200 + 40 * k, -300, 250 + 40 * k, 150), 0, 180, fill=(80, 80, 80))
    r = compare_arrays(cut, np.asarray(diagram), a_damaged=True)
    assert r.coverage > 0.05 and r.intact_std < 1.0
    # a cut below the first lines: both sides have detail there, and it counts
    told = page.copy()
    told[120:] = 128
    assert compare_arrays(told, page, a_damaged=True).intact_std > 20


def test_a_band_steps_away_from_the_picture_beside_it_where_a_flat_part_of_the_picture_goes_on():
    from matching.compare import band_step
    g = np.zeros((60, 40), np.float32)      # black, a band over its lower half
    band = np.zeros_like(g, bool)
    band[30:] = True
    assert band_step(g, band) == 0.0        # the picture's own black goes on from the rows above
    g[30:] = 128.0
    assert band_step(g, band) == 128.0      # a grey fill steps away from the black above it
    g[:5] = 60.0                            # what lies away from its edge does not count
    assert band_step(g, band) == 128.0
    cols = np.zeros_like(g, bool)           # a band of columns, from the left edge
    cols[:, :10] = True
    h = np.full_like(g, 200.0)
    h[:, :10] = 20.0
    assert band_step(h, cols) == 180.0
    assert band_step(h, np.zeros_like(g, bool)) == 0.0 and band_step(h, np.ones_like(g, bool)) == 0.0
    # how much of the picture beside a band lies at its level: a flat part going on, or a fill stopping
    from matching.compare import band_goes_on
    black = np.zeros((60, 40), np.float32)
    assert band_goes_on(black, band, 6.0) == 1.0
    grey_fill = black.copy()
    grey_fill[30:] = 128.0
    assert band_goes_on(grey_fill, band, 6.0) == 0.0
    black[29, :10] = 200.0                  # a quarter of the row beside it is other picture
    assert band_goes_on(black, band, 6.0) == 0.75
    assert band_goes_on(black, np.ones_like(band), 6.0) == 0.0   # no edge inside the picture
    # the screen records each side's step
    a = np.zeros((120, 120, 3), np.uint8)
    a[10:20, 10:60] = 250
    b = a.copy()
    b[60:] = 128
    r = compare_arrays(a, b)
    assert r.band_step_b > 100 and r.band_step_a < 10, (r.band_step_a, r.band_step_b)


def test_a_band_at_the_level_of_its_pictures_flat_margins_is_its_background_and_a_fill_is_not():
    from matching.compare import band_background
    from matching.thresholds import current
    T = current()
    rng = np.random.default_rng(3)
    page = np.full((120, 90), 244.0, np.float32)          # paper, margins 15 px either side
    for y in range(10, 60, 6):                            # lines of "text": strokes in the middle columns
        page[y:y + 3, 15:75] = rng.uniform(40, 240, (3, 60))
    band = np.zeros_like(page, bool)
    band[64:106] = True                                   # the page's blank lower part, at the paper's level
    other = page.copy()                                   # (the other page has text there, and the same
    other[70:100, 15:75] = 60.0                           # paper around it, which the band's mask takes in)
    assert band_background(page, other, band, T) >= T.band_background   # its margins are flat at that level
    for fill in (128.0, 0.0, 70.0):                       # a bar painted across the page (a decoder's fill grey or
        painted = page.copy()                             # black, or any colour its margins do not share), though
        painted[70:100] = fill                            # its mask takes in the paper rows beside it
        assert band_background(painted, other, band, T) < T.band_background
        if fill != 70.0:                                  # a fill is damage even where the picture's own flat
            painted[painted == 244.0] = fill              # parts share its level
            assert band_background(painted, other, band, T) == 0.0
    busy = rng.uniform(0, 255, page.shape).astype(np.float32)   # a photograph: nothing flat beside the band
    busy[70:100] = 200.0
    assert band_background(busy, other, band, T) == 0.0
    assert band_background(page, other, np.zeros_like(band), T) == 0.0
    assert band_background(page, page, band, T) == 0.0    # where the other side is the same, no band to read


def test_a_fill_is_one_level_down_its_lines_and_rows_of_small_text_are_many():
    from matching.compare import band_spread
    from matching.thresholds import current
    T = current()
    other = np.random.default_rng(5).uniform(40, 240, (120, 90)).astype(np.float32)   # the other side: texture
    page = np.full((120, 90), 244.0, np.float32)
    band = np.zeros_like(page, bool)
    band[40:80] = True                             # found on rows 46-73, widened by band_grow (6 rows) each side
    filled = page.copy()
    filled[46:74] = 128.0
    assert band_spread(filled, other, band, T) < 1.0
    text = page.copy()
    text[46:74:2] = 170.0                          # lines of small text: each row one grey, light and dark in turn
    assert band_spread(text, other, band, T) >= T.band_level_spread
    assert band_spread(filled, other, np.zeros_like(band), T) == 0.0



def _paper_and_text(text_off: float, paper_off: float, rows=256, cols=184) -> np.ndarray:
    """A signed chroma difference (0..1) between a page's copy and its kept copy: ``paper_off``
    grey levels over the blank paper (a margin across the top and down both sides, and the foot
    from row 208 on), ``text_off`` over the text block."""
    d = np.full((rows, cols), paper_off / 255.0, np.float32)
    d[16:208, 23:161] = text_off / 255.0
    return d


def test_a_shift_the_intact_tops_own_blank_parts_already_show_is_not_a_recovered_flip():
    # a true copy of a letter at 35 % and q60 against a kept JPEG 2000 at 10:1: its blank paper's Cr
    # rounded 1.4 levels off by the copy's coding beside the kept copy's loss, the text block's a
    # little the other way; the foot under the signature, all paper, read as a chroma DC's error from there
    # on ("clean-up copy is damaged" for a true copy: an attack's letter, proof 1.32)
    from matching.compare import _dc_drift
    from matching.thresholds import current
    T = current()
    valid = np.ones((256, 184), bool)
    floor = 1.3125 / 255.0   # (0.75 of the copy's chroma DC step at q60)
    assert _dc_drift(_paper_and_text(-0.2, 1.4), valid, (0, False), T, floor=floor) is None
    # the same shift where the top is as the coding made it, the paper's too: a recovered flip
    flipped = _paper_and_text(-0.2, 0.0)
    flipped[208:] += 1.4 / 255.0
    found = _dc_drift(flipped, valid, (0, False), T, floor=floor)
    assert found is not None and found[200:].all() and not found[:190].any()


def test_an_engravings_reduced_picture_is_mostly_fine_detail_and_a_photographs_is_not(photo):
    # what the verdict screens a refused pair again from the renditions for (thresholds.alias_detail)
    from PIL import Image

    from matching import THRESHOLDS
    from matching.compare import fine_detail
    from mhelpers import engraving
    reduced = np.asarray(engraving().reduce(2).resize((256, 192), Image.Resampling.BOX))
    assert fine_detail(reduced) > 2 * THRESHOLDS.alias_detail
    assert fine_detail(np.asarray(photo)) < THRESHOLDS.alias_detail / 2
    assert fine_detail(np.full((64, 64, 3), 200, np.uint8)) == 0.0


def test_a_bands_fill_level_is_read_on_its_own_lines_and_only_grey_or_black_is_a_decoders(photo):
    # the copy's rows 40-60 filled with the decoder's grey, and then painted white: the screen records
    # which band is at a fill level (the verdict's tie of two bands along the same rows reads it)
    from matching import THRESHOLDS
    from matching.compare import at_decoder_fill, band_level
    a = np.asarray(photo).astype(np.float32).mean(axis=2)
    band = np.zeros(a.shape, bool)
    band[40:60] = True
    for level, fill in ((128.0, True), (0.0, True), (255.0, False), (200.0, False)):
        g = a.copy()
        g[40:60] = level
        assert band_level(g, a, band, THRESHOLDS) == pytest.approx(level)
        assert at_decoder_fill(band_level(g, a, band, THRESHOLDS), THRESHOLDS) is fill
        assert at_decoder_fill(band_level(g, a, band, THRESHOLDS), THRESHOLDS, black=False) is (fill and level > 0)
    assert band_level(a, a, np.zeros(a.shape, bool), THRESHOLDS) is None
    r = compare_arrays(np.asarray(grey_band(photo, 0.5, 0.2)), np.asarray(photo), a_jpeg=True)
    assert r.band_a > 0 and r.fill_a and not r.fill_b
    # (a copy of another format: its decoder fills nothing grey)
    assert not compare_arrays(np.asarray(grey_band(photo, 0.5, 0.2)), np.asarray(photo)).fill_a


def test_a_band_runs_lines_are_its_fills_where_one_step_splits_them_from_the_pictures_beside_it():
    from matching.compare import _the_fills_lines
    fill_then_ground = np.array([128, 127, 128, 129, 128, 127, 128, 54, 56, 50, 57], float)
    assert list(_the_fills_lines(fill_then_ground)) == list(fill_then_ground[:7])
    assert list(_the_fills_lines(fill_then_ground[::-1])) == list(fill_then_ground[::-1][4:])
    text = np.array([167, 250, 170, 248, 165, 251, 168, 249], float)    # a page's lines, light and dark in turn
    assert list(_the_fills_lines(text)) == list(text)
    assert list(_the_fills_lines(np.array([128, 60, 128], float))) == [128, 60, 128]   # too few to split

"""matching.stream: a JPEG copy read against its kept picture as a stream read out of step leaves it."""
import warnings

import numpy as np

from matching.stream import mcu_cells, out_of_step, read_in_runs

MCU = (16, 16)
COLS = 4                                   # a 64 px wide picture: four MCUs a row, 16 in all


def _kept(seed=3, size=64):
    """A textured picture away from 0 and 255, so a tone moved by tens of levels does not clip."""
    rng = np.random.default_rng(seed)
    return rng.integers(60, 190, (size, size, 3)).astype(np.uint8)


def _as_mcus(a):
    return mcu_cells(a, MCU).astype(np.int16)


def _from_mcus(cells, size=64):
    rows = size // MCU[0]
    return cells.reshape(rows, COLS, *MCU, 3).transpose(0, 2, 1, 3, 4).reshape(size, size, 3).clip(0, 255).astype(np.uint8)


def _read(copy, kept):
    reading = read_in_runs(copy, kept, MCU, levels=6.0, share=0.1, step=2.0, max_shift=8)
    return reading, out_of_step(reading, still=3.0, moved_tone=9.0, min_run=3, min_detail=4.5, max_spread=4.0,
                                explained=0.8)


def _read_allowing(copy, kept, lead_garble=0.25, back_most=1):
    reading = read_in_runs(copy, kept, MCU, levels=6.0, share=0.1, step=2.0, max_shift=8)
    return out_of_step(reading, still=3.0, moved_tone=9.0, min_run=3, min_detail=4.5, max_spread=4.0,
                       explained=0.8, lead_garble=lead_garble, back_most=back_most)


def test_a_block_garbled_in_place_before_the_stream_breaks_stays_in_the_lead_where_allowed():
    kept = _kept()
    cells = _as_mcus(kept)
    cells[1] = 255 - cells[1]                                 # a flip within MCU 1's own bits: garbled in place
    cells[6:15] = cells[7:16] + np.array([-15, 4, 9], np.int16)   # from MCU 6, out of step: moved and toned
    cells[15] = 255 - cells[15]
    _, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 1 and s["back"] == 4, s              # read strictly, the break is MCU 1 and the rest came back
    s = _read_allowing(_from_mcus(cells), kept)
    assert (s["lead"], s["first"], s["garbled"], s["back"], s["moved"], s["mid_row"]) == (6, 1, 1, 0, 9, True), s
    # two of the six garbled are more than a quarter: the break stays at the first change
    cells[3] = 255 - cells[3]
    s = _read_allowing(_from_mcus(cells), kept)
    assert s["lead"] == 1 and s["back"] == 3, s


def test_one_mcu_back_in_place_by_chance_is_allowed_after_the_break_but_not_two():
    kept = _kept()
    cells = _as_mcus(kept)
    moved = cells[6:16].copy() + np.array([-15, 4, 9], np.int16)
    cells[5:15] = moved                                       # from MCU 5, out of step
    cells[15] = 255 - cells[15]
    cells[10] = _as_mcus(kept)[10]                            # ... and MCU 10 in place and tone by chance
    s = _read_allowing(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["back"] == 1, s
    cells[13] = _as_mcus(kept)[13]
    s = _read_allowing(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["back"] == 2, s


def test_an_edit_that_ends_is_not_read_as_blocks_garbled_before_a_break():
    kept = _kept()
    cells = _as_mcus(kept)
    cells[5:9] += 30                                          # the picture goes on as it was after it
    s = _read_allowing(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["back"] == 7 and s["garbled"] == 0, s


def test_a_copy_whose_tone_moves_from_an_mcu_inside_a_row_reads_as_its_lead_then_one_moved_run():
    kept = _kept()
    cells = _as_mcus(kept)
    cells[5:] += np.array([20, -12, 7], np.int16)           # a DC step from MCU 5 (row 2, column 2) to the end
    reading, s = _read(_from_mcus(cells), kept)
    assert (s["lead"], s["mid_row"], s["back"], s["moved"], s["runs"], s["after"]) == (5, True, 0, 11, 1, 11), s
    run = reading.runs[-1]
    assert run.shift == 0 and np.allclose(run.offset, (20, -12, 7)) and run.residual < 0.01


def test_a_copy_moved_along_the_scan_shows_the_kept_pictures_mcus_at_that_shift_and_counts_only_with_its_tone_moved():
    # a lost code moves the rest one MCU along; the DC predictor then out of step moves its tone too. Content
    # moved along the grid with its tone kept is what an edit does (an indent, a line deleted and reflowed)
    kept = _kept()
    cells = _as_mcus(kept)
    cells[6:15] = cells[7:16]
    cells[15] = 255 - cells[15]                               # and the last is garbage
    reading, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 6 and s["mid_row"] and s["back"] == 0 and s["moved"] == 0, s
    assert [(r.start, r.length, r.shift) for r in reading.runs][1] == (6, 9, 1), reading.runs
    cells[6:15] += np.array([-15, 4, 9], np.int16)
    reading, s = _read(_from_mcus(cells), kept)
    assert s["moved"] == 9 and s["runs"] == 1, s
    assert [(r.start, r.length, r.shift) for r in reading.runs][1] == (6, 9, 1), reading.runs


def test_an_edit_made_along_a_pixel_row_does_not_break_inside_an_mcu_row():
    kept = _kept()
    copy = kept.astype(np.int16)
    copy[20:] += 25                                           # from pixel row 20, inside MCU row 2, to the end
    _, s = _read(copy.astype(np.uint8), kept)
    assert s["lead"] == 4 and not s["mid_row"], s


def test_a_copy_that_comes_back_in_place_after_a_change_is_counted_back():
    kept = _kept()
    cells = _as_mcus(kept)
    cells[5:9] += 30                                          # an edit over four MCUs; the picture goes on as it was
    _, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["back"] == 7 and s["moved"] == 4, s


def test_mcus_that_clip_whole_do_not_place_the_break_inside_a_row():
    # a white stretch at the end of row 1 fits any tone: the copy may have changed anywhere from there
    kept = _kept()
    kept[:16, 32:] = 255
    cells = _as_mcus(kept)
    cells[4:] += 25                                           # changed from the start of MCU row 2
    copy = _from_mcus(cells)
    copy[:16, 32:] = 255
    reading, s = _read(copy, kept)
    assert np.isnan(reading.tone[2:4]).all() and s["lead"] == 4 and not s["mid_row"], s


def test_another_picture_is_not_read_as_the_kept_pictures_mcus():
    kept, other = _kept(3), _kept(4)
    copy = kept.copy()
    copy[16 * 1 + 0:, :] = other[16:, :]                      # another picture from MCU row 2 on
    cells = _as_mcus(copy)
    cells[:6] = _as_mcus(kept)[:6]                            # ... after six MCUs of the kept picture's
    _, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 6 and s["moved"] == 0 and s["runs"] == 0, s


def test_an_overlay_that_starts_inside_each_row_leaves_its_first_mcus_back_in_place():
    # a translucent caption bar from x = 16 px down to the end: its tone steady over kept content, first changed
    # inside a row as a DC step is, but the MCUs left of it, every row, are in place: a stream does not mend so
    kept = _kept()
    cells = _as_mcus(kept)
    toned = np.array([i for i in range(5, 16) if i % COLS != 0])
    cells[toned] += np.array([18, 18, 18], np.int16)
    _, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["mid_row"] and s["back"] == 2, s


def test_a_tint_beside_a_flat_margin_leaves_the_margin_back_in_place_on_every_row():
    # a second attack: a rectangle tinted by a constant from one MCU in, down to the corner, beside a margin of
    # plain paper. The margin has no detail, but a broken stream would have moved its tone too (DC prediction
    # runs on across the row ends)
    kept = _kept()
    kept[:, :16] = 200
    cells = _as_mcus(kept)
    toned = np.array([i for i in range(5, 16) if i % COLS != 0])
    cells[toned] += np.array([0, -10, -30], np.int16)
    _, s = _read(_from_mcus(cells), kept)
    assert s["lead"] == 5 and s["mid_row"] and s["back"] == 2, s


def test_a_stretch_reaches_on_while_the_next_mcu_fits_and_the_tone_holds():
    from matching.stream import _reach
    rng = np.random.default_rng(7)
    for _ in range(200):
        shifts, n = rng.integers(1, 6), rng.integers(1, 40)
        fits = rng.random((shifts, n)) < 0.7
        steady = rng.random((shifts, n - 1)) < 0.8
        # the definition, MCU by MCU from the end
        want = np.zeros((shifts, n + 1), np.int64)
        for i in range(n - 1, -1, -1):
            on = want[:, i + 1] if i + 1 < n else 0
            link = steady[:, i] if i + 1 < n else np.zeros(shifts, bool)
            want[:, i] = np.where(fits[:, i], 1 + np.where(link, on, 0), 0)
        assert np.array_equal(_reach(fits, steady), want)


def test_a_runs_tone_is_the_median_of_its_mcus_leaving_out_what_clipped():
    from matching.stream import _nanmedian_columns
    rng = np.random.default_rng(8)
    for rows in (1, 2, 3, 8, 31):
        t = rng.normal(0, 20, (rows, 3)).astype(np.float32)
        t[rng.random(t.shape) < 0.3] = np.nan
        t[:, 2] = np.nan                                   # a channel that clipped in every MCU
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # the all-NaN column
            want = np.nanmedian(t, axis=0)
        got = _nanmedian_columns(t)
        assert got.dtype == np.float32 and np.array_equal(got, want, equal_nan=True), (got, want)
        assert np.isnan(got[2])

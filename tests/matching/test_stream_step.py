"""A clean-up JPEG whose stream lost its place without decoder complaint (a flipped bit that still
decodes): an intact top, then the rest of the picture shifted and re-coloured to the end of the
stream. Must be a damaged clean-up copy (never safe), while reframed, edited and resampled copies
are not mistaken for it."""
import numpy as np
from PIL import Image

from matching import analyse_file, verify_pair
from matching.compare import compare_arrays

from mhelpers import edited, reframed


def _desynced(photo, start=0.62, shift=16, offset=(8, 3, -6)):
    """Subtle: below the absolute thresholds of the older end-of-stream check. From a row of coding
    units (16 px) on, where a stream loses its place, the rest moved by one unit, as a stream that
    lost its place and found it again a unit later moves it."""
    a = np.asarray(photo).astype(np.int16).copy()
    r0 = int(a.shape[0] * start) // 16 * 16
    a[r0:] = np.roll(a[r0:], -shift, axis=1) + np.array(offset, np.int16)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def test_desynced_stream_is_found(photo):
    a = np.asarray(photo)
    r = compare_arrays(np.asarray(_desynced(photo)), a, a_stream_check=True, a_mcu=16 / max(a.shape))
    assert r.stream_a and r.progressive_a
    assert 0.5 < r.region_a["top"] <= 0.62 and r.region_a["bottom"] == 1.0
    assert r.diff_score < 0.01


def test_a_desynced_stream_of_a_large_picture_moved_by_a_unit_under_the_screens_pixel_is_found(photo):
    # 16 px of a 1600 px copy are 2.56 px of the screen: the detail test tries each unit's move (the
    # whole pixels either side of it); unmoved, the detail below is 1.27 of the larger side's, moved by
    # 3 px 0.58
    big = photo.resize((1600, 1200), Image.LANCZOS)
    a = np.asarray(big)
    r = compare_arrays(np.asarray(_desynced(big)), a, a_stream_check=True, a_mcu=16 / 1600)
    assert r.stream_a and r.region_a["bottom"] == 1.0
    # a small copy's rest moved by 3 px (2.4 px of the screen, a fifth of its unit): not a move the stream
    # makes, and its detail there is not the kept picture's (as a look-alike retyped a pixel along is not)
    small = np.asarray(photo)
    assert not compare_arrays(np.asarray(_desynced(photo, shift=3)), small, a_stream_check=True,
                              a_mcu=16 / max(small.shape)).stream_a


def test_no_stream_damage_in_reframed_edited_or_resampled_copies(photo, photo2, photo3):
    for p in (photo, photo2, photo3):
        a = np.asarray(p)
        w, h = p.size
        copies = [reframed(p, 0.05), edited(p, (0.2, 0.8, 0.36, 1.0)), edited(p, (0.7, 0.6, 0.86, 0.99)),
                  p.resize((w // 2, h // 2), Image.LANCZOS)]
        for cp in copies:
            r = compare_arrays(np.asarray(cp), a, a_stream_check=True)
            assert r is not None and not r.stream_a


def test_desynced_jpeg_is_cleanup_corrupt_never_safe(tmp_path, photo):
    canon = tmp_path / "C1234567.tif"
    photo.save(canon, "TIFF", compression="tiff_lzw")
    clean = tmp_path / "IMG_1.jpg"
    _desynced(photo).save(clean, "JPEG", quality=92)
    assert analyse_file(clean).status == "ok"     # no decoder complaint
    res = verify_pair(clean, canon)
    assert res.verdict == "cleanup_corrupt" and res.corrupt_side == "cleanup"
    assert not res.safe_to_delete
    # an edit reaching the bottom edge stays a near miss
    ed = tmp_path / "IMG_2.jpg"
    edited(photo, (0.6, 0.7, 0.76, 1.0)).save(ed, "JPEG", quality=92)
    assert verify_pair(ed, canon).verdict == "different"


def test_decide_file_prefers_the_unturned_of_near_equal_candidates():
    from matching import FileAnalysis, PairResult, decide_file
    turned = PairResult(diff_score=0.0043, local_score=0.0489, flipped=True, verdict="cleanup_corrupt",
                        match="twin.jp2", via="content")
    straight = PairResult(diff_score=0.0046, local_score=0.0488, verdict="cleanup_corrupt",
                          match="right.jp2", via="content")
    assert decide_file(FileAnalysis(status="damaged"), [turned, straight]).match == "right.jp2"
    # a clearly better turned candidate still wins
    better = PairResult(diff_score=0.001, local_score=0.02, rotation=90, verdict="cleanup_corrupt",
                        match="turned.jp2", via="content")
    assert decide_file(FileAnalysis(status="damaged"), [better, straight]).match == "turned.jp2"


def test_decide_file_prefers_the_candidate_that_finds_more_of_a_damaged_copy_intact():
    # a truncated tile agreed with another tile of its photograph, turned, only in a black corner
    from matching import FileAnalysis, PairResult, decide_file
    corner = PairResult(diff_score=0.0006, local_score=0.0022, rotation=180, verdict="cleanup_corrupt",
                        corrupt_side="cleanup", region={"top": 0.1, "left": 0.0, "bottom": 1.0, "right": 1.0},
                        match="other_tile.jp2", via="content")
    right = PairResult(diff_score=0.0013, local_score=0.0067, verdict="cleanup_corrupt", corrupt_side="cleanup",
                       region={"top": 0.883, "left": 0.0, "bottom": 1.0, "right": 1.0}, match="its_tile.jp2",
                       via="content")
    assert decide_file(FileAnalysis(status="damaged"), [corner, right]).match == "its_tile.jp2"
    # equally damaged: the closer pair still wins
    closer = PairResult(diff_score=0.0006, local_score=0.0022, verdict="cleanup_corrupt", corrupt_side="cleanup",
                        region=dict(right.region), match="twin.jp2", via="content")
    assert decide_file(FileAnalysis(status="damaged"), [right, closer]).match == "twin.jp2"


def _garbled_from(photo, frac=0.36, col=0.6, seed=5):
    """A flip a third of the way down that decodes to dark, blocky garbage to the end of the stream
    (not flat enough to be a band of one colour), beginning mid-row: the MCU row it is in keeps
    its picture up to the flip's column."""
    a = np.asarray(photo).copy()
    h, w = a.shape[:2]
    r0, c0 = int(h * frac) // 16 * 16, int(w * col)
    blocks = np.random.default_rng(seed).integers(0, 40, ((h - r0) // 8 + 1, w // 8 + 1, 3))
    a[r0:] = np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:h - r0, :w]
    a[r0:r0 + 16, :c0] = np.asarray(photo)[r0:r0 + 16, :c0]
    return Image.fromarray(a.astype(np.uint8)), r0 / h


def test_damage_found_by_stream_begins_at_its_first_differing_row_not_a_block_earlier(photo):
    garbled, top = _garbled_from(photo)
    r = compare_arrays(np.asarray(garbled), np.asarray(photo), a_stream_check=True)
    assert r.stream_a and r.region_a["bottom"] == 1.0
    # the screen's blur reaches a few rows up; a whole block of rows (1/32 of the picture) was given up before
    assert top - 0.03 <= r.region_a["top"] <= top


def test_a_copy_garbled_from_a_third_of_the_way_down_is_cleanup_corrupt_with_its_id(tmp_path, photo):
    # its turn scored over the whole picture (0.7: two thirds garbage) was past every limit
    canon = tmp_path / "C1261327.tif"
    photo.save(canon, "TIFF", compression="tiff_lzw")
    clean = tmp_path / "C1261327c.jpg"
    _garbled_from(photo)[0].save(clean, "JPEG", quality=90)
    res = verify_pair(clean, canon)
    assert res.verdict == "cleanup_corrupt" and res.corrupt_side == "cleanup" and not res.safe_to_delete, res.reasons

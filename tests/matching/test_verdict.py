"""Each relation of a clean-up copy to its canonical, from real encoded files."""
import io
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from matching import THRESHOLDS, analyse_file, decide_file, verify_pair

from mhelpers import CAMERA_FLIPS, RETINA_FLIPS, drifted, edited, flip_dc_step, flip_in_step, grained_sheet, grey_band, jpeg_bytes, page_over_the_cap, reframed, text_page


@pytest.fixture
def canon(tmp_path, photo):
    p = tmp_path / "C0001000.tif"
    photo.save(p, "TIFF", compression="tiff_lzw")
    return p


def _v(tmp_path, canon, name, data=None, im=None, fmt=None, **kw):
    p = tmp_path / name
    if data is not None:
        p.write_bytes(data)
    else:
        im.save(p, fmt, **kw)
    return verify_pair(p, canon)


def test_exact_copy_identical_safe(tmp_path, canon):
    r = _v(tmp_path, canon, "x.tif", data=canon.read_bytes())
    assert r.verdict == "identical" and r.safe_to_delete and r.thresholds == THRESHOLDS and r.engine_version


@pytest.mark.parametrize("fmt,ext,kw", [("PNG", "png", {}), ("WEBP", "webp", {"quality": 90}), ("JPEG", "jpg", {"quality": 92}),
                                        ("JPEG", "jpg", {"quality": 100})])
def test_format_copies_safe(tmp_path, canon, photo, fmt, ext, kw):
    r = _v(tmp_path, canon, f"f.{ext}", im=photo, fmt=fmt, **kw)
    assert r.verdict in ("identical", "duplicate") and r.safe_to_delete and r.rotation == 0


def test_resized_duplicate_safe(tmp_path, canon, photo):
    r = _v(tmp_path, canon, "s.jpg", data=jpeg_bytes(photo.resize((80, 60), Image.LANCZOS), 60))
    assert r.verdict == "duplicate" and r.safe_to_delete


def test_exif_oriented_safe(tmp_path, canon, photo):
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    r = _v(tmp_path, canon, "e.jpg", data=jpeg_bytes(stored, 90, exif=exif.tobytes()))
    assert ImageOps.exif_transpose(Image.open(tmp_path / "e.jpg")).size == photo.size
    assert r.verdict == "duplicate" and r.safe_to_delete and (r.rotation, r.flipped) == (0, False)


@pytest.mark.parametrize("k,flip", [(90, False), (180, True), (270, False), (0, True)])
def test_rotated_reported_not_safe(tmp_path, canon, photo, k, flip):
    im = photo.rotate(k, expand=True)
    if flip:
        im = ImageOps.mirror(im)
    r = _v(tmp_path, canon, "r.jpg", data=jpeg_bytes(im, 88))
    assert r.verdict == "rotated" and not r.safe_to_delete and (r.rotation, r.flipped) == (k, flip)


@pytest.mark.parametrize("kept_format", ["JPEG2000", "TIFF"])
def test_a_small_copy_garbled_from_a_third_of_the_way_down_is_found_damaged_by_finer_tiles(tmp_path, kept_format):
    # a 148x100 crop of the rocket's sky and tower, a bit flipped so that the stream is garbled from row
    # 32 on without a decoder complaint: at the proof's own 48 px tiles only one tile agrees before the
    # damage (6 in all, 4 needed), and the copy was "different" (corpus_gen seed 8203's one missed match)
    from dataclasses import replace

    from skimage import data

    from matching.verdict import verify_analyses
    from mhelpers import flip_garbling
    crop = Image.fromarray(data.rocket()).convert("RGB").crop((150, 120, 298, 220))
    flipped, first_row = flip_garbling(jpeg_bytes(crop, 90))
    kept = tmp_path / ("C1269246.jp2" if kept_format == "JPEG2000" else "C1269246.tif")
    crop.save(kept, **({"quality_mode": "rates", "quality_layers": [20], "irreversible": True}
                       if kept_format == "JPEG2000" else {"compression": "tiff_lzw"}))
    copy = tmp_path / "C1269246c.jpg"
    copy.write_bytes(flipped)
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("cleanup_corrupt", "cleanup") and not r.safe_to_delete, r.reasons
    assert r.region["top"] <= first_row / 100 + 0.25 and r.region["bottom"] == 1.0
    # at the proof's own tiles alone (and without the blocks' evidence, which adds finer tiles still), the
    # pair is not proven damaged
    coarse = replace(THRESHOLDS, garbled_blocks=float("inf"),
                     proof=replace(THRESHOLDS.proof, stream_tile=THRESHOLDS.proof.tile))
    assert verify_analyses(analyse_file(copy), analyse_file(kept), thresholds=coarse).verdict == "different"


@pytest.mark.parametrize("picture,tile,size,flips,name,claimed", [
    # a sky over a head of hair, intact over its top 60 % (most of it plain sky), unnamed: its garbage
    # scored every turn of the kept picture over the limit the stream proof was asked under
    ("camera", 1, 3198, CAMERA_FLIPS, "IMG_7779_32.jpg", True),
    # coins on a dark ground, intact over its top 16 rows of 75, under one 24 px tile: named after it,
    # proven at tiles of one MCU row; without the name, not (another picture of one layout may share a
    # top that small: an attack's letterheads, backdrops and header bars)
    ("coins", 14, None, None, "C1253408c.jpg", True),
    ("coins", 14, None, None, "IMG_0001.jpg", False),
    # a fundus's rim, intact over its top 14 % only, under min_intact's 15 %: its blocks do not lower that
    ("retina", 12, 9147, RETINA_FLIPS, "IMG_2049_34.jpg", False),
])
def test_a_copy_garbled_from_its_first_rows_is_found_damaged_by_its_blocks_that_no_longer_meet(
        tmp_path, picture, tile, size, flips, name, claimed):
    # generated corpora lost these as "different" (seeds 18001 and 18002); a JPEG stream read out of
    # step decodes each later block from another's bits, so its blocks no longer meet
    from dataclasses import replace

    from matching.verdict import verify_analyses
    from mhelpers import corpus_crop, flip_garbling, flipped_at
    crop = corpus_crop(picture, tile)
    if flips is None:
        crop = crop.resize((96, 75), Image.Resampling.LANCZOS)
        copy_bytes, _ = flip_garbling(jpeg_bytes(crop, 90), start=0.2, rows=(12, 20))
    else:
        copy_bytes = flipped_at(jpeg_bytes(crop, 90), flips, size)
    kept = tmp_path / "C1253408.jp2"
    crop.save(kept, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    copy = tmp_path / name
    copy.write_bytes(copy_bytes)
    r = verify_pair(copy, kept)
    assert not r.safe_to_delete
    if not claimed:
        assert r.verdict == "different", r.reasons
        return
    assert (r.verdict, r.corrupt_side) == ("cleanup_corrupt", "cleanup"), r.reasons
    assert "read out of step" in r.reasons[0] and r.region["bottom"] == 1.0 and r.region["top"] < 0.5
    # without the blocks' evidence, the pair is "different"
    off = replace(THRESHOLDS, garbled_blocks=float("inf"))
    assert verify_analyses(analyse_file(copy), analyse_file(kept), thresholds=off).verdict == "different"


@pytest.mark.parametrize("size,q", [((148, 148), 20), ((223, 222), 20)])
def test_a_copy_pixelated_into_its_blocks_means_is_never_a_safe_duplicate_and_its_true_copy_still_is(tmp_path, size, q):
    # an 8 px mosaic (each 8x8 block its mean) of a colour wheel: its block means are the picture's and its
    # smooth gradient moves little inside a block, so every tile was within its tolerance and the pair a safe
    # duplicate of the kept TIFF (an attack's); its blocks step 5-6 times as much across their edges as the
    # kept picture's saved as the copy was
    from dataclasses import replace

    from skimage import data

    from matching.verdict import verify_analyses
    wheel = Image.fromarray(data.colorwheel()).convert("RGB")
    kept = tmp_path / "C1000001.tif"
    wheel.save(kept)
    small = wheel.resize(size, Image.Resampling.LANCZOS)
    a = np.asarray(small).copy()
    for y in range(0, a.shape[0], 8):
        for x in range(0, a.shape[1], 8):
            a[y:y + 8, x:x + 8] = a[y:y + 8, x:x + 8].reshape(-1, 3).mean(0)
    mosaic, true_copy = tmp_path / "mosaic.jpg", tmp_path / "true.jpg"
    Image.fromarray(a).save(mosaic, quality=q)
    small.save(true_copy, quality=q)
    r = verify_pair(mosaic, kept)
    assert r.verdict == "duplicate" and not r.safe_to_delete, r.reasons
    assert "blocks step" in r.reasons[-2]
    assert verify_pair(true_copy, kept).safe_to_delete
    off = replace(THRESHOLDS, garbled_blocks=float("inf"))
    assert verify_analyses(analyse_file(mosaic), analyse_file(kept), thresholds=off).safe_to_delete   # (as before)


@pytest.mark.parametrize("other,row", [("coffee", 128), ("chelsea", 136), ("rocket", 160)])
def test_a_copy_with_another_pictures_lower_part_on_the_block_grid_is_not_a_stream_read_out_of_step(tmp_path, other, row):
    # the screen reads anything that differs widely from one row to the end, without a decoder's complaint, as a
    # stream garbled silently, and a step on the block grid passed: "clean-up copy is damaged" (an attack's 25 of
    # 42 such copies), though the copy holds another picture the kept one lacks. Its blocks meet as a picture's do
    # and its detail is not the kept picture's, where it lies or moved by whole blocks (test_stream_step.py's
    # desynced stream, moved a unit and re-coloured, is still damage)
    from dataclasses import replace

    from skimage import data

    from matching.verdict import verify_analyses
    astronaut = Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.LANCZOS)
    kept = tmp_path / "C2000017.tif"
    astronaut.save(kept)
    a = np.asarray(astronaut).copy()
    a[row:] = np.asarray(Image.fromarray(getattr(data, other)()).convert("RGB").resize((256, 256)))[row:]
    copy = tmp_path / "C2000017a.jpg"   # (named after the kept copy)
    Image.fromarray(a).save(copy, quality=85)
    r = verify_pair(copy, kept)
    assert r.verdict == "different" and not r.declared, r.reasons
    assert "another picture there, not a stream read out of step" in r.reasons[0]
    off = replace(THRESHOLDS, stream_unmet=0.0)
    assert verify_analyses(analyse_file(copy), analyse_file(kept), thresholds=off).verdict == "cleanup_corrupt"


def test_a_smooth_pictures_copy_re_levelled_by_a_flipped_dc_is_still_damage_though_its_only_detail_is_coding_noise(
        tmp_path):
    # two flipped bits in a colour wheel's q60 4:4:4 JPEG (a fresh-eyed attack's, found in its luma DC values) re-level
    # the rest without a decoder's complaint; its fine detail there is the coding's noise, 0.5 level, and differs from
    # the kept picture's by as much: "another picture there" until the detail floor (stream_detail_floor)
    from dataclasses import replace

    from skimage import data

    from matching.verdict import verify_analyses
    from mhelpers import flipped_at
    wheel = Image.fromarray(data.colorwheel()).convert("RGB")
    kept = tmp_path / "C3000075.tif"
    wheel.save(kept)
    copy = tmp_path / "C3000075a.jpg"
    copy.write_bytes(flipped_at(jpeg_bytes(wheel, 60, subsampling=0), ((3753, 128), (4651, 2)), 10646))
    assert not analyse_file(copy).errors
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side, r.safe_to_delete) == ("cleanup_corrupt", "cleanup", False), r.reasons
    off = replace(THRESHOLDS, stream_detail_floor=0.0)
    assert verify_analyses(analyse_file(copy), analyse_file(kept), thresholds=off).verdict == "different"


@pytest.mark.parametrize("side,cut", [("left", 4), ("left", 8), ("top", 4), ("top", 8)])
def test_a_small_damaged_copy_is_not_a_damaged_copy_of_its_picture_cut_and_stretched_back(tmp_path, monkeypatch, side, cut):
    # the 148x100 rocket copy garbled from row 32, against its picture cut by 4 or 8 px on the left or at
    # the top and stretched back: its intact rows agree within their 24 px tiles' tolerance, and no cell of
    # the geometry is wholly intact there to measure the shift; they line up 2-6 px away, so it is a
    # reframed picture, not this one damaged (without that check: cleanup_corrupt)
    from skimage import data

    import matching.proof as proof
    from mhelpers import flip_garbling
    crop = Image.fromarray(data.rocket()).convert("RGB").crop((150, 120, 298, 220))
    flipped, _row = flip_garbling(jpeg_bytes(crop, 90))
    w, h = crop.size
    kept = tmp_path / "C1269246.tif"
    crop.crop((cut, 0, w, h) if side == "left" else (0, cut, w, h)).resize((w, h), Image.LANCZOS).save(kept)
    copy = tmp_path / "C1269246c.jpg"
    copy.write_bytes(flipped)
    r = verify_pair(copy, kept)
    assert not r.declared and not r.safe_to_delete, r.reasons
    monkeypatch.setattr(proof, "_intact_offset", lambda *a, **k: None)
    assert verify_pair(copy, kept).verdict == "cleanup_corrupt"


def test_truncated_cleanup_corrupt(tmp_path, canon, photo):
    data = jpeg_bytes(photo)
    r = _v(tmp_path, canon, "t.jpg", data=data[: int(len(data) * 0.7)])
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete
    assert r.region and r.region["bottom"] == 1.0


def test_a_truncated_copy_is_read_at_the_turn_that_scored_as_well_when_the_best_leaves_nothing_intact(tmp_path):
    # a crop of the cameraman's sky, cut at 68 % of its bytes: the transpose scored 0.351 and upright
    # 0.359; transposed, the grey fill covered everything, so the pair was "different"
    from skimage import data
    crop = Image.fromarray(data.camera()).convert("RGB").crop((102, 0, 204, 102))
    kept = tmp_path / "C1277165.tif"
    crop.save(kept, "TIFF")
    data_ = jpeg_bytes(crop, 90)
    copy = tmp_path / "IMG_9074.jpg"
    copy.write_bytes(data_[:len(data_) * 1133 // 1671])
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side, r.rotation, r.flipped) == ("cleanup_corrupt", "cleanup", 0, False), r.reasons
    assert not r.safe_to_delete


def test_grey_band_cleanup_corrupt(tmp_path, canon, photo):
    r = _v(tmp_path, canon, "g.jpg", data=jpeg_bytes(grey_band(photo, 0.45, 0.12)))
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete
    assert 0.3 < r.region["top"] < 0.5 < r.region["bottom"] < 0.75
    # said as found: a band that stops is no stream garbled to its end
    assert r.reasons[0] == "a flat band in the clean-up pixels where the kept copy shows the picture (the decoder did not complain)"


def test_grey_band_canonical_match_corrupt(tmp_path, photo):
    c = tmp_path / "C0001000.jp2"
    grey_band(photo, 0.6, 0.2).save(c, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(photo))
    r = verify_pair(p, c)
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete


def _black_with_a_stripe(side=100):
    """Black but for a white stripe across its top left corner (a phantom's crop): below the
    stripe every row is one flat colour."""
    im = Image.new("RGB", (side, side), (0, 0, 0))
    ImageDraw.Draw(im).line((0, int(0.25 * side), int(0.15 * side), 0), fill=(250, 250, 250), width=5)
    return im


@pytest.mark.parametrize("kept_format", ["JPEG2000", "TIFF"])
def test_a_grey_band_over_a_flat_part_of_the_kept_copy_is_the_kept_copys_damage(tmp_path, kept_format):
    # both sides are flat along the band's rows, each at its own level, so each side's run was a
    # "band" where the other shows another colour: the scores tied and the good copy was damaged
    kept = tmp_path / ("C1332598.jp2" if kept_format == "JPEG2000" else "C1332598.tif")
    banded = grey_band(_black_with_a_stripe(), 0.56, 0.44)
    banded.save(kept, kept_format, **({"quality_mode": "rates", "quality_layers": [8], "irreversible": True}
                                      if kept_format == "JPEG2000" else {}))
    copy = tmp_path / "C1332598.jpg"
    copy.write_bytes(jpeg_bytes(_black_with_a_stripe()))
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("match_corrupt", "match"), r.reasons
    assert not r.safe_to_delete and 0.45 < r.region["top"] < 0.6
    # and the mirror: the band in the copy, the kept picture black there
    kept.unlink()
    _black_with_a_stripe().save(kept, kept_format)
    copy.write_bytes(jpeg_bytes(banded))
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("cleanup_corrupt", "cleanup"), r.reasons


@pytest.mark.parametrize("name, box", [("astronaut", (0, 0)), ("coffee", (100, 50)), ("camera", (200, 150))])
def test_a_grey_fill_over_the_kept_copys_own_banner_is_the_copys_damage(tmp_path, name, box):
    # the kept picture has a white bar of its own across it; the copy a grey fill in those rows. Both
    # runs step away from the picture beside them, so the step alone named the kept copy damaged (an
    # attack: 23 of 32 such pairs); the copy's fill does not go on into the picture around it
    from skimage import data
    a = np.asarray(Image.fromarray(getattr(data, name)()).convert("L"))[box[1]:box[1] + 300, box[0]:box[0] + 300].copy()
    kept_a, copy_a = a.copy(), a.copy()
    kept_a[120:150] = 255 if np.median(a[119]) < 128 else 0
    copy_a[120:150] = 128
    kept = tmp_path / "C3000002.png"
    Image.fromarray(kept_a).save(kept)
    copy = tmp_path / "C3000002b.png"
    Image.fromarray(copy_a).save(copy)
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("cleanup_corrupt", "cleanup"), r.reasons


def _moon(x, y, side=128):
    """A crop of the moon's plain surface (grey std ~3): too little detail to tell it from
    another crop where that is all there is."""
    from skimage import data
    return Image.fromarray(data.moon()[y:y + side, x:x + side]).convert("RGB")


def _banded_jp2(im, path, top=0.51):
    grey_band(im, top, 1.0 - top).save(path, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)


def test_a_named_copy_of_a_plain_kept_picture_with_a_band_is_the_kept_copys_damage(tmp_path):
    # the half above the band is too plain to tell pictures apart; the name tells, the proof checks
    # it at full detail: "different" hid a damaged kept copy whose only good copy this is
    kept = tmp_path / "C1293003.jp2"
    _banded_jp2(_moon(256, 0), kept)
    copy = tmp_path / "C1293003b.jpg"
    copy.write_bytes(jpeg_bytes(_moon(256, 0)))
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side, r.match or kept.name) == ("match_corrupt", "match", kept.name), r.reasons
    assert not r.safe_to_delete
    # unnamed, the plain half proves nothing
    other = tmp_path / "IMG_0001.jpg"
    other.write_bytes(jpeg_bytes(_moon(256, 0)))
    assert verify_pair(other, kept).verdict == "different"


def test_another_plain_picture_named_after_a_banded_kept_copy_is_still_different(tmp_path):
    # another crop of the moon agrees with the kept crop's plain top turned 180 degrees at the
    # screen; the name lets the screen pass it, and the proof, with too little to judge, refuses it
    kept = tmp_path / "K0103.jp2"
    _banded_jp2(_moon(8, 310), kept, top=0.55)
    copy = tmp_path / "K0103.jpg"
    copy.write_bytes(jpeg_bytes(_moon(242, 109)))
    r = verify_pair(copy, kept)
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


def test_unreadable_canonical_paired_by_id(tmp_path, photo):
    c = tmp_path / "C0001000.tif"
    photo.save(c, "TIFF", compression="tiff_lzw")
    c.write_bytes(c.read_bytes()[: 300])
    p = tmp_path / "C1000b.jpg"
    p.write_bytes(jpeg_bytes(photo))
    r = verify_pair(p, c)
    assert r.verdict == "match_corrupt" and not r.safe_to_delete
    q = tmp_path / "IMG_1.jpg"
    q.write_bytes(jpeg_bytes(photo))
    assert verify_pair(q, c).verdict == "different"


@pytest.mark.parametrize("make", [lambda im: edited(im, (0.3, 0.3, 0.42, 0.42)), lambda im: reframed(im, 0.05)])
def test_near_miss_rejected(tmp_path, canon, photo, make):
    r = _v(tmp_path, canon, "n.jpg", data=jpeg_bytes(make(photo)))
    assert r.verdict == "different" and not r.safe_to_delete


@pytest.mark.parametrize("size", [(160, 122), (166, 120), (156, 120), (320, 235)])   # 1.7 %, 3.7 %, 2.5 %, 2.1 % off
def test_a_copy_stretched_along_one_axis_is_different_by_its_size(tmp_path, photo, size):
    # the proof brings the kept picture to the copy's width and height, each by its own scale: a stretched copy was
    # "the same picture at full detail" (an attack's 85 of 85, 0.8-7 % off). One scale of the whole frame, by the sizes
    kept = tmp_path / "C0001000.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C0001000_a.jpg"
    copy.write_bytes(jpeg_bytes(photo.resize(size, Image.LANCZOS), 90))
    r = verify_pair(copy, kept)
    assert r.verdict == "different" and not r.safe_to_delete, (r.verdict, r.reasons)
    assert r.reasons[-1].startswith("stretched: the copy is") and f"{size[0]}x{size[1]} against 320x240" in r.reasons[-1]
    # the control: the kept picture at one scale, its sides rounded either way
    for one_scale in ((160, 120), (161, 121), (107, 80), (106, 79)):
        copy.write_bytes(jpeg_bytes(photo.resize(one_scale, Image.LANCZOS), 90))
        t = verify_pair(copy, kept)
        assert t.verdict == "duplicate" and t.safe_to_delete, (one_scale, t.reasons)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_a_thumbnail_of_another_page_in_the_same_layout_is_not_safe_to_delete(tmp_path, seed):
    # at 24-48 px a page's letters are below the copy's pixels: every page of one layout is the same grey, and an
    # attack's copies of other pages, named as the kept page or found by content, were safe duplicates (24 of 24 at
    # 24 and 32 px; these three, proof 1.43). The copy holds too little of the kept page's detail for the proof to tell
    def page(k):
        return text_page((800, 1100), k, font=16, pitch=23, words=10, left=80, top=80, bottom=90)
    kept = tmp_path / "C0002000.tif"
    page(1).save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C0002000_a.jpg"
    copy.write_bytes(jpeg_bytes(page(seed).resize((24, 33), Image.LANCZOS), 90))
    r = verify_pair(copy, kept)
    assert not r.safe_to_delete, (r.verdict, r.reasons)
    assert r.verdict != "duplicate" or any(x.startswith("too small to prove at the detail of the content") for x in r.reasons)
    # the kept page's own thumbnail is not safe either (the proof cannot tell it from the other's); a 25 % copy is
    copy.write_bytes(jpeg_bytes(page(1).resize((24, 33), Image.LANCZOS), 90))
    own = verify_pair(copy, kept)
    assert own.verdict == "duplicate" and not own.safe_to_delete and "too small to prove" in own.reasons[-2], own.reasons
    copy.write_bytes(jpeg_bytes(page(1).resize((200, 275), Image.LANCZOS), 90))
    assert verify_pair(copy, kept).safe_to_delete


def test_unrelated_different(tmp_path, canon, photo2):
    assert _v(tmp_path, canon, "u.jpg", data=jpeg_bytes(photo2)).verdict == "different"


def test_bigger_cleanup_never_safe(tmp_path, photo):
    small = tmp_path / "C0001000.tif"
    photo.resize((160, 120), Image.LANCZOS).save(small, "TIFF")
    p = tmp_path / "big.png"
    photo.save(p)
    r = verify_pair(p, small)
    assert r.verdict == "duplicate" and not r.safe_to_delete and any("holds more pixels" in x for x in r.reasons)


def test_more_pages_or_bits_never_safe(tmp_path, photo, photo2):
    c = tmp_path / "C0001000.tif"
    photo.save(c, "TIFF")
    p = tmp_path / "multi.tif"
    photo.save(p, "TIFF", save_all=True, append_images=[photo2])
    r = verify_pair(p, c)
    assert r.verdict in ("identical", "duplicate") and not r.safe_to_delete
    g8 = tmp_path / "C0002000.png"
    photo.convert("L").save(g8)
    g16 = tmp_path / "g16.png"
    Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257).save(g16)
    r = verify_pair(g16, g8)
    assert r.verdict in ("identical", "duplicate") and not r.safe_to_delete


def test_near_blank_pages_differing_only_by_page_number_are_different(tmp_path):
    from PIL import ImageDraw, ImageFont
    f = ImageFont.load_default(size=11)
    pages = []
    for n in (41, 42):
        im = Image.new("RGB", (320, 450), (240, 240, 238))
        ImageDraw.Draw(im).text((152, 420), str(n), fill=(30, 30, 30), font=f)
        pages.append(im)
    a = tmp_path / "C0005000.png"
    pages[0].save(a)
    b = tmp_path / "C0005000b.jpg"
    pages[1].save(b, quality=90)
    r = verify_pair(b, a)
    assert r.verdict == "different" and not r.safe_to_delete
    assert r.region is not None and r.region["top"] > 0.8      # the page number's tile is outlined
    same = tmp_path / "C0005000c.jpg"
    pages[0].save(same, quality=90)
    assert verify_pair(same, a).verdict == "duplicate"


def test_constant_pictures_with_equal_decoded_pixels_are_identical(tmp_path):
    a = tmp_path / "C0005000.png"
    Image.new("RGB", (200, 150), (240, 240, 240)).save(a)
    b = tmp_path / "blank.jpg"
    Image.new("RGB", (200, 150), (240, 240, 240)).save(b, quality=95)
    r = verify_pair(b, a)
    assert r.verdict == "identical" and "same decoded pixels" in r.reasons[0]


def test_decide_file_handles_unreadable_and_no_match(tmp_path):
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0 nothing")
    a = analyse_file(p)
    assert decide_file(a, []).verdict == "unreadable"
    good = tmp_path / "g.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    assert decide_file(analyse_file(good), []).verdict == "no_match"


def test_decide_file_puts_the_kept_copy_the_name_points_to_before_another_that_shows_the_picture():
    # seed 803: a banded chessboard crop's copy was "rotated" against another crop of the same
    # board, not match_corrupt against its own kept copy: the copy may be what repairs it
    from matching import FileAnalysis, PairResult
    own = PairResult(diff_score=0.008, local_score=0.047, verdict="match_corrupt", corrupt_side="match",
                     match="C1308841.jp2", via="id+content")
    twin = PairResult(diff_score=0.0007, local_score=0.0048, rotation=180, verdict="rotated",
                      match="C1269246.tif", via="content")
    copy = FileAnalysis(status="ok")
    assert decide_file(copy, [twin, own]).match == "C1308841.jp2"
    # found by its content only, a damaged kept copy still comes after an intact one
    found = PairResult(**{**own.__dict__, "via": "content"})
    assert decide_file(copy, [twin, found]).match == "C1269246.tif"
    # seed 816: a mirrored copy named after its kept copy is not made a safe duplicate by a twin
    turned = PairResult(diff_score=0.006, local_score=0.02, rotation=90, flipped=True, verdict="rotated",
                        match="C1197975.jp2", via="id+content")
    twin_safe = PairResult(diff_score=0.0067, local_score=0.0207, verdict="duplicate", safe_to_delete=True,
                           match="C1269246.tif", via="content")
    d = decide_file(copy, [twin_safe, turned])
    assert d.match == "C1197975.jp2" and d.verdict == "rotated" and not d.result.safe_to_delete


def test_a_copy_its_named_kept_copy_reproduces_but_for_an_edit_is_not_made_safe_by_another():
    # proof 1.14's attack: a copy lifted by 3 levels in a 42 px box, "different" against its own
    # TIFF (reproduced pixel for pixel elsewhere), was a safe duplicate of a JPEG 2000 upscale of the
    # same picture, found by its content
    from matching import FileAnalysis, PairResult
    own = PairResult(diff_score=0.004, local_score=0.02, verdict="different", match="C1000001.tif", via="id+content",
                     proof={"reproduction": {"share": 0.996, "worst": 1.0, "windows": 3}})   # (worst: rounded)
    twin = PairResult(diff_score=0.005, local_score=0.03, verdict="duplicate", safe_to_delete=True,
                      match="C2000002.jp2", via="content")
    copy = FileAnalysis(status="ok")
    d = decide_file(copy, [twin, own])
    assert d.verdict == "different" and d.match == "C1000001.tif" and not d.result.safe_to_delete
    cells = PairResult(**{**own.__dict__, "proof": {"reproduction": {"share": 0.93, "worst": 0.0, "cells": 4}}})
    assert decide_file(copy, [twin, cells]).verdict == "different"
    # "different" for another reason (not reproduced: another picture, a mislabelled name), or found by
    # content alone: the twin's proof stands
    other = PairResult(**{**own.__dict__, "proof": {"reproduction": None}})
    assert decide_file(copy, [twin, other]).match == "C2000002.jp2"
    by_content = PairResult(**{**own.__dict__, "via": "content"})
    assert decide_file(copy, [twin, by_content]).match == "C2000002.jp2"


def test_a_copy_in_another_colour_balance_than_its_named_lossless_kept_copy_is_not_made_safe_by_a_lossy_twin():
    # proof 1.15: a shot 1 % off in colour balance, "different" against its own PNG, was a safe
    # duplicate of an 8:1 JPEG 2000 of the same picture kept beside it (held to a wider limit there)
    from matching import FileAnalysis, PairResult
    own = PairResult(diff_score=0.004, local_score=0.02, verdict="different", match="C1000001.png", via="id+content",
                     proof={"balance": {"shift": [-5.23, 1.2], "limit": 1.2, "beyond": True}})
    twin = PairResult(diff_score=0.005, local_score=0.03, verdict="duplicate", safe_to_delete=True,
                      match="C2000002.jp2", via="content")
    copy = FileAnalysis(status="ok")
    d = decide_file(copy, [twin, own])
    assert d.verdict == "different" and d.match == "C1000001.png" and not d.result.safe_to_delete
    # the shift is rounded where it is recorded: "beyond" decides, not the rounded numbers (1.2004 > 1.2)
    at_limit = PairResult(**{**own.__dict__, "proof": {"balance": {"shift": [1.2, 0.0], "limit": 1.2, "beyond": True}}})
    assert decide_file(copy, [twin, at_limit]).verdict == "different"
    within = PairResult(**{**own.__dict__, "proof": {"balance": {"shift": [1.2, 0.0], "limit": 1.2, "beyond": False}}})
    assert decide_file(copy, [twin, within]).match == "C2000002.jp2"


def test_a_copy_marked_where_its_named_kept_page_is_plain_is_not_made_safe_by_a_lossier_twin():
    # proof 1.16: a mark the plain-part test finds against the kept copy the name points to is an edit
    # of that page, whatever a lossier twin of it (whose unevenness widens each block's limit) says
    from matching import FileAnalysis, PairResult
    own = PairResult(diff_score=0.004, local_score=0.01, verdict="different", match="B1000001.tif", via="id",
                     proof={"plain": {"worst": 1.6, "blocks": 4200, "beyond": 5}})
    twin = PairResult(diff_score=0.005, local_score=0.02, verdict="duplicate", safe_to_delete=True,
                      match="B2000002.jp2", via="content")
    copy = FileAnalysis(status="ok")
    d = decide_file(copy, [twin, own])
    assert d.verdict == "different" and d.match == "B1000001.tif" and not d.result.safe_to_delete
    within = PairResult(**{**own.__dict__, "proof": {"plain": {"worst": 0.7, "blocks": 4200, "beyond": 0}}})
    assert decide_file(copy, [twin, within]).match == "B2000002.jp2"
    # the tone test's finding on the flat parts too (look-alike seed 101: a shot 1 % warmer, "another colour
    # balance" there against its PNG, was a safe duplicate of the JPEG 2000 twin)
    toned = PairResult(**{**own.__dict__, "proof": {"tone": {"shift": [2.3, -0.3, -3.9], "limit": 1.1, "pixels": 9000,
                                                             "beyond": True}}})
    assert decide_file(copy, [twin, toned]).verdict == "different"


def _gravel():
    from skimage import data
    a = data.gravel()[:256, :256]
    return Image.fromarray(np.ascontiguousarray(np.stack([a] * 3, axis=2)).astype(np.uint8))


@pytest.mark.parametrize("top", [0.4, 0.7])
def test_thin_band_in_lossy_jp2_of_textured_canonical_match_corrupt(tmp_path, top):
    # a thin grey band in a lossy JPEG 2000 of a busy picture: wavelet ringing speckles the band
    # (row std 2-5, not "flat"), yet it is damage: the clean-up copy is the only good one left
    im = _gravel()
    c = tmp_path / "C0001000.jp2"
    grey_band(im, top, 0.08).save(c, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(im))
    r = verify_pair(p, c)
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete
    assert r.region and r.region["top"] < top + 0.04 and r.region["bottom"] > top + 0.04


@pytest.mark.parametrize("top", [40, 80])
def test_a_grey_band_speckled_in_a_jp2_over_grass_near_its_grey_is_the_kept_copys_damage(tmp_path, top):
    # grass 20-40 levels off the band's grey, its texture 11-25 against the band's speckle of 1-7:
    # under the strong rule's floor and the speckled rule's mean; the kept copy's own residue is a
    # fraction of the copy's along the rows (muted_ratio)
    from skimage import data
    src = Image.fromarray(data.camera()[384:512, 128:256]).convert("RGB")
    a = np.asarray(src).copy()
    a[top:top + 13] = 128
    c = tmp_path / "C0001000.jp2"
    Image.fromarray(a).save(c, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(src))
    r = verify_pair(p, c)
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete


def test_textured_lossy_copies_stay_safe_and_edits_rejected(tmp_path):
    im = _gravel()
    c = tmp_path / "C0001000.jp2"
    im.save(c, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(im.resize((128, 128), Image.LANCZOS), 75))
    r = verify_pair(p, c)
    assert r.verdict == "duplicate" and r.safe_to_delete
    q = tmp_path / "n.jpg"
    q.write_bytes(jpeg_bytes(edited(im, (0.3, 0.5, 0.45, 0.62), (128, 128, 128))))
    assert verify_pair(q, c).verdict == "different"


@pytest.mark.parametrize("kept_format", ["tif", "jp2"])
def test_a_small_bright_patch_is_not_a_safe_duplicate_whatever_the_kept_format(tmp_path, photo, kept_format):
    # deleting the clean-up copy would lose the patch: the kept copy's own loss must not hide it
    c = tmp_path / f"C0001000.{kept_format}"
    if kept_format == "jp2":
        photo.save(c, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    else:
        photo.save(c, "TIFF", compression="tiff_lzw")
    a = np.asarray(photo).astype(int)
    y, x = int(0.85 * a.shape[0]), int(0.85 * a.shape[1])
    a[y:y + 10, x:x + 10] = np.clip(a[y:y + 10, x:x + 10] + 200, 0, 255)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(Image.fromarray(a.astype(np.uint8))))
    r = verify_pair(p, c)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)

@pytest.mark.parametrize("side", ["clean-up", "kept", "both"])
def test_a_jpeg_without_its_end_marker_is_judged_by_its_whole_picture_an_edit_different_the_same_picture_damaged(
        tmp_path, photo, side):
    """A reviewer's edits saved without their end marker were damaged copies of the kept picture (348 of 362):
    the edit was taken for the damage. Every scan of such a file decodes whole, so nothing is the damage's;
    the same picture is still a malformed file, so a damaged copy on its side (the kept one's, if both), never
    safe."""
    kept, copy = photo, photo.resize((240, 180), Image.LANCZOS)
    edit = edited(copy, (0.5, 0.2, 0.7, 0.4), (30, 30, 30))
    k = tmp_path / ("C0001000.tif" if side == "clean-up" else "C0001000.jpg")
    if side == "clean-up":
        kept.save(k, "TIFF")
    else:
        k.write_bytes(jpeg_bytes(kept, 92)[:-2])
    cut = 0 if side == "kept" else 2
    same, other = tmp_path / "same.jpg", tmp_path / "edit.jpg"
    same.write_bytes(jpeg_bytes(copy, 85)[:len(jpeg_bytes(copy, 85)) - cut])
    other.write_bytes(jpeg_bytes(edit, 85)[:len(jpeg_bytes(edit, 85)) - cut])
    r = verify_pair(other, k)
    assert r.verdict == "different" and r.corrupt_side == "none", (r.verdict, r.reasons)
    r = verify_pair(same, k)
    assert (r.verdict, r.corrupt_side) == (("cleanup_corrupt", "cleanup") if side == "clean-up" else ("match_corrupt", "match"))
    assert not r.safe_to_delete and "ends without its end-of-image marker" in r.reasons[0]
    assert any(w.startswith("same picture at full detail") for w in r.reasons)


def test_a_jpeg_cut_by_a_byte_more_than_its_end_marker_is_still_a_damaged_copy_by_the_damage_rules(tmp_path, photo):
    k = tmp_path / "C0001000.tif"
    photo.save(k, "TIFF")
    data = jpeg_bytes(photo.resize((240, 180), Image.LANCZOS), 85)
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[:-3])
    r = verify_pair(p, k)
    assert r.verdict == "cleanup_corrupt" and not any("end-of-image marker" in w for w in r.reasons), r.reasons


# --- the verdict policy: one set each, one approval rule, one relation check --------------------

from types import SimpleNamespace  # noqa: E402

from matching.verdict import (  # noqa: E402
    BULK_APPROVABLE_VERDICTS, CURATOR_APPROVABLE_VERDICTS, ENGINE_SAFE_VERDICTS, VERDICTS, PairResult,
    approval_refusal, deletion_refusal, holds_at_least_as_much, not_safe_words, relation_change, turn_words,
    verdict_rank,
)


def _copy(w=100, h=80, pages=1, bit_depth=8, fmt="PNG"):
    return SimpleNamespace(width=w, height=h, pages=pages, bit_depth=bit_depth, format=fmt)


def test_policy_sets_nest_and_an_unknown_verdict_is_an_error():
    assert BULK_APPROVABLE_VERDICTS <= ENGINE_SAFE_VERDICTS <= CURATOR_APPROVABLE_VERDICTS <= set(VERDICTS)
    assert [verdict_rank(v) for v in VERDICTS] == sorted(verdict_rank(v) for v in VERDICTS)
    with pytest.raises(ValueError, match="unknown verdict"):
        verdict_rank("dupliacte")
    with pytest.raises(ValueError):
        approval_refusal(verdict="dupliacte", corrupt_side="none", kept=_copy(), cleanup=_copy(), kept_intact=True)


@pytest.mark.parametrize("verdict, corrupt_side, kept, cleanup, intact, allowed", [
    ("rotated", "none", _copy(), _copy(), True, True),
    ("cleanup_corrupt", "cleanup", _copy(), _copy(), True, True),
    ("cleanup_corrupt", "cleanup", _copy(), _copy(), False, False),     # the kept copy is damaged too
    ("rotated", "match", _copy(), _copy(), True, False),
    ("match_corrupt", "match", _copy(), _copy(), True, False),
    ("different", "none", _copy(), _copy(), True, False),
    ("unreadable", "none", _copy(), _copy(), True, False),
    ("no_match", "none", _copy(), _copy(), True, False),
    ("rotated", "none", _copy(50, 40), _copy(), True, False),            # kept copy holds less
    ("duplicate", "none", _copy(bit_depth=None), _copy(), True, False),  # an unknown bit depth is not "as much"
    ("duplicate", "none", _copy(), _copy(bit_depth=None), True, False),  # on either side
    ("duplicate", "none", _copy(pages=None), _copy(), True, False),
    ("duplicate", "none", _copy(bit_depth=None), _copy(bit_depth=16), True, False),
    ("identical", "none", _copy(), _copy(pages=2), True, False),
])
def test_approval_refusal_is_the_one_rule(verdict, corrupt_side, kept, cleanup, intact, allowed):
    why = approval_refusal(verdict=verdict, corrupt_side=corrupt_side, kept=kept, cleanup=cleanup, kept_intact=intact)
    assert (why == []) is allowed, why


def test_relation_change_requires_the_approved_turn_and_damaged_side():
    approved = {"verdict": "rotated", "rotation": 90, "flipped": False, "corrupt_side": "none"}
    assert relation_change(approved, PairResult(verdict="rotated", rotation=90)) == ""
    assert "turn changed" in relation_change(approved, PairResult(verdict="rotated", rotation=270))
    assert "mirrored" in relation_change(approved, PairResult(verdict="rotated", rotation=90, flipped=True))
    assert "now cleanup_corrupt" in relation_change(approved, PairResult(verdict="cleanup_corrupt", rotation=90,
                                                                         corrupt_side="cleanup"))
    damaged = {"verdict": "cleanup_corrupt", "rotation": 0, "flipped": False, "corrupt_side": "cleanup"}
    assert relation_change(damaged, PairResult(verdict="cleanup_corrupt", corrupt_side="cleanup")) == ""
    # the engine alone calling it safe now is always enough
    assert relation_change(damaged, PairResult(verdict="duplicate", safe_to_delete=True)) == ""
    dup = {"verdict": "duplicate", "rotation": 0, "flipped": False, "corrupt_side": "none"}
    assert relation_change(dup, PairResult(verdict="identical")) == ""


@pytest.mark.parametrize("verdict, reason", [
    ("match_corrupt", "the kept copy is damaged: route this file to reingest instead"),
    ("different", "the engine found a different picture: choose another match or decide not a duplicate"),
    ("unreadable", "this file does not decode: log an error or route it to reingest"),
    ("no_match", "this file has no match to keep: log an error or route it to reingest"),
])
def test_each_verdict_a_curator_may_not_approve_gives_its_own_words(verdict, reason):
    assert approval_refusal(verdict=verdict, corrupt_side="none", kept=_copy(), cleanup=_copy(),
                            kept_intact=True) == [reason]


def test_approval_refusal_says_which_fact_is_short_and_lists_every_reason():
    short = holds_at_least_as_much(_copy(50, 40, pages=None), _copy())
    assert len(short) == 2  # pixels and pages: both named, in the holds rule's own words
    assert approval_refusal(verdict="rotated", corrupt_side="match", kept=_copy(50, 40, pages=None), cleanup=_copy(),
                            kept_intact=True) == [
        "the kept copy is damaged: route this file to reingest instead",
        f"the kept copy is not shown to hold at least as much as this copy ({'; '.join(short)}): reingest it"]
    assert approval_refusal(verdict="duplicate", corrupt_side="none", kept=_copy(), cleanup=_copy(),
                            kept_intact=False) == ["the kept copy is damaged: route this file to reingest instead"]


def test_relation_change_names_what_changed_in_words():
    turned = {"verdict": "rotated", "rotation": 90, "flipped": False, "corrupt_side": "none"}
    # a full turn is no turn, on either side; a missing flipped means not mirrored
    assert relation_change({"verdict": "rotated", "rotation": 360}, PairResult(verdict="rotated", rotation=0)) == ""
    assert relation_change({"verdict": "rotated", "rotation": 0}, PairResult(verdict="rotated", rotation=360)) == ""
    assert relation_change({"verdict": "rotated", "rotation": 90, "flipped": True},
                           PairResult(verdict="rotated", rotation=90)) == (
        "the turn changed: approved " + turn_words(90, True) + ", now " + turn_words(90, False))
    assert relation_change(turned, PairResult(verdict="cleanup_corrupt", rotation=90, corrupt_side="cleanup")) == (
        "the pair is now cleanup_corrupt, not rotated as approved")
    # a verdict the engine would call safe, but not marked safe now: the relation must still hold
    assert relation_change(turned, PairResult(verdict="duplicate", safe_to_delete=False)) == (
        "the pair is now duplicate, not rotated as approved")
    assert relation_change(turned, PairResult(verdict="rotated", rotation=90, safe_to_delete=True)) == ""
    damaged = {"verdict": "cleanup_corrupt", "corrupt_side": "cleanup"}
    assert relation_change(damaged, PairResult(verdict="cleanup_corrupt", corrupt_side=None)) == (
        "the damaged side changed: approved cleanup, now none")
    assert relation_change({"verdict": "cleanup_corrupt"}, PairResult(verdict="cleanup_corrupt",
                                                                      corrupt_side="cleanup")) == (
        "the damaged side changed: approved none, now cleanup")
    assert relation_change({"verdict": "cleanup_corrupt", "corrupt_side": None},
                           PairResult(verdict="cleanup_corrupt", corrupt_side="none")) == ""
    assert relation_change({"verdict": "rotated", "rotation": 90, "corrupt_side": "none"},
                           PairResult(verdict="rotated", rotation=90, corrupt_side=None)) == ""


def _fa(status="ok", **kw):
    return SimpleNamespace(status=status, **{**vars(_copy()), **kw})


def test_deletion_refusal_checks_the_kept_copy_then_the_rule_then_the_relation():
    dup = {"verdict": "duplicate", "rotation": 0, "flipped": False, "corrupt_side": "none"}
    safe = PairResult(verdict="duplicate", safe_to_delete=True)
    assert deletion_refusal(decided=dup, found=safe, kept=_fa(), cleanup=_fa()) == ""
    assert deletion_refusal(decided=dup, found=safe, kept=_fa(status="damaged"), cleanup=_fa()) == (
        "the kept copy does not decode fully (damaged)")
    short = holds_at_least_as_much(_fa(width=50, height=40, pages=None), _fa())
    assert deletion_refusal(decided=dup, found=safe, kept=_fa(width=50, height=40, pages=None), cleanup=_fa()) == (
        f"the kept copy does not hold at least as much: {'; '.join(short)}; reingest this file instead")
    different = PairResult(verdict="different", reasons=["a", "b", "c", "d"])
    assert deletion_refusal(decided=dup, found=different, kept=_fa(), cleanup=_fa()) == (
        "the pair no longer verifies (verdict different: the engine found a different picture: choose another match "
        "or decide not a duplicate; a; b; c)")
    assert deletion_refusal(decided=dup, found=PairResult(verdict="different"), kept=_fa(), cleanup=_fa()) == (
        "the pair no longer verifies (verdict different: the engine found a different picture: choose another match "
        "or decide not a duplicate)")
    turned = {"verdict": "rotated", "rotation": 90, "flipped": False, "corrupt_side": "none"}
    assert deletion_refusal(decided=turned, found=PairResult(verdict="rotated", rotation=90), kept=_fa(),
                            cleanup=_fa()) == ""
    assert deletion_refusal(decided=turned, found=PairResult(verdict="rotated", rotation=180), kept=_fa(),
                            cleanup=_fa()) == (
        "the pair is no longer what was approved: the turn changed: approved " + turn_words(90, False)
        + ", now " + turn_words(180, False))
    # the kept copy found damaged now, on a turned pair: the approval rule refuses it (not only the
    # relation check, which would call it a changed side)
    assert deletion_refusal(decided=turned, found=PairResult(verdict="rotated", rotation=90, corrupt_side="match"),
                            kept=_fa(), cleanup=_fa()) == (
        "the pair no longer verifies (verdict rotated: the kept copy is damaged: route this file to reingest instead)")
    # a safe flag on a verdict the engine never marks safe is not taken for the engine's word
    assert deletion_refusal(decided=dup, found=PairResult(verdict="different", safe_to_delete=True), kept=_fa(),
                            cleanup=_fa()).startswith("the pair no longer verifies (verdict different: ")
    # a file analysis without a status (an older one) counts as decoded
    assert deletion_refusal(decided=dup, found=safe, kept=_copy(), cleanup=_copy()) == ""


def test_not_safe_words_speak_as_a_curator_would():
    words = not_safe_words(verdict="rotated", rotation=90, flipped=False, corrupt_side="none", kept=_copy(),
                           cleanup=_copy(), kept_intact=True)
    assert words == ["turned 90° counter-clockwise: a person must confirm"]
    words = not_safe_words(verdict="rotated", rotation=0, flipped=True, corrupt_side="none", kept=_copy(),
                           cleanup=_copy(), kept_intact=True)
    assert words == ["mirrored: a person must confirm"]
    words = not_safe_words(verdict="rotated", rotation=180, flipped=False, corrupt_side="none", kept=_copy(),
                           cleanup=_copy(), kept_intact=True)
    assert words == ["turned 180°: a person must confirm"]  # half a turn has no direction
    words = not_safe_words(verdict="duplicate", rotation=0, flipped=False, corrupt_side="none", kept=_copy(None, None),
                           cleanup=_copy(450, 560), kept_intact=True)
    assert words and "size is unknown" in " ".join(words) and "0x0" not in " ".join(words)
    words = not_safe_words(verdict="duplicate", rotation=0, flipped=False, corrupt_side="none", kept=_copy(400, 300),
                           cleanup=_copy(800, 600), kept_intact=False)
    assert words == ["the kept copy is damaged",
                     "the clean-up copy holds more pixels (800x600) than the kept copy (400x300)"]


def test_a_lossless_copy_holds_more_than_a_jpeg_of_it_at_the_same_size_but_not_than_a_larger_one():
    """Deleting a lossless copy in favour of a same-size JPEG would keep only the lossy one."""
    from matching.verdict import holds_at_least_as_much

    same = holds_at_least_as_much(_copy(fmt="JPEG"), _copy(fmt="TIFF"))
    assert same and "lossless (TIFF)" in same[0]
    assert approval_refusal(verdict="duplicate", corrupt_side="none", kept=_copy(fmt="JPEG"), cleanup=_copy(fmt="PNG"),
                            kept_intact=True)
    assert holds_at_least_as_much(_copy(400, 320, fmt="JPEG"), _copy(fmt="PNG")) == []  # a lossless thumbnail
    assert holds_at_least_as_much(_copy(fmt="TIFF"), _copy(fmt="JPEG")) == []  # the usual direction
    assert holds_at_least_as_much(_copy(fmt="JPEG"), _copy(fmt="JPEG")) == []


# ---------------------------------------------------------------- the "holds at least as much" rule, on its own


from matching.verdict import holds_at_least_as_much  # noqa: E402


def _held(width=100, height=100, pages=1, bit_depth=8, format="TIFF", mode="RGB"):
    return SimpleNamespace(width=width, height=height, pages=pages, bit_depth=bit_depth, format=format, mode=mode)


def test_holds_rule_equal_copies_hold_as_much():
    assert holds_at_least_as_much(_held(), _held()) == []
    # (16 bits a sample: shown equal by the samples' digest, below)
    sixteen = SimpleNamespace(**vars(_held(bit_depth=16, mode="I;16")), pixel_sha256="cd" * 32)
    assert holds_at_least_as_much(sixteen, sixteen) == []
    # two pages each: only the same bytes are known to hold the same second page (since proof 1.38)
    twin = SimpleNamespace(**vars(_held(pages=2, bit_depth=16)), sha256="ab" * 32)
    assert holds_at_least_as_much(twin, twin) == []


def test_holds_rule_more_pixels_or_a_longer_short_side_in_the_cleanup_copy_holds_more():
    assert len(holds_at_least_as_much(_held(100, 100), _held(101, 100))) == 1
    assert len(holds_at_least_as_much(_held(100, 100), _held(100, 101))) == 1
    # same or fewer pixels, but the clean-up copy's short side is longer: still more detail
    assert len(holds_at_least_as_much(_held(200, 50), _held(90, 90))) == 1
    assert holds_at_least_as_much(_held(200, 100), _held(150, 90)) == []


def test_holds_rule_an_alpha_channel_or_cmyk_separations_the_kept_copy_lacks_hold_more():
    assert holds_at_least_as_much(_held(mode="RGB"), _held(mode="RGBA")) == [
        "the clean-up copy (mode RGBA) has an alpha channel that the kept copy (mode RGB) lacks"]
    assert holds_at_least_as_much(_held(mode="L"), _held(mode="LA")) == [
        "the clean-up copy (mode LA) has an alpha channel that the kept copy (mode L) lacks"]
    assert holds_at_least_as_much(_held(mode="RGB"), _held(mode="CMYK")) == [
        "the clean-up copy (mode CMYK) has CMYK separations that the kept copy (mode RGB) lacks"]
    assert holds_at_least_as_much(_held(mode=""), _held(mode="RGBA")) == [
        "the clean-up copy (mode RGBA) has an alpha channel that the kept copy is not shown to have (its mode is "
        "unknown)"]
    # one without, against a copy without, holds as much; a kept copy with them too, where the samples are the same
    for kept, other in (("RGBA", "RGB"), ("CMYK", "RGB"), ("RGB", "RGB"), ("RGB", "L"), ("L", "RGB"), ("RGB", "P"),
                        ("", "RGB")):
        assert holds_at_least_as_much(_held(mode=kept), _held(mode=other)) == [], (kept, other)
    for kept, other in (("RGBA", "RGBA"), ("LA", "RGBA"), ("CMYK", "CMYK")):
        same = [SimpleNamespace(**vars(_held(mode=mode)), pixel_sha256="ef" * 32) for mode in (kept, other)]
        assert holds_at_least_as_much(*same) == [], (kept, other)


def test_holds_rule_what_8_bit_rgb_does_not_show_holds_more_unless_the_samples_are_the_same():
    # the pair is compared as 8-bit RGB: 16-bit scans burnt by 250 of 65,535 levels, a recalibrated float
    # TIFF, a cut-out against the opaque picture, rich black against plain black plates were "identical" or safe
    def held(mode, bits=8, digest="", sha=""):
        return SimpleNamespace(**vars(_held(mode=mode, bit_depth=bits)), pixel_sha256=digest, sha256=sha)
    words = "which the pair is not compared by (8-bit RGB), and its samples are not shown to be the kept copy's"
    for mode, bits, beyond in (("I;16", 16, "16-bit samples"), ("RGB", 16, "16-bit samples"),
                               ("F", 32, "floating-point samples"), ("RGBA", 8, "an alpha channel"),
                               ("CMYK", 8, "CMYK separations"), ("LAB", 8, "samples in mode LAB")):
        assert holds_at_least_as_much(held(mode, bits, "aa" * 32), held(mode, bits, "bb" * 32)) == [
            f"the clean-up copy holds {beyond}, {words}"], mode
        assert holds_at_least_as_much(held(mode, bits), held(mode, bits)) != [], mode   # (no digests: not shown)
        # the same bytes hold the same samples
        assert holds_at_least_as_much(held(mode, bits, sha="12" * 32), held(mode, bits, sha="12" * 32)) == [], mode
    # equal digests show it where the digest covers every bit: not of a 16-bit RGB PNG (Pillow decodes 8 bits of
    # it), of a TIFF always (tifffile reads what Pillow does not)
    assert holds_at_least_as_much(held("I;16", 16, "aa" * 32), held("I;16", 16, "aa" * 32)) == []
    png = [SimpleNamespace(**{**vars(held("RGB", 16, "aa" * 32)), "format": "PNG"}) for _ in range(2)]
    assert holds_at_least_as_much(*png) != []
    assert holds_at_least_as_much(held("RGB", 16, "aa" * 32), held("RGB", 16, "aa" * 32)) == []   # (TIFF)
    # said once where the channels or the bit depth are refused already
    assert holds_at_least_as_much(held("RGB"), held("RGBA")) == [
        "the clean-up copy (mode RGBA) has an alpha channel that the kept copy (mode RGB) lacks"]
    assert holds_at_least_as_much(held("L"), held("I;16", 16)) == [
        "the clean-up copy has a higher bit depth (16) than the kept copy (8)"]
    # a camera RAW's and a PDF's are governed by their own rules, not read as Pillow modes
    assert holds_at_least_as_much(held("RAW RGBG", 12), held("RAW RGBG", 12)) == []


def test_holds_rule_a_kept_jpeg_coded_coarser_holds_less_unless_it_has_four_times_the_pixels():
    def jpeg(w, h, q):
        return SimpleNamespace(**vars(_held(w, h, format="JPEG")), jpeg_quality=q)
    assert holds_at_least_as_much(jpeg(100, 100, 30), jpeg(90, 90, 95)) == [
        "the kept JPEG is coded coarser (quality 30) than the clean-up copy (quality 95) and has less than 4x its "
        "pixels: it has thrown away detail the clean-up copy holds"]
    assert holds_at_least_as_much(jpeg(100, 100, 84), jpeg(90, 90, 95)) != []
    assert holds_at_least_as_much(jpeg(100, 100, 85), jpeg(90, 90, 95)) == []     # within the margin
    assert holds_at_least_as_much(jpeg(200, 200, 30), jpeg(100, 100, 95)) == []   # four times the pixels
    assert holds_at_least_as_much(jpeg(199, 200, 30), jpeg(100, 100, 95)) != []
    assert holds_at_least_as_much(jpeg(100, 100, None), jpeg(90, 90, 95)) == []   # not estimated: no claim
    assert holds_at_least_as_much(jpeg(100, 100, 95), jpeg(90, 90, 30)) == []


def test_a_fine_jpeg_copy_is_not_deleted_for_a_coarser_kept_jpeg_a_little_larger(tmp_path, photo):
    # the proof compares at the copy's size, where the kept copy's coarse blocks are smoothed away:
    # a q95 copy at 90 % of a q30 kept copy was a safe duplicate, and the better picture
    kept = tmp_path / "C0001000.jpg"
    photo.save(kept, "JPEG", quality=30)
    copy = tmp_path / "C0001000b.jpg"
    photo.resize((round(photo.width * 0.9), round(photo.height * 0.9)), Image.Resampling.LANCZOS).save(
        copy, "JPEG", quality=95)
    r = verify_pair(copy, kept)
    assert not r.safe_to_delete and any("the kept JPEG is coded coarser" in why for why in r.reasons), r.reasons


def test_a_copy_with_transparency_is_not_deleted_for_the_same_picture_flattened(tmp_path, photo):
    # the pair compares flattened RGB: "identical", and the transparency and what lay under it were
    # safe to delete
    rgba = photo.convert("RGBA")
    alpha = Image.new("L", photo.size, 0)
    ImageDraw.Draw(alpha).ellipse((10, 10, photo.width - 10, photo.height - 10), fill=255)
    rgba.putalpha(alpha)
    kept = tmp_path / "C0001000.png"
    flat = Image.new("RGB", photo.size, (255, 255, 255))
    flat.paste(rgba, mask=alpha)
    flat.save(kept)
    copy = tmp_path / "C0001000b.png"
    rgba.save(copy)
    r = verify_pair(copy, kept)
    assert r.verdict == "duplicate" and not r.safe_to_delete   # (not identical: its samples hold the alpha)
    assert any("has an alpha channel that the kept copy (mode RGB) lacks" in why for why in r.reasons), r.reasons
    # and the other way round (the kept copy has it, the copy is the flattened picture): safe
    r = verify_pair(kept, copy)
    assert r.verdict == "duplicate" and r.safe_to_delete, r.reasons


def test_a_copy_holding_more_than_8_bit_rgb_is_safe_only_with_the_kept_copys_samples(tmp_path, photo):
    # the pair is compared as 8-bit RGB: a 16-bit scan burnt by 250 of 65,535 levels, a float TIFF recalibrated,
    # a cut-out against the opaque picture, rich black against plain black plates were "identical" or safe
    def pair(copy, kept, name):
        kept.save(tmp_path / f"K{name}.tif")
        copy.save(tmp_path / f"K{name}b.tif", compression="tiff_adobe_deflate")   # (never the same bytes)
        return verify_pair(tmp_path / f"K{name}b.tif", tmp_path / f"K{name}.tif")
    grey16 = (np.asarray(photo.convert("L"), np.float64) * 257).astype(np.uint16)
    burnt = grey16.copy()
    burnt[20:80, 30:120] -= 250
    unit = grey16 / 65535
    rgba = np.dstack([np.asarray(photo.convert("RGB")), np.full(grey16.shape, 255, np.uint8)])
    rgba[:, :40, :3] = 255                                      # a white margin the kept copy shows opaque
    cutout = rgba.copy()
    cutout[:, :40, 3] = 0                                       # ... cut out of the copy
    plates = np.asarray(photo.convert("CMYK")).copy()
    plates[30:90, 40:140] = (0, 0, 0, 255)                      # plain black
    rich = plates.copy()
    rich[30:90, 40:140, 0] = 100                                # cyan under the black

    def cmyk(a):
        return Image.frombytes("CMYK", photo.size, a.tobytes())
    cases = {"16-bit samples": (Image.fromarray(burnt), Image.fromarray(grey16)),
             "floating-point samples": (Image.fromarray((unit * 2 + 0.3).astype(np.float32)),
                                        Image.fromarray(unit.astype(np.float32))),
             "an alpha channel": (Image.fromarray(cutout), Image.fromarray(rgba)),
             "CMYK separations": (cmyk(rich), cmyk(plates))}
    for n, (beyond, (copy, kept)) in enumerate(cases.items()):
        r = pair(copy, kept, n)
        assert r.verdict == "duplicate" and not r.safe_to_delete, (beyond, r.reasons)
        assert any(f"the clean-up copy holds {beyond}" in why for why in r.reasons), (beyond, r.reasons)
        # the same samples, coded otherwise: identical and safe
        r = pair(kept, kept, f"{n}same")
        assert r.verdict == "identical" and r.safe_to_delete, (beyond, r.reasons)
    Image.fromarray(grey16).save(tmp_path / "K0.png")          # (a PNG's 16-bit samples, a TIFF's)
    r = verify_pair(tmp_path / "K0.png", tmp_path / "K0.tif")
    assert r.verdict == "identical" and r.safe_to_delete, r.reasons
    # 16-bit RGB (Pillow reads 8 bits of it; a TIFF's samples are read by tifffile): the same samples saved
    # uncompressed and LZW are identical; the low bits changed are not
    import tifffile
    rgb16 = (np.asarray(photo.convert("RGB"), np.uint16) * 257)
    lowered = rgb16.copy()
    lowered[20:80, 30:120] ^= 0x3F
    tifffile.imwrite(tmp_path / "R0.tif", rgb16, photometric="rgb")
    tifffile.imwrite(tmp_path / "R0b.tif", rgb16, photometric="rgb", compression="lzw")
    tifffile.imwrite(tmp_path / "R0c.tif", lowered, photometric="rgb", compression="lzw")
    r = verify_pair(tmp_path / "R0b.tif", tmp_path / "R0.tif")
    assert r.verdict == "identical" and r.safe_to_delete, r.reasons
    r = verify_pair(tmp_path / "R0c.tif", tmp_path / "R0.tif")
    assert r.verdict == "duplicate" and not r.safe_to_delete, r.reasons
    assert any("the clean-up copy holds 16-bit samples" in why for why in r.reasons), r.reasons
    # ... planes stored apart, or stored turned with an Orientation tag, are the same samples; the same stored
    # samples tagged to show turned are not (a low-bit edit would show elsewhere)
    tifffile.imwrite(tmp_path / "R0d.tif", np.moveaxis(rgb16, -1, 0), photometric="rgb", planarconfig="separate",
                     compression="zlib", predictor=True)
    tifffile.imwrite(tmp_path / "R0e.tif", np.ascontiguousarray(rgb16[::-1, ::-1]), photometric="rgb",
                     compression="lzw", extratags=[(274, 3, 1, 3, True)])
    tifffile.imwrite(tmp_path / "R0f.tif", rgb16, photometric="rgb", compression="lzw", extratags=[(274, 3, 1, 3, True)])
    for copy, same in (("R0d", True), ("R0e", True), ("R0f", False)):
        r = verify_pair(tmp_path / f"{copy}.tif", tmp_path / "R0.tif")
        assert (r.verdict == "identical" and r.safe_to_delete) == same, (copy, r.verdict, r.reasons)
    # a TIFF's sample format is part of its samples: uint32 and int32 of the same bytes are other numbers
    grey32 = (np.asarray(photo.convert("L"), np.uint32) * 16843009)
    tifffile.imwrite(tmp_path / "S0.tif", grey32)
    tifffile.imwrite(tmp_path / "S0b.tif", grey32.view(np.int32), compression="zlib")
    r = verify_pair(tmp_path / "S0b.tif", tmp_path / "S0.tif")
    assert not (r.verdict == "identical" and r.safe_to_delete), r.reasons


def test_a_png_with_a_colour_key_is_not_deleted_for_the_opaque_picture_and_a_transparent_palette_is_an_rgba_file(
        tmp_path, photo):
    # a tRNS colour key on an RGB PNG was not applied: pixels a viewer shows as holes were compared as the key's
    # colour, and the keyed copy of the opaque picture was "identical" and safe
    rgb = np.asarray(photo.convert("RGB")).copy()
    rgb[10:40, 10:60] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "K0001.png")
    Image.fromarray(rgb).save(tmp_path / "K0001b.png", transparency=(1, 2, 3))
    r = verify_pair(tmp_path / "K0001b.png", tmp_path / "K0001.png")
    assert not r.safe_to_delete and r.verdict != "identical", r.reasons
    # a palette picture with a transparent entry and the same picture as RGBA hold the same samples
    im = Image.new("P", (240, 180), 0)
    im.putpalette([255, 255, 255, 200, 30, 30, 30, 30, 200] + [0] * 759)
    ImageDraw.Draw(im).ellipse((40, 30, 200, 150), fill=1)
    im.save(tmp_path / "K0002.png", transparency=0)
    Image.open(tmp_path / "K0002.png").convert("RGBA").save(tmp_path / "K0002b.png")
    for copy, kept in (("K0002b.png", "K0002.png"), ("K0002.png", "K0002b.png")):
        r = verify_pair(tmp_path / copy, tmp_path / kept)
        assert r.verdict == "identical" and r.safe_to_delete, (copy, r.reasons)


@pytest.mark.parametrize("ext", ["gif", "png"])
def test_a_palette_picture_with_a_transparent_entry_is_not_deleted_for_the_same_picture_flattened(tmp_path, ext):
    # proof 1.26's rule counted alpha by the decoder's mode, and a palette picture with a transparent entry
    # (a GIF's, a PNG's tRNS) reads "P": against the same picture flattened onto white it was "identical" and
    # safe, its transparency gone. It is recorded as "PA" now, as the decoder flattens it; an opaque one stays safe
    im = Image.new("P", (240, 180), 0)
    im.putpalette([255, 255, 255, 200, 30, 30, 30, 30, 200] + [0] * 759)
    ImageDraw.Draw(im).ellipse((40, 30, 200, 150), fill=1)
    ImageDraw.Draw(im).rectangle((90, 60, 150, 120), fill=2)
    for transparent in (True, False):
        copy = tmp_path / f"G000000{int(transparent)}.{ext}"
        im.save(copy, **({"transparency": 0} if transparent else {}))
        kept = tmp_path / f"G000000{int(transparent)}.tif"
        im.convert("RGB").save(kept, "TIFF", compression="tiff_lzw")   # (entry 0 is white: the flattened picture)
        r = verify_pair(copy, kept)
        assert r.verdict == ("duplicate" if transparent else "identical"), r.reasons
        assert r.safe_to_delete == (not transparent), r.reasons
        assert transparent == any("(mode PA) has an alpha channel that the kept copy (mode RGB) lacks" in why
                                  for why in r.reasons), r.reasons


def test_holds_rule_an_unknown_size_on_either_side_never_holds_as_much():
    kept_unknown = ("the kept copy's size is unknown (it did not decode), so the kept copy is not shown to hold "
                    "the clean-up copy's 1x1 pixels")
    assert holds_at_least_as_much(_held(None, 5), _held(1, 1)) == [kept_unknown]
    assert holds_at_least_as_much(_held(5, None), _held(1, 1)) == [kept_unknown]
    # nothing shows a clean-up copy of unknown size holds no more than 5x5
    cleanup_unknown = ["the clean-up copy's size is unknown (it did not decode), so the kept copy is not shown to "
                       "hold the clean-up copy's pixels"]
    assert holds_at_least_as_much(_held(5, 5), _held(None, None)) == cleanup_unknown
    assert holds_at_least_as_much(_held(5, 5), _held(None, 3)) == cleanup_unknown
    assert holds_at_least_as_much(_held(5, 5), _held(3, 0)) == cleanup_unknown
    assert "kept copy and the clean-up copy's size" in holds_at_least_as_much(_held(0, 0), _held(None, None))[0]


def test_holds_rule_an_unknown_page_count_on_either_side_is_refused_with_the_reason():
    assert holds_at_least_as_much(_held(pages=1), _held(pages=2)) == [
        "the clean-up copy has more pages (2) than the kept copy (1)"]
    for kept, cleanup, side in ((None, 2, "kept copy"), (None, None, "kept copy and the clean-up copy"),
                                (1, None, "clean-up copy"), (3, 0, "clean-up copy")):
        why = holds_at_least_as_much(_held(pages=kept), _held(pages=cleanup))
        assert why == [f"the {side}'s page count is unknown (not measured), so the kept copy is not shown to hold "
                       f"as much"], (kept, cleanup)
    # more pages on the kept side are no reason; the clean-up copy's second page is not compared
    assert holds_at_least_as_much(_held(pages=3), _held(pages=2))[0].startswith("the clean-up copy holds 2 pictures")


def test_holds_rule_a_clean_up_file_of_more_than_one_picture_is_refused_unless_its_bytes_are_the_kept_ones():
    # only the first picture is compared: another page, frame, preview or appended picture is not
    # shown to be held by the kept copy, whatever it holds itself
    why = holds_at_least_as_much(_held(pages=2), SimpleNamespace(**vars(_held(pages=2)), pictures=2))
    assert why == ["the clean-up copy holds 2 pictures or parts (pages, frames, previews, data after its picture) and "
                   "only its first picture is compared"]
    # a preview directory or data after its end: one page, two pictures
    assert holds_at_least_as_much(_held(), SimpleNamespace(**vars(_held()), pictures=3))[0].startswith(
        "the clean-up copy holds 3 pictures")
    # measured before pictures were: its page count stands for them (said once where pages are refused)
    assert holds_at_least_as_much(_held(pages=3), _held(pages=2))[0].startswith("the clean-up copy holds 2 pictures")
    assert holds_at_least_as_much(_held(pages=1), _held(pages=2)) == [
        "the clean-up copy has more pages (2) than the kept copy (1)"]
    # the same bytes hold the same pictures (an analysis's sha256, a row's checksum)
    same = SimpleNamespace(**vars(_held(pages=2)), pictures=2, sha256="ab" * 32)
    assert holds_at_least_as_much(same, same) == []
    assert holds_at_least_as_much(SimpleNamespace(**vars(_held(pages=2)), checksum="ab" * 32), same) == []
    other = SimpleNamespace(**vars(_held(pages=2)), pictures=2, sha256="cd" * 32)
    assert holds_at_least_as_much(other, same) != []
    # the kept copy's own pages or previews are no reason: it holds them
    assert holds_at_least_as_much(SimpleNamespace(**vars(_held(pages=2)), pictures=5), _held()) == []


def test_a_tiff_whose_second_page_is_another_picture_is_not_safe(tmp_path, photo, photo2, photo3):
    kept, copy = tmp_path / "C0000123.tif", tmp_path / "C0000123_x.tif"
    photo.save(kept, "TIFF", save_all=True, append_images=[photo2], compression="tiff_lzw")
    photo.save(copy, "TIFF", save_all=True, append_images=[photo3], compression="tiff_lzw")
    r = verify_pair(copy, kept)
    assert r.verdict == "identical" and not r.safe_to_delete, r.reasons
    assert "only its first picture is compared" in " ".join(r.reasons)
    # the same file's bytes: safe, every picture held
    twin = tmp_path / "C0000123_y.tif"
    twin.write_bytes(kept.read_bytes())
    assert verify_pair(twin, kept).safe_to_delete


def test_holds_rule_a_colour_profile_the_kept_copy_lacks_is_refused(tmp_path, photo):
    # an attack's copies of the same pixel numbers tagged ProPhoto or Adobe RGB against untagged kept
    # files were "identical" (56 of 56); they show other colours in any colour-managed viewer
    tagged = SimpleNamespace(**vars(_held()), icc="ROMM RGB [0123456789ab]")
    assert holds_at_least_as_much(SimpleNamespace(**vars(_held()), icc=""), tagged) == [
        "the clean-up copy's colours are shown through a colour profile (ROMM RGB [0123456789ab]) that the kept "
        "copy has not"]
    assert "does not share (Adobe RGB" in holds_at_least_as_much(
        SimpleNamespace(**vars(_held()), icc="Adobe RGB (1998) [fedcba987654]"), tagged)[0]
    assert holds_at_least_as_much(tagged, tagged) == []                                     # the same profile
    assert holds_at_least_as_much(SimpleNamespace(**vars(_held()), icc="ROMM"), SimpleNamespace(**vars(_held()), icc="")) == []
    assert holds_at_least_as_much(_held(), tagged) == []              # not read on the kept side (an older analysis)
    # end to end: the same numbers, tagged, against the untagged kept file
    from PIL import ImageCms
    kept, copy = tmp_path / "C0000321.tif", tmp_path / "C0000321_t.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    photo.save(copy, "TIFF", compression="tiff_lzw", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes())
    r = verify_pair(copy, kept)
    assert r.verdict == "identical" and not r.safe_to_delete and "colour profile (XYZ identity" in " ".join(r.reasons)


def test_holds_rule_an_unknown_bit_depth_on_either_side_is_refused_with_the_reason():
    """A missing bit depth used to count as 8: an unmeasured 16-bit master then looked 'held' by an
    8-bit copy. Unknown is now not 'at least as much', on either side."""
    assert holds_at_least_as_much(_held(bit_depth=8), _held(bit_depth=16)) == [
        "the clean-up copy has a higher bit depth (16) than the kept copy (8)"]
    for kept, cleanup, side in ((None, 8, "kept copy"), (None, 16, "kept copy"), (8, None, "clean-up copy"),
                                (None, None, "kept copy and the clean-up copy")):
        why = holds_at_least_as_much(_held(bit_depth=kept), _held(bit_depth=cleanup))
        assert why == [f"the {side}'s bit depth is unknown (not measured), so the kept copy is not shown to hold "
                       f"as much"], (kept, cleanup)
    # a deeper kept copy: the bit depth is no reason, but 12-bit samples are shown the same by the samples alone
    assert holds_at_least_as_much(_held(bit_depth=16), _held(bit_depth=12)) == [
        "the clean-up copy holds 12-bit samples, which the pair is not compared by (8-bit RGB), and its samples are "
        "not shown to be the kept copy's"]


def test_holds_rule_only_a_raw_kept_copy_stands_in_for_a_raw():
    assert len(holds_at_least_as_much(_held(format="TIFF"), _held(format="DNG"))) == 1
    assert len(holds_at_least_as_much(_held(format=None), _held(format="NEF"))) == 1
    assert holds_at_least_as_much(_held(format="CR2"), _held(format="DNG")) == []
    assert holds_at_least_as_much(_held(format="DNG"), _held(format="TIFF")) == []


def test_holds_rule_only_a_document_kept_copy_stands_in_for_a_document():
    assert len(holds_at_least_as_much(_held(format="JPEG"), _held(format="PDF"))) == 1
    assert holds_at_least_as_much(_held(format="PDF"), _held(format="PDF")) == []
    assert holds_at_least_as_much(_held(format="PDF"), _held(format="PNG")) == []


def test_holds_rule_reports_every_reason_at_once():
    why = holds_at_least_as_much(_held(10, 10, pages=1, bit_depth=8, format="JPEG"),
                                 _held(20, 20, pages=2, bit_depth=16, format="PDF"))
    assert len(why) == 4


def test_holds_rule_reasons_say_what_was_not_measured_instead_of_assuming_a_default():
    why = holds_at_least_as_much(_held(10, 10, pages=None, bit_depth=None, format=None),
                                 _held(20, 20, pages=2, bit_depth=16, format="DNG"))
    assert all(isinstance(w, str) and w for w in why) and len(why) == 4
    assert "kept copy's page count is unknown" in why[1] and "kept copy's bit depth is unknown" in why[2]
    assert "(unknown)" in why[3]
    doc = holds_at_least_as_much(_held(format=None), _held(format="PDF"))
    assert len(doc) == 1 and "kept copy is a unknown picture" in doc[0]


def _damage(r):
    from matching.verdict import damage_score

    return damage_score(corrupt_side=r.corrupt_side, region=r.region)


def test_damage_score_measures_a_grey_band_and_a_truncated_half_that_the_diff_does_not(tmp_path, canon, photo):
    """A damaged copy can agree with its kept copy everywhere it still holds the picture (diff and
    local near 0); the damage score is the damaged share of the picture, so it never looks
    near-identical (the queue's first band ends at 0.005)."""
    band = _v(tmp_path, canon, "g.jpg", data=jpeg_bytes(grey_band(photo, 0.45, 0.12)))
    data = jpeg_bytes(photo)
    half = _v(tmp_path, canon, "t.jpg", data=data[: int(len(data) * 0.5)])
    clean = _v(tmp_path, canon, "c.jpg", data=jpeg_bytes(photo, 92))
    assert 0.1 <= _damage(band) <= 0.3, band.region
    assert 0.35 <= _damage(half) <= 0.75, half.region
    assert _damage(clean) == 0.0 and clean.verdict in ("identical", "duplicate")
    assert min(_damage(band), _damage(half)) > 20 * 0.005


def test_damage_score_without_a_region_is_the_whole_picture_and_own_damage_counts():
    from matching.verdict import damage_score, region_area

    assert region_area({"top": 0.25, "left": 0, "bottom": 0.5, "right": 1}) == 0.25
    assert region_area({"top": 0.5, "bottom": 0.5}) is None and region_area("x") is None
    assert damage_score(corrupt_side="cleanup", region=None) == 1.0
    assert damage_score(corrupt_side="match", region={"top": 0.9, "left": 0, "bottom": 1.2, "right": 1}) == 0.1
    assert damage_score(corrupt_side="none", region={"top": 0, "left": 0, "bottom": 1, "right": 1}) == 0.0
    own = ({"kind": "flat band", "region": {"top": 0.1, "left": 0, "bottom": 0.3, "right": 1}}, None, {"region": None})
    assert damage_score(own_damage=own) == 0.2


# --- attack 13: edits proof 1.3 still calls a safe duplicate ------------------------------------

def _ledger_page(changed_digit=False):
    """A 1240x1754 page (150 dpi A4) of 22 px text lines, each ending in an amount; with
    ``changed_digit`` one amount on line 21 differs in its tens digit (a stroke more or less)."""
    from PIL import ImageDraw, ImageFont
    rng = np.random.default_rng(5)
    im = Image.new("RGB", (1240, 1754), (250, 248, 244))
    d, f = ImageDraw.Draw(im), ImageFont.load_default(size=22)
    words = "the quick brown fox jumps over a lazy dog invoice total amount due page".split()
    for n, y in enumerate(range(90, 1754 - 120, 35)):
        line = " ".join(rng.choice(words, 7)) + f"  {rng.integers(1000, 9999)}.{rng.integers(10, 99)}"
        if changed_digit and n == 20:
            s = list(line)
            s[-2] = "3" if s[-2] == "8" else "8"
            line = "".join(s)
        d.text((90, y), line, fill=(20, 20, 20), font=f)
    return im


def test_a_pencil_line_in_the_margin_of_a_half_size_page_copy_is_not_safe(tmp_path):
    # proof 1.3 let it through: the tile's peak tolerance came from the text's re-encoded edges in
    # the same tile (1 px, 80 grey levels deep, 160 px long); the local peak (proof 1.4) holds it
    page = _ledger_page()
    kept = tmp_path / "C0013000.png"
    page.save(kept)
    a = np.asarray(page.resize((620, 877), Image.LANCZOS)).copy()
    a[350:510, 8] = 168                          # a pencil stroke down the left margin
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(Image.fromarray(a), 90))
    plain = tmp_path / "y.jpg"
    plain.write_bytes(jpeg_bytes(page.resize((620, 877), Image.LANCZOS), 90))
    assert verify_pair(plain, kept).safe_to_delete   # the unedited copy is a safe duplicate
    r = verify_pair(p, kept)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)


def test_a_changed_digit_on_a_half_size_page_copy_is_not_safe(tmp_path):
    # proof 1.3 let it through (a glyph of ~6x8 px, up to 178 grey levels off, under the text tile's
    # peak tolerance); the local peak (proof 1.4) holds it
    kept = tmp_path / "C0013001.png"
    _ledger_page().save(kept)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(_ledger_page(changed_digit=True).resize((620, 877), Image.LANCZOS), 90))
    r = verify_pair(p, kept)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)


def test_a_thin_dark_line_across_a_textured_photograph_copy_is_not_safe(tmp_path):
    # proof 1.3: a 1 px line 60 px long (up to 213 grey levels off) in a tile whose re-encoded edges
    # set its peak tolerance was a safe duplicate
    from skimage import data
    im = Image.fromarray(data.coffee())
    kept = tmp_path / "C0013005.png"
    im.save(kept)
    a = np.asarray(im.resize((300, 200), Image.LANCZOS)).copy()
    a[15, 188:249] = 0
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(Image.fromarray(a), 85))
    r = verify_pair(p, kept)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)


# proof 1.4: the block test's own floor (6 grey levels, was the peak's 10) holds it
def test_a_faint_square_in_a_textured_part_of_a_low_quality_copy_is_not_safe(tmp_path):
    from skimage import data
    im = Image.fromarray(data.astronaut())
    kept = tmp_path / "C0013002.png"
    im.save(kept)
    a = np.asarray(im).astype(int)
    a[346:362, 123:139] += 20
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), 60))
    r = verify_pair(p, kept)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)


# --- attack 13: true copies called different ----------------------------------------------------

def test_a_page_area_averaged_to_85_percent_is_a_safe_duplicate(tmp_path):
    page = _ledger_page()
    kept = tmp_path / "C0013003.png"
    page.save(kept)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(page.resize((1054, 1491), Image.BOX), 90))
    r = verify_pair(p, kept)
    assert r.verdict == "duplicate" and r.safe_to_delete, (r.verdict, r.reasons)


@pytest.mark.xfail(strict=True, reason="proof 1.4's local peak: a page area-averaged (BOX) to 90 % has strokes whose "
                   "2x2 peaks are 1.02-1.31 of the simulation's (bilinear) near them; widening it by area averaging, "
                   "as the block test is, let a changed digit of a half-size copy through (0.96)")
def test_a_page_area_averaged_to_90_percent_is_a_safe_duplicate(tmp_path):
    page = _ledger_page()
    kept = tmp_path / "C0013006.png"
    page.save(kept)
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(page.resize((1116, 1579), Image.BOX), 92))
    r = verify_pair(p, kept)
    assert r.verdict == "duplicate" and r.safe_to_delete, (r.verdict, r.reasons)


def test_a_410_px_jpeg_copy_of_a_512_px_photograph_is_a_safe_duplicate(tmp_path):
    from skimage import data
    im = Image.fromarray(data.astronaut())
    kept = tmp_path / "C0013004.png"
    im.save(kept)
    small = im.resize((410, 410), Image.LANCZOS)
    as_png = tmp_path / "y.png"
    small.save(as_png)
    assert verify_pair(as_png, kept).safe_to_delete   # the same pixels, losslessly
    p = tmp_path / "x.jpg"
    p.write_bytes(jpeg_bytes(small, 95))
    r = verify_pair(p, kept)
    assert r.verdict == "duplicate" and r.safe_to_delete, (r.verdict, r.reasons)


def _phantom_corner(side=133):
    """The top left corner of the Shepp-Logan phantom: black but for the skull's bright arc, so
    most rows and columns are one flat colour."""
    from skimage import data
    g = (np.asarray(data.shepp_logan_phantom()) * 255).astype(np.uint8)[:side, :side]
    return Image.fromarray(np.stack([g] * 3, axis=2))


@pytest.mark.parametrize("turn", [None, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270])
def test_a_tiny_copy_of_a_mostly_flat_picture_is_found_at_its_turn_when_a_wrong_one_scores_best(tmp_path, turn):
    # the wrong turn scored 0.0-0.03 over a sliver both sides trust; the right one came second
    kept = tmp_path / "C1142542.tif"
    _phantom_corner().save(kept, "TIFF")
    small = _phantom_corner().resize((48, 48), Image.Resampling.LANCZOS)
    copy = tmp_path / "C1142542b.jpg"
    (small.transpose(turn) if turn else small).save(copy, "JPEG", quality=85)
    res = verify_pair(copy, kept)
    assert res.verdict == ("duplicate" if turn is None else "rotated"), res.reasons
    assert (res.rotation, res.flipped) == ({None: 0, Image.Transpose.ROTATE_180: 180, Image.Transpose.ROTATE_270: 270}[turn], False)



@pytest.mark.parametrize("box", [(266, 133, 399, 266), (0, 133, 133, 266)])
@pytest.mark.parametrize("turn", [None, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_90])
def test_a_copy_under_96_px_made_pixel_for_pixel_by_our_filter_is_proven_however_little_its_coding_changed(
        tmp_path, box, turn):
    # proof 1.35 (corpus_gen seed 9721): a 133 px crop of the phantom (a 3x3 grid's tile), shrunk to
    # 66 px by Lanczos, turned or not, saved at q88, is the kept picture's reproduction pixel for pixel;
    # but it was too small for the reproducing filter's 96 px parts and its coding changed too few
    # windows for the share, and the screen's worst window (0.087-0.093, the 66 px copy brought up to
    # 256 px beside the 133 px kept picture) made it "different"
    from skimage import data
    crop = Image.open(os.path.join(os.path.dirname(data.__file__), "phantom.png")).convert("RGB").crop(box)
    kept = tmp_path / "C1229651.tif"
    crop.save(kept, "TIFF", compression="tiff_lzw")
    small = (crop.transpose(turn) if turn else crop).resize((66, 66), Image.Resampling.LANCZOS)
    copy = tmp_path / "C1229651.jpg"
    small.save(copy, "JPEG", quality=88)
    res = verify_pair(copy, kept)
    assert res.verdict == ("duplicate" if turn is None else "rotated"), res.reasons
    # the same copy with a 3x3 px dot 60 levels darker on the phantom's bright parts: not safe
    a = np.asarray(small).copy()
    y, x = np.argwhere(np.asarray(small.convert("L"))[2:-2, 2:-2] > 60)[0] + 2
    a[y - 1:y + 2, x - 1:x + 2] = np.clip(a[y - 1:y + 2, x - 1:x + 2].astype(int) - 60, 0, 255)
    Image.fromarray(a).save(copy, "JPEG", quality=88)
    res = verify_pair(copy, kept)
    assert not res.safe_to_delete and res.verdict not in ("duplicate", "identical", "rotated"), (res.verdict, res.reasons)

@pytest.mark.parametrize("resample", [Image.Resampling.BOX, Image.Resampling.LANCZOS])
def test_a_line_drawn_before_a_64_px_copy_was_made_is_an_edit_that_the_reproduction_shows(tmp_path, resample):
    # proof 1.35: a 2 px line 70 levels off the coffee's crop, shrunk to 64 px (a 1 px line, ~35 levels)
    # and saved at q70, was a safe duplicate: read whole, it took every filter over 2 levels RMS from
    # the copy, and no filter reproduced the rest; the tile tests allowed it at 0.38 of their tolerance
    from skimage import data
    crop = Image.fromarray(data.coffee()).crop((0, 0, 128, 128))
    kept = tmp_path / "C1.tif"
    crop.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C1.jpg"
    crop.resize((64, 64), resample).save(copy, "JPEG", quality=70)
    res = verify_pair(copy, kept)
    assert res.verdict == "duplicate" and res.safe_to_delete, res.reasons
    edited_im = crop.copy()
    level = int(np.asarray(edited_im.convert("L"))[40:60, 40:70].mean())
    ImageDraw.Draw(edited_im).line((40, 50, 70, 56), fill=(level - 70,) * 3 if level >= 128 else (level + 70,) * 3, width=2)
    edited_im.resize((64, 64), resample).save(copy, "JPEG", quality=70)
    res = verify_pair(copy, kept)
    assert res.verdict == "different" and "windows differ" in res.reasons[-1], (res.verdict, res.reasons)

@pytest.mark.parametrize("size", [72, 59])
def test_a_corner_lifted_in_a_small_copy_reproduced_everywhere_else_is_an_edit(tmp_path, size):
    # proof 1.35 (an attack on it): a page kept as TIFF, its last 10-12 px square lifted by 20 levels, shrunk
    # to 72 px (59 px) by bilinear and saved at q90: the copy's last 2x2 px off by up to 17. The
    # reproduction test, now run under 96 px, judged the last row of windows against itself (72 px: 17
    # rows, alone in its last cell) or not at all (59 px: the last 3 columns unread), and the copy was a
    # safe duplicate; the even-loss test it stands in for refused it
    page = text_page((360, 360), 5, font=14, left=20, top=20, bottom=20, pitch=22, words=5, paper=(226, 225, 221))
    kept = tmp_path / "C120023.tif"
    page.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C120023_v.jpg"
    page.resize((size, size), Image.Resampling.BILINEAR).save(copy, "JPEG", quality=90)
    res = verify_pair(copy, kept)
    assert res.verdict == "duplicate" and res.safe_to_delete, res.reasons
    a = np.asarray(page).astype(int)
    k = 360 * 2 // size                           # the copy's last 2 px in the kept picture's pixels
    a[-k:, -k:] += 20
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR).save(
        copy, "JPEG", quality=90)
    res = verify_pair(copy, kept)
    assert not res.safe_to_delete and res.verdict == "different", (res.verdict, res.reasons)


@pytest.mark.parametrize("size,where", [((905, 679), "row"), ((1001, 767), "column")])
def test_a_lossless_copy_with_its_last_row_or_column_overwritten_is_not_the_same_picture(tmp_path, photo, size, where):
    # proof 1.35 (an attack): the pixel test's windows left out the last rows and columns short of 4 px,
    # and a PNG copy of a kept TIFF of one size with its last row (column) overwritten, up to 255 levels
    # off, was "every tile within the noise floors", a safe duplicate
    kept_im = photo.resize(size, Image.Resampling.LANCZOS)
    kept = tmp_path / "C111016.tif"
    kept_im.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C111016_v.png"
    kept_im.save(copy, "PNG")
    assert verify_pair(copy, kept).verdict == "identical"
    a = np.asarray(kept_im).copy()
    if where == "row":
        a[-1, :] = 255 - a[-1, :]
    else:
        a[:, -1] = 255 - a[:, -1]
    Image.fromarray(a).save(copy, "PNG")
    res = verify_pair(copy, kept)
    assert not res.safe_to_delete and res.verdict == "different", (res.verdict, res.reasons)

def test_a_region_lifted_in_a_small_copy_is_turned_away_at_the_screen_where_the_proof_alone_would_pass_it(tmp_path):
    # attack on proof 1.5: letting undamaged pairs past the screen's local limit (0.085) up to 0.17,
    # for the full-detail proof to decide, made this edited copy (a quarter of the picture lifted by
    # 25 grey levels, a 33 % q60 copy of a q85 kept copy) a safe duplicate at 0.92 of its tolerance
    from skimage import data
    kept_im = Image.fromarray(data.coffee())
    w, h = kept_im.size
    a = np.asarray(kept_im).astype(int)
    a[h // 4:h // 2, w // 4:w // 2] += 25
    kept = tmp_path / "C0000003.jpg"
    kept_im.save(kept, "JPEG", quality=85)
    copy = tmp_path / "C0000003b.jpg"
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).resize((round(w * 0.33), round(h * 0.33)),
                                                                Image.Resampling.LANCZOS).save(copy, "JPEG", quality=60)
    res = verify_pair(copy, kept)
    assert res.verdict == "different" and not res.safe_to_delete
    assert res.local_score > THRESHOLDS.same_local and "local difference" in res.reasons[0]


@pytest.mark.parametrize("side", [250, 120])
def test_line_art_turned_upside_down_is_never_a_safe_duplicate(tmp_path, side):
    # attack on proof 1.5: re-proving a pair found at a turn as it stands (for pictures symmetric
    # under a turn) made a circle with a line and a letter R, flipped top to bottom, a safe duplicate
    from PIL import ImageDraw, ImageFont
    art = Image.new("L", (1000, 1000), 255)
    g = ImageDraw.Draw(art)
    g.ellipse((200, 200, 800, 800), outline=0, width=6)
    g.line((500, 200, 500, 800), fill=0, width=4)
    g.text((520, 480), "R", fill=0, font=ImageFont.load_default(size=40))
    kept = tmp_path / "C0000004.png"
    art.save(kept)
    copy = tmp_path / "C0000004b.jpg"
    art.transpose(Image.Transpose.FLIP_TOP_BOTTOM).resize((side, side), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=75)
    res = verify_pair(copy, kept)
    assert not res.safe_to_delete and res.verdict in ("rotated", "different"), res.reasons

def _text_lines(size=(800, 360), seed=1):
    """Lines of small dark text on white, with white margins: a screenshot or a page of print."""
    return text_page(size, seed, font=16, left=20, top=20, bottom=20, pitch=26, words=14, paper=(255, 255, 255),
                     ink=(40, 40, 40))


@pytest.mark.parametrize("scale", [0.23, 0.3])
def test_text_shrunk_to_a_quarter_is_a_duplicate_not_damaged_in_every_gap_between_its_lines(tmp_path, scale):
    # the white gaps between lines, exactly flat in the kept copy beside the small copy's ringing,
    # were each a "damage band": match_corrupt, or too little intact picture to compare
    page = _text_lines()
    kept = tmp_path / "C0000002.png"
    page.save(kept)
    copy = tmp_path / "C0000002b.jpg"
    page.resize((round(800 * scale), round(360 * scale)), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=75)
    res = verify_pair(copy, kept)
    assert res.verdict == "duplicate" and res.corrupt_side == "none", res.reasons


def _near_blank_page(number: str):
    from PIL import ImageDraw, ImageFont
    im = Image.new("L", (850, 1100), 250)
    ImageDraw.Draw(im).text((400, 1040), number, fill=0, font=ImageFont.load_default(size=30))
    return im


def test_a_near_blank_page_with_another_page_number_shrunk_to_a_quarter_is_never_safe(tmp_path):
    # attack on proof 1.5 (proof 1.4 the same): at 27 % the 8 px "13" against the kept "12" scored
    # 0.30 of the tile tests' tolerance, which models the copy's unknown filter by a bilinear shrink
    # against the Lanczos reference (at thin strokes that residual, x 3.5, covers a changed digit);
    # the filter fit holds the copy to the filter that explains it, with only its JPEG loss as tolerance
    kept = tmp_path / "L0000012.png"
    _near_blank_page("12").save(kept)
    copy = tmp_path / "IMG_0013.jpg"
    _near_blank_page("13").resize((232, 300), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=85)
    res = verify_pair(copy, kept)
    assert not res.safe_to_delete and res.verdict == "different" and "filter that fits best" in res.reasons[0], res.reasons


@pytest.mark.parametrize("number, scale, q", [("285", 0.5, 80), ("287", 0.75, 75), ("296", 0.85, 75), ("268", 0.6, 90)])
def test_a_near_blank_page_with_another_page_number_is_never_safe_against_a_lossy_jpeg2000_kept_copy(tmp_path, number, scale, q):
    # attack after proof 1.16: at 50 % q80, "285" for the kept "286" was 0.37 of the tile tests' tolerance and
    # 0.72 of the filter fit's, whose model of the kept copy's loss (JPEG q75, ringing at the digits) covered a
    # changed digit (36 of 150 such look-alikes at 50-100 % were safe duplicates). Proof 1.18's even-loss test:
    # a JPEG 2000 spreads its loss evenly, and the changed digit stands out of it (at 50 % and 60 %; at 75 % and
    # 85 % the filter fit refuses these already). At the kept page's own size a digit changed inside one JPEG
    # MCU is taken for a flipped bit's garbled block instead: cleanup_corrupt, never safe (the proof 1.17 test below)
    kept = tmp_path / "L0000286.jp2"
    grained_sheet("286").save(kept, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    size = (round(640 * scale), round(900 * scale))
    for page, verdict in ((number, "different"), ("286", "duplicate")):
        copy = tmp_path / f"L0000286{'ab'[page == '286']}.jpg"
        grained_sheet(page).resize(size, Image.Resampling.LANCZOS).save(copy, "JPEG", quality=q)
        res = verify_pair(copy, kept)
        assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), (page, res.reasons)
        if verdict == "different" and scale <= 0.6:
            assert "JPEG 2000's own loss" in res.reasons[-1], res.reasons


def _pencilled_page(pencil: bool):
    """A text page on grained paper (body type 13 px), with a pencil line (2 px, 96 levels darker) across a line."""
    im = text_page((640, 900), 11, font=13, left=70, top=70, bottom=80, pitch=19, words=9, number=286)
    grain = np.random.default_rng(5).normal(0, 1.2, (900, 640, 1)) + np.array([0, -1, -4])
    im = Image.fromarray(np.clip(np.asarray(im, np.float64) + grain, 0, 255).astype(np.uint8))
    if pencil:
        ImageDraw.Draw(im).line((260, 300, 331, 305), fill=(150, 150, 155), width=2)
    return im


@pytest.mark.parametrize("kept_quality, scale, q", [(85, 0.35, 75), (92, 0.35, 92), (92, 0.5, 75)])
def test_a_pencil_line_in_a_shrunk_copy_is_never_safe_against_a_lossy_jpeg_kept_copy(tmp_path, kept_quality, scale, q):
    # attack after proof 1.26: against a kept JPEG q85-95 only the tile tests judged a shrunk copy, and a pencil
    # line across a text page at 35-50 % was "same picture at full detail" (with changed page numbers and ink
    # dots, 97 of 624 look-alikes were safe duplicates). Proof 1.27 runs the even-loss test's stroke and patch
    # tests against a kept JPEG's loss as against a JPEG 2000's; a true copy at the same size stays safe
    kept = tmp_path / "L0000286.jpg"
    _pencilled_page(False).save(kept, "JPEG", quality=kept_quality)
    size = (round(640 * scale), round(900 * scale))
    for pencil, verdict in ((True, "different"), (False, "duplicate")):
        copy = tmp_path / f"L0000286{'ab'[pencil]}.jpg"
        _pencilled_page(pencil).resize(size, Image.Resampling.LANCZOS).save(copy, "JPEG", quality=q)
        res = verify_pair(copy, kept)
        assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), (pencil, res.reasons)
        if pencil:
            assert "kept JPEG's own loss" in res.reasons[-1], res.reasons


@pytest.mark.parametrize("kept_quality, q", [(82, 90), (82, 70), (75, 85)])
def test_a_true_copy_of_a_black_and_white_silhouette_stays_safe_against_its_kept_jpeg(tmp_path, kept_quality, q):
    # proof 1.27's patch test against a kept JPEG: on a picture of two levels nearly every 8x8 px mean of the
    # difference is 0, so their spread allows nothing, and the kept copy's own ringing along the edges read as
    # an area lightened by 3-5 levels ("edited"). Modelled as the kept copy was made (the copy coded as a JPEG
    # at the kept quality), the ringing is on both sides
    from skimage import data
    horse = Image.fromarray(np.where(data.horse(), 0, 255).astype(np.uint8)).convert("RGB")
    kept, copy = tmp_path / "H0000001.jpg", tmp_path / "H0000001a.jpg"
    horse.save(kept, "JPEG", quality=kept_quality)
    horse.save(copy, "JPEG", quality=q)
    res = verify_pair(copy, kept)
    assert res.verdict == "duplicate" and res.safe_to_delete, res.reasons


def test_a_near_blank_page_with_another_page_number_at_half_size_is_different_against_a_tiff_kept_copy(tmp_path):
    # the same attack's control: kept losslessly, the reproduction test finds the copy is the kept
    # picture shrunk by Lanczos and saved at q80 but for the changed digit's 8x8 px windows (9, at 8.2
    # times the floor; the filter fit alone scores it 0.99); a true copy at the same size stays a safe
    # duplicate
    kept = tmp_path / "L0000286.tif"
    grained_sheet("286").save(kept, "TIFF", compression="tiff_lzw")
    for number, verdict in (("285", "different"), ("286", "duplicate")):
        copy = tmp_path / f"L0000286{'ab'[number == '286']}.jpg"
        grained_sheet(number).resize((320, 450), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=80)
        res = verify_pair(copy, kept)
        assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), (number, res.reasons)


def test_another_page_number_at_the_kept_pages_size_is_different_not_a_damaged_copy_against_a_lossy_jpeg2000(tmp_path):
    # proof 1.17: "398" for "388" on a near-blank sheet at full size, q75, against the page's 8:1
    # JPEG 2000, was cleanup_corrupt: the garble test took the digits' windows for a flipped bit's
    # block. Here they spread over two of the copy's MCUs (the strongest holds ~64 %), as no flip's
    # garbled block does: an edit. (Where the changed digit falls inside one MCU it is still called
    # a damaged copy, never safe.)
    kept = tmp_path / "L0000388.jp2"
    grained_sheet("388", at=(310, 854)).save(kept, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    for number, verdict in (("398", "different"), ("388", "duplicate")):
        copy = tmp_path / f"L0000388{'ab'[number == '388']}.jpg"
        grained_sheet(number, at=(310, 854)).save(copy, "JPEG", quality=75)
        res = verify_pair(copy, kept)
        assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), (number, res.reasons)
    assert "an edit" in verify_pair(tmp_path / "L0000388a.jpg", kept).reasons[-1]


def test_a_spreadsheet_with_one_cell_one_higher_is_never_a_safe_duplicate_at_three_quarters(tmp_path):
    # attack on proof 1.5 (proof 1.4 the same): 35,480 -> 35,481 in one cell of a 1600x1000 sheet,
    # a 75 % q95 copy, scored under the tile tests' tolerance (a 100 % copy was caught, peak 145)
    from PIL import ImageDraw, ImageFont
    import random

    def sheet(vals):
        im = Image.new("RGB", (1600, 1000), (255, 255, 255))
        g = ImageDraw.Draw(im)
        f = ImageFont.load_default(size=12)
        for r, row in enumerate(vals):
            for c, v in enumerate(row):
                x, y = 20 + c * 130, 60 + r * 22
                g.rectangle((x, y, x + 130, y + 22), outline=(200, 200, 200))
                g.text((x + 4, y + 3), v, fill=(0, 0, 0), font=f)
        return im
    rnd = random.Random(12)
    vals = [[f"{rnd.randint(0, 99999):,}" for _ in range(12)] for _ in range(41)]
    changed = [row[:] for row in vals]
    changed[20][5] = f"{int(vals[20][5].replace(',', '')) + 1:,}"
    kept = tmp_path / "C0000005.png"
    sheet(vals).save(kept)
    copy = tmp_path / "C0000005b.jpg"
    sheet(changed).resize((1200, 750), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=95)
    res = verify_pair(copy, kept)
    assert res.verdict == "different" and not res.safe_to_delete, res.reasons


def _shrunk_in_linear_light(im, size, resample=Image.Resampling.LANCZOS):
    """What an editor shrinking in linear light (GIMP's default, libvips --linear) makes."""
    c = np.arange(256) / 255.0
    to_linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)
    chans = [np.asarray(Image.fromarray(to_linear[np.asarray(ch)], "F").resize(size, resample)) for ch in im.convert("RGB").split()]
    x = np.clip(np.stack(chans, 2), 0.0, 1.0)
    return Image.fromarray(np.clip(np.rint(255 * np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("way", ["linear light", "kept over the proof's long side"])
def test_a_page_shrunk_the_usual_ways_is_a_duplicate_under_the_filter_fit(tmp_path, way):
    # attack on the filter fit: text shrunk in linear light is darker and thicker than any filter on
    # sRGB values makes it (6 of 14 such copies were "different"); and a kept page over 2048 px is
    # capped first, so a copy made from the file is two resamplings away (20 of 20 at 30-50 %)
    page = _text_lines(size=(2400, 1100) if way != "linear light" else (1000, 450))
    kept = tmp_path / "C0000006.png"
    page.save(kept)
    size = (page.width * 2 // 5, page.height * 2 // 5)
    copy = tmp_path / "C0000006b.jpg"
    small = _shrunk_in_linear_light(page, size) if way == "linear light" else page.resize(size, Image.Resampling.LANCZOS)
    small.save(copy, "JPEG", quality=85)
    res = verify_pair(copy, kept)
    assert res.verdict == "duplicate", res.reasons


@pytest.mark.parametrize("scale, number, verdict", [(0.85, 36, "duplicate"), (0.5, 38, "different")])
def test_a_page_over_the_proofs_cap_is_judged_on_renditions_shrunk_alike(tmp_path, scale, number, verdict):
    # attack on 300 dpi pages: renditions over 2048 px were area-averaged, each from its own file's
    # scale, and box filters at two scales alias text differently: a true 85 % copy (both renditions
    # capped) was "different" in 279 of 408 tiles; and the filter fit did not run on a capped
    # rendition, so a half-size copy with page 38 for 36 was a safe duplicate (proof 1.11, fp 2.3)
    kept = tmp_path / "C0000007.tif"
    page_over_the_cap().save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C0000007b.jpg"
    page_over_the_cap(number).resize((round(1728 * scale), round(2430 * scale)), Image.Resampling.LANCZOS).save(
        copy, "JPEG", quality=75)
    res = verify_pair(copy, kept)
    assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), res.reasons


def test_a_jpeg_copy_with_one_block_garbled_by_a_flip_that_keeps_the_stream_in_step_is_cleanup_corrupt(tmp_path, canon, photo):
    # the one overconfident file of hard seed 31: +-100 grey levels alternating row by row in one
    # 8x8 block, which the tile tests' 2x2 means average to nothing, was a safe duplicate
    data, (top, left, bottom, right) = flip_in_step(jpeg_bytes(photo, 90))
    r = _v(tmp_path, canon, "C0001000a.jpg", data=data)
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete
    assert "garbled" in r.reasons[0] and r.region["top"] <= top / 240 < r.region["bottom"]
    assert r.region["left"] <= left / 320 < r.region["right"]


@pytest.mark.parametrize("box,start,verdict", [
    # one block off by one DCT cosine, a flipped coefficient: "different" on proof 1.44 (the reproduction test,
    # which names such blocks, stands aside under 32 windows its coding changed)
    ((100, 100, 180, 172), 0.3, "cleanup_corrupt"),
    # one block off by many cosines, as a flip that scrambled its coefficients or an edit leaves it: a safe
    # duplicate on proof 1.44 (the block within its tile's tolerance at 80x72 px); a person decides
    ((274, 184, 354, 256), 0.45, "duplicate"),
])
def test_a_small_copy_saved_from_the_kept_picture_but_for_a_block_is_never_a_safe_duplicate(tmp_path, box, start, verdict):
    from skimage import data
    crop = Image.fromarray(data.astronaut()).convert("RGB").crop(box)
    flipped, _ = flip_in_step(jpeg_bytes(crop, 90), start=start, strength=40)
    kept = tmp_path / "C0001000.tif"
    crop.save(kept)
    copy = tmp_path / "C0001000a.jpg"
    copy.write_bytes(flipped)
    r = verify_pair(copy, kept)
    assert r.verdict == verdict and not r.safe_to_delete, r.reasons
    assert any("pixel for pixel, but for 1 8x8 px block" in x for x in r.reasons), r.reasons


def test_a_kept_jpeg_with_a_garbled_block_against_a_lossless_copy_is_never_a_safe_duplicate(tmp_path, photo):
    # the lossless copy may be the only good one; which side the windows belong to (a garbled
    # block of the kept JPEG, or an edit of the copy) the pixels do not tell, so: not proven
    data, (top, _, _, _) = flip_in_step(jpeg_bytes(photo, 92))
    kept = tmp_path / "C0001000.jpg"
    kept.write_bytes(data)
    r = _v(tmp_path, kept, "C0001000a.png", im=photo, fmt="PNG")
    assert r.verdict == "different" and not r.safe_to_delete and "garbled block of the kept JPEG" in r.reasons[-1]
    assert r.region["top"] <= top / 240 < r.region["bottom"]


@pytest.mark.parametrize("kept_quality,copy_quality", [(80, 90), (80, 95), (80, 100)])
def test_a_jpeg_copy_of_a_kept_jpeg_is_a_duplicate_not_garbled(tmp_path, photo, kept_quality, copy_quality):
    # attack on proof 1.6's first garble test: re-encoding a kept JPEG at its own quality barely
    # changes it, so its loss was not modelled and true copies failed 10-1,100 windows at 1.1-1.8;
    # and between two JPEGs a garbled block could be either's, so the test does not run there
    kept = tmp_path / "C0001000.jpg"
    kept.write_bytes(jpeg_bytes(photo, kept_quality))
    r = _v(tmp_path, kept, "C0001000a.jpg", data=jpeg_bytes(photo, copy_quality))
    assert r.verdict == "duplicate" and (r.proof or {}).get("garble") is None
    # safe while the kept JPEG is coded about as finely; a copy coded finer holds more (since proof 1.26)
    finer = copy_quality > kept_quality + 10
    assert r.safe_to_delete is not finer, r.reasons
    assert finer == any("the kept JPEG is coded coarser" in why for why in r.reasons)


def test_a_copy_saved_twice_as_jpeg_is_a_duplicate_not_garbled(tmp_path):
    # a silhouette saved at q70 and again at q90 rings at its outline more than one encode: 9
    # windows at 1.3 of proof 1.6's first garble test, "cleanup_corrupt"
    from skimage import data
    horse = Image.fromarray((data.horse() * 255).astype(np.uint8)).convert("RGB")
    kept = tmp_path / "C0003000.png"
    horse.save(kept)
    once = Image.open(__import__("io").BytesIO(jpeg_bytes(horse, 70)))
    r = _v(tmp_path, kept, "C0003000a.jpg", data=jpeg_bytes(once, 90))
    assert r.verdict == "duplicate" and r.safe_to_delete


@pytest.mark.parametrize("seed,size,font", [(6, (300, 200), 10), (7, (256, 180), 8)])
def test_a_low_quality_copy_of_a_small_text_page_is_a_duplicate_not_a_banded_kept_copy(tmp_path, seed, size, font):
    # the kept q95 JPEG's white gaps between lines are flat where the q40 copy rings; the one gap
    # of 3-4 rows was a damage band of the kept copy ("match_corrupt"): every flat run counts
    # towards the pattern rule now, not only those long enough to be a band
    page = text_page(size, seed, font=font, left=8, top=8, bottom=10, pitch=font + 3, words=6,
                     paper=(255, 255, 255), ink=(0, 0, 0))
    kept = tmp_path / "C0004000.jpg"
    kept.write_bytes(jpeg_bytes(page, 95))
    r = _v(tmp_path, kept, "C0004000a.jpg", data=jpeg_bytes(page, 40))
    assert r.verdict == "duplicate" and r.safe_to_delete


def test_a_jpeg_copy_darker_by_4_from_one_block_to_the_end_of_its_stream_is_cleanup_corrupt(tmp_path, canon, photo):
    # corpus_gen --hard --grid 5, seed 461: a flip the decoder recovered from left the rest of a
    # 150x100 copy 3.8-6.4 grey levels darker (every later block's DC): "different", not its match
    r = _v(tmp_path, canon, "C0001000a.jpg", data=jpeg_bytes(drifted(photo, top=64, left=160, by=-4), 90))
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete
    assert r.region["top"] <= 64 / 240 and r.region["bottom"] == 1.0


def test_a_quality_100_jpeg_copy_of_a_black_and_white_board_is_a_safe_duplicate(tmp_path):
    # the fast IDCT overflows at quality 96 and over: white pixels beside black edges came out 0,
    # and such a copy was "different" (screen local difference 0.12)
    from skimage import data
    board = Image.fromarray(data.checkerboard()).convert("RGB")
    kept = tmp_path / "C0002000.png"
    board.save(kept)
    r = _v(tmp_path, kept, "C0002000a.jpg", im=board, fmt="JPEG", quality=100)
    assert r.verdict in ("identical", "duplicate") and r.safe_to_delete


def _zeroed(data: bytes, at: float, n: int = 32) -> bytes:
    """A JPEG 2000 with ``n`` bytes zeroed ``at`` this part of the way through its tile data (after
    the first SOT marker): the end marker intact, the decoder does not complain."""
    b = bytearray(data)
    start = data.find(b"\xff\x90")
    p = int(start + (len(b) - start) * at)
    b[p:p + n] = bytes(n)
    return bytes(b)


def _kept_coffee_damaged_inside(tmp_path):
    """Scikit-image's coffee, a 16:1 JPEG 2000 zeroed inside its codestream at 75 %: (the picture,
    the kept file, the intact codestream)."""
    from skimage import data
    coffee = Image.fromarray(data.coffee())
    buf = io.BytesIO()
    coffee.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[16], irreversible=True)
    kept = tmp_path / "C0004000.jp2"
    kept.write_bytes(_zeroed(buf.getvalue(), 0.75))
    return coffee, kept, buf.getvalue()


def test_a_kept_jpeg_2000_speckled_by_damage_inside_its_codestream_is_match_corrupt_never_safe(tmp_path):
    # attack on proof 1.6: a JPEG 2000 damaged inside its codestream decodes silently; the tile
    # tests' simulation, made from the speckled kept picture, took its speckle as its own tolerance,
    # and an intact copy (the only good one left) was a safe duplicate
    coffee, kept, intact_data = _kept_coffee_damaged_inside(tmp_path)
    intact = np.asarray(Image.open(io.BytesIO(intact_data)), dtype=int)
    damaged = np.asarray(Image.open(kept), dtype=int)
    assert (np.abs(damaged - intact).max(axis=2) > 32).mean() > 0.01   # visibly damaged, no decoder complaint
    assert analyse_file(kept).status == "ok"
    r = _v(tmp_path, kept, "C0004000a.jpg", data=jpeg_bytes(coffee, 90))
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete, r.reasons
    assert "speckle" in r.reasons[-1] and r.region is not None


def test_a_colour_edit_away_from_a_kept_jpeg_2000s_damage_is_still_an_edit_in_colour(tmp_path):
    # proof 1.11 runs the colour test against a lossy kept copy; a damaged code-block of the kept
    # JPEG 2000 shifts colour too, so the speckle test names the windows over the damage first. Only
    # those: a grey-preserving colour change elsewhere in the copy is an edit, never "kept copy
    # damaged" (match_corrupt invites replacing the kept copy with the edited one)
    coffee, kept, _ = _kept_coffee_damaged_inside(tmp_path)
    edited = np.asarray(coffee).astype(int)
    edited[330:354, 500:524] += np.array([12, 0, -31])   # the same grey, another colour
    copy = Image.fromarray(np.clip(edited, 0, 255).astype(np.uint8))
    r = _v(tmp_path, kept, "C0004000a.jpg", data=jpeg_bytes(copy, 90))
    assert r.verdict == "different" and not r.safe_to_delete and "in colour" in r.reasons[-1], r.reasons


def test_a_true_copy_of_an_intact_lossy_jpeg_2000_is_still_a_safe_duplicate(tmp_path):
    from skimage import data
    coffee = Image.fromarray(data.coffee())
    kept = tmp_path / "C0004000.jp2"
    coffee.save(kept, "JPEG2000", quality_mode="rates", quality_layers=[16], irreversible=True)
    for name, data_ in (("C0004000a.jpg", jpeg_bytes(coffee, 90)),
                        ("C0004000b.jpg", jpeg_bytes(coffee.resize((300, 200), Image.Resampling.BILINEAR), 60))):
        r = _v(tmp_path, kept, name, data=data_)
        assert r.verdict == "duplicate" and r.safe_to_delete and not (r.proof or {}).get("speckled"), r.reasons


@pytest.mark.parametrize("name, rate, line, grey, width", [
    ("astronaut", 6, (114, 431, 216, 419), 112, 1),
    ("rocket", 6, (226, 272, 354, 264), 101, 2),
])
def test_a_line_drawn_on_a_same_size_copy_of_a_lossy_jpeg_2000_is_never_a_safe_duplicate(tmp_path, name, rate, line,
                                                                                          grey, width):
    # an attack on proof 1.7: the garble test modelled a kept JPEG 2000's own loss as JPEG at the
    # default quality (75), from both sides, so the copy's own line re-encoded so was its own
    # tolerance: a safe duplicate, though the same pixels kept as TIFF failed it. The JPEG quality
    # that spends an 8:1 JPEG 2000's bits is ~95
    from PIL import ImageDraw
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    kept = tmp_path / "C0006000.jp2"
    im.save(kept, "JPEG2000", quality_mode="rates", quality_layers=[rate], irreversible=True)
    ImageDraw.Draw(im).line(line, fill=(grey,) * 3, width=width)
    r = _v(tmp_path, kept, "C0006000a.jpg", data=jpeg_bytes(im, 90))
    assert not r.safe_to_delete and r.verdict != "duplicate", r.reasons
    assert r.region["top"] <= max(line[1], line[3]) / im.height and min(line[1], line[3]) / im.height <= r.region["bottom"]


def test_a_lossy_jpeg_2000_copy_of_a_grainy_picture_is_not_called_a_speckled_kept_copy(tmp_path):
    # attack on proof 1.7's speckle test: the copy's quality is not known, its loss was simulated
    # as JPEG q75, which keeps the grain a 40:1 JPEG 2000 copy lost: 69 true copies match_corrupt.
    # The test runs only against a JPEG copy of known quality or a lossless one
    from skimage import data
    noisy = np.asarray(Image.fromarray(data.camera()).convert("RGB"), dtype=np.float32)
    noisy += np.random.default_rng(0).normal(0, 12, noisy.shape[:2] + (1,))
    grainy = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    kept = tmp_path / "C0007000.jp2"
    grainy.save(kept, "JPEG2000", irreversible=False)
    copy = tmp_path / "C0007000a.jp2"
    grainy.save(copy, "JPEG2000", quality_mode="rates", quality_layers=[40], irreversible=True)
    r = verify_pair(copy, kept)
    assert r.verdict != "match_corrupt" and not (r.proof or {}).get("speckled"), r.reasons


def _screenshot(seed=192):
    from PIL import ImageDraw
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (1024, 640), (240, 240, 240))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 1024, 30), fill=(50, 80, 160))
    d.rectangle((0, 30, 200, 640), fill=(225, 228, 232))
    for i in range(12):
        d.text((10, 45 + i * 22), f"Menu item {i}", fill=(20, 20, 20))
    for i in range(8):
        x0, y0 = 230 + (i % 4) * 190, 60 + (i // 4) * 260
        d.rectangle((x0, y0, x0 + 170, y0 + 230), fill=(255, 255, 255), outline=(180, 180, 180))
        d.rectangle((x0 + 10, y0 + 10, x0 + 160, y0 + 120), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        d.text((x0 + 10, y0 + 130), f"Card title {i}\nsome text here", fill=(0, 0, 0))
    return im


def test_a_screenshot_kept_as_a_60_to_1_jpeg_2000_is_not_called_speckled_by_its_own_blotches(tmp_path):
    # attack on proof 1.7's speckle test: a 60:1 JPEG 2000 blotches flat grey beside hard edges,
    # detail a lossless copy of the screenshot lacks: ~100 windows at 3.1, match_corrupt. Under half a
    # bit a pixel the test does not run
    shot = _screenshot()
    kept = tmp_path / "C0008000.jp2"
    shot.save(kept, "JPEG2000", quality_mode="rates", quality_layers=[60], irreversible=True)
    r = _v(tmp_path, kept, "C0008000a.png", im=shot, fmt="PNG")
    assert r.verdict != "match_corrupt" and not (r.proof or {}).get("speckled"), r.reasons


# --- the tone test (proof 1.8): the same shot at another exposure or colour balance ---------------

def _linear_gain(im, ev):
    """``im`` exposed ``ev`` stops brighter: a gain in linear light, back to sRGB."""
    a = np.asarray(im).astype(np.float64) / 255.0
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4) * 2.0 ** ev
    out = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(np.clip(lin, 0, None), 1 / 2.4) - 0.055)
    return Image.fromarray(np.clip(np.rint(out * 255), 0, 255).astype(np.uint8))


def _balance(im, t):
    a = np.asarray(im).astype(np.float64) * np.array([1 + t, 1.0, 1 - t])
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("name, change, scale, q", [
    ("coffee", lambda im: _linear_gain(im, 0.05), 0.5, 75),
    ("rocket", lambda im: _linear_gain(im, 0.05), 0.5, 75),
    ("astronaut", lambda im: _balance(im, 0.02), 0.5, 75),
    ("coffee", lambda im: _balance(im, 0.03), 0.75, 85),
])
def test_the_same_shot_at_another_exposure_or_colour_balance_is_not_a_duplicate(tmp_path, name, change, scale, q):
    # an attack on proof 1.7: bracketed shots 0.05-0.1 EV apart and colour balances 2-8 % off shift
    # each tile by a few grey levels, under what re-encoding explains there: safe duplicates
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    kept = tmp_path / "C0007000.tif"
    im.save(kept, "TIFF", compression="tiff_lzw")
    other = change(im)
    small = other.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
    r = _v(tmp_path, kept, "C0007000a.jpg", data=jpeg_bytes(small, q))
    assert not r.safe_to_delete and r.verdict == "different", r.reasons
    assert r.reasons[0].startswith(("another exposure", "another colour balance")), r.reasons
    same = im.resize(small.size, Image.LANCZOS)
    r = _v(tmp_path, kept, "C0007000b.jpg", data=jpeg_bytes(same, q))
    assert r.verdict == "duplicate" and r.safe_to_delete, r.reasons
    # what the test measured is recorded with the candidate, beside its limit
    tone = r.proof["tone"]
    assert max(abs(x) for x in tone["shift"]) <= tone["limit"] and tone["pixels"] >= 2000, tone


def test_a_true_copy_keeps_its_tone_where_jpeg_shifts_a_flat_colour_and_where_it_was_shrunk_in_linear_light(tmp_path):
    # JPEG quantises every block of a flat colour alike: the stained slide's flat parts move by
    # up to 1.8 grey levels at q60, which the test's simulation reproduces; a photograph shrunk in linear
    # light is darker at its edges, not in its flat parts
    from skimage import data
    slide = Image.fromarray(data.immunohistochemistry())
    kept = tmp_path / "C0007100.png"
    slide.save(kept)
    assert _v(tmp_path, kept, "C0007100a.jpg", data=jpeg_bytes(slide, 60)).safe_to_delete
    photo = Image.fromarray(data.coffee())
    kept = tmp_path / "C0007200.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    r = _v(tmp_path, kept, "C0007200a.jpg", data=jpeg_bytes(_shrunk_in_linear_light(photo, (360, 240)), 85))
    assert r.safe_to_delete, r.reasons


def test_the_tone_test_runs_where_neither_sides_own_shift_of_a_flat_colour_is_unknown():
    from matching.verdict import _tone_applies

    def f(fmt, q=None):
        return SimpleNamespace(format=fmt, jpeg_quality=q)
    assert _tone_applies(f("JPEG", 80), f("TIFF"))
    assert _tone_applies(f("PNG"), f("PNG"))
    assert not _tone_applies(f("JPEG", 60), f("JPEG", 90))   # coded twice: dark skies up to 4.2 levels off
    assert not _tone_applies(f("JPEG", 80), f("JPEG2000"))   # a JPEG 2000 kept copy rings flat parts brighter
    assert _tone_applies(f("JPEG", 80), SimpleNamespace(format="JPEG2000", every_pass=True))   # ... unless it kept every pass
    assert not _tone_applies(f("JPEG2000"), f("TIFF"))       # a copy whose coding is not simulated
    assert not _tone_applies(f("WEBP"), f("TIFF"))


# --- proof 1.9: a damaged copy named after its kept copy, with little intact ------------------------

def _cut_early(im, part=0.16):
    """A JPEG of ``im`` cut after ``part`` of its bytes: the decoder complains, the rest is grey."""
    data = jpeg_bytes(im, 90)
    return data[: int(len(data) * part)]


def test_a_mostly_lost_copy_named_after_its_kept_copy_is_cleanup_corrupt_if_what_is_intact_agrees(tmp_path, photo, photo2):
    # seed 804: a 100 px copy damaged from its 13th row on, named after its kept copy, was "different"
    # (too little intact for a proof), where the same file cut to nothing is paired by its name
    kept = tmp_path / "C0009000.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    r = _v(tmp_path, kept, "C0009000a.jpg", data=_cut_early(photo))
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete, r.reasons
    assert "names share an ID" in r.reasons[0]
    # the name alone is not enough where the intact part shows another picture, nor without the name
    r = _v(tmp_path, kept, "C0009000b.jpg", data=_cut_early(photo2))
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons
    r = _v(tmp_path, kept, "copy.jpg", data=_cut_early(photo))
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


def _horse_legs():
    """The bottom-left ninth of scikit-image's horse silhouette (133x109): legs on white."""
    from skimage import data
    h = data.horse()
    im = Image.fromarray(np.where(h, 0, 255).astype(np.uint8) if h.dtype == bool else h).convert("RGB")
    w, hh = im.size
    return im.crop((0, 2 * (hh // 3), w // 3, 3 * (hh // 3)))


def _flipped(data: bytes, seed: int, n: int = 12, start: float = 0.35) -> bytes:
    """``data`` with ``n`` bits flipped from ``start`` of the file on, as the shared corpus flips them."""
    import random
    rng, b = random.Random(seed), bytearray(data)
    for _ in range(n):
        i = rng.randrange(int(len(b) * start), len(b) - 4)
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


@pytest.mark.parametrize("tile", [11, 15])
@pytest.mark.parametrize("kept_format", ["JPEG2000", "TIFF"])
def test_a_named_copy_garbled_past_comparing_is_cleanup_corrupt_as_one_that_does_not_decode(tmp_path, tile, kept_format):
    # seed 32010: both copies "different" (too little intact picture to compare, 0 %), where the same
    # files cut to nothing are paired by their names
    from dataclasses import replace

    from matching import thresholds
    from matching.verdict import verify_analyses
    from mhelpers import WHEEL_FLIPS, corpus_crop, flipped_at
    crop = corpus_crop("colorwheel", tile)
    kept = tmp_path / ("C1245489.jp2" if kept_format == "JPEG2000" else "C1245489.tif")
    crop.save(kept, **({"quality_mode": "rates", "quality_layers": [8], "irreversible": True}
                       if kept_format == "JPEG2000" else {"compression": "tiff_lzw"}))
    size, flips = WHEEL_FLIPS[tile]
    data = flipped_at(jpeg_bytes(crop, 90), flips, size)
    r = _v(tmp_path, kept, "C1245489.jpg", data=data)
    assert analyse_file(tmp_path / "C1245489.jpg").damaged          # the decoder's complaint: the rule's condition
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete, r.reasons
    assert (r.rotation, r.flipped) == (0, False) and "paired by the ID in its name" in r.reasons[-1], r.reasons
    # without the name nothing is claimed; nor without blocks that step as a stream read out of step does
    assert _v(tmp_path, kept, "wheel.jpg", data=data).verdict == "different"
    steps = replace(thresholds.current(), garbled_blocks=float("inf"))
    r = verify_analyses(analyse_file(tmp_path / "C1245489.jpg"), analyse_file(kept), thresholds=steps)
    assert r.verdict == "different", r.reasons


def test_another_picture_sharing_the_kept_pictures_corner_named_after_it_and_flipped_is_not_paired_by_that_corner(tmp_path):
    # a fresh-eyed attack: a 16 px corner of the astronaut on a coffee cup (kept) and on a cat (the copy,
    # flipped as corpus_gen flips, named after the cup): "its first MCU agrees", cleanup_corrupt. The cat
    # stops agreeing where the corner ends, and is coded cleanly there; a broken stream's blocks no longer meet
    from dataclasses import replace

    from skimage import data

    from matching import thresholds
    from matching.verdict import verify_analyses

    def with_corner(picture, size=128, corner=16):
        out = np.array(Image.fromarray(picture).resize((size, size)))
        out[:corner, :corner] = np.array(Image.fromarray(data.astronaut()).resize((size, size)))[:corner, :corner]
        return Image.fromarray(out)
    kept = tmp_path / "C1245489.tif"
    with_corner(data.coffee()).save(kept, compression="tiff_lzw")
    r = _v(tmp_path, kept, "C1245489.jpg", data=_flipped(jpeg_bytes(with_corner(data.chelsea()), 90), 2))
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons
    # (the leading MCUs and the blocks over the whole hold: where it stops agreeing is what refuses it)
    c, m = analyse_file(tmp_path / "C1245489.jpg"), analyse_file(kept)
    assert c.damaged
    loose = replace(thresholds.current(), garbled_blocks=0.0)
    assert verify_analyses(c, m, thresholds=loose).verdict == "cleanup_corrupt"


def test_a_named_copy_pixelated_below_its_first_rows_is_different_not_a_damaged_copy(tmp_path):
    # a fresh-eyed attack on a rule withdrawn in proof 1.50 (damage without the decoder's complaint, read off
    # blocks that no longer meet): a copy censored by 16 px mosaic from row 32 down, a clean JPEG named after its
    # kept picture, steps across its blocks 6.5 times as much as the kept picture saved so, and was cleanup_corrupt
    from skimage import data
    kept_px = np.ascontiguousarray(data.chelsea()[:200, :300])
    censored = kept_px.astype(float)
    for y in range(0, 200, 16):
        for x in range(0, 300, 16):
            censored[y:y + 16, x:x + 16] = censored[y:y + 16, x:x + 16].reshape(-1, 3).mean(0)
    censored = censored.astype(np.uint8)
    censored[:32] = kept_px[:32]
    kept = tmp_path / "C1245489.tif"
    Image.fromarray(kept_px).save(kept, compression="tiff_lzw")
    r = _v(tmp_path, kept, "C1245489a.jpg", im=Image.fromarray(censored), fmt="JPEG", quality=90)
    assert analyse_file(tmp_path / "C1245489a.jpg").status == "ok"
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


@pytest.mark.parametrize("source, tile, flips, kept_name, copy_name", [
    ("moon", 13, "MOON_FLIPS", "C1253408.jp2", "C1253408c.jpg"),
    ("rocket", 6, "ROCKET_FLIPS", "C1285084.tif", "IMG_8404_36.jpg")])
def test_a_jpeg_copy_whose_stream_reads_out_of_step_is_cleanup_corrupt_by_its_runs_named_or_not(
        tmp_path, source, tile, flips, kept_name, copy_name):
    # seeds 32007 and 31025: twelve flips from a third of the stream on, "different" (a flat band without the
    # decoder's complaint; garbled from one row, too little intact). Past its first MCUs the copy is the kept
    # picture's own MCUs, moved along the scan and shifted in tone, as only a broken stream moves them
    from dataclasses import replace

    import mhelpers
    from matching import thresholds
    from matching.verdict import verify_analyses
    crop = mhelpers.corpus_crop(source, tile)
    kept = tmp_path / kept_name
    crop.save(kept, **({"quality_mode": "rates", "quality_layers": [8], "irreversible": True}
                       if kept_name.endswith(".jp2") else {"compression": "tiff_lzw"}))
    size, at = getattr(mhelpers, flips)
    r = _v(tmp_path, kept, copy_name, data=mhelpers.flipped_at(jpeg_bytes(crop, 90), at, size))
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete, r.reasons
    assert (r.rotation, r.flipped) == (0, False) and "reads as its stream read out of step would" in r.reasons[-1]
    assert 0 < r.region["top"] < 0.5 and r.region["bottom"] == 1.0, r.region
    # the runs are the evidence: asked for more of them than there are MCUs, the pair is "different" again
    more = replace(thresholds.current(), stream_moved=1.01)
    r = verify_analyses(analyse_file(tmp_path / copy_name), analyse_file(kept), thresholds=more)
    assert r.verdict == "different", r.reasons


@pytest.mark.parametrize("source, tile, flips, kept_name, garbled, back", [
    ("rocket", 4, "ROCKET_GARBLED_FIRST_FLIPS", "C1277165.tif", 2, 0),
    ("cell", 11, "CELL_BACK_BY_CHANCE_FLIPS", "C1269246.jp2", 0, 1)])
def test_a_copy_read_out_of_step_after_blocks_garbled_in_place_or_with_an_mcu_in_place_by_chance_is_cleanup_corrupt(
        tmp_path, source, tile, flips, kept_name, garbled, back):
    # seeds 52005 and 52009: "different". A flip within a block's own bits garbles it and leaves the stream in
    # step, so the picture goes on in place until a flip that breaks it; once broken, an MCU may land in place
    # and tone by chance. Either is allowed only beside runs moved along the scan (stream_lead_garble,
    # stream_back_most)
    from dataclasses import replace

    import mhelpers
    from matching import thresholds
    from matching.verdict import verify_analyses
    crop = mhelpers.corpus_crop(source, tile)
    kept = tmp_path / kept_name
    crop.save(kept, **({"quality_mode": "rates", "quality_layers": [8], "irreversible": True}
                       if kept_name.endswith(".jp2") else {"compression": "tiff_lzw"}))
    size, at = getattr(mhelpers, flips)
    r = _v(tmp_path, kept, "IMG_2113_35.jpg", data=mhelpers.flipped_at(jpeg_bytes(crop, 90), at, size))
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete, r.reasons
    said = r.reasons[-1]
    assert "reads as its stream read out of step would" in said
    assert (f"but for {garbled} garbled in place" in said) == bool(garbled), said
    assert (f"only {back} back in place, by chance" in said) == bool(back), said
    # the region a curator is shown starts at the first MCU row the copy changes in, garbled ones included
    assert r.region["top"] < 0.15 and r.region["bottom"] == 1.0, r.region
    strict = replace(thresholds.current(), stream_lead_garble=0.0, stream_back_most=0)
    r = verify_analyses(analyse_file(tmp_path / "IMG_2113_35.jpg"), analyse_file(kept), thresholds=strict)
    assert r.verdict == "different", r.reasons


@pytest.mark.parametrize("source, tile, flips, kept_name", [
    ("immunohistochemistry", 7, "CELLS_TONED_FLIPS", "C1245489.jp2"),
    ("retina", 9, "RETINA_TONED_FLIPS", "C1277165.tif")])
def test_a_copy_read_out_of_step_where_the_screen_found_no_damage_is_cleanup_corrupt_by_its_runs(
        tmp_path, source, tile, flips, kept_name):
    # seeds 53002 and 53010: "different" ("local difference 0.40 > 0.16"; the fundus at a wrong turn). The flips
    # leave little garbage and shift the rest of the picture's tone in runs, so the screen saw an edit, not damage,
    # and the stream's reading, asked only of copies the screen found damaged, was never made
    from dataclasses import replace

    import mhelpers
    from matching import thresholds
    from matching.verdict import PairDamage, _screen, verify_analyses
    crop = mhelpers.corpus_crop(source, tile)
    kept = tmp_path / kept_name
    crop.save(kept, **({"quality_mode": "rates", "quality_layers": [8], "irreversible": True}
                       if kept_name.endswith(".jp2") else {"compression": "tiff_lzw"}))
    size, at = getattr(mhelpers, flips)
    copy = tmp_path / kept_name.replace(kept_name[-4:], ".jpg")
    copy.write_bytes(mhelpers.flipped_at(jpeg_bytes(crop, 90), at, size))
    c, m = analyse_file(copy), analyse_file(kept)
    T = thresholds.current()
    screened = _screen(c, m, T, turn=None, turn_score=0.0)
    assert c.status == "ok" and not PairDamage.of(c, m, screened).any    # no complaint, no damage seen
    r = verify_analyses(c, m)
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete, r.reasons
    assert (r.rotation, r.flipped) == (0, False) and "reads as its stream read out of step would" in r.reasons[-1]
    # the runs are the evidence: asked for more of them than there are MCUs, the pair is "different" again
    r = verify_analyses(analyse_file(copy), analyse_file(kept), thresholds=replace(T, stream_moved=1.01))
    assert r.verdict == "different", r.reasons


def test_a_reframed_crop_of_black_and_grey_about_an_arc_is_different_not_a_stream_read_out_of_step(tmp_path):
    # seed 54008's near miss: a 100 px crop of a phantom cut 5 px on the left and stretched back. Read as a
    # broken stream with an MCU garbled in the lead and one back in place (what a copy the screen found
    # damaged is allowed), its black MCUs are in place and its arc is "moved along the scan": cleanup_corrupt.
    # The screen found no damage in it, and such a copy is read strictly
    from skimage import data
    a = data.shepp_logan_phantom()
    phantom = Image.fromarray((255 * (a - a.min()) / np.ptp(a)).astype(np.uint8)).convert("RGB")
    crop = phantom.crop((300, 100, 400, 200))
    kept = tmp_path / "C1372193.tif"
    crop.save(kept, compression="tiff_lzw")
    r = _v(tmp_path, kept, "IMG_1902_47.jpg", im=crop.crop((5, 0, 100, 100)).resize((100, 100), Image.LANCZOS),
           fmt="JPEG", quality=90)
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


def test_only_a_copy_intact_at_its_first_mcus_and_not_back_in_place_at_its_last_is_read_for_a_broken_stream(tmp_path):
    # the stream's whole reading takes a pass over the picture per shift (seconds at 2048 px); for a pair the
    # screen found no damage in, its first and last MCU rows say first whether it could be one
    import mhelpers
    from matching import thresholds
    from matching.verdict import _may_read_out_of_step, _read_in_its_blocks
    T = thresholds.current()
    crop = mhelpers.corpus_crop("immunohistochemistry", 7)
    kept = tmp_path / "C1245489.tif"
    crop.save(kept, compression="tiff_lzw")

    def may(name, data):
        (tmp_path / name).write_bytes(data)
        return _may_read_out_of_step(*_read_in_its_blocks(analyse_file(tmp_path / name), analyse_file(kept)), T)
    size, at = mhelpers.CELLS_TONED_FLIPS
    assert may("broken.jpg", mhelpers.flipped_at(jpeg_bytes(crop, 90), at, size))
    assert not may("edited.jpg", jpeg_bytes(edited(crop), 90))                    # an edit ends: back in place below
    assert not may("other.jpg", jpeg_bytes(mhelpers.corpus_crop("immunohistochemistry", 5), 90))   # from the first


def test_another_picture_cut_short_named_after_the_kept_copy_is_judged_by_its_part_above_the_cut_not_its_name(tmp_path):
    # the rule asks what the copy itself shows: another picture cut short is its picture down to the cut and
    # the decoder's grey below it. The screen reads it as damaged from its first row (coverage 0), as it does a
    # garbled copy, and its blocks step 2+ times as much as a smooth kept picture's saved so; a third of it
    # is there to judge, and it is another picture
    from mhelpers import corpus_crop
    kept = tmp_path / "C1245489.tif"
    corpus_crop("colorwheel", 11).save(kept, compression="tiff_lzw")
    data = jpeg_bytes(corpus_crop("astronaut", 5).resize((92, 92)), 90)
    r = _v(tmp_path, kept, "C1245489.jpg", data=data[: len(data) // 3])
    assert analyse_file(tmp_path / "C1245489.jpg").damaged and r.verdict == "different", r.reasons


@pytest.mark.parametrize("seed", [21, 33])
def test_another_picture_garbled_past_comparing_named_after_the_kept_copy_is_refused_by_its_first_mcus(tmp_path, seed):
    # the name, the decoder's complaint and blocks out of step hold for another picture's flipped copy as for
    # this picture's (an attack: 74 of 200 such pairs claimed on those alone); its first MCUs, decoded before
    # the damage, are the other picture's
    from dataclasses import replace

    from matching import thresholds
    from matching.verdict import verify_analyses
    from mhelpers import corpus_crop
    kept = tmp_path / "C1245489.tif"
    corpus_crop("colorwheel", 11).save(kept, compression="tiff_lzw")
    _v(tmp_path, kept, "C1245489.jpg", data=_flipped(jpeg_bytes(corpus_crop("coffee", 9).resize((92, 92)), 90), seed))
    c, m = analyse_file(tmp_path / "C1245489.jpg"), analyse_file(kept)
    assert verify_analyses(c, m).verdict == "different"
    # the rule's other conditions hold (the name, the complaint, too little intact): they alone are not enough
    r = verify_analyses(c, m, thresholds=replace(thresholds.current(), lead_mcus=0, garbled_blocks=0.0))
    assert r.verdict == "cleanup_corrupt", r.reasons


@pytest.mark.parametrize("q", [70, 95])
def test_another_page_of_one_layout_named_after_the_kept_page_is_different_not_a_damaged_copy_of_it(tmp_path, q):
    # an attack's screenshots of one layout, the copy named after the kept page: the header agrees, the
    # panel below is another (grey, its own lines of code, where the kept page is white with text). The
    # screen read the panel as a stream shifted from there, and the proof, the copy named after it, took
    # the header as the intact part: cleanup_corrupt. (At q85 the drift is still taken: these code lines
    # fall on the kept page's text lines, 0.78 of the larger side's detail; README, proof 1.29)
    from mhelpers import one_layout
    one_layout("text").save(tmp_path / "C1234567.tif", compression="tiff_lzw")
    one_layout("code").save(tmp_path / "C1234567_copy.jpg", quality=q)
    out = verify_pair(tmp_path / "C1234567_copy.jpg", tmp_path / "C1234567.tif")
    assert out.verdict == "different" and not out.safe_to_delete


def test_a_silently_garbled_copy_read_at_a_wrong_turn_is_read_at_one_scored_as_well_where_its_damage_shows(tmp_path, photo):
    # seed 1202: a 256 px copy of the moon's plain surface, garbled from 80 % down without decoder
    # complaint, scored 270-and-mirrored 0.377 and upright 0.385 over its garbage: read mirrored, no
    # damage showed and the pair was "different"; upright, it agrees up to its damage (cleanup_corrupt)
    from dataclasses import replace

    from matching import thresholds
    from matching.verdict import _screen, _screen_other_turns
    from mhelpers import garbled_from
    T = thresholds.current()
    kept = tmp_path / "C0009400.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    (tmp_path / "probe.jpg").write_bytes(jpeg_bytes(Image.fromarray(garbled_from(photo, 0.75)), 90))
    c, m = analyse_file(tmp_path / "probe.jpg"), analyse_file(kept)
    wrong = _screen(c, m, T, turn=(180, True), turn_score=0.30)
    assert not wrong.stream_a
    found = _screen_other_turns(c, m, replace(wrong, other_turns=((0.31, (0, False)),)), T)
    assert found is not None
    alt, dmg = found
    assert alt.turn == (0, False) and dmg.silent_stream and alt.coverage >= T.low_coverage
    # a turn scored beyond the coin toss (orient_tie) is not taken for its damage
    beyond = 0.30 + T.orient_tie + 0.02
    assert _screen_other_turns(c, m, replace(wrong, other_turns=((beyond, (0, False)),)), T) is None


@pytest.mark.parametrize("seed", [19, 31])
def test_a_mostly_lost_named_copy_is_read_upright_when_its_garbage_makes_a_mirror_score_better(tmp_path, seed):
    # seed 711: a horse's legs, the top 12 % of a flipped copy named after its TIFF, agreed upright
    # within 0.005 but the turn scored over the garbage too (0.687 upright, 0.666 mirrored): "different"
    from matching import thresholds
    from matching.verdict import _screen
    legs = _horse_legs()
    kept = tmp_path / "C0009100.tif"
    legs.save(kept, "TIFF", compression="tiff_lzw")
    data = _flipped(jpeg_bytes(legs, 90), seed)
    (tmp_path / "probe.jpg").write_bytes(data)
    screen = _screen(analyse_file(tmp_path / "probe.jpg"), analyse_file(kept), thresholds.current())
    assert screen.turn != (0, False)                  # the flips this seed makes: the garbage favours a mirror
    r = _v(tmp_path, kept, "C0009100b.jpg", data=data)
    assert r.verdict == "cleanup_corrupt" and (r.rotation, r.flipped) == (0, False) and not r.safe_to_delete, r.reasons
    # (its blocks no longer meet: proven up to its damage at full detail, proof 1.45); without that
    # evidence, by the name and what is intact, read upright
    assert "read out of step" in r.reasons[0]
    from dataclasses import replace

    from matching.verdict import verify_analyses
    off = replace(thresholds.current(), garbled_blocks=float("inf"))
    r = verify_analyses(analyse_file(tmp_path / "C0009100b.jpg"), analyse_file(kept), thresholds=off)
    assert r.verdict == "cleanup_corrupt" and (r.rotation, r.flipped) == (0, False), r.reasons
    assert "names share an ID" in r.reasons[0]
    r = _v(tmp_path, kept, "legs.jpg", data=data)      # without the name, nothing is claimed
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


def test_a_png_copy_with_a_dot_is_different_and_a_rounded_one_a_duplicate(tmp_path):
    from skimage import data
    im = np.ascontiguousarray(data.coffee()[:300, :300])
    kept = tmp_path / "C0009300.tif"
    Image.fromarray(im).save(kept, "TIFF", compression="tiff_lzw")
    dot = im.astype(int)
    dot[150:152, 150:152] += 30
    r = _v(tmp_path, kept, "C0009300a.png", im=Image.fromarray(np.clip(dot, 0, 255).astype(np.uint8)), fmt="PNG")
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons
    off = np.clip(im.astype(int) + np.random.default_rng(4).integers(-1, 2, im.shape), 0, 255).astype(np.uint8)
    r = _v(tmp_path, kept, "C0009300b.png", im=Image.fromarray(off), fmt="PNG")
    assert r.verdict == "duplicate" and r.safe_to_delete and r.proof["pixel"] <= 1.0, r.reasons


def test_a_flat_band_over_a_smooth_gradient_of_the_kept_copy_is_its_damage(tmp_path):
    # seed 702: a band of one grey in a kept TIFF of a motion-blurred clock, where the copy's rows
    # run smoothly across 20 grey levels (0.5-1.9 within each part): "reframed", not match_corrupt
    from scipy import ndimage
    from skimage import data
    photo = data.camera()[:200, :266].astype(float)
    ramp = np.linspace(90, 130, 266)[None, :] + np.linspace(0, 10, 200)[:, None]
    im = np.where(np.arange(200)[:, None] < 100, photo, ramp)
    im = ndimage.gaussian_filter(im, 1.0)
    good = Image.fromarray(np.clip(np.rint(im), 0, 255).astype(np.uint8)).convert("RGB")
    banded = np.asarray(good).copy()
    banded[150:175] = 111
    kept = tmp_path / "C0009400.tif"
    Image.fromarray(banded).save(kept, "TIFF", compression="tiff_lzw")
    r = _v(tmp_path, kept, "IMG_0001.jpg", data=jpeg_bytes(good, 90))
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete, r.reasons
    assert r.region["top"] <= 150 / 200 and r.region["bottom"] >= 175 / 200


def _jp2_kept_with_a_fill(tmp_path, grey, rows, level, copy_name):
    """(copy, kept): the grey picture ``grey`` as a JPEG q90 clean-up copy named ``copy_name``, and kept as an 8:1
    JPEG 2000 (C1300922.jp2) with its ``rows`` filled at ``level``."""
    good = np.stack([grey] * 3, 2)
    banded = good.copy()
    banded[rows] = level
    kept = tmp_path / "C1300922.jp2"
    Image.fromarray(banded).save(kept, quality_mode="rates", quality_layers=[8], irreversible=True)
    copy = tmp_path / copy_name
    Image.fromarray(good).save(copy, quality=90)
    return copy, kept


@pytest.mark.parametrize("left", [0, 64])
def test_a_grey_band_at_the_level_of_the_plain_picture_it_covers_is_the_kept_copys_damage(tmp_path, monkeypatch, left):
    # corpus_gen --grid 4 --hard, seed 9508: a band of 128 in a kept 8:1 JPEG 2000 over the coins' plain
    # background (120-122 there, speckled to 0.3-1.9 by the coder, where the copy's rows have 1-2.4): the
    # copy was a safe duplicate of the damaged kept copy (worst tile 0.53)
    from skimage import data

    import matching.compare as compare
    plain = np.ascontiguousarray(data.coins()[:50, left:left + 64])
    copy, kept = _jp2_kept_with_a_fill(tmp_path, plain, slice(15, 23), 128, "IMG_5801_38.jpg")
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("match_corrupt", "match") and not r.safe_to_delete, r.reasons
    # the level rule is what tells
    monkeypatch.setattr(compare, "_level_band", lambda sd, mn, mo, T: np.zeros(sd.shape[0], bool))
    assert verify_pair(copy, kept).safe_to_delete


@pytest.mark.parametrize("off", [-9, 7])
def test_a_good_copy_with_a_plain_run_where_the_kept_copy_has_a_fill_near_its_level_is_never_the_damaged_side(
        tmp_path, monkeypatch, off):
    # both runs flat: the copy's exactly (a white stretch of 200), the kept JPEG 2000's fill at 200 + off
    # speckled a little. Read on the copy's side, the level rule made the good copy "cleanup_corrupt"
    # (a curator may delete it) where the kept copy is the damaged one
    from skimage import data

    import matching.compare as compare
    pic = np.ascontiguousarray(data.coins()[:76, 100:164]).copy()
    pic[30:60] = 200
    copy, kept = _jp2_kept_with_a_fill(tmp_path, pic, slice(40, 48), 200 + off, "C1300922a.jpg")
    r = verify_pair(copy, kept)
    assert (r.verdict, r.corrupt_side) == ("match_corrupt", "match") and not r.safe_to_delete, r.reasons
    band_rows = compare._band_rows
    monkeypatch.setattr(compare, "_band_rows", lambda g, other, grow, T, skip=None, level_fill=False:
                        band_rows(g, other, grow, T, skip=skip, level_fill=True))
    assert verify_pair(copy, kept).corrupt_side == "cleanup"


def test_a_grey_band_speckled_by_a_lossy_kept_copy_over_another_colour_is_its_damage(tmp_path):
    # seed 818: a grey band in a 4:1 JPEG 2000 of coins, speckled to 7.2 in a part, 90-106 grey levels
    # off the copy's dark background and coins: "different" (local difference 0.41), not match_corrupt
    from skimage import data
    coins = Image.fromarray(data.coins()[101:202, 256:384]).convert("RGB")
    banded = np.asarray(coins).copy()
    banded[58:69] = 128
    kept = tmp_path / "C0009500.jp2"
    Image.fromarray(banded).save(kept, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    r = _v(tmp_path, kept, "C0009500.jpg", data=jpeg_bytes(coins, 90))
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match" and not r.safe_to_delete, r.reasons
    assert r.region["top"] <= 58 / 101 and r.region["bottom"] >= 69 / 101


@pytest.mark.parametrize("q", [40, 50])
def test_a_coarse_copy_of_a_photograph_over_a_saturated_field_is_not_a_drifted_stream(tmp_path, q):
    # an attack on proof 1.9's chroma drift: JPEG's own chroma DC rounding moves a flat saturated field
    # by ~1 grey level one way at q40-50, over the fixed floor: cleanup_corrupt. The floor is now 3/4 of
    # the copy's own chroma DC step
    from skimage import data
    cat = Image.fromarray(data.chelsea()).resize((320, 200), Image.LANCZOS)
    im = Image.new("RGB", (320, 400), (30, 200, 60))
    im.paste(cat, (0, 0))
    kept = tmp_path / "C0009600.png"
    im.save(kept)
    small = im.resize((240, 300), Image.LANCZOS)
    r = _v(tmp_path, kept, "C0009600a.jpg", data=jpeg_bytes(small, q))
    assert r.verdict == "duplicate" and r.safe_to_delete, r.reasons


def _coloured_text(im: np.ndarray, at: tuple) -> Image.Image:
    """``im`` with "2019 / (c) J.S." in 14 px bold at ``at``, Cr + 15 and the grey unchanged (JFIF's
    transform both ways in floating point): an attack's edit that no grey test sees."""
    from PIL import ImageDraw, ImageFont
    mask = Image.new("L", (im.shape[1], im.shape[0]), 0)
    try:   # the attack's font (Debian's fonts-dejavu); Pillow's own scalable font elsewhere
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", 14)
    except OSError:
        font = ImageFont.load_default(size=14)
    draw = ImageDraw.Draw(mask)
    draw.text(at, "2019", fill=255, font=font)
    draw.text((at[0], at[1] + 18), "© J.S.", fill=255, font=font)
    d = np.where((np.asarray(mask) > 127)[..., None], np.array([1.402, -0.714136, 0.0]) * 15, 0.0)
    return Image.fromarray(np.clip(np.rint(im.astype(np.float64) + d), 0, 255).astype(np.uint8))


def test_a_png_copy_with_text_in_a_colour_of_the_photographs_own_grey_is_different(tmp_path):
    # an attack on proof 1.9: the text in a PNG copy of a PNG: every tile within the noise floors,
    # and a grey pixel test does not see it
    from skimage import data
    im = np.ascontiguousarray(data.coffee()[:384, 100:484])
    kept = tmp_path / "C0009700.png"
    Image.fromarray(im).save(kept)
    r = _v(tmp_path, kept, "C0009700a.png", im=_coloured_text(im, (12, 128)), fmt="PNG")
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons


@pytest.mark.parametrize("q", [95, 85, 75])
def test_a_jpeg_copy_with_text_in_a_colour_of_the_photographs_own_grey_is_different(tmp_path, q):
    # an attack on proof 1.9: the same text in JPEG copies of the kept picture's size: its colour hid
    # in the tile tests' tolerance over the cat's fur; the colour test holds each 16x16 px window's
    # chroma mean, which JPEG keeps (resized copies are not held to it: resampling in linear light
    # moves a saturated window's colour as far)
    from skimage import data
    im = np.ascontiguousarray(data.chelsea()[:300, :400])
    kept = tmp_path / "C0009800.png"
    Image.fromarray(im).save(kept)
    r = _v(tmp_path, kept, "C0009800a.jpg", data=jpeg_bytes(_coloured_text(im, (12, 100)), q))
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons
    # the same copy without the text is a duplicate, its colour within the tolerance
    r = _v(tmp_path, kept, "C0009800b.jpg", data=jpeg_bytes(Image.fromarray(im), q))
    assert r.verdict == "duplicate" and r.safe_to_delete and r.proof["chroma"] <= 1.0, r.reasons


def test_a_reframed_crop_whose_moved_flat_run_meets_the_kept_copys_own_is_not_a_damaged_kept_copy(tmp_path):
    # proof 1.10 (seed 702): a crop of a phantom reframed by 4 px; the kept TIFF's flat run of columns
    # read as a band painted over the copy's moved edge, and with it masked the rest agreed:
    # "kept copy is damaged" (match_corrupt), the good kept copy a candidate for replacing by the reframe

    from skimage import data
    phantom = Image.open(os.path.join(os.path.dirname(data.__file__), "phantom.png")).convert("RGB")
    crop = phantom.crop((200, 200, 300, 300))            # corpus_gen's tile 10 of a 4x4 grid
    kept = tmp_path / "C1372193.tif"
    crop.save(kept, "TIFF", compression="tiff_lzw")
    p = tmp_path / "IMG_3043_47.jpg"
    p.write_bytes(jpeg_bytes(crop.crop((4, 0, 100, 100)).resize((100, 100), Image.LANCZOS), 90))
    r = verify_pair(p, kept)
    assert r.verdict == "different" and r.corrupt_side == "none", (r.verdict, r.reasons)


def test_a_page_copy_with_a_full_stop_added_is_edited(tmp_path):
    # the verdict lets the reproduction test (proof 1.12) judge a JPEG copy of a lossless kept page
    from PIL import ImageDraw
    page = text_page((840, 1200), 4, number=7)
    kept = tmp_path / "P0000001.tif"
    page.save(kept, "TIFF")
    stop = page.copy()
    ImageDraw.Draw(stop).rectangle((200, 61, 201, 64), fill=(25, 25, 25))
    copy = tmp_path / "P0000001a.jpg"
    stop.resize((210, 300), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=75)
    r = verify_pair(copy, kept)
    assert r.verdict == "different" and not r.safe_to_delete and "edited" in r.reasons[-1], r.reasons
    true = tmp_path / "P0000001b.jpg"
    page.resize((210, 300), Image.Resampling.LANCZOS).save(true, "JPEG", quality=75)
    r = verify_pair(true, kept)
    assert r.verdict == "duplicate" and r.safe_to_delete and r.proof["reproduction"]["share"] >= 0.99, r.reasons


@pytest.mark.parametrize("subsampling", [2, 0])     # 4:2:0 (Pillow's), and 4:4:4: its reference is saved so too
def test_a_jpeg_copy_one_dc_step_off_from_a_flipped_bit_on_is_cleanup_corrupt_not_a_safe_duplicate(tmp_path, canon, photo,
                                                                                                   subsampling):
    data, row, _ = flip_dc_step(jpeg_bytes(photo, 90, subsampling=subsampling))
    r = _v(tmp_path, canon, "IMG_0001.jpg", data=data)
    assert r.verdict == "cleanup_corrupt" and r.corrupt_side == "cleanup" and not r.safe_to_delete
    assert r.region["top"] == pytest.approx(8 * row / photo.height, abs=0.001) and "DC step" in " ".join(r.reasons)
    clean = _v(tmp_path, canon, "IMG_0002.jpg", data=jpeg_bytes(photo, 90, subsampling=subsampling))   # the control: unflipped
    assert clean.verdict == "duplicate" and clean.safe_to_delete


def test_a_half_size_4_4_4_copy_one_dc_step_off_is_cleanup_corrupt_its_reference_shrunk_as_the_kept_pictures_is(tmp_path, canon, photo):
    # the reference of a copy of another subsampling is the kept picture at the size (Lanczos), as
    # Pillow's 4:2:0 one is, saved at the copy's subsampling: a bilinear shrink reproduced nothing
    half = photo.resize((photo.width // 2, photo.height // 2), Image.Resampling.LANCZOS)
    data, _, _ = flip_dc_step(jpeg_bytes(half, 90, subsampling=0), start=0.3)
    r = _v(tmp_path, canon, "IMG_0003.jpg", data=data)
    assert r.verdict == "cleanup_corrupt" and not r.safe_to_delete and "DC step" in " ".join(r.reasons)


def _chessboard(side=128, squares=4, mark=False):
    """A chessboard with one square's worth of wood grain on each colour: the same picture
    transposed (a mirror about its diagonal), unless ``mark`` puts a grey dot off the diagonal."""
    rng = np.random.default_rng(5)
    sq = side // squares
    y, x = np.mgrid[0:side, 0:side]
    board = np.where(((y // sq) + (x // sq)) % 2 == 0, 200.0, 50.0)
    grain = np.asarray(Image.fromarray(rng.normal(0, 1, (sq // 4, sq // 4)).astype(np.float32), "F")
                       .resize((sq, sq), Image.BICUBIC)) * 12
    tile = (grain + grain.T) / 2                     # symmetric about its own diagonal
    g = board + np.tile(tile, (squares, squares))
    if mark:
        g[20:30, 90:100] = 128
    return Image.fromarray(np.clip(g, 0, 255).astype(np.uint8)).convert("RGB")


def _screened_at(tmp_path, kept, copy, turn, kept_as="png"):
    from matching.verdict import _screen
    kp, cp = tmp_path / f"C0002000.{kept_as}", tmp_path / "IMG_0003.jpg"
    kept.save(kp, quality=85)
    cp.write_bytes(jpeg_bytes(copy, 90))
    c, m = analyse_file(cp), analyse_file(kp)
    return c, m, _screen(c, m, THRESHOLDS, turn=turn, turn_score=0.0)


def test_a_symmetric_picture_copied_upright_is_reported_upright_whichever_turn_the_screen_scored_best(tmp_path):
    from matching.verdict import _plainer_turn
    board = _chessboard()
    c, m, r = _screened_at(tmp_path, board, board, (270, True))    # the transpose: the same pixels
    res = _plainer_turn(c, m, r, False, THRESHOLDS)
    assert res is not None and (res.verdict, res.rotation, res.flipped, res.safe_to_delete) == ("duplicate", 0, False, True)
    assert "symmetric" in res.reasons[-1]


def test_a_symmetric_picture_kept_lossy_is_reported_upright_but_a_person_confirms(tmp_path):
    from matching.verdict import _plainer_turn
    board = _chessboard()
    # JPEG's tables are not their own transpose: the kept copy is its own mirror image only
    # within its coding noise, so a copy may have been mirrored (back) for a reason no proof sees
    c, m, r = _screened_at(tmp_path, board, board, (270, True), kept_as="jpg")
    res = _plainer_turn(c, m, r, False, THRESHOLDS)
    assert res is not None and (res.verdict, res.rotation, res.flipped) == ("duplicate", 0, False)
    assert not res.safe_to_delete and "a person confirms" in res.reasons[-1]


def test_a_nearly_symmetric_picture_keeps_the_turn_its_proof_found(tmp_path):
    from matching.verdict import _plainer_turn, verify_analyses
    board = _chessboard(mark=True)
    copy = board.transpose(Image.Transpose.TRANSPOSE)
    c, m, r = _screened_at(tmp_path, board, copy, None)
    assert r.flipped                                    # the screen finds the mirror by the dot
    assert _plainer_turn(c, m, r, False, THRESHOLDS) is None
    res = verify_analyses(c, m)
    assert res.verdict == "rotated" and res.flipped and not res.safe_to_delete


def test_a_fine_screen_turned_and_mirrored_is_verified_at_the_turn_asked_for_not_again_and_again(tmp_path):
    # a 6 px halftone screen (fine enough that the screen is run again on Lanczos reductions of the
    # full-detail renditions) of the camera's lower rows: its own turned self within its coding noise.
    # The second verification at a plainer turn screened again at the best-scored turn, came back to
    # the turn it was called from and called itself again: "verification failed: RecursionError"
    import skimage.data
    g = np.asarray(Image.fromarray(skimage.data.camera()).resize((1024, 1024), Image.BICUBIC), float) / 255
    yy, xx = np.mgrid[0:1024, 0:1024].astype(float)
    screen = (np.sin(xx * np.pi / 3) * np.sin(yy * np.pi / 3) + 1) / 2
    kept = Image.fromarray(np.where(g > screen, 250, 10).astype(np.uint8)[816:1020, 204:408]).convert("RGB")
    kp, cp = tmp_path / "C1205894.tif", tmp_path / "C1205894b.jpg"
    kept.save(kp, compression="tiff_lzw")
    turned = kept.transpose(Image.Transpose.ROTATE_90).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    cp.write_bytes(jpeg_bytes(turned.resize((102, 102), Image.LANCZOS), 85))
    r = verify_pair(cp, kp)
    assert (r.verdict, r.rotation, r.flipped, r.safe_to_delete) == ("rotated", 90, True, False)


def test_a_line_across_a_lossless_copy_of_a_picture_over_the_proofs_size_is_found_pixel_by_pixel(tmp_path):
    # a 2,600 px picture and its PNG copy, one 1 px line 30 levels darker drawn across it: both renditions
    # are the same reduction to 2048 px of pictures of one size, so the pixel test holds there too (it was
    # "every tile within the noise floors", a safe duplicate: a fresh-eyed attack's 12 of 40 such copies)
    import skimage.data
    big = Image.fromarray(skimage.data.retina()).resize((2600, 2600), Image.LANCZOS)
    kept = tmp_path / "C0000001.tif"
    big.save(kept, compression="tiff_lzw")
    a = np.asarray(big).astype(int)
    a[1300, 400:1400] -= 30
    copy = tmp_path / "C0000001a.png"
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(copy)
    r = verify_pair(copy, kept)
    assert (r.verdict, r.safe_to_delete) == ("different", False), r.reasons
    assert "differ pixel by pixel, where two lossless copies differ by rounding only" in r.reasons[0]


def test_a_scratch_across_a_lossless_copy_shrunk_from_a_lossless_kept_picture_departs_where_filters_agree(tmp_path):
    # the camera shrunk by Pillow's Lanczos to a PNG, a 1 px scratch 40 levels darker drawn across it: the
    # even-loss test alone passed it ("every tile within the noise floors", a safe duplicate: a fresh-eyed
    # attack's 218 of 1,080 such scratches); our filters agree across the sky it crosses, and it departs there
    import skimage.data
    kept_im = Image.fromarray(skimage.data.camera()).convert("RGB")
    kept = tmp_path / "C0000002.tif"
    kept_im.save(kept, compression="tiff_lzw")
    w, h = 256, 256   # (at 70-85 % the even-loss test finds this one already)
    small = kept_im.resize((w, h), Image.LANCZOS)
    true_copy, scratched = tmp_path / "true.png", tmp_path / "scratched.png"
    small.save(true_copy)
    a = np.asarray(small).astype(int)
    for x in range(w // 5, w // 2):                       # a diagonal hairline across the sky
        a[h // 8 + (x - w // 5) // 4, x] -= 40
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(scratched)
    r = verify_pair(true_copy, kept)
    assert (r.verdict, r.safe_to_delete) == ("duplicate", True), r.reasons
    r = verify_pair(scratched, kept)
    assert (r.verdict, r.safe_to_delete) == ("different", False), r.reasons
    assert "departs by more than our filters differ among themselves there" in r.reasons[0]


def _settings_page():
    """A screenshot of a settings page: sparse large text on white, a bar and a button (a kept
    screenshot at 2x; its copy shrunk to half)."""
    from PIL import ImageDraw, ImageFont
    im = Image.new("RGB", (680, 280), (255, 255, 255))
    d = ImageDraw.Draw(im)
    big, body = ImageFont.load_default(size=26), ImageFont.load_default(size=22)
    d.rectangle((0, 0, 679, 16), fill=(246, 246, 246))
    d.line((0, 17, 679, 17), fill=(210, 210, 210), width=2)
    d.text((0, 50), "ccess restricted", fill=(60, 60, 60), font=big, stroke_width=1, stroke_fill=(60, 60, 60))
    d.text((0, 112), "oved applications can access data in this organization. App", fill=(90, 90, 90), font=body)
    d.rounded_rectangle((-10, 208, 186, 274), radius=6, outline=(200, 200, 200), fill=(248, 248, 248), width=2)
    d.text((0, 225), "e restrictions", fill=(160, 20, 20), font=big, stroke_width=1, stroke_fill=(160, 20, 20))
    return im


@pytest.mark.parametrize("kept_as, verdict", [("png", "duplicate"), ("jp2", "duplicate"), ("jpg", "different")])
def test_a_half_size_copy_of_a_screenshot_goes_to_the_proof_against_a_kept_copy_whose_loss_it_models_only(
        tmp_path, kept_as, verdict):
    # sharp sparse text on white: at the screen's 256 px its worst window differs by 0.09-0.1, over
    # same_local; against the lossless kept screenshot, or one kept as a lossy JPEG 2000 (proof 1.21),
    # the full-detail proof decides (and passes it), against a kept JPEG the screen keeps its limit
    # (a lifted region passed the proof there)
    kept = tmp_path / f"C0000008.{kept_as}"
    _settings_page().save(kept, **({"quality_mode": "rates", "quality_layers": [10]} if kept_as == "jp2" else {"quality": 95}))
    copy = tmp_path / "C0000008b.jpg"
    _settings_page().resize((340, 140), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=60)
    res = verify_pair(copy, kept)
    assert res.local_score > THRESHOLDS.same_local
    assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), res.reasons


@pytest.mark.parametrize("kept_as", ["png", "jp2"])
@pytest.mark.parametrize("lift, q", [(30, 60), (30, 50), (-40, 60)])
def test_an_edit_over_the_screens_limit_stands_only_if_the_proof_accounts_for_the_copy(tmp_path, lift, q, kept_as):
    # review of proof 1.13: past same_local the tile tests alone passed a square (6 % of the short
    # side) lifted by 30 grey levels in a 35 % copy of a PNG at 0.95 of their tolerance; no filter
    # reproduced that copy, so the screen's limit holds (and since proof 1.33 the even-loss test, which
    # holds a copy no filter reproduced, finds the square first). Against a kept JPEG 2000 (proof 1.21)
    # the even-loss test must explain the copy, and does not
    from skimage import data
    im = Image.fromarray(data.coffee())
    w, h = im.size
    a = np.asarray(im).astype(int)
    s = int(min(w, h) * 0.06)
    a[h // 3:h // 3 + s, w // 3:w // 3 + s] += lift
    kept = tmp_path / f"C0000009.{kept_as}"
    im.save(kept, **({"quality_mode": "rates", "quality_layers": [10]} if kept_as == "jp2" else {}))
    copy = tmp_path / "C0000009b.jpg"
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).resize((int(w * 0.35), int(h * 0.35)),
                                                                Image.Resampling.LANCZOS).save(copy, "JPEG", quality=q)
    res = verify_pair(copy, kept)
    assert THRESHOLDS.same_local < res.local_score <= THRESHOLDS.proven_local
    assert res.verdict == "different" and not res.safe_to_delete, res.reasons
    assert "edited" in res.reasons[-1], res.reasons



def test_the_screens_wider_limit_opens_only_for_a_copy_made_as_the_kept_picture_or_its_jpeg_2000_loss():
    # proof 1.48 holds a lossless copy of a lossy kept copy, and a JPEG 2000 or WebP copy, to the kept picture as
    # it is by the even-loss, stroke and patch tests; there they only refuse. Counted as accounting for the copy,
    # they opened proven_local to a 31 % PNG copy of a 10:1 JPEG 2000 with a 2 px line 25 levels light across it
    # (screen 0.099): a safe duplicate, "different" before (a fresh-eyed attack's)
    from matching.verdict import _proof_accounts_for_copy
    explained = {"filter": None, "rms": 2.0, "worst": 0.5, "stroke": 0.85, "patch": 0.95}
    assert _proof_accounts_for_copy({"even": {**explained, "kept_as_is": False}})
    assert not _proof_accounts_for_copy({"even": {**explained, "kept_as_is": True}})
    assert _proof_accounts_for_copy({"reproduction": {"filter": "lanczos"}, "even": {**explained, "kept_as_is": True}})
    assert not _proof_accounts_for_copy({"even": {**explained, "patch": None}})

def _mirror_scored_best(monkeypatch):
    """The screen as when coding noise scores the mirror best and the plain turn second (its 40x40
    greys cannot tell a near-blank page from its mirror image, but for the page number)."""
    import dataclasses

    from matching import verdict as verdict_module
    screen = verdict_module._screen

    def mirror_first(c, m, T, turn=None, turn_score=0.0):
        if turn is not None:
            return screen(c, m, T, turn=turn, turn_score=turn_score)
        best = screen(c, m, T)
        mirrored = screen(c, m, T, turn=(0, True), turn_score=best.orient_score)
        others = ((best.orient_score, (0, False)),) + tuple(o for o in best.other_turns if o[1] != (0, True))
        return dataclasses.replace(mirrored, other_turns=others)
    monkeypatch.setattr(verdict_module, "_screen", mirror_first)


def test_a_near_blank_page_copy_whose_mirror_scores_best_is_proven_at_the_plain_turn_for_a_person(tmp_path, monkeypatch):
    # proof 1.22: a 25 % copy of a near-blank page (the look-alikes at seed 31) was "different": the
    # screen chose the mirror by coding noise, and the proof refused the mirrored page number. A
    # plainer turn scored as well now faces the whole verification and proves it; which turn the copy
    # was made at the screen could not tell, so a person confirms (a page "1" mirrored on purpose was
    # refused at the mirror and proven at no turn)
    _mirror_scored_best(monkeypatch)
    kept = tmp_path / "L0000090.tif"
    grained_sheet("90", at=(314, 850)).save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "L0000090a.jpg"
    grained_sheet("90", at=(314, 850)).resize((160, 225), Image.Resampling.BILINEAR).save(copy, "JPEG", quality=60)
    res = verify_pair(copy, kept)
    assert (res.verdict, res.safe_to_delete, res.rotation, res.flipped) == ("duplicate", False, 0, False), res.reasons
    assert "the screen's best turn (mirrored) was refused by the full-detail proof" in res.reasons[-2]
    assert "a person confirms" in res.reasons[-1]


def test_a_near_blank_page_with_an_ink_dot_is_refused_at_every_turn_that_fits(tmp_path, monkeypatch):
    # the same page with a 3x3 px ink dot (a look-alike of the same seed): the other turns that fit
    # face the whole proof too, and every one refuses it
    _mirror_scored_best(monkeypatch)
    kept = tmp_path / "L0000090.tif"
    grained_sheet("90", at=(314, 850)).save(kept, "TIFF", compression="tiff_lzw")
    dotted = grained_sheet("90", at=(314, 850))
    ImageDraw.Draw(dotted).rectangle((400, 300, 402, 302), fill=(40, 40, 40))
    copy = tmp_path / "L0000090a.jpg"
    dotted.resize((160, 225), Image.Resampling.BILINEAR).save(copy, "JPEG", quality=60)
    res = verify_pair(copy, kept)
    assert res.verdict == "different" and not res.safe_to_delete, res.reasons


def _register_sheet():
    """A small screenshot of a register table: a heading on white, two sky-blue cells of text."""
    from PIL import ImageFont
    im = Image.new("RGB", (320, 136), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.text((6, 4), "SPI frequency", fill=(0, 0, 0), font=ImageFont.load_default(size=30))
    for i, word in enumerate(("Bit number", "Id")):
        y = 60 + i * 38
        d.rectangle((0, y, 320, y + 34), fill=(135, 206, 235))
        d.line((0, y + 35, 320, y + 35), fill=(255, 255, 255), width=2)
        d.text((8, y + 8), word, fill=(20, 20, 20), font=ImageFont.load_default(size=16))
    return im


@pytest.mark.parametrize("k, tag", [(90, 6), (180, 3), (270, 8)])
def test_an_exif_turned_copy_of_a_screenshot_is_reproduced_in_the_frame_it_was_coded_in(tmp_path, k, tag):
    # proof 1.22: the reproduction test stood aside for a copy stored turned (its JPEG blocks lie in
    # another frame than ours), so a screenshot's EXIF-turned copy at the kept copy's own size, whose
    # hard edges the screen reads as 0.121 of local difference, was "different" (r931). The kept
    # picture is now coded in the copy's stored frame and turned back, as the copy was made
    kept = tmp_path / "C1150461.tif"
    _register_sheet().save(kept, "TIFF", compression="tiff_lzw")
    exif = Image.Exif()
    exif[0x0112] = tag
    copy = tmp_path / "C1150461a.jpg"
    _register_sheet().rotate(k, expand=True).save(copy, "JPEG", quality=90, exif=exif.tobytes())
    res = verify_pair(copy, kept)
    assert (res.verdict, res.safe_to_delete, res.rotation, res.flipped) == ("duplicate", True, 0, False), res.reasons


def _white_paper_page(seed=0):
    """Dense lines of text on paper at 252, with its grain: a page whose kept JPEG 2000's overshoot
    at the text is clipped at white."""
    im = text_page((640, 900), seed, number=300 + seed, paper=(252, 251, 248), ink=(28, 26, 24), font=13, words=14,
                   left=60, top=70, bottom=80)
    a = np.asarray(im).astype(float) + np.random.default_rng(seed).normal(0, 1.2, (900, 640, 1))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("turn", [0, 90])
def test_a_copy_of_a_white_paper_page_kept_as_a_lossy_jpeg2000_is_not_another_exposure(tmp_path, turn):
    # proof 1.22: near paper white a JPEG 2000's overshoot at the text is clipped one way, so the kept
    # page reads darker than the original over its lines: true copies at its size were "another exposure
    # (brighter)", 1.8-2.9 levels, where JPEG's model of the kept copy's loss allowed ~1. The exposure
    # test now codes the copy as the kept copy was (OpenJPEG at the kept file's rate) and nets that
    # loss out, with its sign; the same page 4 levels brighter still departs. (Shrunk copies are not
    # coded so: at 50-75 % such copies are still lost, see ``coded_copy``)
    kept = tmp_path / "L0000300.jp2"
    _white_paper_page().save(kept, "JPEG2000", quality_mode="rates", quality_layers=[12], irreversible=True)
    exif = Image.Exif()
    exif[0x0112] = {0: 1, 90: 6}[turn]
    for lift, verdict in ((0, "duplicate"), (4, "different")):
        page = Image.fromarray(np.clip(np.asarray(_white_paper_page()).astype(int) + lift, 0, 255).astype(np.uint8))
        copy = tmp_path / f"L0000300{'ab'[lift > 0]}.jpg"
        page.rotate(turn, expand=True).save(copy, "JPEG", quality=90, exif=exif.tobytes())
        res = verify_pair(copy, kept)
        assert res.verdict == verdict and res.safe_to_delete == (verdict == "duplicate"), (lift, res.reasons)


def test_a_refused_plain_turn_is_never_retried_at_a_mirror_however_well_it_scores(tmp_path, monkeypatch):
    # proof 1.22's retry goes only to plainer turns: a page numbered "9" against the kept "8", refused at
    # no turn, was proven mirrored (at 25 %, the digits' mirror images differ by a pixel or two) and reported
    # "rotated", the same picture a curator may approve
    import dataclasses

    from matching import THRESHOLDS
    from matching import verdict as verdict_module
    kept = tmp_path / "L0000008.tif"
    grained_sheet("8", at=(314, 850)).save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "L0000008a.jpg"
    grained_sheet("9", at=(314, 850)).resize((160, 225), Image.Resampling.BILINEAR).save(copy, "JPEG", quality=60)
    c, m = analyse_file(copy), analyse_file(kept)
    r = verdict_module._screen(c, m, THRESHOLDS)
    tied = dataclasses.replace(r, rotation=0, flipped=False, other_turns=((r.orient_score, (0, True)),))
    monkeypatch.setattr(verdict_module, "verify_analyses", lambda *a, **k: pytest.fail("a mirror was verified"))
    dmg = verdict_module.PairDamage.of(c, m, tied)
    assert verdict_module._proven_at_other_turn(c, m, tied, dmg, True, THRESHOLDS) is None


def test_a_cut_copy_is_never_read_upright_against_a_kept_picture_that_fits_only_turned(tmp_path, monkeypatch):
    """The stream proof's and the named copy's upright readings keep to the screen's rule that a
    turn must fit the aspect ratio: read upright, a kept picture 18 % off it is squashed to the
    copy's frame, and a white top squashed is still a white top (a screenshot's copy cut below its
    top was "a damaged copy" of a diagram that way, upright)."""
    import matching.verdict as verdict
    page = text_page((327, 297), 1, top=45, font=14, pitch=22, paper=(255, 255, 255))
    data = jpeg_bytes(page, 90)
    (tmp_path / "C0000001a.jpg").write_bytes(data[:len(data) // 10])       # named after the diagram
    diagram = Image.new("RGB", (503, 560), (255, 255, 255))              # fits the copy turned only
    d = ImageDraw.Draw(diagram)
    d.rectangle((30, 300, 200, 340), outline=(60, 60, 60))
    d.arc((100, 0, 600, 560), 90, 200, fill=(80, 80, 80))
    diagram.save(tmp_path / "C0000001.tif", "TIFF", compression="tiff_lzw")
    turns = []
    real_prove, real_compare = verdict.prove_same, verdict.compare_arrays

    def prove(*a, turn, **kw):
        turns.append(tuple(turn))
        return {**real_prove(*a, turn=turn, **kw), "same": False}        # never proven: every reading is tried

    def compare(*a, orientation=None, **kw):
        if orientation is not None:
            turns.append(tuple(orientation))
        return real_compare(*a, orientation=orientation, **kw)

    monkeypatch.setattr(verdict, "prove_same", prove)
    monkeypatch.setattr(verdict, "compare_arrays", compare)
    r = verify_pair(tmp_path / "C0000001a.jpg", tmp_path / "C0000001.tif")
    assert turns and all(t[0] in (90, 270) for t in turns), turns
    assert r.verdict == "different"


def test_a_kept_progressive_jpeg_cut_after_its_first_scans_and_closed_is_the_damaged_side_not_a_safe_duplicate(tmp_path, photo):
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92, progressive=True)
    data = buf.getvalue()
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    kept = tmp_path / "C1234567.jpg"
    kept.write_bytes(data[:starts[3]] + b"\xff\xd9")   # decodes whole, without its fine detail
    copy = tmp_path / "C1234567_a.jpg"
    photo.resize((photo.width * 3 // 5, photo.height * 3 // 5), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=90)
    r = verify_pair(copy, kept)
    assert r.verdict == "match_corrupt" and not r.safe_to_delete, (r.verdict, r.reasons)


def _flipped_silently(data: bytes, share: float, bit: int) -> bytes:
    """``data`` (a baseline JPEG) with one bit flipped ``share`` of the way into its scan data."""
    sos = data.find(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    out = bytearray(data)
    pos = start + int(share * (len(data) - start - 2))
    while out[pos] == 0xFF or out[pos - 1] == 0xFF:
        pos += 1
    out[pos] ^= 1 << bit
    assert out[pos] != 0xFF
    return bytes(out)


def _kept_flipped_against_its_copy(tmp_path, photo, share: float, bit: int):
    """(the kept JPEG's decode status, the pair's result): a kept JPEG with one bit flipped, and its
    intact 90 % copy."""
    kept = tmp_path / "C1234567.jpg"
    kept.write_bytes(_flipped_silently(jpeg_bytes(photo, 90), share, bit))
    copy = tmp_path / "C1234567_a.jpg"
    photo.resize((288, 216), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=80)
    return analyse_file(kept).status, verify_pair(copy, kept)


def test_a_kept_jpeg_garbled_without_complaint_is_not_read_as_its_intact_copys_damage(tmp_path, photo):
    status, r = _kept_flipped_against_its_copy(tmp_path, photo, 0.45, 0)
    assert status == "ok"          # its decoder did not complain
    # a clean-up copy named damaged may be approved for deletion: here it is the only good copy
    assert r.verdict != "cleanup_corrupt" and r.corrupt_side != "cleanup" and not r.safe_to_delete, (r.verdict, r.reasons)
    assert any("do not tell which" in x for x in r.reasons)


def test_a_clean_up_jpeg_garbled_without_complaint_is_still_the_damaged_side_against_a_kept_tiff(tmp_path, photo):
    kept = tmp_path / "C1234567.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    buf = io.BytesIO()
    photo.resize((240, 180), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=80)
    copy = tmp_path / "C1234567_a.jpg"
    copy.write_bytes(_flipped_silently(buf.getvalue(), 0.3, 0))
    assert analyse_file(copy).status == "ok"
    r = verify_pair(copy, kept)
    assert r.verdict == "cleanup_corrupt", (r.verdict, r.reasons)


def test_a_kept_jpeg_whose_decoder_complained_is_the_damaged_side_not_its_intact_copy(tmp_path, photo):
    status, r = _kept_flipped_against_its_copy(tmp_path, photo, 0.37, 1)
    assert status == "damaged"     # this flip its decoder reports
    assert r.verdict == "match_corrupt" and r.corrupt_side == "match", (r.verdict, r.reasons)


@pytest.mark.parametrize("bar_top", [171, 173, 182])   # rows of the copy's 240: none on the 8 px block grid
def test_a_caption_bar_over_the_lower_part_of_the_copy_is_another_picture_there_not_a_garbled_stream(tmp_path, photo, bar_top):
    kept = tmp_path / "C1234567.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    captioned = photo.copy()
    draw = ImageDraw.Draw(captioned)
    draw.rectangle([0, bar_top, photo.width, photo.height], fill=(20, 20, 24))
    draw.text((12, bar_top + 12), "Portrait, 1984. Courtesy of the archive", fill=(235, 235, 235))
    copy = tmp_path / "C1234567_a.jpg"
    captioned.save(copy, "JPEG", quality=85)
    r = verify_pair(copy, kept)
    # a damaged clean-up copy may be approved for deletion: this one holds a caption the kept copy lacks
    assert r.verdict != "cleanup_corrupt" and r.corrupt_side != "cleanup" and not r.safe_to_delete, (r.verdict, r.reasons)


@pytest.mark.parametrize("turn", [90, 270])
def test_a_speck_in_a_copy_shrunk_and_then_turned_a_quarter_is_edited_as_it_is_upright(tmp_path, photo2, turn):
    kept = tmp_path / "C1234567.tif"
    photo2.save(kept, "TIFF", compression="tiff_lzw")

    def copy_of(picture, name):
        # shrunk first, then turned: Pillow's two resampling passes round in the other order than
        # the kept picture turned and then shrunk
        out = picture.resize((256, 192), Image.Resampling.LANCZOS).rotate(turn, expand=True)
        path = tmp_path / name
        out.save(path, "JPEG", quality=85)
        return path

    a = np.asarray(photo2).astype(np.int16)
    a[150:154, 80:84] -= 30                      # a dust speck, 4 px and 30 grey levels
    specked = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    r = verify_pair(copy_of(specked, "C1234567_a.jpg"), kept)
    assert r.verdict == "different" and any("edited" in x for x in r.reasons), (r.verdict, r.reasons)
    assert verify_pair(copy_of(photo2, "C1234567_b.jpg"), kept).verdict == "rotated"   # the control


def test_a_kept_copy_of_a_grey_picture_speckled_in_colour_is_not_proven_the_same_as_its_grey_copy(tmp_path, photo):
    grey_photo = photo.convert("L").convert("RGB")
    a = np.asarray(grey_photo).astype(np.int16)
    rng = np.random.default_rng(5)
    quarter = (slice(0, a.shape[0] // 2), slice(0, a.shape[1] // 2))
    # magenta and green speckle, as a JPEG 2000's code-blocks decoded from wrong bytes leave it
    swing = rng.choice([-40, 40], size=a[quarter][..., 0].shape)
    a[quarter + (0,)] += swing
    a[quarter + (1,)] -= swing
    a[quarter + (2,)] += swing
    kept = tmp_path / "C1234567.tif"
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "C1234567_a.jpg"
    grey_photo.resize((240, 180), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=80)
    r = verify_pair(copy, kept)
    assert not r.safe_to_delete and r.verdict == "different", (r.verdict, r.reasons)
    assert "grey picture" in r.reasons[-1] and r.region["bottom"] <= 0.55 and r.region["right"] <= 0.55
    # the control: the grey picture kept whole
    grey_photo.save(kept, "TIFF", compression="tiff_lzw")
    assert verify_pair(copy, kept).safe_to_delete


@pytest.mark.parametrize("orientation", [6, 8])
def test_a_bar_over_the_lower_part_of_an_exif_turned_copy_is_not_a_garbled_stream_down_its_stored_rows(tmp_path, photo, orientation):
    kept = tmp_path / "C1234567.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    barred = photo.copy()
    ImageDraw.Draw(barred).rectangle([0, 190, photo.width, photo.height], fill=(24, 24, 30))
    # stored turned, displayed upright by its EXIF orientation: the bar runs down the stored rows
    stored = barred.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    copy = tmp_path / "C1234567_a.jpg"
    stored.save(copy, "JPEG", quality=85, exif=exif.tobytes())
    r = verify_pair(copy, kept)
    assert r.verdict != "cleanup_corrupt" and r.corrupt_side != "cleanup" and not r.safe_to_delete, (r.verdict, r.reasons)


def _banded(band_a=0.0, band_b=0.0, only_a=0.0, only_b=0.0, background_a=0.0, background_b=0.0, spread_a=0.0,
            spread_b=0.0, fill_a=False, fill_b=False):
    """A screen's band findings alone (the fields the band rules read)."""
    return SimpleNamespace(band_a=band_a, band_b=band_b, band_only_a=only_a, band_only_b=only_b,
                           background_a=background_a, background_b=background_b, spread_a=spread_a,
                           spread_b=spread_b, progressive_a=False, progressive_b=False, band_step_a=0.0,
                           band_step_b=0.0, band_goes_on_a=0.0, fill_a=fill_a, fill_b=fill_b)


def test_of_two_bands_along_the_same_rows_the_copys_fill_beside_the_kept_copys_blank_space_is_the_damage():
    from matching.verdict import PairDamage, _damaged_side
    T = THRESHOLDS
    both = PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=True, silent_stream=False)
    # the kept copy's run a little longer (it read as the damaged side by 0.4 % of the picture before)
    fill_beside_blank = _banded(0.211, 0.215, 0.0, 0.004, background_b=0.40, fill_a=True)
    assert _damaged_side(fill_beside_blank, both, T) == ("cleanup", False)
    # not without each of its conditions: the kept side is named as before
    assert _damaged_side(_banded(0.211, 0.215, 0.0, 0.004, background_b=0.40), both, T)[0] == "match"   # no fill
    assert _damaged_side(_banded(0.211, 0.215, 0.0, 0.004, background_b=0.40, fill_a=True, fill_b=True), both, T)[0] == "match"
    assert _damaged_side(_banded(0.211, 0.215, 0.0, 0.004, background_b=0.2, fill_a=True), both, T)[0] == "match"
    assert _damaged_side(_banded(0.211, 0.235, 0.0, 0.024, background_b=0.40, fill_a=True), both, T)[0] == "match"
    decoder = PairDamage(cleanup=False, kept=True, cleanup_band=True, kept_band=True, silent_stream=False, complained=True)
    assert _damaged_side(fill_beside_blank, decoder, T)[0] == "match"   # the decoder's evidence comes first


def test_each_side_flat_where_the_other_shows_the_picture_names_neither_damaged():
    from matching.verdict import PairDamage, _flat_apart
    T = THRESHOLDS
    both = PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=True, silent_stream=False)
    assert "each holds what the other lacks" in _flat_apart(_banded(0.15, 0.17, 0.15, 0.17), both, T)
    # along the same rows (a kept band over the copy's own black background): one picture, one damaged side
    assert _flat_apart(_banded(0.15, 0.17, 0.0, 0.02), both, T) is None
    # a decoder's complaint says which side is damaged; one side banded is not "apart"
    complained = PairDamage(cleanup=True, kept=False, cleanup_band=True, kept_band=True, silent_stream=False,
                            complained=True)
    assert _flat_apart(_banded(0.15, 0.17, 0.15, 0.17), complained, T) is None
    one = PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=False, silent_stream=False)
    assert _flat_apart(_banded(0.15, 0.0, 0.15, 0.0), one, T) is None


def test_a_band_at_its_own_pictures_background_level_is_not_the_damage_of_the_side_it_would_name():
    from matching.verdict import PairDamage, _band_on_its_own_background
    T = THRESHOLDS
    copy_band = PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=False, silent_stream=False)
    kept_band = PairDamage(cleanup=False, kept=False, cleanup_band=False, kept_band=True, silent_stream=False)
    assert "clean-up copy's flat band" in _band_on_its_own_background(_banded(0.16, background_a=0.6), copy_band, T)
    assert "kept copy's flat band" in _band_on_its_own_background(_banded(band_b=0.16, background_b=0.6), kept_band, T)
    # a fill (background 0) or a band beside a picture with little flat at its level is damage
    assert _band_on_its_own_background(_banded(0.16, background_a=0.0), copy_band, T) is None
    assert _band_on_its_own_background(_banded(0.16, background_a=0.2), copy_band, T) is None
    # only the side that would be named counts: the kept copy's flat sky where the copy is garbled
    assert _band_on_its_own_background(_banded(0.3, 0.1, background_a=0.0, background_b=0.6),
                                       PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=True,
                                                  silent_stream=False), T) is None
    # decoder evidence or a garbled run is not judged so
    loud = PairDamage(cleanup=True, kept=False, cleanup_band=True, kept_band=False, silent_stream=False, complained=True)
    assert _band_on_its_own_background(_banded(0.16, background_a=0.6), loud, T) is None
    silent = PairDamage(cleanup=True, kept=False, cleanup_band=True, kept_band=False, silent_stream=True)
    assert _band_on_its_own_background(_banded(0.16, background_a=0.6), silent, T) is None


def test_a_band_whose_lines_lie_at_many_levels_is_rows_of_the_picture_not_the_damage_of_the_side_it_would_name():
    from matching.verdict import PairDamage, _band_of_many_levels
    T = THRESHOLDS
    copy_band = PairDamage(cleanup=False, kept=False, cleanup_band=True, kept_band=False, silent_stream=False)
    kept_band = PairDamage(cleanup=False, kept=False, cleanup_band=False, kept_band=True, silent_stream=False)
    assert "clean-up copy's flat band is rows at many levels" in _band_of_many_levels(_banded(0.17, spread_a=48.0),
                                                                                      copy_band, T)
    assert "kept copy's flat band" in _band_of_many_levels(_banded(band_b=0.17, spread_b=48.0), kept_band, T)
    assert _band_of_many_levels(_banded(0.17, spread_a=1.0), copy_band, T) is None      # one fill level
    loud = PairDamage(cleanup=True, kept=False, cleanup_band=True, kept_band=False, silent_stream=False, complained=True)
    assert _band_of_many_levels(_banded(0.17, spread_a=48.0), loud, T) is None


@pytest.mark.parametrize("copy_page,scale,q,kept_page", [(9, 0.25, 70, 0), (7, 0.25, 70, 1), (8, 0.3, 80, 3),
                                                         (6, 0.2, 75, 0), (8, 0.15, 85, 2)])
def test_another_table_page_of_one_book_is_different_not_a_damaged_copy_on_either_side(tmp_path, copy_page, scale, q,
                                                                                          kept_page):
    # table pages of one layout at 25-30 %: one page's blank lines (a paragraph's end, its last lines) lie where
    # the other has text, and were read as a damage band of the copy (9 and 0, 8 and 3: cleanup_corrupt) or of
    # the kept page (7 and 1: match_corrupt), the rest of the two pages "agreeing" within a damaged pair's
    # tolerance (74 of 180 such pairs, README, proof 1.31); at 15-20 % (6 and 0, 8 and 2) its lines of text, each
    # nearly one grey along the row, light and dark in turn, were such a band
    from mhelpers import ledger_page
    ledger_page(kept_page).save(tmp_path / "K.tif", compression="tiff_lzw")
    page = ledger_page(copy_page)
    page.resize((round(page.width * scale), round(page.height * scale)), Image.LANCZOS).save(tmp_path / "c.jpg", quality=q)
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.tif")
    assert out.verdict == "different" and out.corrupt_side == "none" and not out.safe_to_delete


@pytest.mark.parametrize("damage", [None, "band"])
def test_a_table_pages_true_copy_is_a_duplicate_and_with_a_grey_band_a_damaged_one(tmp_path, damage):
    # the controls: the kept page's own 25 % copy, and the same copy with a grey band painted across it
    # (a decoder's fill level, not the paper's)
    from mhelpers import ledger_page
    page = ledger_page(0)
    page.save(tmp_path / "K.tif", compression="tiff_lzw")
    small = page.resize((310, 438), Image.LANCZOS)
    if damage:
        small = grey_band(small, top=0.55, height=0.15)
    small.save(tmp_path / "c.jpg", quality=70)
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.tif")
    if damage:
        assert out.verdict == "cleanup_corrupt" and out.corrupt_side == "cleanup"
    else:
        assert out.verdict == "duplicate" and out.safe_to_delete


@pytest.mark.parametrize("copy_of, scale, q", [
    ({"first_no": 13}, 0.25, 80),                                      # the next strip of the roll
    ({"first_no": 10, "stock": "KODAK SAFETY FILM 5062"}, 0.25, 80),   # another stock, one digit
    ({"first_no": 10, "stock": "KODAK SAFETY FILM 5062"}, 0.35, 90)])
def test_a_lossless_jpeg2000_kept_copy_is_held_as_closely_as_a_tiff_so_another_strip_of_the_roll_is_different(
        tmp_path, copy_of, scale, q):
    # the kept strip as a reversible JPEG 2000 that kept every pass (a preservation master), and as TIFF:
    # a strip of the same roll whose rebate numbers or film stock differ is `different` against both
    # (judged as a lossy kept copy, the JPEG 2000's tolerances let each through as a safe duplicate)
    from mhelpers import film_strip
    kept, other = film_strip(10), film_strip(**copy_of)   # (one scan's grain: the rebate alone differs)
    kept.save(tmp_path / "K.jp2", irreversible=False)
    kept.save(tmp_path / "K.tif", compression="tiff_lzw")
    other.resize((round(1300 * scale), round(410 * scale)), Image.LANCZOS).save(tmp_path / "c.jpg", quality=q)
    m = analyse_file(tmp_path / "K.jp2", rendition=True)
    assert m.lossless is True and m.every_pass is True
    for name in ("K.jp2", "K.tif"):
        out = verify_pair(tmp_path / "c.jpg", tmp_path / name)
        assert out.verdict == "different" and not out.safe_to_delete, (name, out.verdict, out.reasons)


@pytest.mark.parametrize("q", [60, 70])
def test_another_programs_copy_of_a_label_whose_accession_number_differs_is_different(tmp_path, q):
    # a lossless kept label card and a 30 % copy of another card, "No. 2068" for "No. 2063" (6 px
    # digits), shrunk by another program than Pillow: no filter of ours reproduces it, the reproduction
    # test stands aside, and the tile tests, allowing what JPEG rings at the digits beside it, passed
    # it as a safe duplicate (an attack: 35 of 144 ImageMagick copies with one digit changed). The
    # even-loss test holds it to the kept picture made as it was
    from mhelpers import label_card, shrunk_elsewhere
    kept = tmp_path / "K.tif"
    label_card("2063").save(kept, compression="tiff_lzw")
    shrunk_elsewhere(label_card("2068"), 0.3).save(tmp_path / "other.jpg", quality=q)
    out = verify_pair(tmp_path / "other.jpg", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "coding of another program" in out.reasons[-1] and out.proof["reproduction"] is None
    # the control: the same card shrunk so is a safe duplicate, explained by the even-loss test alone
    shrunk_elsewhere(label_card("2063"), 0.3).save(tmp_path / "same.jpg", quality=q)
    out = verify_pair(tmp_path / "same.jpg", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert out.proof["even"]["worst"] <= 1.0 and "stroke" not in out.proof["even"]


@pytest.mark.parametrize("maker", ["pillow", "elsewhere"])
@pytest.mark.parametrize("scale", [0.3, 0.4])
def test_a_lossless_shrunk_copy_of_a_label_whose_accession_number_differs_is_different(tmp_path, maker, scale):
    # a PNG copy, 30-40 %, of another label card than the kept TIFF ("No. 2068" for "No. 2063"): both
    # lossless, so only the tile tests held it, modelling a JPEG's loss at the default quality, and it
    # was a safe duplicate at 0.58-0.84 of their tolerance. A lossless copy shrunk from a lossless kept
    # picture is that picture shrunk by some filter: the even-loss test holds it so
    from mhelpers import label_card, shrunk_elsewhere

    def shrunk(im):
        return (im.resize((round(640 * scale), round(420 * scale)), Image.LANCZOS) if maker == "pillow"
                else shrunk_elsewhere(im, scale))
    kept = tmp_path / "K.tif"
    label_card("2063").save(kept, compression="tiff_lzw")
    shrunk(label_card("2068")).save(tmp_path / "other.png")
    out = verify_pair(tmp_path / "other.png", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "resampling of another program" in out.reasons[-1] and out.proof["even"]["worst"] > 1.0
    shrunk(label_card("2063")).save(tmp_path / "same.png")
    out = verify_pair(tmp_path / "same.png", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert out.proof["even"]["worst"] <= 1.0


@pytest.mark.parametrize("name, box", [("colorwheel", (120, 60, 300, 200)), ("text", (200, 0, 340, 120)),
                                       ("camera", (250, 150, 450, 310))])
@pytest.mark.parametrize("scale", [1.0, 0.7])
def test_a_lossless_copy_with_a_line_drawn_on_it_stands_out_of_its_kept_jpeg_2000s_loss(tmp_path, name, box, scale):
    # a PNG copy of a crop kept as a 6:1 JPEG 2000, a line 1 px wide and 40 px long drawn 35 levels darker: the
    # tile tests alone held a lossless copy of a lossy kept copy, modelling that loss as a JPEG's, whose ringing
    # covered the line: a safe duplicate (an attack: 20 of 28 such lines, a number written on a page, a line across
    # a colour wheel). Now the even-loss test with its stroke test, against the kept picture as it is (or shrunk)
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB").crop(box)
    kept = tmp_path / "K.jp2"
    im.save(kept, "JPEG2000", quality_mode="rates", quality_layers=[6], irreversible=True)
    a = np.asarray(im).astype(int)
    y, x = im.height // 2, im.width // 4
    a[y, x:x + 40] -= 35
    size = (round(im.width * scale), round(im.height * scale))
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).resize(size, Image.LANCZOS).save(tmp_path / "line.png")
    out = verify_pair(tmp_path / "line.png", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "JPEG 2000's own loss" in out.reasons[-1] and "edited" in out.reasons[-1]
    # the control: the crop's own lossless copy is a safe duplicate, explained by the same tests
    im.resize(size, Image.LANCZOS).save(tmp_path / "same.png")
    out = verify_pair(tmp_path / "same.png", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert out.proof["even"]["worst"] <= 1.0 and out.proof["even"]["stroke"] <= 1.0


@pytest.mark.parametrize("name, box", [("colorwheel", (120, 60, 300, 200)), ("text", (200, 0, 340, 120)),
                                       ("camera", (250, 150, 450, 310))])
@pytest.mark.parametrize("fmt, kw", [("JPEG2000", {"quality_mode": "rates", "quality_layers": [10], "irreversible": True}),
                                     ("WEBP", {"quality": 85})])
def test_a_jpeg_2000_or_webp_copy_with_a_line_drawn_on_it_stands_out_of_its_own_codings_loss(tmp_path, name, box,
                                                                                            fmt, kw):
    # a JPEG 2000 (10:1) or WebP (q85) copy of a kept TIFF, a line 1 px wide and 40 px long drawn 35 levels darker:
    # the tile tests model any lossy copy's loss as a JPEG's, and the even-loss and stroke tests needed the copy's
    # JPEG quality, so the line was a safe duplicate (an attack: 204 of 841 such copies with strong edits, TIFF kept).
    # Now the even-loss test with its stroke test holds it to the kept picture as it is
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB").crop(box)
    kept = tmp_path / "K.tif"
    im.save(kept, compression="tiff_lzw")
    a = np.asarray(im).astype(int)
    y, x = im.height // 2, im.width // 4
    a[y, x:x + 40] -= 35
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(tmp_path / "line.img", fmt, **kw)
    out = verify_pair(tmp_path / "line.img", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "the copy's own coding loss" in out.reasons[-1] and "edited" in out.reasons[-1]
    im.save(tmp_path / "same.img", fmt, **kw)
    out = verify_pair(tmp_path / "same.img", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons


@pytest.mark.parametrize("name, box", [("colorwheel", (120, 60, 300, 200)), ("text", (200, 0, 340, 120)),
                                       ("camera", (250, 150, 450, 310))])
@pytest.mark.parametrize("ext, kw", [("png", {}), ("jpg", {"quality": 85})])
def test_a_copy_with_a_line_drawn_on_it_stands_out_of_its_kept_webps_loss(tmp_path, name, box, ext, kw):
    # a kept lossy WebP (q80), and a PNG or JPEG (q85) copy with a line 1 px wide and 40 px long drawn 35 levels
    # darker: the even-loss, stroke and patch tests judged copies of kept JPEG 2000s and JPEGs only, and the tile
    # tests' JPEG model covered the line (an attack: 244 of 636 such copies with strong edits were safe duplicates)
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB").crop(box)
    kept = tmp_path / "K.webp"
    im.save(kept, quality=80)
    a = np.asarray(im).astype(int)
    y, x = im.height // 2, im.width // 4
    a[y, x:x + 40] -= 35
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(tmp_path / f"line.{ext}", **kw)
    out = verify_pair(tmp_path / f"line.{ext}", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "edit" in out.reasons[-1]   # (the even-loss test's "kept WebP's own loss", or another test's first)
    im.save(tmp_path / f"same.{ext}", **kw)
    out = verify_pair(tmp_path / f"same.{ext}", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons


@pytest.mark.parametrize("at, by, kept_as", [((400, 600), -40, "jp2"), ((2000, 2500), 40, "jp2"),
                                             ((1200, 400), -40, "tif"), ((2000, 2500), 40, "jpg")])
def test_a_line_in_a_copy_over_the_proofs_size_stands_out_of_its_kept_copys_loss(tmp_path, at, by, kept_as):
    # a 3,072 px photograph (smooth, with 3 levels of grain) kept as a 10:1 JPEG 2000, a TIFF or a q90 JPEG, and a
    # JPEG (q85) copy at full size with a line 3 px wide and 150 px long drawn 40 levels off: both renditions capped
    # at 2048 px, the proof judged the pair by the tile tests alone ("381 of 384 tiles within the noise floors"): a
    # safe duplicate, as 6 of 6 such lines against the JPEG 2000 were. Now the even-loss test with its stroke test,
    # against the kept picture as it is
    from skimage import data
    im = Image.fromarray(data.coffee())
    big = im.resize((im.width * 6, im.height * 6), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(5).normal(0, 3, (big.height, big.width, 1))
    master = np.clip(np.asarray(big).astype(np.float32) + grain, 0, 255).astype(np.uint8)
    kept = tmp_path / f"K.{kept_as}"
    Image.fromarray(master).save(kept, **{"jp2": {"quality_mode": "rates", "quality_layers": [10], "irreversible": True},
                                          "tif": {"compression": "tiff_lzw"}, "jpg": {"quality": 90}}[kept_as])
    a = master.astype(int)
    (y, x) = at
    a[y:y + 3, x:x + 150] += by
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(tmp_path / "line.jpg", quality=85)
    out = verify_pair(tmp_path / "line.jpg", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert "against the kept picture as it is" in out.reasons[-1] and "edited" in out.reasons[-1]
    Image.fromarray(master).save(tmp_path / "same.jpg", quality=85)
    out = verify_pair(tmp_path / "same.jpg", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons


@pytest.mark.parametrize("name", ["coffee", "astronaut"])
def test_a_dot_in_a_copy_resized_in_linear_light_is_seen_against_the_nearest_filter_of_all(tmp_path, name):
    # a 30 % PNG copy resized in linear light (as ImageMagick's `-colorspace RGB -resize`), a dark dot
    # of 5 px radius 40 levels deep added before: Pillow's sRGB filters explain it with an RMS of 3-5
    # levels, under which the dot passed the even-loss test; the filters in linear light, tried only
    # when none of those explained the copy, make it nearly exactly. One round, the nearest of all
    from skimage import data

    from matching.proof import _linear_shrink
    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    kept = tmp_path / "K.png"
    im.save(kept)
    a = np.asarray(im).astype(int)
    yy, xx = np.mgrid[:im.height, :im.width]
    disc = (yy - im.height // 3) ** 2 + (xx - im.width // 2) ** 2 <= 25
    a[disc] = np.clip(a[disc].mean(axis=0) - 40, 0, 255)
    size = (round(im.width * 0.3), round(im.height * 0.3))
    _linear_shrink(Image.fromarray(a.astype(np.uint8)), size, Image.Resampling.LANCZOS).save(tmp_path / "dot.png")
    out = verify_pair(tmp_path / "dot.png", kept)
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert out.proof["even"]["filter"] == "lanczos in linear light" and out.proof["even"]["worst"] > 1.0
    _linear_shrink(im, size, Image.Resampling.LANCZOS).save(tmp_path / "same.png")
    out = verify_pair(tmp_path / "same.png", kept)
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons


@pytest.mark.parametrize("layers, every_pass", [(None, True), ([8], False)])
def test_a_jpeg2000_kept_copys_true_copy_is_a_safe_duplicate_whether_it_kept_every_pass_or_was_cut_to_a_rate(
        tmp_path, layers, every_pass):
    # the controls: the strip's own copies against it kept losslessly, and kept as a reversible JPEG
    # 2000 cut to 8:1 (lossy: its own loss is modelled, as before)
    from mhelpers import film_strip
    kept = film_strip(10)
    kept.save(tmp_path / "K.jp2", irreversible=False,
              **({"quality_mode": "rates", "quality_layers": layers} if layers else {}))
    assert analyse_file(tmp_path / "K.jp2", rendition=True).every_pass is every_pass
    for scale, q in ((0.25, 80), (0.5, 90)):
        kept.resize((round(1300 * scale), round(410 * scale)), Image.LANCZOS).save(tmp_path / "c.jpg", quality=q)
        out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.jp2")
        assert out.verdict == "duplicate" and out.safe_to_delete, (scale, q, out.verdict, out.reasons)


def test_a_diagrams_border_beside_its_blank_margin_is_no_band_and_its_true_copy_a_safe_duplicate(tmp_path):
    # the kept JPEG 2000's left margin is exactly flat down every column (white, the border line, white),
    # where the 27 % copy rings: the screen named it a band of "rows at many levels", the picture's own, and
    # the pair was "different" for it. Judged whole instead, the true copy is a duplicate, and a version of
    # the diagram with one box renamed still differs
    from mhelpers import diagram_with_a_border
    kept = diagram_with_a_border()
    kept.save(tmp_path / "C1110866.jp2", irreversible=False)
    size = (round(kept.width * 0.27), round(kept.height * 0.27))
    kept.resize(size, Image.LANCZOS).save(tmp_path / "C1110866.jpg", quality=85)
    out = verify_pair(tmp_path / "C1110866.jpg", tmp_path / "C1110866.jp2")
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert "rows at many levels" in out.reasons[0] and "judged whole" in out.reasons[0]
    diagram_with_a_border(rename="Keywords").resize(size, Image.LANCZOS).save(tmp_path / "C1110866b.jpg", quality=85)
    out = verify_pair(tmp_path / "C1110866b.jpg", tmp_path / "C1110866.jp2")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons


@pytest.mark.parametrize("scale, q", [(0.65, 90), (0.55, 80)])
def test_an_engravings_true_copy_is_screened_again_from_the_renditions_where_its_reduced_pictures_moire(tmp_path, scale, q):
    # hatching every 5 px is beyond a 256 px reduction's resolution: the box-reduced pictures fold it back
    # as a moire of their own, and the true copy was "global difference 0.04 > 0.03". Reduced from the
    # renditions by Lanczos the two agree, and the proof decides: a safe duplicate; the plate with a
    # square of its hatching thinned is still refused
    from mhelpers import engraving
    engraving().save(tmp_path / "plate.tif", compression="tiff_lzw")
    size = (round(800 * scale), round(600 * scale))
    engraving().resize(size, Image.LANCZOS).save(tmp_path / "copy.jpg", quality=q)
    out = verify_pair(tmp_path / "copy.jpg", tmp_path / "plate.tif")
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert "moire" in out.reasons[0]
    engraving(patch=(300, 250, 80, 0.3)).resize(size, Image.LANCZOS).save(tmp_path / "retouched.jpg", quality=q)
    out = verify_pair(tmp_path / "retouched.jpg", tmp_path / "plate.tif")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons


def test_a_photographs_pair_the_screen_refuses_is_not_screened_again(tmp_path, monkeypatch):
    # ordinary detail reduces alike either way: no renditions are read for a pair the screen refuses
    import matching.verdict as verdict
    from mhelpers import edited
    from skimage import data
    im = Image.fromarray(data.astronaut())
    im.save(tmp_path / "K.tif")
    edited(im, box=(0.2, 0.2, 0.6, 0.6)).resize((256, 256), Image.LANCZOS).save(tmp_path / "c.jpg", quality=85)
    calls = []
    monkeypatch.setattr(verdict, "attach_rendition", lambda a: calls.append(a) or False)
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.tif")
    assert out.verdict == "different" and calls == [], out.reasons


@pytest.mark.parametrize("q", [80, 90])
def test_a_webp_copy_of_a_page_on_grey_paper_is_not_another_exposure(tmp_path, q):
    # libwebp's limited-range YUV codes paper at 244-245 one level brighter, where JPEG keeps it: the
    # exposure test, with the kept picture made as a JPEG, read every WebP copy of such a page as "another
    # exposure (brighter), 1.05 levels", even against a TIFF. Made as a WebP, the true copy is a safe
    # duplicate, and a copy 1.5 levels brighter before its WebP is still refused
    from mhelpers import text_page
    page = text_page((600, 800), 3, paper=(245, 245, 245), ink=(0, 0, 0))
    page.save(tmp_path / "K.tif")
    page.save(tmp_path / "c.webp", quality=q)
    out = verify_pair(tmp_path / "c.webp", tmp_path / "K.tif")
    assert out.verdict == "duplicate" and out.safe_to_delete, out.reasons
    assert abs(out.proof["exposure"]["shift"][0]) < THRESHOLDS.proof.exposure_floor
    yy, xx = np.mgrid[:800, :600]
    lifted = np.clip(np.asarray(page).astype(int) + 1 + 1 * ((yy + xx) % 2 == 0)[..., None], 0, 255).astype(np.uint8)
    Image.fromarray(lifted).save(tmp_path / "b.webp", quality=q)
    out = verify_pair(tmp_path / "b.webp", tmp_path / "K.tif")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
@pytest.mark.parametrize("band, lift", [((slice(100, 132), slice(None)), 4), ((slice(100, 132), slice(None)), -3),
                                        ((slice(226, 252), slice(None)), 4), ((slice(None), slice(226, 252)), 4),
                                        ((slice(None), slice(224, 256)), 4)])
def test_a_band_across_a_photograph_lifted_by_a_few_levels_is_an_edit_where_it_lies(tmp_path, name, band, lift):
    # a q90 copy of a 256 px crop of a TIFF, a band 26-32 px wide across it lifted or darkened by 3-4 grey
    # levels: its windows took the reproduction test's share under 0.97, its cells needed half the coded
    # windows reproduced outside the band and the cells beside it (3 rows of 7 left too few), and a band
    # along the bottom or right edge lay in no cell: safe duplicates until proof 1.37
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB").crop((0, 0, 256, 256))
    im.save(tmp_path / "K.tif")
    a = np.asarray(im).astype(int)
    a[band] += lift
    (tmp_path / "c.jpg").write_bytes(jpeg_bytes(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), 90))
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.tif")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert out.proof["reproduction"]["cells"] >= 1 and "32 px cells" in out.reasons[-1]
    region = out.region
    assert region["top"] <= (band[0].start or 0) / 256 + 0.05 and region["bottom"] >= (band[0].stop or 256) / 256 - 0.05
    jpeg = tmp_path / "same.jpg"
    jpeg.write_bytes(jpeg_bytes(im, 90))
    assert verify_pair(jpeg, tmp_path / "K.tif").safe_to_delete


def test_a_flip_that_drifts_the_last_two_block_rows_is_the_copys_damage_and_a_lifted_bottom_strip_is_not(tmp_path):
    # a flipped DC difference in the last 32 rows of a 256 px copy: everything after it 8-14 levels off,
    # over two row blocks of the screen's 16, under drift_min_rest's 3 until proof 1.37: the proof saw 5
    # tiles differ, "different". It begins at the block the bit flipped in, inside its row; the bottom 16
    # rows lifted by 12 levels (an edit, from each row's first pixel) stay "different"
    from mhelpers import flip_late_drift
    from skimage import data

    from matching import analyse_file
    im = Image.fromarray(data.camera()).convert("RGB").crop((0, 256, 256, 512))
    im.save(tmp_path / "C.tif")

    def quiet(flipped: bytes) -> bool:   # no decoder complaint: the damage is found by the pixels alone
        (tmp_path / "c.jpg").write_bytes(flipped)
        return not analyse_file(tmp_path / "c.jpg").errors
    flipped, first = flip_late_drift(jpeg_bytes(im, 90), accept=quiet)
    (tmp_path / "c.jpg").write_bytes(flipped)
    assert first >= 224
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "C.tif")
    assert (out.verdict, out.corrupt_side) == ("cleanup_corrupt", "cleanup") and not out.safe_to_delete, out.reasons
    assert out.region is None or out.region["top"] >= 0.8
    a = np.asarray(im).astype(int)
    a[-16:] += 12
    (tmp_path / "e.jpg").write_bytes(jpeg_bytes(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), 90))
    out = verify_pair(tmp_path / "e.jpg", tmp_path / "C.tif")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons


def test_a_halftone_copied_under_half_its_size_is_not_screened_again_so_a_faint_line_is_not_passed(tmp_path):
    # a 1 px grey line across a 10 px halftone, the print shrunk to 60 % and again to 30 % (two saves): its
    # pixels are moire at that size, and screened again from the renditions the proof passed it (0.22 of its
    # tolerance, as the true copy): a safe duplicate. Under alias_min_scale the screen's refusal stands
    from mhelpers import halftone
    base = halftone()
    Image.fromarray(base).save(tmp_path / "K.png")
    lined = base.copy()
    lined[558, 300:420] = 90

    def two_saves(a, path):
        im = Image.fromarray(a).convert("RGB").resize((720, 540), Image.BICUBIC)
        Image.open(io.BytesIO(jpeg_bytes(im, 92))).resize((360, 270), Image.BICUBIC).save(path, quality=80)
    two_saves(lined, tmp_path / "c.jpg")
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.png")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    assert out.reasons == [r for r in out.reasons if "moire" not in r]


def test_a_forms_black_bar_painted_out_of_the_kept_copy_does_not_name_the_intact_copy_damaged(tmp_path):
    # both flat along the bar's rows: the copy black, the kept copy white like its paper. Black is a
    # decoder's fill too, and read as one the intact copy was `cleanup_corrupt` (a curator may delete it)
    from PIL import ImageFont
    rng = np.random.default_rng(1)
    im = Image.new("RGB", (1000, 1300), "white")
    d = ImageDraw.Draw(im)
    f = ImageFont.load_default(size=16)
    d.rectangle([0, 600, 999, 700], fill=(0, 0, 0))
    for y in range(210, 1040, 26):
        d.text((60, y), " ".join(rng.choice(["the", "total", "amount", "date", "signed", "account", "balance"], 8)),
               fill=(0, 0, 0), font=f)
    orig = np.asarray(im)
    kept = orig.copy()
    kept[600:701] = 255
    Image.fromarray(kept).save(tmp_path / "K.png")
    Image.fromarray(orig).resize((500, 650), Image.LANCZOS).save(tmp_path / "c.png")
    out = verify_pair(tmp_path / "c.png", tmp_path / "K.png")
    assert out.verdict != "cleanup_corrupt" and not out.safe_to_delete, out.reasons


@pytest.mark.parametrize("shape", ["band8", "L12"])
@pytest.mark.parametrize("lift", [3, -6])
def test_a_band_thinner_than_half_a_cell_lifted_across_a_photograph_is_an_edit(tmp_path, shape, lift):
    # an 8 px band, or an L 12 px wide, lifted or darkened in a q95 copy of a PNG at its own size: it covers
    # under half of every 32 px cell it crosses, so no cell departed, the share fell under 0.97 and the
    # reproduction test stood aside: safe duplicates (a third attack). Its windows depart in one cluster
    from skimage import data
    im = Image.fromarray(data.coffee()).resize((400, 300), Image.LANCZOS)
    im.save(tmp_path / "K.png")
    yy, xx = np.mgrid[:300, :400]
    mask = ((yy >= 140) & (yy < 148) if shape == "band8" else
            ((yy >= 100) & (yy < 112) & (xx >= 100) & (xx < 300)) | ((xx >= 100) & (xx < 112) & (yy >= 100) & (yy < 250)))
    a = np.asarray(im).astype(np.int16) + np.where(mask[..., None], lift, 0)
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(tmp_path / "c.jpg", quality=95)
    out = verify_pair(tmp_path / "c.jpg", tmp_path / "K.png")
    assert out.verdict == "different" and not out.safe_to_delete, out.reasons
    im.save(tmp_path / "same.jpg", quality=95)
    assert verify_pair(tmp_path / "same.jpg", tmp_path / "K.png").safe_to_delete


@pytest.mark.parametrize("value,verdict", [(128, "cleanup_corrupt"), (100, "different")])
def test_a_thin_band_of_a_decoders_fill_grey_off_the_block_grid_is_damage_though_its_coding_rings_at_its_edges(
        tmp_path, photo, value, verdict):
    # seed 16004: a band 15 rows high at row 61 of an 80 px copy, the picture again below it, coded as JPEG: its
    # edges ring a few levels, so the 16 rows read from where it begins were not the fill grey, and the pair was
    # "another picture there (a caption, a panel)": only its middle rows are. Another grey there is still a panel
    small = photo.resize((120, 80), Image.Resampling.LANCZOS)
    kept = tmp_path / "C1269246.tif"
    small.save(kept, "TIFF", compression="tiff_lzw")
    a = np.asarray(small).copy()
    a[61:76] = value
    copy = tmp_path / "IMG_2439_34.jpg"
    copy.write_bytes(jpeg_bytes(Image.fromarray(a), 90))
    r = verify_pair(copy, kept)
    assert r.verdict == verdict and not r.safe_to_delete, (r.verdict, r.reasons)
    if verdict == "cleanup_corrupt":
        assert r.corrupt_side == "cleanup"
    else:
        assert any("another picture there" in x for x in r.reasons), r.reasons


def _over_the_cap(seed=5, size=(2400, 1800)):
    """A photograph-like picture over the proof's 2048 px: coffee enlarged, tones 50-205, sensor noise."""
    from skimage import data
    rng = np.random.default_rng(seed)
    im = Image.fromarray(data.coffee()).resize(size, Image.Resampling.BICUBIC)
    return 50 + np.asarray(im, np.float32) * (155 / 255) + rng.normal(0, 1.5, (size[1], size[0], 1))


def _checkered(a, amplitude=25):
    """``a`` with a 1 px checkerboard of +-amplitude over a sixth of its width, a sixth of its height."""
    out = a.copy()
    h, w = a.shape[:2]
    y0, x0, s = h // 3, w // 3, w // 6
    yy, xx = np.mgrid[0:s, 0:s]
    out[y0:y0 + s, x0:x0 + s] += ((((yy + xx) % 2) * 2 - 1) * amplitude)[..., None]
    return out


def _u8(a):
    return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))


@pytest.mark.parametrize("copy_has_it", [True, False])
def test_detail_finer_than_the_proofs_cap_that_one_side_lacks_is_a_different_picture(tmp_path, copy_has_it):
    """Two files over the cap are proven at 2048 px, where a 1 px texture is gone from both: what each rendition
    lost is compared block by block (a fresh-eyed attack's checkerboards and screens were safe duplicates)."""
    plain = _over_the_cap()
    kept, copy = (plain, _checkered(plain)) if copy_has_it else (_checkered(plain), plain)
    _u8(kept).save(tmp_path / "kept.tif", compression="tiff_lzw")
    _u8(copy).save(tmp_path / "copy.jpg", quality=92)
    r = verify_pair(tmp_path / "copy.jpg", tmp_path / "kept.tif")
    assert r.verdict == "different" and not r.safe_to_delete, r.reasons
    whose = "clean-up" if copy_has_it else "kept"
    assert any(f"the {whose} copy holds detail finer than the proof's 2048 px" in x for x in r.reasons), r.reasons
    assert r.region and r.region["left"] >= 0.3 and r.region["right"] <= 0.55, r.region


@pytest.mark.parametrize("scale, quality", [(1.0, 30), (1.0, 92), (0.9, 60)])
def test_true_copies_over_the_cap_keep_their_finer_detail_within_the_limit(tmp_path, scale, quality):
    kept = _u8(_checkered(_over_the_cap(seed=6), amplitude=20))
    kept.save(tmp_path / "kept.tif", compression="tiff_lzw")
    copy = kept if scale == 1 else kept.resize((round(kept.width * scale), round(kept.height * scale)), Image.Resampling.LANCZOS)
    copy.save(tmp_path / "copy.jpg", quality=quality)
    r = verify_pair(tmp_path / "copy.jpg", tmp_path / "kept.tif")
    assert r.verdict == "duplicate" and r.safe_to_delete, r.reasons


@pytest.mark.parametrize("scale", [0.6, 0.8])
def test_a_copy_against_a_kept_tiff_enlarged_back_from_a_smaller_picture_is_a_duplicate_not_safe(tmp_path, scale):
    # a fresh-eyed attack: the original's q90 JPEG against a TIFF shrunk to 60-80 % and enlarged back was a safe
    # duplicate (12 of 12): every pixel of the copy is there, and the tiles' tolerances allow what resampling does,
    # but the kept copy holds 60-80 % of the copy's linear detail. Deleting the copy keeps only the softer picture
    from dataclasses import replace

    from skimage import data

    from matching import thresholds
    from matching.verdict import verify_analyses
    original = Image.fromarray(data.hubble_deep_field()[:500, :500]).convert("RGB")
    kept = tmp_path / "C8300000.tif"
    original.resize((round(500 * scale),) * 2, Image.LANCZOS).resize((500, 500), Image.LANCZOS).save(
        kept, compression="tiff_lzw")
    r = _v(tmp_path, kept, "C8300000.jpg", im=original, fmt="JPEG", quality=90)
    assert r.verdict == "duplicate" and not r.safe_to_delete, r.reasons
    assert any("kept copy is softer" in why for why in r.reasons), r.reasons
    # a copy made from the kept picture itself is safe, and the limit is the named one
    control = _v(tmp_path, kept, "C8300000a.jpg", im=Image.open(kept), fmt="JPEG", quality=90)
    assert control.verdict == "duplicate" and control.safe_to_delete, control.reasons
    looser = replace(thresholds.current(), proof=replace(thresholds.current().proof, finer_detail_limit=99.0))
    r = verify_analyses(analyse_file(tmp_path / "C8300000.jpg"), analyse_file(kept), thresholds=looser)
    assert r.verdict == "duplicate" and r.safe_to_delete, r.reasons


def test_a_grey_band_in_a_kept_jpeg_2000_just_above_the_pictures_dark_ground_is_the_kept_copys_damage(tmp_path):
    # seed 54003: a 96x75 crop of coins, its 8:1 JPEG 2000 grey from row 59 to 70, the coins' dark ground below.
    # The band's run took in the ground's rows too, its lines 19 levels apart: "rows of the picture, not damage";
    # judged whole, the copy read as garbled from row 59, off the block grid: "different", not match_corrupt
    from mhelpers import corpus_crop
    crop = corpus_crop("coins", 15)
    banded = np.asarray(crop).copy()
    banded[59:71] = 128
    kept = tmp_path / "C1316760.jp2"
    Image.fromarray(banded).save(kept, quality_mode="rates", quality_layers=[8], irreversible=True)
    r = _v(tmp_path, kept, "IMG_1906_40.jpg", data=jpeg_bytes(crop, 90))
    assert (r.verdict, r.corrupt_side) == ("match_corrupt", "match") and not r.safe_to_delete, r.reasons

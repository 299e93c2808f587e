import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from matching.decode import DECODER_FILL, EXIF_TO_DIHEDRAL, DecodeError, compose, decode, dihedral, inverse

from mhelpers import icc_described, jpeg_bytes


def _close(a, b, tol=12):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and np.abs(a - b).mean() < tol


@pytest.mark.parametrize("fmt,ext,kw", [
    ("JPEG", "jpg", {"quality": 90}),
    ("JPEG", "jpg", {"quality": 90, "progressive": True}),
    ("PNG", "png", {}),
    ("WEBP", "webp", {"quality": 90}),
    ("TIFF", "tif", {"compression": "tiff_lzw"}),
    ("TIFF", "tif", {"compression": "tiff_adobe_deflate"}),
    ("TIFF", "tif", {"compression": "jpeg"}),
    ("JPEG2000", "jp2", {"quality_mode": "rates", "quality_layers": [8], "irreversible": True}),
    ("JPEG2000", "j2k", {}),
])
def test_each_format_decodes(tmp_path, photo, fmt, ext, kw):
    p = tmp_path / f"x.{ext}"
    photo.save(p, fmt, **kw)
    d = decode(p)
    assert d.format == fmt
    assert (d.width, d.height) == photo.size
    assert d.errors == [] and d.pages == 1 and d.bit_depth == 8
    assert _close(d.image, np.asarray(photo.resize((d.image.shape[1], d.image.shape[0]), Image.BOX)))


def test_cmyk_jpeg(tmp_path, photo):
    p = tmp_path / "cmyk.jpg"
    photo.convert("CMYK").save(p, "JPEG", quality=92)
    d = decode(p)
    assert d.mode == "CMYK" and d.errors == []
    ref = np.asarray(Image.open(p).convert("RGB").resize((d.image.shape[1], d.image.shape[0]), Image.BOX))
    assert _close(d.image, ref)


def test_16bit_tiff_and_png(tmp_path, photo):
    a16 = (np.asarray(photo.convert("L")).astype(np.uint16) * 257)
    p = tmp_path / "g16.tif"
    Image.fromarray(a16).save(p, "TIFF", compression="tiff_lzw")
    d = decode(p)
    assert d.bit_depth == 16
    ref = np.asarray(photo.convert("L").resize((d.image.shape[1], d.image.shape[0]), Image.BOX))
    assert _close(d.image[..., 0], ref, tol=2)
    q = tmp_path / "g16.png"
    Image.fromarray(a16).save(q)
    assert decode(q).bit_depth == 16


def test_multipage_tiff_counts_pages_and_compares_first(tmp_path, photo, photo2):
    p = tmp_path / "multi.tif"
    photo.save(p, "TIFF", save_all=True, append_images=[photo2, photo2], compression="tiff_lzw")
    d = decode(p)
    assert d.pages == 3
    assert _close(d.image, np.asarray(photo.resize((d.image.shape[1], d.image.shape[0]), Image.BOX)))


def _pictures_of(tmp_path, name, write):
    p = tmp_path / name
    write(p)
    return decode(p).pictures


def test_every_picture_a_file_holds_is_counted_not_only_its_first(tmp_path, photo, photo2):
    # an attack's files whose first picture was the kept copy's and whose second was another: only the
    # first was compared, and each was "identical" or a safe duplicate
    tif = lambda p: photo.save(p, "TIFF", save_all=True, append_images=[photo2], compression="tiff_lzw")   # noqa: E731
    gif = lambda p: photo.save(p, "GIF", save_all=True, append_images=[photo2])                          # noqa: E731
    apng = lambda p: photo.save(p, "PNG", save_all=True, append_images=[photo2])                         # noqa: E731
    webp = lambda p: photo.save(p, "WEBP", save_all=True, append_images=[photo2], quality=90)            # noqa: E731
    mpo = lambda p: photo.save(p, "MPO", save_all=True, append_images=[photo2], quality=90)              # noqa: E731
    for name, write in (("two.tif", tif), ("two.gif", gif), ("two.png", apng), ("two.webp", webp), ("two.jpg", mpo)):
        assert _pictures_of(tmp_path, name, write) == 2, name
    assert _pictures_of(tmp_path, "one.jpg", lambda p: p.write_bytes(jpeg_bytes(photo))) == 1
    assert _pictures_of(tmp_path, "one.gif", lambda p: photo.save(p, "GIF")) == 1


def test_data_after_a_pictures_end_is_counted_but_not_a_writers_padding(tmp_path, photo, photo2):
    # a JPEG with another JPEG appended, or a phone's "motion photo" video after its end marker: a
    # decoder never reads it, so the file was compared by its first picture alone
    one = jpeg_bytes(photo)
    assert _pictures_of(tmp_path, "a.jpg", lambda p: p.write_bytes(one + jpeg_bytes(photo2))) == 2
    assert _pictures_of(tmp_path, "b.jpg", lambda p: p.write_bytes(one + b"ftypmp42" + bytes(range(256)) * 40)) == 2
    assert _pictures_of(tmp_path, "c.jpg", lambda p: p.write_bytes(one + b"\x00" * 32)) == 1    # padding
    assert _pictures_of(tmp_path, "c2.jpg", lambda p: p.write_bytes(one + b"\xff" * 70000)) == 1  # of any length
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    assert _pictures_of(tmp_path, "d.png", lambda p: p.write_bytes(buf.getvalue() + one)) == 2
    assert _pictures_of(tmp_path, "e.png", lambda p: p.write_bytes(buf.getvalue())) == 1
    webp = io.BytesIO()
    photo.save(webp, "WEBP", quality=90)
    assert _pictures_of(tmp_path, "f.webp", lambda p: p.write_bytes(webp.getvalue() + one)) == 2
    assert _pictures_of(tmp_path, "g.webp", lambda p: p.write_bytes(webp.getvalue())) == 1


def test_a_tiffs_preview_directory_is_a_picture_it_holds(tmp_path, photo, photo2):
    # a directory flagged reduced-resolution is never decoded as page 1, and what it holds is not
    # compared: a different picture there was "identical" (an attack's 18 of 18)
    import tifffile
    p = tmp_path / "pyr.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo), photometric="rgb")
        t.write(np.asarray(photo2.resize((160, 120))), photometric="rgb", subfiletype=1)
    d = decode(p)
    assert d.pages == 1 and d.pictures == 2
    # a directory flagged as a mask holds one 1-bit sample a pixel; one that holds a picture is a picture
    import struct
    q = tmp_path / "masked.tif"
    with tifffile.TiffWriter(q) as t:
        t.write(np.asarray(photo), photometric="rgb")
        t.write(np.asarray(photo2), photometric="rgb", subfiletype=1)
    with tifffile.TiffFile(q) as tf:
        at, order = tf.pages[1].tags[254].valueoffset, tf.byteorder
    b = bytearray(q.read_bytes())
    b[at:at + 4] = struct.pack(order + "I", 4)          # the preview's NewSubfileType rewritten: "a mask"
    q.write_bytes(bytes(b))
    assert decode(q).pictures == 2


def test_colour_code_points_a_jpeg2000s_profile_and_a_tiffs_colorimetry_tags_are_its_colour_description(tmp_path, photo):
    # each was "identical" and safe against the same numbers untagged: a PNG's cICP (Display P3, BT.2020 PQ), a
    # HEIF's nclx box, a JPEG 2000 master's Adobe RGB profile in its colour box (Pillow does not read it), a TIFF's
    # primaries, white point, transfer function, YCbCr coefficients
    import struct
    import zlib

    import tifffile
    from PIL import ImageCms

    def with_chunk(name, kind, body):
        photo.save(tmp_path / "plain.png")
        data = (tmp_path / "plain.png").read_bytes()
        at = data.find(b"IDAT") - 4
        chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        (tmp_path / name).write_bytes(data[:at] + chunk + data[at:])
        return decode(tmp_path / name).icc
    assert with_chunk("p3.png", b"cICP", bytes([12, 13, 0, 1])) == \
        "PNG colour code points 12/13 (primaries/transfer), not sRGB's [cicp 12 13]"
    assert with_chunk("pq.png", b"cICP", bytes([9, 16, 0, 1])).endswith("[cicp 9 16]")
    assert with_chunk("srgb.png", b"cICP", bytes([1, 13, 0, 1])) == "" and decode(tmp_path / "plain.png").icc == ""
    import pillow_heif
    pillow_heif.register_heif_opener()
    for name, primaries, transfer, said in (("p3.heic", 12, 13, "[cicp 12 13]"), ("srgb.heic", 1, 13, "")):
        photo.convert("RGB").save(tmp_path / name, quality=-1, chroma=444, matrix_coefficients=0,
                                  color_primaries=primaries, transfer_characteristics=transfer)
        got = decode(tmp_path / name).icc
        assert got.endswith(said) and bool(got) == bool(said), (name, got)
    # a JPEG 2000 whose colour box holds a profile (method 2), the codestream the same
    photo.save(tmp_path / "k.jp2", irreversible=False)
    data = (tmp_path / "k.jp2").read_bytes()
    at = data.find(b"colr")
    size = int.from_bytes(data[at - 4:at], "big")
    xyz = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    colr = struct.pack(">I", 11 + len(xyz)) + b"colr" + b"\x02\x00\x00" + xyz
    jp2h = data.rfind(b"jp2h", 0, at)
    grown = len(colr) - size
    patched = bytearray(data[:at - 4] + colr + data[at - 4 + size:])
    patched[jp2h - 4:jp2h] = (int.from_bytes(data[jp2h - 4:jp2h], "big") + grown).to_bytes(4, "big")
    (tmp_path / "icc.jp2").write_bytes(bytes(patched))
    assert decode(tmp_path / "icc.jp2").icc.startswith("XYZ identity") and decode(tmp_path / "k.jp2").icc == ""
    # a TIFF's colorimetry tags off the defaults; sRGB's own primaries and white point are no description
    rgb = np.asarray(photo.convert("RGB"))
    for name, tags, said in (
            ("bt2020.tif", [(319, 5, 6, (708, 1000, 170, 1000, 131, 1000, 797, 1000, 46, 1000, 131, 1000), True)],
             "PrimaryChromaticities"),
            ("d50.tif", [(318, 5, 2, (3457, 10000, 3585, 10000), True)], "WhitePoint"),
            ("srgbtags.tif", [(318, 5, 2, (3127, 10000, 3290, 10000), True),
                              (319, 5, 6, (64, 100, 33, 100, 30, 100, 60, 100, 15, 100, 6, 100), True)], None)):
        tifffile.imwrite(tmp_path / name, rgb, photometric="rgb", extratags=tags)
        got = decode(tmp_path / name).icc
        assert (said in got and got.startswith("TIFF colorimetry tags") and got.endswith("]")) if said else got == "", \
            (name, got)


def test_chunks_and_boxes_are_walked_so_their_bytes_in_an_earlier_one_do_not_hide_the_real_ones(tmp_path, photo):
    # a fourth attack: "cICP" in a text chunk before the real one, a fake IHDR before the real one, "colr" and a
    # SOC+SIZ in an XML box before a JPEG 2000's header hid a wide gamut, 16 bits and a profile
    import struct
    import zlib

    from PIL import ImageCms

    from matching.formats import j2k_bit_depth, jp2_colour_boxes, png_chunks

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    grey16 = np.asarray(photo.convert("L"), np.uint16) * 257
    Image.fromarray(grey16).save(tmp_path / "g.png")
    data = (tmp_path / "g.png").read_bytes()
    decoy = chunk(b"tEXt", b"k\x00" + b"cICP" + bytes([1, 13, 0, 1])) + chunk(b"IHDR", data[16:24] + bytes([8, 0, 0, 0, 0]))
    at = data.find(b"IDAT") - 4
    crafted = data[:8] + decoy + data[8:at] + chunk(b"cICP", bytes([9, 16, 0, 1])) + data[at:]
    (tmp_path / "crafted.png").write_bytes(crafted)
    assert [k for k, _ in png_chunks(crafted)][:3] == [b"tEXt", b"IHDR", b"IHDR"]
    d = decode(tmp_path / "crafted.png")
    assert d.bit_depth == 16 and d.icc.endswith("[cicp 9 16]"), (d.bit_depth, d.icc)
    # a JPEG 2000 with an XML box holding "colr" and a codestream's first bytes before its header
    photo.save(tmp_path / "k.jp2", irreversible=False)
    data = (tmp_path / "k.jp2").read_bytes()
    xml = b"colr\x01\x00\x00\x00\x00\x00\x10 \xff\x4f\xff\x51" + bytes(60)
    sig_end = 12 + int.from_bytes(data[12:16], "big")     # (after the signature and ftyp boxes)
    with_xml = data[:sig_end] + struct.pack(">I", 8 + len(xml)) + b"xml " + xml + data[sig_end:]
    assert j2k_bit_depth(with_xml) == 8 and jp2_colour_boxes(with_xml) == jp2_colour_boxes(data) == [("enum", 16)]
    # ... and its named colour space, when it is not sRGB's (ROMM: ProPhoto)
    at = with_xml.find(b"colr\x01", sig_end + 8 + len(xml))
    romm = with_xml[:at + 7] + struct.pack(">I", 21) + with_xml[at + 11:]
    (tmp_path / "romm.jp2").write_bytes(romm)
    assert jp2_colour_boxes(romm) == [("enum", 21)] and decode(tmp_path / "romm.jp2").icc.endswith("[jp2cs 21]")
    # a profile that matches sRGB at the lattice's levels but strays between them (45 levels at 127) is not sRGB's
    from matching.decode import colour_profile
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert colour_profile(srgb) == "" and colour_profile(bumpy_srgb(srgb, bump=0)) == ""
    assert colour_profile(bumpy_srgb(srgb, bump=45)).endswith("]")


def bumpy_srgb(src: bytes, bump: float) -> bytes:
    """sRGB's profile with its three tone curves replaced by sRGB's own sampled at 4,096 points, plus ``bump`` levels
    between the colour lattice's levels 109 and 146 (an attack's profile)."""
    import struct
    x = np.linspace(0, 255, 4096)
    m = (x > 115) & (x < 140)
    x = np.clip(x + np.where(m, bump * np.sin(np.pi * (x - 115) / 25), 0) / 1, 0, 255) / 255
    y = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    curv = b"curv\0\0\0\0" + struct.pack(">I", len(y)) + np.round(y * 65535).astype(">u2").tobytes()
    n = struct.unpack(">I", src[128:132])[0]
    tags = [struct.unpack(">4sII", src[132 + 12 * i:144 + 12 * i]) for i in range(n)]
    keep = [(sig, src[o:o + size]) for sig, o, size in tags if sig not in (b"rTRC", b"gTRC", b"bTRC")]
    off = 128 + 4 + 12 * (len(keep) + 3)
    table, body = b"", b""
    for sig, d in keep:
        body += b"\0" * (-(off + len(body)) % 4)
        table += struct.pack(">4sII", sig, off + len(body), len(d))
        body += d
    body += b"\0" * (-(off + len(body)) % 4)
    at = off + len(body)
    body += curv
    table += b"".join(struct.pack(">4sII", sig, at, len(curv)) for sig in (b"rTRC", b"gTRC", b"bTRC"))
    prof = bytearray(src[:128] + struct.pack(">I", len(keep) + 3) + table + body)
    prof[0:4] = struct.pack(">I", len(prof))
    prof[84:100] = bytes(16)   # (no profile ID: it would no longer match)
    return bytes(prof)


def test_a_16_bit_ppm_or_sgi_is_recorded_at_its_depth(tmp_path, photo):
    rgb16 = np.asarray(photo.convert("RGB"), np.uint16) * 257
    h, w = rgb16.shape[:2]
    (tmp_path / "c.ppm").write_bytes(b"P6\n# a comment\n%d %d\n65535\n" % (w, h) + rgb16.astype(">u2").tobytes())
    photo.convert("RGB").save(tmp_path / "c8.ppm")
    assert decode(tmp_path / "c.ppm").bit_depth == 16 and decode(tmp_path / "c8.ppm").bit_depth == 8


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_tagged_tiff_is_turned_once_to_its_display_and_is_its_turned_twin(tmp_path, photo, orientation):
    # Pillow turns a TIFF by its Orientation tag as it loads it: the engine turned it again, and a tagged TIFF
    # against its physically turned twin was "rotated", against its untagged twin "rotated 180"
    import tifffile

    from matching.verdict import verify_pair
    stored = np.asarray(photo.convert("RGB"))
    shown = dihedral(stored, *EXIF_TO_DIHEDRAL[orientation])
    tifffile.imwrite(tmp_path / "tagged.tif", stored, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    tifffile.imwrite(tmp_path / "turned.tif", np.ascontiguousarray(shown), photometric="rgb")
    d = decode(tmp_path / "tagged.tif", target=4096)
    assert (d.width, d.height) == (shown.shape[1], shown.shape[0]) and d.exif_orientation == orientation
    assert (d.image == decode(tmp_path / "turned.tif", target=4096).image).all()
    r = verify_pair(tmp_path / "tagged.tif", tmp_path / "turned.tif")
    assert r.verdict == "identical" and (r.rotation, r.flipped) == (0, False), r.reasons


def test_a_png_gamma_other_than_srgbs_is_its_colour_description_unless_an_srgb_chunk_overrides_it(tmp_path, photo):
    # the same 8-bit numbers tagged gamma 1.0 show far lighter midtones where the chunk is read: they were
    # "identical" to the untagged kept PNG
    import struct

    from PIL import PngImagePlugin

    def png(name, chunks):
        info = PngImagePlugin.PngInfo()
        for kind, data in chunks:
            info.add(kind, data)
        photo.save(tmp_path / name, pnginfo=info)
        return decode(tmp_path / name).icc
    assert png("linear.png", [(b"gAMA", struct.pack(">I", 100000))]) == "PNG gamma 1 [gAMA 1]"
    assert png("dark.png", [(b"gAMA", struct.pack(">I", 55000))]) == "PNG gamma 0.55 [gAMA 0.55]"
    assert png("srgb_gamma.png", [(b"gAMA", struct.pack(">I", 45455))]) == ""
    assert png("untagged.png", []) == ""
    assert png("srgb_chunk.png", [(b"sRGB", b"\x00"), (b"gAMA", struct.pack(">I", 100000))]) == ""
    # primaries (cHRM): ProPhoto's are more saturated colours; sRGB's own are no description
    prophoto = struct.pack(">8I", 34570, 35850, 73470, 26530, 15960, 84040, 3660, 100)
    srgb = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
    wide = png("wide.png", [(b"cHRM", prophoto)])
    assert wide == "PNG primaries other than sRGB's [cHRM 0.3457 0.3585 0.7347 0.2653 0.1596 0.8404 0.0366 0.001]"
    assert png("both.png", [(b"gAMA", struct.pack(">I", 100000)), (b"cHRM", prophoto)]).startswith(
        "PNG gamma and primaries other than sRGB's [gAMA 1 cHRM 0.3457")
    assert png("srgb_primaries.png", [(b"gAMA", struct.pack(">I", 45455)), (b"cHRM", srgb)]) == ""
    assert len(png("long.png", [(b"gAMA", struct.pack(">I", 123457)), (b"cHRM", prophoto)])) <= 120   # (Asset.icc)


def test_a_colour_profile_is_named_unless_it_is_srgbs(tmp_path, photo):
    # the same pixel numbers tagged with another profile are other colours in a colour-managed viewer
    from PIL import ImageCms
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xyz = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    for name, icc, said in (("none.jpg", None, ""), ("srgb.jpg", srgb, ""), ("xyz.jpg", xyz, "XYZ identity")):
        p = tmp_path / name
        photo.save(p, "JPEG", quality=90, **({"icc_profile": icc} if icc else {}))
        got = decode(p).icc
        assert (got.startswith(said) and got.endswith("]")) if said else got == "", (name, got)
    t = tmp_path / "xyz.tif"
    photo.save(t, "TIFF", icc_profile=xyz)
    assert decode(t).icc == decode(tmp_path / "xyz.jpg").icc     # one profile, one name, whatever the format
    # by its colours, not its name: an sRGB profile called otherwise is sRGB's; another called sRGB is not
    from matching.decode import profile_colours
    for name, icc in (("c2", icc_described(srgb, "c2")), ("display", icc_described(srgb, "Display"))):
        photo.save(tmp_path / f"{name}.jpg", "JPEG", quality=90, icc_profile=icc)
        assert decode(tmp_path / f"{name}.jpg").icc == "", name
    photo.save(tmp_path / "named.jpg", "JPEG", quality=90, icc_profile=icc_described(xyz, "sRGB compatible"))
    named = decode(tmp_path / "named.jpg").icc
    assert named.startswith("sRGB compatible [") and profile_colours(named) not in ("", None)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations(tmp_path, photo, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.jpg"
    p.write_bytes(jpeg_bytes(photo, 95, exif=exif.tobytes()))
    d = decode(p)
    shown = ImageOps.exif_transpose(Image.open(p))
    assert d.exif_orientation == orientation
    assert (d.width, d.height) == shown.size
    assert _close(d.image, np.asarray(shown.convert("RGB").resize((d.image.shape[1], d.image.shape[0]), Image.BOX)))


def test_dihedral_algebra():
    a = np.arange(12).reshape(3, 4)
    for t in EXIF_TO_DIHEDRAL.values():
        assert (dihedral(dihedral(a, *t), *inverse(t)) == a).all()
        for u in EXIF_TO_DIHEDRAL.values():
            assert (dihedral(dihedral(a, *t), *u) == dihedral(a, *compose(t, u))).all()


def test_truncated_jpeg_is_damaged_but_decodes_top(tmp_path, photo):
    data = jpeg_bytes(photo, 90)
    p = tmp_path / "t.jpg"
    p.write_bytes(data[: int(len(data) * 0.6)])
    d = decode(p)
    assert d.truncated and d.errors
    top = d.image[: d.image.shape[0] // 4]
    ref = np.asarray(photo.resize((d.image.shape[1], d.image.shape[0]), Image.BOX))[: d.image.shape[0] // 4]
    assert _close(top, ref)


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_without_only_its_end_marker_decodes_whole_and_is_malformed_and_one_byte_more_is_cut_short(
        photo, progressive):
    from matching.decode import JPEG_END_MARKER_MISSING

    whole = jpeg_bytes(photo, 85, progressive=progressive)
    assert whole.endswith(b"\xff\xd9")
    d = decode(None, data=whole[:-2])
    assert d.errors == [JPEG_END_MARKER_MISSING] and not d.truncated
    assert (d.image == decode(None, data=whole).image).all()   # nothing of the picture is lost
    for cut in (3, 4, 40):   # a scan cut by even one byte runs short of data: cut short, as before
        d = decode(None, data=whole[:-cut])
        assert d.truncated and JPEG_END_MARKER_MISSING not in d.errors, cut


def test_a_jpeg_whose_tail_is_zeroed_reads_as_cut_short_but_a_writers_zero_padding_after_its_data_does_not(photo):
    """A fresh-eyed attack: the Huffman decoder reads zeros written over a file's tail as codes, and where they
    happen to code the blocks left it says nothing; the zeros are taken off before the file is closed."""
    from matching.decode import JPEG_END_MARKER_MISSING

    whole = jpeg_bytes(photo, 85)
    zeroed = decode(None, data=whole[:-50] + b"\x00" * 50)
    assert zeroed.truncated and JPEG_END_MARKER_MISSING not in zeroed.errors
    assert decode(None, data=whole[:-2] + b"\x00" * 64).errors == [JPEG_END_MARKER_MISSING]


def test_only_a_huffman_coded_jpeg_is_read_as_whole_but_its_end_marker(photo, monkeypatch):
    """An arithmetic decoder feeds itself zeros at the end of its data and never complains (an attack cut
    `cjpeg -arithmetic` files anywhere), so a silent decode proves nothing there: a frame marked arithmetic
    (SOF9, SOF10) is not read so, even where the closed file decodes without a word."""
    import importlib

    dec = importlib.import_module("matching.decode")   # (the module: the package exports its function `decode`)

    data = jpeg_bytes(photo, 85)[:-2]
    sof = data.index(b"\xff\xc0")
    monkeypatch.setattr(dec.simplejpeg, "decode_jpeg", lambda *a, **kw: np.zeros((4, 4, 3), np.uint8))
    for marker, whole in ((b"\xc0", True), (b"\xc2", True), (b"\xc9", False), (b"\xca", False)):
        d = dec.Decoded()
        arr = dec._jpeg_whole_but_its_end_marker(data[:sof + 1] + marker + data[sof + 2:], d, "premature end of jpeg file", {})
        assert (arr is not None, d.errors == [dec.JPEG_END_MARKER_MISSING]) == (whole, whole), marker


def test_truncated_jp2_is_damaged(tmp_path, photo):
    p = tmp_path / "c.jp2"
    photo.save(p, "JPEG2000", quality_mode="rates", quality_layers=[8], irreversible=True)
    data = p.read_bytes()
    p.write_bytes(data[: int(len(data) * 0.85)])
    try:
        d = decode(p)
    except DecodeError:
        return  # nothing decodes: also an acceptable, clear outcome
    assert d.truncated and any("truncated" in e for e in d.errors)


def test_bitflip_caught_by_strict_decode(tmp_path, photo):
    import random
    data = bytearray(jpeg_bytes(photo, 90))
    rng = random.Random(3)
    for _ in range(12):
        i = rng.randrange(int(len(data) * 0.35), len(data) - 4)
        data[i] ^= 1 << rng.randrange(8)
    p = tmp_path / "b.jpg"
    p.write_bytes(bytes(data))
    Image.open(p).load()  # Pillow alone does not complain
    d = decode(p)
    assert d.errors, "strict decode must notice bit-level damage"


def test_bomb_refused_with_clear_message(tmp_path):
    p = tmp_path / "bomb.png"
    Image.new("L", (12000, 10000)).save(p, optimize=True)
    with pytest.raises(DecodeError, match=r"image too large: 12000x10000 px exceeds limit of 100000000 px"):
        decode(p, max_pixels=100_000_000)
    with pytest.raises(DecodeError, match="too large"):
        decode(p, max_pixels=1000)


def test_reduced_decode_for_large_jpeg_and_jp2(tmp_path, photo):
    big = photo.resize((2048, 1536))
    p = tmp_path / "big.jpg"
    big.save(p, "JPEG", quality=85)
    d = decode(p, target=256)
    assert d.reduced_by >= 4 and (d.width, d.height) == (2048, 1536)
    q = tmp_path / "big.jp2"
    big.save(q, "JPEG2000")
    e = decode(q, target=256)
    assert e.reduced_by >= 4 and (e.width, e.height) == (2048, 1536)


def test_an_intact_jp2_that_openjpeg_will_not_reduce_by_its_levels_decodes_at_fewer_not_unreadable(tmp_path, photo):
    # OpenJPEG refuses a decode at 2 levels of a 337x333 file ("broken data stream"): a whole file
    # was called unreadable, and its clean-up copies found nothing
    im = photo.resize((337, 333), Image.LANCZOS)
    q = tmp_path / "odd.jp2"
    im.save(q, "JPEG2000")
    refused = Image.open(q)
    refused.reduce = 2
    with pytest.raises(OSError):
        refused.load()
    d = decode(q, target=64)
    assert not d.errors and not d.truncated and d.reduced_by == 2 and (d.width, d.height) == (337, 333)
    assert _close(d.image, np.asarray(im.resize((d.image.shape[1], d.image.shape[0]), Image.BOX)))


def test_a_truncated_jp2_that_decodes_whole_at_a_lower_level_is_still_truncated(tmp_path, photo):
    im = photo.resize((337, 333), Image.LANCZOS)
    q = tmp_path / "cut.jp2"
    im.save(q, "JPEG2000")
    data = q.read_bytes()
    q.write_bytes(data[: int(len(data) * 0.9)])
    try:
        d = decode(q, target=64)
    except DecodeError:
        return
    assert d.truncated and any("truncated" in e for e in d.errors)


@pytest.mark.parametrize("quality", [96, 100])
def test_a_jpeg_at_quality_96_and_over_decodes_to_its_pixels_not_to_the_fast_idcts_overflow(tmp_path, photo, quality):
    # the fast integer IDCT overflowed there: pixels of 0 and 255 all over a q100 copy decoded at
    # full scale, which was then "different" from its own canonical, its hashes noise
    im = photo.resize((200, 150), Image.LANCZOS)
    p = tmp_path / "q.jpg"
    im.save(p, "JPEG", quality=quality)
    d = decode(p, target=256)
    diff = np.abs(d.image.astype(int) - np.asarray(Image.open(p).convert("RGB"), dtype=int))
    # the decoder's plain chroma upsampling differs from Pillow's smooth one at colour edges only
    assert d.reduced_by == 1 and diff.mean() < 1.0 and diff.max() < 64


def test_garbage_raises_decode_error(tmp_path):
    p = tmp_path / "junk.jpg"
    p.write_bytes(b"\xff\xd8\xff" + b"\x00" * 50)
    with pytest.raises(DecodeError):
        decode(p)
    q = tmp_path / "empty.png"
    q.write_bytes(b"")
    with pytest.raises(DecodeError):
        decode(q)


# --- the decoded-bytes limit ---------------------------------------------------------------------

def test_bomb_png_helper_makes_a_real_png():
    from mhelpers import bomb_png

    im = Image.open(io.BytesIO(bomb_png(40, 30)))
    im.load()
    assert im.size == (40, 30) and im.mode == "RGBA"


def test_decoded_bytes_count_channels_and_bytes_per_sample(tmp_path):
    from matching.decode import decoded_bytes

    assert decoded_bytes(100, 100, 3, 8) == 30_000
    assert decoded_bytes(100, 100, 4, 16) == 80_000
    assert decoded_bytes(100, 100, 1, 1) == 10_000  # a bit per sample still takes a byte once decoded
    p = tmp_path / "rgb.png"
    Image.new("RGB", (100, 100), "red").save(p)
    assert decode(p, max_decoded_bytes=30_000).width == 100
    with pytest.raises(DecodeError, match="30000 bytes decoded, over the limit of 29999"):
        decode(p, max_decoded_bytes=29_999)


def test_16_bit_rgba_canvas_is_refused_within_the_pixel_limit(tmp_path):
    from mhelpers import bomb_png

    p = tmp_path / "bomb.png"
    p.write_bytes(bomb_png(14000, 14000))
    assert p.stat().st_size < 2_000_000
    # 196 Mpx is under a 200 Mpx pixel limit: only the decoded-bytes limit refuses it
    with pytest.raises(DecodeError, match=r"14000x14000 px, 4 channel\(s\) of 16 bits need 1568000000 bytes"):
        decode(p, max_pixels=200_000_000, max_decoded_bytes=1024 ** 3)


PEAK_PROBE = r"""
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from matching import analyse_file
t = time.time()
a = analyse_file(sys.argv[1], max_pixels=200_000_000, rendition=sys.argv[3:] == ["rendition"])
print("STATUS", a.status, "|".join(a.errors))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # Linux folds the parent's peak into ru_maxrss across fork+exec; VmHWM is this process's own
    import re
    peak = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) * 1024
except (OSError, AttributeError):
    pass
print("PEAK", peak, time.time() - t)
"""


def test_bomb_like_png_peak_memory_stays_bounded(tmp_path):
    """A 1.8 MB PNG declaring 14000 x 14000 16-bit RGBA (1.57 GB decoded) used to peak at 1.6 GB
    RSS in the analysing process. Measured in a fresh interpreter: its own high-water mark (VmHWM;
    resource.getrusage where /proc is missing, since on Linux ru_maxrss also carries the peak of
    the pytest process it was forked from)."""
    import subprocess
    import sys
    from pathlib import Path

    from mhelpers import bomb_png

    p = tmp_path / "bomb.png"
    p.write_bytes(bomb_png(14000, 14000))
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, str(p), str(root)], capture_output=True, text=True,
                         timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr
    status = next(line for line in out.stdout.splitlines() if line.startswith("STATUS"))
    peak = int(next(line for line in out.stdout.splitlines() if line.startswith("PEAK")).split()[1])
    print(status, f"peak RSS {peak / 1e6:.0f} MB")
    assert "image too large" in status and "unreadable" in status
    assert peak < 400 * 1024 ** 2, f"peak RSS {peak / 1e6:.0f} MB"


def test_a_float_tiff_within_the_limits_is_analysed_at_full_detail_in_a_few_times_its_decoded_bytes(tmp_path):
    """An attack: a 439 KB float TIFF of 10000 x 10000 (400 MB decoded, within the limits) took 4.1 GB to
    analyse with its full-detail rendition (float64 copies of the whole picture to scale it to 8 bits, two
    float32 copies for what the rendition's cap loses): 1.5 GB now. Here 6000 x 6000 (144 MB decoded), in a
    fresh interpreter as above."""
    import subprocess
    import sys
    from pathlib import Path

    import tifffile
    p = tmp_path / "float.tif"
    plane = np.zeros((6000, 6000), np.float32)
    plane[::97] = 1.0
    tifffile.imwrite(p, plane, compression="zlib")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, str(p), str(root), "rendition"], capture_output=True,
                         text=True, timeout=300, cwd=root)
    assert out.returncode == 0, out.stderr
    status = next(line for line in out.stdout.splitlines() if line.startswith("STATUS"))
    peak = int(next(line for line in out.stdout.splitlines() if line.startswith("PEAK")).split()[1])
    print(status, f"peak RSS {peak / 1e6:.0f} MB")
    assert status.split()[1] == "ok", status
    assert peak < 5 * plane.nbytes + 150 * 1024 ** 2, f"peak RSS {peak / 1e6:.0f} MB for {plane.nbytes / 1e6:.0f} MB decoded"


def test_a_scaled_decode_knows_the_true_extent_of_its_partial_last_pixel():
    from matching.decode import scaled_extent

    assert scaled_extent(410, 410, 257, 257) == (256.25, 256.25)     # a JPEG decoded at 5/8
    assert scaled_extent(1001, 750, 501, 375) == (500.5, 375.0)      # halved (JPEG 2000 level, reduce)
    assert scaled_extent(4000, 3000, 500, 375) is None               # whole pixels
    assert scaled_extent(640, 480, 640, 480) is None                 # not scaled
    assert scaled_extent(640, 480, 300, 300) is None                 # not a scale of the picture


def test_shrink_resamples_the_true_extent_only():
    from matching.decode import shrink

    a = np.zeros((257, 257, 3), np.uint8)
    a[:, 256] = 255                                # the partial last column: a quarter pixel of picture
    out = shrink(a, 256, (256.25, 256.25))
    assert out.shape == (256, 256, 3) and int(out[:, -1].max()) <= 255 // 4 + 1
    assert shrink(a, 256).shape == (256, 256, 3) and np.array_equal(shrink(a[:200, :200], 256), a[:200, :200])


def _tiff_directory_last(photo):
    """An LZW TIFF as libtiff writes it: the strips, then the directory and its out-of-line tag
    data (an sRGB ICC profile, 588 bytes, last), at the end of the file."""
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    photo.save(buf, "TIFF", compression="tiff_lzw", icc_profile=icc)
    data = buf.getvalue()
    assert data[:2] == b"II" and int.from_bytes(data[4:8], "little") > len(data) - 1000   # directory after the strips
    return data


def test_a_tiff_cut_inside_its_directory_is_damaged_though_every_pixel_decodes(photo):
    data = _tiff_directory_last(photo)
    cut = decode(None, data=data[:len(data) - 300], target=10_000)      # the ICC profile cut short
    assert _close(cut.image, photo, tol=1)                 # the strips are all there
    assert any(e.startswith("truncated: TIFF directory") for e in cut.errors)
    assert not decode(None, data=data, target=10_000).errors   # the control: the whole file


def _cut_after_scans(data: bytes, scans: int) -> bytes:
    """A progressive JPEG cut before its scan number ``scans`` + 1 and closed with an end-of-image
    marker (inside entropy-coded data 0xFF is always followed by 0x00, so 0xFFDA is a scan header)."""
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xDA]
    assert len(starts) > scans
    return data[:starts[scans]] + b"\xff\xd9"


@pytest.mark.parametrize("scans", [1, 3, 6])
def test_a_progressive_jpeg_cut_after_its_first_scans_and_closed_is_damaged_though_it_decodes_whole(photo, scans):
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90, progressive=True)
    whole = buf.getvalue()
    cut = _cut_after_scans(whole, scans)
    Image.open(io.BytesIO(cut)).load()   # Pillow decodes it without complaint, whole but blurred
    d = decode(None, data=cut)
    assert any(e.startswith("truncated: progressive JPEG ends before") for e in d.errors)
    assert not decode(None, data=whole).errors   # the control: every scan there


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("progressive", [False, True])
def test_a_whole_jpeg_codes_every_coefficient_of_every_component(photo, mode, progressive):
    buf = io.BytesIO()
    photo.convert(mode).save(buf, "JPEG", quality=75, progressive=progressive)
    assert not decode(None, data=buf.getvalue()).errors


def test_what_a_decoder_could_not_write_of_a_damaged_jpeg_is_its_grey_on_every_decode(tmp_path, photo):
    # a fresh-eyed attack: a flipped progressive film-strip frame decoded to four different pictures in one
    # process (simplejpeg's output buffer is not cleared, and libjpeg-turbo left it unwritten), so its verdict
    # changed from call to call. A marker where the first scan's data begins: nothing is written
    buf = io.BytesIO()
    photo.resize((128, 128)).save(buf, "JPEG", quality=90, progressive=True)
    data = buf.getvalue()
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    path = tmp_path / "broken.jpg"
    path.write_bytes(data[:start + 4] + b"\xff\x04" + data[start + 4:])
    images = [decode(path).image for _ in range(3)]
    assert decode(path).errors
    assert all(np.array_equal(images[0], a) for a in images[1:])
    assert np.all(images[0] == DECODER_FILL)


def _jpeg_of_scans(side: int, ac_scans: int) -> bytes:
    """A grey progressive JPEG of side x side px: one DC scan, then ``ac_scans`` scans that each code every
    block's AC coefficients as an end-of-block (one bit a block), as an attack wrote 20,000 of them."""
    import struct

    def seg(marker, body):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
    blocks = ((side + 7) // 8) ** 2
    zeros = bytes(-(-blocks // 8))                 # a bit '0' a block: the one code of the one-symbol tables
    data = b"\xff\xd8" + seg(0xDB, b"\x00" + bytes([1] * 64))
    data += seg(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")
    data += seg(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")     # DC: a difference of 0
    data += seg(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")     # AC: end of block
    data += seg(0xDA, b"\x01\x01\x00" + bytes([0, 0, 0])) + zeros
    for _ in range(ac_scans):
        data += seg(0xDA, b"\x01\x01\x00" + bytes([1, 63, 0])) + zeros
    return data + b"\xff\xd9"


def test_a_jpeg_of_more_scans_than_the_limit_is_refused_before_any_pass_over_its_pixels(tmp_path, photo):
    # an attack: 2.7 MB, 20,000 scans of an 8192 px square decoded for minutes, past a worker's hard time
    # limit, which killed it. Refused from its markers, with why; a progressive JPEG as encoders write it
    # (and one at the limit) decodes
    from matching import analyse_file
    from matching.decode import MAX_JPEG_SCANS, jpeg_scan_count
    assert decode(None, data=_jpeg_of_scans(64, MAX_JPEG_SCANS - 1)).width == 64
    many = _jpeg_of_scans(64, MAX_JPEG_SCANS)
    assert jpeg_scan_count(many) == MAX_JPEG_SCANS + 1
    with pytest.raises(DecodeError, match=f"holds {MAX_JPEG_SCANS + 1} scans, over the limit of {MAX_JPEG_SCANS}"):
        decode(None, data=many)
    (tmp_path / "scans.jpg").write_bytes(many)
    a = analyse_file(tmp_path / "scans.jpg")
    assert a.status == "unreadable" and "scans" in a.errors[0], a.errors
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=85, progressive=True)
    assert 2 <= jpeg_scan_count(buf.getvalue()) <= 12
    assert decode(None, data=buf.getvalue()).errors == []


def test_a_png_whose_chunk_fails_its_crc_is_damaged_and_its_copy_never_safe_to_delete(tmp_path, photo):
    # an attack: a bit flipped in a PNG's compressed pixels decoded without complaint; flipped in a kept PNG,
    # 2 of 60 of its good JPEG copies were safe duplicates (the good copy deleted, the changed one kept), 4
    # "cleanup_corrupt" (the wrong side named). Every chunk carries a CRC-32: a mismatch proves a change
    from matching import analyse_file, verify_pair
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    png = bytearray(buf.getvalue())
    at = png.find(b"IDAT") + 4 + len(png) // 3
    png[at] ^= 0x01
    (tmp_path / "C0000001.png").write_bytes(png)
    a = analyse_file(tmp_path / "C0000001.png")
    assert a.status == "damaged" and "'IDAT' chunk" in a.errors[0] and "fails its CRC" in a.errors[0], a.errors
    photo.save(tmp_path / "C0000001.jpg", quality=92)
    r = verify_pair(tmp_path / "C0000001.jpg", tmp_path / "C0000001.png")
    assert not r.safe_to_delete and r.corrupt_side != "cleanup", (r.verdict, r.reasons)
    # the file as written is whole
    (tmp_path / "whole.png").write_bytes(buf.getvalue())
    assert analyse_file(tmp_path / "whole.png").status == "ok"


def test_a_png_whose_colour_profile_inflates_past_the_chunk_limit_says_so_in_words(tmp_path):
    # an attack's PNG with a 20 MB ICC profile read "cannot identify image: Decompressed data too large for
    # PngImagePlugin.MAX_TEXT_CHUNK"; it is still refused (the limit guards against inflation bombs), with why
    import os
    from PIL import ImageCms, PngImagePlugin
    from matching import analyse_file
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (40, 30), (90, 120, 30)).save(
        tmp_path / "big.png", icc_profile=profile + os.urandom(PngImagePlugin.MAX_TEXT_CHUNK + 1))
    a = analyse_file(tmp_path / "big.png")
    assert a.status == "unreadable", a.status
    assert a.errors == ["not read: a PNG colour profile or text chunk inflates to more than 1 MB, the limit for one "
                        "chunk (the pixels may be intact; a person checks the file)"], a.errors


def _float_file(path, plane):
    """A one-channel float32 picture written as a real file: TIFF by tifffile, PFM by Pillow (both read as mode F)."""
    if path.suffix == ".pfm":
        Image.fromarray(plane.astype(np.float32)).save(path)
    else:
        import tifffile
        tifffile.imwrite(path, plane.astype(np.float32), compression="zlib")


@pytest.mark.parametrize("ext", ["tif", "pfm"])
@pytest.mark.parametrize("fill", ["nan", "inf", "-inf", "nan and inf"])
def test_a_float_picture_with_no_sample_a_number_is_not_read_and_never_a_duplicate(tmp_path, ext, fill):
    # every sample NaN (or infinite) read as an all-black picture, "ok": two such files were "identical" and
    # safe to delete, and one was a duplicate of any black picture. Such a file carries no picture at all
    from matching import analyse_file, verify_pair
    plane = np.full((240, 320), np.nan if fill.startswith("nan") else float(fill), np.float32)
    if fill == "nan and inf":
        plane[::2] = np.inf
    for name in ("a", "b"):
        _float_file(tmp_path / f"{name}.{ext}", plane)
    with pytest.raises(DecodeError, match="not read: none of its 76800 floating-point samples is a number"):
        decode(tmp_path / f"a.{ext}")
    a = analyse_file(tmp_path / f"a.{ext}")
    assert a.status == "unreadable" and len(a.errors) == 1 and a.errors[0].startswith("not read: "), (a.status, a.errors)
    r = verify_pair(tmp_path / f"a.{ext}", tmp_path / f"b.{ext}")
    assert not r.safe_to_delete and r.verdict not in ("identical", "duplicate"), (r.verdict, r.reasons)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_float_tiff_with_some_samples_not_numbers_is_damaged_and_decodes_the_rest(tmp_path, bad):
    # a float TIFF with a band of NaN (or infinite) samples read "ok", the band drawn black (white for +inf) with
    # nothing said: it is damaged, says how many samples, and what is left still decodes, the same pixels as before
    from matching import analyse_file, verify_pair
    plane = np.tile(np.linspace(0.0, 1.0, 320, dtype=np.float32), (240, 1))
    whole = plane.copy()
    plane[100:110] = bad
    _float_file(tmp_path / "part.tif", plane)
    _float_file(tmp_path / "whole.tif", whole)
    d, w = (decode(tmp_path / f"{name}.tif", target=320) for name in ("part", "whole"))   # (not shrunk)
    assert d.errors == ["damaged: 3200 of its 76800 floating-point samples are not numbers (NaN) or infinite "
                        "(drawn black, +inf white)"], d.errors
    assert w.errors == []
    intact = np.r_[0:100, 110:240]
    assert np.array_equal(d.image[intact], w.image[intact])
    assert (d.image[100:110] == (255 if bad == np.inf else 0)).all()
    a = analyse_file(tmp_path / "part.tif")
    assert a.status == "damaged" and a.errors == d.errors and a.hashes, (a.status, a.errors)
    # kept as the damaged one, its whole copy is never deleted for it
    r = verify_pair(tmp_path / "whole.tif", tmp_path / "part.tif")
    assert not r.safe_to_delete and r.corrupt_side != "cleanup", (r.verdict, r.corrupt_side, r.reasons)

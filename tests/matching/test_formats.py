"""Formats collections hold (matching/formats.py): detection by content, true measurement of TIFF
sub-images, DNG/RAW, HEIC/AVIF and PDF, and the "holds at least as much" rule over them.
Every fixture is generated here: Pillow, tifffile (DNG with CFA tags), pillow-heif, Pillow's PDF writer."""
import io

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFilter

from matching import analyse_file, verify_pair
from matching.decode import DecodeError, decode
from matching.formats import ALPHA_MODES, channel_mode, extension_mismatch, sniff, tiff_layout
from matching.verdict import holds_at_least_as_much


# ---------------------------------------------------------------- fixture makers
def big_photo(photo, size=(800, 600)):
    return photo.resize(size, Image.LANCZOS)


def dng_like_tiff(path, master: Image.Image, preview_size=(50, 38)):
    """A TIFF laid out like a DNG: reduced preview in IFD0 (NewSubfileType=1), master in a SubIFD."""
    with tifffile.TiffWriter(path) as t:
        t.write(np.asarray(master.resize(preview_size)), photometric="rgb", subfiletype=1, subifds=1)
        t.write(np.asarray(master), photometric="rgb", subfiletype=0, compression="zlib")
    return path


DNG_TAGS = [
    (50706, "B", 4, (1, 4, 0, 0), True),              # DNGVersion
    (50707, "B", 4, (1, 1, 0, 0), True),              # DNGBackwardVersion
    (50708, "s", 0, "Doppel Test Camera", True),      # UniqueCameraModel
    (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),  # ColorMatrix1 = I
    (50778, "H", 1, 21, True),                        # CalibrationIlluminant1 = D65
    (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),       # AsShotNeutral
    (271, "s", 0, "Doppel", True),
    (272, "s", 0, "Test", True),
]


def make_dng(path, picture: Image.Image, *, bits=12, preview_size=(40, 30), software="a"):
    """A real DNG: 8-bit RGB thumbnail in IFD0, a Bayer (RGGB) CFA master of ``bits`` in a SubIFD."""
    rgb = np.asarray(picture.convert("RGB")).astype(np.float64) / 255.0
    lin = (rgb ** 2.2) * (2 ** bits - 1)                  # linear sensor values
    h, w = rgb.shape[:2]
    cfa = np.zeros((h, w), np.uint16)
    cfa[0::2, 0::2] = lin[0::2, 0::2, 0]
    cfa[0::2, 1::2] = lin[0::2, 1::2, 1]
    cfa[1::2, 0::2] = lin[1::2, 0::2, 1]
    cfa[1::2, 1::2] = lin[1::2, 1::2, 2]
    cfa_tags = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
                (50717, "I", 1, 2 ** bits - 1, True)]
    with tifffile.TiffWriter(path) as t:
        t.write(np.asarray(picture.convert("RGB").resize(preview_size)), photometric="rgb", subfiletype=1,
                subifds=1, description=software, extratags=DNG_TAGS)
        t.write(cfa, photometric=32803, subfiletype=0, extratags=cfa_tags)
    return path


def rendering_of(dng_path, out_path, fmt="JPEG", **kw):
    """What a photographer exports: the RAW developed by LibRaw, saved as JPEG/TIFF."""
    import rawpy
    with rawpy.imread(str(dng_path)) as rp:
        Image.fromarray(rp.postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=8)).save(out_path, fmt, **kw)
    return out_path


def heic_bytes(im, **kw):
    import pillow_heif
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    im.save(buf, "HEIF", quality=92, **kw)
    return buf.getvalue()


def pdf_of(path, pages, resolution=100.0):
    pages[0].save(path, "PDF", resolution=resolution, save_all=True, append_images=pages[1:])
    return path


# ---------------------------------------------------------------- 1. detection by content
def _encoded(photo, fmt, **kw):
    buf = io.BytesIO()
    photo.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,kw,want,variant", [
    ("JPEG", {}, "JPEG", ""),
    ("JPEG2000", {}, "JPEG2000", "JP2"),
    ("JPEG2000", {"no_jp2": True}, "JPEG2000", "J2K codestream"),
    ("TIFF", {}, "TIFF", ""),
    ("TIFF", {"big_tiff": True}, "TIFF", "BigTIFF"),
    ("PNG", {}, "PNG", ""),
    ("WEBP", {}, "WEBP", ""),
    ("GIF", {}, "GIF", ""),
    ("BMP", {}, "BMP", ""),
    ("AVIF", {}, "AVIF", "avif"),
    ("PDF", {}, "PDF", ""),
])
def test_each_format_is_named_by_its_content(photo, fmt, kw, want, variant):
    s = sniff(_encoded(photo, fmt, **kw))
    assert (s.format, s.variant) == (want, variant)


@pytest.mark.parametrize("fmt,kw", [
    ("JPEG", {}), ("JPEG2000", {}), ("JPEG2000", {"no_jp2": True}), ("TIFF", {}), ("TIFF", {"big_tiff": True}),
    ("PNG", {}), ("WEBP", {}), ("GIF", {}), ("BMP", {}), ("AVIF", {}), ("PDF", {}), ("HEIF", {}), ("DNG", {}),
    ("damaged JPEG", {}),
])
def test_every_format_that_decodes_records_its_size_pages_and_bit_depth(tmp_path, photo, fmt, kw):
    """The holds rule refuses a pair when a size, page count or bit depth was not measured, so
    analysis must measure all four for every file that decodes, damaged or not: else a legitimate
    copy could never be approved."""
    path = tmp_path / "file"
    if fmt == "HEIF":
        path.write_bytes(heic_bytes(photo))
    elif fmt == "DNG":
        make_dng(path, photo)
    elif fmt == "damaged JPEG":
        data = _encoded(photo, "JPEG", quality=90)
        path.write_bytes(data[: len(data) * 2 // 3])
    else:
        path.write_bytes(_encoded(photo, fmt, **kw))
    a = analyse_file(path)
    assert a.readable, (fmt, a.errors)
    assert a.status == ("damaged" if fmt == "damaged JPEG" else "ok"), (fmt, a.status, a.errors)
    assert all((a.width, a.height, a.pages, a.bit_depth)), (fmt, a.width, a.height, a.pages, a.bit_depth)
    assert holds_at_least_as_much(a, a) == [], fmt


def test_heic_dng_and_raw_signatures_are_recognised(tmp_path, photo):
    assert sniff(heic_bytes(photo)).format == "HEIF"
    assert sniff(make_dng(tmp_path / "a.dng", photo).read_bytes()).format == "DNG"
    cr2 = b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(200)
    assert sniff(cr2).format == "CR2"
    cr3 = b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(64)
    assert sniff(cr3).format == "CR3"


@pytest.mark.parametrize("make,fmt", [("NIKON CORPORATION", "NEF"), ("SONY", "ARW")])
def test_maker_tiff_is_raw_only_when_it_carries_sensor_data(tmp_path, photo, make, fmt):
    """Nikon and Sony scanners write plain TIFFs with their Make: the maker alone never makes a RAW."""
    scan = tmp_path / "scan.tif"
    tifffile.imwrite(scan, np.asarray(photo), photometric="rgb", extratags=[(271, "s", 0, make, True)])
    assert sniff(scan.read_bytes()).format == "TIFF"
    raw = tmp_path / "x.raw"
    with tifffile.TiffWriter(raw) as t:
        t.write(np.asarray(photo.resize((40, 30))), photometric="rgb", subfiletype=1, subifds=1,
                extratags=[(271, "s", 0, make, True)])
        t.write(np.zeros((60, 80), np.uint16), photometric=32803, subfiletype=0)
    assert sniff(raw.read_bytes()).format == fmt


def test_a_mismatched_extension_is_reported_and_the_content_wins(tmp_path, photo):
    p = tmp_path / "scan_0001.jpg"
    photo.save(p, "PNG")
    a = analyse_file(p)
    assert a.format == "PNG" and a.status == "ok"
    assert any("extension .jpg says JPEG but the content is PNG" in n for n in a.notes)
    assert "notes" in a.to_dict()
    assert extension_mismatch("x.tif", "DNG") == "extension .tif says TIFF but the content is DNG"
    assert extension_mismatch("x.jpeg", "JPEG") == "" and extension_mismatch("x.dat", "PNG") == ""


# ---------------------------------------------------------------- 2. TIFF: every IFD and SubIFD
def test_master_in_a_subifd_is_measured_not_the_preview(tmp_path, photo):
    p = dng_like_tiff(tmp_path / "m.tif", big_photo(photo))
    lay = tiff_layout(p.read_bytes())
    assert (lay.width, lay.height, lay.pages, lay.ifds, lay.reduced) == (800, 600, 1, 2, 1)
    assert lay.where == "IFD0 SubIFD 0"
    d = decode(p)
    assert (d.width, d.height, d.pages, d.bit_depth) == (800, 600, 1, 8)
    ref = np.asarray(big_photo(photo).resize((d.image.shape[1], d.image.shape[0]), Image.BOX), dtype=float)
    assert np.abs(d.image.astype(float) - ref).mean() < 6   # the master's pixels, not an upscaled thumbnail


def test_issue_16_master_with_twice_the_pixels_is_never_safe_against_a_smaller_jpeg(tmp_path, photo):
    """The failure in the issue: an 800x600 master (DNG-like TIFF) against a 400x300 JPEG of it."""
    master = dng_like_tiff(tmp_path / "master.tif", big_photo(photo))
    small = tmp_path / "small.jpg"
    big_photo(photo).resize((400, 300), Image.LANCZOS).save(small, "JPEG", quality=92)
    r = verify_pair(master, small)
    assert not r.safe_to_delete
    # engine 2 may already refuse the pair at full detail (a lossless master against a lossy kept
    # copy is the direction its re-encoding tolerance models least); where it proves them the same,
    # the measured master is what refuses the deletion
    assert r.verdict == "different" or any("more pixels (800x600)" in x for x in r.reasons)
    # the other way round (the JPEG is the clean-up copy) the master holds more: safe
    assert verify_pair(small, master).safe_to_delete


def test_reduced_ifd0_followed_by_full_ifd1_counts_one_page(tmp_path, photo):
    p = tmp_path / "r.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo.resize((40, 30))), photometric="rgb", subfiletype=1)
        t.write(np.asarray(photo), photometric="rgb")
    d = decode(p)
    assert (d.width, d.height, d.pages) == (320, 240, 1)


def test_multipage_tiff_with_16_bit_master_counts_pages_and_depth(tmp_path, photo):
    p = tmp_path / "pages.tif"
    a16 = np.asarray(photo).astype(np.uint16) * 257
    with tifffile.TiffWriter(p) as t:
        t.write(a16, photometric="rgb")
        t.write(np.asarray(photo.resize((160, 120))), photometric="rgb", subfiletype=1)  # preview of page 1
        t.write(np.asarray(photo.rotate(90, expand=True)), photometric="rgb")
    d = decode(p)
    assert (d.width, d.height, d.pages, d.bit_depth) == (320, 240, 2, 16)


def test_a_second_page_after_a_subifd_master_stays_a_page(tmp_path, photo, photo2):
    p = tmp_path / "two.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo.resize((40, 30))), photometric="rgb", subfiletype=1, subifds=1)
        t.write(np.asarray(photo), photometric="rgb")                    # page 1 master (SubIFD)
        t.write(np.asarray(big_photo(photo2)), photometric="rgb")        # page 2, larger
    lay = tiff_layout(p.read_bytes())
    assert (lay.pages, lay.width, lay.height, lay.where) == (2, 320, 240, "IFD0 SubIFD 0")
    assert decode(p).pages == 2


def test_a_looped_ifd_chain_is_read_once_not_forever(tmp_path, photo):
    """A hostile TIFF whose last IFD points back at the first (iterating tifffile's pages directly
    never ends on such a file)."""
    import struct
    p = tmp_path / "loop.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo), photometric="rgb")
        t.write(np.asarray(photo.rotate(180)), photometric="rgb")
    data = bytearray(p.read_bytes())
    first = struct.unpack("<I", data[4:8])[0]
    second = struct.unpack("<I", data[first + 2 + 12 * struct.unpack("<H", data[first:first + 2])[0]:][:4])[0]
    end = second + 2 + 12 * struct.unpack("<H", data[second:second + 2])[0]
    data[end:end + 4] = struct.pack("<I", first)          # IFD1 -> IFD0 -> IFD1 -> ...
    p.write_bytes(bytes(data))
    assert sniff(bytes(data)).format == "TIFF"
    d = decode(p)
    assert (d.width, d.height, d.pages) == (320, 240, 2)


def test_bigtiff_master_in_subifd(tmp_path, photo):
    p = tmp_path / "big.tif"
    with tifffile.TiffWriter(p, bigtiff=True) as t:
        t.write(np.asarray(photo.resize((32, 24))), photometric="rgb", subfiletype=1, subifds=1)
        t.write(np.asarray(photo), photometric="rgb")
    d = decode(p)
    assert (d.width, d.height) == (320, 240) and "BigTIFF" in d.notes


# ---------------------------------------------------------------- 3. DNG / camera RAW
def test_dng_measures_the_sensor_and_its_bit_depth(tmp_path, photo):
    p = make_dng(tmp_path / "a.dng", photo, bits=14)
    d = decode(p)
    assert d.format == "DNG" and (d.width, d.height, d.bit_depth) == (320, 240, 14)
    assert "full demosaic" in d.notes[0] and d.image.shape[:2] == (192, 256)   # small sensor: full


def test_large_dng_is_fingerprinted_from_a_half_size_demosaic(tmp_path, photo):
    d = decode(make_dng(tmp_path / "big.dng", big_photo(photo, (1100, 824))))
    assert (d.width, d.height, d.bit_depth) == (1100, 824, 12)
    assert "half-size demosaic" in d.notes[0] and d.reduced_by == 2


def test_dng_is_never_safe_against_its_jpeg_rendering_and_says_why(tmp_path, photo):
    raw = make_dng(tmp_path / "IMG_0001.dng", photo)
    jpg = rendering_of(raw, tmp_path / "IMG_0001.jpg", quality=95)
    tif = rendering_of(raw, tmp_path / "IMG_0001.tif", "TIFF")
    for kept in (jpg, tif):
        r = verify_pair(raw, kept)
        assert r.verdict in ("duplicate", "identical"), r.reasons
        assert not r.safe_to_delete
        assert any("camera RAW (DNG)" in x and "rendering" in x for x in r.reasons)
    # the rendering itself may go when the RAW is kept
    assert verify_pair(jpg, raw).safe_to_delete


def test_dng_against_a_raw_copy_with_the_same_content_is_safe(tmp_path, photo):
    a = make_dng(tmp_path / "a.dng", photo, software="exported by A")
    b = make_dng(tmp_path / "b.dng", photo, software="copied by tool B")
    assert a.read_bytes() != b.read_bytes()
    r = verify_pair(a, b)
    assert r.declared and r.safe_to_delete, r.reasons


def test_dng_with_a_full_size_preview_is_fingerprinted_from_it(tmp_path, photo):
    """The camera's own rendering (full-size preview) is what the camera's JPEG looks like."""
    p = make_dng(tmp_path / "cam.dng", photo, preview_size=photo.size)
    d = decode(p)
    assert "embedded 320x240 preview" in d.notes[0] and (d.width, d.height, d.bit_depth) == (320, 240, 12)
    camera_jpeg = tmp_path / "cam.jpg"
    photo.save(camera_jpeg, "JPEG", quality=95)
    r = verify_pair(p, camera_jpeg)
    assert r.verdict == "duplicate" and not r.safe_to_delete
    assert any("camera RAW (DNG)" in x for x in r.reasons)


def test_dng_with_more_bits_holds_more_than_a_raw_with_fewer(tmp_path, photo):
    a = analyse_file(make_dng(tmp_path / "a.dng", photo, bits=14))
    b = analyse_file(make_dng(tmp_path / "b.dng", photo, bits=12))
    assert any("higher bit depth (14)" in x for x in holds_at_least_as_much(b, a))
    assert holds_at_least_as_much(a, b) == []


@pytest.mark.parametrize("name,data,fmt", [
    ("IMG_1.CR2", b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(500), "CR2"),
    ("IMG_1.CR3", b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(500), "CR3"),
    ("DSC_1.RAF", b"FUJIFILMCCD-RAW 0201FF383501" + bytes(500), "RAF"),
])
def test_proprietary_raw_that_cannot_be_decoded_is_unreadable_with_the_reason(tmp_path, name, data, fmt):
    p = tmp_path / name
    p.write_bytes(data)
    a = analyse_file(p)
    assert a.status == "unreadable" and a.format == fmt
    assert a.errors and a.errors[0].startswith(f"{fmt} camera RAW: LibRaw cannot")


def test_sensor_data_tiff_from_nikon_is_decoded_by_libraw_or_refused(tmp_path, photo):
    """A NEF-shaped TIFF without Nikon's maker notes: LibRaw either decodes the CFA or refuses it;
    it is never measured as its 40x30 thumbnail."""
    p = tmp_path / "DSC_0001.NEF"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo.resize((40, 30))), photometric="rgb", subfiletype=1, subifds=1,
                extratags=[(271, "s", 0, "NIKON CORPORATION", True), (272, "s", 0, "NIKON D1", True)])
        t.write((np.asarray(photo.convert("L")).astype(np.uint16) * 16), photometric=32803, subfiletype=0,
                extratags=[(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True)])
    a = analyse_file(p)
    assert a.format == "NEF"
    assert (a.status == "unreadable" and "LibRaw" in a.errors[0]) or (a.width, a.height) == (320, 240)


# ---------------------------------------------------------------- 4. HEIC / HEIF / AVIF
@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_heic_and_avif_decode_with_their_exif_orientation(tmp_path, photo, fmt):
    ex = Image.Exif()
    ex[0x0112] = 6                                   # stored sideways, shown turned 90 degrees clockwise
    p = tmp_path / f"IMG_0001.{fmt}"
    if fmt == "HEIF":
        p.write_bytes(heic_bytes(photo, exif=ex.tobytes()))
    else:
        photo.save(p, "AVIF", quality=90, exif=ex.tobytes())
    d = decode(p)
    assert d.format == fmt and (d.width, d.height) == (240, 320)
    shown = np.asarray(photo.transpose(Image.Transpose.ROTATE_270).resize((d.image.shape[1], d.image.shape[0]), Image.BOX))
    assert np.abs(d.image.astype(float) - shown).mean() < 8


def test_heic_and_avif_match_their_jpeg(tmp_path, photo):
    jpg = tmp_path / "a.jpg"
    photo.save(jpg, "JPEG", quality=92)
    heic = tmp_path / "a.heic"
    heic.write_bytes(heic_bytes(photo))
    avif = tmp_path / "a.avif"
    photo.save(avif, "AVIF", quality=90)
    for p in (heic, avif):
        r = verify_pair(p, jpg)
        assert r.verdict in ("duplicate", "identical") and r.safe_to_delete, (p, r.reasons)


def test_ten_bit_heic_reports_its_bit_depth(tmp_path, photo):
    import pillow_heif
    a16 = np.asarray(photo).astype(np.uint16) * 257
    heif = pillow_heif.from_bytes(mode="RGB;16", size=photo.size, data=a16.tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=90)
    p = tmp_path / "deep.heic"
    p.write_bytes(buf.getvalue())
    assert decode(p).bit_depth == 10


def test_a_gifs_icc_profile_is_read_from_its_application_extension_wherever_it_lies(tmp_path, photo):
    # Pillow does not read a GIF's ICCRGBG1 extension: a GIF tagged Lab was sRGB to the colour rule, and
    # "identical" and safe against the same picture untagged
    from PIL import ImageCms

    from matching.formats import gif_icc
    plain = tmp_path / "plain.gif"
    photo.convert("P").save(plain)
    data = plain.read_bytes()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    ext = (b"\x21\xff\x0bICCRGBG1012" + b"".join(bytes([len(profile[i:i + 255])]) + profile[i:i + 255]
                                               for i in range(0, len(profile), 255)) + b"\0")
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)      # after the global colour table
    # a decoy: the extension's bytes inside a comment before it are not it
    decoy = b"\x21\xfe" + bytes([24]) + b"ICCRGBG1012 not a block!" + b"\0"
    for name, made in (("before.gif", data[:at] + decoy + ext + data[at:]), ("after.gif", data[:-1] + ext + b";")):
        (tmp_path / name).write_bytes(made)
        assert gif_icc(made) == profile, name
        assert decode(tmp_path / name).icc.startswith("Lab identity"), name
        r = verify_pair(tmp_path / name, plain)
        assert r.verdict == "identical" and not r.safe_to_delete, (name, r.reasons)
    assert gif_icc(data) is None and decode(plain).icc == ""
    assert gif_icc(data[:at] + decoy + data[at:]) is None and gif_icc(b"GIF89a") is None


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def test_an_avifs_depth_and_colour_code_points_are_its_primary_items_not_the_first_bytes_that_look_like_them(tmp_path, photo):
    # a decoy colour box in a box no reader reads, and a thumbnail item's sRGB one listed first: the search read
    # sRGB for a BT.2020 PQ picture; a 10-bit AVIF was read as 8-bit (Pillow decodes it to 8 bits a sample)
    from matching.formats import item_bit_depth, item_nclx, item_properties
    srgb = _box(b"colr", b"nclx" + bytes([0, 1, 0, 13, 0, 6, 0x80]))
    pq = _box(b"colr", b"nclx" + bytes([0, 9, 0, 16, 0, 9, 0x80]))
    av1c_10 = _box(b"av1C", bytes([0x81, 0x00, 0x4C, 0x00]))          # high_bitdepth set, twelve_bit not
    av1c_8 = _box(b"av1C", bytes([0x81, 0x00, 0x0C, 0x00]))

    def avif(props: list, primary: list | None) -> bytes:
        """An AVIF's boxes: a decoy colour box in a free box first; item 2 (a thumbnail) has properties 1 and 2,
        item 1 (the primary) ``primary`` (1-based, the first essential); no ipma box when None."""
        ipma = b"" if primary is None else _box(b"ipma", bytes(4) + (2).to_bytes(4, "big") + bytes([0, 2, 2, 1, 0x82])
                                                + bytes([0, 1, len(primary), 0x80 | primary[0], *primary[1:]]))
        meta = _box(b"meta", bytes(4) + _box(b"hdlr", bytes(8) + b"pict" + bytes(13))
                    + _box(b"pitm", bytes(4) + bytes([0, 1])) + _box(b"iprp", _box(b"ipco", b"".join(props)) + ipma))
        decoy = _box(b"free", b"colrnclx" + bytes([0, 1, 0, 13, 0, 6, 0x80]))
        return _box(b"ftyp", b"avif" + bytes(4) + b"avifmif1") + decoy + meta + _box(b"mdat", b"")
    data = avif([srgb, av1c_8, pq, av1c_10], [4, 3])
    assert [k for k, _, _ in item_properties(data)] == [b"av1C", b"colr"]
    assert item_nclx(data) == (9, 16) and item_bit_depth(data) == 10
    assert item_bit_depth(avif([srgb, av1c_8, pq, _box(b"av1C", bytes([0x81, 0x00, 0x6C, 0x00]))], [4, 3])) == 12
    # a pixi property outranks the AV1 configuration
    pixi = _box(b"pixi", bytes(4) + bytes([3, 12, 12, 12]))
    assert item_bit_depth(avif([srgb, av1c_8, pq, av1c_10, pixi], [4, 3, 5])) == 12
    # without an ipma box every property is the picture's, in ipco's order; without a meta box there are none
    assert [k for k, _, _ in item_properties(avif([pq, srgb], None))] == [b"colr", b"colr"]
    assert item_nclx(avif([pq, srgb], None)) == (9, 16)
    assert item_properties(b"not a box at all") == [] and item_nclx(photo.tobytes()[:64]) is None
    # a real AVIF of Pillow's: 8 bits, sRGB's code points
    photo.save(tmp_path / "a.avif", "AVIF", quality=90)
    real = (tmp_path / "a.avif").read_bytes()
    assert item_bit_depth(real) == 8 and item_nclx(real) == (1, 13) and decode(tmp_path / "a.avif").icc == ""


# ---------------------------------------------------------------- 5. PDF
def test_pdf_pages_counted_and_first_page_matched(tmp_path, photo, photo2):
    pdf = pdf_of(tmp_path / "item.pdf", [photo.convert("RGB"), photo2.convert("RGB")])
    d = decode(pdf)
    assert d.format == "PDF" and d.pages == 2 and (d.width, d.height) == (320, 240)
    jpg = tmp_path / "item.jpg"
    photo.save(jpg, "JPEG", quality=92)
    r = verify_pair(pdf, jpg)
    assert r.verdict in ("duplicate", "identical") and not r.safe_to_delete
    assert any("more pages (2)" in x for x in r.reasons)


def test_one_page_pdf_is_not_safe_against_a_picture_but_is_against_an_equal_pdf(tmp_path, photo):
    pdf = pdf_of(tmp_path / "one.pdf", [photo.convert("RGB")])
    jpg = tmp_path / "one.jpg"
    photo.save(jpg, "JPEG", quality=92)
    r = verify_pair(pdf, jpg)
    assert r.declared and not r.safe_to_delete
    assert any("PDF document" in x for x in r.reasons)
    twin = pdf_of(tmp_path / "twin.pdf", [photo.convert("RGB")], resolution=150.0)
    assert verify_pair(pdf, twin).safe_to_delete
    # a PDF kept copy with fewer pages than the clean-up PDF holds less
    two = pdf_of(tmp_path / "two.pdf", [photo.convert("RGB"), photo.convert("RGB")])
    assert not verify_pair(two, pdf).safe_to_delete


def test_damaged_pdf_is_unreadable_with_the_reason(tmp_path, photo):
    p = tmp_path / "cut.pdf"
    p.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(40))
    a = analyse_file(p)
    assert a.status == "unreadable" and a.format == "PDF" and a.errors[0].startswith("PDF")


# ---------------------------------------------------------------- 6. unknown formats
@pytest.mark.parametrize("data", [b"hello, this is not a picture at all" * 4, bytes(range(256)),
                                  b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)])
def test_unknown_content_is_unreadable_with_a_reason_and_never_safe(tmp_path, photo, data):
    p = tmp_path / "mystery.jpg"
    p.write_bytes(data)
    with pytest.raises(DecodeError, match="unsupported format"):
        decode(p)
    a = analyse_file(p)
    assert a.status == "unreadable" and "unsupported format" in a.errors[0]
    jpg = tmp_path / "real.jpg"
    photo.save(jpg, "JPEG")
    assert not verify_pair(p, jpg).safe_to_delete


def test_a_stale_preview_never_stands_in_for_the_master_in_the_comparison(tmp_path, photo, photo2):
    """IFD1 is a reduced preview of *another* picture (stale after an edit): the master's pixels
    are what is compared, so the file does not match a JPEG of the preview."""
    p = tmp_path / "stale.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(big_photo(photo)), photometric="rgb")
        t.write(np.asarray(big_photo(photo2, (400, 300))), photometric="rgb", subfiletype=1)
    other = tmp_path / "other.jpg"
    big_photo(photo2, (400, 300)).save(other, "JPEG", quality=92)
    assert verify_pair(p, other).verdict == "different"
    same = tmp_path / "same.jpg"
    big_photo(photo).save(same, "JPEG", quality=92)
    assert verify_pair(same, p).declared  # the JPEG of the master is proven against the master's pixels


def test_raw_and_pdf_respect_the_pixel_limit(tmp_path, photo):
    with pytest.raises(DecodeError, match="image too large: 320x240"):
        decode(make_dng(tmp_path / "a.dng", photo), max_pixels=10_000)
    with pytest.raises(DecodeError, match="image too large: 320x240"):
        decode(pdf_of(tmp_path / "a.pdf", [photo.convert("RGB")]), max_pixels=10_000)
    with pytest.raises(DecodeError, match="image too large: 800x600"):
        decode(dng_like_tiff(tmp_path / "m.tif", big_photo(photo)), max_pixels=100_000)


def test_subifd_master_takes_the_orientation_written_in_ifd0(tmp_path, photo):
    p = tmp_path / "turned.tif"
    with tifffile.TiffWriter(p) as t:
        t.write(np.asarray(photo.resize((40, 30))), photometric="rgb", subfiletype=1, subifds=1,
                extratags=[(274, "H", 1, 6, True)])          # shown turned 90 degrees clockwise
        t.write(np.asarray(photo), photometric="rgb")
    d = decode(p)
    assert (d.width, d.height, d.exif_orientation) == (240, 320, 6)
    shown = np.asarray(photo.transpose(Image.Transpose.ROTATE_270).resize((d.image.shape[1], d.image.shape[0]), Image.BOX))
    assert np.abs(d.image.astype(float) - shown).mean() < 6


def test_renditions_for_the_review_ui_cover_the_new_formats(tmp_path, photo):
    from matching import render_web_jpeg
    files = [make_dng(tmp_path / "a.dng", photo), pdf_of(tmp_path / "a.pdf", [photo.convert("RGB")])]
    heic = tmp_path / "a.heic"
    heic.write_bytes(heic_bytes(photo))
    files.append(heic)
    for p in files:
        web = Image.open(io.BytesIO(render_web_jpeg(p, max_side=300)))
        assert web.format == "JPEG" and max(web.size) == 300 and web.size[0] > web.size[1], p


def test_a_mixed_format_folder_pairs_by_content_end_to_end(tmp_path, photo, photo2):
    """pair_directories over canonical masters (SubIFD TIFF, DNG) and clean-up copies in every new
    format: every row measured truly, nothing RAW/PDF/bigger deleted against less."""
    from matching import pair_directories
    canon, clean = tmp_path / "canon", tmp_path / "clean"
    canon.mkdir()
    clean.mkdir()
    dng_like_tiff(canon / "C0000201.tif", big_photo(photo))
    raw = make_dng(canon / "C0000202.dng", photo2)
    big_photo(photo).resize((400, 300), Image.LANCZOS).save(clean / "C0000201_web.jpg", "JPEG", quality=92)
    (clean / "C0000201_phone.heic").write_bytes(heic_bytes(big_photo(photo).resize((400, 300))))
    rendering_of(raw, clean / "C0000202_export.jpg", quality=95)
    make_dng(clean / "C0000202_copy.dng", photo2, bits=14)            # more bits than the kept DNG
    pdf_of(clean / "C0000201_scan.pdf", [big_photo(photo).convert("RGB")])
    (clean / "C0000203.cr2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(300))
    rows = {r["cleanup"]: r for r in pair_directories(canon, clean, workers=1, progress=False)}
    assert rows["C0000201_web.jpg"]["safe_to_delete"] == "true"
    assert rows["C0000201_phone.heic"]["match"] == "C0000201.tif" and rows["C0000201_phone.heic"]["safe_to_delete"] == "true"
    assert rows["C0000202_export.jpg"]["match"] == "C0000202.dng" and rows["C0000202_export.jpg"]["safe_to_delete"] == "true"
    copy = rows["C0000202_copy.dng"]
    assert copy["match"] == "C0000202.dng" and copy["safe_to_delete"] == "false"
    scan = rows["C0000201_scan.pdf"]
    assert scan["match"] == "C0000201.tif" and scan["verdict"] in ("duplicate", "identical") and scan["safe_to_delete"] == "false"
    assert rows["C0000203.cr2"]["verdict"] == "unreadable" and rows["C0000203.cr2"]["safe_to_delete"] == "false"


def test_a_subifd_master_pillow_cannot_open_is_unreadable_not_measured_as_ifd0(tmp_path, photo):
    import struct
    p = dng_like_tiff(tmp_path / "odd.tif", big_photo(photo))
    data = bytearray(p.read_bytes())
    sub = tiff_layout(bytes(data)).master_offset
    n = struct.unpack("<H", data[sub:sub + 2])[0]
    for k in range(n):                                   # the master's Compression tag -> unknown codec
        e = sub + 2 + 12 * k
        if struct.unpack("<H", data[e:e + 2])[0] == 259:
            data[e + 8:e + 10] = struct.pack("<H", 50999)
    p.write_bytes(bytes(data))
    a = analyse_file(p)
    assert a.status == "unreadable" and a.width == 0
    assert a.errors[0].startswith("TIFF: page 1's master (IFD0 SubIFD 0, 800x600) cannot be decoded")


@pytest.mark.parametrize("fmt, kw, want", [
    ("WEBP", {"lossless": True}, True), ("WEBP", {"quality": 90}, False),
    ("JPEG2000", {}, True), ("JPEG2000", {"no_jp2": True}, True),
    ("JPEG2000", {"irreversible": True, "quality_mode": "rates", "quality_layers": [8]}, False),
    ("JPEG", {"quality": 95}, None), ("PNG", {}, None)])
def test_a_webp_or_jpeg2000_says_whether_its_coding_may_keep_every_pixel(photo, fmt, kw, want):
    from matching.formats import coded_losslessly
    for im in (photo, photo.convert("RGBA")) if fmt == "WEBP" else (photo,):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        assert coded_losslessly(fmt, b.getvalue()) is want, (fmt, kw, im.mode)
    assert coded_losslessly(fmt, b"garbage") is None


@pytest.mark.parametrize("fmt, kw", [("WEBP", {"lossless": True}), ("JPEG2000", {})])
def test_a_lossless_webp_or_jpeg2000_copy_is_never_deleted_for_a_jpeg_of_its_size(tmp_path, photo, fmt, kw):
    # either format is lossless by the encoder's choice: the rule knew PNG and TIFF by name only, and
    # a lossless WebP or JPEG 2000 against a JPEG kept copy of its size was a safe duplicate
    kept = tmp_path / "C0001000.jpg"
    photo.save(kept, "JPEG", quality=85)
    copy = tmp_path / f"C0001000b.{fmt.lower()}"
    photo.save(copy, fmt, **kw)
    assert analyse_file(copy).lossless is True
    r = verify_pair(copy, kept)
    assert r.verdict in ("duplicate", "identical") and not r.safe_to_delete, r.reasons
    assert any(why.startswith(f"the clean-up copy is lossless ({fmt})") for why in r.reasons), r.reasons
    # the same coded lossy is the kept JPEG's equal: safe as before
    photo.save(copy, fmt, **({"quality": 90} if fmt == "WEBP" else
                             {"irreversible": True, "quality_mode": "rates", "quality_layers": [8]}))
    assert analyse_file(copy).lossless is False
    assert holds_at_least_as_much(analyse_file(kept), analyse_file(copy)) == []


def test_a_palette_picture_with_a_transparent_entry_is_recorded_and_decoded_as_one_with_alpha(tmp_path):
    # one set of modes for the decoder's flattening and the holds-at-least-as-much rule: a palette
    # picture with a transparent entry counts as "PA"; an opaque one keeps its own mode; a colour key on grey or RGB
    # is applied too (since fp 2.6: "LA", "RGBA"), on 16-bit grey not (its samples' digest holds it)
    assert channel_mode("P", {"transparency": 0}) == "PA" and "PA" in ALPHA_MODES
    assert channel_mode("P", {}) == "P" and channel_mode("RGB", {}) == "RGB"
    assert channel_mode("RGB", {"transparency": (1, 2, 3)}) == "RGBA" and channel_mode("L", {"transparency": 3}) == "LA"
    assert channel_mode("I;16", {"transparency": 3}) == "I;16"
    im = Image.new("P", (32, 24), 0)
    im.putpalette([255, 255, 255, 10, 20, 30] + [0] * 762)
    im.paste(1, (8, 8, 24, 16))
    path = tmp_path / "t.gif"
    im.save(path, transparency=0)
    assert decode(path).mode == "PA"


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("kw, want", [
    ({}, True), ({"quality_mode": "rates", "quality_layers": [20, 5, 0]}, True),   # layers, the last one whole
    ({"tile_size": (128, 128)}, True), ({"codeblock_size": (16, 16), "precinct_size": (64, 64)}, True),
    ({"num_resolutions": 2}, True),
    ({"quality_mode": "rates", "quality_layers": [8]}, False), ({"quality_mode": "rates", "quality_layers": [3]}, False),
    ({"tile_size": (128, 128), "quality_mode": "rates", "quality_layers": [6]}, False),
    ({"quality_mode": "dB", "quality_layers": [45]}, False),
    ({"codeblock_size": (16, 16), "precinct_size": (64, 64), "quality_mode": "rates", "quality_layers": [5]}, False),
    ({"irreversible": True}, None)])
def test_a_reversible_jpeg2000_that_kept_every_coding_pass_is_told_from_one_cut_to_a_rate(photo, mode, kw, want):
    from matching.formats import j2k_every_pass_kept
    b = io.BytesIO()
    photo.convert(mode).save(b, "JPEG2000", **{"irreversible": False, **kw})
    decoded = np.asarray(Image.open(io.BytesIO(b.getvalue())))
    assert j2k_every_pass_kept(b.getvalue(), decoded) is want
    # (what it says of the file is what its pixels show: every pixel kept, or not)
    if want is not None:
        assert np.array_equal(decoded, np.asarray(photo.convert(mode))) is want


def test_a_jpeg2000_whose_finest_level_tells_nothing_is_not_called_lossless(photo):
    """A picture blown up eightfold has nothing at the finest wavelet level for a rate to cut: its
    pixels cannot say whether the file kept every pass, and the answer is None, never True."""
    from matching.formats import j2k_every_pass_kept
    big = photo.resize((photo.width * 8, photo.height * 8), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(6))
    b = io.BytesIO()
    big.save(b, "JPEG2000", irreversible=False, quality_mode="rates", quality_layers=[60])
    decoded = np.asarray(Image.open(io.BytesIO(b.getvalue())))
    assert not np.array_equal(decoded, np.asarray(big))
    assert j2k_every_pass_kept(b.getvalue(), decoded) is not True
    assert j2k_every_pass_kept(b.getvalue(), decoded[:-2]) is None          # (not the file's pixels)
    assert j2k_every_pass_kept(b"\xff\x4f\xff\x51garbage", decoded) is None


def test_what_8_bit_rgb_does_not_show_is_named_and_a_mode_that_drops_samples_never_shows_them_equal():
    from matching.formats import held_beyond_rgb8, samples_decoded_whole
    assert held_beyond_rgb8("RGB", 8) == [] and held_beyond_rgb8("L", 8) == [] and held_beyond_rgb8("P", 4) == []
    assert held_beyond_rgb8("1", 1) == [] and held_beyond_rgb8("", 8) == []
    assert held_beyond_rgb8("I;16", 16) == ["16-bit samples"] and held_beyond_rgb8("RGB", 16) == ["16-bit samples"]
    assert held_beyond_rgb8("F", 32) == ["floating-point samples"]
    assert held_beyond_rgb8("RGBA", 8) == ["an alpha channel"] and held_beyond_rgb8("CMYK", 8) == ["CMYK separations"]
    assert held_beyond_rgb8("RGB+1", 8) == ["1 more sample(s) a pixel than the decoder reads"]
    assert held_beyond_rgb8("RGBA+1", 8) == ["an alpha channel", "1 more sample(s) a pixel than the decoder reads"]
    assert held_beyond_rgb8("RAW RGBG", 14) == [] and held_beyond_rgb8("PDF", 8) == []   # (their own rules)
    assert samples_decoded_whole("I;16", 16) and samples_decoded_whole("RGBA", 8) and samples_decoded_whole("F", 32)
    assert not samples_decoded_whole("RGB", 16) and not samples_decoded_whole("RGB+1", 8)
    assert not samples_decoded_whole("RGB", 16, "PNG") and not samples_decoded_whole("RGB", 16, "JPEG2000")
    # (a TIFF's samples are read by tifffile where Pillow reads fewer bits or samples: formats.tiff_samples)
    assert samples_decoded_whole("RGB", 16, "TIFF") and samples_decoded_whole("RGB+1", 8, "TIFF")


def test_a_tiffs_samples_are_read_at_their_own_depth_whatever_its_compression(tmp_path):
    import tifffile

    from matching.formats import tiff_samples
    rgb16 = np.random.default_rng(5).integers(0, 65535, (30, 40, 3)).astype(np.uint16)
    for compression in (None, "zlib", "lzw", "packbits"):
        b = io.BytesIO()
        tifffile.imwrite(b, rgb16, photometric="rgb", compression=compression)
        got = tiff_samples(b.getvalue())
        assert got is not None and got.dtype == np.uint16 and (got == rgb16).all(), compression
    assert tiff_samples(b"II*\x00 not a tiff") is None


def test_samples_the_decoder_drops_are_counted_a_tiffs_extra_samples_and_a_32_bit_bmps_fourth_byte(tmp_path, photo):
    import tifffile
    rgb = np.asarray(photo.convert("RGB"))
    extra = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    tifffile.imwrite(tmp_path / "x.tif", extra, photometric="rgb", extrasamples=[0])   # (unspecified: Pillow reads RGB)
    tifffile.imwrite(tmp_path / "a.tif", extra, photometric="rgb", extrasamples=[2])   # (alpha: read as RGBA)
    tifffile.imwrite(tmp_path / "p.tif", rgb, photometric="rgb")
    assert decode(tmp_path / "x.tif").mode == "RGB+1"
    assert decode(tmp_path / "a.tif").mode == "RGBA" and decode(tmp_path / "p.tif").mode == "RGB"
    photo.convert("RGB").save(tmp_path / "24.bmp")
    assert decode(tmp_path / "24.bmp").mode == "RGB"
    data = bytearray((tmp_path / "24.bmp").read_bytes())
    w, h = photo.size
    body = np.dstack([rgb[::-1, :, ::-1], np.full((h, w), 9, np.uint8)]).tobytes()   # (BGRX rows, bottom up)
    header = bytearray(data[:54])
    header[2:6] = (54 + len(body)).to_bytes(4, "little")
    header[28:30] = (32).to_bytes(2, "little")
    header[34:38] = len(body).to_bytes(4, "little")
    (tmp_path / "32.bmp").write_bytes(bytes(header) + body)
    d = decode(tmp_path / "32.bmp")
    assert d.mode == "RGB+1" and (d.width, d.height) == photo.size


def test_a_jpeg2000s_and_a_pngs_bit_depth_are_read_from_their_headers(tmp_path, photo):
    # Pillow decodes a 16-bit RGB JPEG 2000 or PNG to 8 bits a sample; the header says what the file holds
    from matching.formats import j2k_bit_depth
    grey16 = (np.asarray(photo.convert("L"), np.uint16) * 257)
    Image.fromarray(grey16).save(tmp_path / "g.jp2", irreversible=False)
    assert j2k_bit_depth((tmp_path / "g.jp2").read_bytes()) == 16 and decode(tmp_path / "g.jp2").bit_depth == 16
    photo.save(tmp_path / "c.jp2")
    assert j2k_bit_depth((tmp_path / "c.jp2").read_bytes()) == 8 and decode(tmp_path / "c.jp2").bit_depth == 8
    assert j2k_bit_depth(b"not a codestream") is None
    # a PNG with a chunk before its IHDR (Pillow opens it): the depth is the IHDR's, not byte 24's
    import struct
    import zlib
    Image.fromarray(grey16).save(tmp_path / "g.png")
    data = (tmp_path / "g.png").read_bytes()
    chunk = struct.pack(">I", 4) + b"tEXt" + b"a\x00bc" + struct.pack(">I", zlib.crc32(b"tEXta\x00bc"))
    (tmp_path / "pre.png").write_bytes(data[:8] + chunk + data[8:])
    assert decode(tmp_path / "g.png").bit_depth == decode(tmp_path / "pre.png").bit_depth == 16

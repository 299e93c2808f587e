import json

from matching import FileAnalysis, analyse_file

from mhelpers import jpeg_bytes


def test_analysis_json_roundtrip_and_compact(tmp_path, photo):
    p = tmp_path / "C0001234.jpg"
    p.write_bytes(jpeg_bytes(photo))
    a = analyse_file(p)
    assert a.status == "ok" and a.ids == ["C1234"] and a.format == "JPEG"
    d = a.to_dict()
    text = json.dumps(d)
    assert len(text) < 4096
    b = FileAnalysis.from_dict(json.loads(text))
    assert b.to_dict() == d
    assert b.hash_ints(0) == a.hash_ints(0)


def test_name_overrides_basename(tmp_path, photo):
    p = tmp_path / "tmp123.jpg"
    p.write_bytes(jpeg_bytes(photo))
    assert analyse_file(p, name="bucket/prefix/C0099999b.jpg").ids == ["C99999"]


def test_never_raises(tmp_path):
    for name, data in [("a.jpg", b"\xff\xd8\xff\xe0garbage"), ("b.png", b""), ("c.tif", b"II*\x00" + b"\xff" * 20),
                       ("d.txt", b"hello")]:
        p = tmp_path / name
        p.write_bytes(data)
        a = analyse_file(p)
        assert a.status == "unreadable" and a.errors
        json.dumps(a.to_dict())


def test_truncated_file_is_damaged_with_region(tmp_path, photo):
    data = jpeg_bytes(photo)
    p = tmp_path / "t.jpg"
    p.write_bytes(data[: int(len(data) * 0.6)])
    a = analyse_file(p)
    assert a.status == "damaged"
    assert a.damage["kind"] == "truncated"
    assert a.damage["region"] and a.damage["region"]["bottom"] == 1.0 and 0.2 < a.damage["region"]["top"] < 0.95


def test_bomb_is_unreadable_with_message(tmp_path):
    from PIL import Image
    p = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(p)
    a = analyse_file(p, max_pixels=50_000_000)
    assert a.status == "unreadable" and "image too large: 20000x20000 px exceeds limit" in a.errors[0]


def test_a_rendition_asked_of_the_analysis_is_kept_on_it_and_not_also_in_the_path_cache(tmp_path, photo):
    """The web app analyses each file once, from a temp path, and keeps the rendition the analysis
    carries: a second copy in the proof's cache of recent paths is memory (up to 9.4 MB a file)
    nothing reads again."""
    from matching import proof

    p = tmp_path / "C0001234.jpg"
    p.write_bytes(jpeg_bytes(photo))
    proof._load_cached.cache_clear()
    a = analyse_file(p, rendition=True)
    assert a.rendition is not None and a.pixel_sha256
    assert proof._load_cached.cache_info().currsize == 0
    # the verifier's own reads of a path are still remembered, and agree with the analysis
    b = analyse_file(p)
    assert proof.attach_rendition(b) and b.pixel_sha256 == a.pixel_sha256
    assert proof._load_cached.cache_info().currsize == 1


def test_an_analysis_of_the_fingerprint_before_stays_current_only_for_a_file_under_the_proofs_cap():
    # fp 2.3 changed only how a file over the cap is shrunk for the proof: a store of smaller files
    # need not be fetched (or restored) again for it; a larger file, or an older version, must be
    from matching import FINGERPRINT_VERSION, analysis_current
    assert analysis_current(FINGERPRINT_VERSION, 4000, 3000) and analysis_current(FINGERPRINT_VERSION, None, None)
    assert analysis_current("fp 2.2", 2048, 1536) and analysis_current("fp 2.2", 1536, 2048)
    assert not analysis_current("fp 2.2", 2049, 1536) and not analysis_current("fp 2.2", 1536, 2049)
    assert not analysis_current("fp 2.2", None, None)    # size not known: analysed again
    assert not analysis_current("fp 2.1", 640, 480) and not analysis_current(None, 640, 480)
    # fp 2.4 read a reversible JPEG 2000 for every coding pass kept: an older analysis of one is stale at any size
    assert analysis_current("fp 2.3", 2000, 1500) and analysis_current("fp 2.3", 2000, 1500, format="JPEG2000", lossless=False)
    assert not analysis_current("fp 2.3", 640, 480, format="JPEG2000", lossless=True)
    assert not analysis_current("fp 2.2", 640, 480, format="JPEG2000", lossless=True)
    assert analysis_current("fp 2.2", 640, 480, format="TIFF", lossless=None)
    # fp 2.5 told a JPEG without only its end marker from one cut short: an older analysis of a damaged JPEG is
    # stale, of any other file current where it was
    assert not analysis_current("fp 2.4", 640, 480, format="JPEG", status="damaged")
    assert not analysis_current("fp 2.3", 4000, 3000, format="JPEG", status="damaged")
    assert analysis_current("fp 2.4", 2000, 1500, format="JPEG", status="ok")
    assert analysis_current("fp 2.4", 640, 480, format="TIFF", status="damaged")
    assert analysis_current("fp 2.4", 640, 480, format="JPEG2000", lossless=True)   # (fp 2.4 read that already)
    # fp 2.6 stored the digest of the samples of a file holding more than 8-bit RGB, and a PNG's gamma
    for beyond in ({"mode": "RGBA"}, {"mode": "I;16", "bit_depth": 16}, {"mode": "RGB", "bit_depth": 16},
                   {"mode": "CMYK"}, {"mode": "F", "bit_depth": 32}, {"format": "PNG", "mode": "RGB", "bit_depth": 8}):
        assert not analysis_current("fp 2.5", 640, 480, **{"format": "TIFF", **beyond}), beyond
    assert analysis_current("fp 2.5", 640, 480, format="TIFF", mode="RGB", bit_depth=8)
    assert not analysis_current("fp 2.5", 640, 480, format="TIFF", mode="RGB", bit_depth=8, exif_orientation=6)
    assert analysis_current("fp 2.5", 640, 480, format="JPEG", mode="RGB", bit_depth=8, exif_orientation=6)
    assert analysis_current("fp 2.5", 640, 480, format="TIFF", mode="RGB", bit_depth=8, exif_orientation=1)
    assert analysis_current("fp 2.5", 2000, 1500, format="JPEG", mode="L", bit_depth=8, status="ok")
    assert analysis_current("fp 2.3", 640, 480, format="JPEG2000", mode="RGB", bit_depth=8, lossless=False)
    assert not analysis_current("fp 2.3", 640, 480, format="JPEG2000", mode="RGB", bit_depth=12, lossless=False)
    # fp 2.7 read a HEIF's or AVIF's depth and colour code points from its primary item's properties, a GIF's profile
    for fmt in ("HEIF", "AVIF", "GIF"):
        assert not analysis_current("fp 2.6", 640, 480, format=fmt, mode="RGB", bit_depth=8)
        assert not analysis_current("fp 2.5", 640, 480, format=fmt, mode="RGB", bit_depth=8)
    assert analysis_current("fp 2.6", 2000, 1500, format="JPEG", mode="RGB", bit_depth=8)
    assert analysis_current("fp 2.6", 640, 480, format="PNG", mode="RGB", bit_depth=8)
    # fp 2.8 records what a file over the cap lost in its rendition: an older analysis of one is stale, of a file
    # under the cap current where it was
    for older in ("fp 2.3", "fp 2.5", "fp 2.7"):
        assert not analysis_current(older, 4000, 3000, format="JPEG", mode="RGB", bit_depth=8, status="ok")
        assert not analysis_current(older, 1536, 2049, format="TIFF", mode="RGB", bit_depth=8, status="ok")
        assert analysis_current(older, 2048, 1536, format="JPEG", mode="RGB", bit_depth=8, status="ok")
    # fp 2.9 reads a PNG's chunk CRCs: an older analysis of a PNG it called "ok" is stale, any other file's current
    # where it was (fp 2.8's at any size)
    for older in ("fp 2.6", "fp 2.8"):
        assert not analysis_current(older, 640, 480, format="PNG", mode="RGB", bit_depth=8, status="ok")
        assert analysis_current(older, 640, 480, format="PNG", mode="RGB", bit_depth=8, status="damaged")
    assert analysis_current("fp 2.8", 4000, 3000, format="JPEG", mode="RGB", bit_depth=8, status="ok")
    assert analysis_current("fp 2.8", 4000, 3000, format="PNG", mode="RGB", bit_depth=8, status="damaged")
    # fp 2.10 reads whether a float picture's samples are numbers (NaN, infinite): an older analysis of a mode F file
    # is stale, whatever it said of it; any other file's is current where it was (fp 2.9's at any size)
    for older in ("fp 2.6", "fp 2.8", "fp 2.9"):
        assert not analysis_current(older, 640, 480, format="TIFF", mode="F", bit_depth=32, status="ok")
        assert not analysis_current(older, 640, 480, format="PFM", mode="F", bit_depth=32, status="damaged")
        assert analysis_current(older, 640, 480, format="TIFF", mode="I", bit_depth=32, status="ok")
    assert analysis_current("fp 2.9", 4000, 3000, format="TIFF", mode="RGB", bit_depth=8, status="ok")
    assert analysis_current("fp 2.9", 640, 480, format="PNG", mode="RGB", bit_depth=8, status="ok")

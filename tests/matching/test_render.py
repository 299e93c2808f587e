import io

import numpy as np
from PIL import Image

import matching

from mhelpers import jpeg_bytes


def _open(b):
    im = Image.open(io.BytesIO(b))
    assert im.format == "JPEG"
    return im


def test_web_jpeg_applies_orientation_and_bounds(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 8
    p = tmp_path / "o.jpg"
    p.write_bytes(jpeg_bytes(photo.transpose(Image.Transpose.ROTATE_270), exif=exif.tobytes()))
    im = _open(matching.render_web_jpeg(p, max_side=160))
    assert im.size == (160, 120)


def test_web_jpeg_of_truncated_file(tmp_path, photo):
    data = jpeg_bytes(photo)
    p = tmp_path / "t.jpg"
    p.write_bytes(data[: len(data) // 2])
    assert _open(matching.render_web_jpeg(p)).size == (320, 240)


def test_aligned_and_diff(tmp_path, photo):
    c = tmp_path / "c.tif"
    photo.save(c)
    q = tmp_path / "r.jpg"
    q.write_bytes(jpeg_bytes(photo.rotate(90, expand=True)))
    al = _open(matching.render_aligned(c, rotation=90, flipped=False, size=(240, 320)))
    assert al.size == (240, 320)
    ref = np.asarray(Image.open(q).convert("RGB"), dtype=float)
    assert np.abs(np.asarray(al.convert("RGB"), dtype=float) - ref).mean() < 8
    d = _open(matching.render_diff(q, c, rotation=90, flipped=False, max_side=200))
    assert max(d.size) == 200
    # a wrong turn lights the heat map up far more than the right one
    bad = _open(matching.render_diff(q, c, rotation=270, flipped=False, max_side=200))
    assert np.asarray(bad, dtype=float)[..., 0].mean() > np.asarray(d, dtype=float)[..., 0].mean() + 10

"""The JPEG path decodes once, DCT-scaled (1/2..1/8) and strict: the whole entropy-coded stream is
still parsed, so bit-level damage that libjpeg only warns about must raise exactly as it does in a
full-size strict decode. Checked here on real photographs damaged in many ways."""
import numpy as np
import pytest
from PIL import Image

from tests.conftest import require_import

simplejpeg = require_import("simplejpeg")  # skipped locally when missing, a failure under CI

from matching.decode import decode

from mhelpers import jpeg_bytes


def _big(photo, progressive):
    im = photo.resize((1600, 1200), Image.BICUBIC)
    return jpeg_bytes(im, q=90, progressive=progressive)


def _scan_start(data):
    """Offset of the first entropy-coded byte (after the first SOS header)."""
    i = data.index(b"\xff\xda")
    return i + 2 + int.from_bytes(data[i + 2:i + 4], "big")


def _damaged(data, seed):
    rng = np.random.default_rng(seed)
    b = bytearray(data)
    start, end = _scan_start(data), len(data) - 2
    kind = seed % 4
    if kind == 0:      # a few flipped bits somewhere in the entropy-coded data
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(start, end))] ^= 1 << int(rng.integers(8))
    elif kind == 1:    # one flipped bit near the end (damage local to the last rows)
        b[int(rng.integers(end - (end - start) // 20, end))] ^= 1 << int(rng.integers(8))
    elif kind == 2:    # a run of garbage bytes
        p = int(rng.integers(start, end - 64))
        b[p:p + 32] = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
    else:              # truncated at 80-99 %
        b = b[:int(len(b) * rng.uniform(0.8, 0.99))]
    return bytes(b)


def _outcome(data, **kw):
    try:
        a = simplejpeg.decode_jpeg(data, strict=True, colorspace="RGB", fastdct=True, fastupsample=True, **kw)
        return "ok", a.shape
    except Exception as e:
        return "error", str(e)


@pytest.mark.parametrize("progressive", [False, True])
def test_scaled_strict_decode_raises_exactly_like_full_strict(photo, progressive):
    data = _big(photo, progressive)
    assert _outcome(data)[0] == "ok"
    raised = 0
    for seed in range(40):
        bad = _damaged(data, seed)
        full = _outcome(bad)
        for m in (64, 150, 300, 600):          # scale 1/8, 1/8, 1/4, 1/2 of 1600x1200
            scaled = _outcome(bad, min_height=m, min_width=m)
            assert scaled[0] == full[0], (seed, m, full, scaled)
            if full[0] == "error":
                assert scaled[1] == full[1], (seed, m)   # the same libjpeg message
            else:
                assert scaled[1][0] < full[1][0]
        raised += full[0] == "error"
    assert raised >= 20   # the damage really is caught in most cases


def test_decode_reports_damage_from_the_scaled_decode(photo):
    data = _big(photo, False)
    d = decode("x.jpg", data=data)
    assert d.errors == [] and d.reduced_by >= 4
    caught = 0
    for seed in range(0, 40, 4):   # bit flips only
        bad = _damaged(data, seed)
        if _outcome(bad)[0] == "error":
            d = decode("x.jpg", data=bad)
            assert d.errors and d.errors[0].startswith(("damaged: JPEG", "truncated: JPEG"))
            caught += 1
    assert caught >= 5

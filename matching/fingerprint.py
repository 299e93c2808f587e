"""Fingerprints of a (reduced, displayed) RGB array: pHash of the whole picture and of regions,
for all 8 rotations/mirrorings, plus flatness and flat-band measures. Pure numpy."""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.fft import dctn

from .decode import DIHEDRAL, dihedral

# regions as fractions (top, left, bottom, right) of the picture: the whole, and four 45 % strips
# so that damage confined to one part (grey band, truncation) leaves some region hash intact.
REGIONS = [(0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.45, 1.0), (0.55, 0.0, 1.0, 1.0),
           (0.0, 0.0, 1.0, 0.45), (0.0, 0.55, 1.0, 1.0)]
FLAT_STD = 8.0        # grey standard deviation below which a picture is near-blank
FLAT_DETAIL = 0.8     # mean absolute gradient (0..255 per px at 64 px) below which it has little detail
REGION_MIN_STD = 6.0  # regions flatter than this get no hash (they collide with every flat region)


def grey(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    if a.ndim == 2:
        return a
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def resize_f(a: np.ndarray, size) -> np.ndarray:
    """float32 array -> (w, h) with antialiasing."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize(size, Image.Resampling.BOX if min(a.shape[:2]) >= 2 * min(size) else Image.Resampling.BILINEAR))


def phash_bits(g: np.ndarray) -> int:
    """64-bit DCT hash (imagehash.phash style) of a grey float array."""
    s = resize_f(g, (32, 32))
    c = dctn(s.astype(np.float64), norm="ortho")[:8, :8].ravel()
    med = np.median(c[1:])
    bits = c > med
    return int(np.packbits(bits).view(">u8")[0])


def flatness(g: np.ndarray):
    s = resize_f(g, (64, 64)) if min(g.shape) >= 8 else g
    std = float(s.std())
    detail = float((np.abs(np.diff(s, axis=0)).mean() + np.abs(np.diff(s, axis=1)).mean()) / 2) if min(s.shape) > 1 else 0.0
    return std, detail


def region_hashes(g: np.ndarray):
    h, w = g.shape
    out = []
    for t, l, b, r in REGIONS:
        sub = g[int(t * h):max(int(t * h) + 1, int(round(b * h))), int(l * w):max(int(l * w) + 1, int(round(r * w)))]
        if sub.size < 16 or sub.std() < REGION_MIN_STD:
            out.append(None)
        else:
            out.append(phash_bits(sub))
    return out


def fingerprints(a: np.ndarray) -> dict:
    """All fingerprints of a displayed RGB array: {'hashes': [[int|None]*5]*8, 'std', 'detail', 'flat'}."""
    g = grey(a)
    std, detail = flatness(g)
    hashes = [region_hashes(dihedral(g, r, f)) for r, f in DIHEDRAL]
    return {"hashes": hashes, "std": std, "detail": detail,
            "flat": bool(std < FLAT_STD or detail < FLAT_DETAIL)}


def hamming(a: int, b: int) -> int:
    return int(a ^ b).bit_count()


def flat_runs(a: np.ndarray, axis: int = 0, std_max: float = 2.5, min_frac: float = 0.03):
    """Runs of near-constant rows (axis=0) or columns (axis=1) spanning the whole width/height:
    list of (start, end) index pairs (end exclusive)."""
    g = grey(a)
    if axis == 1:
        g = g.T
    n = g.shape[0]
    if n < 8 or g.shape[1] < 4:
        return []
    flat = g.std(axis=1) < std_max
    runs, i = [], 0
    while i < n:
        if flat[i]:
            j = i
            while j < n and flat[j]:
                j += 1
            if j - i >= max(2, int(min_frac * n)):
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs

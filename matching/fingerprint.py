"""Fingerprints of a (reduced, displayed) RGB array: pHash of the whole picture and of regions,
for all 8 rotations/mirrorings, plus flatness and flat-band measures. Pure numpy."""
from __future__ import annotations

import numpy as np
from PIL import Image

from .decode import DIHEDRAL, dihedral

# regions as fractions (top, left, bottom, right) of the picture: the whole, and four 45 % strips
# so that damage confined to one part (grey band, truncation) leaves some region hash intact.
REGIONS = [(0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.45, 1.0), (0.55, 0.0, 1.0, 1.0),
           (0.0, 0.0, 1.0, 0.45), (0.0, 0.55, 1.0, 1.0)]
FLAT_STD = 8.0        # grey standard deviation below which a picture is near-blank
FLAT_DETAIL = 0.8     # mean absolute gradient (0..255 per px at 64 px) below which it has little detail
THUMB_SIDE = 24      # side of the grey thumbnail kept for the fallback search (24 x 24 bytes)
REGION_MIN_STD = 2.5  # regions flatter than this get no hash (they collide with every flat region); low-contrast
#                      texture above it hashes stably (engine 2: the full-detail proof rejects look-alikes)


LUMA = (0.299, 0.587, 0.114)   # JFIF's (ITU-R 601) weights of R, G and B in Y, as Pillow's "L"


_LUMA32 = tuple(np.float32(k) for k in LUMA)
BAND_BITS = 16   # log2 of the samples (float32: 256 KB) in a band of rows that ``grey`` makes at a time


def grey(a: np.ndarray) -> np.ndarray:
    """Luma of an RGB array (or a grey one as it is), float32: ``R * 0.299 + G * 0.587 + B * 0.114``,
    each product and sum rounded to float32. Channel by channel, each widened inside the multiply
    (``dtype``), a band of rows (``BAND_BITS``) at a time: widening the whole picture to float32
    first wrote and read three times the bytes, and whole-picture float32 temporaries leave the
    cache between passes (a 1240x1754 page: ~2.5 ms, against ~4-6), for the same values bit for bit
    (the same float32 operations in the same order)."""
    if a.ndim == 2:
        return a.astype(np.float32)
    h, w = a.shape[:2]
    out = np.empty((h, w), np.float32, order="F" if abs(a.strides[0]) < abs(a.strides[1]) else "C")   # as numpy lays out a result
    rows = max(8, 2 ** BAND_BITS // max(1, w))
    tmp = np.empty((min(rows, h), w), np.float32)
    for r0 in range(0, h, rows):
        o, t = out[r0:r0 + rows], tmp[:min(rows, h - r0)]
        np.multiply(a[r0:r0 + rows, :, 0], _LUMA32[0], out=o, dtype=np.float32)
        o += np.multiply(a[r0:r0 + rows, :, 1], _LUMA32[1], out=t, dtype=np.float32)
        o += np.multiply(a[r0:r0 + rows, :, 2], _LUMA32[2], out=t, dtype=np.float32)
    return out


def chroma(r, g, b) -> tuple:
    """JFIF's Cb and Cr (as a JPEG codes them, without the 128 offset) of red, green and blue
    planes (or of their sums over blocks: the transform is linear)."""
    return -0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b


def resize_f(a: np.ndarray, size) -> np.ndarray:
    """float32 array -> (w, h) with antialiasing."""
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize(size, Image.Resampling.BOX if min(a.shape[:2]) >= 2 * min(size) else Image.Resampling.BILINEAR))


def _dct_matrix(n=32, k=8):
    x = np.arange(n)
    m = np.cos(np.pi * (2 * x[None, :] + 1) * np.arange(k)[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_C8 = _dct_matrix()


def _hash_thumbs(thumbs: np.ndarray) -> list:
    """(n, 32, 32) thumbnails -> n 64-bit pHashes (8x8 lowest DCT frequencies vs their median)."""
    c = np.matmul(np.matmul(_C8, thumbs.astype(np.float64)), _C8.T).reshape(len(thumbs), 64)
    med = np.median(c[:, 1:], axis=1)
    bits = c > med[:, None]
    packed = np.packbits(bits, axis=1).view(">u8")[:, 0]
    return [int(x) for x in packed]


def phash_bits(g: np.ndarray) -> int:
    """64-bit DCT hash (imagehash.phash style) of a grey float array."""
    return _hash_thumbs(resize_f(g, (32, 32))[None])[0]


def flatness(g: np.ndarray):
    s = resize_f(g, (64, 64)) if min(g.shape) >= 8 else g
    std = float(s.std())
    detail = float((np.abs(np.diff(s, axis=0)).mean() + np.abs(np.diff(s, axis=1)).mean()) / 2) if min(s.shape) > 1 else 0.0
    return std, detail


def _crop(g, region):
    h, w = g.shape
    top, left, bottom, right = region
    return g[int(top * h):max(int(top * h) + 1, int(round(bottom * h))),
             int(left * w):max(int(left * w) + 1, int(round(right * w)))]


def region_hashes(g: np.ndarray):
    out = []
    for reg in REGIONS:
        sub = _crop(g, reg)
        out.append(None if sub.size < 16 or sub.std() < REGION_MIN_STD else phash_bits(sub))
    return out


def _region_table():
    """For each turn t and each region k of the turned picture: the region of the original
    picture it shows (regions are closed under the 8 turns)."""
    h, w = 40, 60
    table = []
    for t in DIHEDRAL:
        row = []
        th, tw = dihedral(np.zeros((h, w)), *t).shape
        for reg in REGIONS:
            m = np.zeros((th, tw), bool)
            tt, ll, bb, rr = reg
            m[int(tt * th):int(round(bb * th)), int(ll * tw):int(round(rr * tw))] = True
            from .decode import inverse
            mo = dihedral(m, *inverse(t))
            rows, cols = np.where(mo.any(1))[0], np.where(mo.any(0))[0]
            box = (rows[0] / h, cols[0] / w, (rows[-1] + 1) / h, (cols[-1] + 1) / w)
            j = min(range(len(REGIONS)), key=lambda i: sum(abs(a - b) for a, b in zip(REGIONS[i], box)))
            row.append(j)
        table.append(row)
    return table


_REGION_OF = _region_table()


def fingerprints(a: np.ndarray) -> dict:
    """All fingerprints of a displayed RGB array: {'hashes': [[int|None]*5]*8, 'std', 'detail', 'flat'}.
    hashes[o] are the region hashes of the picture turned by DIHEDRAL[o]; each region is resized
    to 32x32 once and the thumbnail turned (turning commutes with the resize)."""
    g = grey(a)
    std, detail = flatness(g)
    thumbs, ok = [], []
    for reg in REGIONS:
        sub = _crop(g, reg)
        good = sub.size >= 16 and sub.std() >= REGION_MIN_STD
        ok.append(good)
        thumbs.append(resize_f(sub, (32, 32)) if good else np.zeros((32, 32), np.float32))
    stack, where = [], []
    for o, t in enumerate(DIHEDRAL):
        for k in range(len(REGIONS)):
            j = _REGION_OF[o][k]
            if ok[j]:
                stack.append(dihedral(thumbs[j], *t))
                where.append((o, k))
    hashes = [[None] * len(REGIONS) for _ in DIHEDRAL]
    if stack:
        for (o, k), h in zip(where, _hash_thumbs(np.stack(stack))):
            hashes[o][k] = h
    return {"hashes": hashes, "std": std, "detail": detail,
            "flat": bool(std < FLAT_STD or detail < FLAT_DETAIL), "thumb": thumbnail(g)}


def thumbnail(g: np.ndarray) -> np.ndarray:
    """THUMB_SIDE x THUMB_SIDE grey (uint8) of a displayed grey picture, whatever its aspect ratio.

    Why: pHash is garbage when a bit flip garbles most of a picture, and unstable on smooth
    gradients (its DCT signs are noise there). The thumbnail keeps the rows in order, so a damaged
    stream can still be searched by its intact top, and a smooth picture by its actual shading
    (``CandidateIndex.thumbnail_search``). Turning commutes with the resize, as for the hashes."""
    return np.clip(np.rint(resize_f(g, (THUMB_SIDE, THUMB_SIDE))), 0, 255).astype(np.uint8)


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

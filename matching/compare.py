"""Verification of one pair of reduced, displayed RGB arrays: orientation, global and local
difference, damaged regions on each side. Pure numpy/scipy."""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .decode import DIHEDRAL, compose, dihedral, inverse
from .fingerprint import grey

COMPARE_SIDE = 256
ASPECT_TOL = 0.08       # |log aspect ratio| difference allowed between the two sides
FLAT_ROW_STD = 2.0      # a row/column this uniform is flat ...
TEXTURED_ROW_STD = 6.0  # ... and is damage when the other side has this much texture there
NEAR_FLAT_STD = 6.0     # a row this uniform in every part is nearly flat (lossy-coded flat band) ...
STRONG_ROW_STD = 12.0   # ... and is damage where the other side has this much texture almost everywhere


def _resize(a: np.ndarray, size) -> np.ndarray:
    """uint8/float RGB -> float32 RGB of size (w, h)."""
    w, h = size
    if a.shape[1] == w and a.shape[0] == h:
        return a.astype(np.float32)
    out = np.empty((h, w, a.shape[2]), np.float32)
    for c in range(a.shape[2]):
        im = Image.fromarray(np.ascontiguousarray(a[..., c], dtype=np.float32), mode="F")
        out[..., c] = np.asarray(im.resize(size, Image.Resampling.BOX if (a.shape[1] >= 2 * w) else Image.Resampling.BILINEAR))
    return out


def _norm_small(a, size=(40, 40)):
    g = grey(_resize(a, size))
    return (g - g.mean()) / (g.std() + 8.0)


def own_valid(A: np.ndarray, orient=(0, False), damaged=False, size=(40, 40)):
    """Mask (size) of the part of a displayed image that can be trusted on its own: full-width flat
    runs removed, and for a file with decoder errors only the first third of its stored stream."""
    g = grey(_resize(A, size))
    m = np.ones(g.shape, bool)
    gs = grey(A)
    for axis in (0, 1):
        flat = gs.std(axis=1 - axis) < 2.0
        if flat.any():
            idx = np.linspace(0, len(flat), g.shape[axis] + 1).astype(int)
            f = np.array([flat[idx[i]:max(idx[i] + 1, idx[i + 1])].mean() > 0.3 for i in range(g.shape[axis])])
            if axis == 0:
                m[f, :] = False
            else:
                m[:, f] = False
    if damaged:
        inv = inverse(orient)
        ms = dihedral(np.zeros(g.shape, bool), *inv).copy()
        ms[: max(3, int(0.35 * ms.shape[0])), :] = True
        m &= dihedral(ms, *orient)
    return m


def orientation_scores(A: np.ndarray, B: np.ndarray, a_valid=None, b_valid=None):
    """[(score, (rot, flip))] for every turn of B whose aspect ratio fits A, best first.
    Score: robust absolute difference of contrast-normalised 40x40 greys over the part both
    sides trust (``a_valid``/``b_valid`` 40x40 masks in each side's display frame)."""
    la = np.log(A.shape[1] / A.shape[0])
    a0 = grey(_resize(A, (40, 40)))
    out = []
    for t in DIHEDRAL:
        Bt = dihedral(B, *t)
        if abs(np.log(Bt.shape[1] / Bt.shape[0]) - la) > ASPECT_TOL:
            continue
        b0 = grey(_resize(Bt, (40, 40)))
        v = np.ones(a0.shape, bool)
        if a_valid is not None:
            v &= a_valid
        if b_valid is not None:
            v &= dihedral(b_valid, *t)
        if v.sum() < 40:
            v = np.ones(a0.shape, bool)
        a = (a0 - a0[v].mean()) / (a0[v].std() + 8.0)
        b = (b0 - b0[v].mean()) / (b0[v].std() + 8.0)
        d = np.abs(a - b)[v]
        out.append((float(np.median(d) * 0.5 + d.mean() * 0.5), t))
    out.sort(key=lambda x: x[0])
    return out


def _seg_stats(g: np.ndarray, nseg: int = 8):
    """Per row: std and mean of each of ``nseg`` segments along the row."""
    h, w = g.shape
    edges = np.linspace(0, w, nseg + 1).astype(int)
    std = np.stack([g[:, edges[i]:max(edges[i] + 1, edges[i + 1])].std(axis=1) for i in range(nseg)], 1)
    mean = np.stack([g[:, edges[i]:max(edges[i] + 1, edges[i + 1])].mean(axis=1) for i in range(nseg)], 1)
    return std, mean


def _band_rows(g, other, grow, skip=None):
    """Rows of g that are one flat colour across the whole width where ``other`` has texture
    across most of the width (an edit or an object in one place does not count)."""
    n = g.shape[0]
    if skip is not None:  # columns already known to be damaged are ignored
        keep = ~skip
        if keep.sum() < 8:
            return np.zeros(n, bool)
        g, other = g[:, keep], other[:, keep]
    sd, mn = _seg_stats(g)
    so, mo = _seg_stats(other)
    flat = (sd < FLAT_ROW_STD).all(1) & ((mn.max(1) - mn.min(1)) < 6)
    # the other side shows something else along most of the run: texture or another colour
    # (an edit or an object in one place does not make a flat run of the other side "damage")
    changed = (np.abs(mn - mo) > 10) | (so > TEXTURED_ROW_STD)
    bad = flat & (changed.mean(1) >= 0.6)
    # or: one exactly constant colour across the whole width (a decoder fill or a painted band),
    # where the other side varies (smooth but real picture content)
    exact = (sd < 0.6).all(1) & ((mn.max(1) - mn.min(1)) < 1.5)
    varies = ((so > 1.5).mean(1) >= 0.6) & ((np.abs(mn - mo) > 2).mean(1) >= 0.6)
    bad |= exact & varies
    # or: a nearly flat run that lossy coding has speckled (a painted band in a lossy JPEG 2000 or
    # JPEG rings at a few grey levels), where the other side has strong texture in almost every
    # part of the row, many times the run's own residue (reframing or resampling keep texture)
    near = (sd < NEAR_FLAT_STD).all(1) & ((mn.max(1) - mn.min(1)) < 6)
    strong = so > np.maximum(STRONG_ROW_STD, 4.0 * sd)
    bad |= near & (strong.mean(1) >= 0.75)
    out = np.zeros(n, bool)
    lab, k = ndimage.label(bad)
    for i in range(1, k + 1):
        idx = np.where(lab == i)[0]
        if len(idx) < max(2, int(0.02 * n)):
            continue
        pad = max(2, int(round(grow * n)))
        out[max(0, idx[0] - pad):min(n, idx[-1] + 1 + pad)] = True
    return out


def _flat_masks(ga, gb, grow_a, grow_b):
    """Masks of damage bands on each side: full-width (or full-height) runs of one flat colour
    where the other side shows texture. Rows first; columns are then judged outside row bands."""
    ra = _band_rows(ga, gb, grow_a)
    rb = _band_rows(gb, ga, grow_b)
    rows_bad = ra | rb
    ca = _band_rows(ga.T, gb.T, grow_a, skip=rows_bad)
    cb = _band_rows(gb.T, ga.T, grow_b, skip=rows_bad)
    ma = ra[:, None] | ca[None, :]
    mb = rb[:, None] | cb[None, :]
    return ma, mb


def bbox(mask: np.ndarray):
    if not mask.any():
        return None
    h, w = mask.shape
    rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
    return {"top": round(float(rows[0]) / h, 3), "left": round(float(cols[0]) / w, 3),
            "bottom": round(float(rows[-1] + 1) / h, 3), "right": round(float(cols[-1] + 1) / w, 3)}


def _progressive_damage(D, valid, frame, thr, persist=None, wide=None):
    """Damage that starts at some row of a stored stream and makes the rest unreliable
    (truncation, bit flips: the decoder loses its place). D, valid are in the clean-up display
    frame; ``frame`` turns the damaged side's stored pixels into that frame. Returns a mask
    (display frame) of everything from the first clearly bad block of rows on, or None."""
    inv = inverse(frame)
    Ds, vs = dihedral(D, *inv), dihedral(valid, *inv)
    h = Ds.shape[0]
    nb = min(32, h)
    edges = np.linspace(0, h, nb + 1).astype(int)
    vals = np.full(nb, np.nan)
    worst = np.full(nb, np.nan)
    width = np.full(nb, np.nan)
    for i in range(nb):
        v = vs[edges[i]:edges[i + 1]]
        d = Ds[edges[i]:edges[i + 1]]
        if v.sum() > 0.3 * v.size:
            vals[i] = float(d[v].mean())
            # worst 1/8 of the row block (damage confined to a few MCUs)
            col = np.where(v, d, np.nan)
            nseg = 8
            ce = np.linspace(0, d.shape[1], nseg + 1).astype(int)
            segs = [np.nanmean(col[:, ce[k]:ce[k + 1]]) if np.isfinite(col[:, ce[k]:ce[k + 1]]).any() else 0
                    for k in range(nseg)]
            worst[i] = np.nanmax(segs)
            width[i] = float(np.mean(np.array(segs) > thr))
    for j in range(nb):
        if np.isnan(vals[j]):
            continue
        prev = worst[:j][~np.isnan(worst[:j])]
        base = float(np.median(prev)) if len(prev) >= 3 else 0.0
        if worst[j] > max(thr, 4 * base):
            if persist is not None:
                rest = worst[j:][~np.isnan(worst[j:])]
                wrest = width[j:][~np.isnan(width[j:])]
                if not (len(rest) and np.mean(rest > thr) >= persist and np.mean(wrest) >= wide
                        and j >= 0.3 * nb):
                    return None
            ms = np.zeros_like(vs)
            ms[edges[max(0, j - 1)]:, :] = True  # damage may begin inside the block before
            return dihedral(ms, *frame)
    return None


def _stream_step(D, valid, frame, texture, *, base_max=0.012, floor=0.02, factor=6.0, min_rest=3):
    """A sequential stream that lost its place without decoder complaint (a flipped bit that still
    decodes: the rest of the stream comes out shifted and re-coloured). Signature: the stored top
    agrees tightly with the match, then from one block of rows to the end of the stream every part
    of every row block differs clearly, flat areas included (a colour/DC shift; reframing or a
    resampled copy only differ where the picture has texture, an edit only in one place).
    D, valid, texture are in the clean-up display frame. Returns the damaged mask or None."""
    inv = inverse(frame)
    Ds, vs, Ts = dihedral(D, *inv), dihedral(valid, *inv), dihedral(texture, *inv)
    h, w = Ds.shape
    nb, nseg = min(32, h), 8
    if w < nseg:
        return None
    edges = np.linspace(0, h, nb + 1).astype(int)
    ce = np.linspace(0, w, nseg + 1).astype(int)
    mean = np.full(nb, np.nan)
    segmin = np.full(nb, np.nan)
    for i in range(nb):
        v = vs[edges[i]:edges[i + 1]]
        if v.sum() <= 0.5 * v.size:
            continue
        d = np.where(v, Ds[edges[i]:edges[i + 1]], np.nan)
        mean[i] = float(np.nanmean(d))
        segs = [np.nanmean(d[:, ce[k]:ce[k + 1]]) for k in range(nseg) if np.isfinite(d[:, ce[k]:ce[k + 1]]).any()]
        segmin[i] = float(min(segs)) if len(segs) >= nseg - 1 else np.nan
    start = int(np.ceil(0.3 * nb))
    for j in range(start, nb - min_rest + 1):
        top = mean[:j][np.isfinite(mean[:j])]
        if len(top) < start:
            continue
        base = float(np.median(top))
        if base > base_max:
            return None  # the top does not match tightly: not the same stream
        thr = max(floor, factor * base)
        rest = segmin[j:]
        if np.isnan(rest).mean() > 0.2 or not (rest[np.isfinite(rest)] >= thr).all():
            continue
        # flat parts of the damaged rows differ too (texture-only differences are resampling/reframing)
        ms = np.zeros_like(vs)
        ms[edges[j]:, :] = True
        sel = ms & vs
        t = Ts[sel]
        flat = t <= np.percentile(t, 40)
        if flat.sum() < 0.2 * sel.sum() or float(Ds[sel][flat].mean()) < 0.75 * thr:
            return None
        # the damage begins where the difference first rises clearly above the intact top
        k = j
        while k > 1 and np.isfinite(mean[k - 1]) and mean[k - 1] >= max(0.5 * floor, 3 * base):
            k -= 1
        ms[edges[max(0, k - 1)]:, :] = True  # damage may begin inside the block before
        return dihedral(ms, *frame)
    return None


def compare_arrays(A: np.ndarray, B: np.ndarray, *, a_orient=(0, False), b_orient=(0, False),
                   a_damaged=False, b_damaged=False, orientation=None, block_thr=0.06,
                   a_stream_check=False):
    """Compare clean-up A with match B (both displayed, uint8 RGB).
    ``a_orient``/``b_orient``: transform from each side's stored pixels to its display (EXIF), used
    to follow damage along the stored stream. Returns a dict of metrics or None when no turn of
    B has A's aspect ratio."""
    if orientation is None:
        scores = orientation_scores(A, B, own_valid(A, a_orient, a_damaged), own_valid(B, b_orient, b_damaged))
        if not scores:
            return None
        orient_score, t = scores[0]
        second = scores[1][0] if len(scores) > 1 else 9.0
    else:
        t, orient_score, second = orientation, 0.0, 9.0
    Bt = dihedral(B, *t)
    side = min(COMPARE_SIDE, max(A.shape[:2]), max(Bt.shape[:2]))
    s = side / max(A.shape[:2])
    size = (max(8, round(A.shape[1] * s)), max(8, round(A.shape[0] * s)))
    a = _resize(A, size)
    b = _resize(Bt, size)
    ga, gb = grey(a), grey(b)
    band_a, band_b = _flat_masks(ga, gb, 0.07 if a_damaged else 0.05, 0.07 if b_damaged else 0.05)
    sig = max(0.8, min(size) / 160)
    ab = ndimage.gaussian_filter(a, (sig, sig, 0))
    bb = ndimage.gaussian_filter(b, (sig, sig, 0))
    D = np.abs(ab - bb).mean(axis=2) / 255.0
    valid = ~(band_a | band_b)
    prog_a = prog_b = None
    if a_damaged and valid.any():
        prog_a = _progressive_damage(D, valid, a_orient, block_thr)
        if prog_a is not None:
            valid &= ~prog_a
    stream_a = False
    if a_stream_check and not a_damaged and valid.any():
        # a sequential stream damaged without decoder complaint (bit flips that still decode):
        # an intact top, then wide, persistent garbage to the end of the stream
        prog_a = _progressive_damage(D, valid, a_orient, 0.08, persist=0.8, wide=0.5)
        if prog_a is None:
            gy, gx = np.gradient(gb)
            prog_a = _stream_step(D, valid, a_orient, np.hypot(gx, gy) / 255.0)
        if prog_a is not None:
            valid &= ~prog_a
            stream_a = True
    if b_damaged and valid.any():
        prog_b = _progressive_damage(D, valid, compose(b_orient, t), block_thr)
        if prog_b is not None:
            valid &= ~prog_b
    coverage = float(valid.mean())
    intact_std = float(gb[valid].std()) if valid.any() else 0.0
    if valid.sum() < 16:
        glob = local = robust = 1.0
    else:
        glob = float(D[valid].mean())
        win = max(3, int(round(0.06 * min(size))))
        num = ndimage.uniform_filter(np.where(valid, D, 0.0), win, mode="constant")
        den = ndimage.uniform_filter(valid.astype(np.float64), win, mode="constant")
        ok = den > 0.95
        wins = (num[ok] / den[ok]) if ok.any() else np.array([glob])
        local = float(wins.max())
        robust = float(np.percentile(wins, 90))
    # low-resolution comparison of the valid part (blur-tolerant: for damaged, blurred decodes)
    small = (max(4, size[0] // 8), max(4, size[1] // 8))
    a8, b8 = _resize(ab, small), _resize(bb, small)
    v8 = _resize(valid[..., None].astype(np.float32), small)[..., 0] > 0.99
    lowres = float((np.abs(a8 - b8).mean(axis=2)[v8] / 255).mean()) if v8.any() else 1.0
    dmg_a = band_a | (prog_a if prog_a is not None else False)
    dmg_b = band_b | (prog_b if prog_b is not None else False)
    return {
        "rotation": int(t[0]), "flipped": bool(t[1]), "orient_score": orient_score,
        "orient_margin": float(second - orient_score),
        "diff_score": glob, "local_score": local, "robust_local": robust, "lowres": lowres, "coverage": coverage, "intact_std": intact_std,
        "size": size, "band_a": float(band_a.mean()), "band_b": float(band_b.mean()),
        "region_a": bbox(np.asarray(dmg_a)) if np.any(dmg_a) else None,
        "region_b": bbox(np.asarray(dmg_b)) if np.any(dmg_b) else None,
        "progressive_a": prog_a is not None, "progressive_b": prog_b is not None, "stream_a": stream_a,
        "valid": valid,   # (in memory) the part both sides trust, A's display frame: the proof keeps to it
    }

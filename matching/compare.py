"""Verification of one pair of reduced, displayed RGB arrays: orientation, global and local
difference, damaged regions on each side. Pure numpy/scipy."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from . import thresholds as _thresholds
from .decode import DECODER_FILL, DIHEDRAL, aspect_fits, compose, dihedral, inverse
from .fingerprint import chroma, grey
from .thresholds import Thresholds


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


def _grey_small(a: np.ndarray, size=(40, 40)) -> np.ndarray:
    """``grey(_resize(a, size))`` to float32 rounding: the grey made first, then reduced, one channel
    instead of three (the turn score reduces the kept picture at each of eight turns: ~3 ms a screen)."""
    g = grey(a) if a.ndim == 3 else np.asarray(a, np.float32)
    return _resize(g[..., None], size)[..., 0]


def _norm_small(a, size=(40, 40)):
    g = grey(_resize(a, size))
    return (g - g.mean()) / (g.std() + 8.0)


def own_valid(A: np.ndarray, orient=(0, False), damaged=False, size=(40, 40), T: Thresholds | None = None):
    """Mask (size) of the part of a displayed image that can be trusted on its own: full-width flat
    runs removed, and for a file with decoder errors only the first third of its stored stream."""
    T = T or _thresholds.current()
    shape = (size[1], size[0])   # the mask's (a resized grey's shape: nothing of its values is read)
    m = np.ones(shape, bool)
    gs = grey(A)
    for axis in (0, 1):
        flat = gs.std(axis=1 - axis) < T.own_flat_std
        if flat.any():
            idx = np.linspace(0, len(flat), shape[axis] + 1).astype(int)
            # each part's share of flat lines (at least one line a part), from running counts: the
            # same count over the same length as each part's own mean, in one pass
            stop = np.minimum(np.maximum(idx[:-1] + 1, idx[1:]), len(flat))
            run = np.concatenate(([0], np.cumsum(flat)))
            f = (run[stop] - run[idx[:-1]]).astype(np.float64) / (stop - idx[:-1]) > 0.3
            if axis == 0:
                m[f, :] = False
            else:
                m[:, f] = False
    if damaged:
        inv = inverse(orient)
        ms = dihedral(np.zeros(shape, bool), *inv).copy()
        ms[: max(3, int(T.damaged_trusted_top * ms.shape[0])), :] = True
        m &= dihedral(ms, *orient)
    return m


def turn_fits(a_shape: tuple, b_shape: tuple, turn: tuple, aspect_tol: float) -> bool:
    """B (array shape ``b_shape``) turned by ``turn`` has A's aspect ratio within ``aspect_tol`` (in
    log ratio): the one rule by which a turn may be screened or proven at all. Why every reading of a
    pair keeps to it: the screen and the proof bring B to A's size, so a turn that does not fit
    squashes B, and a white top squashed is still a white top (a copy cut early, read upright against
    another picture 18 % off its aspect ratio, "agreed up to the damage"). ``decode.aspect_fits`` on
    the two pictures' shapes."""
    return bool(aspect_fits(np.log(a_shape[1] / a_shape[0]), np.log(b_shape[1] / b_shape[0]), turn, aspect_tol))


def orientation_scores(A: np.ndarray, B: np.ndarray, a_valid=None, b_valid=None, aspect_tol: float | None = None):
    """[(score, (rot, flip))] for every turn of B whose aspect ratio fits A (``turn_fits``), best first.
    Score: robust absolute difference of contrast-normalised 40x40 greys over the part both
    sides trust (``a_valid``/``b_valid`` 40x40 masks in each side's display frame)."""
    if aspect_tol is None:
        aspect_tol = _thresholds.current().aspect_tol
    a0 = _grey_small(A)
    out = []
    gb = grey(B)
    for t in DIHEDRAL:
        if not turn_fits(A.shape, B.shape, t, aspect_tol):
            continue
        b0 = _grey_small(dihedral(gb, *t))
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
    if w >= nseg:
        # every segment at least a pixel wide: whole-array passes (two-pass variance, in float64)
        # instead of 2 x nseg calls over column slices
        lens = np.diff(edges)
        x = g.astype(np.float64)
        mean = np.add.reduceat(x, edges[:-1], axis=1) / lens
        dev = x - np.repeat(mean, lens, axis=1)
        return np.sqrt(np.add.reduceat(dev * dev, edges[:-1], axis=1) / lens), mean
    std = np.stack([g[:, edges[i]:max(edges[i] + 1, edges[i + 1])].std(axis=1) for i in range(nseg)], 1)
    mean = np.stack([g[:, edges[i]:max(edges[i] + 1, edges[i + 1])].mean(axis=1) for i in range(nseg)], 1)
    return std, mean


def _closing3(x: np.ndarray) -> np.ndarray:
    """``ndimage.binary_closing(x, np.ones(3, bool))`` of a 1-D mask, value for value (outside the
    mask counts as False: the first and last samples are never set), by shifted slices: the
    general filter's call costs more than the work on a screen's few hundred rows."""
    x = np.asarray(x, bool)
    d = x.copy()
    d[1:] |= x[:-1]
    d[:-1] |= x[1:]
    e = d.copy()
    e[1:] &= d[:-1]
    e[:-1] &= d[1:]
    e[:1] = False
    e[-1:] = False
    return e


def _opening2(x: np.ndarray) -> np.ndarray:
    """``ndimage.binary_opening(x, np.ones(2, bool))`` of a 1-D mask, value for value: its runs of
    2 samples or more."""
    x = np.asarray(x, bool)
    e = np.zeros_like(x)
    e[1:] = x[1:] & x[:-1]
    d = e.copy()
    d[:-1] |= e[1:]
    return d


def _runs(x: np.ndarray) -> list:
    """The indices of each run of a 1-D mask, in order: ``np.where(lab == i)[0]`` for each label
    ``i`` of ``ndimage.label(x)``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], np.asarray(x, bool), [False])).astype(np.int8)))
    return [np.arange(a, b) for a, b in zip(edges[0::2], edges[1::2])]


def _ragged_edges_joined(runs: list, long: int) -> list:
    """Runs of rows, each single row one row away from a run of ``long`` rows or more joined to it
    (with the row between). Why: a lossy coder rings along a band's edge, so the first rows of a grey
    band in an 8:1 JPEG 2000 were flat, not flat, flat, not flat, then flat for 37 rows: three runs,
    over ``max_bands``, read as the picture's own pattern, and the banded kept copy of the moon was
    "different" (seed 1202). A pattern's runs (the white gaps between lines of small text) are
    separated by lines of text, not one row, from each other, and none of them is long."""
    runs = list(runs)
    joined = True
    while joined:
        joined = False
        for i in range(len(runs) - 1):
            a, b = runs[i], runs[i + 1]
            if b[0] - a[-1] == 2 and min(len(a), len(b)) == 1 and max(len(a), len(b)) >= long:
                runs[i:i + 2] = [np.arange(a[0], b[-1] + 1)]
                joined = True
                break
    return runs


def _long_runs(rows: np.ndarray, T: Thresholds) -> np.ndarray:
    """The rows of ``rows`` in runs of ``loose_band`` of the picture and 4 rows at least, a row's
    gap in a run bridged (one more part of a run rang over its limit)."""
    out = np.zeros_like(rows)
    for idx in _runs(_closing3(rows)):
        if len(idx) >= max(4, int(T.loose_band * len(rows))):
            out[idx] = True
    return out


def _level_band(sd, mn, mo, T: Thresholds) -> np.ndarray:
    """``_band_rows``' level rule: rows (in runs of ``_long_runs``) one level across (``level_band_range``), nearly
    flat (``level_band_std``), off the other side's level by ``level_band_mean`` one way along
    ``changed_share`` of the row, where ``level_band_edge`` rows above and below the run, past as many
    rows of its edge, are at it. Asked of the kept side only (``_band_rows``' ``level_fill``): where both runs
    are flat, which of them was filled is not known, and read on the copy's side it made the good copy the
    damaged one, which a curator may delete (a copy's plain white run beside a kept JPEG 2000's fill at 207)."""
    n = sd.shape[0]
    off = mn - mo
    one_level = (sd.max(1) < T.level_band_std) & ((mn.max(1) - mn.min(1)) < T.level_band_range)
    away = (((off > T.level_band_mean).mean(1) >= T.changed_share)
            | ((off < -T.level_band_mean).mean(1) >= T.changed_share))
    out = np.zeros(n, bool)
    k = T.level_band_edge
    for idx in _runs(_long_runs(one_level & away, T)):
        # (past k rows each way, where a coder's ringing blends the fill's edge into the picture)
        above, below = np.abs(off[max(0, idx[0] - 2 * k):max(0, idx[0] - k)]), np.abs(off[idx[-1] + 1 + k:idx[-1] + 1 + 2 * k])
        if len(above) == k and len(below) == k and np.median(above) <= T.level_band_agree \
                and np.median(below) <= T.level_band_agree:
            out[idx] = True
    return out


def _band_rows(g, other, grow, T: Thresholds, skip=None, level_fill: bool = False):
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
    # flat: this uniform in every part; or in most parts, in a band of ``loose_band`` rows at least,
    # where a small JPEG's 8x8 blocks straddle the band's edges (a 10-row band in a 102 px copy rang
    # at 2.3-3.0 in a part or two of each row; the white gaps between lines of 64 px text pages
    # rang so too, and are not bands)
    level = (mn.max(1) - mn.min(1)) < T.flat_row_range
    flat = (sd < T.flat_row_std).all(1) & level
    near = (sd < T.near_flat_std).all(1) & level   # nearly flat (also the speckled-run rule below)
    loose = ((sd < T.flat_row_std).mean(1) >= T.flat_share) & near
    # the other side shows something else along most of the run: texture or another colour
    # (an edit or an object in one place does not make a flat run of the other side "damage")
    changed = (np.abs(mn - mo) > T.changed_mean) | (so > T.textured_row_std)
    other_shows = changed.mean(1) >= T.changed_share
    bad = flat & other_shows
    # (a loose run may skip a row: one more part of it rang over the limit)
    bad |= _long_runs(loose & other_shows, T)
    # or: one exactly constant colour across the whole width (a decoder fill or a painted band),
    # where the other side varies (smooth but real picture content)
    exact = (sd < T.exact_row_std).all(1) & ((mn.max(1) - mn.min(1)) < T.exact_row_range)
    # (varies: texture in its parts, or a run of colours across them: a smooth gradient of a
    # motion-blurred clock under a band of the kept TIFF was 0.5-1.9 in each part, 20 levels across)
    varies = ((((so > T.varies_std).mean(1) >= T.changed_share) | ((mo.max(1) - mo.min(1)) > T.varies_range))
              & ((np.abs(mn - mo) > T.varies_mean).mean(1) >= T.changed_share))
    bad |= exact & varies
    # or: a nearly flat run that lossy coding has speckled (a painted band in a lossy JPEG 2000 or
    # JPEG rings at a few grey levels), where the other side has strong texture in almost every
    # part of the row, many times the run's own residue (reframing or resampling keep texture)
    strong = so > np.maximum(T.strong_row_std, T.strong_ratio * sd)
    bad |= near & (strong.mean(1) >= T.strong_share)
    # or: a run of rows nearly one colour within a lossy coder's speckle, where the other side is
    # another colour altogether along the row (a grey band in an 8:1 JPEG 2000 of coins speckled to
    # 7.2 in a part, 90-106 grey levels off the copy's dark background and coins: "different")
    # (not where the other side's row is as uniform: then which of two flat runs is the band is the
    # exact rule's to tell; a copy of a cell's smooth background beside the kept TIFF's band was one)
    def uniform(sd_, mn_, span=T.speckled_band_range):
        return (sd_ < T.speckled_band_std).all(1) & ((mn_.max(1) - mn_.min(1)) < span)
    # (the run's parts' means may span a share of its offset from the other side, where that is wider: a
    # coder's ringing moves a fill by a share of the contrast at its edges. A grey band in an 8:1 JPEG 2000
    # of a 100 px silhouette, 128 between black and white, spanned 10-12 levels beside them: the good copy of
    # a damaged kept picture was "different")
    ringing = np.maximum(T.speckled_band_range, T.speckled_band_ringing * np.median(np.abs(mn - mo), axis=1))
    speckled = (uniform(sd, mn, ringing) & ~uniform(so, mo)
                & ((np.abs(mn - mo) > T.speckled_band_mean).mean(1) >= T.changed_share))
    bad |= _long_runs(speckled, T)
    # or: a run of rows nearly one colour within a lossy coder's speckle, where the other side has
    # texture or another colour along the row, and several times this side's own residue in most
    # parts (muted_ratio): a grey band in an 8:1 JPEG 2000 of grass (its speckle 1-7 grey levels,
    # the grass 11-25, at a mean 20-40 off) was "different" between the strong and speckled rules
    # (not where the other side's row is as uniform: a flat area recoloured is an edit, as above)
    # (its median residue within the speckle, its parts' residues and means may reach or span muted_spread x
    # that median where this is more than the speckled rule's limits: in a small picture a part is a few
    # pixels, and a coder's ringing moves them. A grey band in an 8:1 JPEG 2000 of an 80x60 hillshade rang at
    # 3.9-5.8 with its parts' means 10.4-11.1 apart, one of a 96x75 crop of coins at 4.9-5.4 with a part at
    # 8.1-8.5, beside the copies' 15-90: the good copies of damaged kept pictures were "different". At 4x,
    # 36 of 40 such bands in 80x60 pictures of noise are found (19 at 3x), and no row outside them)
    med = np.median(sd, axis=1)
    muted_level = T.muted_spread * med
    muted_uniform = ((med < T.speckled_band_std)
                     & (sd.max(1) < np.maximum(T.speckled_band_std, muted_level))
                     & ((mn.max(1) - mn.min(1)) < np.maximum(T.speckled_band_range, muted_level)))
    muted = (muted_uniform & ~uniform(so, mo) & other_shows
             & (np.median(sd / np.maximum(so, 1e-3), axis=1) <= T.muted_ratio))
    bad |= _long_runs(muted, T)
    # or: a run of rows one level across the whole width, nearly flat (a fill a lossy coder kept flat),
    # where the other side lies off that level the same way along the row and at it just above and below
    # the run: a fill at nearly the picture's own level there (a grey band in an 8:1 JPEG 2000 of the
    # coins' plain background, 128 over 121, speckled to 0.3-1.9 where the copy's rows have 1-2.4: a safe
    # duplicate; the rules above want texture or another colour on the other side)
    # (the kept side's only: where both runs are nearly flat, which was filled is not sure, and a fill read
    # on the copy's side makes the good copy the damaged one, which a curator may delete)
    level = _level_band(sd, mn, mo, T) if level_fill else np.zeros(n, bool)
    bad |= level
    out = np.zeros(n, bool)
    # runs, a row's gap between runs of 2 rows or more bridged (a speckled band in a lossy JPEG 2000
    # misses a row or two of its own; two single flat columns of a page's margin are not one band)
    band_rows = max(2, int(T.min_band * n))   # the rows a band needs
    every = _ragged_edges_joined(_runs(_closing3(_opening2(bad)) | bad), band_rows)
    k = len(every)
    runs = [idx for idx in every if len(idx) >= band_rows]
    if k > T.max_bands:
        # many separate flat runs are the picture's own pattern: a page of text shrunk to a third,
        # its white line gaps exactly flat beside the clean-up copy's ringing, was "damaged" in
        # every gap (a match_corrupt, or too little intact to compare). Masking nothing is the
        # strict side: the runs are then compared like the rest. Every run counts, before the
        # length a band needs: the white gaps of a small text page are 1-4 rows, and the one of
        # them long enough was a "damaged" kept copy's band. But one or two runs of another
        # colour than the other side's along their rows (``speckled_band_mean``) are no gaps of a
        # pattern: a grey band over a line of a screenshot's text, amid white rows that rang, was
        # "different" (many such runs are a pattern again)
        def other_colour(idx):
            off = (np.abs(mn[idx] - mo[idx]) > T.speckled_band_mean).mean(1) >= T.changed_share
            return off.mean() >= 0.5
        runs = [idx for idx in runs if other_colour(idx)]
        if not runs or len(runs) > T.max_bands:
            return out

    def moved(idx):
        """The other side shows this flat run too, nearly flat at the same level, within ``band_shift``
        of the picture: the picture's own flat part, moved. Why: a 4 px reframe of a phantom's crop
        moved the edge of a flat column run into it, and the kept copy's run read as a band painted
        over the copy's detail: the rest agreed, so a near miss was "kept copy is damaged" (and the
        good kept copy a candidate for replacing by the reframed one)."""
        s = max(2, int(round(T.band_shift * n)))
        lo, hi = max(0, idx[0] - s), min(n, idx[-1] + 1 + s)
        level = float(np.median(mn[idx]))
        same = (so[lo:hi] < T.near_flat_std).all(1) & (np.abs(mo[lo:hi] - level) < T.flat_row_range).all(1)
        return same.sum() >= 0.5 * len(idx)
    # (a level run is not moved: the rows past its edges agree with the other side at its level)
    runs = [idx for idx in runs if not moved(idx) or level[idx].mean() >= 0.5]
    pad = max(2, int(round(grow * n)))
    for idx in runs:
        out[max(0, idx[0] - pad):min(n, idx[-1] + 1 + pad)] = True
    return out


def _beside_bands(g: np.ndarray, band: np.ndarray):
    """For each damage band of a side (whole rows, then whole columns of ``band``) and each edge of
    it inside the picture: the row (column) just outside that edge less the band's level there (its
    median over the band, per column). What ``band_step`` and ``band_goes_on`` each read."""
    for rows_g, rows in ((g, np.asarray(band.all(axis=1))), (g.T, np.asarray(band.all(axis=0)))):
        n = rows_g.shape[0]
        for idx in _runs(rows):
            level = np.median(rows_g[idx], axis=0)
            for out in (idx[0] - 1, idx[-1] + 1):
                if 0 <= out < n:
                    yield rows_g[out] - level


def band_step(g: np.ndarray, band: np.ndarray) -> float:
    """How far a side's damage bands (``_flat_masks``: whole rows or whole columns of ``band``) lie
    from the picture beside them, in grey levels: for each band and each edge of it inside the
    picture, the median over the row (column) of |the band's level - the row just outside it|; the
    largest, or 0 (no band, or one without an edge inside the picture).

    Why: where both sides are flat along the same rows, each at its own level (a kept JPEG 2000's
    grey band painted over a phantom's black background, the copy black there), each side's run is
    a "band" where the other shows another colour, and the two scores tie. A band painted or filled
    in steps away from the picture at its edge; the picture's own flat part goes on from the rows
    above it (the copy's black there is the black above it): the step tells which side it is."""
    return max((float(np.median(np.abs(d))) for d in _beside_bands(g, band)), default=0.0)


def band_goes_on(g: np.ndarray, band: np.ndarray, level_range: float) -> float:
    """How much of the picture just beside a side's bands (the row or column outside each edge
    inside the picture) lies within ``level_range`` grey levels of the band's own level: the least
    share over those edges; 0 when no band edge lies inside the picture.

    Why: where both sides are flat along the same rows, the side whose flat run is the picture's
    own flat part goes on beyond it (a phantom's black background above the rows where the kept
    copy's grey band lies: the band is the kept copy's); a flat bar repainted over picture content
    stops at it. ``band_step`` alone took a kept copy's own white banner, which steps away from the
    picture beside it too, for the band whenever the copy's repaint stepped less (23 of an attack's
    32 such pairs named the intact kept copy damaged)."""
    return min((float((np.abs(d) <= level_range).mean()) for d in _beside_bands(g, band)), default=0.0)


def _other_differs(lines: np.ndarray, other: np.ndarray, T: Thresholds) -> np.ndarray:
    """Which of a band's ``lines`` (rows of a grey) the ``other`` side is not the same along:
    ``changed_mean`` off on average, or textured (``textured_row_std``): the lines that tell a
    band's level (``band_background``, ``band_spread``)."""
    return (np.abs(lines - other).mean(1) > T.changed_mean) | (other.std(1) > T.textured_row_std)


def band_level(g: np.ndarray, other: np.ndarray, band: np.ndarray, T: Thresholds) -> float | None:
    """The level of a side's bands, read on their own lines (``band_background``'s): the median over
    the whole rows (or columns) of ``band`` along which ``g`` is flat and ``other`` is not the same of
    each such line's median; None when no line of the band is so."""
    if not band.any():
        return None
    levels = []
    for gg, oo, bb in ((g, other, band), (g.T, other.T, band.T)):
        lines = np.flatnonzero(bb.all(1))
        if not len(lines):
            continue
        gl, ol = gg[lines], oo[lines]
        own = (gl.std(1) < T.flat_row_range / 2) & _other_differs(gl, ol, T)
        levels.extend(np.median(gl[own], 1))
    return float(np.median(levels)) if levels else None


def at_decoder_fill(level: float | None, T: Thresholds, black: bool = True) -> bool:
    """A band's level is what a decoder fills a lost part with: ``decode.DECODER_FILL`` grey, or black
    (``black``), within ``fill_tol``."""
    return level is not None and (abs(level - DECODER_FILL) <= T.fill_tol or (black and level <= T.fill_tol))


def band_background(g: np.ndarray, other: np.ndarray, band: np.ndarray, T: Thresholds) -> float:
    """How much of a side's picture ``g`` outside its bands is flat (5x5 px std under
    ``flat_row_std``) at the bands' own level (within ``flat_row_range``): 0 when it has no band or
    the band is at a decoder's fill level (``decode.DECODER_FILL`` grey, or black, within
    ``fill_tol``). The band's level is read on its own lines: the whole rows (or columns) of the
    band along which ``g`` is flat (std under ``flat_row_range`` / 2) and the ``other`` side is not
    the same (``changed_mean`` off on average, or textured). A band's mask also takes in the lines
    beside it that its edges blur into, paper on a page, or text where it bridges a page's blank
    lines: an attack's black, grey and violet bars painted across pages read at the paper's level by
    the mask's median, and 20 true damaged copies were "blank space"."""
    return _background_at(g, band, band_level(g, other, band, T), T)


def _background_at(g: np.ndarray, band: np.ndarray, level: float | None, T: Thresholds) -> float:
    """``band_background`` of bands whose ``band_level`` is ``level`` (read once: the screen asks it twice)."""
    if level is None or at_decoder_fill(level, T):
        return 0.0
    mean = ndimage.uniform_filter(g, 5)
    flat = np.sqrt(np.maximum(ndimage.uniform_filter(g * g, 5) - mean * mean, 0.0)) < T.flat_row_std
    outside = ~band
    own = outside & flat & (np.abs(g - level) <= T.flat_row_range)
    return float(own.sum() / max(1, outside.sum()))


def _the_fills_lines(levels: np.ndarray) -> np.ndarray:
    """The levels of a band run's lines (in order across it) that belong to its fill: where one step
    splits them into two parts that leave under a quarter of their squared spread about one level, the
    longer part; else all. Why: a band run may reach past its fill into the picture's own flat rows beside
    it, which the other side's coding noise makes "flat where the other is not" (an 8:1 JPEG 2000's grey
    band over the lower third of a 96x75 crop of coins ran on into the coins' dark ground below it, rows 19
    grey levels apart between the quartiles: "rows of the picture", and its good copy was "different", seed
    54003). A page's lines of text alternate light and dark: no one step splits them."""
    m = np.asarray(levels, np.float64)
    n = len(m)
    if n < 4:
        return m
    total = float(((m - m.mean()) ** 2).sum())
    if total <= 0:
        return m
    cs, cs2 = np.cumsum(m), np.cumsum(m * m)
    k = np.arange(2, n - 1)                     # each part two lines at least
    left = cs2[k - 1] - cs[k - 1] ** 2 / k
    right = (cs2[-1] - cs2[k - 1]) - (cs[-1] - cs[k - 1]) ** 2 / (n - k)
    best = int(np.argmin(left + right))
    if float(left[best] + right[best]) >= 0.25 * total:
        return m
    at = int(k[best])
    return m[:at] if at >= n - at else m[at:]


def band_spread(g: np.ndarray, other: np.ndarray, band: np.ndarray, T: Thresholds) -> float:
    """How far apart the levels of a side's band lines lie, in grey levels: the median of each line
    the band was found on (each run of whole rows, or columns, less the ``band_grow`` it was widened
    by) where the ``other`` side is not the same (``changed_mean`` off on average, or textured), and
    the spread of those medians between their quartiles; 0 with fewer than two.

    Why: a fill or a painted bar is one level down all its lines (a lossy coder's speckle or ringing
    moves it a few levels); a page's small text at 15-20 % is lines each nearly uniform along the
    row, light and dark in turn, which the band finder took for a band where the other page's lines
    fall elsewhere (a 20 % table page's text rows, medians 167-250). The quartiles, not the extremes:
    a band's run may end on a line or two of the picture beside it (a kept JPEG 2000's grey band of a
    generated corpus spread 36 levels between its 10th and 90th percentiles, under 1 between its
    quartiles)."""
    meds: list = []
    for gg, oo, bb in ((g, other, band), (g.T, other.T, band.T)):
        n = gg.shape[0]
        pad = max(2, int(round(T.band_grow * n)))
        for idx in _runs(np.asarray(bb.all(1))):
            lo = idx[0] + (pad if idx[0] > 0 else 0)
            hi = idx[-1] + 1 - (pad if idx[-1] < n - 1 else 0)
            if hi <= lo:
                continue
            gl, ol = gg[lo:hi], oo[lo:hi]
            meds.extend(_the_fills_lines(np.median(gl[_other_differs(gl, ol, T)], 1)))
    if len(meds) < 2:
        return 0.0
    lo_, hi_ = np.percentile(meds, [25, 75])
    return float(hi_ - lo_)


def _stream_views(valid, band_a, band_b) -> list:
    """The parts a stream's damage is looked for over, in turn, each with the rows flat on both sides
    it lets in (or None): what both trust; then, where A has flat bands, with them (a flip that decodes
    to one flat colour from mid-row on); then, where both sides are flat in the same rows, with those
    rows too. Why the last: a picture's own flat part (a plain sky, a blank margin) is flat on both
    sides, at levels a flipped DC has moved apart; masked, the rows left below the drift's start were
    too few to carry it (a 128 px crop of a staircase 17 levels lighter from its 96th row on, its bottom
    12 rows plain on both sides: "different", seed 53005). Damage found there must reach
    ``drift_min_rest`` row blocks beyond those rows: two flat runs at two levels alone are as much the
    kept copy's grey band over black as the copy's drift (the caller's test)."""
    views: list = [(valid, None)]
    if band_a.any():
        views.append((~band_b, None))
    shared = band_a & band_b
    if shared.any():
        views.append((valid | shared, shared))
    return views


def _flat_masks(ga, gb, grow_a, grow_b, T: Thresholds):
    """Masks of damage bands on each side: full-width (or full-height) runs of one flat colour
    where the other side shows texture. Rows first; columns are then judged outside row bands."""
    ra = _band_rows(ga, gb, grow_a, T)
    rb = _band_rows(gb, ga, grow_b, T, level_fill=True)
    rows_bad = ra | rb
    ca = _band_rows(ga.T, gb.T, grow_a, T, skip=rows_bad)
    cb = _band_rows(gb.T, ga.T, grow_b, T, skip=rows_bad, level_fill=True)
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


def _cell_sums(D: np.ndarray, valid: np.ndarray, edges, cols):
    """Sum of D over the trusted pixels, and their count, in each cell of the grid cut by row
    ``edges`` and column ``cols`` (an empty cell: 0 and 0; ``cols`` ends at D's width). In float64:
    each row summed over the columns' parts first, then running sums down those few columns, so
    only a few array passes over D (the per-cell ``nanmean`` loops this replaced were half of the
    screen's time; a 2-D integral image of the whole map, a third of what was left)."""
    h, w = D.shape
    widths = np.diff(cols)

    def cells(x):
        if w == 0:
            parts = np.zeros((h, len(widths)), x.dtype)
        else:
            parts = np.add.reduceat(x, np.minimum(cols[:-1], w - 1), axis=1)
            parts[:, widths == 0] = 0
        run = np.zeros((h + 1, len(widths)), x.dtype)
        np.cumsum(parts, 0, out=run[1:])
        return run[edges[1:]] - run[edges[:-1]]
    return cells(np.where(valid, D, 0.0).astype(np.float64, copy=False)), cells(valid.astype(np.int64))


def _progressive_damage(D, valid, frame, thr, persist=None, wide=None, start=0.3, T: Thresholds | None = None):
    """Damage that starts at some row of a stored stream and makes the rest unreliable
    (truncation, bit flips: the decoder loses its place). D, valid are in the clean-up display
    frame; ``frame`` turns the damaged side's stored pixels into that frame. Returns a mask
    (display frame) of everything from the first clearly bad block of rows on, or None."""
    T = T or _thresholds.current()
    inv = inverse(frame)
    Ds, vs = dihedral(D, *inv), dihedral(valid, *inv)
    h, w = Ds.shape
    nb, nseg = min(32, h), 8
    edges = np.linspace(0, h, nb + 1).astype(int)
    S, C = _cell_sums(Ds, vs, edges, np.linspace(0, w, nseg + 1).astype(int))
    rows_valid = C.sum(1)
    kept = rows_valid > 0.3 * np.diff(edges) * w
    # each part's mean over its trusted pixels (a part with none counts as 0), and per row block:
    # the mean, the worst 1/8 (damage confined to a few MCUs) and the share of parts above thr
    segs = np.divide(S, C, out=np.zeros_like(S), where=C > 0)
    vals = np.where(kept, S.sum(1) / np.maximum(rows_valid, 1), np.nan)
    worst = np.where(kept, segs.max(1), np.nan)
    width = np.where(kept, (segs > thr).mean(1), np.nan)
    for j in range(nb):
        if np.isnan(vals[j]) or not worst[j] > thr:
            continue   # (not over thr: over no bar, whatever the base; its median is not needed)
        prev = worst[:j][~np.isnan(worst[:j])]
        base = float(np.median(prev)) if len(prev) >= 3 else 0.0
        if worst[j] > max(thr, 4 * base):
            if persist is not None:
                rest = worst[j:][~np.isnan(worst[j:])]
                wrest = width[j:][~np.isnan(width[j:])]
                if not (len(rest) and np.mean(rest > thr) >= persist and np.mean(wrest) >= wide
                        and j >= start * nb):
                    return None
            ms = np.zeros_like(vs)
            top = _damage_top(Ds, vs, edges[max(0, j - 1)], edges[j + 1], nseg, thr / 2)
            ms[_garbled_top(Ds, vs, top, nseg, thr / 2, T):, :] = True
            return dihedral(ms, *frame)
    return None


def _damage_top(Ds, vs, r0: int, r1: int, nseg: int, level: float, margin: int | None = None) -> int:
    """The row where damage found in rows [r0, r1) begins: the first row one of whose ``nseg``
    parts differs by more than ``level``, less ``margin`` rows (default ``DAMAGE_TOP_MARGIN``, for
    blurred pictures; 0 on unblurred ones, as the DC drift is found) (r0 when none does).

    Why by row: damage may begin inside the block of rows before the first clearly bad one, so
    that whole block used to be given up too; a flip in the last third of a copy that kept 31 %
    intact then kept 28 %, under the 30 % a verdict needs. A flip garbles a JPEG from one MCU
    on, every row of that MCU row from that column: its first row is where a part first differs."""
    if r1 - r0 < 1:
        return r0
    S, C = _cell_sums(Ds[r0:r1], vs[r0:r1], np.arange(r1 - r0 + 1), np.linspace(0, Ds.shape[1], nseg + 1).astype(int))
    worst = np.divide(S, C, out=np.zeros_like(S), where=C > 0).max(1)
    bad = np.flatnonzero(worst > level)
    margin = DAMAGE_TOP_MARGIN if margin is None else margin
    return max(r0, r0 + int(bad[0]) - margin) if len(bad) else r0


DAMAGE_TOP_MARGIN = 2   # rows above the first differing one (the screen's blur spreads a difference ~2 sigma)


def _garbled_top(Ds, vs, top: int, nseg: int, level: float, T: Thresholds) -> int:
    """The row where the damage found from row ``top`` on began, searched up to ``garbled_back``
    rows above: the first row one of whose ``nseg`` parts differs by more than ``level`` and
    ``garbled_ratio`` times what that part differs by in the trusted rows above the search (its
    own coding noise: a rocket's bright edges differ by 6 grey levels in an intact top).

    Why: a flip garbles a JPEG from one MCU on, the rest of that MCU row first (16 rows), and the
    row blocks the damage is found by see only the rows below, where every part differs. A 106 px
    copy garbled from column 140 of row 16 was trusted down to row 31, and its intact part then
    differed by 0.031 (over the 0.03 limit): "different" (seed 816). The search goes on up from each
    start it finds: several flips can garble blocks one by one above where the rest of the stream is
    garbage, and a 102 px copy's intact part kept those its first search did not reach (a window 0.105
    off, over damaged_local: "different", seed 815)."""
    cols = np.linspace(0, Ds.shape[1], nseg + 1).astype(int)
    while True:
        r0 = max(0, top - T.garbled_back)
        if top - r0 < 1 or r0 < 2:
            return top
        S0, C0 = _cell_sums(Ds[:r0], vs[:r0], np.array([0, r0]), cols)
        base = np.divide(S0[0], C0[0], out=np.zeros(nseg), where=C0[0] > 0)
        S, C = _cell_sums(Ds[r0:top], vs[r0:top], np.arange(top - r0 + 1), cols)
        vals = np.divide(S, C, out=np.zeros_like(S), where=C > 0)
        bad = np.flatnonzero((vals > np.maximum(level, T.garbled_ratio * base)).any(1))
        if not len(bad) or r0 + int(bad[0]) >= top:
            return top
        top = r0 + int(bad[0])


ROW_BLOCKS = 32   # the blocks of rows a stream's damage is read in (``_row_blocks``; fewer in a picture under 32 rows)


def _row_blocks(D, valid, inv, nseg: int = 8):
    """A map turned back to a side's stored frame (``inv``), cut as its stream runs: up to ``ROW_BLOCKS``
    blocks of rows, each in ``nseg`` parts. Returns (the map and mask as stored, the blocks' row
    edges, each part's sum and trusted-pixel count, which blocks are half trusted at least, and
    each such block's mean), or None for a picture narrower than ``nseg``."""
    Ds, vs = dihedral(D, *inv), dihedral(valid, *inv)
    h, w = Ds.shape
    if w < nseg:
        return None
    edges = np.linspace(0, h, min(ROW_BLOCKS, h) + 1).astype(int)
    S, C = _cell_sums(Ds, vs, edges, np.linspace(0, w, nseg + 1).astype(int))
    rows_valid = C.sum(1)
    kept = rows_valid > 0.5 * np.diff(edges) * w
    mean = np.where(kept, S.sum(1) / np.maximum(rows_valid, 1), np.nan)
    return Ds, vs, edges, S, C, kept, mean


def _stream_step(D, valid, frame, texture, *, base_max=0.012, floor=0.02, factor=6.0, min_rest=3,
                 start_frac=0.3, flat_share=0.75, T: Thresholds | None = None):
    """A sequential stream that lost its place without decoder complaint (a flipped bit that still
    decodes: the rest of the stream comes out shifted and re-coloured). Signature: the stored top
    agrees tightly with the match, then from one block of rows to the end of the stream every part
    of every row block differs clearly, flat areas included (a colour/DC shift; reframing or a
    resampled copy only differ where the picture has texture, an edit only in one place).
    D, valid, texture are in the clean-up display frame. Returns the damaged mask or None."""
    T = T or _thresholds.current()
    inv = inverse(frame)
    blocks = _row_blocks(D, valid, inv)
    if blocks is None:
        return None
    Ds, vs, edges, S, C, kept, mean = blocks
    Ts = dihedral(texture, *inv)
    nb, nseg = len(edges) - 1, C.shape[1]
    # the least different part of each row block, over the parts with trusted pixels (needs all
    # parts but one)
    segs = np.where(C > 0, S / np.maximum(C, 1), np.inf)
    segmin = np.where(kept & ((C > 0).sum(1) >= nseg - 1), segs.min(1), np.nan)
    start = int(np.ceil(start_frac * nb))
    # the finite means of the row blocks above j, kept sorted as j moves down: their median is
    # ``np.median``'s (the middle one, or the mean of the middle two), without a call per block
    finite = np.isfinite(mean)
    tops = sorted(float(x) for x in mean[:start][finite[:start]])
    for j in range(start, nb - min_rest + 1):
        if j > start and finite[j - 1]:
            bisect.insort(tops, float(mean[j - 1]))
        if len(tops) < start:
            continue
        n_top = len(tops)
        base = tops[n_top // 2] if n_top % 2 else (tops[n_top // 2 - 1] + tops[n_top // 2]) / 2
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
        if flat.sum() < 0.2 * sel.sum() or float(Ds[sel][flat].mean()) < flat_share * thr:
            return None
        # the damage begins where the difference first rises clearly above the intact top
        k = j
        while k > 1 and np.isfinite(mean[k - 1]) and mean[k - 1] >= max(0.5 * floor, 3 * base):
            k -= 1
        top = edges[max(0, k - 1)]   # damage may begin inside the block before
        ms[_garbled_top(Ds, vs, top, nseg, 0.5 * floor, T):, :] = True
        return dihedral(ms, *frame)
    return None


def _fine_detail(g: np.ndarray) -> np.ndarray:
    """A grey's fine detail: each pixel less the mean of its 5x5 px neighbourhood (a level or a DC
    shift leaves nothing; edges, strokes and texture remain)."""
    return g - ndimage.uniform_filter(g, 5)


def _mcu_moves(mcu: float | None, side: int, T: Thresholds) -> tuple[int, ...]:
    """The moves (screen px) a stream that lost its place may have made the rest of the picture
    take along its stored rows: whole coding units, ``mcu`` (a share of the long side) at a screen of
    long side ``side`` (the whole pixels either side of each), up to ``shift_detail_slide`` px; none
    when the unit is not known."""
    if not mcu:
        return ()
    unit = mcu * side
    # (each unit's move to the whole pixel either side: the screen's resampling puts it between them)
    return tuple(sorted({int(f(k * unit)) for k in range(1, int(T.shift_detail_slide / unit) + 1)
                         for f in (np.floor, np.ceil)} - {0}))


def _keeps_detail(damaged, ga, gb, seen, T: Thresholds, *, moves: tuple = (), frame=(0, False)):
    """``damaged`` (a mask of A's rows found shifted from one row on without decoder complaint, or
    None), kept only if A's fine detail there is the kept picture's, shifted: B's grey moved by the
    median difference over those rows (where A is not clipped) and clipped to 0..255 as a decoder
    clips (a large drift that takes a page to white takes its strokes with it), compared by
    ``_fine_detail`` over the trusted part of those rows: the mean absolute difference under
    ``shift_detail_ratio`` x the larger side's mean absolute detail (``shift_detail_floor`` grey
    levels at least); else None. ``moves``: a stream that lost its place may also have moved the
    rest along its stored rows (``frame``: A's turn from its stored pixels) by whole coding units
    (``_mcu_moves``): the best such move, either way, counts. Not any few pixels: a look-alike whose
    lower part is the kept one's, retyped a pixel or two along, passed so (a reviewer's 2 of 24).

    Why: a flipped DC bit re-levels the rest of the stream (each later block's DC is coded as a
    difference from the one before) and a stream that lost its place re-colours it, but the
    picture's edges and texture are still the picture's. The other picture of one layout is another
    level there too (a screenshot's grey or tinted panel where the kept one is white, with its own
    lines of text), named after the kept copy and agreeing above it: "clean-up copy is damaged" (of
    451 pairs of screenshots and 108 drawn forms and panels, 45 were; 27 are, by other tests). True
    flips measure 0.07-1.03 (a resized copy's detail differs from the screen's shrink of the kept
    picture by up to 0.5 before any damage: a limit relative to the rows above, where those are a
    plain margin, lost 19 of 367); such panels 1.0-1.8 (one side flat: exactly 1). Two flat parts
    hold no detail to tell, and the test stands aside (``shift_detail_floor``)."""
    if damaged is None:
        return None
    rows = damaged & seen
    if not rows.any():
        return damaged
    # the shift, read where the copy is not clipped (a drift that took most of the rest to white
    # leaves its true size only where it did not)
    inside = rows & (ga > 0.5) & (ga < 254.5)
    part = inside if int(inside.sum()) >= 64 else rows
    shift = float(np.median(ga[part] - gb[part]))
    da = _fine_detail(ga)[rows]
    detail_a = float(np.abs(da).mean())
    fb = _fine_detail(np.where(damaged, np.clip(gb + np.float32(shift), 0.0, 255.0), gb).astype(np.float32))
    along = 0 if int(frame[0]) % 180 == 90 else 1   # the stored rows' direction on A's display
    for move in (0,) + tuple(m * sign for m in moves for sign in (1, -1)):
        db = (np.roll(fb, move, axis=along) if move else fb)[rows]
        larger = max(detail_a, float(np.abs(db).mean()), T.shift_detail_floor)
        if float(np.abs(da - db).mean()) < T.shift_detail_ratio * larger:
            return damaged
    return None


DRIFT_ROWS_ALONE = 3   # row blocks a drift runs over to be read as one without beginning inside a row (proof 1.36's least)


def _dc_drift(Dy, valid, frame, T: Thresholds, min_rest: int | None = None, floor: float | None = None):
    """A flipped bit the entropy decoder recovered from without complaint: it garbles a few blocks,
    and every later block's DC, coded as a difference from the one before, carries the error. The
    rest of the stream comes out brighter or darker by a constant: a 150x100 JPEG of a cat 3.8 grey
    levels darker from a fifth of the way down, then 5.4 and 6.4 as later flips added theirs, under
    ``_stream_step``'s floor of 5 and "different". Signature: the stored top agrees in signed luma
    (``drift_base_max``), then from one block of rows to the end nearly every part of every row
    block is off by ``drift_floor`` at least, all one way (an edit is off in one place; reframing
    and resampling differ both ways, at texture). ``Dy``: the signed luma difference (0..1) of the
    unblurred pictures, A's display frame. ``min_rest``: row blocks the drift must run to the end over
    (default ``drift_min_rest``). Returns the damaged mask or None."""
    if min_rest is None:
        min_rest = T.drift_min_rest
    blocks = _row_blocks(Dy, valid, inverse(frame))
    if blocks is None:
        return None
    Ds, vs, edges, S, C, kept, mean = blocks
    nb, nseg = len(edges) - 1, C.shape[1]
    segs = np.where(C > 0, S / np.maximum(C, 1), np.nan)
    start = max(2, int(np.ceil(T.drift_start * nb)))
    least = T.drift_floor if floor is None else floor
    # what no start can pass, found at once: the share of the parts from each row block to the end
    # that are off by the least threshold one way or the other bounds every later test from above
    # (the threshold is never lower), so an intact copy (nearly every pair) is done in a few passes
    with np.errstate(invalid="ignore"):
        up, down = (segs >= least).sum(1)[::-1].cumsum()[::-1], (segs <= -least).sum(1)[::-1].cumsum()[::-1]
    n_fin = np.isfinite(segs).sum(1)[::-1].cumsum()[::-1]
    share = np.maximum(up, down) / np.maximum(n_fin, 1)
    if not (share[start:nb - min_rest + 1] >= T.drift_share).any():
        return None
    for j in range(start, nb - min_rest + 1):
        top = mean[:j][np.isfinite(mean[:j])]
        if len(top) < 2:
            continue
        base = float(np.median(np.abs(top)))
        if base > T.drift_base_max:
            return None   # the top is off already: not one stream's drift
        rest = segs[j:][np.isfinite(segs[j:])]
        if len(rest) < min_rest * nseg // 2 or np.isnan(mean[j:]).mean() > 0.2:
            continue
        sign = 1.0 if np.median(rest) > 0 else -1.0
        thr = max(least, 4 * base)
        if (sign * rest >= thr).mean() < T.drift_share:
            continue
        # the drift begins where the row blocks' signed mean first leaves the intact top's, at the
        # first row one of whose parts is off by half the threshold (the mid-row block the flip hit)
        begins = _drift_begins(sign * Ds, vs, edges, sign * mean, j, base, thr, nseg, T)
        if nb - j < DRIFT_ROWS_ALONE and not _begins_mid_row(sign * Ds, vs, begins, thr):
            # a drift over the last one or two row blocks only (drift_min_rest 2, since proof 1.37; 3
            # before) must begin at a block inside a row: off from a row's first pixel to the end is the
            # bottom strip lifted or darkened (16 rows of 256 lifted by 12 levels were "different" with 3
            # and would have been `cleanup_corrupt`)
            return None
        above = segs[:int(np.searchsorted(edges, begins, side="right")) - 1]
        above = above[np.isfinite(above)]
        if above.size and (sign * above >= thr).mean() >= T.drift_top_share:
            # the intact top's parts already off so, the same way: not a stream's error but the pair's
            # own (a page's blank paper, its chroma rounded by the copy's coding beside the kept copy's
            # loss, 1.4 levels off Cr above the text, in its margins and under it: "garbled from the
            # signature on" for a true copy of a page); a flip leaves the top as the coding made it
            return None
        ms = np.zeros_like(vs)
        ms[begins:, :] = True
        return dihedral(ms, *frame)
    return None


def _begins_mid_row(Dw, vs, begins: int, thr: float) -> bool:
    """Whether a drift found from stored row ``begins`` on begins at a block inside a row: in two
    consecutive rows from there on, the row's last sixteenth (2 px at least) is off by ``thr`` more than
    its first sixteenth, the drift's way (``Dw`` signed so). Why: a flipped DC difference shifts every
    block after the one it hit, in scan order, so the blocks before it in its row still agree (or carry
    only an earlier flip's smaller drift); a lower part of the picture lifted or darkened by an edit is
    off alike from each row's first pixel, and read as a drift it made an edited copy `cleanup_corrupt`
    (a copy a curator may delete). A flip in a row's first block is refused with it (one in as many as a
    row has blocks)."""
    h, w = Dw.shape
    q = max(2, w // 16)
    lv, rv = vs[begins:, :q], vs[begins:, -q:]
    left = np.where(lv, Dw[begins:, :q], 0.0).sum(1) / np.maximum(lv.sum(1), 1)
    right = np.where(rv, Dw[begins:, -q:], 0.0).sum(1) / np.maximum(rv.sum(1), 1)
    ok = (lv.sum(1) >= q / 2) & (rv.sum(1) >= q / 2)
    steps = ok & (right - left >= thr)
    return bool((steps[1:] & steps[:-1]).any())


def _drift_begins(Dw, vs, edges, mean_w, j: int, base: float, thr: float, nseg: int, T: Thresholds) -> int:
    """The stored row where a drift found from row block ``j`` on begins (``_dc_drift``'s, and
    ``_drift_among_garbage``'s among garbage): up the row blocks whose mean still leaves the intact
    top's (``base``), to the first row one of whose parts is off by half the threshold (the mid-row
    block the flip hit), then up the rest of its MCU row (``_garbled_top``). ``Dw``, ``mean_w``: the
    difference map and the row blocks' means, signed the drift's way (or absolute, where garbage goes
    either way); ``nseg``: the parts of a row (``_row_blocks``')."""
    k = j
    while k > 1 and np.isfinite(mean_w[k - 1]) and mean_w[k - 1] >= max(0.3 * T.drift_floor, 3 * base):
        k -= 1
    top = _damage_top(Dw, vs, edges[max(0, k - 1)], edges[j], nseg, thr / 2, margin=0)
    return _garbled_top(np.abs(Dw), vs, top, nseg, thr / 2, T)


def _drift_among_garbage(Dy, D, g, valid, frame, T: Thresholds, min_rest: int = 3):
    """Several flips the decoder recovered from without complaint: the first garbles a few blocks
    and shifts every later block's DC (``_dc_drift``'s drift), and later ones garble whole runs of
    blocks either way, so no single signature covers the rest of the stream: a 123x83 copy was
    garbled at the right of its second MCU row, 3.3 grey levels lighter below that, and garbage
    again from 77 % down (seed 1205); a 256 px copy of the moon 2.2 levels darker, then garbage
    (seed 1202). Signature: the stored top agrees in signed luma (the median of its parts within
    ``drift_base_max``: a few garbled parts there are where the damage began), then from one row
    block to the end ``drift_share`` of the row blocks are off in ``drift_block_share`` of their
    parts at least, each part either off one way by ``drift_floor`` (the drift) or garbled by
    ``drift_garbled`` either way, and ``min_rest`` of them drifted in that share without garbage. An
    edit is off in one place: a patch pasted over the bottom 28 % of a gradient, a third of its width,
    was "damaged" while garbage in half a row block's parts was enough (the shared dev corpus's
    C1490978), and a patch of one colour over the whole width of the lower part is garbage in every
    part with no drift (before the drift was required, a fresh-eyed attack's 401 such patches, 50-100 %
    wide, gave 10 more `cleanup_corrupt`; of its 67 near misses this rule and the others of proof 1.28
    made `cleanup_corrupt`, 33 are `different` again; most of the rest lift or darken the whole lower part as
    well, which is a DC drift by every measure). Reframing and resampling leave no top that agrees this
    tightly, and keep the mean of each part. And the top must show detail (``min_intact_std``) and agree in the
    blurred difference too (``stream_base_max``, the median of its parts), and the damage found must
    begin ``drift_min_top`` of the way down at least: the black top of a crop of a retina, with the
    fundus's curved edge across it, agrees with a neighbouring crop's, whose rest is "garbage" (5 of
    972 pairs of 18 corpora, none of them copies, were "garbled" from 4-10 % down; seed 1205's copy
    from 14.5 %). ``Dy``: the signed luma difference (0..1); ``D``: the screen's blurred difference;
    ``g``: the kept picture's grey; all in A's display frame. Returns the damaged mask or None."""
    inv = inverse(frame)
    blocks = _row_blocks(Dy, valid, inv)
    if blocks is None:
        return None
    Ds, vs, edges, S, C, kept, mean = blocks
    nb, nseg = len(edges) - 1, C.shape[1]
    segs = np.where((C > 0) & kept[:, None], S / np.maximum(C, 1), np.nan)
    start = max(2, int(np.ceil(T.drift_start * nb)))
    with np.errstate(invalid="ignore"):
        garbled = np.abs(segs) >= T.drift_garbled          # (NaN: an untrusted part is never off)
        # what no start can pass, found at once (``_dc_drift``'s way): a block off at any threshold is
        # off by drift_floor either way in its share of parts, so an intact copy is done here
        could = (np.abs(segs) >= T.drift_floor).sum(1) >= T.drift_block_share * nseg
    share = could[::-1].cumsum()[::-1] / np.arange(nb, 0, -1)
    if not (share[start:nb - min_rest + 1] >= T.drift_share).any():
        return None
    # the top's blurred difference per part, and its detail, for any top (running sums by row)
    SD, _ = _cell_sums(dihedral(D, *inv), vs, edges, np.linspace(0, Ds.shape[1], nseg + 1).astype(int))
    dparts = np.where(C > 0, SD / np.maximum(C, 1), np.nan)
    gs = dihedral(g, *inv).astype(np.float64)
    run = [np.concatenate(([0.0], np.cumsum(x))) for x in (vs.sum(1), np.where(vs, gs, 0.0).sum(1),
                                                           np.where(vs, gs * gs, 0.0).sum(1))]
    for j in range(start, nb - min_rest + 1):
        top = segs[:j][np.isfinite(segs[:j])]
        if len(top) < 2 * nseg:
            continue
        base = float(np.median(np.abs(top)))
        if base > T.drift_base_max:
            return None   # the top is off already: not one stream's damage
        if np.isnan(mean[j:]).mean() > 0.2:
            continue
        thr = max(T.drift_floor, 4 * base)
        rest = segs[j:]
        drifted = rest[~garbled[j:] & np.isfinite(rest)]   # the drift's way: the parts no later flip garbled
        sign = -1.0 if len(drifted) and np.median(drifted) < 0 else 1.0
        with np.errstate(invalid="ignore"):
            drift = sign * rest >= thr
            off = (drift | garbled[j:]).sum(1) >= T.drift_block_share * nseg
            # the drift itself, in min_rest blocks at least: garbage alone is _progressive_damage's to
            # find, and a patch pasted over the whole width of the lower part is garbage everywhere
            drifting = (drift & ~garbled[j:]).sum(1) >= T.drift_block_share * nseg
        if off.mean() < T.drift_share or not off[0] or drifting.sum() < min_rest:
            continue
        top_d = dparts[:j][np.isfinite(dparts[:j])]
        if not len(top_d) or float(np.median(top_d)) > T.stream_base_max:
            return None
        n_top, s_top, q_top = (r[edges[j]] for r in run)
        if n_top < 2 or q_top / n_top - (s_top / n_top) ** 2 < T.min_intact_std ** 2:
            continue
        # the damage begins where the row blocks first leave the intact top (the blocks the first flip
        # garbled, then its drift), at the first row one of whose parts is off by half the threshold
        top_row = _drift_begins(np.abs(Ds), vs, edges, np.abs(mean), j, base, thr, nseg, T)
        if top_row < T.drift_min_top * Ds.shape[0]:
            return None   # too little agrees above it to tell a stream's damage from another picture
        ms = np.zeros_like(vs)
        ms[top_row:, :] = True
        return dihedral(ms, *frame)
    return None


@dataclass
class ScreenResult:
    """Stage 1 of a pair (``compare_arrays``): the best turn of the kept copy, how far the two
    reduced pictures differ over the part both sides trust, and the damage found on each side.
    Scores are mean |difference| on 0..1; regions are fractions of A's displayed frame."""
    rotation: int                 # counter-clockwise degrees that turn B onto A
    flipped: bool
    orient_score: float           # normalised difference of that turn at 40x40 (0: given, not measured)
    orient_margin: float          # how much worse the next turn scores
    diff_score: float             # global mean |difference| of the intact part
    local_score: float            # worst window of the intact part
    robust_local: float           # 90th percentile of the windows
    lowres: float                 # difference at 1/8 of the screen size (blur-tolerant)
    coverage: float               # part of the picture both sides trust
    intact_std: float             # grey std of the intact part on its plainer side (both must have detail)
    size: tuple                   # (w, h) the pair was screened at
    band_a: float                 # part of A (clean-up) in flat damage bands
    band_b: float                 # ... of B (kept)
    region_a: dict | None         # bounding box of A's damage (bands and after-damage rows)
    region_b: dict | None
    progressive_a: bool           # A's stream is damaged from one row on
    progressive_b: bool
    stream_a: bool                # ... found without decoder complaint (a flip that still decodes)
    valid: np.ndarray = field(repr=False, compare=False)  # the part both sides trust (A's frame): the proof keeps to it
    other_turns: tuple = ()       # ((score, turn), ...) of the other turns that fit the aspect ratio, best first
    band_step_a: float = 0.0      # how far A's bands lie from the picture beside them (``band_step``)
    band_step_b: float = 0.0      # ... B's
    band_goes_on_a: float = 0.0   # how much of the picture beside A's bands is at their level (``band_goes_on``)
    band_only_a: float = 0.0      # part of A in flat bands outside B's (where B shows something else)
    band_only_b: float = 0.0      # ... of B outside A's
    background_a: float = 0.0     # how much of A beside its bands is flat at their level (``band_background``)
    background_b: float = 0.0     # ... of B
    spread_a: float = 0.0         # how far apart the levels of A's band lines lie (``band_spread``)
    spread_b: float = 0.0         # ... of B's
    fill_a: bool = False          # A is a JPEG and its bands lie at its decoder's fill grey (``at_decoder_fill`` of
    fill_b: bool = False          #   ``band_level``, not black: a black bar is picture as often as fill) ... B's, any format

    @property
    def turn(self) -> tuple:
        return self.rotation, self.flipped

    @property
    def banded_a(self) -> bool:
        """A carries damage found from the pixels (a flat band, or garbage to the end of its stream)."""
        return self.band_a > 0 or self.progressive_a

    @property
    def banded_b(self) -> bool:
        return self.band_b > 0 or self.progressive_b


def fine_detail(a: np.ndarray) -> float:
    """How much of a reduced picture is detail of one or two pixels: the mean |grey - its Gaussian blur
    (sigma 1 px)|, in grey levels. Engravings' hatching, halftone screens and dithered prints reduced to
    the screen's size are 35-56 (their detail lies beyond the reduced picture's resolution, and a box
    reduction folds it back as moire); photographs, pages and diagrams 1-16."""
    g = grey(a)
    return float(np.abs(g - ndimage.gaussian_filter(g, 1.0)).mean())


def compare_arrays(A: np.ndarray, B: np.ndarray, *, a_orient=(0, False), b_orient=(0, False),
                   a_damaged=False, b_damaged=False, orientation=None, orientation_score: float = 0.0,
                   block_thr=None, a_stream_check=False, a_chroma_floor: float | None = None,
                   a_mcu: float | None = None, bands: bool = True, a_jpeg: bool = False,
                   thresholds: Thresholds | None = None) -> ScreenResult | None:
    """Compare clean-up A with match B (both displayed, uint8 RGB).
    ``a_orient``/``b_orient``: transform from each side's stored pixels to its display (EXIF), used
    to follow damage along the stored stream. ``orientation``: screen this turn of B only (its
    ``orientation_score`` as measured, if it was). ``a_chroma_floor``: the least chroma drift (0..1)
    that is stream damage in A, when A's own coding moves a flat colour's chroma further than
    ``drift_chroma_floor`` (a coarse chroma DC step). ``a_mcu``: A's coding unit (MCU) as a share of
    its long side (a JPEG's 16 or 8 px over its stored long side; None: not known), the step a stream
    that lost its place moves the rest by. ``thresholds``: default, those in force.
    ``bands``: look for flat damage bands on either side (False: a pair whose band the verdict found
    to be the picture's own, screened again whole). ``a_jpeg``: A is a JPEG, whose decoder fills what it
    lost with ``DECODER_FILL`` grey (``ScreenResult.fill_a``).
    ``a_stream_check``: look for damage in A's stream that its decoder did not report (a JPEG's
    flipped bits); not when B's decoder reported damage. Why: B's reported damage is what the pair
    then differs by, and a kept JPEG cut short or flipped, read against its intact copy, has the
    same signature in the copy's scan order (an attack's 17 kept files damaged so, the copy whole,
    were "clean-up pixels garbled", the good copy named the damaged one).
    Returns the screen, or None when no turn of B has A's aspect ratio."""
    T = thresholds or _thresholds.current()
    a_stream_check = a_stream_check and not a_damaged and not b_damaged
    if block_thr is None:
        block_thr = T.block_thr
    if orientation is None:
        b_own = own_valid(B, b_orient, b_damaged, T=T)
        scores = orientation_scores(A, B, own_valid(A, a_orient, a_damaged, T=T), b_own, aspect_tol=T.aspect_tol)
        if not scores:
            return None
        orient_score, t = scores[0]
        second = scores[1][0] if len(scores) > 1 else 9.0
        if a_stream_check and orient_score > T.max_orient_score:
            # no turn fits the whole picture: a stream garbled without complaint from a third of the
            # way down picks its turn by its trusted top, as a file with decoder errors does (its
            # score stays the whole picture's unless that damage is found below)
            top = orientation_scores(A, B, own_valid(A, a_orient, True, T=T), b_own, aspect_tol=T.aspect_tol)
            if top[0][0] <= T.max_orient_score and top[0][1] != t:
                t = top[0][1]
                orient_score = next(sc for sc, tt in scores if tt == t)
                second = min(sc for sc, tt in scores if tt != t) if len(scores) > 1 else 9.0
    else:
        scores = []
        t, orient_score, second = orientation, orientation_score, 9.0
    Bt = dihedral(B, *t)
    side = min(T.compare_side, max(A.shape[:2]), max(Bt.shape[:2]))
    s = side / max(A.shape[:2])
    size = (max(8, round(A.shape[1] * s)), max(8, round(A.shape[0] * s)))
    a = _resize(A, size)
    b = _resize(Bt, size)
    ga, gb = grey(a), grey(b)
    if bands:
        band_a, band_b = _flat_masks(ga, gb, T.band_grow_damaged if a_damaged else T.band_grow,
                                     T.band_grow_damaged if b_damaged else T.band_grow, T)
    else:
        band_a = band_b = np.zeros(ga.shape, bool)
    sig = max(0.8, min(size) / 160)
    ab = ndimage.gaussian_filter(a, (sig, sig, 0))
    bb = ndimage.gaussian_filter(b, (sig, sig, 0))
    D = np.abs(ab - bb).mean(axis=2) / 255.0
    valid = ~(band_a | band_b)
    prog_a = prog_b = None
    if a_damaged and valid.any():
        prog_a = _progressive_damage(D, valid, a_orient, block_thr, T=T)
        if prog_a is not None:
            valid &= ~prog_a
    stream_a = False
    if a_stream_check and valid.any():
        # a sequential stream damaged without decoder complaint (bit flips that still decode):
        # an intact top, then wide, persistent garbage to the end of the stream. Judged on the part
        # both trust, then, if A has flat bands, with them: a flip that decodes to one flat colour
        # from mid-row on is a band from the next full row, and the partly garbled rows above it
        # were all the search could see (a local difference of 0.42: "different")
        gy, gx = np.gradient(gb)
        texture = np.hypot(gx, gy) / 255.0
        for seen, shared in _stream_views(valid, band_a, band_b):
            prog_a = _progressive_damage(D, seen, a_orient, T.stream_thr, persist=T.stream_persist,
                                         wide=T.stream_wide, start=T.stream_start, T=T)
            if prog_a is None:
                prog_a = _keeps_detail(_stream_step(D, seen, a_orient, texture, base_max=T.stream_base_max,
                                                    floor=T.stream_floor, factor=T.stream_factor,
                                                    start_frac=T.stream_start, flat_share=T.stream_flat_share, T=T),
                                       ga, gb, seen, T, moves=_mcu_moves(a_mcu, max(ga.shape), T),
                                       frame=a_orient)
            if prog_a is None:
                # (unblurred: the step's own row)
                prog_a = _keeps_detail(_dc_drift((ga - gb) / 255.0, seen, a_orient, T), ga, gb, seen, T)
            if prog_a is None:
                # the flip hit a chroma DC: the rest of the stream is re-coloured, its luma barely moved
                for ca, cb_ in zip(chroma(a[..., 0], a[..., 1], a[..., 2]), chroma(b[..., 0], b[..., 1], b[..., 2])):
                    # (the grey's detail: a chroma DC's error re-colours, the luma keeps the picture's)
                    prog_a = _keeps_detail(_dc_drift((ca - cb_) / 255.0, seen, a_orient, T,
                                                     floor=max(T.drift_chroma_floor, a_chroma_floor or 0.0)),
                                           ga, gb, seen, T)
                    if prog_a is not None:
                        break
            if prog_a is None:
                prog_a = _drift_among_garbage((ga - gb) / 255.0, D, gb, seen, a_orient, T)
            if prog_a is not None and shared is not None and (prog_a & ~shared).mean() < T.drift_min_rest / ROW_BLOCKS:
                prog_a = None   # all it found lies in the rows flat on both sides: which side's they are, it cannot say
            if prog_a is not None:
                break
        if prog_a is not None:
            valid &= ~prog_a
            stream_a = True
    if b_damaged and valid.any():
        prog_b = _progressive_damage(D, valid, compose(b_orient, t), block_thr, T=T)
        if prog_b is not None:
            valid &= ~prog_b
    if orientation is None and prog_a is not None:
        # the turn scored again over A's intact part only: a stream garbled from a third of the way
        # down to its end (not flat enough for own_valid to drop) scored the right turn 0.78, over
        # any limit; kept only when the same turn still wins
        a_trust = own_valid(A, a_orient, a_damaged, T=T) & (_resize(valid[..., None].astype(np.float32), (40, 40))[..., 0] > 0.5)
        again = orientation_scores(A, B, a_trust, b_own, aspect_tol=T.aspect_tol)
        if again and again[0][1] == t:
            orient_score, second = again[0][0], (again[1][0] if len(again) > 1 else 9.0)
    coverage = float(valid.mean())
    # the plainer side's: a copy cut below its white top agrees with any picture whose top is plain
    # enough there, whatever detail that picture has (a page's cut copy, read turned against a
    # diagram whose thin arc crossed that part, was its damaged copy)
    intact_std = min(float(ga[valid].std()), float(gb[valid].std())) if valid.any() else 0.0
    if valid.sum() < 16:
        glob = local = robust = 1.0
    else:
        glob = float(D[valid].mean())
        win = max(3, int(round(T.local_window * min(size))))
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
    level_a, level_b = band_level(ga, gb, band_a, T), band_level(gb, ga, band_b, T)
    dmg_a = band_a | (prog_a if prog_a is not None else False)
    dmg_b = band_b | (prog_b if prog_b is not None else False)
    return ScreenResult(
        rotation=int(t[0]), flipped=bool(t[1]), orient_score=orient_score, orient_margin=float(second - orient_score),
        diff_score=glob, local_score=local, robust_local=robust, lowres=lowres, coverage=coverage,
        intact_std=intact_std, size=size, band_a=float(band_a.mean()), band_b=float(band_b.mean()),
        band_only_a=float((band_a & ~band_b).mean()), band_only_b=float((band_b & ~band_a).mean()),
        background_a=_background_at(ga, band_a, level_a, T), background_b=_background_at(gb, band_b, level_b, T),
        spread_a=band_spread(ga, gb, band_a, T), spread_b=band_spread(gb, ga, band_b, T),
        fill_a=a_jpeg and at_decoder_fill(level_a, T, black=False), fill_b=at_decoder_fill(level_b, T, black=False),
        region_a=bbox(np.asarray(dmg_a)) if np.any(dmg_a) else None,
        region_b=bbox(np.asarray(dmg_b)) if np.any(dmg_b) else None,
        progressive_a=prog_a is not None, progressive_b=prog_b is not None, stream_a=stream_a, valid=valid,
        other_turns=tuple((sc, tt) for sc, tt in scores if tt != t),
        band_step_a=band_step(ga, band_a) if band_a.any() else 0.0,
        band_step_b=band_step(gb, band_b) if band_b.any() else 0.0,
        band_goes_on_a=band_goes_on(ga, band_a, T.flat_row_range) if band_a.any() else 0.0)

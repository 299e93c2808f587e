"""A baseline JPEG stream read out of step, read against the picture it was coded from.

Why: a bit flipped in a JPEG's entropy-coded data leaves everything before it as it was and breaks
the rest in two ways that a pixel difference alone cannot tell from an edit. A lost or extra code
moves every later MCU along the scan (the copy's MCU ``i`` shows the picture's MCU ``i + shift``),
and a wrong DC difference moves the tone of every later block of that component (DC is coded as
the difference from the block before), until the next flip moves them again. So a copy of the
kept picture damaged this way reads, in scan order, as its first MCUs intact and then runs of the
kept picture's own MCUs, each run displaced along the scan and shifted in tone by one constant per
channel, with garbage between them where the decoder was out of step. An edited copy, a reframed
one or another picture does not: it differs where the edit lies and agrees again after it, or
differs with a tone that follows the content (exposure), or holds content the kept picture does
not have anywhere along the scan.

Pure functions over arrays, in the stored frame of the copy (where its MCUs lie on the grid).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .fingerprint import grey


@dataclass(frozen=True)
class Run:
    """A stretch of a copy's MCUs in scan order (``start``, ``length``)."""
    start: int
    length: int
    shift: int | None = None  # each shows the kept MCU this many along the scan (None: garbage, none fits)
    offset: tuple = ()        # its tone difference per channel, grey levels (median; NaN where it clipped whole)
    detail: float = 0.0       # grey std of the kept pixels it shows: what makes its fit evidence
    spread: float = 0.0       # how far its MCUs' tones range, on the channel that ranges most
    residual: float = 0.0     # mean |difference| left once each MCU's tone is taken off
    inner: float = 0.0        # mean grey std within each kept MCU shown: the detail that fit must explain

    def toned(self, by: float) -> bool:
        """Its tone moved by ``by`` grey levels or more on a channel that did not clip."""
        return any(math.isfinite(o) and abs(o) >= by for o in self.offset)


@dataclass(frozen=True)
class Reading:
    """A copy read against the kept picture (``read_in_runs``): its ``runs``, its MCUs to a row (``cols``, the
    last one cut by the picture's edge included, as the stream codes it), and for each MCU in its place
    (no shift): ``fits`` (it fits the kept MCU there, its tone removed), ``tone`` (the largest tone
    difference over the channels that did not clip, NaN where every pixel clipped) and the kept MCU's grey
    ``mean`` and ``std``."""
    runs: list
    cols: int
    fits: np.ndarray
    tone: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def mcu_cells(a: np.ndarray, mcu: tuple[int, int]) -> np.ndarray:
    """``a`` (H, W, C) cut into its MCUs (rows, columns of pixels), in scan order: (n, mh, mw, C), float32,
    NaN where an edge MCU runs past the picture."""
    mh, mw = mcu
    if a.ndim == 2:
        a = a[..., None]
    h, w, ch = a.shape
    rows, cols = math.ceil(h / mh), math.ceil(w / mw)
    p = np.full((rows * mh, cols * mw, ch), np.nan, np.float32)
    p[:h, :w] = a
    return p.reshape(rows, mh, cols, mw, ch).transpose(0, 2, 1, 3, 4).reshape(rows * cols, mh, mw, ch)


def read_in_runs(stored: np.ndarray, kept: np.ndarray, mcu: tuple[int, int], *, levels: float, share: float,
                 step: float, max_shift: int) -> Reading:
    """A copy (``stored``, uint8 RGB as decoded, in its stored frame) read against ``kept`` (the same size
    and frame) as runs of the kept picture's MCUs, greedily from the first MCU: at each MCU the shift
    (within ``max_shift`` MCUs along the scan, the smaller preferred) that explains the longest stretch
    on from it. An MCU fits a kept MCU when, its constant tone per channel removed, the two differ by no
    more than ``levels`` + ``share`` of the kept MCU's grey std on average (what re-encoding leaves); a
    stretch goes on while each MCU's tone stays within ``step`` of the one before. Pixels the copy
    decoded to 0 or 255 are left out on their channel: a tone moved past the end clips there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # means of MCUs every pixel of which clipped: NaN
        return _read_in_runs(stored, kept, mcu, levels=levels, share=share, step=step, max_shift=max_shift)


def _read_in_runs(stored, kept, mcu, *, levels, share, step, max_shift) -> Reading:
    copy = mcu_cells(stored.astype(np.float32), mcu)
    copy[(copy <= 0) | (copy >= 255)] = np.nan
    kc = mcu_cells(kept.astype(np.float32), mcu)
    kgrey = mcu_cells(grey(kept)[..., None].astype(np.float32), mcu)[..., 0]
    n = copy.shape[0]
    with np.errstate(all="ignore"):
        kstd = np.nan_to_num(np.nanstd(kgrey.reshape(n, -1), axis=1))
        kmean = np.nan_to_num(np.nanmean(kgrey.reshape(n, -1), axis=1))
    tol = levels + share * kstd
    shifts = sorted(range(-max_shift, max_shift + 1), key=abs)
    # each MCU's channels as rows of pixels, so that every sum below runs along memory
    cp, kp = (np.ascontiguousarray(x.reshape(n, -1, x.shape[3]).transpose(0, 2, 1)) for x in (copy, kc))
    fits = np.zeros((len(shifts), n), bool)
    rest = np.full((len(shifts), n), np.nan, np.float32)
    tone = np.full((len(shifts), n, copy.shape[3]), np.nan, np.float32)
    for si, k in enumerate(shifts):
        a0, a1 = max(0, -k), n - max(0, k)
        if a1 <= a0:
            continue
        d = cp[a0:a1] - kp[a0 + k:a1 + k]
        with np.errstate(all="ignore"):
            o, r = _tone_and_rest(d)
        tone[si, a0:a1] = o
        rest[si, a0:a1] = r
        # an MCU every pixel of which clipped fits anything: it says nothing either way
        fits[si, a0:a1] = ~(r > tol[a0 + k:a1 + k])
    # how far a stretch at each shift runs on from each MCU: a tone step breaks it
    with np.errstate(invalid="ignore"):
        jump = np.abs(tone[:, 1:] - tone[:, :-1])
    steady = np.nan_to_num(jump, nan=0.0).max(axis=2) <= step
    reach = _reach(fits, steady)
    runs: list[Run] = []
    i = 0
    while i < n:
        si = int(np.argmax(reach[:, i]))           # argmax: the first, i.e. the smallest |shift|, of the longest
        length = int(reach[si, i])
        if length == 0:
            if runs and runs[-1].shift is None:
                runs[-1] = Run(runs[-1].start, runs[-1].length + 1)
            else:
                runs.append(Run(i, 1))
            i += 1
            continue
        k = shifts[si]
        with np.errstate(all="ignore"):
            t = tone[si, i:i + length]
            off = tuple(float(v) for v in _nanmedian_columns(t))
            spread = float(np.nan_to_num(np.nanmax(np.nanmax(t, axis=0) - np.nanmin(t, axis=0))))
            detail = float(np.nan_to_num(np.nanstd(kgrey[i + k:i + k + length])))
            resid = float(np.nan_to_num(np.nanmean(rest[si, i:i + length])))
        runs.append(Run(i, length, k, off, detail, spread, resid, float(kstd[i + k:i + k + length].mean())))
        i += length
    with np.errstate(all="ignore"):
        in_place = np.nanmax(np.abs(tone[0]), axis=1)          # shifts[0] is 0
    return Reading(runs, math.ceil(stored.shape[1] / mcu[1]), fits[0].copy(), in_place, kmean, kstd)


def _tone_and_rest(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For MCU differences ``d`` (n, C, pixels), float32 with NaN where a pixel is left out: each MCU's tone
    per channel (its mean difference, (n, C)) and what is left once it is taken off (mean |difference - tone|
    over its pixels and channels, (n,)); NaN where nothing is left. ``np.nanmean`` twice, without its copies
    (``d`` is overwritten) and along memory: the read spends most of its time here, once per shift (0.28 s of a
    436x500 copy's 0.46 s read as two ``np.nanmean`` over the MCU's rows and columns, 0.09 s so)."""
    missing = np.isnan(d)
    np.copyto(d, 0, where=missing)
    count = (~missing).sum(axis=2)
    o = d.sum(axis=2) / count
    e = np.abs(d - o[..., None])
    np.copyto(e, 0, where=missing)
    return o, e.sum(axis=(1, 2)) / count.sum(axis=1)


def _reach(fits: np.ndarray, steady: np.ndarray) -> np.ndarray:
    """How far a stretch at each shift runs on from each MCU (``fits`` (shifts, n); ``steady`` (shifts, n - 1):
    the tone holds from MCU i to i + 1): 0 where the MCU does not fit, else up to and including the first
    MCU after which the stretch stops (the next does not fit, or the tone steps). Shape (shifts, n + 1),
    the last column 0."""
    s, n = fits.shape
    goes_on = np.zeros((s, n), bool)
    goes_on[:, :-1] = steady & fits[:, 1:]
    idx = np.arange(n)
    stop_at = np.minimum.accumulate(np.where(goes_on, n, idx)[:, ::-1], axis=1)[:, ::-1]
    reach = np.zeros((s, n + 1), np.int64)
    reach[:, :n] = np.where(fits, stop_at - idx + 1, 0)
    return reach


def _nanmedian_columns(t: np.ndarray) -> np.ndarray:
    """``np.nanmedian(t, axis=0)`` of a float32 (rows, channels) array, NaN where a column is all NaN: the
    same float32 arithmetic (the two middle values summed, halved) without the masked-array path numpy takes
    for short columns, which cost 0.4 ms a run."""
    s = np.sort(t, axis=0)                       # NaN sorts last
    count = (~np.isnan(t)).sum(axis=0)
    hi = count // 2
    lo = np.where(count % 2 == 1, hi, hi - 1)
    cols = np.arange(t.shape[1])
    # (a column all NaN: both picks are NaN, and so is their mean)
    return (s[np.maximum(lo, 0), cols] + s[np.minimum(hi, t.shape[0] - 1), cols]) / s.dtype.type(2)


def placed(reading: Reading, still: float) -> np.ndarray:
    """Which MCUs are the kept picture's in their place and tone (within ``still`` grey levels), or fit
    there clipped whole (their tone unknown, NaN): what a stream read in step leaves them."""
    return reading.fits & (~np.isfinite(reading.tone) | (np.nan_to_num(reading.tone) <= still))


def out_of_step(reading: Reading, *, still: float, moved_tone: float, min_run: int, min_detail: float,
                max_spread: float, explained: float, lead_garble: float = 0.0, back_most: int = 0) -> dict:
    """What ``read_in_runs`` says of a copy, as a stream read out of step would leave it:

    - ``lead``: its first MCUs in place and tone (within ``still`` grey levels, or clipped whole), before the
      first that is not, and ``lead_detail``, the kept picture's grey std over them;
    - ``mid_row``: whether the copy first changes inside an MCU row: between the last MCU of the lead that
      did not clip whole and the first that plainly changed (does not fit in its place, or moved by
      ``moved_tone`` or more), no MCU row starts. An edit made along a pixel row changes a copy from the
      start of an MCU row (or changes the MCUs before its "break" a little, which the lead does not take);
    - ``back``: MCUs after the lead back in place and tone, flat ones too, where any channel did not clip. A
      broken stream does not come back to both: DC prediction runs on across the row ends, so once a tone is
      wrong every later MCU's is, the first of each row too. An edit ends and the picture goes on as it was, or
      it leaves the MCUs beside it as they were on every row (a tint or an overlay a few MCUs in, a flat margin);
    - ``moved``: MCUs after it in such runs that show the kept picture with its tone moved by ``moved_tone``
      or more (along the scan or not), each run's tone steady (``max_spread``) and its fit explaining the kept
      detail it shows (its residual at most ``explained`` of the kept MCUs' std), and ``runs``, how many such
      runs. The tone is what a broken stream cannot help: DC is coded as the difference from the block before,
      so once the decoder is out of step the tone stays wrong, while an edit that moves content along the grid
      (an indent, a line deleted and the text reflowed, a strip cut from a photograph) keeps its tone; ``along``:
      how many of those runs are moved along the scan;
    - ``after``: MCUs after the lead;
    - ``first``: the first MCU not in place, and ``garbled``: how many of the lead's are not.

    The lead ends at the first MCU not in place, unless ``lead_garble`` or ``back_most`` allow more: then at the
    end of the first stretch in place after which at most ``back_most`` MCUs are back in place, and before which
    at most ``lead_garble`` of the MCUs are not. Why: corpus_gen flips 12 bits, and a flip in a coefficient's
    own bits garbles its block without putting the decoder out of step, so the picture goes on in place after
    it until a flip that does (a 160x106 rocket crop: 2 MCUs garbled, 11 in place, then out of step to the end,
    "different"); and once the decoder is out of step, an MCU may land in place and tone by chance (a 137x165
    crop of cells: 1 of 83, "different"). An edit that ends, or a tint beside a flat margin, leaves many MCUs
    in place after it, on every row."""
    n, cols = reading.fits.size, reading.cols
    tone = reading.tone
    known = np.isfinite(tone)
    in_place = placed(reading, still)
    first = int(np.argmin(in_place)) if not in_place.all() else n
    lead = first
    if first < n and (lead_garble > 0 or back_most > 0):
        # MCUs back in place from each MCU on, and each stretch in place's end (the first MCU after it not in place)
        back_from = np.concatenate([np.cumsum((in_place & known)[::-1])[::-1], [0]])
        for end in np.flatnonzero(in_place[:-1] & ~in_place[1:]) + 1:
            if (back_from[end] <= back_most and end - int(in_place[:end].sum()) <= lead_garble * end):
                lead = int(end)
                break
    seen_at = np.flatnonzero((known & in_place)[:lead])
    seen = int(seen_at[-1]) + 1 if seen_at.size else 0
    plain = ~reading.fits | (known & (np.nan_to_num(tone) >= moved_tone))
    plain[:lead] = False
    clear = int(np.argmax(plain)) if plain.any() else n
    mid_row = 0 < seen and seen // cols == clear // cols and seen % cols != 0
    if lead:
        # the kept picture's detail over the lead's MCUs in place (what makes their agreement evidence)
        m, sd = reading.mean[:lead][in_place[:lead]], reading.std[:lead][in_place[:lead]]
        lead_detail = float(np.sqrt(max(0.0, float((sd ** 2 + m ** 2).mean() - m.mean() ** 2))))
    else:
        lead_detail = 0.0
    back = int((in_place & known)[lead:].sum())
    solid = [r for r in reading.runs if r.start >= lead and r.shift is not None and r.length >= min_run
             and r.detail >= min_detail and r.spread <= max_spread and r.residual <= explained * r.inner]
    moved = [r for r in solid if r.toned(moved_tone)]
    return dict(lead=lead, lead_detail=lead_detail, back=back, moved=sum(r.length for r in moved), runs=len(moved),
                along=sum(1 for r in moved if r.shift), after=n - lead, mid_row=mid_row, first=first,
                garbled=lead - int(in_place[:lead].sum()))

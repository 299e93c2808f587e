"""Verdict for a verified pair, and the choice among a clean-up file's candidates."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from PIL import Image
from scipy import ndimage

from . import thresholds as _thresholds
from .analysis import FileAnalysis, analyse_file
from .compare import ScreenResult, _fine_detail, bbox, compare_arrays, fine_detail, orientation_scores, turn_fits
from .decode import DECODER_FILL, EXIF_TO_DIHEDRAL, JPEG_END_MARKER_MISSING, compose, dihedral, inverse
from .fingerprint import chroma, grey
from .proof import (
    _CHROMA_STEP,
    JPEG_MCU,
    _window_region,
    attach_rendition,
    beyond_cap_array,
    blocks_off,
    chroma_dc_step,
    equivalent_jpeg_quality,
    finer_than_made,
    garbled_blocks,
    jpeg_coding,
    luma_dc_step,
    prove_same,
    stretch,
    tile_grid,
)
from .stream import out_of_step, placed, read_in_runs
from .thresholds import Thresholds
from .version import ENGINE_VERSION

LOSSLESS_FORMATS = {"PNG", "TIFF", "BMP", "GIF", "PPM", "TGA"}
# Formats that are always lossy (WebP, JPEG 2000 and HEIF can be either, and are not counted).
LOSSY_FORMATS = {"JPEG", "MPO"}
# ``holds_at_least_as_much``: a kept JPEG whose estimated quality is more than this below the clean-up
# JPEG's holds less, unless it has this many times the clean-up copy's pixels (twice its sides)
JPEG_QUALITY_MARGIN = 10
JPEG_PIXELS_OUTWEIGH = 4
# Formats coded in 8x8 DCT blocks: a flipped bit that keeps the entropy stream in step garbles one
# block of the picture (the proof's garble test), so such a file is the damaged side of a pair.
BLOCK_CODED_FORMATS = {"JPEG", "MPO"}
# Formats whose damage decodes silently as speckle: no checksum, and wrong bytes inside a JPEG 2000
# code-block decode as noise over its footprint (the proof's speckle test looks for it in a kept copy).
SILENTLY_SPECKLED_FORMATS = {"JPEG2000"}
# Formats coded by a wavelet transform, whose lossy coding quantizes each subband with one step: the
# loss is spread evenly over the picture, not gathered at edges as JPEG's (the proof's even-loss test).
WAVELET_CODED_FORMATS = {"JPEG2000"}
# the lossy kept copies the even-loss test judges a pair against (proof.prove_same's ``even_kept``),
# by the name the proof's reasons give their loss
EVEN_LOSS_KEPT = {"JPEG2000": "JPEG 2000", "JPEG": "JPEG", "WEBP": "WebP"}

# Every number that decides a pair is a field of one frozen value, recorded with each candidate:
# matching/thresholds.py (``THRESHOLDS`` is the default; ``current()`` the one in force).

VERDICTS = ("identical", "duplicate", "rotated", "cleanup_corrupt", "match_corrupt", "different",
            "unreadable", "no_match")

# The verdict policy, defined once here; the app derives its model choices, ranking, bulk form and
# executor re-check from these sets.
# Verdicts the engine alone may mark safe to delete (safe_to_delete), with an intact kept copy
# that holds at least as much:
ENGINE_SAFE_VERDICTS = frozenset({"identical", "duplicate"})
# What a curator may approve for deletion: the engine's safe verdicts, and the two it leaves to a
# person: a turned or mirrored copy of the same picture, and a damaged clean-up copy of it. Never
# a damaged kept copy (match_corrupt), a different picture, an unreadable file or no match.
CURATOR_APPROVABLE_VERDICTS = frozenset(ENGINE_SAFE_VERDICTS | {"rotated", "cleanup_corrupt"})
# What an admin may approve in bulk (only files the engine itself marked safe):
BULK_APPROVABLE_VERDICTS = ENGINE_SAFE_VERDICTS
# the same picture, undamaged, at whatever turn: what a plainer turn's verification must come to
# for the pair to be reported at it (``_plainer_turn``; a damaged side, garbled or speckled blocks
# at one turn and not the other are not a symmetric picture's doubt)
SAME_PICTURE_VERDICTS = frozenset(ENGINE_SAFE_VERDICTS | {"rotated"})
# Declared verdicts (the engine proved the same picture), best first; the rest follow.
VERDICT_RANK = MappingProxyType({"identical": 0, "duplicate": 1, "rotated": 2, "match_corrupt": 3,
                                 "cleanup_corrupt": 3, "different": 5, "unreadable": 6, "no_match": 7})
DECLARED_VERDICTS = frozenset(v for v in VERDICTS if VERDICT_RANK[v] <= 3)
assert set(VERDICT_RANK) == set(VERDICTS)


def verdict_rank(verdict: str) -> int:
    """The order of verdicts, best first. An unknown verdict is an error (a vocabulary drift
    would otherwise sort a file silently last)."""
    try:
        return VERDICT_RANK[verdict]
    except KeyError:
        raise ValueError(f"unknown verdict {verdict!r}; known: {', '.join(VERDICTS)}") from None


@dataclass
class PairResult:
    diff_score: float = 1.0
    local_score: float = 1.0
    rotation: int = 0
    flipped: bool = False
    verdict: str = "different"
    safe_to_delete: bool = False
    corrupt_side: str = "none"
    region: dict | None = None
    reasons: list = field(default_factory=list)
    engine_version: str = ""
    thresholds: Thresholds = field(default_factory=_thresholds.current)   # the numbers that decided this pair
    match: str = ""          # the match's key/name (filled by callers that know it)
    via: str = ""            # how the candidate was found: checksum | id | content | id+content
    proof: dict | None = None  # the full-detail proof: size, tolerance derived for this pair, worst tile, geometry

    @property
    def declared(self) -> bool:
        return self.verdict in DECLARED_VERDICTS

    def to_dict(self) -> dict:
        return {"diff_score": round(float(self.diff_score), 5), "local_score": round(float(self.local_score), 5),
                "rotation": int(self.rotation), "flipped": bool(self.flipped), "verdict": self.verdict,
                "safe_to_delete": bool(self.safe_to_delete), "corrupt_side": self.corrupt_side,
                "region": self.region, "reasons": list(self.reasons), "engine_version": self.engine_version,
                "thresholds": self.thresholds.to_dict(), "match": self.match, "via": self.via,
                "proof": self.proof}


def _new(T: Thresholds, **kw) -> PairResult:
    return PairResult(engine_version=ENGINE_VERSION, thresholds=T, **kw)


def _known(value) -> int:
    """A measured count (pixels, pages, bits), or 0 when it was not measured (None or 0)."""
    return max(int(value or 0), 0)


def holds_at_least_as_much(kept, other) -> list:
    """Reasons why ``kept`` holds less than ``other`` (empty list: it holds at least as much).

    THE one rule behind safety invariant 3, "never delete a clean-up copy that holds more than its
    kept copy": the engine's safe_to_delete, review's approval, the dry run and the executor all
    ask it. Takes anything with width, height, pages, bit_depth and format (a FileAnalysis, an
    Asset row). Pixels, the shorter side, pages and bit depth are compared; a fact that was not
    measured on either side (None or 0: the file did not decode, or a row analysis never filled)
    is not "at least as much", because nothing shows that it is: it is refused with the reason,
    never guessed (a missing bit depth used to count as 8, which let an unmeasured 16-bit master go).
    A camera RAW holds more than any rendering of it (sensor data, latitude a JPEG or TIFF has
    thrown away), and a PDF more than its first page's picture (other pages, text, annotations):
    only a kept copy of the same kind can hold as much. Likewise a lossless copy holds more than a
    JPEG of it at the same (or a lower) pixel count: deleting it would keep only the lossy one. And
    an alpha channel or CMYK separations (``formats.channels_lost``, from the decoder's mode) that
    the kept copy lacks: the pair compares flattened RGB, so an RGBA PNG against the same picture
    flattened onto white was "identical", safe, and its transparency and what lay under it gone. And
    a JPEG clean-up copy coded finer than its JPEG kept copy (estimated qualities more than
    ``JPEG_QUALITY_MARGIN`` apart) unless the kept copy has ``JPEG_PIXELS_OUTWEIGH`` times its pixels:
    a q95 copy at 90 % of a q30 kept copy's size was a safe duplicate (the proof compares at the
    copy's size, where the kept copy's blocks are smoothed away), and it is the better picture. And
    a clean-up file of more than one picture (``pictures``: pages, frames, a TIFF's preview
    directories, data after its end; its page count where an older analysis did not measure them)
    unless both files hold the same bytes: only its first picture is compared, and a two-page TIFF
    whose second page was another, a GIF's, an animated PNG's or WebP's second frame, a camera JPEG's
    second image or a picture appended after its end were "identical" or safe duplicates (an attack's
    111 of 138 such files). And a colour profile (``icc``, ``decode.colour_profile``) the clean-up copy's
    pixels are shown through and the kept copy's are not: the same numbers are other colours (tagged
    ProPhoto or Adobe RGB against an untagged kept file: "identical", an attack's 56 of 56); a profile
    not read on either side (an older analysis) is no reason. And what the pair's 8-bit RGB comparison does not
    see (``formats.held_beyond_rgb8``: 16-bit and float samples, alpha, CMYK, samples the decoder drops), even where
    the kept copy has it too, unless the two hold the same samples (``samples_shown_equal``): two 16-bit scans, one
    burnt by 250 of 65,535 levels, were a safe duplicate (proof 1.53)."""
    from .decode import profile_colours
    from .formats import channels_lost, held_beyond_rgb8, is_document, is_raw
    why = []
    kw, kh, ow, oh = _known(kept.width), _known(kept.height), _known(other.width), _known(other.height)
    unknown = [side for side, known in (("kept copy", kw and kh), ("clean-up copy", ow and oh)) if not known]
    if unknown:
        why.append(f"the {' and the '.join(unknown)}'s size is unknown (it did not decode), so the kept copy is not "
                   f"shown to hold the clean-up copy's "
                   f"{f'{ow}x{oh} ' if ow and oh else ''}pixels")
    elif kw * kh < ow * oh or min(kw, kh) < min(ow, oh):
        why.append(f"the clean-up copy holds more pixels ({ow}x{oh}) than the kept copy ({kw}x{kh})")
    pages_refused = False
    for fact, noun, more in (("pages", "page count", "more pages"), ("bit_depth", "bit depth", "a higher bit depth")):
        k, o = _known(getattr(kept, fact)), _known(getattr(other, fact))
        pages_refused |= fact == "pages" and not (k and o and k >= o)
        if not (k and o):
            sides = " and the ".join(s for s, v in (("kept copy", k), ("clean-up copy", o)) if not v)
            why.append(f"the {sides}'s {noun} is unknown (not measured), so the kept copy is not shown to hold "
                       f"as much")
        elif k < o:
            why.append(f"the clean-up copy has {more} ({o}) than the kept copy ({k})")
    # a clean-up file of more than one picture is proven the same by its first only: the rest (another
    # page, an animation's frames, a camera's second image, a preview directory, data after its end)
    # the kept copy is not shown to hold, whatever it holds itself; unless the bytes are the same (and
    # said once: not again where its page count was refused above)
    pictures = _known(getattr(other, "pictures", None)) or _known(getattr(other, "pages", None))
    if pictures > 1 and not pages_refused and not _same_bytes(kept, other):
        why.append(f"the clean-up copy holds {pictures} pictures or parts (pages, frames, previews, data after its "
                   f"picture) and only its first picture is compared")
    # a colour profile the clean-up copy's pixels are shown through, not the kept copy's: the same numbers
    # are other colours (not where either profile was not read: an older analysis)
    kept_icc, other_icc = getattr(kept, "icc", None), getattr(other, "icc", None)
    if other_icc and kept_icc is not None and profile_colours(other_icc) != profile_colours(kept_icc):
        why.append(f"the clean-up copy's colours are shown through a colour profile ({other_icc}) that the kept copy "
                   f"{'has not' if not kept_icc else f'does not share ({kept_icc})'}")
    kept_mode, other_mode = getattr(kept, "mode", "") or "", getattr(other, "mode", "") or ""
    lost = channels_lost(kept_mode, other_mode)
    for channels in lost:
        why.append(f"the clean-up copy (mode {other_mode}) has {channels} that the kept copy "
                   f"{f'(mode {kept_mode}) lacks' if kept_mode else 'is not shown to have (its mode is unknown)'}")
    # what the comparison (8-bit RGB) does not see, unless both files hold the same samples (said once: not again
    # where the channels or the bit depth were refused above)
    kb, ob = _known(kept.bit_depth), _known(other.bit_depth)
    bits_refused = not (kb and ob) or kb < ob
    unseen = [b for b in held_beyond_rgb8(other_mode, ob) if b not in lost and not (bits_refused and b.endswith("-bit samples"))]
    if unseen and not samples_shown_equal(kept, other):
        why.append(f"the clean-up copy holds {' and '.join(unseen)}, which the pair is not compared by (8-bit RGB), "
                   f"and its samples are not shown to be the kept copy's")
    # lossless by its format, or a WebP or JPEG 2000 coded so (``formats.coded_losslessly``)
    if kept.format in LOSSY_FORMATS and (other.format in LOSSLESS_FORMATS or getattr(other, "lossless", None) is True) \
            and kw * kh <= ow * oh:
        why.append(f"the clean-up copy is lossless ({other.format}) and the kept copy a lossy {kept.format} of no "
                   f"more pixels: the {kept.format} has thrown away detail the clean-up copy still holds")
    kq, oq = getattr(kept, "jpeg_quality", None), getattr(other, "jpeg_quality", None)
    if kq and oq and kq < oq - JPEG_QUALITY_MARGIN and kw * kh < JPEG_PIXELS_OUTWEIGH * ow * oh:
        why.append(f"the kept JPEG is coded coarser (quality {kq}) than the clean-up copy (quality {oq}) and has "
                   f"less than {JPEG_PIXELS_OUTWEIGH}x its pixels: it has thrown away detail the clean-up copy holds")
    if is_raw(other.format) and not is_raw(kept.format):
        why.append(f"clean-up copy is camera RAW ({other.format}) and the kept copy is a rendering of it "
                   f"({kept.format or 'unknown'}): a RAW holds more than any rendering, so only a RAW kept copy "
                   f"with the same content can stand in for it")
    if is_document(other.format) and not is_document(kept.format):
        why.append(f"clean-up copy is a {other.format} document and the kept copy is a {kept.format or 'unknown'} "
                   f"picture: a document can hold more than its first page's picture")
    return why


def turn_words(rotation: int, flipped: bool) -> str:
    """A turn in a curator's words (rotation is counter-clockwise, as the engine measures it)."""
    rotation = int(rotation or 0) % 360
    way = "" if rotation == 180 else " counter-clockwise"  # half a turn has no direction
    if rotation and flipped:
        return f"turned {rotation}\u00b0{way} and mirrored"
    if rotation:
        return f"turned {rotation}\u00b0{way}"
    return "mirrored" if flipped else "not turned"


def region_bounds(region) -> tuple[float, float, float, float] | None:
    """A region given as fractions {top, left, bottom, right} (missing sides are the picture's
    edges), clamped to the picture: (top, left, bottom, right), or None when it is not a usable
    region. One reading for the damage score and the outline the file view draws."""
    if not isinstance(region, dict):
        return None
    try:
        top, left = float(region.get("top", 0)), float(region.get("left", 0))
        bottom, right = float(region.get("bottom", 1)), float(region.get("right", 1))
    except (TypeError, ValueError):
        return None
    clamp = lambda v: min(max(v, 0.0), 1.0)  # noqa: E731
    top, left, bottom, right = clamp(top), clamp(left), clamp(bottom), clamp(right)
    if bottom <= top or right <= left:
        return None
    return top, left, bottom, right


def region_area(region) -> float | None:
    """The area (0..1) of a region given as fractions {top, left, bottom, right}; None when it is
    not a usable region."""
    bounds = region_bounds(region)
    if bounds is None:
        return None
    top, left, bottom, right = bounds
    return (bottom - top) * (right - left)


def damage_score(*, corrupt_side: str = "none", region=None, own_damage=()) -> float:
    """How much of the picture is damaged, the third score beside diff_score and local_score.

    diff_score and local_score measure how the two copies differ where both hold the picture; a
    damaged copy can score 0.0 there (the proof agrees up to the damage) while a grey band or a
    truncated half is plain to see. This score is the damaged area as a fraction of the picture
    (0..1): the region the pair's proof found on its damaged side (``corrupt_side``, ``region``),
    else the largest region either file's own analysis found (``own_damage``: the files'
    ``FileAnalysis.damage`` dicts). A side known to be damaged without a region scores 1.0 (the
    extent is unknown, so nothing suggests it is small). 0.0 = no damage found."""
    if corrupt_side in ("cleanup", "match"):
        area = region_area(region)
        return round(area if area is not None else 1.0, 5)
    found = [region_area(d.get("region")) for d in own_damage if isinstance(d, dict)]
    areas = [a for a in found if a is not None]
    return round(max(areas), 5) if areas else 0.0


def approval_refusal(*, verdict: str, corrupt_side: str, kept, cleanup, kept_intact: bool) -> list:
    """Reasons why a curator may NOT approve deleting ``cleanup`` in favour of ``kept`` (empty:
    they may). THE one rule, used by review when the curator decides, and by the dry run and the
    executor on the pair as it is re-checked then. ``kept``/``cleanup``: anything with width,
    height, pages, bit_depth and format. An unknown verdict raises ValueError."""
    verdict_rank(verdict)
    if verdict not in CURATOR_APPROVABLE_VERDICTS:
        return [{"match_corrupt": "the kept copy is damaged: route this file to reingest instead",
                 "different": "the engine found a different picture: choose another match or decide not a duplicate",
                 "unreadable": "this file does not decode: log an error or route it to reingest",
                 "no_match": "this file has no match to keep: log an error or route it to reingest",
                 }.get(verdict, f"a {verdict} pair cannot be approved")]
    why = []
    if corrupt_side == "match" or not kept_intact:
        why.append("the kept copy is damaged: route this file to reingest instead")
    more = holds_at_least_as_much(kept, cleanup)
    if more:
        why.append(f"the kept copy is not shown to hold at least as much as this copy ({'; '.join(more)}): reingest it")
    return why


def not_safe_words(*, verdict: str, rotation: int, flipped: bool, corrupt_side: str, kept, cleanup,
                   kept_intact: bool) -> list:
    """Why the engine would not mark this pair safe to delete, in a curator's words (empty when it
    would). Same facts as approval_refusal, plus what only a person may confirm."""
    verdict_rank(verdict)
    words = []
    if verdict == "rotated":
        words.append(f"{turn_words(rotation, flipped)}: a person must confirm")
    elif verdict == "cleanup_corrupt":
        words.append("the clean-up copy is damaged: a person must confirm it is this picture")
    elif verdict == "match_corrupt":
        words.append("the kept copy is damaged")
    elif verdict == "different":
        words.append("the engine found a different picture")
    elif verdict == "unreadable":
        words.append("this file does not decode")
    elif verdict == "no_match":
        words.append("no copy to keep was found")
    if verdict not in ("match_corrupt",) and (corrupt_side == "match" or not kept_intact) and kept is not None:
        words.append("the kept copy is damaged")
    if kept is not None and cleanup is not None and verdict in DECLARED_VERDICTS:
        words.extend(holds_at_least_as_much(kept, cleanup))
    return words


def relation_change(decided: dict, found) -> str:
    """Why the re-checked pair ``found`` (a PairResult) is not the relation a curator approved
    (``decided``: verdict, rotation, flipped, corrupt_side), or "". The engine's own safe verdicts
    stand for each other (identical/duplicate, no turn); a turned pair must have the same turn,
    a damaged clean-up copy must still be the damaged side (and the same turn)."""
    dv = decided.get("verdict")
    if found.verdict in ENGINE_SAFE_VERDICTS and found.safe_to_delete:
        return ""  # the engine alone would delete it now
    if found.verdict != dv and not (dv in ENGINE_SAFE_VERDICTS and found.verdict in ENGINE_SAFE_VERDICTS):
        return f"the pair is now {found.verdict}, not {dv} as approved"
    d_turn = (int(decided.get("rotation") or 0) % 360, bool(decided.get("flipped")))
    f_turn = (int(found.rotation or 0) % 360, bool(found.flipped))
    if d_turn != f_turn:
        return f"the turn changed: approved {turn_words(*d_turn)}, now {turn_words(*f_turn)}"
    if (decided.get("corrupt_side") or "none") != (found.corrupt_side or "none"):
        return f"the damaged side changed: approved {decided.get('corrupt_side') or 'none'}, now {found.corrupt_side or 'none'}"
    return ""


def deletion_refusal(*, decided: dict, found, kept, cleanup) -> str:
    """Why the pair as re-checked right before deletion may NOT be deleted now ("": it may).

    THE one "may be deleted now" rule for a pair, asked by the dry run and the executor alike (the
    dry run runs the executor's own guards), on fresh analyses of the bytes as they are then:
    ``kept``/``cleanup`` are FileAnalysis values, ``found`` the PairResult of verifying them again,
    ``decided`` the relation the curator approved (verdict, rotation, flipped, corrupt_side).
    In order: the kept copy is intact and holds at least as much (holds_at_least_as_much); the pair
    is one the engine alone marks safe, or one a curator may approve (approval_refusal, the rule
    review applied); and it is still the relation that was approved (relation_change)."""
    if getattr(kept, "status", "ok") != "ok":
        return f"the kept copy does not decode fully ({kept.status})"
    more = holds_at_least_as_much(kept, cleanup)
    if more:
        return f"the kept copy does not hold at least as much: {'; '.join(more)}; reingest this file instead"
    if not (found.verdict in ENGINE_SAFE_VERDICTS and found.safe_to_delete):
        refusal = approval_refusal(verdict=found.verdict, corrupt_side=found.corrupt_side, kept=kept, cleanup=cleanup,
                                   kept_intact=True)
        if refusal:
            reasons = "; ".join(str(r) for r in (found.reasons or [])[:3])
            return (f"the pair no longer verifies (verdict {found.verdict}: {'; '.join(refusal)}"
                    f"{'; ' + reasons if reasons else ''})")
    change = relation_change(decided, found)
    if change:
        return f"the pair is no longer what was approved: {change}"
    return ""


def _sha256(a) -> str:
    """SHA-256 of a file's bytes: an analysis's (hashed from its path if not yet), a row's ``checksum``."""
    if not getattr(a, "sha256", "") and not getattr(a, "path", None):
        return getattr(a, "checksum", "") or ""
    if not a.sha256 and a.path:
        import hashlib
        h = hashlib.sha256()
        try:
            with open(a.path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError:
            return ""
        a.sha256 = h.hexdigest()
    return a.sha256


def _same_bytes(c, m) -> bool:
    """Byte-identical files (FileAnalysis values or Asset rows), by SHA-256 of the content (sizes
    first: cheap)."""
    if getattr(c, "file_size", 0) and getattr(m, "file_size", 0) and c.file_size != m.file_size:
        return False
    sc, sm = _sha256(c), _sha256(m)
    return bool(sc) and sc == sm


def samples_shown_equal(a, b) -> bool:
    """Whether two files (FileAnalysis values or Asset rows) are shown to hold the same samples: the same
    bytes, or equal digests of their decoded pixels (``pixel_sha256``, ``proof.samples_digest``) where the
    digest covers every bit of both (``formats.samples_decoded_whole``: not a 16-bit RGB PNG, which Pillow
    decodes to 8 bits a sample; a TIFF's always). THE rule behind "identical" and behind a copy that holds
    more than 8-bit RGB (``formats.held_beyond_rgb8``) being safe to delete."""
    from .formats import samples_decoded_whole
    if _same_bytes(a, b):
        return True
    da, db = getattr(a, "pixel_sha256", "") or "", getattr(b, "pixel_sha256", "") or ""
    return bool(da) and da == db and all(
        samples_decoded_whole(getattr(x, "mode", "") or "", _known(getattr(x, "bit_depth", 0)), getattr(x, "format", ""))
        for x in (a, b))


def _proof_summary(p: dict) -> dict:
    """What is recorded with the candidate: every test's measurement and the limit it was held to
    (the tone test's shift per channel beside its limit too), so a curator or an auditor can see
    why a pair was called the same picture, not only that it was."""
    return {k: p.get(k) for k in ("size", "tolerance", "worst", "tiles", "floor_tiles", "worst_simulated", "geometry",
                                  "region", "damage_region", "filter_fit", "garble", "garbled", "speckle", "speckled",
                                  "tone", "chroma", "pixel", "reproduction", "stepped", "exposure", "balance",
                                  "plain", "even", "coding", "detail_held")}


def _orient(a: FileAnalysis) -> tuple:
    """The turn from a file's stored pixels to its display (EXIF)."""
    return EXIF_TO_DIHEDRAL.get(a.exif_orientation, (0, False))


def coded_without_loss(a: FileAnalysis) -> bool:
    """Whether a file's coding kept every pixel, for the proof: a lossless format, or a JPEG 2000
    shown to have kept every coding pass of its reversible wavelet (``every_pass``, read with its
    rendition). Not ``lossless`` (the wavelet alone, which a rate may have cut): that one answers
    whether a clean-up copy may hold more than a lossy kept copy, and counts a maybe as yes.

    Why: a lossless JPEG 2000 is a preservation master's usual form, and judged as a lossy kept copy
    (its loss modelled at a default quality, no reproduction test) the tolerances let film negative
    strips whose rebate numbers or stock differ through as safe duplicates, where the same pictures
    kept as TIFF were ``different``. (``_full_detail_proof`` holds such a kept copy as a lossy one too.)"""
    return a.format in LOSSLESS_FORMATS or (a.format in WAVELET_CODED_FORMATS and getattr(a, "every_pass", None) is True)


def _kept_quality(m: FileAnalysis, T: Thresholds) -> int | None:
    """The quality a lossy kept copy's own loss is modelled at (None: the kept copy is lossless)."""
    return (m.jpeg_quality or T.proof.default_quality) if not coded_without_loss(m) else None


def _kept_bits_quality(m: FileAnalysis, T: Thresholds) -> int | None:
    """The garble, speckle and plain-part tests' model of a lossy kept copy's own loss: a JPEG's own quality;
    another codec's, the JPEG quality that spends its bits on its picture
    (``proof.equivalent_jpeg_quality``, its rendition attached: ~95 for an 8:1 JPEG 2000, ~30 for a
    60:1 one, whose blotches beside a screenshot's hard edges the speckle test must allow). Not the
    tile tests': re-encoding an already smoothed kept picture leaves less than its own loss there,
    and the default quality's looseness covers that (a camera crop's 8:1 JPEG 2000 at its
    equivalent quality 93 failed a true copy's mean, seed 5)."""
    q = _kept_quality(m, T)
    bits = _bits_per_pixel(m)
    if q is None or m.jpeg_quality or m.rendition is None or bits is None:
        return q
    key = (m.sha256, m.file_size) if m.sha256 else ((m.path, m.file_size) if m.path else None)
    return equivalent_jpeg_quality(m.rendition, bits, key=key)


def _kept_wavelet_ratio(m: FileAnalysis, T: Thresholds) -> float | None:
    """A lossy kept JPEG 2000's compression ratio, raw bits (8 per channel) over its file's, for the
    proof's model of its own loss (None: not such a copy, or not known; a whole file, header included,
    so a little under the coder's own)."""
    bits = _bits_per_pixel(m)
    if m.format not in WAVELET_CODED_FORMATS or _kept_quality(m, T) is None or not bits or m.rendition is None \
            or _capped(m):
        return None
    # (a grey file's rendition is RGB, so its ratio counts three channels, three times its own: a model of its
    # loss far lossier than its coder's. Counted right, that model let edits through the patch test, which takes
    # the nearer of the difference and the modelled one: README, "Proof 1.49", built and reverted)
    ratio = 8 * (3 if m.rendition.ndim == 3 else 1) / bits
    return ratio if ratio >= 2 else None   # (under 2:1, lossless or nearly: no loss to model)


def _bits_per_pixel(m: FileAnalysis) -> float | None:
    """The file's size in bits per pixel of its picture (None: not known, or several pages)."""
    if not (m.file_size and m.width and m.height) or m.pages > 1:
        return None
    return 8 * m.file_size / (m.width * m.height)


@dataclass(frozen=True)
class PairDamage:
    """What the screen knows about damage on each side of a pair."""
    cleanup: bool         # the clean-up file's decoder complained, or its stream is garbled without complaint
    kept: bool            # the kept file's decoder complained
    cleanup_band: bool    # a flat band or garbage run found in the clean-up pixels
    kept_band: bool       # ... in the kept pixels
    silent_stream: bool   # the clean-up stream is garbled from one row on and the decoder did not complain
    complained: bool = False   # a side's decoder complained (damage not inferred from the pixels alone)

    @classmethod
    def of(cls, c: FileAnalysis, m: FileAnalysis, r: ScreenResult) -> PairDamage:
        return cls(cleanup=c.damaged or r.stream_a, kept=m.damaged, cleanup_band=r.banded_a, kept_band=r.banded_b,
                   silent_stream=r.stream_a, complained=c.damaged or m.damaged)

    @property
    def decoder(self) -> bool:
        """A side is damaged by decoder evidence (wider tolerances apply; never safe)."""
        return self.cleanup or self.kept

    @property
    def any(self) -> bool:
        return self.cleanup or self.kept or self.cleanup_band or self.kept_band


# --- verify_analyses, step by step ----------------------------------------------------------


def _by_checksum(c: FileAnalysis, m: FileAnalysis, T: Thresholds) -> PairResult | None:
    """Step 1. Byte-identical files are identical before any content logic, blank or not; but if
    the shared bytes do not decode fully, neither copy is good and a person decides."""
    if not _same_bytes(c, m):
        return None
    if c.status == "ok" and m.status == "ok":
        res = _new(T, diff_score=0.0, local_score=0.0, verdict="identical", reasons=["byte-identical files"])
        why = holds_at_least_as_much(m, c)
        res.safe_to_delete = not why
        res.reasons.extend(why)
        return res
    return _new(T, verdict="cleanup_corrupt", corrupt_side="cleanup",
                reasons=["byte-identical files, but the shared bytes do not decode fully: both copies are damaged",
                         "not safe: needs a person"])


def _undecodable(c: FileAnalysis, m: FileAnalysis, shared_id: bool, T: Thresholds) -> PairResult | None:
    """Step 2. A side that does not decode: the pair stands only on the ID both names carry."""
    if not c.readable or c.image is None:
        if shared_id:
            return _new(T, verdict="cleanup_corrupt", corrupt_side="cleanup",
                        reasons=["clean-up file does not decode: " + "; ".join(c.errors[:2]),
                                 "paired by the ID in its name"])
        return _new(T, verdict="different", reasons=["clean-up file does not decode"])
    if not m.readable or m.image is None:
        if shared_id:
            return _new(T, verdict="match_corrupt", corrupt_side="match",
                        reasons=["kept copy does not decode: " + "; ".join(m.errors[:2]),
                                 "paired by the ID in its name"])
        return _new(T, verdict="different", reasons=["kept copy does not decode"])
    return None


def _screen(c: FileAnalysis, m: FileAnalysis, T: Thresholds, turn=None, turn_score: float = 0.0,
            bands: bool = True, images: tuple | None = None) -> ScreenResult | None:
    """Step 3. Stage 1 on the reduced pictures: the turn (``turn``: this one, scored
    ``turn_score``), damage on each side (``bands``: flat bands among it), and how far the part both
    sides trust differs (None: no turn fits the aspect ratio). ``images``: (copy's, kept's) reduced
    pictures to screen instead of the analyses' own (``_screen_unaliased``)."""
    a, b = images if images is not None else (c.image, m.image)
    return compare_arrays(a, b, a_orient=_orient(c), b_orient=_orient(m),
                          a_damaged=c.damaged, b_damaged=m.damaged, a_stream_check=(c.format == "JPEG"),
                          a_chroma_floor=_chroma_drift_floor(c, T) if c.format == "JPEG" else None,
                          a_mcu=_mcu_share(c), orientation=turn, orientation_score=turn_score, bands=bands,
                          a_jpeg=c.format == "JPEG", thresholds=T)


def _screen_unaliased(c: FileAnalysis, m: FileAnalysis, dmg: PairDamage, T: Thresholds,
                      turn: tuple | None = None) -> ScreenResult | None:
    """The screen again on reduced pictures made from the full-detail renditions by Lanczos, for an
    undamaged pair whose reduced pictures are both mostly detail of a pixel or two (``fine_detail`` over
    ``alias_detail``); None for any other pair, or with no renditions. ``turn``: (turn, score) to screen
    at, as ``verify_analyses`` was asked (None: the best-scored). A second verification at a plainer turn
    (``_first_proven_turn``) that screened again at the best-scored turn instead came back to the turn
    it was called from, and called itself again without end: a halftone's crop, turned and mirrored,
    symmetric within its coding noise, was "verification failed: RecursionError".

    Why: the analyses' reduced pictures are made for the fingerprints and the search, by box filters
    (Pillow's ``reduce``, JPEG's draft decoding), which fold detail finer than the reduced picture's
    pixels back as moire, a different moire for each size a picture is reduced from. An engraving's
    hatching, a halftone screen or a dithered print then differs at the screen from its own true copy:
    an attack's Lanczos copies of engravings at 55-65 % and of a halftone at 33 % were "global difference
    0.031-0.044 > 0.03", `different` before the proof ran (6 of 16 engravings, 4 of 16 halftones). Reduced
    from the renditions by Lanczos, which keeps such detail out, they differ by 0.005-0.025; pictures of
    ordinary detail (fine_detail 1-16) differ by the same either way, so only fine-textured pairs pay
    for the renditions here. The full-detail proof still decides every pair that agrees. Only for a copy
    at ``alias_min_scale`` of the kept copy's size at least: under it such a copy's own pixels are moire,
    and a 1 px line drawn across a 10 px halftone or a 5 px dithered print, copied at 30 % by
    ImageMagick, passed the proof (0.30-0.38 of its tolerance, the true copy's 0.28): a safe duplicate
    (an attack's 5 such look-alikes). Those copies stay `different`, as before proof 1.37."""
    # (dmg.any holds either side's decoder damage)
    if dmg.any or fine_detail(c.image) < T.alias_detail or fine_detail(m.image) < T.alias_detail:
        return None
    if max(c.width or 0, c.height or 0) < T.alias_min_scale * max(m.width or 0, m.height or 0):
        return None
    if not (attach_rendition(c) and attach_rendition(m)):
        return None

    def reduced(a: FileAnalysis) -> np.ndarray:
        h, w = a.image.shape[:2]
        return np.asarray(Image.fromarray(np.ascontiguousarray(a.rendition)).resize((w, h), Image.Resampling.LANCZOS))
    at, score = turn or (None, 0.0)
    return _screen(c, m, T, turn=at, turn_score=score, images=(reduced(c), reduced(m)))


def _kept_stream_reads_so(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> bool:
    """Whether the damage the screen found in the clean-up copy's stream, which its decoder did not
    report, reads just as well as the kept JPEG's own stream garbled so: the screen with the two
    sides' roles swapped (at the inverse turn) finds it in the kept copy's stream.

    Why: a flipped bit that still decodes garbles a JPEG from one row to its end, in its own scan
    order, whichever side it is in; the screen looks for it in the clean-up copy only. A kept JPEG
    flipped so, read against its intact copy, was "clean-up copy is damaged" (an attack's kept
    JPEGs, and 20 of 48 single flips of one kept photograph), and a damaged clean-up copy is one a
    curator may approve deleting: the only good copy. Only a kept JPEG: the signature the screen
    looks for is a JPEG stream's (a kept PNG, TIFF and JPEG 2000 garbled without complaint are
    left: 3 of the attack's 789 pairs)."""
    if m.format != "JPEG" or m.damaged:
        return False
    back = compare_arrays(m.image, c.image, a_orient=_orient(m), b_orient=_orient(c), a_stream_check=True,
                          a_chroma_floor=_chroma_drift_floor(m, T), a_mcu=_mcu_share(m),
                          orientation=inverse(r.turn), thresholds=T)
    return back is not None and back.stream_a


def _flat_apart(r: ScreenResult, dmg: PairDamage, T: Thresholds) -> str | None:
    """Why a pair whose damage is found from the pixels alone is not one picture with one damaged
    side: each side is flat (``band_apart`` of the picture at least) where the other is not and shows
    something else, so each holds what the other lacks; None when that is not so.

    Why: damage leaves one side flat where the other has the picture (a fill, a painted band), and
    where both are flat along the same rows (a kept band over the copy's own black background,
    ``kept_steps``) the bands overlap. Two pages of one layout are each blank where the other has
    text (a paragraph's end, the last lines): a table page against another such page, both 25-40 %
    copies, was "kept copy is damaged: flat band where the clean-up copy has detail" (17 of 35 of my
    edited table pages were paired so with another page, each band masked and the damaged side's
    wider tolerance letting the rest through). Both sides damaged, each in its own place, is not a
    pair that says which copy to keep either."""
    if dmg.complained or not (dmg.cleanup_band and dmg.kept_band):
        return None
    if min(r.band_only_a, r.band_only_b) < T.band_apart:
        return None
    return (f"each side is flat where the other shows the picture ({r.band_only_a:.0%} of the clean-up copy, "
            f"{r.band_only_b:.0%} of the kept copy, apart): each holds what the other lacks, another picture "
            f"of one layout or both damaged, so neither is named the damaged copy")


def _band_down_the_stored_rows(c: FileAnalysis, r: ScreenResult, T: Thresholds) -> str | None:
    """The reason a flat band in an EXIF-turned clean-up JPEG, whose decoder did not complain, is not
    what its stream left, or None: the band runs across the whole picture as displayed, and so down
    every row the file stores, beside a part that agrees in every one of those rows; a stream garbles
    whole stored rows, from one on. Not where the band is a decoder's fill grey (``DECODER_FILL``).

    Why: "flat band where the kept copy has detail" named the copy damaged for an attack's caption
    bars and plain strips over the lower part of EXIF-turned copies (58 of its 67 flat-band look-alikes;
    25 are `different` now; the rest are mid-grey bars, turned half, or read otherwise), and a damaged
    clean-up copy is one a curator may approve deleting."""
    if c.format != "JPEG" or c.damaged or r.region_a is None or _orient(c)[0] % 180 != 90:
        return None
    box = _region_turned(r.region_a, inverse(_orient(c)))   # the band in the stored frame
    if box["bottom"] - box["top"] < 0.98 or box["right"] - box["left"] > 0.9:
        return None
    g = grey(c.image)
    # (its inner rows: the screen's band grows by a row or two into the picture beside it)
    if _decoder_filled(g[_region_slices(r.region_a, *g.shape, inner=True)], T):
        return None   # the grey a decoder fills what it could not decode with: damage
    return ("the clean-up copy's flat band runs down every row its file stores (it is turned by its EXIF "
            "orientation), beside a part that agrees in each of them, and a JPEG stream garbles whole rows from "
            "one on: another picture there (a caption, a bar), not damage")


def _not_where_a_stream_breaks(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> str | None:
    """The reason the difference the screen found as the clean-up JPEG's stream garbled without a
    decoder's complaint is not that, or None: at full detail, in the copy's stored frame, it begins
    on a row that is not a block's edge.

    Why: a stream that loses its place does so at a coding unit and garbles every later one, so the
    difference begins on a row of the 8x8 px block grid (read over the last column of blocks, which
    every unit after the break reaches). An attack's captions, bars and other photographs below a
    shared top (39 pairs) were "clean-up copy is damaged", which a curator may approve deleting;
    their edge is on any row: 29 of 35 were off the grid. Of 30 silently flipped copies with such a
    step, 29 began on it, and the other a block higher, where its first rows barely differ (so the
    first row over ``stream_edge_share`` of the step, with 6 of its block's 8 over too, is tried as
    well: a generated copy flipped 12 times steps most where its later flips garbled it). Where no
    clear step is read (a drift of a few levels, a damage that spares the last column: most flips)
    or the rendition is shrunk under 3 px a block, the screen's finding stands; and where the copy
    turns the grey a decoder fills a lost part with (``DECODER_FILL``): the generated corpora's grey
    bands (three of the shared dev corpus's damaged copies) begin on any row, and nothing but damage
    paints that."""
    if c.format != "JPEG" or not (attach_rendition(c) and attach_rendition(m)):
        return None
    a = c.rendition
    h, w = a.shape[:2]
    scale = max(c.width or 0, c.height or 0) / max(h, w)   # stored px a rendition px
    block = 8 / max(scale, 1.0)
    if block < 3:
        return None
    kept = Image.fromarray(grey(dihedral(m.rendition, *r.turn))).resize((w, h), Image.Resampling.LANCZOS)
    stored = inverse(_orient(c))
    ga = grey(a)
    d = dihedral(np.abs(ga - np.asarray(kept)), *stored)   # the copy's stored frame
    n, width = d.shape
    if n < 16:
        return None
    p = d[:, width - max(2, int(round(block))):].mean(axis=1, dtype=np.float64)
    # the step: the row that best splits the profile into two levels (least squared error)
    ys = np.arange(2, n - 2)
    cs, cs2 = np.cumsum(p), np.cumsum(p * p)
    m1, m2 = cs[ys - 1] / ys, (cs[-1] - cs[ys - 1]) / (n - ys)
    err = (cs2[ys - 1] - ys * m1 * m1) + (cs2[-1] - cs2[ys - 1] - (n - ys) * m2 * m2)
    y0 = int(ys[np.argmin(err)])
    lo, hi = float(p[:y0].mean()), float(p[y0:].mean())
    if hi < T.stream_edge_step * lo + T.stream_edge_floor:
        return None
    # the first row over the crossing that most of the next block's rows are over too (later flips of a
    # stream garble it more: the best split can lie far below where the damage began)
    over = p > T.stream_edge_share * (hi - lo) + lo
    run = np.convolve(over, np.ones(8), "full")[7:7 + n]   # rows over from each row on, 8 at most
    first = int(np.argmax(over & (run >= 6)))
    if any(round(y * max(scale, 1.0)) % 8 == 0 for y in (y0, first)):
        return None
    rows = max(2, int(round(block)))
    below = dihedral(ga, *stored)[first:first + 3 * rows]
    if _decoder_filled(below[:2 * rows], T) or _decoder_filled_rows(below, rows, T):
        return None   # the grey a decoder fills what it could not decode with: damage, wherever it begins
    return (f"the clean-up copy differs from the kept picture from stored row {round(first * max(scale, 1.0))} to "
            f"its end, a row off the 8 px block grid, where a JPEG stream that loses its place begins to garble: "
            f"another picture there (a caption, a panel), not damage")


def _a_picture_where_the_stream_breaks(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> str | None:
    """The reason what the screen read as the clean-up JPEG's stream garbled without a decoder's
    complaint is another picture there, or None: at full detail, in the copy's stored frame, from the
    block row where the damage the screen found begins, the copy's blocks meet as a picture's do (they
    step under ``stream_unmet`` times as much across their edges as the kept picture's saved so there,
    ``garbled_blocks``), its detail is not the kept picture's re-levelled (``compare._fine_detail`` within
    ``shift_detail_ratio``, as ``compare._keeps_detail`` reads it), and it is not the grey a decoder fills with. Not where neither
    side has ``stream_detail_floor`` grey levels of fine detail there: a smooth picture's only detail is
    its coding's noise, and re-levelled by a flipped DC it differs from the kept picture's by as much as
    the detail itself (a fresh-eyed attack's colour wheels, fundi and moons, 11 of 1,800 silently
    flipped copies, were "another picture" until this floor).

    Why: the screen's reading (``compare._progressive_damage``, persistent and wide from one row to the
    end) takes anything that differs from one row on for a broken stream, and a step on the block grid
    passes ``_not_where_a_stream_breaks``: an attack's copies with another picture's lower half, or a
    photo pasted at the bottom right, on the 8 px grid, were "clean-up copy is damaged" (25 of 42 and 17 of
    42), though each holds what the kept picture lacks. A stream read out of step decodes its later blocks
    from other blocks' bits, so they no longer meet, or re-levels the picture's own detail (a flipped DC);
    a picture there does neither."""
    if c.format not in BLOCK_CODED_FORMATS or c.damaged or r.region_a is None \
            or not (attach_rendition(c) and attach_rendition(m)):
        return None
    copy = _stored_blocks(c)
    if copy is None or m.rendition.dtype != np.uint8:
        return None
    h, w = copy.shape[:2]
    kept = np.asarray(Image.fromarray(_kept_in_stored_frame(c, m, r.turn)).resize((w, h), Image.Resampling.LANCZOS))
    top = int(_region_turned(r.region_a, inverse(_orient(c)))["top"] * h) // 8 * 8
    if h - top < 16 or w < 16:
        return None
    ca, ka = np.ascontiguousarray(copy[top:]), np.ascontiguousarray(kept[top:])
    gc, gk = grey(ca), grey(ka)
    if _decoder_filled(gc, T) or _decoder_filled_rows(gc, 3, T):
        return None   # the grey a decoder fills what it could not decode with (a band of it, a few rows at least): damage
    unmet = garbled_blocks(ca, ka, c.jpeg_quality or T.proof.default_quality)
    if unmet >= T.stream_unmet:
        return None
    fc, fk = _fine_detail(gc), _fine_detail(gk)
    detail = max(float(np.abs(fc).mean()), float(np.abs(fk).mean()))
    # (the kept picture's detail where it lies, or moved along the stored rows by whole blocks, as a stream that
    # lost its place and found it again a unit later moves the rest: 8-32 px either way)
    apart = min(float(np.abs(fc - np.roll(fk, k, axis=1)).mean()) for k in (0, 8, -8, 16, -16, 24, -24, 32, -32))
    if detail < T.stream_detail_floor or apart < T.shift_detail_ratio * detail:
        return None
    return (f"the clean-up copy differs from the kept picture from stored row {top} to its end, but its blocks "
            f"there meet as a picture's do ({unmet:.2f} times the kept picture's steps across them, saved so) and its "
            f"detail is not the kept picture's re-levelled: another picture there, not a stream read out of step")


def _beyond_cap_lacking(c: FileAnalysis, m: FileAnalysis, turn, T: Thresholds) -> dict | None:
    """Why two files over the proof's cap are not one picture in their detail finer than it, or None: the
    clean-up copy holds more of it in a block (``proof.beyond_cap_map``) than ``beyond_cap_factor`` x the kept
    copy's most in the 3x3 blocks there + ``beyond_cap_floor``, where the kept copy is coded without loss; or,
    the copy being of the kept picture's very size, the kept copy holds so much more than the copy. {reason,
    region}. Only where both maps were measured (both files over the cap, fp 2.8).

    Why: the proof compares renditions capped at ``max_side``, and a 1-2 px texture, a halftone screen or grain
    is gone from both: a fresh-eyed attack's checkerboard over a sixteenth of a 4096 px TIFF (plain in the copy,
    or the other way round), screened against contone scans and a grainy scan against its denoised master were
    safe duplicates. A derivative holds no more of that detail than its source (shrinking removes it, JPEG adds
    little: true copies at q20-92, 60-100 %, reached 0.55 of the limit), and at the source's very size keeps
    most of it (0.69 at q20). Not against a lossy kept copy: its coder took that detail away itself."""
    mc, mk = beyond_cap_array(c.beyond_cap), beyond_cap_array(m.beyond_cap)
    if mc is None or mk is None:
        return None
    P = T.proof
    mk = dihedral(mk, *turn)
    if mk.shape != mc.shape:   # (renditions of one picture, a block apart at most by rounding)
        mk = mk[np.arange(mc.shape[0]) * mk.shape[0] // mc.shape[0]][:, np.arange(mc.shape[1]) * mk.shape[1] // mc.shape[1]]
    checks = []
    if coded_without_loss(m):
        checks.append(("clean-up", mc, ndimage.maximum_filter(mk, 3, mode="nearest")))
    if _same_dims(c, m):
        checks.append(("kept", mk, ndimage.maximum_filter(mc, 3, mode="nearest")))
    for whose, more, other in checks:
        over = more / (P.beyond_cap_factor * other + P.beyond_cap_floor)
        if float(over.max()) <= 1.0:
            continue
        h, w = over.shape
        region = _window_region(over > 1.0, h, w, side=1, stride=1)   # (in blocks: the fractions are the same)
        y, x = np.unravel_index(int(np.argmax(over)), over.shape)
        other_side = "kept" if whose == "clean-up" else "clean-up"
        return {"region": region, "reason": (
            f"the {whose} copy holds detail finer than the proof's {P.max_side} px that the {other_side} copy lacks, "
            f"in {int((over > 1.0).sum())} of {h * w} blocks (worst {float(more[y, x]):.1f} grey levels against {float(other[y, x]):.1f}, "
            f"{float(over[y, x]):.2f} of its limit): a texture, screen or grain one side has and the other has not")}
    return None


def _colour_where_the_copy_is_grey(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> dict | None:
    """{reason, region} when the clean-up copy is a grey picture (no colour anywhere), the kept copy
    is grey over most of it too, and yet carries colour in a part (``grey_colour_level`` of chroma
    RMS in ``grey_colour_windows`` 16 px windows at least, at the copy's size); else None.

    Why: a codec codes a grey picture's colour as nothing (true copies of ten grey pictures kept as
    JPEG 2000 at 1-40:1: not one such window), so colour there is either damage the kept file
    decodes without complaint (a JPEG 2000's code-blocks decoded from wrong bytes speckle it
    magenta and green) or colour the copy lost. The tile and speckle tests judge the kept picture
    as the copy's coding would leave it, and a grey copy's coding leaves no colour to judge: a kept
    JPEG 2000 a quarter of which was coloured noise was a safe duplicate of its grey copy, as were
    others speckled over 3-25 % of their rows (an attack's 7). Not proven the same: a person looks."""
    if not (attach_rendition(c) and attach_rendition(m)):
        return None
    a, kept = c.rendition, m.rendition
    if a is None or kept is None or kept.ndim != 3:
        return None
    if a.ndim == 3 and not ((a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()):
        return None   # (a copy with any colour: the proof's colour tests judge it)
    h, w = a.shape[:2]
    b = np.asarray(Image.fromarray(np.ascontiguousarray(dihedral(kept, *r.turn))).resize(
        (w, h), Image.Resampling.LANCZOS), np.float32)
    cb, cr = chroma(b[..., 0], b[..., 1], b[..., 2])
    side = 16
    n0, n1 = h // side, w // side
    if not (n0 and n1):
        return None
    e = (cb * cb + cr * cr)[:n0 * side, :n1 * side].reshape(n0, side, n1, side).mean(axis=(1, 3))
    rms = np.sqrt(e)
    coloured = rms > T.grey_colour_level
    if int(coloured.sum()) < T.grey_colour_windows or float(np.median(rms)) > T.grey_colour_median:
        return None
    region = bbox(np.repeat(np.repeat(coloured, side, 0), side, 1))
    return {"region": region, "reason": (
        f"the clean-up copy is a grey picture, and so is the kept copy but for {int(coloured.sum())} of "
        f"{coloured.size} 16 px parts in colour (up to {float(rms.max()):.0f} levels of chroma): a kept "
        f"{m.format} damaged without its decoder's complaint (its colour speckled), or colour the copy "
        f"lost; not proven the same, a person looks")}


def _mcu_share(c: FileAnalysis) -> float | None:
    """A JPEG's coding unit (``proof.JPEG_MCU``, or one 8 px block with chroma kept whole where its
    coding is known: the screen may run before the rendition that reads it) over its long side: the
    step a stream that lost its place moves the rest of the picture by (``compare_arrays``'
    ``a_mcu``); None for another format."""
    if c.format != "JPEG" or not max(c.width or 0, c.height or 0):
        return None
    unit = JPEG_MCU // 2 if (c.jpeg_coding or {}).get("subsampling") == 0 else JPEG_MCU
    return unit / max(c.width, c.height)


def _turn_fits(c: FileAnalysis, m: FileAnalysis, turn: tuple, T: Thresholds) -> bool:
    """The kept picture turned by ``turn`` fits the copy's aspect ratio (``compare.turn_fits``, on the
    pictures the screen compares): a reading at a turn the screen did not choose keeps to it too."""
    return turn_fits(c.image.shape, m.image.shape, turn, T.aspect_tol)


def _jpeg_coding(c: FileAnalysis) -> dict | None:
    """How a JPEG copy was coded (``proof.jpeg_coding``): kept on its analysis with the rendition, or
    read from the file when it is at hand and the analysis is older (or has no rendition yet)."""
    if c.format not in BLOCK_CODED_FORMATS:
        return None
    if c.jpeg_coding:
        return c.jpeg_coding
    if not c.path:
        return None
    try:
        with Image.open(c.path) as im:
            return jpeg_coding(im)
    except Exception:
        return None


def _dc_steps(c: FileAnalysis) -> tuple | None:
    """Grey levels one unit of a JPEG's luma and chroma DC coefficients move an 8x8 block by (each
    table's DC step / 8), as (luma, chroma): from the file's own tables (``_jpeg_coding``), else from
    its estimated quality by the IJG scaling of the standard tables (DC 16 and 17).
    None: not a JPEG, or not known; chroma None for a grey JPEG."""
    coding = _jpeg_coding(c)
    if coding and coding.get("dc"):
        luma, chroma = coding["dc"]
        return float(luma), (float(chroma) if chroma is not None else None)
    if not c.jpeg_quality:
        return None
    return luma_dc_step(c.jpeg_quality), chroma_dc_step(c.jpeg_quality)


def _chroma_dc_step(c: FileAnalysis) -> float | None:
    """Grey levels one unit of a JPEG copy's chroma DC coefficient moves a block by (``_dc_steps``).
    None: not known, or a grey JPEG."""
    steps = _dc_steps(c)
    return steps[1] if steps else None


def _copy_dc_steps(c: FileAnalysis, T: Thresholds) -> tuple | None:
    """The clean-up copy's own (luma, chroma) DC steps for the plain-part test: a JPEG's
    (``_dc_steps``; a grey JPEG's luma for both); for a lossless copy, a JPEG's at the default quality
    (a PNG or TIFF made from a JPEG, or reduced to 256 colours, keeps that JPEG's rounding or its own,
    which nothing in the file tells: 2.0-2.3 levels over a sky); None for another lossy codec (the
    proof models it at its default quality)."""
    if coded_without_loss(c):
        q = T.proof.default_quality
        return luma_dc_step(q), chroma_dc_step(q)
    return _jpeg_dc_steps(c)


def _jpeg_dc_steps(a: FileAnalysis) -> tuple | None:
    """A JPEG's own (luma, chroma) DC steps for the plain-part test (``_dc_steps``; a grey JPEG's luma
    for both), the kept copy's as the copy's: each rounds its block means. None for another format."""
    steps = _dc_steps(a) if a.format in BLOCK_CODED_FORMATS else None
    return None if steps is None else (steps[0], steps[1] if steps[1] is not None else steps[0])


def _jpeg_subsampling(c: FileAnalysis) -> int | None:
    """A JPEG copy's chroma subsampling as Pillow numbers it (0 4:4:4, 1 4:2:2, 2 4:2:0), from
    ``_jpeg_coding``; None otherwise (a grey JPEG, another format, not known)."""
    if c.format != "JPEG":
        return None
    coding = _jpeg_coding(c)
    return coding.get("subsampling") if coding else None


def _luma_table(c: FileAnalysis) -> tuple | None:
    """A JPEG copy's own luma quantisation table (64 values, natural order) from ``_jpeg_coding``; None:
    not a JPEG, or an analysis made before proof 1.36 kept it (the coding test then takes the IJG
    table at the copy's quality, and stands aside where that does not explain the copy)."""
    if c.format != "JPEG":
        return None
    coding = _jpeg_coding(c)
    luma = coding.get("luma") if coding else None
    return tuple(luma) if luma else None


def _chroma_drift_floor(c: FileAnalysis, T: Thresholds) -> float | None:
    """The least chroma drift (0..1) that is stream damage in this copy: ``drift_chroma_steps`` of
    its chroma DC step. Why: a flip the decoder recovered from moves every later block by a whole
    step at least, while the copy's own coding rounds a flat colour by up to half a step one way;
    at q40-50 that is ~1 grey level, over the fixed floor, and an attack's true copies of photographs
    over a saturated field (5 of 40 at q50, 11 of 40 at q40) were cleanup_corrupt."""
    step = _chroma_dc_step(c)
    return None if step is None else T.drift_chroma_steps * step / 255.0


def _local_limit(dmg: PairDamage, T: Thresholds, kept_modelled: bool) -> float:
    """The screen's limit on the worst window of an undamaged pair: ``same_local``, or, against a
    kept copy whose loss the proof models exactly (``_kept_modelled``), ``proven_local``, leaving
    the rest to the full-detail proof.

    Why: at the screen's 256 px, sharp text and lines shrunk to 30-50 % and saved at q60-85 (a
    screenshot, a diagram) differ from the kept copy by 0.086-0.12 in their worst window: 17 true
    copies in eight corpora made from screenshots were "different" before any proof. Such a pair
    then stands only if the proof accounts for the copy (``_proof_accounts_for_copy``, checked in
    ``verify_analyses``): the tile tests alone passed an 18 px square lifted by 30 grey levels at
    0.95 of their tolerance. Against a lossy kept JPEG (a q85 JPEG) its own loss widens every
    tolerance and a region lifted by 25 levels passed (proof 1.5's attack): the screen keeps its
    limit there. Nor for a pair with a damaged side, a band found in the kept pixels included: the
    proof's tolerances are wider there and nothing accounts for the copy, and when this limit was
    tried there (proof 1.24, before review) 64 of 660 edited look-alikes of banded kept copies
    (squares lifted, captions, dialogs pasted on, shifted by 1-3 px) became match_corrupt, 11 of
    them with no full-detail proof at all, against 10 of 660 true copies gained."""
    return T.proven_local if kept_modelled and not dmg.any else T.same_local


def _stretched(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> str | None:
    """Why the copy is not the kept picture at one scale of the whole frame, by the sizes of the two
    pictures the proof compared (their renditions: a PDF's page as rendered, not its largest image;
    ``proof.stretch``, the kept one turned as the screen found it): more than ``stretch_px`` px of the
    smaller picture and ``shift_frac`` of its side off; None when it is one scale. Read after the proof
    has found the same picture, which brings the kept picture to the copy's width and height each by
    its own scale: a crop is the proof's to name ("reframed"). (A rendition capped at 2048 px rounds a
    side by half a pixel more, which ``shift_frac``, 10 px at that size, covers.)"""
    (ha, wa), (hb, wb) = c.rendition.shape[:2], m.rendition.shape[:2]
    kept = (hb, wb) if int(r.turn[0]) % 180 == 90 else (wb, hb)
    s = stretch((wa, ha), kept)
    if s is None or s["px"] <= T.proof.stretch_px or abs(s["frac"]) <= T.proof.shift_frac:
        return None
    return (f"stretched: the copy is {abs(s['frac']) * 100:.1f} % {'wider' if s['frac'] > 0 else 'taller'} for its "
            f"{'height' if s['frac'] > 0 else 'width'} than the kept picture ({wa}x{ha} against {kept[0]}x{kept[1]}: "
            f"{s['px']:.1f} px off one scale of the whole frame; a resize rounds each side by under a pixel)")


def _kept_modelled(m: FileAnalysis) -> bool:
    """The proof can account for a copy of this kept file in full: a lossless one is reproduced pixel
    for pixel (the reproduction test), a JPEG 2000's loss is modelled as spread evenly with no stroke
    or area standing out of it (the even-loss, stroke and patch tests, proof 1.18-1.21; since 1.21)."""
    return coded_without_loss(m) or m.format in WAVELET_CODED_FORMATS


def _proof_accounts_for_copy(proof: dict | None) -> bool:
    """The proof accounted for the copy, not only kept it within the tile tests' tolerance: it made
    the copy from the kept picture pixel for pixel (``reproduction``), or it explained the copy as a
    kept JPEG 2000's loss spread evenly, with no stroke or area standing out of it (``even`` with its
    stroke and patch tests measured). The screen's ``proven_local`` holds only then. Not when those
    tests held the copy to the kept picture as it is (``kept_as_is``, proof 1.48: a lossless copy of a
    lossy kept copy, a JPEG 2000 or WebP copy): there they only refuse, and the screen's limit stands
    (an attack's 2 px line, 25 levels, in a 31 % PNG copy of a 10:1 JPEG 2000, at 0.099 over
    ``same_local``, passed them and was a safe duplicate)."""
    proof = proof or {}
    even = proof.get("even") or {}
    return bool(proof.get("reproduction")) or (even.get("stroke") is not None and even.get("patch") is not None
                                               and not even.get("kept_as_is"))


def _screen_other_turns(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds, strict: bool = False):
    """Step 4, when the best-scored turn's screen failed, or agreed only within ``proven_local``
    (``strict``: then another turn must agree within ``same_local``): the screen of the next turn
    that also fits (scored within the limit) and agrees, with its damage (none), or None.

    Why: the turn is scored on 40x40 greys over the rows and columns each side trusts, and a
    picture that is mostly one flat colour (a phantom's black, a screenshot's white margins) can
    score a wrong turn 0.0 over a sliver both trust; 48-66 px copies of such crops were
    "different" with the right turn second (local difference 0.04-0.07 there). Whatever turn
    agrees here still faces the full-detail proof, and a turned copy is never safe to delete.
    Undamaged pairs, as a rule: damage widens what agrees, and a bit-flipped screenshot agreed,
    mirrored, with another white crop in its intact part (a wrong match, if never a safe one). A
    damaged pair only when its best turn leaves too little intact to judge anything
    (``damaged_min_coverage``) and another turn scored as well (within ``orient_tie``: the score's
    coin toss) agrees over most of the picture (``low_coverage``): a truncated copy of a sky crop
    scored the transpose 0.351 and upright 0.359; transposed, its grey fill covered everything,
    upright its intact 63 % agreed to 0.007, and the pair was "different". And, by the damaged rule,
    an undamaged pair whose other turn, scored within ``orient_tie``, finds the copy's stream
    garbled without decoder complaint where the best turn did not: the damage is in the copy's own
    stored stream, whatever turn the kept picture is read at, so only the right turn shows an
    intact top agreeing (a 256 px copy of the moon's plain surface garbled from 80 % down scored
    mirrored 0.377, upright 0.385: "different" mirrored, seed 1202)."""
    damaged = c.damaged or m.damaged
    if damaged and r.coverage >= T.damaged_min_coverage:
        return None
    for score, turn in r.other_turns:
        if score > (r.orient_score + T.orient_tie if damaged else T.max_orient_score):
            break   # best first: no later turn fits either
        alt = _screen(c, m, T, turn=turn, turn_score=score)
        if alt is None:
            continue
        dmg = PairDamage.of(c, m, alt)
        if damaged or (dmg.silent_stream and not r.stream_a and score <= r.orient_score + T.orient_tie):
            if alt.coverage >= T.low_coverage and _screen_agrees(alt, dmg, T, []):
                return alt, dmg
        elif not dmg.any and _screen_agrees(alt, dmg, T, [], kept_modelled=_kept_modelled(m) and not strict):
            return alt, dmg
    return None


def _intact_detail_needed(dmg: PairDamage, shared_id: bool, T: Thresholds) -> float:
    """The grey std an intact part under ``low_coverage`` needs to tell two pictures apart
    (``min_intact_std``); none when the names share an ID and the only damage found is a band in
    the kept copy.

    Why: a plain intact part agrees with any picture as plain (a blank page, a sky), so without
    other evidence it proves nothing. The name is that evidence, and the intact part can still
    contradict it, as strictly as ever. With the band in the kept copy the verdict is
    ``match_corrupt``, never safe: it shows a curator a damaged kept file whose only good copy may be
    this one. A grey band over the lower half of a kept JPEG 2000 of the moon's plain surface (grey
    std 3.3 above it), its copy named after it, was "different": the damage stayed hidden. The screen's
    rule only: where the full-detail proof has too little to judge (``_inferred_damage_unproven``),
    detail is needed whatever the names say (waived there too, another moon crop named after a banded
    kept crop, agreeing turned 180 degrees at the screen, became ``match_corrupt``)."""
    if shared_id and dmg.kept_band and not (dmg.cleanup or dmg.kept or dmg.cleanup_band):
        return 0.0
    return T.min_intact_std


def _screen_agrees(r: ScreenResult, dmg: PairDamage, T: Thresholds, reasons: list,
                   min_coverage: float | None = None, kept_modelled: bool = False,
                   min_detail: float | None = None) -> bool:
    """Step 4. The intact part (outside flat bands and after-damage rows) must agree strictly.
    Appends why not to ``reasons``. ``min_coverage``: the intact part needed (default: the one for
    the pair's damage; ``_named_damaged_copy`` asks for less). ``kept_modelled``: the proof models
    the kept copy's loss exactly (``_kept_modelled``: ``proven_local``). ``min_detail``: the detail an
    intact part under ``low_coverage`` needs (default ``min_intact_std``; ``_intact_detail_needed``)."""
    if min_detail is None:
        min_detail = T.min_intact_std
    if min_coverage is None:
        min_coverage = T.damaged_min_coverage if dmg.decoder else T.min_coverage
    local_limit = T.damaged_local if dmg.decoder else _local_limit(dmg, T, kept_modelled)
    # the turn is scored on the whole picture: damage (decoder errors, or flat bands however they
    # were found) raises that score, so damaged pairs get the same wider tolerance
    orient_limit = T.max_orient_score * (T.damaged_orient_factor if dmg.any else 1.0)
    same = (r.coverage >= min_coverage
            and r.diff_score <= T.same_diff
            and r.local_score <= local_limit
            and r.orient_score <= orient_limit)
    if same and r.coverage < T.low_coverage and r.intact_std < min_detail:
        same = False
        reasons.append("the intact part has too little detail to tell")
    if not same:
        if r.local_score > local_limit:
            reasons.append(f"local difference {r.local_score:.3f} > {local_limit} (edited, reframed or other picture)")
        if r.diff_score > T.same_diff:
            reasons.append(f"global difference {r.diff_score:.3f} > {T.same_diff}")
        if r.coverage < min_coverage:
            reasons.append(f"too little intact picture to compare ({r.coverage:.0%})")
        if r.orient_score > orient_limit:
            reasons.append(f"no turn of the kept copy fits ({r.orient_score:.2f} > {orient_limit:.2f})")
        if not reasons:
            reasons.append("pictures do not line up")
    return same


def _stored_blocks(c: FileAnalysis) -> np.ndarray | None:
    """A block-coded clean-up copy's full-detail rendition turned back into its stored frame, where its
    8x8 px blocks lie on our grid; None for another format, no rendition, one that is a reduction of its
    file (the blocks no longer on it) or not 8-bit. What ``_block_edges`` and ``_blocks_off`` read."""
    if (c.format not in BLOCK_CODED_FORMATS or c.rendition is None or _capped(c)
            or c.rendition.dtype != np.uint8):
        return None
    return dihedral(c.rendition, *inverse(_orient(c)))


def _kept_in_stored_frame(c: FileAnalysis, m: FileAnalysis, turn: tuple) -> np.ndarray:
    """The kept picture's full-detail rendition turned by ``turn`` onto the copy as displayed, then into the
    copy's stored frame (``_stored_blocks``'s), where the copy's 8x8 px blocks lie."""
    return np.ascontiguousarray(dihedral(dihedral(m.rendition, *turn), *inverse(_orient(c))))


def _block_edges(c: FileAnalysis, m: FileAnalysis, T: Thresholds, turn: tuple | None = None) -> float | None:
    """``garbled_blocks`` of a clean-up JPEG (``_stored_blocks``) against the kept picture, from both
    full-detail renditions; None where the copy's blocks cannot be read or the kept rendition is not 8-bit.
    ``turn``: the kept picture's turn onto the copy as displayed, when known: the kept picture is then
    saved in the copy's stored frame, on the grid the copy's blocks lie on (a 66 px checkerboard crop
    stored turned under its EXIF orientation stepped 3-12 times as much as the kept crop saved upright,
    its squares' edges on the grid one way round and 2 px off it the other); else the way round its
    shape fits (``garbled_blocks``)."""
    copy = _stored_blocks(c)
    if copy is None or m.rendition is None or m.rendition.dtype != np.uint8:
        return None
    kept = m.rendition if turn is None else _kept_in_stored_frame(c, m, turn)
    return garbled_blocks(copy, kept, c.jpeg_quality or T.proof.default_quality)


def _blocks_off(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> dict | None:
    """``proof.blocks_off`` for a JPEG copy of a kept picture coded without loss, of one size at the
    screen's turn (both renditions turned into the copy's stored frame, where its blocks lie); None
    where that does not apply (a lossy kept copy, a rendition that is a reduction of its file,
    another size)."""
    copy = _stored_blocks(c)
    if (copy is None or not c.jpeg_quality or not coded_without_loss(m) or m.rendition is None or _capped(m)
            or m.rendition.dtype != np.uint8):
        return None
    kept = _kept_in_stored_frame(c, m, r.turn)
    if kept.shape[:2] != copy.shape[:2]:
        return None
    return blocks_off(np.ascontiguousarray(copy), kept, c.jpeg_quality, _jpeg_subsampling(c), T.proof)


def _saved_so_words(c: FileAnalysis, off: dict) -> str:
    """What ``_blocks_off`` found, said."""
    n = off["blocks"]
    return (f"the kept picture saved as this {c.format} was (quality {c.jpeg_quality}), pixel for pixel, but for {n} "
            f"8x8 px block{'s' if n != 1 else ''}")


def _blocks_off_verdict(c: FileAnalysis, r: ScreenResult, off: dict, res: PairResult) -> PairResult:
    """Step 6a, from ``_blocks_off``: the kept picture saved as the copy was, pixel for pixel, but for
    a few 8x8 px blocks, each off by one or two of its DCT cosines: a flipped coefficient,
    ``cleanup_corrupt`` (never safe)."""
    res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", off["region"]
    res.reasons[:] = [f"clean-up copy is damaged: {_saved_so_words(c, off)}, each off by {max(1, off['cosines'])} of "
                      f"its DCT cosines at most, as a flipped bit in one coefficient leaves a block"]
    return _also_turned(r, res)


def _stream_proof(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, res: PairResult, T: Thresholds,
                  shared_id: bool) -> None:
    """Step 4, when the screen failed on a damaged clean-up JPEG: a flip desynchronises the entropy
    stream, so everything before it in scan order is intact. If that first part agrees tile by tile
    at full detail and the rest differs from one tile on, it is this picture, damaged (never safe).

    Tile by tile at the proof's own tiles, then, if those did not prove it, at ``stream_tile`` px
    tiles: at least 4 tiles must agree before the first that differs, and a small copy has few (a
    148x100 copy garbled from a third of the way down has one intact 48 px tile of 6; at 24 px, 8
    of 24). Finer tiles are no looser: each is held to the simulation of the same part of the kept
    picture, and the part before the damage must still have the detail to tell and line up.

    A copy whose blocks no longer meet (``_block_edges``: ``garbled_blocks`` times as much as the
    kept picture's saved as the copy was, and over; a stream read out of step) is proven so whatever
    the screen's turn scored, which its garbage sets (a 128 px sky damaged below its top 60 %: 0.78,
    "different"); and, when the names share an ID, at ``garbled_tile`` px tiles too (one MCU row: a
    96 px copy named after its kept copy, intact over its top 16 rows, under one 24 px tile). Not
    without the name: finer tiles find the damage's start nearer the top, so a smaller top counts as
    intact, and the top of another picture of one layout (a letterhead, a backdrop's colour target, a
    page's header bar) garbled below it was claimed (an attack's 3 of 930 other pictures; 15 more
    with 10 % intact instead of ``min_intact``'s 15 %, which this rule tried first and left). The
    blocks say the stream broke, not whose picture it was."""
    if not (attach_rendition(c) and attach_rendition(m)):
        return
    blocks = _block_edges(c, m, T)
    garbled = blocks is not None and blocks >= T.garbled_blocks
    if r.orient_score > T.max_orient_score * T.damaged_orient_factor and not garbled:
        return

    def tiles(P) -> int:
        ys, xs = tile_grid(c.rendition.shape[0], c.rendition.shape[1], P)
        return (ys.size - 1) * (xs.size - 1)
    grids = [replace(T.proof, tile=t) for t in
             [T.proof.tile, T.proof.stream_tile] + ([T.garbled_tile] if garbled and shared_id else [])]
    grids = [P for i, P in enumerate(grids) if i == 0 or tiles(P) > tiles(grids[i - 1])]
    # (a picture of 1,152 px and more: one grid)
    # the turn found on damaged 40x40 thumbnails is a guess (text pages look alike upside down):
    # the screen's turn, then none if the kept picture fits upright
    for P, turn in ((P, turn) for P in grids for turn in dict.fromkeys([r.turn, (0, False)])):
        if turn != r.turn and not _turn_fits(c, m, turn, T):
            continue
        p = prove_same(c.rendition, m.rendition, turn=turn, quality=c.jpeg_quality, damaged=True,
                       streams=(_orient(c),), kept_quality=_kept_quality(m, T), named=shared_id, thresholds=P)
        if p["same"] and p.get("damage_region"):
            res.rotation, res.flipped = turn
            break
    if p["same"] and p.get("damage_region"):
        res.proof = _proof_summary(p)
        res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", p["damage_region"]
        res.reasons[:] = ["clean-up copy is damaged: its stream agrees tile by tile at full detail up to the damage"
                          + (f"; its 8x8 px blocks step {blocks:.1f} times as much across their edges as the kept picture's "
                             f"saved so, as a JPEG stream read out of step does" if garbled else "")]
        if (res.rotation, res.flipped) != (0, False):
            res.reasons.append("also " + turn_words(res.rotation, res.flipped))


def _full_detail_proof(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage, T: Thresholds,
                       shared_id: bool, *, in_kept_frame: bool = False, both_ways: bool = True,
                       until_reproduced: bool = False) -> dict:
    """Step 5. Stage 2: the pair tile by tile at the smaller copy's own resolution, judged against
    what resampling and re-encoding can do to THIS pair (both renditions are attached).
    ``in_kept_frame``: the copy turned back to the kept picture's frame and compared there (its JPEG
    blocks still where its file codes them), instead of the kept picture turned to the copy's.
    ``until_reproduced``: ``prove_same``'s (stop after the reproduction test unless it refused the copy).

    A kept JPEG 2000 that kept every pass (``both_ways``) is held as a lossless one (``coded_without_loss``),
    and, unless that proof refused the copy or made it pixel for pixel (the reproduction test), as a lossy
    one too (its loss modelled, with the even-loss, stroke and patch tests): the pair is the same picture
    only if both say so. Why: the lossless proof's reproduction test stands aside for a copy it cannot
    make pixel for pixel, and a look-alike whose film grain differs is one; then the tile tests alone
    passed a plate flaw and a postcard's serial number that the lossy proof's stroke and patch tests had
    found (2 of an attack's 102 look-alikes, while 6 others it had passed are refused). A copy made pixel
    for pixel needs no second proof (the suite's pairs of lossless JPEG 2000s: one proof, not two)."""
    if both_ways and m.format in WAVELET_CODED_FORMATS and coded_without_loss(m):
        as_lossless = _full_detail_proof(c, m, r, dmg, T, shared_id, in_kept_frame=in_kept_frame, both_ways=False,
                                         until_reproduced=until_reproduced)
        if not as_lossless["same"] or as_lossless.get("reproduction"):
            return as_lossless
        as_lossy = _full_detail_proof(c, replace(m, every_pass=None), r, dmg, T, shared_id, in_kept_frame=in_kept_frame,
                                      until_reproduced=until_reproduced)
        return as_lossless if as_lossy["same"] else as_lossy
    lossy = not coded_without_loss(c) or not coded_without_loss(m)
    # the clean-up copy's own loss: its JPEG quality when known; a lossy copy of unknown quality
    # (HEIF, AVIF, WebP, JPEG 2000, a RAW's preview, a PDF's embedded scan) at the default
    quality = c.jpeg_quality or (T.proof.default_quality if not coded_without_loss(c) else m.jpeg_quality)
    # the sides whose stored stream is damaged, each as the turn from its stored pixels to A's frame
    streams = []
    if dmg.cleanup or (c.format == "JPEG" and dmg.cleanup_band):
        streams.append(_orient(c))
    # (known from a flat band alone: the stream must be the kept picture down to the band)
    band_streams = (_orient(c),) if c.format == "JPEG" and dmg.cleanup_band and not dmg.cleanup else ()
    if dmg.kept:
        streams.append(compose(_orient(m), r.turn))
    garble = _garble_applies(c, m)
    # the speckle test: a kept JPEG 2000, against a copy whose own loss the simulation models (a JPEG
    # of known quality, or lossless): a JPEG 2000 copy of a grainy picture, simulated as JPEG q75,
    # kept grain it had lost (an attack's 69 true copies were match_corrupt); and not for a kept copy
    # under ``speckle_min_bits`` a pixel, whose own blotches beside hard edges are detail the copy
    # lacks (a screenshot at 60:1 failed 100 windows)
    speckle = (m.format in SILENTLY_SPECKLED_FORMATS and _coding_simulated(c)
               and (_bits_per_pixel(m) or 0.0) >= T.proof.speckle_min_bits)
    tone = _tone_applies(c, m)
    A, turn, valid, copy_turn = c.rendition, r.turn, r.valid, _orient(c)
    if in_kept_frame:
        back = inverse(r.turn)
        A, valid, turn, copy_turn = dihedral(A, *back), dihedral(valid, *back), (0, False), compose(copy_turn, back)
    upright = copy_turn == (0, False)   # the copy stored as compared: its JPEG blocks lie on our grid
    return prove_same(A, m.rendition, turn=turn, valid=valid, quality=quality, lossy=lossy,
                      damaged=dmg.any, streams=tuple(streams), kept_quality=_kept_quality(m, T),
                      # a JPEG kept copy re-encoded at its own quality barely changes: model its loss
                      # from the lossless clean-up side (other lossy codecs keep the re-encode model)
                      cleanup_lossless=coded_without_loss(c) and m.jpeg_quality is not None,
                      capped=_capped(c) or _capped(m), garble=garble,
                      # (the plain-part test's model of a lossy kept copy of another codec too, which runs
                      # on undamaged pairs only)
                      kept_bits_quality=(_kept_bits_quality(m, T) if garble or speckle or
                                         (not coded_without_loss(m) and not dmg.any and not streams) else None),
                      speckle=speckle, tone=tone, exact=_exact_applies(c, m), same_dims=_same_dims(c, m),
                      reproducible=c.jpeg_quality is not None, copy_turn=copy_turn,
                      kept_ratio=_kept_wavelet_ratio(m, T), band_streams=band_streams,
                      band_slack=T.proof.band_slack * max(A.shape[:2]) / max(c.width, c.height, 1),
                      copy_grid=c.format in BLOCK_CODED_FORMATS and upright,
                      even_kept=None if coded_without_loss(m) else EVEN_LOSS_KEPT.get(m.format),
                      copy_subsampling=_jpeg_subsampling(c), copy_chroma_step=_chroma_dc_step(c),
                      copy_steps=_copy_dc_steps(c, T), kept_steps=_jpeg_dc_steps(m), named=shared_id,
                      copy_table=_luma_table(c), copy_webp=c.format == "WEBP" and not coded_without_loss(c),
                      until_reproduced=until_reproduced, copy_lossless=coded_without_loss(c),
                      copy_coded_otherwise=not coded_without_loss(c) and c.format not in BLOCK_CODED_FORMATS,
                      thresholds=T.proof)


def _edited_before_turned(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage, T: Thresholds,
                          shared_id: bool, proof: dict) -> dict | None:
    """A quarter-turned copy's proof made again in the kept picture's frame, when there the
    reproduction test finds it the kept picture made as it was, pixel for pixel, but for windows that
    depart (edited); else None.

    Why: Pillow resizes one axis, then the other, rounding between; a copy shrunk and then turned a
    quarter is not the kept picture turned and then shrunk, pixel for pixel, so the reproduction test
    could not reproduce it and stood aside, and the tile tests let a 30-level speck through that the
    same copy upright was refused for (an attack's dust specks: 5 of its 24 quarter-turned copies, 14
    of my 24, `rotated`, which a curator may approve; none upright or half-turned, whose resize is
    the same either way). Only the reproduction's finding refuses it: a true copy turned first reproduces in its
    own frame, and the tile tests have judged it already. Not when ``proof`` (the pair's, in the copy's
    frame) reproduced the copy: turned first, it was judged pixel for pixel there (the second proof
    doubles a turned pair's cost: 108 -> 230 ms for a 12 MP photograph's 60 % copy), and it stops after
    the reproduction test unless that refused the copy: the tests after it are the first proof's (the
    plain-stroke test was most of a second proof's time: 796 -> 444 ms for that copy turned, proof 1.42)."""
    if r.rotation % 180 != 90 or proof.get("reproduction") is not None:
        return None
    if _kept_quality(m, T) is not None or c.jpeg_quality is None:
        return None   # (the reproduction test needs a lossless kept picture and the copy's quality)
    p = _full_detail_proof(c, m, r, dmg, T, shared_id, in_kept_frame=True, until_reproduced=True)
    if p["same"] or p.get("stopped") or p.get("reproduction") is None:
        return None
    # the region read in the kept picture's frame, turned back to the copy's
    if p.get("region"):
        p["region"] = _region_turned(p["region"], r.turn)
    return p


def _region_turned(region: dict, turn: tuple) -> dict:
    """A region (fractions of a picture: top, left, bottom, right) of a picture, as it lies in that
    picture turned by ``turn``."""
    mask = np.zeros((1000, 1000), bool)
    mask[_region_slices(region, 1000, 1000)] = True
    return bbox(dihedral(mask, *turn))


def _region_slices(region: dict, h: int, w: int, *, inner: bool = False) -> tuple:
    """The (rows, columns) slices of an ``h`` x ``w`` picture that a region (fractions: top, left,
    bottom, right) covers, a pixel at least each way (``inner``: its rows less their first third)."""
    top, bottom = region["top"] * h, region["bottom"] * h
    y0 = int(top + (bottom - top) / 3) if inner else int(top)
    x0 = int(region["left"] * w)
    return slice(y0, max(y0 + 1, int(round(bottom)))), slice(x0, max(x0 + 1, int(round(region["right"] * w))))


def _decoder_filled(part: np.ndarray, T: Thresholds) -> bool:
    """Whether a part of a copy's grey is the grey a decoder fills what it could not decode with
    (``decode.DECODER_FILL``, within ``fill_tol`` in ``fill_share`` of its pixels)."""
    return float((np.abs(part - DECODER_FILL) <= T.fill_tol).mean()) >= T.fill_share


def _filled_rows(part: np.ndarray, T: Thresholds) -> np.ndarray:
    """Each whole row of a part of a copy's grey: is it the grey a decoder fills with (``_decoder_filled``'s
    test, row by row)."""
    return (np.abs(part - DECODER_FILL) <= T.fill_tol).mean(axis=1) >= T.fill_share


def _decoder_filled_rows(part: np.ndarray, rows: int, T: Thresholds) -> bool:
    """Whether ``rows`` consecutive whole rows of a part of a copy's grey are each the grey a decoder
    fills with (``_decoder_filled``'s test, row by row).

    Why rows, not the part: a generated grey band of 8-20 % of a small copy is coded as JPEG with the
    picture around it, and its coding rings a few levels into the band's first and last rows: a band
    15 rows high at row 61 of an 80 px copy was 128 exactly in its middle 8 rows but filled in 9 of
    16 rows read from its edge, so the pair was "another picture there", not damage (seed 16004)."""
    ok = _filled_rows(part, T)
    run = 0
    for filled in ok:
        run = run + 1 if filled else 0
        if run >= rows:
            return True
    return False


def _exact_applies(c: FileAnalysis, m: FileAnalysis) -> bool:
    """The pixel test runs when both copies are lossless; a TIFF clean-up copy is left out, as its
    pixels may be JPEG-coded inside it (the analysis does not tell)."""
    return coded_without_loss(c) and c.format != "TIFF" and coded_without_loss(m)


def _same_dims(c: FileAnalysis, m: FileAnalysis) -> bool:
    """The two files hold pictures of one size (either way round): their full-detail renditions, each
    capped by the same reduction, are then the same reduction of each one's pixels."""
    return bool(c.width and c.height) and sorted((c.width, c.height)) == sorted((m.width, m.height))


def _garble_applies(c: FileAnalysis, m: FileAnalysis) -> bool:
    """The garble test runs when exactly one side is coded in 8x8 blocks (the side it would call
    damaged) and the other's loss is what the proof's simulation models: a JPEG clean-up copy of a
    kept copy that is not a JPEG, or a lossless clean-up copy of a JPEG kept copy. Not between two
    JPEGs (which one a garbled block belongs to is not known) nor for a JPEG 2000 or WebP clean-up
    copy (its loss, simulated as JPEG, differs pixel by pixel: a 40:1 JPEG 2000 copy failed)."""
    c_blocks, m_blocks = c.format in BLOCK_CODED_FORMATS, m.format in BLOCK_CODED_FORMATS
    return (c_blocks and not m_blocks) or (m_blocks and coded_without_loss(c))


def _tone_applies(c: FileAnalysis, m: FileAnalysis) -> bool:
    """The tone test runs where neither side's own coding shifts a flat colour unknowably: a copy
    whose coding the proof simulates (a JPEG of known quality, or lossless) against a lossless kept
    copy. Not a JPEG 2000 or WebP copy (up to 3.4 grey levels at 20:1), not against a JPEG 2000 kept
    copy (a dense newspaper page kept at 6-10:1 is 1.5-4.7 levels brighter in its flat parts than
    the page: the rings of its text; 34 of 54 true copies failed), and not against a JPEG one
    (coded twice, which the simulation does not reproduce: 77 of 864 true copies of tinted dark
    skies kept at q85-95 were up to 4.2 levels off, with 1.0 allowed for the kept copy's coding)."""
    return coded_without_loss(m) and _coding_simulated(c)


def _coding_simulated(c: FileAnalysis) -> bool:
    """The clean-up copy's own coding is what the proof's simulation models: a JPEG of known
    quality, or lossless (a JPEG 2000 or WebP copy simulated as JPEG q75 keeps grain it lost, and
    shifts flat colours its own way)."""
    return c.jpeg_quality is not None or coded_without_loss(c)


def _inferred_damage_unproven(r: ScreenResult, dmg: PairDamage, proof: dict, T: Thresholds) -> list:
    """Step 5, for a pair whose damage was found from the pixels alone (a flat band, a stream
    garbled without decoder complaint): why the proof does not carry it (empty: it does). Such
    damage is also what another picture that shares a flat part looks like: when no tile could be
    judged, the part both sides trust must have detail (``min_intact_std``). A reframed logo's
    crop, turned, was a "damaged" copy of a phantom's crop (0 tiles judged, intact grey std 0.3).
    With decoder evidence the damage is not in question. Tried and left out: also requiring the
    geometry to be measured (a reframed phantom crop, its flat columns a "band", was match_corrupt
    with one tile of texture), which lost true banded kept copies and garbled copies of photographs
    whose masks leave too few whole tiles (three of the suite's own cases)."""
    if not dmg.any or dmg.complained:
        return []
    if proof.get("too_little"):
        if r.intact_std >= T.min_intact_std:
            return []
        return [*proof["reasons"], "the damage is found from the pixels only, and the intact part has too little "
                "detail to tell: not proven the same picture"]
    return []


def _named_screen(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage,
                  T: Thresholds) -> tuple[ScreenResult, PairDamage] | None:
    """The screen over which a damaged copy named after its kept copy agrees, from
    ``named_min_coverage`` intact (``_named_damaged_copy``): at the best-scored turn, or else upright,
    whatever that turn scored; None when neither agrees.

    Why upright, whatever it scored: the turn is scored over the whole picture, garbage included, so
    for a damaged copy every turn may score near the limit and a wrong one may win, or the right one
    miss it. A copy is stored upright far more often than turned, and with the name it is the one
    reading that needs no turn to explain it: a horse's legs, the top 12 % of a flipped copy named
    after its TIFF, agreed upright within 0.005 but scored 0.687 there, against 0.666 mirrored (seed
    711); a diagram cut short, named, 65 % intact and agreeing, scored 0.69 upright, its best turn,
    over a limit of 0.68 (seed 935). Its intact part must still agree as strictly, with detail."""
    if _screen_agrees(r, dmg, T, [], min_coverage=T.named_min_coverage):
        return r, dmg
    if not _turn_fits(c, m, (0, False), T):
        return None
    up = _screen(c, m, T, turn=(0, False), turn_score=0.0)
    if up is None:
        return None
    up_dmg = PairDamage.of(c, m, up)
    if up_dmg.cleanup and _screen_agrees(up, up_dmg, T, [], min_coverage=T.named_min_coverage):
        return up, up_dmg
    return None


def _named_damaged_copy(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage,
                        res: PairResult) -> PairResult:
    """Step 4, when a damaged clean-up copy is mostly garbage (a flip or a cut early in its
    stream) and names the kept copy by ID: ``cleanup_corrupt``, as a copy that does not decode at
    all is (``_undecodable``), but only if the little that is intact agrees. Why: the name is the
    evidence, the intact part can only contradict it; calling the pair "different" sent a 100 px
    copy damaged from its 13th row on, named after its kept copy, to the wrong queue (seed 804),
    while the same file cut to nothing would have been paired. Never safe. The name is trusted
    here: an attack that named damaged copies of *other* pictures sharing the kept copy's top after
    it turned 12 of its 144 pairs into cleanup_corrupt (README, proof 1.9)."""
    res.reasons[:] = [f"not proven at full detail: what is intact ({r.coverage:.0%} of the picture) agrees, and "
                      f"the names share an ID"]
    res.rotation, res.flipped = r.rotation, r.flipped        # the screen's, which may be upright (_named_screen)
    res.diff_score, res.local_score = r.diff_score, r.local_score
    return _damaged_verdict(c, m, r, dmg, None, res)


def _cleanup_complaint(c: FileAnalysis) -> str:
    """The reason a damaged-copy rule gives first when the copy's own decoder complained."""
    return "clean-up file is damaged: " + "; ".join(c.errors[:2])


def _named_copy_past_comparing(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, T: Thresholds) -> PairResult | None:
    """Step 4, for a clean-up JPEG named after the kept copy that the screen found too damaged to compare:
    ``cleanup_corrupt`` upright, never safe, paired by the ID as a copy that does not decode at all is
    (``_undecodable``), when all of this holds; None otherwise.

    1. its own decoder complained, and the kept copy's did not;
    2. under ``named_min_coverage`` of it is intact at the screen, at its best-scored turn and upright
       (where there is more, the named rule, ``_named_screen``, has judged it and said no), and the
       kept picture fits it upright;
    3. no more than ``named_min_coverage`` of it lies above rows its decoder filled to the end
       (``_share_before_fill``): a copy cut short is its own picture down to the cut, to be judged;
    4. its blocks step as a stream read out of step does (``_block_edges``, ``garbled_blocks``);
    5. its first MCUs in scan order, decoded before the damage, agree with the kept picture's, with
       detail (``_mcus_against_kept``, ``lead_mcus``), and where it stops agreeing its blocks step so too
       (``_out_of_step_where_it_differs``).

    Why: twelve bits flipped from a third of a 1.6 KB JPEG on (92 px crops of a colour wheel, named after
    their kept JPEG 2000s) hit the stream before its first full row of blocks: libjpeg complained,
    nothing was left to compare, and the pairs were "different", while the same files cut to nothing
    are paired by their names (seed 32010). Each condition is evidence the copy itself carries, not
    damage read off the difference, which finds another picture "damaged" from its first row (coverage
    0) as it does a garbled copy. On the first three and the blocks alone, an attack's other pictures,
    flipped and named after a kept crop, were claimed 74 times in 200 (another picture's garbage steps
    against a smoother kept picture as a garbled copy's does), and another picture cut short was claimed
    too; its first MCUs are what the copy shows of whose picture it is (none of the 200 claimed; 6 of
    200 true copies gained, README, proof 1.50)."""
    if not c.damaged or m.damaged or r.coverage >= T.named_min_coverage or not _turn_fits(c, m, (0, False), T):
        return None
    if r.turn != (0, False):
        up = _screen(c, m, T, turn=(0, False), turn_score=0.0)
        if up is not None and up.coverage >= T.named_min_coverage:
            return None
    read = _read_in_its_blocks(c, m)
    if read is None:
        return None
    stored, kept, mcu = read
    blocks = _block_edges(c, m, T, turn=(0, False))
    cut = _share_before_fill(grey(stored), T)
    if (cut is not None and cut >= T.named_min_coverage) or blocks is None or blocks < T.garbled_blocks:
        return None
    lead = _mcus_against_kept(stored, kept, mcu, T)
    if lead < T.lead_mcus or not _out_of_step_where_it_differs(c, stored, kept, lead, mcu, T):
        return None
    first = "its first MCU" if lead == 1 else f"its first {lead} MCUs"
    return _new(T, verdict="cleanup_corrupt", corrupt_side="cleanup", diff_score=r.diff_score,
                local_score=r.local_score,
                reasons=[_cleanup_complaint(c),
                         f"too little of it is intact to compare ({r.coverage:.0%}); its 8x8 px blocks step "
                         f"{blocks:.1f} times as much across their edges as the kept picture's saved so, as a JPEG "
                         f"stream read out of step does, and {first}, decoded before the damage, "
                         f"{'agrees' if lead == 1 else 'agree'} with the "
                         f"kept picture's: paired by the ID in its name, as a file that does not decode is; a "
                         f"person decides"])


def _read_out_of_step(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage,
                      T: Thresholds) -> PairResult | None:
    """Step 4 or 5, for a damaged clean-up JPEG (its decoder complained, or the screen found its stream
    garbled or a flat band in it) that was found ``different``: ``cleanup_corrupt`` upright, never safe,
    when its MCUs, read in scan order against the kept picture's (``stream.read_in_runs``), are what a
    stream read out of step makes of the kept picture (``stream.out_of_step``); None otherwise:

    1. its first MCUs are the kept picture's in place and tone (``lead_mcus`` or more, with
       ``min_intact_std`` of detail between them);
    2. it first changes inside an MCU row, not where one starts (an edit made along a pixel row does);
    3. at least ``stream_moved`` of the MCUs after that are the kept picture's own in runs of
       ``stream_min_run`` or more, each shifted in tone by one steady amount, ``stream_moved_tone`` or more on a
       channel, whether moved along the scan (by up to ``stream_max_shift`` MCUs) or not, their fit explaining
       the detail they show;
    4. no MCU after the first change is back in place and tone, flat ones too (an edit ends, or leaves the
       MCUs beside it as they were on every row; a broken stream does not mend itself). Where some of those
       runs are moved along the scan, which only a broken stream does, the break may come after MCUs garbled
       in place (``stream_lead_garble`` of the lead: a flip within a block's own bits garbles it and leaves the
       stream in step) and ``stream_back_most`` MCU may land back in place by chance after it.

    Why: a bit flipped in the entropy-coded data moves the rest of the picture along the scan (a lost or
    extra code) and shifts its tone (DC is coded as a difference from the block before) until the next
    flip; the screen saw the damage, but with no decoder's complaint, or with most of the copy garbled,
    nothing said whose picture the garbage was, and a moon crop flipped 12 times from a third of its
    stream on was "different" from its kept JPEG 2000 (seed 32007), as a rocket's unnamed copy was (seed
    31025). The runs are that evidence: the kept picture's own detail, displaced as only a broken stream
    displaces it. Not the name: the rule pairs unnamed copies too. The tone is required: a fresh-eyed attack's
    clean edits that move content along the MCU grid with their tone kept (a paragraph indented, a line deleted
    and the text reflowed, a strip cut from a photograph, each above a blank bottom the screen took for a band)
    were claimed, 64 of 3,990, before it; 1 after, a tone added in scan order from inside a row, which no pixel
    tells from a DC step, and that went when no MCU might be back in place; a second attack's tints beside a
    flat margin (23 of 6,700) went when flat MCUs counted too (1 left, a tone added in scan order again). An
    edited copy that is also damaged is taken for a damaged copy when its edit lies where the stream is out of
    step (15 of the first attack's 1,155; 2 of my 748); never safe, a person sees both (README, proof 1.51)."""
    if (c.format != "JPEG" or m.damaged or r.progressive_b
            or (dmg.kept_band and _orient(c) != (0, False)) or not _turn_fits(c, m, (0, False), T)):
        return None
    # where the screen found no damage, the pixels alone must read as a broken stream, strictly: no MCU garbled
    # in the lead, none back in place (allowed, a reframed crop of a phantom, black and grey about a white arc,
    # read as one: the black MCUs in place, the arc moved along the scan)
    unseen = not (dmg.cleanup or dmg.cleanup_band)
    if unseen and not _ends_further_apart(c, m, T):
        return None
    read = _read_in_its_blocks(c, m)
    if read is None:
        return None
    stored, kept, mcu = read
    if unseen and not _may_read_out_of_step(stored, kept, mcu, T):
        return None
    def reading_at(max_shift: int):
        return read_in_runs(stored, kept, mcu, levels=T.lead_mcu_diff, share=T.lead_mcu_share, step=T.stream_step,
                            max_shift=max_shift)
    def broken_reading(reading, lead_garble=0.0, back_most=0, *, runs=True) -> dict | None:
        s_ = out_of_step(reading, still=T.stream_still, moved_tone=T.stream_moved_tone, min_run=T.stream_min_run,
                         min_detail=T.min_intact_std, max_spread=2 * T.stream_step, explained=T.stream_explained,
                         lead_garble=lead_garble, back_most=back_most)
        broken = (s_["lead"] >= T.lead_mcus and s_["lead_detail"] >= T.min_intact_std and s_["mid_row"]
                  and s_["back"] <= back_most and (not runs or s_["moved"] >= T.stream_moved * s_["after"]))
        return s_ if broken else None
    # a lead with MCUs garbled in place, or an MCU back in place by chance after the break, only where runs are
    # moved along the scan too: that only a broken stream does (a tint or an overlay keeps everything in place)
    loose = (T.stream_lead_garble, int(T.stream_back_most))
    # the lead, the break and the MCUs back in place are read off the MCUs in their places alone: one pass, where
    # the runs' search takes one a shift (5.6 s of a 2048 px photograph with an edit, which ends: MCUs back after it)
    in_place = reading_at(0)
    if broken_reading(in_place, runs=False) is None and (unseen or broken_reading(in_place, *loose, runs=False) is None):
        return None
    reading = reading_at(int(T.stream_max_shift))
    s = broken_reading(reading)
    if s is None:
        s = None if unseen else broken_reading(reading, *loose)
        if s is None or not s["along"]:
            return None
    first_row = s["first"] // reading.cols * mcu[0] / stored.shape[0]   # where the copy first changes (a share)
    if dmg.kept_band and not (r.region_b and r.region_b["top"] >= first_row):
        # a flat run of the kept picture where the copy is garbled is what the screen finds beside garbage (a
        # sky, a plain background: the kept side's "band"); one above the copy's damage is the kept copy's own
        return None
    row, col = divmod(s["lead"], reading.cols)
    garbled = (f" (but for {s['garbled']} garbled in place, as a flip within a block's own bits leaves it)"
               if s["garbled"] else "")
    back = f"only {s['back']} back in place, by chance" if s["back"] else "none back in place"
    complaint = [_cleanup_complaint(c)] if c.damaged else []
    # what a curator is shown: the copy from the broken MCU row down (in its stored frame, which is the
    # displayed one unless an EXIF orientation turns it)
    region = ({"top": round(first_row, 3), "left": 0.0, "bottom": 1.0, "right": 1.0}
              if _orient(c) == (0, False) else None)
    return _new(T, verdict="cleanup_corrupt", corrupt_side="cleanup", diff_score=r.diff_score,
                local_score=r.local_score, region=region,
                reasons=complaint + [
                    f"the clean-up JPEG reads as its stream read out of step would: its first {s['lead']} MCUs "
                    f"are the kept picture's in place{garbled}, it breaks inside MCU row {row + 1} (at column "
                    f"{col + 1}), and {s['moved']} of the {s['after']} MCUs after that are the kept picture's own, in "
                    f"{s['runs']} run{'s' if s['runs'] != 1 else ''} shifted in tone, {s['along']} of them moved "
                    f"along the scan, {back}: a damaged copy of the kept picture; a person decides"])


def _ends_further_apart(c: FileAnalysis, m: FileAnalysis, T: Thresholds) -> bool:
    """Whether the clean-up copy, in its stored frame, differs from the kept picture over its last sixteenth of
    rows by more than ``stream_ends_apart`` times (+ ``stream_ends_floor`` grey levels) as much as over its first,
    on the reduced pictures the screen compared: no rendition is read. A broken stream is intact at its start and wrong to its end; an
    edit ends and the picture goes on as it was, and another picture differs from its first rows. Why before
    ``_may_read_out_of_step``: for a pair the screen refused outright, reading the two full-detail renditions
    (from the renditions' store, in the app) is the cost, where the screen's pictures are at hand."""
    frame = inverse(_orient(c))
    a = grey(dihedral(c.image, *frame))
    b = np.asarray(Image.fromarray(np.ascontiguousarray(grey(dihedral(m.image, *frame))).astype(np.uint8))
                   .resize((a.shape[1], a.shape[0]), Image.Resampling.LANCZOS), np.float64)
    n = max(1, a.shape[0] // 16)
    top, end = (float(np.abs(a[s_] - b[s_]).mean()) for s_ in (slice(0, n), slice(a.shape[0] - n, None)))
    return end > T.stream_ends_apart * top + T.stream_ends_floor


def _may_read_out_of_step(stored: np.ndarray, kept: np.ndarray, mcu: tuple, T: Thresholds) -> bool:
    """Whether a clean-up JPEG the screen found no damage in may still be a stream read out of step
    (``_read_out_of_step``), read off its first and last MCU rows alone: some MCU of its first row is the
    kept picture's in place and tone (a stream is intact up to its first flip), and none of its last row's
    are (a broken stream does not come back; the caller reads such a copy strictly). Why the screen's
    finding is not needed: a flip that moves the rest of the picture along the scan and shifts its tone
    leaves little garbage, so the screen saw an edit, not damage (a 128 px crop of cells shifted in tone
    from its third MCU row on, a 352 px fundus from its tenth, each "different", seeds 53002, 53010). Why
    two rows first: the whole read takes a pass over the picture per shift (0.5-2 s of a 2048 px
    photograph, where the screen's pairs take milliseconds); an edit ends and the picture goes on in its
    place, another page of one layout ends in the same margin, another picture differs from its first MCU."""
    mh = mcu[0]
    def in_place(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        r = read_in_runs(stored[rows], kept[rows], mcu, levels=T.lead_mcu_diff, share=T.lead_mcu_share,
                         step=T.stream_step, max_shift=0)
        return placed(r, T.stream_still), np.isfinite(r.tone)
    top, _ = in_place(slice(0, mh))
    last, known = in_place(slice((math.ceil(stored.shape[0] / mh) - 1) * mh, None))
    return bool(top.any()) and not (last & known).any()


def _read_in_its_blocks(c: FileAnalysis, m: FileAnalysis) -> tuple | None:
    """What the damaged-copy rules that read a JPEG copy MCU by MCU read, upright: (the copy's pixels as
    stored, the kept picture in its stored frame at its size, its MCU (rows, columns)); None where the copy's
    blocks cannot be read or the kept rendition is not 8-bit (where ``_block_edges`` reads nothing either)."""
    if not (attach_rendition(c) and attach_rendition(m)):
        return None
    stored = _stored_blocks(c)
    if stored is None or m.rendition.dtype != np.uint8:
        return None
    rows, cols = _CHROMA_STEP.get(_jpeg_subsampling(c), (1, 1))
    return stored, _at_size_of(_kept_in_stored_frame(c, m, (0, False)), stored), (8 * rows, 8 * cols)


def _differing_row(stored: np.ndarray, lead: int, mcu: tuple[int, int]) -> int:
    """The first pixel row of the MCU row in which a copy's first differing MCU (after ``lead``) lies."""
    return lead // max(1, stored.shape[1] // mcu[1]) * mcu[0]


def _out_of_step_where_it_differs(c: FileAnalysis, stored: np.ndarray, kept: np.ndarray, lead: int,
                                  mcu: tuple[int, int], T: Thresholds) -> bool:
    """Whether a clean-up JPEG's blocks step as a stream read out of step does (``garbled_blocks`` over
    the kept picture's saved so, at ``garbled_blocks``) right where it stops agreeing with the kept
    picture: over the two MCU rows from the one its first differing MCU (after ``lead`` agreeing) lies in.

    Why: its first MCUs agreeing say what its first pixels are, not whose picture it is. A fresh-eyed
    attack gave other pictures the kept picture's top-left corner (a contact sheet's first frame, a film
    strip's edge, a letterhead's logo, a colour target, a 16 px corner pasted on), flipped them and named
    them after it: 182 of 2,176 were claimed, against 63 true copies gained. Such a copy stops agreeing
    where the shared corner ends and its own picture begins, cleanly coded; a damaged copy of the kept
    picture stops agreeing where its stream broke, and from there its blocks no longer meet (as landed:
    38 of those 2,176 claimed, 32 true copies gained). Not a proof: between pictures of very different
    smoothness the measure drifts (a clean moon steps more across its blocks than coins saved so do), and
    where the flips fall just past a shared corner the copy does break there. Nor alone: a copy pixelated
    (censored) below its first rows steps across its blocks as much, and without the decoder's complaint
    that was taken for damage (README, proof 1.50: a rule built on it was withdrawn)."""
    y0 = _differing_row(stored, lead, mcu)
    y1 = min(stored.shape[0], y0 + 2 * mcu[0])
    if y1 - y0 < 16:
        return False
    quality = c.jpeg_quality or T.proof.default_quality
    return garbled_blocks(stored[y0:y1], kept[y0:y1], quality) >= T.garbled_blocks


def _at_size_of(kept: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """``kept`` brought to ``stored``'s size (Lanczos), if not already."""
    h, w = stored.shape[:2]
    if kept.shape[:2] == (h, w):
        return kept
    return np.asarray(Image.fromarray(np.ascontiguousarray(kept)).resize((w, h), Image.Resampling.LANCZOS))


def _mcus_against_kept(stored: np.ndarray, kept: np.ndarray, mcu: tuple[int, int], T: Thresholds) -> int:
    """How many of a clean-up JPEG's MCUs (``mcu``: rows, columns), in scan order from its first, agree with
    the kept picture there. ``kept``: in the copy's stored frame, at its size. An MCU agrees within
    ``lead_mcu_diff`` grey levels on average, plus ``lead_mcu_share`` of the kept MCU's grey std (a q90
    copy of a silhouette's edge rings 6.9 levels there); the leading count is 0 unless, together, those
    MCUs have ``min_intact_std`` of detail on both sides.

    Why: a stream read out of step decodes everything before the damage as it was, so a copy garbled
    from its first rows still holds its first few MCUs intact, and those are this picture's or another's.
    Another picture's flipped copy named after the kept copy disagrees from its first MCU (73 of 74 such
    pairs of an attack; the 74th, a fundus crop's black corner, agreed over six plain MCUs, hence the
    detail); true copies agreed over 1-9."""
    h, w = stored.shape[:2]
    diff = np.abs(stored.astype(np.float32) - kept.astype(np.float32)).mean(axis=2)
    kept_grey = grey(kept)
    mh, mw = mcu
    cells = [(slice(y, y + mh), slice(x, x + mw)) for y in range(0, h - mh + 1, mh) for x in range(0, w - mw + 1, mw)]
    differs = np.array([float(diff[p].mean()) > T.lead_mcu_diff + T.lead_mcu_share * float(kept_grey[p].std())
                        for p in cells], bool)
    lead = int(np.argmax(differs)) if differs.any() else len(cells)
    if lead == 0:
        return 0
    inside = np.zeros((h, w), bool)
    for p in cells[:lead]:
        inside[p] = True
    detail = min(float(grey(stored)[inside].std()), float(kept_grey[inside].std()))
    return lead if detail >= T.min_intact_std else 0


def _share_before_fill(g: np.ndarray, T: Thresholds) -> float | None:
    """The share of a copy's stored rows above the run of whole rows its decoder filled to its end
    (``_filled_rows``); None with no such run. Read off the copy alone: a JPEG cut short is
    its picture down to the cut and the decoder's grey below it, whatever the picture is."""
    filled = _filled_rows(g, T)
    run = int(np.argmin(filled[::-1])) if not filled.all() else filled.size
    return (filled.size - run) / filled.size if run else None


def _capped(a: FileAnalysis) -> bool:
    """The file's full-detail rendition is a reduction of its pixels (capped at the proof's long side)."""
    return a.rendition is not None and max(a.width, a.height) > max(a.rendition.shape[:2])


def _damaged_side(r: ScreenResult, dmg: PairDamage, T: Thresholds) -> tuple[str, bool]:
    """Which side of a pair with damage is the damaged one ("match" or "cleanup"), by decoder
    evidence first, then flat bands and garbage runs; and whether the kept side was named by its
    band's step alone (both sides flat along the same rows, a tie).

    Why the tie is broken so: both sides flat along the same rows, each at its own level, tie: the
    band is the kept copy's when it steps away from the picture beside it (``compare.band_step``) and
    the copy's flat run goes on beyond it, most of the picture there at its level
    (``compare.band_goes_on``, ``flat_share``): a kept JPEG 2000's grey band over a phantom's black
    background, the copy black there, was "clean-up copy is damaged"; a copy's repaint of the kept
    copy's own banner stops at it (an attack's 32 such pairs: at most 0.73 of the picture beside them
    at their level).

    And a tie the other way: both flat along the same rows (neither beyond the other's by ``band_apart``),
    no decoder complaint on either side, the copy a JPEG and its band at its decoder's fill grey, the kept copy's
    at its own flat background (``band_background``) and no fill: the copy's is the fill, the kept copy's
    its blank space. A grey band across a clean-up JPEG of a diagram on white, over rows the kept copy
    has blank but for a few words, was the kept copy's band by 0.4 % more of the picture, "its blank
    space", and the pair `different` (two of a generated corpus of diagrams and screenshots). Not a black
    band, and not a copy of another format, whose decoder fills nothing grey: a form's black bar, painted
    white in the kept copy, named the intact copy damaged (an attack's 18 such pairs), and a grey bar so
    painted out, against JPEG 2000 copies (2; a grey bar painted over so is named so by the older band rules
    too, README)."""
    if (dmg.cleanup_band and dmg.kept_band and not (dmg.cleanup or dmg.kept or dmg.complained)
            and max(r.band_only_a, r.band_only_b) < T.band_apart and r.fill_a and not r.fill_b
            and r.background_b >= T.band_background):
        return "cleanup", False
    score_c = (2 if dmg.cleanup else 0) + r.band_a + (0.5 if r.progressive_a else 0)
    score_m = (2 if dmg.kept else 0) + r.band_b + (0.5 if r.progressive_b else 0)
    kept_steps = (score_m == score_c and r.band_step_b > r.band_step_a + T.changed_mean
                  and r.band_goes_on_a >= T.flat_share)
    return ("match" if score_m > score_c or kept_steps else "cleanup"), kept_steps


def _band_named_damaged(r: ScreenResult, dmg: PairDamage, T: Thresholds) -> tuple[str, float, float] | None:
    """For a pair whose only damage is a flat band found from the pixels (no decoder complaint, no
    garbled run), the band of the side ``_damaged_side`` would name: ("kept" or "clean-up", its
    ``background``, its ``spread``); None for any other pair or when that side has no flat band.
    What ``_band_on_its_own_background`` and ``_band_of_many_levels`` each judge."""
    if dmg.complained or dmg.silent_stream or not (dmg.cleanup_band or dmg.kept_band):
        return None
    if _damaged_side(r, dmg, T)[0] == "match":
        return ("kept", r.background_b, r.spread_b) if r.band_b > 0 else None
    return ("clean-up", r.background_a, r.spread_a) if r.band_a > 0 else None


def _band_on_its_own_background(r: ScreenResult, dmg: PairDamage, T: Thresholds) -> str | None:
    """Why a pair whose damage is a flat band found from the pixels alone (no decoder complaint,
    no garbled run) is not one picture with that side damaged: the band of the side that would be
    named damaged lies at the level of that side's own flat background, which takes
    ``band_background`` of the rest of its picture at least (``compare.band_background``: not a
    decoder's fill grey or black); None otherwise.

    Why: a page's blank lines, a paragraph's end, its empty lower part are flat at the paper's level,
    as its margins are, and are "a band where the other side has detail" against another page of the
    layout: 74 of 180 pairs of my 25-30 % table pages against other pages of the layout were named a
    damaged copy of them, either side, the rest of each page "agreeing" within the tolerance a damaged
    pair is given (9 still with this rule alone; none with the four band rules). Damage fills with grey or black,
    or paints a bar its picture's margins do not share: the true damaged copies of 15 generated
    corpora, dev and an attack's painted, flipped and cut pages keep their verdicts."""
    named = _band_named_damaged(r, dmg, T)
    if named is None:
        return None
    whose, background, _ = named
    if background < T.band_background:
        return None
    return (f"the {whose} copy's flat band lies at the level of its own flat background ({background:.0%} of the "
            f"rest of its picture), not a decoder's fill: its blank space, where the other picture has more, "
            f"not damage")


def _band_of_many_levels(r: ScreenResult, dmg: PairDamage, T: Thresholds) -> str | None:
    """Why a pair whose damage is a flat band found from the pixels alone (no decoder complaint, no
    garbled run) is not one picture with that side damaged: the lines of the named side's band lie
    at many levels (``compare.band_spread`` over ``band_level_spread``), as rows of the picture do,
    where a fill or a painted bar is one level; None otherwise.

    Why: at 15-20 % a page's lines of text are each nearly uniform along the row, light and dark in
    turn, and were a "band" where another page of the layout has its lines elsewhere: 25 of 270 pairs
    of my table pages at 15, 20 and 40 % against other pages were `cleanup_corrupt` after the
    background rule (their bands' lines 43-60 grey levels apart between the quartiles); the true
    damaged copies of 21 generated corpora and dev, 1 at most."""
    named = _band_named_damaged(r, dmg, T)
    if named is None:
        return None
    whose, _, spread = named
    if spread < T.band_level_spread:
        return None
    return (f"the {whose} copy's flat band is rows at many levels ({spread:.0f} grey levels apart), not one fill: "
            f"rows of the picture (lines of small text), not damage")


def _damaged_verdict(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage, proof: dict | None,
                     res: PairResult) -> PairResult:
    """Step 6a. The same picture with a damaged side: which side, by decoder evidence first, then
    flat bands and garbage runs (never safe)."""
    reasons = res.reasons
    T = res.thresholds
    side, kept_steps = _damaged_side(r, dmg, T)
    if side == "match":
        res.verdict, res.corrupt_side, res.region = "match_corrupt", "match", r.region_b
        reasons.append("kept copy is damaged: " + (
            "; ".join(m.errors[:2]) if m.damaged else
            f"flat band {r.band_step_b:.0f} grey levels off the picture beside it, where the clean-up copy's "
            f"flat part goes on" if kept_steps else "flat band where the clean-up copy has detail"))
    else:
        res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", r.region_a
        reasons.append("clean-up copy is damaged" + (": " + "; ".join(c.errors[:2]) if c.errors else
                                                      (": flat band where the kept copy has detail" if r.band_a > 0 else "")))
    if res.region is None and proof is not None and proof.get("damage_region"):
        res.region = proof["damage_region"]
    return _also_turned(r, res)


def _also_turned(r: ScreenResult, res: PairResult) -> PairResult:
    """A damaged side's verdict, with the turn said too when the pair is turned or mirrored."""
    if r.turn != (0, False):
        res.reasons.append("also " + turn_words(r.rotation, r.flipped))
    return res


def _garbled_verdict(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, proof: dict, res: PairResult) -> PairResult:
    """Step 6a, from the proof. The same picture but for a few 8x8 px windows that differ pixel by
    pixel (the proof's garble test). A clean-up JPEG is the damaged side: ``cleanup_corrupt``,
    never safe. Against a kept JPEG, the windows are a garbled block of the kept copy or an edit
    of this lossless copy, which the pixels do not tell apart: not proven the same (an attack's
    edited PNG copies, a red line or 3x3 inverted pixels, were called damaged kept copies)."""
    reasons = res.reasons
    g = proof["garbled"]
    if c.format not in BLOCK_CODED_FORMATS:   # the kept copy is the JPEG (``_garble_applies``)
        reasons.append(f"{g['windows']} 8x8 px windows differ pixel by pixel (worst {g['worst']:.1f} times what "
                       f"re-encoding explains): a garbled block of the kept {m.format}, or an edit of this copy")
        res.region = g["region"]
        return res
    res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", g["region"]
    reasons.append(f"clean-up copy is damaged: {g['windows']} 8x8 px windows garbled as a flipped bit garbles "
                   f"{c.format} blocks (worst {g['worst']:.1f} times what re-encoding explains); the rest "
                   f"agrees at full detail")
    return _also_turned(r, res)


def _stepped_verdict(c: FileAnalysis, r: ScreenResult, proof: dict, res: PairResult) -> PairResult:
    """Step 6a, from the proof. The kept picture as the copy was made, block for block, down to
    where every later block is a whole number of DC steps off (the proof's DC step test): a flipped
    bit the copy's decoder did not notice. ``cleanup_corrupt``, never safe."""
    st = proof["stepped"]
    res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", st["region"]
    steps = " and ".join(f"{k:+d}" for k in st["steps"])
    res.reasons.append(f"clean-up copy is damaged: the kept picture saved as this {c.format} was, block for block, "
                       f"down to {st['start']:.0%} of its height, and from there on {steps} luma DC steps off in "
                       f"every block, as a flipped bit in a DC difference leaves the rest of the stream")
    return _also_turned(r, res)


def _speckled_verdict(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, proof: dict, res: PairResult) -> PairResult:
    """Step 6a, from the proof. The same picture, but the kept copy carries detail the copy lacks
    beyond what re-encoding takes away (the proof's speckle test): damage inside the kept file's
    stream that decoded without complaint (a JPEG 2000 code-block read from wrong bytes), or a copy
    cleaned of spots. Either way this copy may be the better one: ``match_corrupt``, never safe."""
    sp = proof["speckled"]
    res.verdict, res.corrupt_side, res.region = "match_corrupt", "match", sp["region"]
    res.reasons.append(f"kept copy is damaged: speckle this copy lacks in {sp['windows']} 8x8 px windows (worst "
                       f"{sp['worst']:.1f} times what re-encoding explains), as a {m.format} damaged inside its stream "
                       f"decodes; or this copy was cleaned; the rest agrees at full detail")
    return _also_turned(r, res)


def _full_detail_words(proof: dict) -> str:
    """What the proof found, for the reasons: the worst tile against the tolerance it was judged by;
    tiles within the noise floors (the proof's ``floor_tiles``) are named apart, they agree
    whatever re-encoding explains and were not simulated."""
    size = f"{proof['size'][0]}x{proof['size'][1]}"
    floor = proof.get("floor_tiles") or 0
    if not floor:
        return f"same picture at full detail ({size}, worst tile {proof['worst']:.2f} of its tolerance)"
    if proof.get("worst_simulated") is None:
        return f"same picture at full detail ({size}, every tile within the noise floors)"
    return (f"same picture at full detail ({size}, {floor} of {proof['tiles']} tiles within the noise floors, "
            f"worst other tile {proof['worst_simulated']:.2f} of its tolerance)")


def _finer_than_the_kept_copy(c: FileAnalysis, m: FileAnalysis, T: Thresholds) -> str | None:
    """Why the kept copy, coded without loss, does not hold the clean-up copy's finest detail, or None: the
    copy holds over ``finer_detail_limit`` times as much of it as the kept picture made as the copy was
    (``proof.finer_than_made``), and ``finer_detail_floor`` grey levels RMS more at least, the kept picture
    enlarged from a smaller one or smoothed. The floor: ImageMagick's JPEGs of a plain gradient or wall, whose
    encoder rounds otherwise than the one the measure codes with, measured up to 2.1 times a fine detail of
    a hundredth of a grey level (0.01-0.04 RMS more; the attack's softer kept copies 0.21 and more, but for
    three nearly plain ones, 0.07-0.12). Pixels count the pixels a file has, not the detail it holds;
    deleting the copy would keep only the softer picture.

    Only for a copy of the kept picture's very size, a JPEG or coded without loss (whose coding the measure
    makes again): a copy shrunk by a sharpening or aliasing tool (ImageMagick's -sharpen, -unsharp, -sample)
    holds more fine energy than the kept picture shrunk by Lanczos, made of the kept picture's own detail (30
    of 616 such true copies were refused so, ``bench/true_copies_tools.py``). Not against a lossy kept copy:
    its own coder took detail away (an 8:1 JPEG 2000 holds less than a q92 copy of the original the pair was
    made from, up to 1.8 times over 42 generated corpora), and such a pair's tolerances model that loss. Not
    over ``max_side``: the finest detail is what the cap takes. Nor for a lossy WebP copy, whose coding the
    measure does not make (38 true ones up to 1.31). Measured: 478 JPEG and lossless true copies of 42 generated
    corpora and dev against lossless kept copies, all sizes, 1.00 at most; the attack's enlarged and smoothed
    kept copies, 1.29-18.6, and 1.01 for one enlarged from 78 %."""
    if not (_same_dims(c, m) and coded_without_loss(m) and (c.format == "JPEG" or coded_without_loss(c))):
        return None
    if max(c.width or 0, c.height or 0) > T.proof.max_side or not (attach_rendition(c) and attach_rendition(m)):
        return None
    ratio, excess = finer_than_made(c.rendition, m.rendition, c.jpeg_quality if c.format == "JPEG" else None,
                                    luma_table=_luma_table(c), subsampling=_jpeg_subsampling(c), stored=_orient(c))
    if ratio <= T.proof.finer_detail_limit or excess < T.proof.finer_detail_floor:
        return None
    return (f"the clean-up copy holds {ratio:.2f} times the finest detail of the kept picture made as it was "
            f"(limit {T.proof.finer_detail_limit}), {excess:.2f} grey levels RMS more: the kept copy is softer, "
            f"enlarged from a smaller picture or smoothed, and deleting the copy would keep only the softer one")


def _same_picture_verdict(c: FileAnalysis, m: FileAnalysis, proof: dict, res: PairResult,
                          saved_so: dict | None = None) -> PairResult:
    """Step 6c. The same picture, not turned, neither side damaged: identical (equal decoded
    pixels) or duplicate, and safe to delete only when the intact kept copy holds at least as much,
    the copy holds enough of the kept picture's detail for the proof to tell (``min_detail_held``),
    and it is not the kept picture saved as it was but for a few blocks (``saved_so``, from
    ``_blocks_off``: off by more cosines than a flipped coefficient and by more levels than
    ``reproduced_rounding``, as an edit and a flip that scrambled a block are; an 80x72 copy with one
    block 40 levels off by a flip was a safe duplicate), nor a JPEG copy whose blocks step
    ``garbled_blocks`` times as much across their edges as the kept picture's, coded without loss, saved
    as it was (``_block_edges``: an 8 px mosaic of a 148 px colour wheel, each block its mean, was a safe
    duplicate of the kept TIFF, its block means exact; it steps 5.8 times as much, true copies 1.21 at
    most)."""
    reasons = res.reasons
    # identical only for equal decoded pixels (a lossy WebP copy is not identical)
    identical = (c.width, c.height) == (m.width, m.height) and bool(c.pixel_sha256) and samples_shown_equal(c, m)
    res.verdict = "identical" if identical else "duplicate"
    reasons.append("same decoded pixels" if identical else _full_detail_words(proof))
    why = holds_at_least_as_much(m, c)
    if m.status != "ok":
        why.append("kept copy is not intact")
    finer = None if why or identical else _finer_than_the_kept_copy(c, m, res.thresholds)
    if finer:
        why.append(finer)
    held = proof.get("detail_held")
    if not identical and held is not None and held < res.thresholds.proof.min_detail_held:
        size = proof["size"]
        why.append(f"too small to prove at the detail of the content: at {size[0]}x{size[1]} px the copy holds "
                   f"{held:.0%} of the kept picture's detail (its grey's variance), and pages of one layout, blank "
                   f"pages and fine patterns look alike there")
    if saved_so is not None and not identical and saved_so["levels"] > res.thresholds.proof.reproduced_rounding:
        why.append(f"{_saved_so_words(c, saved_so)}, which differ by {saved_so['cosines']} of their DCT cosines or "
                   f"more: edited there, or damaged, or coded otherwise, as the pixels do not tell")
        res.region = saved_so["region"]
    # (read last, for a copy nothing else keeps from being safe: it saves the kept picture as the copy was; and only
    # of a kept picture coded without loss: a lossy kept copy's coder smooths the grain whose quantisation makes a
    # copy made from the original step across its blocks, a grained page's 75 % q75 copy 2.8 times as much as its
    # 8:1 JPEG 2000 saved so)
    blocky = (None if why or identical or not coded_without_loss(m)
              else _block_edges(c, m, res.thresholds, turn=(0, False)))
    if blocky is not None and blocky >= res.thresholds.garbled_blocks:
        why.append(f"its 8x8 px blocks step {blocky:.1f} times as much across their edges as the kept picture's do "
                   f"saved as this copy was: pixelated, or saved from a coarser copy, or damaged, as the pixels do "
                   f"not tell")
    if why:
        reasons.extend(why)
        reasons.append("not safe: needs a person")
    else:
        res.safe_to_delete = True
    return res


def _plainness(turn) -> tuple:
    """How plain a turn is, plainest first: none, then a rotation, then a mirror."""
    return (tuple(turn) != (0, False), bool(turn[1]))


def _plainer_turn(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, shared_id: bool, T: Thresholds) -> PairResult | None:
    """Step 6b, before a turned or mirrored copy goes to a person: the pair verified at a plainer
    turn (none, else a rotation without the mirror) at which the kept picture is itself the same
    picture, or None.

    Why: a picture symmetric under a turn (a chessboard crop, a test chart, a tiled floor) is the
    same picture at both turns, and which one the copy was made by cannot be seen; the 40x40 turn
    score chose by its coding noise (turned copies of 100 px chessboard crops were reported
    transposed, upright ones "turned 270 degrees and mirrored, a person must confirm"). The plainer
    turn must pass the whole verification again, full-detail proof included, so a picture that is
    only nearly symmetric keeps the turn its proof found."""
    plainer = [(s, u) for s, u in orientation_scores(dihedral(m.image, *r.turn), m.image)
               if s <= T.max_orient_score and _plainness(u) < _plainness(r.turn)]
    turns = [(u, next((s for s, t in r.other_turns if t == u), r.orient_score))
             for _, u in sorted(plainer, key=lambda su: (_plainness(su[1]), su[0]))]
    res = _first_proven_turn(c, m, turns, shared_id, T)
    if res is not None:
        res.reasons.append(f"the kept picture is symmetric: {turn_words(*r.turn)} it is the same picture "
                           f"too, and the plainer turn is reported")
        if res.safe_to_delete and not _its_own_turned_self(m, r.turn, (res.rotation, res.flipped)):
            res.safe_to_delete = False
            res.reasons.append("not safe: the kept picture is its own turned self only within its coding "
                               "noise, so whether this copy was turned cannot be told: a person confirms")
    return res


def _first_proven_turn(c: FileAnalysis, m: FileAnalysis, turns, shared_id: bool, T: Thresholds) -> PairResult | None:
    """The first of ``turns`` ((turn, its screen score), in order) at which the pair's whole verification,
    full-detail proof included, comes to the same picture (``SAME_PICTURE_VERDICTS``) at that very turn,
    or None; each turn is verified only if those before it were not."""
    for u, score in turns:
        res = verify_analyses(c, m, shared_id=shared_id, thresholds=T, turn=(u, score))
        if res.verdict in SAME_PICTURE_VERDICTS and (res.rotation, res.flipped) == tuple(u):
            return res
    return None


def _proven_at_other_turn(c: FileAnalysis, m: FileAnalysis, r: ScreenResult, dmg: PairDamage, shared_id: bool,
                          T: Thresholds) -> PairResult | None:
    """Step 5b, when the full-detail proof refused the pair at the screen's turn: the pair verified
    at a plainer turn (none, else a rotation without the mirror; ``_plainness``) that the screen could
    not tell from it (scored within ``orient_tie`` of it), whose verification proves the same picture
    at that turn, never safe to delete, or None.

    Why: a near-blank page is its own mirror image at the screen's scale but for its page number,
    a few pixels at the foot's centre, so the turn score chose the mirror by coding noise; the proof
    then refused the mirrored page number (a 25 % copy of a blank page at look-alike seed 31 was
    "different", 9 windows edited). Each such turn faces the whole verification, full-detail proof
    included, exactly as it would had the screen chosen it; the first that proves wins (best score
    first). Undamaged pairs only, as ``_screen_other_turns``. Only turns scored as well as the
    screen's, within ``orient_tie``: the other turns that merely fit (0.23-0.45 against 0.04-0.14 for
    a corpus's refused look-alikes) would each cost a whole verification, and the score told them apart.
    Only plainer turns, and a person confirms: an attack's pages "1" mirrored on purpose at 30 % were
    refused at the mirror and proven at no turn (safe, where ``_plainer_turn`` holds such a copy for a
    person), and other pages numbered otherwise, "9" for "8", were proven mirrored."""
    if dmg.any or c.damaged or m.damaged:
        return None
    tie = min(r.orient_score + T.orient_tie, T.max_orient_score)
    res = _first_proven_turn(c, m, [(u, score) for score, u in r.other_turns
                                    if score <= tie and _plainness(u) < _plainness(r.turn)], shared_id, T)
    if res is not None:
        res.reasons.append(f"the screen's best turn ({turn_words(*r.turn)}) was refused by the full-detail "
                           f"proof; this plainer turn scored as well, and the pair is proven at it")
        if res.safe_to_delete:
            res.safe_to_delete = False
            res.reasons.append("not safe: the screen could not tell the two turns apart, so whether this copy "
                               "was turned cannot be told: a person confirms")
    return res


def _its_own_turned_self(m: FileAnalysis, t, u) -> bool:
    """Whether the kept picture's full-detail rendition turned by ``t`` is, pixel for pixel (within
    one level of rounding), the same as turned by ``u``: then no copy can have been turned one way
    rather than the other, and the plainer turn's verdict stands, safe or not. Otherwise the copy
    may be the one a person turned right (a scan mirrored from the wrong side, its mirrored text
    faint or in a colour of the picture's own grey, which the proof's floors and luma tests do not
    see): a person confirms."""
    R = m.rendition
    if R is None:
        return False
    a, b = dihedral(R, *t), dihedral(R, *u)
    return a.shape == b.shape and int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) <= 1


def _whole_but_its_end_marker(c: FileAnalysis, m: FileAnalysis, shared_id: bool, T: Thresholds,
                              turn: tuple | None) -> PairResult:
    """The verdict on a pair with a JPEG whose one fault is its missing end-of-image marker: the
    pair verified as the whole picture that file decodes to, then the file's fault said.

    Why: nothing of its picture is lost, so no difference is the damage's. A copy that differs is
    judged like any other (different, edited, reframed), never a damaged copy of the kept picture
    (a fresh-eyed reviewer's edits saved without their end marker were, 348 of 362 of them). The
    same picture is still a malformed file, so never the engine's to delete: a damaged clean-up copy
    a person confirms (``cleanup_corrupt``), or a damaged kept copy (``match_corrupt``), at the turn
    and against the copy its pixels proved; with both files so, the kept one's (never approvable).
    Only when neither side has other damage: the damage rules judge those pairs as before."""
    whole: dict = {"status": "ok", "errors": [], "damage": None}
    res = verify_analyses(replace(c, **whole) if c.errors else c, replace(m, **whole) if m.errors else m,
                          shared_id=shared_id, thresholds=T, turn=turn)
    if res.verdict not in SAME_PICTURE_VERDICTS:
        return res
    side, verdict, whose = ("match", "match_corrupt", "kept") if m.errors else ("cleanup", "cleanup_corrupt", "clean-up")
    return replace(res, verdict=verdict, corrupt_side=side, safe_to_delete=False,
                   reasons=[f"the {whose} file is malformed: it ends without its end-of-image marker (its decoder finds "
                            "nothing else wrong)", *res.reasons, "not safe: needs a person"])


def verify_analyses(c: FileAnalysis, m: FileAnalysis, *, shared_id: bool | None = None,
                    thresholds: Thresholds | None = None, turn: tuple | None = None) -> PairResult:
    """Verify clean-up analysis ``c`` against kept analysis ``m`` (both carry their reduced images,
    ``analysis.image``; full-detail renditions are attached when needed). In order:

    1. byte-identical files (``_by_checksum``);
    2. a side that does not decode: only a shared ID pairs it (``_undecodable``);
    3. stage 1, the screen at 256 px: turn and damage (``_screen``, ``PairDamage``);
    4. the intact part must agree strictly (``_screen_agrees``), at the best turn or at another that
       fits (``_screen_other_turns``); if not, a damaged clean-up stream
       may still be proven up to its damage (``_stream_proof``);
    5. stage 2, the full-detail proof, tile by tile (``_full_detail_proof``); refused, at a plainer turn
       the screen scored as well, for a person to confirm (``_proven_at_other_turn``);
    6. the verdict: a damaged side (by the screen's evidence, or garbled blocks or a speckled kept
       copy the proof found), a turn, or the same picture and whether it is safe.

    ``thresholds``: default, those in force; recorded on the result either way. ``turn``: (turn,
    score) to screen at, instead of the best-scored (``_plainer_turn``'s second verification)."""
    T = thresholds or _thresholds.current()
    if shared_id is None:
        shared_id = bool(set(c.ids) & set(m.ids))
    early = _by_checksum(c, m, T) or _undecodable(c, m, shared_id, T)
    if early is not None:
        return early
    if {tuple(c.errors), tuple(m.errors)} <= {(), (JPEG_END_MARKER_MISSING,)} and (c.errors or m.errors):
        return _whole_but_its_end_marker(c, m, shared_id, T, turn)
    at, score = turn or (None, 0.0)
    r = _screen(c, m, T, turn=at, turn_score=score)
    if r is None:
        return _new(T, verdict="different", reasons=["aspect ratios differ in every orientation"])
    dmg = PairDamage.of(c, m, r)
    why: list = []
    agrees = _screen_agrees(r, dmg, T, why, kept_modelled=_kept_modelled(m),
                            min_detail=_intact_detail_needed(dmg, shared_id, T))
    # a turn that agrees strictly comes before one that agrees only within proven_local (a text
    # page is nearly its own upside-down mirror image at 40x40; the wrong turn scored best there)
    if (not agrees or r.local_score > T.same_local) and turn is None:
        alt = _screen_other_turns(c, m, r, T, strict=agrees)
        if alt is not None:
            (r, dmg), why, agrees = alt, [], True
    # (each side flat where the other is not: judged below, after the stream's reading; nothing then re-screens)
    apart = _flat_apart(r, dmg, T)
    own = None if apart else (_band_on_its_own_background(r, dmg, T) or _band_of_many_levels(r, dmg, T))
    if own:
        # the flat run the screen took for a band is the picture's own (its blank space, rows of small
        # text): not damage, and not a reason to call the pair different either, so the pair is screened
        # again at its turn with no band masked and judged whole, as an undamaged pair is. A diagram's
        # blank margin beside its thin border line, exactly flat in the kept JPEG 2000 where a true 27 %
        # JPEG copy rang, was "rows at many levels": "different". Another page of one layout, which
        # these rules were written for, now differs where its text does (the screen or the proof)
        r = _screen(c, m, T, turn=r.turn, turn_score=r.orient_score, bands=False)
        dmg = PairDamage.of(c, m, r)
        why = [f"{own}; judged whole, nothing masked"]
        agrees = _screen_agrees(r, dmg, T, why, kept_modelled=_kept_modelled(m),
                                min_detail=_intact_detail_needed(dmg, shared_id, T))
    if not agrees:
        # fine texture the reduced pictures alias: screened again from the renditions (``_screen_unaliased``)
        again = _screen_unaliased(c, m, dmg, T, turn)
        if again is not None:
            dmg_again = PairDamage.of(c, m, again)
            why_again: list[str] = []
            if not dmg_again.any and _screen_agrees(again, dmg_again, T, why_again, kept_modelled=_kept_modelled(m),
                                                    min_detail=_intact_detail_needed(dmg_again, shared_id, T)):
                r, dmg, agrees = again, dmg_again, True
                why = [f"the reduced pictures fold their fine texture back as moire ({why[0] if why else 'refused'}); "
                       f"screened again on pictures reduced from the full-detail renditions, they agree"]
    res = _new(T, diff_score=r.diff_score, local_score=r.local_score, rotation=r.rotation, flipped=r.flipped)
    if dmg.silent_stream and _kept_stream_reads_so(c, m, r, T):
        res.reasons.append(f"pixels garbled from one row to the end of the stream, without a decoder's complaint, "
                           f"in the clean-up JPEG or in the kept {m.format}: the pixels do not tell which, so "
                           f"neither is named damaged (a person compares the two)")
        return res
    if apart:
        res.reasons.append(apart)
        return res
    if dmg.silent_stream or dmg.cleanup_band:
        off = (_not_where_a_stream_breaks(c, m, r, T) if dmg.silent_stream else None) or (
            _band_down_the_stored_rows(c, r, T) if dmg.cleanup_band else None) or (
            _a_picture_where_the_stream_breaks(c, m, r, T) if dmg.silent_stream else None)
        if off:
            res.reasons.append(off)
            return res
        # (said as found: a flat band alone is not a garbled stream, though a curator read it so for a PNG copy,
        # and the decoder's complaint, when there is one, is the next reason's)
        res.reasons.append(("clean-up pixels garbled from one row to the end of the stream" if dmg.silent_stream or r.progressive_a
                            else "a flat band in the clean-up pixels where the kept copy shows the picture")
                           + ("" if c.damaged else " (the decoder did not complain)"))
    res.reasons.extend(why)
    if not agrees:
        if dmg.cleanup:
            _stream_proof(c, m, r, res, T, shared_id)
        # a damaged copy named after its kept copy with little intact: what is intact (with detail,
        # ``low_coverage``'s rule) must agree as the screen's does, from ``named_min_coverage`` on.
        # Little intact is not agreement: the screen finds the damage by the difference, so another
        # picture cut early is "damaged" from its first row (coverage 0), as a garbled copy may be;
        # and an attack named another page's copy after a kept page whose letterhead, 3-4 % of it,
        # was all that was intact
        if res.verdict == "different" and shared_id and dmg.cleanup:
            named = _named_screen(c, m, r, dmg, T)
            if named is not None:
                return _named_damaged_copy(c, m, *named, res)
            past = _named_copy_past_comparing(c, m, r, T)
            if past is not None:
                return past
        broken = _read_out_of_step(c, m, r, dmg, T) if res.verdict == "different" else None
        if broken is not None:
            return broken
        return res
    proof: dict | None = None
    if not (attach_rendition(c) and attach_rendition(m)):
        if not dmg.any:
            res.reasons.append("no full-detail rendition to prove the pair with")
            return res
    else:
        proof = _full_detail_proof(c, m, r, dmg, T, shared_id)
        res.proof = _proof_summary(proof)
        unproven = _inferred_damage_unproven(r, dmg, proof, T)
        if unproven:
            res.reasons.extend(unproven)
            return res
        if proof.get("too_little") and dmg.any:
            res.reasons.append("the intact part is too small for a full-detail proof (a damaged pair is never safe)")
            proof = None
        elif not proof["same"]:
            saved_so = _blocks_off(c, m, r, T) if not dmg.any else None
            if saved_so is not None and saved_so["flipped"]:
                return _blocks_off_verdict(c, r, saved_so, res)
            other = _proven_at_other_turn(c, m, r, dmg, shared_id, T) if turn is None else None
            if other is not None:
                return other
            broken = _read_out_of_step(c, m, r, dmg, T)
            if broken is not None:
                return broken
            res.reasons.extend(proof["reasons"])
            res.region = proof["region"]
            return res
        else:
            stretched = _stretched(c, m, r, T)
            if stretched:
                res.reasons.append(stretched)
                return res
    if r.local_score > T.same_local and not dmg.any and not _proof_accounts_for_copy(proof):
        # the screen's wider limit (``proven_local``) holds only for a copy the proof accounted for:
        # an 18 px square lifted by 30 grey levels in a 35 % copy of a PNG, not reproduced (no filter
        # made it), passed the tile tests at 0.95 of their tolerance
        res.reasons.append(f"local difference {r.local_score:.3f} > {T.same_local} (edited, reframed or other "
                           f"picture), and the copy is not the kept picture reproduced pixel for pixel, nor its "
                           f"JPEG 2000 loss spread evenly")
        return res
    # 6. the verdict
    if dmg.any:
        return _damaged_verdict(c, m, r, dmg, proof, res)
    colour = _colour_where_the_copy_is_grey(c, m, r, T) if proof is not None else None
    if colour is not None:
        res.region = colour["region"]
        res.reasons.append(colour["reason"])
        return res
    finer = _beyond_cap_lacking(c, m, r.turn, T) if proof is not None else None
    if finer is not None:
        res.region = finer["region"]
        res.reasons.append(finer["reason"])
        return res
    # the kept copy's speckle first: the garble test sees it too, as windows of a clean-up JPEG
    if proof is not None and proof.get("speckled"):
        return _speckled_verdict(c, m, r, proof, res)
    if proof is not None and proof.get("garbled"):
        return _garbled_verdict(c, m, r, proof, res)
    if proof is not None and proof.get("stepped"):
        return _stepped_verdict(c, r, proof, res)
    saved_so = _blocks_off(c, m, r, T) if proof is not None else None
    if saved_so is not None and saved_so["flipped"]:
        return _blocks_off_verdict(c, r, saved_so, res)
    if r.turn != (0, False):                                  # 6b. turned or mirrored: a person confirms
        # (not in a verification at a given turn: only that very turn is taken from it, never a plainer one)
        plainer = _plainer_turn(c, m, r, shared_id, T) if proof is not None and turn is None else None
        if plainer is not None:
            return plainer
        edited = _edited_before_turned(c, m, r, dmg, T, shared_id, proof) if proof is not None else None
        if edited is not None:
            res.proof, res.region = _proof_summary(edited), edited["region"]
            res.reasons.extend(edited["reasons"])
            return res
        res.verdict = "rotated"
        res.reasons.append(f"same picture {turn_words(r.rotation, r.flipped)}")
        return res
    return _same_picture_verdict(c, m, proof, res, saved_so=saved_so)


def verify_pair(cleanup_path, match_path, *, cleanup: FileAnalysis | None = None,
                match: FileAnalysis | None = None) -> PairResult:
    """Full verification of a clean-up file against a candidate match, from the two files.
    Analyses may be passed (e.g. stored ones); their reduced images are decoded when missing."""
    if cleanup is not None and cleanup.path is None:
        cleanup.path = os.fspath(cleanup_path)
    if match is not None and match.path is None:
        match.path = os.fspath(match_path)
    if cleanup is None or (cleanup.image is None and cleanup.readable):
        ids = cleanup.ids if cleanup is not None else None
        cleanup = analyse_file(cleanup_path, name=cleanup.name if cleanup is not None else None)
        if ids is not None:
            cleanup.ids = ids
    if match is None or (match.image is None and match.readable):
        ids = match.ids if match is not None else None
        match = analyse_file(match_path, name=match.name if match is not None else None)
        if ids is not None:
            match.ids = ids
    res = verify_analyses(cleanup, match)
    res.match = match.name or os.path.basename(os.fspath(match_path))
    return res


@dataclass
class FileDecision:
    """A clean-up file's verdict among its verified candidates (``decide_file``)."""
    verdict: str
    match: str = ""                       # the chosen candidate's key/name ("" when none)
    result: PairResult | None = None      # the chosen candidate's PairResult
    reasons: list = field(default_factory=list)   # why, when no candidate was chosen


def verification_failed(cleanup: FileAnalysis, exc: BaseException) -> FileDecision:
    """A clean-up file's decision when verifying it raised: no match claimed (unreadable when it does
    not decode), the error in the reasons, so one odd file never stops a run and a person sees why.
    The command line and the pipeline both decide so."""
    return FileDecision("unreadable" if not cleanup.readable else "no_match",
                        reasons=[f"verification failed: {type(exc).__name__}: {exc}"])


def _damaged_part(r: PairResult) -> float:
    """The part of the picture a pair calls damaged (its region's area; 0 for an undamaged pair
    or one without a usable region)."""
    return (region_area(r.region) or 0.0) if r.corrupt_side != "none" else 0.0


def _proven_edited(r: PairResult) -> bool:
    """Whether the full-detail proof found the copy to be the kept picture, edited: made as it was
    but for windows or cells that depart from its reproduction, in another tone or colour balance (its
    flat parts or its textured ones), or marked where the picture is plain."""
    proof = r.proof or {}
    rep = proof.get("reproduction") or {}
    return bool(rep.get("cells") or rep.get("windows") or any((proof.get(k) or {}).get("beyond")
                                                              for k in ("tone", "balance", "plain")))


def decide_file(cleanup: FileAnalysis, results: list, *, thresholds: Thresholds | None = None) -> FileDecision:
    """Pick the best of a clean-up file's verified candidates. ``results``: PairResult (with .match
    set) or None."""
    T = thresholds or _thresholds.current()
    results = [r for r in results if r is not None]
    # a copy that the kept copy its name points to reproduces pixel for pixel, but where it departs,
    # is that copy edited: the reproduction is evidence of its origin that no look-alike gives, and
    # another kept copy of the same picture (lossy, or over the 2048 px cap, where the proof sees
    # less) does not make it safe (an attack: a copy lifted by 3 levels in a 42 px box, "different"
    # against its own TIFF, was a safe duplicate of a JPEG 2000 upscale of the same picture). So is a
    # copy in another colour balance than its kept copy: a lossier twin of the picture kept beside it,
    # held to a wider limit, may not show that (a shot 1 % off, "different" against its PNG, was a
    # safe duplicate of an 8:1 JPEG 2000 of the same picture; at look-alike seed 101 the tone test, on
    # the picture's flat parts, was the one to find it, and it decides so too). So is a mark on a
    # plain part of the page
    edited = next((r for r in results if "id" in r.via and r.verdict == "different" and _proven_edited(r)), None)
    if edited is not None:
        return FileDecision("different", edited.match, edited)
    declared = [r for r in results if r.declared]
    if declared:
        # near-equal candidates (e.g. a mirror-symmetric picture and its mirrored twin): the one
        # that needs no turn is the simpler explanation
        # and among damaged pairs, the one that finds more of the copy intact: a truncated tile
        # against another tile of the same photograph turned 180 degrees agreed only in a black
        # corner (10 % of the picture), where its differences were smaller than the right pair's
        # A kept copy the file's name points to, proven the same picture, comes first, whatever
        # another kept copy that shows the same picture is called: the name is evidence of which
        # object this is a copy of, the other a look-alike or a second copy. A damaged one named so
        # may need this copy to be repaired (invariant 3: seed 803, a banded chessboard crop's copy
        # was "rotated" against another crop of the board, not match_corrupt against its own), and
        # a turned one is not made safe by a twin (seed 816: a mirrored copy of one chessboard crop
        # was a safe duplicate of another crop that looks the same unturned)
        best = min(declared, key=lambda r: ("id" not in r.via, verdict_rank(r.verdict), r.diff_score + r.local_score
                                            + (T.turn_penalty if (r.rotation, r.flipped) != (0, False) else 0.0)
                                            + T.damage_penalty * _damaged_part(r)))
        return FileDecision(best.verdict, best.match, best)
    if not cleanup.readable:
        return FileDecision("unreadable", "", results[0] if results else None,
                            ["does not decode: " + "; ".join(cleanup.errors[:2]), "no candidate by ID"])
    if results:
        best = min(results, key=lambda r: r.diff_score + r.local_score)
        return FileDecision("different", best.match, best)
    return FileDecision("no_match", "", None,
                        ["near-blank picture: content search skipped"] if cleanup.flat else ["no candidate"])

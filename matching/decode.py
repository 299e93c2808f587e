"""Decoding: every archive format, reduced where the codec allows it, damage noticed.

`decode(path)` returns a :class:`Decoded`: metadata of the full image plus a small RGB array
(displayed orientation, longest side about ``target`` px) made from a *reduced* decode where the
format allows it (JPEG DCT scaling, JPEG 2000 resolution levels; a TIFF always from its master IFD, never a preview).
Damage (truncation, decoder warnings, structural inconsistencies) is recorded in ``errors``; what
still decodes is returned.  Only files with nothing decodable raise :class:`DecodeError`.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import threading
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFile

from .formats import (
    ALPHA_MODES,
    channel_mode,
    gif_icc,
    item_bit_depth,
    item_nclx,
    j2k_bit_depth,
    jp2_colour_boxes,
    mode_bits,
    png_chunks,
    samples_dropped,
)

try:  # strict libjpeg-turbo decoder: turns libjpeg's "Corrupt JPEG data" warnings into errors
    import simplejpeg
except Exception:  # pragma: no cover
    simplejpeg = None

DEFAULT_MAX_PIXELS = 100_000_000
# The second limit, on what a full decode would hold in memory: width x height x channels x bytes
# per sample. The pixel limit alone lets a small file declare a 16-bit RGBA canvas that needs
# gigabytes (14000 x 14000 x 4 x 2 = 1.57 GB from a 1.5 MB PNG). A host (Django settings) may set
# both defaults once at start-up; a caller may pass its own.
DEFAULT_MAX_DECODED_BYTES = 1024 ** 3
# A third, on work rather than memory: the scans of a progressive JPEG. Each scan makes libjpeg pass
# over every coefficient of the picture again, and a scan may be a few dozen bytes, so a 2.7 MB file of
# 20,000 scans of an 8192 x 8192 picture (an attack) decoded for minutes at 207 MB-1.4 GB, past a
# worker's hard time limit, which killed it (libjpeg does not return to Python to be interrupted).
# Encoders write 2-12 (libjpeg's progressive script 10; mozjpeg's searched scripts stay under 70);
# libjpeg-turbo's documentation suggests 500 as the limit for untrusted files.
MAX_JPEG_SCANS = 500
DEFAULT_TARGET = 256

DECODER_FILL = 128.0   # the grey libjpeg (and Pillow, for a truncated file) fills what it could not decode with

# OpenJPEG can decode a JPEG 2000 file's code-blocks on several threads; Pillow asks for none, and
# OpenJPEG reads how many from this variable each time a decode starts. A 12 MP lossless master
# took 1.0 s on one thread and 0.66 s on two (2 cores; lossy 0.65 -> 0.47 s), and two processes
# each decoding on two threads lost 2% against one thread each, so every core is offered; the
# pixels are the same bytes either way (the corpora's JPEG 2000 files at three reductions, truncated
# and bit-flipped masters). An operator's own setting wins.
os.environ.setdefault("OPJ_NUM_THREADS", "ALL_CPUS")

# Pillow's own bomb check is replaced by ours (clear message, configurable limit).
Image.MAX_IMAGE_PIXELS = None


class DecodeError(Exception):
    """The file cannot be decoded at all (or must not be: decompression bomb)."""


# ---------------------------------------------------------------- orientation helpers
def dihedral(a: np.ndarray, rotation: int, flipped: bool) -> np.ndarray:
    """Turn ``a`` counter-clockwise by ``rotation`` degrees, then mirror left-right if ``flipped``."""
    out = np.rot90(a, (int(rotation) // 90) % 4)
    return np.fliplr(out) if flipped else out


DIHEDRAL = [(r, f) for f in (False, True) for r in (0, 90, 180, 270)]


def aspect_fits(a_aspect, b_aspect, turn, aspect_tol):
    """B, of log aspect ratio ``b_aspect`` (log of width over height; a number, or an array of them),
    turned by ``turn`` has A's log aspect ratio ``a_aspect`` within ``aspect_tol``: a quarter turn
    negates a log aspect ratio, a mirror keeps it. The one rule by which a turn of a kept picture may
    be searched (``index.thumbnail_hits``), screened or proven (``compare.turn_fits``) at all."""
    turned = -b_aspect if int(turn[0]) % 180 == 90 else b_aspect
    return np.abs(turned - a_aspect) <= aspect_tol


def _signature(a):
    return a.tobytes() + bytes(a.shape)


def compose(first, second):
    """(rot, flip) equal to applying ``first`` then ``second``."""
    probe = np.arange(6).reshape(2, 3)
    want = dihedral(dihedral(probe, *first), *second)
    for t in DIHEDRAL:
        got = dihedral(probe, *t)
        if got.shape == want.shape and (got == want).all():
            return t
    raise AssertionError


def inverse(t):
    for u in DIHEDRAL:
        if compose(t, u) == (0, False):
            return u
    raise AssertionError


# EXIF orientation tag -> transform (rot, flip) turning stored pixels into displayed ones.
_EXIF_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                   4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                   6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                   8: Image.Transpose.ROTATE_90}


def _exif_table():
    probe = np.arange(6, dtype=np.uint8).reshape(2, 3)
    table = {1: (0, False)}
    for tag, method in _EXIF_TRANSPOSE.items():
        want = np.asarray(Image.fromarray(probe).transpose(method))
        for t in DIHEDRAL:
            got = dihedral(probe, *t)
            if got.shape == want.shape and (got == want).all():
                table[tag] = t
    return table


EXIF_TO_DIHEDRAL = _exif_table()


# ---------------------------------------------------------------- result type
@dataclass
class Decoded:
    format: str = ""
    width: int = 0            # displayed (after EXIF orientation)
    height: int = 0
    pages: int = 1
    pictures: int = 1         # every picture the file holds (pages, frames, previews) + what follows its end
    icc: str = ""             # the colour profile its pixels are shown through ("": none, or sRGB's): colour_profile()
    bit_depth: int = 8
    mode: str = ""
    exif_orientation: int = 1
    errors: list = field(default_factory=list)
    truncated: bool = False
    image: np.ndarray | None = None   # uint8 HxWx3, displayed orientation, reduced
    decoded_fraction: float = 1.0     # rows of the stored image that decoded (when known)
    reduced_by: int = 1               # decoder-side reduction factor used
    notes: list = field(default_factory=list)   # how it was measured (formats.py): not damage

    @property
    def orientation(self):
        return EXIF_TO_DIHEDRAL.get(self.exif_orientation, (0, False))


_TRUNC_LOCK = threading.Lock()
_WARN_LOCK = threading.Lock()


@contextmanager
def load_truncated():
    """Let Pillow return what decodes of a truncated file (module-global flag: set under a lock)."""
    with _TRUNC_LOCK:
        old = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = old


def sniff(data: bytes) -> str:
    """The format named by the content (never the file name): see formats.sniff."""
    from .formats import sniff as sniff_content
    return sniff_content(data).format


# ---------------------------------------------------------------- structural checks
def _check_jp2(data: bytes) -> list:
    errs = []
    cs: bytes | None
    if data[:4] == b"\xff\x4f\xff\x51":
        cs = data
    else:
        pos, cs = 0, None
        while pos + 8 <= len(data):
            length, typ = struct.unpack(">I4s", data[pos:pos + 8])
            hdr = 8
            if length == 1:
                if pos + 16 > len(data):
                    break
                length = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
                hdr = 16
            elif length == 0:
                length = len(data) - pos
            if typ == b"jp2c":
                if pos + length > len(data):
                    errs.append("truncated: JPEG 2000 codestream box runs past the end of the file")
                cs = data[pos + hdr:pos + length]
                break
            if length < hdr:
                errs.append("damaged: bad JP2 box length")
                break
            pos += length
        if cs is None:
            errs.append("damaged: no JPEG 2000 codestream box")
            return errs
    if not cs.rstrip(b"\x00").endswith(b"\xff\xd9"):
        errs.append("truncated: JPEG 2000 codestream has no end-of-codestream marker")
    return list(dict.fromkeys(errs))


_JPEG_SEQUENTIAL = (0xC0, 0xC1, 0xC9)   # SOF markers of a sequential DCT frame (Huffman or arithmetic)
_JPEG_PROGRESSIVE = (0xC2, 0xCA)        # ... and of a progressive one
_JPEG_HUFFMAN_FRAMES = (0xC0, 0xC1, 0xC2)   # baseline, extended and progressive DCT with Huffman coding
# the next marker after entropy-coded data: 0xFF and a code that is not a stuffed 0x00, a restart or
# another fill byte (a regular expression: a scan with a restart every block is millions of markers)
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_segments(data: bytes):
    """Each marker segment of a JPEG's stream, in order: (marker, its offset, its body), skipping the
    entropy-coded data after each scan header; ends at the end-of-image marker, yielded as (0xD9, its
    offset, b""), or where the file does. Stray bytes between segments are skipped, as libjpeg does."""
    pos, n = 2, len(data)
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            pos += 1   # (stray bytes between segments: libjpeg skips them too)
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:   # EOI
            yield marker, pos, b""
            return
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if pos + 4 > n:
            return
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        yield marker, pos, data[pos + 4:pos + 2 + length]
        pos += 2 + length
        if marker == 0xDA:
            # the entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                return
            pos = found.start()


def _jpeg_scans(data: bytes):
    """(frame type, component ids, [(component ids, Ss, Se, Ah, Al) per scan]) of a JPEG's first
    frame, walking its markers (``_jpeg_segments``); None when the file is not a DCT JPEG this reads
    (hierarchical or lossless frames, no frame header)."""
    frame, comps, scans = None, [], []
    for marker, _pos, seg in _jpeg_segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if frame is not None:
                break
            if marker not in _JPEG_SEQUENTIAL + _JPEG_PROGRESSIVE or len(seg) < 6:
                return None
            frame = "progressive" if marker in _JPEG_PROGRESSIVE else "sequential"
            comps = [seg[6 + 3 * i] for i in range(seg[5]) if 6 + 3 * i < len(seg)]
        elif marker == 0xDA and len(seg) >= 1:
            k = seg[0]
            if len(seg) >= 1 + 2 * k + 3:
                ids = [seg[1 + 2 * i] for i in range(k)]
                ss, se, a = seg[1 + 2 * k], seg[2 + 2 * k], seg[3 + 2 * k]
                scans.append((ids, ss, se, a >> 4, a & 0x0F))
    return None if frame is None else (frame, comps, scans)


def _jpeg_end(data: bytes) -> int | None:
    """The offset just past a JPEG's end-of-image marker (``_jpeg_segments``), or None where it has none."""
    for marker, pos, _seg in _jpeg_segments(data):
        if marker == 0xD9:
            return pos + 2
    return None


def _png_end(data: bytes) -> int | None:
    """The offset just past a PNG's IEND chunk, or None."""
    pos = 8
    while pos + 8 <= len(data):
        length, typ = struct.unpack(">I4s", data[pos:pos + 8])
        pos += 12 + length
        if typ == b"IEND":
            return pos if pos <= len(data) else None
    return None


SRGB_LIKE_LEVELS = 3   # a profile that shows a lattice of RGB colours within this many levels of sRGB's is sRGB's
SRGB_CHROMATICITY = (0.3127, 0.329, 0.64, 0.33, 0.3, 0.6, 0.15, 0.06)   # white point, red, green, blue (x, y)
SRGB_CHROMATICITY_SLACK = 0.01   # a PNG's cHRM within this of sRGB's, each coordinate, is sRGB's
SRGB_GAMMA_SLACK = 0.005   # a PNG gamma (gAMA) within this of 1/2.2 (0.45455; writers store 45455 / 100000) is sRGB's


@lru_cache(maxsize=1)
def _profile_probe():
    """The sRGB profile and the colours colour_profile shows through a file's profile: a lattice of 512 RGB colours (8
    levels a channel, 0-255) and every level of each channel and of grey (a profile may match sRGB at the lattice's
    levels and stray between them: 45 levels off at 127, in an attack's)."""
    from PIL import ImageCms
    g = np.rint(np.stack(np.meshgrid(*([np.linspace(0, 255, 8)] * 3), indexing="ij"), -1).reshape(-1, 3))
    v = np.arange(256)[:, None]
    ramps = np.concatenate([v * np.array(axis) for axis in ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1))])
    probe = np.concatenate([g, ramps]).astype(np.uint8).reshape(32, 48, 3)
    return ImageCms.createProfile("sRGB"), Image.fromarray(probe)


def colour_profile(icc: bytes | None) -> str:
    """What a file's embedded ICC profile does to its pixel numbers: "" for none or a profile that shows
    them as sRGB does (a lattice of colours through it to sRGB within ``SRGB_LIKE_LEVELS``), else its
    description and, in brackets, the first 12 hex digits of the SHA-256 of its bytes (``profile_colours``;
    the same profile renamed counts as another: a person decides).

    Why: the pair compares pixel numbers; a copy of the same numbers tagged ProPhoto or Adobe RGB shows
    more saturated colours in any colour-managed viewer than the untagged kept file, and was "identical"
    (an attack's 56 of 56). By the colours, not the name: sRGB profiles described "c2", "Display",
    "IEC 61966-2.1 Default RGB colour space" were refused (28 true copies), and a wide-gamut "esRGB"
    passed for sRGB by its name."""
    if not icc:
        return ""
    digest = hashlib.sha256(icc).hexdigest()[:12]
    try:
        from PIL import ImageCms
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = (ImageCms.getProfileDescription(prof) or "").strip() or "unnamed"
    except Exception:
        return f"an unreadable profile [{digest}]"
    try:
        srgb, lattice = _profile_probe()
        shown = np.asarray(ImageCms.profileToProfile(lattice, prof, srgb, outputMode="RGB"))
    except Exception:
        shown = None   # (not shown through it: told apart by its bytes)
    if shown is not None and int(np.abs(shown.astype(np.int16) - np.asarray(lattice, np.int16)).max()) <= SRGB_LIKE_LEVELS:
        return ""
    return f"{desc[:80]} [{digest}]"


def colour_description(info: dict, data: bytes = b"", fmt: str = "", tags=None, bits: int = 8) -> str:
    """What a decoded file says its pixel numbers are shown as (``Decoded.icc``), every part that is not sRGB's: its
    ICC profile (``info``, or a JPEG 2000's colour box or a GIF's ICCRGBG1 extension, which Pillow does not read:
    ``colour_profile``; said alone as
    that says it when nothing else is), a JPEG 2000's named colour space (CIELab, e-sRGB, ROMM), colour code points
    (a PNG's cICP chunk, which outranks its profile, a HEIF's or AVIF's nclx colour box; narrow range is not sRGB's),
    and, for a PNG with neither a profile nor an sRGB chunk, its gamma (gAMA) other than 1/2.2 and its primaries
    (cHRM) other than sRGB's; a TIFF's colorimetry tags (``tags``: WhitePoint, PrimaryChromaticities,
    TransferFunction, YCbCrCoefficients, ReferenceBlackWhite) where they are not the defaults for its ``bits``, the
    depth ``header_bit_depth`` read). Chunks and boxes are
    walked, not searched (``formats.png_chunks``, ``jp2_colour_boxes``). Said as "PNG gamma 1 [gAMA 1]": the part in
    brackets tells descriptions apart (``profile_colours``); "" is sRGB, as every untagged file is taken to be.

    Why: the same numbers tagged gamma 1.0 show far lighter midtones in a viewer that reads the chunk, tagged with
    ProPhoto's primaries, Display P3 or BT.2020 more saturated colours; a JPEG 2000 master's Adobe RGB profile, a
    TIFF's primaries or YCbCr coefficients change its colours too. Each was "identical" to the untagged kept file
    (attacks')."""
    said: list = []
    named: list = []
    boxes = jp2_colour_boxes(data) if fmt == "JPEG2000" else []
    icc = (info.get("icc_profile") or next((v for kind, v in boxes if kind == "icc"), None)
           or (gif_icc(data) if fmt == "GIF" else None))
    profile = colour_profile(icc) if icc else ""
    for kind, space in boxes:   # (a named colour space other than sRGB's, grey's or sYCC's: CIELab, e-sRGB, ROMM)
        if kind == "enum" and space not in (16, 17, 18):
            said.append(f"jp2cs {space}")
            named.append(f"JPEG 2000 colour space {space}")
    cicp = _cicp(data, fmt, info)
    if cicp is not None and not _cicp_srgb(cicp):
        said.append(f"cicp {cicp[0]} {cicp[1]}" + ("" if cicp[2] else " narrow"))
        named.append(f"colour code points {cicp[0]}/{cicp[1]} (primaries/transfer){'' if cicp[2] else ', narrow range'}, "
                     f"not sRGB's")
    if fmt == "PNG" and "srgb" not in info and not icc:
        try:
            gamma = float(info["gamma"]) if info.get("gamma") is not None else None
        except (TypeError, ValueError):
            gamma = None
        if gamma and abs(gamma - 1 / 2.2) > SRGB_GAMMA_SLACK:
            said.append(f"gAMA {gamma:.5g}")
            named.append(f"gamma {gamma:.5g}")
        try:
            chrm = [float(v) for v in info["chromaticity"]] if info.get("chromaticity") is not None else []
        except (TypeError, ValueError):
            chrm = []
        if len(chrm) == 8 and max(abs(v - s) for v, s in zip(chrm, SRGB_CHROMATICITY)) > SRGB_CHROMATICITY_SLACK:
            said.append("cHRM " + " ".join(f"{v:.4g}" for v in chrm))
            named.append("primaries other than sRGB's")
    colorimetry = _tiff_colorimetry(tags, bits) if tags is not None else {}
    if colorimetry:
        said.append("tiff " + hashlib.sha256(repr(sorted(colorimetry.items())).encode()).hexdigest()[:12])
        named.append(f"colorimetry tags ({', '.join(sorted(colorimetry))})")
    if profile and not said:
        return profile   # (a profile alone: said as colour_profile says it)
    if profile:
        desc, digest = profile.rsplit(" [", 1)
        said.insert(0, digest.rstrip("]"))
        named.insert(0, f"profile {desc}")
    if not said:
        return ""
    if "primaries other than sRGB's" in named and any(n.startswith("gamma ") for n in named):
        named = [n for n in named if not n.startswith("gamma ") and n != "primaries other than sRGB's"] + [
            "gamma and primaries other than sRGB's"]
    out = f"{fmt or 'file'} {' and '.join(named)} [{' '.join(said)}]"
    return out if len(out) <= 120 else f"{fmt} [{' '.join(said)}]"[:119] + "]"   # (Asset.icc holds 120 characters)


def _cicp(data: bytes, fmt: str, info: dict) -> tuple | None:
    """A file's colour code points (primaries, transfer, full range) per ITU-T H.273: a PNG's cICP chunk (the first
    one that is not sRGB's, walked: ``formats.png_chunks``), a HEIF's or AVIF's nclx colour box (pillow-heif says
    it; Pillow's AVIF plugin does not, so the primary item's is read: ``formats.item_nclx``), else None."""
    nclx = info.get("nclx_profile")
    if isinstance(nclx, dict) and "color_primaries" in nclx:
        return int(nclx["color_primaries"]), int(nclx.get("transfer_characteristics", 2)), True
    if fmt == "PNG":
        found = [(b[0], b[1], bool(b[3])) for kind, b in png_chunks(data) if kind == b"cICP" and len(b) >= 4]
        return next((c for c in found if not _cicp_srgb(c)), found[0] if found else None)
    if fmt in ("HEIF", "AVIF"):
        # (the decoder applies the range as it turns YCbCr into RGB: the numbers it gives are full range)
        nclx = item_nclx(data)
        if nclx is not None:
            return *nclx, True
    return None


def _cicp_srgb(cicp: tuple) -> bool:
    """Colour code points (primaries, transfer, full range) that show numbers as sRGB does: BT.709 or unspecified
    primaries, the sRGB or an unspecified transfer, full range."""
    return cicp[0] in (1, 2) and cicp[1] in (2, 13) and bool(cicp[2])


def _tiff_colorimetry(tags, bits: int = 8) -> dict:
    """A TIFF's colorimetry tags that are not the defaults (what Pillow shows its numbers as): WhitePoint off D65,
    PrimaryChromaticities off sRGB's, any TransferFunction, YCbCrCoefficients off BT.601's for a YCbCr picture,
    ReferenceBlackWhite off full range for ``bits`` a sample."""
    def nums(tag):
        v = tags.get(tag)
        if v is None:
            return None
        return [float(x) for x in (v if isinstance(v, (tuple, list)) else (v,))]
    out: dict = {}
    try:
        white, primaries = nums(318), nums(319)
        if white and (len(white) != 2 or max(abs(a - b) for a, b in zip(white, SRGB_CHROMATICITY[:2])) > SRGB_CHROMATICITY_SLACK):
            out["WhitePoint"] = white
        if primaries and (len(primaries) != 6 or max(abs(a - b) for a, b in zip(primaries, SRGB_CHROMATICITY[2:])) >
                          SRGB_CHROMATICITY_SLACK):
            out["PrimaryChromaticities"] = primaries
        if tags.get(301) is not None:
            out["TransferFunction"] = nums(301)
        photometric = tags.get(262)
        coefficients = nums(529)
        if photometric == 6 and coefficients and max(abs(a - b) for a, b in zip(coefficients, (0.299, 0.587, 0.114))) > 1e-3:
            out["YCbCrCoefficients"] = coefficients
        refbw = nums(532)
        if refbw:
            top = 2 ** int(bits) - 1
            mid = (top + 1) / 2
            full = [0, top, mid, top, mid, top] if photometric == 6 else [0, top] * 3
            if len(refbw) != 6 or max(abs(a - b) for a, b in zip(refbw, full)) > 0.5:
                out["ReferenceBlackWhite"] = refbw
    except Exception:
        return {}
    return out


def profile_colours(said: str | None) -> str | None:
    """The part of a ``colour_profile`` value that tells profiles apart (its bracketed digest; "" for none
    or sRGB's; None: not read): not the description, which a writer may change."""
    if said is None:
        return None
    return said.rsplit("[", 1)[-1].rstrip("]") if said.endswith("]") else said


def trailing_data(data: bytes, fmt: str) -> int:
    """Bytes a JPEG, PNG or WebP file holds after its picture's end (a JPEG's end marker, a PNG's IEND
    chunk, a WebP's RIFF container; 0: none, or only padding: every byte one value, zeros or 0xFF, as
    some cameras and writers leave, of any length).

    Why: a decoder stops at the end marker and never reads what follows, so a JPEG with another
    picture appended (a second camera image, a "motion photo" video) compared as its first picture
    alone, and was a safe duplicate of a kept copy of that picture (an attack's 18 of 18): the file
    holds more than the pair compared."""
    end = (_jpeg_end(data) if fmt == "JPEG" else _png_end(data) if fmt == "PNG"
           else 8 + struct.unpack("<I", data[4:8])[0] if fmt == "WEBP" and len(data) >= 8 else None)
    if end is None or end >= len(data):
        return 0
    rest = data[end:]
    if rest.count(rest[:1]) == len(rest):   # (one byte value throughout: padding, holding nothing)
        return 0
    return len(rest)


def _check_jpeg(data: bytes) -> list:
    """The error for a JPEG whose scans do not code its whole picture, or none: a component no
    scan carries, or (progressive) a coefficient of a component never coded to its last bit.

    Why: a progressive JPEG cut after its first scans and closed with an end-of-image marker
    decodes without complaint, whole but blurred or without colour (the coefficients never sent
    are zero). An attack's kept copies cut after 1-9 scans were safe duplicates of their clean-up
    copies in 26 of 85 pairs: the copy holds detail the kept file lost. A file that does not hold
    what its frame declares is damaged, whatever still decodes."""
    parsed = _jpeg_scans(data)
    if parsed is None:
        return []
    frame, comps, scans = parsed
    if frame == "sequential":
        missing = [c for c in comps if not any(c in ids for ids, *_ in scans)]
        return [f"truncated: JPEG has no scan for {len(missing)} of its {len(comps)} components"] if missing else []
    # the lowest bit (Al) each coefficient of each component was coded down to: 0 when complete
    low = {c: [99] * 64 for c in comps}
    for ids, ss, se, _ah, al in scans:
        for c in ids:
            if c in low:
                for k in range(ss, min(se, 63) + 1):
                    low[c][k] = min(low[c][k], al)
    short = sum(1 for c in comps for k in range(64) if low[c][k] != 0)
    return ([f"truncated: progressive JPEG ends before {short} of its {64 * len(comps)} coefficients are "
             "coded in full (the file was cut short and closed)"] if short else [])


def _check_png(data: bytes) -> list:
    """The errors of a PNG's chunks: one cut short, no IEND, a chunk whose bytes fail its CRC.

    Why the CRC: a bit flipped in a PNG's compressed pixels can decode without complaint (Pillow does not
    check an IDAT's CRC, and stops inflating once it has its rows), to a pixel or a row that is no longer
    the picture's. An attack's PNGs flipped so were "ok" and paired as safe duplicates; where the kept copy
    is the flipped one, the copy up for deletion is the only good one. Every chunk carries a CRC-32 of its
    type and data: a mismatch is proof the file changed after it was written."""
    pos, seen_iend, errors = 8, False, list[str]()
    while pos + 8 <= len(data):
        length, typ = struct.unpack(">I4s", data[pos:pos + 8])
        if pos + 12 + length > len(data):
            return errors + ["truncated: PNG chunk runs past the end of the file"]
        stored = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if not errors and zlib.crc32(data[pos + 4:pos + 8 + length]) != stored:
            errors.append(f"damaged: PNG {typ.decode('latin-1')!r} chunk at byte {pos} fails its CRC (its bytes "
                          "changed after it was written)")
        pos += 12 + length
        if typ == b"IEND":
            seen_iend = True
            break
    return errors + ([] if seen_iend else ["truncated: PNG has no IEND chunk"])


def _check_webp(data: bytes) -> list:
    size = struct.unpack("<I", data[4:8])[0] + 8
    return ["truncated: WebP RIFF size exceeds the file"] if size > len(data) else []


# what Pillow warns when a TIFF's directory (its IFD: the tags, the ICC profile, the strip table)
# runs past the end of the file or points beyond it
_TIFF_DIRECTORY_CUT = ("Truncated File Read", "Tag data larger than file", "Possibly corrupt EXIF data",
                       "Tag offset too large")


def _tiff_directory_cut(warned: list) -> list:
    """The error for a TIFF whose directory Pillow read cut short (its warnings while opening the
    file, where it drops the tags it could not read), or none.

    Why: a TIFF cut at 70-90 % of its length whose strips came before its directory decoded every
    pixel, while the directory itself (an ICC profile, the tags after it) was gone; the kept copy
    was "ok" and its clean-up copy a safe duplicate of a truncated file (three of eight corpora made
    from screenshots). A file that ends before what it declares is damaged, whatever still
    decodes. Only the file's own directory, read at open: a camera's EXIF block is read later."""
    cut = [m for m in warned if any(k in m for k in _TIFF_DIRECTORY_CUT)]
    return [f"truncated: TIFF directory cut short ({cut[0]})"] if cut else []


def _check_tiff_frame(im, size) -> list:
    try:
        tags = im.tag_v2
        offs = tags.get(273) or tags.get(324)
        cnts = tags.get(279) or tags.get(325)
        if offs and cnts:
            offs = offs if isinstance(offs, (tuple, list)) else (offs,)
            cnts = cnts if isinstance(cnts, (tuple, list)) else (cnts,)
            end = max(int(o) + int(c) for o, c in zip(offs, cnts))
            if end > size:
                return [f"truncated: TIFF image data ends at byte {end}, file has {size}"]
    except Exception:
        pass
    return []


# ---------------------------------------------------------------- array helpers
GREY_ROWS_AT_ONCE = 256   # rows of a 16-bit, 32-bit or float picture scaled to 8 bits at a time


def _grey_bands(im: Image.Image):
    """(first row, samples) of a one-channel picture, ``GREY_ROWS_AT_ONCE`` rows at a time."""
    w, h = im.size
    for y in range(0, h, GREY_ROWS_AT_ONCE):
        yield y, np.asarray(im.crop((0, y, w, min(h, y + GREY_ROWS_AT_ONCE))))


def _float_samples_not_numbers(im: Image.Image) -> list:
    """The error for a float picture (mode F) some of whose samples are NaN or infinite, counted over the
    full-size samples a band of rows at a time (``_grey_bands``); none when every sample is a number.
    Raises :class:`DecodeError` when no sample is.

    Why: ``to_rgb8`` stretches the finite samples over 0-255 and draws the rest black (+inf white), so a
    float TIFF whose samples were all NaN read "ok" as an all-black picture: two such files were
    "identical" and safe to delete, and one was a duplicate of any black picture. A file with no number
    in it holds no picture, and is not read; one with some is damaged (a float picture's samples are
    measurements, and NaN or infinity is none), as a decoder's complaint makes any file, and what is
    left is compared as before."""
    bad = nan = total = 0
    for _y, band in _grey_bands(im):
        total += band.size
        finite = np.isfinite(band)
        if not finite.all():
            bad += int(band.size - np.count_nonzero(finite))
            nan += int(np.count_nonzero(np.isnan(band)))
    if total and bad == total:
        raise DecodeError(f"not read: none of its {total} floating-point samples is a number ({nan} NaN, "
                          f"{bad - nan} infinite): it holds no picture (a person checks the file)")
    return [f"damaged: {bad} of its {total} floating-point samples are not numbers (NaN) or infinite "
            f"(drawn black, +inf white)"] if bad else []


def to_rgb8(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 RGB array (16/32-bit scaled, float normalised).

    A 16-bit, 32-bit or float picture is scaled a band of rows at a time (``GREY_ROWS_AT_ONCE``), in
    float64 as before, so the same bytes come out: made whole, the float64 copies took 8 bytes a
    pixel each, and a 10000 px float TIFF of 439 KB, within the decoded-byte limit at 400 MB, took
    4.1 GB to analyse (an attack); a band holds a few MB."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        w, h = im.size
        if mode.startswith("I;16"):
            lo = hi = 0.0   # (unused: 16-bit samples scale by 257)
        else:
            lo, hi = np.inf, -np.inf
            for _y, band in _grey_bands(im):
                finite = band[np.isfinite(band)] if band.dtype.kind == "f" else band.ravel()
                if finite.size:
                    lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        out = np.empty((h, w, 3), np.uint8)
        for y, band in _grey_bands(im):
            a = band.astype(np.float64)
            if mode.startswith("I;16"):
                a = a / 257.0
            elif lo > hi:      # no finite sample at all
                a = np.zeros_like(a)
            elif mode == "I" and lo >= 0 and hi <= 65535:
                a = a / 257.0 if hi > 255 else a
            else:
                a = np.nan_to_num((a - lo) / (hi - lo or 1.0) * 255.0)
            out[y:y + a.shape[0]] = np.clip(a, 0, 255).astype(np.uint8)[:, :, None]
        return out
    if mode != "RGB":
        if channel_mode(mode, im.info) in ALPHA_MODES:
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def shrink(a: np.ndarray, target: int, extent=None) -> np.ndarray:
    """Longest side down to ``target`` (area averaging), never up. ``extent``: (width, height) of
    the picture in ``a``'s pixels when its last column and row are partial pixels (a scaled decode
    of a size the scale does not divide: ``scaled_extent``); only that much of ``a`` is
    resampled, so the picture is not stretched by the partial pixel (up to 1 px of drift at the far
    edges, enough to fail the screen's local test on sharp detail)."""
    h, w = a.shape[:2]
    wt, ht = extent if extent is not None else (w, h)
    if (wt, ht) == (w, h) and max(h, w) <= target:
        return np.ascontiguousarray(a)
    s = min(1.0, target / max(wt, ht))
    size = (max(1, round(wt * s)), max(1, round(ht * s)))
    im = Image.fromarray(np.ascontiguousarray(a))
    f = int(1 / s) // 2
    if f >= 2:
        im = im.reduce(f)
    box = None if (wt, ht) == (w, h) else (0, 0, wt * im.width / w, ht * im.height / h)
    return np.asarray(im.resize(size, Image.Resampling.BOX, box=box))


def scaled_extent(w: int, h: int, ow: int, oh: int):
    """(width, height) of a w x h picture in the pixels of its scaled decode of ow x oh, when the
    decode rounded up a partial last pixel (a JPEG decoded at n/8, a JPEG 2000 at a lower
    resolution level, Pillow's draft and reduce: each ``ceil(w x scale)``); None when the decode
    is whole pixels (or not a scaled decode)."""
    if (ow, oh) == (w, h) or ow < 1 or oh < 1:
        return None
    scales = [n / 8 for n in range(1, 8)] + [1 / f for f in range(max(2, w // ow - 1), w // ow + 3)]
    for sc in scales:
        if math.ceil(w * sc - 1e-9) == ow and math.ceil(h * sc - 1e-9) == oh:
            ext = (w * sc, h * sc)
            return None if ext == (ow, oh) else ext
    return None


def header_bit_depth(im, fmt, data) -> int:
    """Bits a sample of the file holds, from its header where the decoder may read fewer (a TIFF's
    BitsPerSample, a PNG's IHDR, a JPEG 2000's SIZ, a HEIF's or AVIF's pixi or av1C), else its mode's."""
    bits = mode_bits(im.mode)
    try:
        if fmt == "TIFF":
            b = im.tag_v2.get(258)
            if b:
                bits = max(int(x) for x in (b if isinstance(b, (tuple, list)) else (b,)))
        elif fmt == "PNG":
            # (every IHDR chunk's, wherever it lies: Pillow opens a PNG with a chunk before it, and a second one)
            depths = [body[8] for kind, body in png_chunks(data) if kind == b"IHDR" and len(body) >= 9]
            bits = max([bits if im.mode != "P" else 8, *depths])
        elif fmt == "JPEG2000":
            bits = max(bits if im.mode != "P" else 8, j2k_bit_depth(data) or 0)
        elif fmt == "PPM" and data[:1] == b"P":
            fields = re.sub(rb"#[^\n]*", b" ", data[:256]).split()
            if len(fields) >= 4 and fields[0] in (b"P2", b"P3", b"P5", b"P6") and fields[3].isdigit():
                bits = max(bits, int(fields[3]).bit_length())   # (its maxval: over 255, two bytes a sample)
        elif fmt == "SGI" and len(data) > 3:
            bits = max(bits, 8 * int(data[3]))                   # (BPC: bytes a channel)
        elif fmt in ("HEIF", "AVIF"):
            bits = max(bits, item_bit_depth(data) or 0)
    except Exception:
        pass
    return bits


def turned_as_loaded(im) -> bool:
    """Whether Pillow turns this picture to its Orientation tag's display as it loads it, and says the turned size
    when it opens it: a TIFF's (Pillow 13's TiffImagePlugin applies ``exif_transpose`` when a load ends, whole or
    truncated, and drops the tag); a JPEG's and the rest it leaves to the caller. Why: the engine turned a tagged
    TIFF again, and compared it at twice its turn: against its own untagged twin "rotated 180°" (an attack's)."""
    return getattr(im, "format", None) == "TIFF"


def _exif_orientation(im) -> int:
    try:
        o = int(im.getexif().get(0x0112, 1) or 1)
        return o if o in EXIF_TO_DIHEDRAL else 1
    except Exception:
        return 1


def _count_pages(im, fmt):
    """Pages (excluding reduced-resolution pyramid levels) and a pyramid level to decode."""
    n = 1
    try:
        n = int(getattr(im, "n_frames", 1) or 1)
    except Exception:
        return 1, None
    if fmt != "TIFF" or n <= 1:
        return n, None
    if n > 256:
        return n, None
    pages, levels = 0, []
    try:
        for i in range(n):
            im.seek(i)
            sub = int(im.tag_v2.get(254, 0) or 0)
            if sub & 1:
                levels.append((i, im.size))
            else:
                pages += 1
        im.seek(0)
    except Exception:
        try:
            im.seek(0)
        except Exception:
            pass
        return n, None
    return max(pages, 1), levels


def decoded_bytes(width: int, height: int, channels: int, bit_depth: int) -> int:
    """Bytes a full decode holds: width x height x channels x bytes per sample."""
    return width * height * max(1, channels) * max(1, -(-int(bit_depth) // 8))


def jpeg_scan_count(data: bytes) -> int:
    """How many scans (start-of-scan markers) a JPEG's stream holds, its entropy-coded data skipped."""
    return sum(1 for marker, _pos, _seg in _jpeg_segments(data) if marker == 0xDA)


def check_limits(im: Image.Image, bit_depth: int | None = None, *, max_pixels: int | None = None,
                 max_decoded_bytes: int | None = None, data: bytes | None = None) -> None:
    """Refuse (DecodeError) an opened, not yet loaded image over any limit: pixels, decoded bytes, and
    (``data``, the file's bytes, given) a JPEG's scans (``MAX_JPEG_SCANS``). Only the header has been
    read, so nothing big is allocated, and no pass over the pixels made, before the refusal."""
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    max_decoded_bytes = DEFAULT_MAX_DECODED_BYTES if max_decoded_bytes is None else max_decoded_bytes
    w, h = im.size
    if w * h > max_pixels:
        raise DecodeError(f"image too large: {w}x{h} px exceeds limit of {max_pixels} px")
    channels = len(im.getbands())
    bits = bit_depth or mode_bits(im.mode)
    need = decoded_bytes(w, h, channels, bits)
    if need > max_decoded_bytes:
        raise DecodeError(f"image too large: {w}x{h} px, {channels} channel(s) of {bits} bits need {need} bytes "
                          f"decoded, over the limit of {max_decoded_bytes} bytes")
    if data is not None and im.format in ("JPEG", "MPO"):
        scans = jpeg_scan_count(data)
        if scans > MAX_JPEG_SCANS:
            raise DecodeError(f"too much work to decode: the JPEG holds {scans} scans, over the limit of "
                              f"{MAX_JPEG_SCANS} (encoders write 2-12; each is a pass over the whole picture)")


def decode(path, *, target: int = DEFAULT_TARGET, max_pixels: int | None = None, data: bytes | None = None,
           max_decoded_bytes: int | None = None) -> Decoded:
    """Decode ``path`` reduced so that the shorter side stays >= ``target`` where possible."""
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    if not data:
        raise DecodeError("empty file")
    d = Decoded()
    # what the content is, and how it is truly measured (TIFF SubIFDs, RAW, HEIF, PDF): formats.py
    from .formats import plan_decode, unsupported_reason
    plan = plan_decode(data, target=target, max_pixels=max_pixels)
    if plan.decoded is not None:
        return plan.finish(plan.decoded)
    data = plan.data
    kind = plan.sniffed.format
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # the warnings Pillow gives while it reads the file's header and directory, kept (the
            # warnings filters are process-wide: recorded under a lock, around the open alone)
            with _WARN_LOCK, warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as e:  # pragma: no cover - limit disabled above
            raise DecodeError(f"image too large: {e}") from None
        except Exception as e:
            msg = str(e) if "<_io." not in str(e) else unsupported_reason(data)
            raise DecodeError(_chunk_too_large(msg) or f"cannot identify image: {msg}") from None
        if im.format == "TIFF":
            d.errors += _tiff_directory_cut([str(w.message) for w in caught])
        with im:
            return plan.finish(_decode_open(im, data, d, kind, target, max_pixels, path, max_decoded_bytes))


def _chunk_too_large(msg: str) -> str | None:
    """Pillow's words for a PNG whose colour profile or text chunk inflates past ``MAX_TEXT_CHUNK``
    (its guard against a small file that decompresses to gigabytes), said as what the file holds.
    Why: an attack's PNG carrying a 20 MB ICC profile read "cannot identify image: Decompressed data
    too large for PngImagePlugin.MAX_TEXT_CHUNK", which sends a curator looking for a broken file."""
    if "MAX_TEXT_CHUNK" not in msg:
        return None
    from PIL import PngImagePlugin
    limit = PngImagePlugin.MAX_TEXT_CHUNK / 2 ** 20
    return (f"not read: a PNG colour profile or text chunk inflates to more than {limit:g} MB, the limit "
            f"for one chunk (the pixels may be intact; a person checks the file)")


def _decode_open(im, data, d, kind, target, max_pixels, path, max_decoded_bytes=None):
    fmt = im.format or kind or "?"
    d.format = {"MPO": "JPEG"}.get(fmt, fmt)
    w, h = im.size
    if w <= 0 or h <= 0:
        raise DecodeError(f"invalid image size {w}x{h}")
    d.bit_depth = header_bit_depth(im, d.format, data)
    # before anything else reads the image: Pillow loads a PNG whole to look for EXIF after IDAT
    check_limits(im, d.bit_depth, max_pixels=max_pixels, max_decoded_bytes=max_decoded_bytes, data=data)
    d.mode = channel_mode(im.mode, im.info)
    dropped = samples_dropped(im, data)
    if dropped:
        d.mode = f"{d.mode}+{dropped}"
    d.icc = colour_description(im.info, data, d.format, getattr(im, "tag_v2", None) if d.format == "TIFF" else None,
                               d.bit_depth)
    d.exif_orientation = _exif_orientation(im)
    d.pages, levels = _count_pages(im, d.format)
    # every picture it holds: frames (animations, a camera's second image), pages and their previews
    # (a TIFF's are counted from its whole layout in formats.plan_decode), and data after its end
    try:
        frames = int(getattr(im, "n_frames", 1) or 1)
    except Exception:
        frames = 1
    # (a camera's MPO holds its later images after the first one's end: counted once, as frames)
    d.pictures = max(d.pages, frames, 2 if trailing_data(data, d.format) else 1)
    rot, flip = (0, False) if turned_as_loaded(im) else d.orientation
    d.width, d.height = (h, w) if rot in (90, 270) else (w, h)

    # cheap structural checks of the container
    try:
        if d.format == "JPEG2000":
            d.errors += _check_jp2(data)
        elif d.format == "JPEG":
            d.errors += _check_jpeg(data)
        elif d.format == "PNG":
            d.errors += _check_png(data)
        elif d.format == "WEBP":
            d.errors += _check_webp(data)
        elif d.format == "TIFF":
            d.errors += _check_tiff_frame(im, len(data))
    except Exception as e:
        d.errors.append(f"damaged: {type(e).__name__} in container")

    arr = None
    if d.format == "JPEG" and simplejpeg is not None and im.mode in ("RGB", "L", "YCbCr"):
        arr = _jpeg_simplejpeg(data, d, target)
    if arr is None:
        arr = _decode_pillow(im, data, d, target, levels)
    if arr is None or arr.size == 0:
        raise DecodeError("; ".join(d.errors) or "nothing decodes")
    arr = shrink(arr, target, scaled_extent(w, h, arr.shape[1], arr.shape[0]))
    arr = dihedral(arr, rot, flip)
    d.image = np.ascontiguousarray(arr)
    d.truncated = any(e.startswith("truncated") for e in d.errors)
    d.errors = list(dict.fromkeys(d.errors))
    return d


def _jpeg_simplejpeg(data, d, target):
    try:
        hh, ww, _, _ = simplejpeg.decode_jpeg_header(data)
        # the accurate integer IDCT: the fast one overflows at quality 96 and over (0 and 255 speckle
        # over a q100 copy decoded at full scale); a scaled decode uses libjpeg's reduced IDCTs either way
        kw = dict(colorspace="RGB", fastdct=False, fastupsample=True,
                  min_height=min(target, hh), min_width=min(target, ww))
    except Exception:
        return None
    try:
        arr = simplejpeg.decode_jpeg(data, strict=True, **kw)
        d.reduced_by = max(1, round(ww / arr.shape[1]))
        return arr
    except Exception as e:
        msg = str(e)
    low = msg.lower()
    arr = _jpeg_whole_but_its_end_marker(data, d, low, kw)
    if arr is not None:
        d.reduced_by = max(1, round(ww / arr.shape[1]))
        return arr
    d.errors.append(("truncated: " if "premature end" in low else "damaged: ") + "JPEG " + msg.strip())
    try:
        # into a buffer of the decoder's grey: libjpeg-turbo leaves what it could not decode unwritten, and
        # simplejpeg's own buffer is not cleared, so a damaged progressive copy read as whatever that
        # memory held (a flipped film-strip frame decoded to four different pictures in one process, its
        # verdict changing from call to call; a fresh-eyed reviewer's attack on proof 1.50)
        oh, ow, _, _ = simplejpeg.decode_jpeg_header(data, min_height=kw["min_height"], min_width=kw["min_width"])
        arr = simplejpeg.decode_jpeg(data, strict=False, buffer=np.full((oh, ow, 3), int(DECODER_FILL), np.uint8), **kw)
        d.reduced_by = max(1, round(ww / arr.shape[1]))
        return arr
    except Exception as e:
        d.errors.append(f"damaged: JPEG {e}")
        return None


LIBJPEG_EOF = "premature end of jpeg file"   # libjpeg's JWRN_JPEG_EOF, as simplejpeg reports it
# the one damage a JPEG whose scans are all whole but whose end-of-image marker is missing is noted with
JPEG_END_MARKER_MISSING = "malformed: the JPEG ends without its end-of-image marker (its decoder finds nothing else wrong)"


def _jpeg_whole_but_its_end_marker(data, d, low, kw):
    """The pixels of a JPEG whose one fault is a missing end-of-image marker, or None.

    Why: libjpeg says "Premature end of JPEG file" both for a file cut inside its scan data and for
    one whose every scan is whole but whose last two bytes (the end marker) are gone, and only the
    first has lost any of its picture. Closed with the marker, the second decodes without a word
    from the decoder, while a scan cut even by one byte still runs short of data ("premature end of
    data segment"), and a progressive file that stops between its scans is caught by ``_check_jpeg``.
    Read as cut short, every edit of a kept picture saved without its end marker was a damaged copy
    of it, its edit taken for the damage (348 of 362 in a fresh-eyed reviewer's set), which a curator
    may approve for deletion. The file is still malformed, so it stays damaged
    (``JPEG_END_MARKER_MISSING``), with nothing of its picture lost (``verdict``).

    A silent decode is not proof enough on its own (a fresh-eyed attack): the Huffman decoder reads
    zeros or text written over a file's tail as codes, and where they happen to code the blocks left,
    it says nothing; an arithmetic decoder feeds itself zeros and never complains. So only a Huffman
    frame, and with the zero bytes at its end taken off first, all but one (a writer's padding; the
    last byte of the data may be a zero): a zeroed tail then reads as cut short, unless it is a few
    bytes long (under 18 in the attack's files: the last block or two read as zeros). What is left:
    text written over the tail, read as codes that end where the blocks do (26-46 of some 13,000
    places a file could be overwritten from). The pair is then judged as the whole picture it decodes
    to, which differs from the kept one: `different`, never safe. (Asking also for the 1-bits an
    encoder pads its last code with took that to 14-17, but sent 1 in 16 whole files, the ones that
    end on a byte's edge with a 0 bit, back to being cut short.)"""
    if d.errors or low.strip() != LIBJPEG_EOF or _jpeg_frame(data) not in _JPEG_HUFFMAN_FRAMES:
        return None   # (d.errors: the container's checks found scans missing: cut short, marker or not)
    body = data.rstrip(b"\x00")
    if body.endswith(b"\xff\xd9") or not body:
        return None
    for closed in (body, body + b"\x00")[:1 + (len(body) < len(data))]:
        try:
            arr = simplejpeg.decode_jpeg(closed + b"\xff\xd9", strict=True, **kw)
        except Exception:
            continue
        d.errors.append(JPEG_END_MARKER_MISSING)
        return arr
    return None


def _jpeg_frame(data: bytes) -> int | None:
    """The marker of a JPEG's first frame header (SOF0 0xC0 ... SOF15 0xCF), or None."""
    for marker, _pos, _seg in _jpeg_segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
    return None


def _jp2_fewer_levels(data, d):
    """An intact JPEG 2000 file whose reduced decode failed, decoded at fewer resolution levels
    (``d.reduced_by`` updated), or None. Why: OpenJPEG through Pillow refuses some reduced decodes
    of whole files whose sides the reduction does not divide ("broken data stream": 180 of 450
    sizes tried at 2 or 3 levels, e.g. 3024x1349 at 2 levels, which decodes at 1 and 3), and the
    file was called unreadable. Only when the container looks whole (a truncated codestream was
    noted before this): a truncated file can decode whole at a lower level, from the part it kept."""
    r = d.reduced_by.bit_length() - 1
    for level in range(r - 1, -1, -1):
        im = Image.open(io.BytesIO(data))
        try:
            im.reduce = level
            im.load()
        except Exception:
            continue
        d.reduced_by = 1 << level
        return im
    return None


def _decode_damaged(data, d, target, msg):
    """The file's decode failed with ``msg``: the error noted, and what still decodes (None: nothing)."""
    low = msg.lower()
    d.errors.append(("truncated: " if "truncat" in low or "premature" in low or "broken data stream" in low
                     else "damaged: ") + msg)
    try:
        im = Image.open(io.BytesIO(data))
        if d.format == "JPEG":
            im.draft("RGB", (target, target))
        elif d.format == "JPEG2000" and d.reduced_by > 1:
            im.reduce = d.reduced_by.bit_length() - 1
        with load_truncated():
            im.load()
        return im
    except Exception as e2:
        d.errors.append(f"damaged: {type(e2).__name__}: {e2}")
        return None


def _decode_pillow(im, data, d, target, levels):
    w, h = im.size
    if d.format == "JPEG":
        try:
            im.draft("RGB", (target, target))
        except Exception:
            pass
    elif d.format == "JPEG2000":
        r = 0
        while r < 5 and min(w, h) >> (r + 1) >= target:
            r += 1
        if r:
            try:
                im.reduce = r
                d.reduced_by = 1 << r
            except Exception:
                pass
    # TIFF reduced-resolution IFDs (previews, pyramid levels) are never decoded in place of the
    # master: a preview can be stale or belong to another page (issue 16); formats.py picks the IFD.
    try:
        im.load()
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        fewer = _jp2_fewer_levels(data, d) if d.format == "JPEG2000" and d.reduced_by > 1 and not d.errors else None
        if fewer is not None:
            im = fewer
        else:
            im = _decode_damaged(data, d, target, msg)
            if im is None:
                return None
    if im.mode == "F":   # (before the reduction below, which would blur a not-a-number over its neighbours)
        d.errors += _float_samples_not_numbers(im)
    f = min(im.size) // max(1, target)
    if channel_mode(im.mode, im.info) != im.mode:   # (a colour key is applied, flattened, then shrunk, as a palette
        f = 1                                        # picture's always was: Pillow does not reduce a palette)
    if f >= 2:  # shrink in Pillow (C, box filter) before any conversion of the full-size pixels
        try:
            im = im.reduce(f)
        except Exception:
            pass
    try:
        a = to_rgb8(im)
    except Exception as e:
        d.errors.append(f"damaged: {type(e).__name__}: {e}")
        return None
    if d.format == "JPEG" and d.reduced_by == 1 and a.shape[1] < w:
        d.reduced_by = max(1, round(w / a.shape[1]))
    return a


def read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def file_size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1

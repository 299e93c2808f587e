"""Per-file work: decode (reduced), metadata, damage evidence, fingerprints -> FileAnalysis.

This is what the jobs run once per asset (in parallel) and store as JSON; pairing works from it.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field, fields

import numpy as np

from .decode import DecodeError, decode, dihedral, inverse
from .fingerprint import fingerprints, flat_runs
from .formats import coded_losslessly
from .names import extract_ids
from .version import CURRENT_UNDER_CAP, ENGINE_VERSION, FINGERPRINT_VERSION, stale_since


@dataclass
class FileAnalysis:
    name: str = ""
    format: str = ""
    width: int = 0
    height: int = 0
    pages: int = 0
    pictures: int = 0                   # every picture the file holds (pages, frames, previews) + data after its end
                                        # (decode.Decoded.pictures; 0: not measured, an older analysis)
    bit_depth: int = 0
    mode: str = ""
    icc: str | None = None              # its colour profile ("": none or sRGB; decode.colour_profile; None: not read)
    exif_orientation: int = 1
    status: str = "unreadable"          # ok | damaged | unreadable
    errors: list = field(default_factory=list)
    damage: dict | None = None          # {"kind": ..., "region": {"top","left","bottom","right"} | None}
    ids: list = field(default_factory=list)
    flat: bool = False
    std: float = 0.0
    detail: float = 0.0
    hashes: list = field(default_factory=list)   # 8 orientations x regions: 16-hex strings or ""
    file_size: int = 0
    digest: str = ""
    sha256: str = ""                    # of the file's bytes: byte-identical files pair before any content logic
    pixel_sha256: str = ""              # of the full decoded pixels (filled with the rendition): identical = equal pixels
    lossless: bool | None = None        # WebP, JPEG 2000: the coding may keep every pixel (formats.coded_losslessly)
    every_pass: bool | None = None      # JPEG 2000 of the reversible wavelet: kept every coding pass, so every pixel
                                        # (formats.j2k_every_pass_kept, read with the rendition; None: not known)
    jpeg_quality: int | None = None     # estimated IJG quality (JPEG only): the proof's re-encoding tolerance
    jpeg_coding: dict | None = None     # JPEG only: {"subsampling", "dc"} (proof.jpeg_coding; None in older analyses)
    thumb: str = ""                     # 24x24 grey thumbnail, base64 (fallback search; "" in older analyses)
    beyond_cap: str = ""                # a file over the proof's cap: what its rendition lost, per block (proof.
                                        # beyond_cap_map, "HxW:" + base64; read with the rendition; "" under the cap)
    engine_version: str = ""
    fingerprint_version: str = ""
    notes: list = field(default_factory=list)    # how it was measured, extension mismatch (not damage)
    # in-memory only (not serialised): reduced displayed RGB array used by verify_pair, the path,
    # and the full-detail rendition (<= 2048 px) the proof compares
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    path: str | None = field(default=None, repr=False, compare=False)
    rendition: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def readable(self) -> bool:
        return self.status != "unreadable"

    @property
    def damaged(self) -> bool:
        return self.status == "damaged"

    def hash_ints(self, orientation: int = 0):
        if not self.hashes or orientation >= len(self.hashes):
            return []
        return [int(h, 16) if h else None for h in self.hashes[orientation]]

    def thumb_array(self) -> np.ndarray | None:
        """The grey thumbnail (THUMB_SIDE x THUMB_SIDE uint8, displayed frame), or None."""
        if not self.thumb:
            return None
        from .fingerprint import THUMB_SIDE
        raw = base64.b64decode(self.thumb)
        if len(raw) != THUMB_SIDE * THUMB_SIDE:
            return None
        return np.frombuffer(raw, np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in IN_MEMORY}
        d["errors"] = [str(e)[:300] for e in self.errors[:8]]
        d["std"] = round(float(self.std), 2)
        d["detail"] = round(float(self.detail), 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FileAnalysis:
        names = {f.name for f in fields(cls)} - IN_MEMORY
        return cls(**{k: v for k, v in d.items() if k in names})


IN_MEMORY = {"image", "path", "rendition"}


def _region_of_rows(shape_stored, start, end, orientation):
    """Rows [start, end) of the stored image -> fractions of the displayed image."""
    h, w = shape_stored[:2]
    m = np.zeros((64, 64), bool)
    m[int(64 * start / h):max(int(64 * start / h) + 1, int(np.ceil(64 * end / h))), :] = True
    md = dihedral(m, *orientation)
    rows, cols = np.where(md.any(1))[0], np.where(md.any(0))[0]
    return {"top": round(float(rows[0]) / 64, 3), "left": round(float(cols[0]) / 64, 3),
            "bottom": round(float(rows[-1] + 1) / 64, 3), "right": round(float(cols[-1] + 1) / 64, 3)}


def own_damage(dec) -> dict | None:
    """Damage evidence a file carries on its own: decoder errors, and where decoding stopped
    (trailing flat rows of the stored image)."""
    if not dec.errors:
        return None
    kind = "truncated" if dec.truncated else "decode_error"
    stored = dihedral(dec.image, *inverse(dec.orientation))
    runs = flat_runs(stored, axis=0, std_max=1.5, min_frac=0.02)
    region = None
    h = stored.shape[0]
    if runs and runs[-1][1] >= h - 1:
        region = _region_of_rows(stored.shape, runs[-1][0], h, dec.orientation)
    return {"kind": kind, "region": region}


def file_digest(path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _format_notes(a: FileAnalysis, data) -> None:
    """The format from the content (also for files that do not decode) and a name that says otherwise."""
    from .formats import extension_mismatch, sniff
    if not a.format and data:
        a.format = sniff(data).format
    note = extension_mismatch(a.name, a.format)
    if note:
        a.notes.append(note)


def analysis_current(fingerprint_version: str | None, width: int | None, height: int | None, *,
                     format: str | None = None, lossless: bool | None = None, status: str | None = None,
                     mode: str | None = None, bit_depth: int | None = None,
                     exif_orientation: int | None = None) -> bool:
    """Whether a stored analysis (its ``fingerprint_version``, picture size, ``format``, ``lossless`` and
    ``status``) holds what this engine would store for the file: made by this fingerprint version, or by
    one whose changes since touched other files (``CURRENT_UNDER_CAP``: the full-detail rendition of
    files over the proof's cap, for a file no larger than that; ``STALE_SINCE``: fp 2.4's reading of a
    reversible JPEG 2000, fp 2.5's of a damaged JPEG, fp 2.6's of a file holding more than 8-bit RGB or a PNG,
    fp 2.7's of a HEIF, AVIF or GIF).
    Why: fp 2.3 changed how a file over 2048 px is shrunk for the proof, fp 2.4 what a reversible JPEG 2000
    kept, fp 2.5 what a JPEG without its end marker lost, fp 2.6 the digest of 16-bit, float, alpha and CMYK
    samples and a PNG's gamma, fp 2.7 a HEIF's, AVIF's and GIF's depth and colour description; a store of
    millions of other files need not be fetched (and restored) again for them."""
    if fingerprint_version == FINGERPRINT_VERSION:
        return True
    if fingerprint_version not in CURRENT_UNDER_CAP:
        return False
    fields = {"lossless": lossless, "status": status, "mode": mode, "bit_depth": bit_depth, "format": format,
              "exif_orientation": exif_orientation}
    if any(fmt in (None, format) and fields[name] in values for fmt, name, values in stale_since(fingerprint_version or "")):
        return False
    side = CURRENT_UNDER_CAP[fingerprint_version or ""]   # the cap that version's renditions were made under
    return side is None or (bool(width) and bool(height) and max(int(width or 0), int(height or 0)) <= side)


def analyse_file(path, *, name=None, max_pixels=None, target=None, keep_image=True, digest=False,
                 rendition=False) -> FileAnalysis:
    """Decode, fingerprint and check one file. Never raises for bad files. The SHA-256 of the
    bytes is always stored (checksums pair files first); ``digest=True`` also stores the SHA-1.
    ``rendition=True`` also decodes at full detail and keeps the proof's rendition (<= 2048 px),
    the SHA-256 of the decoded pixels and the JPEG quality, so the proof never fetches the file again."""
    path = os.fspath(path)
    a = FileAnalysis(name=name or os.path.basename(path), engine_version=ENGINE_VERSION,
                     fingerprint_version=FINGERPRINT_VERSION, path=path)
    a.ids = extract_ids(a.name)
    try:
        with open(path, "rb") as f:
            data = f.read()
        a.file_size = len(data)
        a.sha256 = hashlib.sha256(data).hexdigest()
        if digest:
            a.digest = hashlib.sha1(data).hexdigest()
        kw = {"target": target} if target else {}
        dec = decode(path, max_pixels=max_pixels, data=data, **kw)
        a.lossless = coded_losslessly(dec.format, data)
        del data
    except DecodeError as e:
        a.errors = [str(e)]
        _format_notes(a, data)  # noqa: F821 - bound: only decode() raises DecodeError, before the del
        return a
    except MemoryError:
        a.errors = ["out of memory while decoding"]
        return a
    except Exception as e:  # any decoder crash is a property of the file
        a.errors = [f"{type(e).__name__}: {e}"[:300]]
        return a
    a.format, a.width, a.height = dec.format, dec.width, dec.height
    a.pages, a.pictures, a.bit_depth, a.mode = dec.pages, max(dec.pictures, dec.pages), dec.bit_depth, dec.mode
    a.icc = dec.icc
    a.exif_orientation = dec.exif_orientation
    a.notes = list(dec.notes)
    _format_notes(a, None)
    a.errors = dec.errors
    a.status = "damaged" if dec.errors else "ok"
    a.damage = own_damage(dec)
    if dec.errors and float(dec.image.std()) < 0.5:
        # a damaged stream that decodes to one constant colour: nothing of the picture is left
        a.status = "unreadable"
        a.errors = dec.errors + ["nothing of the picture decodes (constant output)"]
        return a
    try:
        fp = fingerprints(dec.image)
        a.flat, a.std, a.detail = fp["flat"], fp["std"], fp["detail"]
        a.hashes = [[f"{h:016x}" if h is not None else "" for h in hs] for hs in fp["hashes"]]
        a.thumb = base64.b64encode(fp["thumb"].tobytes()).decode("ascii")
    except Exception as e:
        a.errors.append(f"fingerprint failed: {type(e).__name__}: {e}")
        a.flat = True
    if keep_image:
        a.image = dec.image
    if rendition:
        # kept on the analysis itself: the proof's cache of recent paths would only hold a copy
        # (up to 9.4 MB each, eight of them) of files a worker analyses once, from temp paths
        from .proof import attach_rendition
        attach_rendition(a, remember=False)
    return a

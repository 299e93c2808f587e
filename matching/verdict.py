"""Verdict for a verified pair, and the choice among a clean-up file's candidates."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType

from .analysis import FileAnalysis, analyse_file
from .compare import compare_arrays
from .decode import EXIF_TO_DIHEDRAL, compose
from .proof import PROOF, VERIFIER_VERSION, attach_rendition, prove_same

LOSSLESS_FORMATS = {"PNG", "TIFF", "BMP", "GIF", "PPM", "TGA"}
# Formats that are always lossy (WebP, JPEG 2000 and HEIF can be either, and are not counted).
LOSSY_FORMATS = {"JPEG", "MPO"}

# Stage 1 (search and a screen at 256 px, damage finding) and stage 2 (the full-detail proof, PROOF):
# one frozen value, recorded with every candidate.
THRESHOLDS = MappingProxyType({
    "same_diff": 0.030,          # global mean |difference| (0..1) of the intact part, at most
    "same_local": 0.085,         # worst 6 % window of the intact part, at most (edits, reframing)
    "damaged_local": 0.10,       # the same when a side carries decoder damage (never safe anyway)
    "min_intact_std": 4.5,       # grey std the intact part needs when it is under 60 % of the picture
    "min_coverage": 0.30,        # intact part of the picture needed to call two files the same
    "damaged_min_coverage": 0.15,
    "max_orient_score": 0.45,    # normalised difference of the best turn at 40x40
    "identical_diff": 0.0015,    # same size and below this: identical pixels (lossless)
    # candidate search, Hamming radius: every stored hash this close is found (index.band_radii),
    # in memory and in the database; 11 and 7 are what the search guaranteed before, when 12 and 8
    # were asked and the last bit found only by chance (12 would cost twice the probes)
    "hash_radius_whole": 11,     # whole-picture pHash
    "hash_radius_region": 7,     # region pHash
    "compare_side": 256,
    "proof": dict(PROOF),
    "verifier_version": VERIFIER_VERSION,
})

TURN_PENALTY = 0.005             # decide_file: tie-break among equally ranked declared candidates

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
    thresholds: dict = field(default_factory=dict)
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
                "thresholds": dict(self.thresholds), "match": self.match, "via": self.via,
                "proof": self.proof}


def _new(**kw) -> PairResult:
    from . import ENGINE_VERSION
    return PairResult(engine_version=ENGINE_VERSION, thresholds=dict(THRESHOLDS), **kw)


def holds_at_least_as_much(kept, other) -> list:
    """Reasons why ``kept`` holds less than ``other`` (empty list: it holds at least as much).

    The one rule behind "never delete a clean-up copy that holds more than its kept copy"; takes
    anything with width, height, pages, bit_depth and format (a FileAnalysis, an Asset row).
    A camera RAW holds more than any rendering of it (sensor data, latitude a JPEG or TIFF has
    thrown away), and a PDF more than its first page's picture (other pages, text, annotations):
    only a kept copy of the same kind can hold as much. Likewise a lossless copy holds more than a
    JPEG of it at the same (or a lower) pixel count: deleting it would keep only the lossy one."""
    from .formats import is_document, is_raw
    why = []
    kw, kh, ow, oh = kept.width or 0, kept.height or 0, other.width or 0, other.height or 0
    if not (kw and kh) and (ow and oh):
        why.append(f"the kept copy's size is unknown (it did not decode), so it is not shown to hold the clean-up "
                   f"copy's {ow}x{oh} pixels")
    elif kw * kh < ow * oh or min(kw, kh) < min(ow, oh):
        why.append(f"the clean-up copy holds more pixels ({ow}x{oh}) than the kept copy ({kw}x{kh})")
    if (kept.pages or 1) < (other.pages or 1):
        why.append(f"the clean-up copy has more pages ({other.pages}) than the kept copy ({kept.pages or 1})")
    if (kept.bit_depth or 8) < (other.bit_depth or 8):
        why.append(f"the clean-up copy has a higher bit depth ({other.bit_depth}) than the kept copy ({kept.bit_depth or 8})")
    if kept.format in LOSSY_FORMATS and other.format in LOSSLESS_FORMATS and kw * kh <= ow * oh:
        why.append(f"the clean-up copy is lossless ({other.format}) and the kept copy a lossy {kept.format} of no "
                   f"more pixels: the {kept.format} has thrown away detail the clean-up copy still holds")
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
        why.append(f"this copy holds more than the kept copy ({'; '.join(more)}): reingest it")
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


def _sha256(a: FileAnalysis) -> str:
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


def _same_bytes(c: FileAnalysis, m: FileAnalysis) -> bool:
    """Byte-identical files, by SHA-256 of the content (sizes first: cheap)."""
    if c.file_size and m.file_size and c.file_size != m.file_size:
        return False
    sc, sm = _sha256(c), _sha256(m)
    return bool(sc) and sc == sm


def _proof_summary(p: dict) -> dict:
    return {k: p.get(k) for k in ("size", "tolerance", "worst", "tiles", "geometry", "region", "damage_region")}


def _stream_proof(c: FileAnalysis, m: FileAnalysis, r: dict, res: PairResult) -> None:
    """A damaged clean-up JPEG whose screen failed: a flip desynchronises the entropy stream, so
    everything before it in scan order is intact. If that first part agrees tile by tile at full
    detail and the rest differs from one tile on, it is this picture, damaged (never safe)."""
    if not (attach_rendition(c) and attach_rendition(m)):
        return
    c_orient = EXIF_TO_DIHEDRAL.get(c.exif_orientation, (0, False))
    # the turn found on damaged 40x40 thumbnails is a guess (text pages look alike upside down):
    # the screen's turn, then none
    for turn in dict.fromkeys([(r["rotation"], r["flipped"]), (0, False)]):
        p = prove_same(c.rendition, m.rendition, turn=turn, quality=c.jpeg_quality, damaged=True, streams=(c_orient,),
                       kept_quality=(m.jpeg_quality or PROOF["default_quality"]) if m.format not in LOSSLESS_FORMATS else None)
        if p["same"] and p.get("damage_region"):
            r = {**r, "rotation": turn[0], "flipped": turn[1]}
            res.rotation, res.flipped = turn
            break
    if p["same"] and p.get("damage_region"):
        res.proof = _proof_summary(p)
        res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", p["damage_region"]
        res.reasons[:] = ["clean-up copy is damaged: its stream agrees tile by tile at full detail up to the damage"]
        if (r["rotation"], r["flipped"]) != (0, False):
            res.reasons.append(f"also turned {r['rotation']} degrees" + (" and mirrored" if r["flipped"] else ""))


def verify_analyses(c: FileAnalysis, m: FileAnalysis, *, shared_id: bool | None = None) -> PairResult:
    """Verify two analyses that carry their reduced images (``analysis.image``)."""
    T = THRESHOLDS
    if shared_id is None:
        shared_id = bool(set(c.ids) & set(m.ids))
    # checksums first: byte-identical files are identical before any content logic, blank or not;
    # but if the shared bytes do not decode fully, neither copy is good and a person decides
    if _same_bytes(c, m):
        if c.status == "ok" and m.status == "ok":
            res = _new(diff_score=0.0, local_score=0.0, verdict="identical", reasons=["byte-identical files"])
            why = holds_at_least_as_much(m, c)
            res.safe_to_delete = not why
            res.reasons.extend(why)
            return res
        return _new(verdict="cleanup_corrupt", corrupt_side="cleanup",
                    reasons=["byte-identical files, but the shared bytes do not decode fully: both copies are damaged",
                             "not safe: needs a person"])
    if not c.readable or c.image is None:
        if shared_id:
            return _new(verdict="cleanup_corrupt", corrupt_side="cleanup",
                        reasons=["clean-up file does not decode: " + "; ".join(c.errors[:2]),
                                 "paired by the ID in its name"])
        return _new(verdict="different", reasons=["clean-up file does not decode"])
    if not m.readable or m.image is None:
        if shared_id:
            return _new(verdict="match_corrupt", corrupt_side="match",
                        reasons=["kept copy does not decode: " + "; ".join(m.errors[:2]),
                                 "paired by the ID in its name"])
        return _new(verdict="different", reasons=["kept copy does not decode"])
    ca, ma = c.damaged, m.damaged
    r = compare_arrays(c.image, m.image, a_orient=EXIF_TO_DIHEDRAL.get(c.exif_orientation, (0, False)),
                       b_orient=EXIF_TO_DIHEDRAL.get(m.exif_orientation, (0, False)),
                       a_damaged=ca, b_damaged=ma, a_stream_check=(c.format == "JPEG"))
    if r is None:
        return _new(verdict="different", reasons=["aspect ratios differ in every orientation"])
    res = _new(diff_score=r["diff_score"], local_score=r["local_score"], rotation=r["rotation"],
               flipped=r["flipped"])
    reasons = res.reasons
    if r.get("stream_a"):
        ca = True
        reasons.append("clean-up pixels garbled from one row to the end of the stream (the decoder did not complain)")
    band_c, band_m = r["band_a"] > 0 or r["progressive_a"], r["band_b"] > 0 or r["progressive_b"]
    any_damage = ca or ma or band_c or band_m
    # the intact part (outside flat bands and after-damage rows) must agree strictly
    same = (r["coverage"] >= (T["damaged_min_coverage"] if (ca or ma) else T["min_coverage"])
            and r["diff_score"] <= T["same_diff"]
            and r["local_score"] <= (T["damaged_local"] if (ca or ma) else T["same_local"])
            # the turn is scored on the whole picture: damage (decoder errors, or flat bands however
            # they were found) raises that score, so damaged pairs get the same wider tolerance
            and r["orient_score"] <= T["max_orient_score"] * (1.5 if (ca or ma or band_c or band_m) else 1.0))
    if same and r["coverage"] < 0.6 and r["intact_std"] < T["min_intact_std"]:
        same = False
        reasons.append("the intact part has too little detail to tell")
    if not same:
        if r["local_score"] > T["same_local"]:
            reasons.append(f"local difference {r['local_score']:.3f} > {T['same_local']} (edited, reframed or other picture)")
        if r["diff_score"] > T["same_diff"]:
            reasons.append(f"global difference {r['diff_score']:.3f} > {T['same_diff']}")
        if r["coverage"] < T["min_coverage"]:
            reasons.append(f"too little intact picture to compare ({r['coverage']:.0%})")
        if not reasons:
            reasons.append("pictures do not line up")
        if (ca or r.get("stream_a")) and r["orient_score"] <= T["max_orient_score"] * 1.5:
            _stream_proof(c, m, r, res)
        return res
    # stage 2: the full-detail proof, tile by tile at the smaller copy's own resolution
    if not (attach_rendition(c) and attach_rendition(m)):
        if not any_damage:
            reasons.append("no full-detail rendition to prove the pair with")
            return res
        proof = None
    else:
        lossy = c.format not in LOSSLESS_FORMATS or m.format not in LOSSLESS_FORMATS
        # the clean-up copy's own loss: its JPEG quality when known; a lossy copy of unknown quality
        # (HEIF, AVIF, WebP, JPEG 2000, a RAW's preview, a PDF's embedded scan) at the default
        quality = c.jpeg_quality or (PROOF["default_quality"] if c.format not in LOSSLESS_FORMATS else m.jpeg_quality)
        streams = []
        c_orient = EXIF_TO_DIHEDRAL.get(c.exif_orientation, (0, False))
        if ca or r.get("stream_a") or (c.format == "JPEG" and band_c):
            streams.append(c_orient)
        if ma:
            m_orient = EXIF_TO_DIHEDRAL.get(m.exif_orientation, (0, False))
            streams.append(compose(m_orient, (r["rotation"], r["flipped"])))
        proof = prove_same(c.rendition, m.rendition, turn=(r["rotation"], r["flipped"]), valid=r.get("valid"),
                           quality=quality, lossy=lossy, damaged=bool(any_damage or r.get("stream_a")),
                           streams=tuple(streams),
                           kept_quality=(m.jpeg_quality or PROOF["default_quality"]) if m.format not in LOSSLESS_FORMATS else None,
                           # a JPEG kept copy re-encoded at its own quality barely changes: model its loss
                           # from the lossless clean-up side (other lossy codecs keep the re-encode model)
                           cleanup_lossless=c.format in LOSSLESS_FORMATS and m.jpeg_quality is not None)
        res.proof = _proof_summary(proof)
    if proof is not None and proof.get("too_little") and any_damage:
        reasons.append("the intact part is too small for a full-detail proof (a damaged pair is never safe)")
        proof = None
    if proof is not None and not proof["same"]:
        reasons.extend(proof["reasons"])
        res.region = proof["region"]
        return res
    turned = (r["rotation"], r["flipped"]) != (0, False)
    if any_damage:
        # which side is damaged: decoder evidence first, then flat bands / garbage runs
        score_c = (2 if ca else 0) + r["band_a"] + (0.5 if r["progressive_a"] else 0)
        score_m = (2 if ma else 0) + r["band_b"] + (0.5 if r["progressive_b"] else 0)
        if score_m > score_c:
            res.verdict, res.corrupt_side, res.region = "match_corrupt", "match", r["region_b"]
            reasons.append("kept copy is damaged: " + ("; ".join(m.errors[:2]) if ma else "flat band where the clean-up copy has detail"))
        else:
            res.verdict, res.corrupt_side, res.region = "cleanup_corrupt", "cleanup", r["region_a"]
            reasons.append("clean-up copy is damaged" + (": " + "; ".join(c.errors[:2]) if c.errors else
                                                          (": flat band where the kept copy has detail" if r["band_a"] > 0 else "")))
        if res.region is None and proof is not None and proof.get("damage_region"):
            res.region = proof["damage_region"]
        if turned:
            reasons.append(f"also turned {r['rotation']} degrees" + (" and mirrored" if r["flipped"] else ""))
        return res
    if turned:
        res.verdict = "rotated"
        reasons.append(f"same picture {turn_words(r['rotation'], r['flipped'])}")
        return res
    # identical only for equal decoded pixels (a lossy WebP copy is not identical)
    identical = ((c.width, c.height) == (m.width, m.height) and bool(c.pixel_sha256)
                 and c.pixel_sha256 == m.pixel_sha256)
    res.verdict = "identical" if identical else "duplicate"
    reasons.append("same decoded pixels" if identical else
                   f"same picture at full detail ({proof['size'][0]}x{proof['size'][1]}, worst tile "
                   f"{proof['worst']:.2f} of its tolerance)")
    why = holds_at_least_as_much(m, c)
    if m.status != "ok":
        why.append("kept copy is not intact")
    if why:
        reasons.extend(why)
        reasons.append("not safe: needs a person")
    else:
        res.safe_to_delete = True
    return res


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


def decide_file(cleanup: FileAnalysis, results: list) -> dict:
    """Pick the best of a clean-up file's verified candidates. Returns a dict with verdict, match,
    the PairResult (or None) and reasons. ``results``: PairResult (with .match set) or None."""
    results = [r for r in results if r is not None]
    declared = [r for r in results if r.declared]
    if declared:
        # near-equal candidates (e.g. a mirror-symmetric picture and its mirrored twin): the one
        # that needs no turn is the simpler explanation
        best = min(declared, key=lambda r: (verdict_rank(r.verdict), "id" not in r.via, r.diff_score + r.local_score
                                            + (TURN_PENALTY if (r.rotation, r.flipped) != (0, False) else 0.0)))
        return {"verdict": best.verdict, "match": best.match, "result": best}
    if not cleanup.readable:
        return {"verdict": "unreadable", "match": "", "result": results[0] if results else None,
                "reasons": ["does not decode: " + "; ".join(cleanup.errors[:2]), "no candidate by ID"]}
    if results:
        best = min(results, key=lambda r: r.diff_score + r.local_score)
        return {"verdict": "different", "match": best.match, "result": best}
    return {"verdict": "no_match", "match": "", "result": None,
            "reasons": ["near-blank picture: content search skipped"] if cleanup.flat else ["no candidate"]}

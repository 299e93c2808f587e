"""The engine's version numbers, in a module that imports nothing, so every part of the engine (and
the app) can import them at the top without a cycle through the package. Versioned apart: a
fingerprint change means re-analysing files (restores); a verifier change (proof.VERIFIER_VERSION)
only re-verifies open candidates from stored analyses and renditions."""
ENGINE_VERSION = "2.0"
FINGERPRINT_VERSION = "fp 2.10"   # 2.1: a scaled decode's partial last pixel is not stretched over the
#                                    reduced picture (decode.scaled_extent): a JPEG of 410 px decoded at 5/8 drifted 0.75 px
# 2.2: a JPEG decoded at full scale uses libjpeg's accurate integer IDCT, not the fast one, which overflows at
#      quality 96 and over (pixels of 0 and 255 all over a q100 copy: "different", its hashes noise); an intact
#      JPEG 2000 that OpenJPEG will not decode at its reduction is decoded at fewer levels (it was "unreadable")
# 2.3: the full-detail rendition of a file over the proof's cap (max_side) is shrunk by Lanczos, not area-averaged
#      (proof._cap); a smaller file's analysis is unchanged, so an fp 2.2 analysis of it stays current
#      (CURRENT_UNDER_CAP)
# 2.4: a JPEG 2000 of the reversible wavelet is read for whether it kept every coding pass (analysis.every_pass, with
#      the rendition); no other file's analysis changed, so an fp 2.3 one, or an fp 2.2 one under the cap, stays
#      current for any other file (STALE_SINCE)
# 2.5: a JPEG whose one fault is a missing end-of-image marker is told from one cut short (decode.
#      JPEG_END_MARKER_MISSING); only a damaged JPEG's analysis can change, so an older one of any other file stays
#      current where it was (STALE_SINCE)
# 2.6: a file holding more than 8-bit RGB (16-bit or float samples, alpha, CMYK: formats.held_beyond_rgb8) has the
#      digest of its samples as pixel_sha256 (proof.samples_digest), not of its 8-bit rendering; a PNG's gamma and
#      primaries, any file's colour code points (cICP, nclx), a JPEG 2000's profile and a TIFF's colorimetry tags are
#      read as its colour description (decode.colour_description), a PNG's colour key applied (formats.
#      channel_mode); a JPEG 2000's bit depth is read from its header, samples a decoder drops are in the mode
#      ("RGB+1"); a TIFF that Pillow turns by its Orientation tag as it loads it is not turned again (decode.
#      turned_as_loaded). Stale (STALE_SINCE): the first kinds by their recorded mode or depth, every PNG, a TIFF
#      with an Orientation tag; an older analysis
#      of a 16-bit JPEG 2000, a TIFF with extra samples or a 32-bit BMP recorded 8-bit RGB and is not told apart
#      (the executor's re-check analyses both files again before any deletion)
# 2.7: a HEIF's or AVIF's bit depth and colour code points are its primary item's properties (formats.
#      item_properties: pixi or av1C, the nclx colour box), walked, not searched: a 10-bit AVIF was 8-bit, a decoy
#      colour box named the colours; a GIF's ICC profile is read from its ICCRGBG1 extension (formats.gif_icc),
#      which Pillow does not read. Stale: every HEIF, AVIF and GIF (few in an archive of masters)
# 2.8: a file over the proof's cap records, block by block, the detail finer than the cap that its rendition lost
#      (analysis.beyond_cap, proof.beyond_cap_map): a smaller file's analysis is unchanged, so an older one of it stays
#      current where it was (CURRENT_UNDER_CAP)
# 2.9: a PNG chunk whose bytes fail its CRC makes the file damaged (decode._check_png): a bit flipped in its
#      compressed pixels decoded without complaint. Only a PNG that decoded "ok" can change, so an fp 2.8 analysis
#      of any other file stays current, at any size (STALE_SINCE)
# 2.10: a float picture (mode F: a TIFF's or PFM's 32-bit float samples) none of whose samples is a number (NaN or
#      infinite) is not read ("unreadable"), one with some is damaged (decode._float_samples_not_numbers): it read
#      "ok", all black, and two all-NaN files were identical. Only a mode F file can change, so an fp 2.9 analysis of
#      any other file stays current, at any size (STALE_SINCE)
# version -> the cap (px, long side) under which its analysis of a file is still current (None: any size)
CURRENT_UNDER_CAP = {"fp 2.2": 2048, "fp 2.3": 2048, "fp 2.4": 2048, "fp 2.5": 2048, "fp 2.6": 2048, "fp 2.7": 2048,
                     "fp 2.8": None, "fp 2.9": None}
# Pillow modes whose 8-bit RGB rendering is not the whole of the picture (formats.RGB8_WHOLE_MODES are), and the bit
# depths over 8: fp 2.6 changed their analyses (here, as this module imports nothing)
_BEYOND_RGB8_MODES = ("RGBA", "RGBa", "LA", "La", "PA", "CMYK", "I", "F", "I;16", "I;16B", "I;16L", "I;16N", "LAB",
                      "HSV", "YCbCr", "RGBX")
_BITS_OVER_8 = tuple(range(9, 65))
# version -> the files whose analysis it changed, each (format or None for any, a field of the analysis, the values
# it changed for). An analysis of such a file by any earlier version is stale whatever its size.
STALE_SINCE: dict[str, list[tuple[str | None, str, tuple]]] = {
    "fp 2.4": [("JPEG2000", "lossless", (True,))],   # a JPEG 2000 whose wavelet may keep every pixel
    "fp 2.5": [("JPEG", "status", ("damaged",))],    # a damaged JPEG (it may only lack its end marker)
    "fp 2.6": [(None, "mode", _BEYOND_RGB8_MODES), (None, "bit_depth", _BITS_OVER_8), ("PNG", "format", ("PNG",)),
               ("TIFF", "exif_orientation", (2, 3, 4, 5, 6, 7, 8))],
    "fp 2.7": [("HEIF", "format", ("HEIF",)), ("AVIF", "format", ("AVIF",)), ("GIF", "format", ("GIF",))],
    "fp 2.9": [("PNG", "status", ("ok",))],         # a PNG that decoded without complaint (its CRCs unread)
    "fp 2.10": [(None, "mode", ("F",))],             # a float picture (its samples' NaN and infinities unread)
}


def _ordinal(version: str) -> tuple:
    return tuple(int(part) for part in version.split()[-1].split("."))


def stale_since(version: str) -> list:
    """What the versions after ``version`` changed (``STALE_SINCE``): its analyses of these files are stale,
    each (format or None, field, values)."""
    return [files for since, kinds in STALE_SINCE.items() if _ordinal(since) > _ordinal(version) for files in kinds]

"""Renditions for the review UI (pure image operations, JPEG bytes out). Damaged files render what
decodes; files with nothing decodable raise DecodeError."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .decode import decode, dihedral


def _jpeg(a: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a.astype(np.uint8))).save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _fit(size, max_side):
    w, h = size
    s = min(1.0, max_side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


def _displayed(path, max_side):
    d = decode(path, target=max_side)
    return d.image


def render_web_jpeg(path, *, max_side: int = 1600, quality: int = 85) -> bytes:
    """The file as a viewer shows it (EXIF orientation applied), longest side <= max_side."""
    return _jpeg(_displayed(path, max_side), quality)


def render_aligned(match_path, *, rotation: int, flipped: bool, size=None, max_side: int = 1600,
                   quality: int = 85) -> bytes:
    """The match turned (counter-clockwise ``rotation``, then mirrored if ``flipped``) to look like
    the clean-up copy; resized to ``size`` (w, h) when given (bounded by max_side)."""
    a = dihedral(_displayed(match_path, max_side), rotation, flipped)
    im = Image.fromarray(np.ascontiguousarray(a))
    target = _fit(size if size else im.size, max_side)
    if im.size != target:
        im = im.resize(target, Image.Resampling.LANCZOS)
    return _jpeg(np.asarray(im), quality)


def diff_heatmap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Heat map of |a-b| over a dimmed grey copy of a (same shapes, uint8 RGB)."""
    d = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=2)
    d = np.clip(d * 4.0, 0, 255) / 255.0
    g = a.astype(np.float32).mean(axis=2) * 0.35
    out = np.empty(a.shape, np.float32)
    out[..., 0] = g + d * 255.0
    out[..., 1] = g + np.clip(d * 2 - 1, 0, 1) * 255.0
    out[..., 2] = g * (1 - d)
    return np.clip(out, 0, 255).astype(np.uint8)


def render_diff(cleanup_path, match_path, *, rotation: int, flipped: bool, max_side: int = 800,
                quality: int = 85) -> bytes:
    """Heat-map JPEG of the difference between the clean-up copy and the aligned match."""
    a = _displayed(cleanup_path, max_side)
    b = dihedral(_displayed(match_path, max_side), rotation, flipped)
    bi = Image.fromarray(np.ascontiguousarray(b)).resize((a.shape[1], a.shape[0]), Image.Resampling.LANCZOS)
    return _jpeg(diff_heatmap(a, np.asarray(bi)), quality)

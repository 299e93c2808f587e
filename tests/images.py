"""Real encoded test images, made from the photos scikit-image ships (never the shared development corpus)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "grass", "gravel", "moon", "hubble_deep_field", "retina"]


def photo(name: str = "astronaut", size: tuple[int, int] | None = None, crop: int = 0) -> Image.Image:
    """A real photo as an RGB PIL image; `crop` picks one of 4 quadrants-ish crops."""
    import skimage.data

    arr = getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = (arr / arr.max() * 255).astype(np.uint8)
    img = Image.fromarray(arr)
    if crop:
        w, h = img.size
        boxes = [(0, 0, w, h), (0, 0, w * 3 // 4, h * 3 // 4), (w // 4, 0, w, h * 3 // 4), (0, h // 4, w * 3 // 4, h), (w // 4, h // 4, w, h)]
        img = img.crop(boxes[crop % len(boxes)])
    if size:
        img = img.resize(size, Image.LANCZOS)
    return img


def save(img: Image.Image, path: Path, **params) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".jp2": "JPEG2000", ".png": "PNG", ".webp": "WEBP"}[path.suffix.lower()]
    if fmt == "TIFF":
        params.setdefault("compression", "tiff_lzw")
    if fmt == "JPEG":
        params.setdefault("quality", 90)
    if fmt == "JPEG2000":
        params.setdefault("irreversible", False)
    img.save(path, fmt, **params)
    return path


def grey_band(img: Image.Image, top: float = 0.4, height: float = 0.08) -> Image.Image:
    arr = np.asarray(img).copy()
    h = arr.shape[0]
    arr[int(h * top): int(h * (top + height))] = 128
    return Image.fromarray(arr)


def truncate(path: Path, keep: float = 0.6) -> Path:
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    return Path(path)

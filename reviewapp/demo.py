"""The demo collection `make run` loads: real photos (scikit-image's samples) as a canonical store
and a clean-up folder holding what real clean-ups hold — renamed, re-encoded, resized, turned,
mirrored, EXIF-oriented, damaged copies, near misses and pictures that exist nowhere else — plus
a couple of damaged canonicals, so every review queue has something in it.

Generation is deterministic and happens once (a marker file records it), so running the demo
again changes no file, no ETag and therefore no row.
"""
from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

MARKER = ".doppel-demo-v1"
PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "grass", "gravel", "moon",
          "hubble_deep_field", "retina", "immunohistochemistry", "cell", "page", "clock"]


class DemoUnavailable(RuntimeError):
    """The demo's photos need scikit-image, which the runtime image leaves out."""


def _samples():
    """scikit-image's sample photographs (shipped inside the package: no download). Only the demo
    uses them, so the package is in requirements-demo.txt, not in the runtime image."""
    try:
        import skimage.data
    except ImportError:
        raise DemoUnavailable("the demo's photos are scikit-image's samples, and scikit-image is not installed "
                              "(the runtime image leaves it out): pip install -r requirements-demo.txt, "
                              "or use `make run`, which installs it") from None
    return skimage.data


@dataclass
class DemoFile:
    folder: str
    name: str
    relation: str
    match: str = ""


def _photo(name: str, crop: int, side: int = 560) -> Image.Image:
    arr = getattr(_samples(), name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = (arr.astype(np.float64) / max(float(arr.max()), 1.0) * 255).astype(np.uint8)
    h, w = arr.shape[:2]
    # crop 0: the whole picture; 1: the left 70 %; 2: the bottom 70 % — distinct pictures
    if crop == 1:
        arr = arr[:, : int(w * 0.7)]
    elif crop == 2:
        arr = arr[int(h * 0.3):, :]
    img = Image.fromarray(np.ascontiguousarray(arr))
    img.thumbnail((side, side), Image.LANCZOS)
    return img


def _save(img: Image.Image, path: Path, **params) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".tif": "TIFF", ".jp2": "JPEG2000", ".png": "PNG"}[path.suffix.lower()]
    if fmt == "TIFF":
        params.setdefault("compression", "tiff_lzw")
    if fmt == "JPEG":
        params.setdefault("quality", 88)
        img = img.convert("RGB")
    if fmt == "JPEG2000":
        params.setdefault("irreversible", False)
    img.save(path, fmt, **params)
    return path


def _grey_band(img: Image.Image, top=0.45, height=0.1) -> Image.Image:
    a = np.asarray(img.convert("RGB")).copy()
    h = a.shape[0]
    a[int(h * top): int(h * (top + height))] = 128
    return Image.fromarray(a)


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _exif_oriented_jpeg(img: Image.Image, path: Path) -> None:
    """Pixels stored turned, with the EXIF tag that turns them back: a viewer shows the original."""
    stored = img.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    _save(stored, path, exif=exif.tobytes())


def generate(root: Path, *, force=False) -> list[DemoFile]:
    """Write the collection under root/{canonical,cleanup}; returns what each clean-up file is."""
    root = Path(root)
    can, cl = root / "canonical", root / "cleanup"
    marker = root / MARKER
    if marker.exists() and not force:
        return [DemoFile(**d) for d in json.loads(marker.read_text())]
    _samples()  # before anything is removed: without the photos there is nothing to write
    for d in (can, cl):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    files: list[DemoFile] = []
    pictures = []  # (id, image, canonical file name)
    n = 0
    for name in PHOTOS[:12]:
        for crop in (0, 1):
            n += 1
            ident = f"C{1000 + n:07d}"
            img = _photo(name, crop)
            fname = f"{ident}.tif" if n % 3 else f"{ident}.jp2"
            _save(img, can / fname)
            pictures.append((ident, img, fname))
    # two damaged canonicals: a grey band, and a truncated TIFF
    ident, img, fname = pictures[20]
    _save(_grey_band(img), can / fname)
    ident, img, fname = pictures[21]
    _truncate(can / fname, 0.55)

    def add(name, relation, match=""):
        files.append(DemoFile("cleanup", name, relation, match))

    def short(ident):
        return f"C{int(ident[1:])}"

    p = pictures
    # byte copy with a suffix letter, the ID's leading zeros dropped
    shutil.copyfile(can / p[0][2], cl / f"{short(p[0][0])}a{Path(p[0][2]).suffix}")
    add(f"{short(p[0][0])}a{Path(p[0][2]).suffix}", "exact", p[0][2])
    _save(p[1][1], cl / f"{p[1][0]}.png"); add(f"{p[1][0]}.png", "format", p[1][2])
    for k, i in enumerate((2, 3, 4, 5)):  # resized JPEGs under camera names: found by content only
        img = p[i][1]
        small = img.resize((int(img.width * 0.6), int(img.height * 0.6)), Image.LANCZOS)
        _save(small, cl / f"IMG_{4100 + k}.jpg"); add(f"IMG_{4100 + k}.jpg", "resized", p[i][2])
    _save(p[6][1], cl / f"{short(p[6][0])}b.jp2", irreversible=True, quality_layers=[20]); add(f"{short(p[6][0])}b.jp2", "format", p[6][2])
    _save(p[7][1].rotate(90, expand=True), cl / "IMG_4200.jpg"); add("IMG_4200.jpg", "rotated", p[7][2])
    _save(p[8][1].rotate(180), cl / f"{short(p[8][0])}c.jpg"); add(f"{short(p[8][0])}c.jpg", "rotated", p[8][2])
    _save(p[9][1].transpose(Image.Transpose.FLIP_LEFT_RIGHT), cl / "scan_0042.png"); add("scan_0042.png", "rotated", p[9][2])
    _exif_oriented_jpeg(p[10][1], cl / "IMG_4300.jpg"); add("IMG_4300.jpg", "exif_oriented", p[10][2])
    path = _save(p[11][1], cl / f"{short(p[11][0])}a.jpg"); _truncate(path, 0.5)
    add(f"{short(p[11][0])}a.jpg", "corrupt_cleanup", p[11][2])
    _save(_grey_band(p[12][1], 0.3, 0.12), cl / "IMG_4400.tif"); add("IMG_4400.tif", "corrupt_cleanup", p[12][2])
    _save(p[13][1], cl / f"{short(p[13][0])}.png"); add(f"{short(p[13][0])}.png", "format", p[13][2])
    _save(p[20][1], cl / f"{short(p[20][0])}a.jpg"); add(f"{short(p[20][0])}a.jpg", "corrupt_canonical", p[20][2])
    _save(p[21][1], cl / f"{short(p[21][0])}b.png"); add(f"{short(p[21][0])}b.png", "corrupt_canonical", p[21][2])
    # near misses: reframed and edited versions of kept pictures
    img = p[14][1]
    _save(img.crop((0, 0, int(img.width * 0.8), int(img.height * 0.8))), cl / "IMG_4500.jpg"); add("IMG_4500.jpg", "near_miss")
    a = np.asarray(p[15][1]).copy()
    h, w = a.shape[:2]
    a[h // 3: h // 3 + h // 5, w // 3: w // 3 + w // 4] = a[h // 3: h // 3 + h // 5, w // 3: w // 3 + w // 4][:, ::-1] // 2
    _save(Image.fromarray(a), cl / "IMG_4501.jpg"); add("IMG_4501.jpg", "near_miss")
    # pictures that exist nowhere else
    for k, name in enumerate(PHOTOS[12:15]):
        _save(_photo(name, 0, 480), cl / f"IMG_{4600 + k}.jpg"); add(f"IMG_{4600 + k}.jpg", "unique")
    # a file that does not decode at all, with no ID to pair it
    buf = io.BytesIO()
    _photo("coins", 2, 300).save(buf, "JPEG")
    (cl / "IMG_4700.jpg").write_bytes(buf.getvalue()[:400])
    add("IMG_4700.jpg", "unreadable")
    marker.write_text(json.dumps([f.__dict__ for f in files]))
    return files

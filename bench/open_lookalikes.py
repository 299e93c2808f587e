"""Look-alike families the engine does NOT yet refuse: a measurement, not a gate.

Why this exists: a fresh-eyed attack (stop 72) found faint overlays spread over the whole frame
that every tile test allows, because each tile's share of the overlay is under what resampling
and re-encoding explain in that tile: a see-through text watermark (opacity 12-20 of 255), a 1 px
grid 10-20 grey levels dark every 40 px (a réseau on a glass plate, a graticule on a map),
registration crosses. One copy carries the overlay, the other does not; both directions are made,
and true copies of each kept picture beside them. Run it by hand after an engine change
(``python bench/open_lookalikes.py``): the table says how many of each family are still safe
duplicates and how many true copies are missed. A family reaching 0 unsafe belongs in
``bench/lookalikes.py`` (and so in ``make accuracy``'s gate); until then it is reported here, so the
gap is measured rather than forgotten.

Material: scikit-image's sample photographs, drawn on with Pillow; nothing from ../shared.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections import defaultdict

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from matching.verdict import verify_pair  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "camera")
DERIVED = ((1.0, 90), (0.6, 85), (0.45, 80), (0.35, 75))   # (scale, JPEG quality) of each clean-up copy


def photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def watermark(im: Image.Image, alpha: int, colour=(0, 0, 0)) -> Image.Image:
    """Rows of see-through text across the frame, as a picture library stamps its previews."""
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(8, im.height // 8)
    font = ImageFont.load_default(size=size)
    for y in range(0, im.height, size * 2):
        d.text((10, y), "SPECIMEN  COPY  ARCHIVE", fill=colour + (alpha,), font=font)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def grid(im: Image.Image, levels: int, step: int = 40) -> Image.Image:
    """1 px lines ``levels`` darker every ``step`` px, both ways (a réseau, a graticule)."""
    a = np.asarray(im).astype(np.float32)
    a[::step, :] -= levels
    a[:, ::step] -= levels
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def crosses(im: Image.Image, levels: int, step: int = 60) -> Image.Image:
    """11 px registration crosses ``levels`` darker every ``step`` px."""
    a = np.asarray(im).astype(np.float32)
    h, w = a.shape[:2]
    for y in range(step // 2, h - 5, step):
        for x in range(step // 2, w - 5, step):
            a[y, x - 5:x + 6] -= levels
            a[y - 5:y + 6, x] -= levels
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


FAMILIES = {
    "watermark, opacity 12": lambda im: watermark(im, 12),
    "watermark, opacity 20": lambda im: watermark(im, 20),
    "1 px grid, 10 levels": lambda im: grid(im, 10),
    "1 px grid, 20 levels": lambda im: grid(im, 20),
    "crosses, 30 levels": lambda im: crosses(im, 30),
}


def jpeg_copy(im: Image.Image, scale: float, q: int) -> bytes:
    if scale != 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return buf.getvalue()


def run(workdir: str) -> dict:
    def path(name: str, data: bytes | None = None, im: Image.Image | None = None) -> str:
        p = os.path.join(workdir, name)
        if im is not None:
            im.save(p)
        else:
            with open(p, "wb") as f:
                f.write(data)
        return p

    rows: dict = defaultdict(lambda: {"pairs": 0, "unsafe": 0, "true": 0, "missed": 0})
    for pname in PHOTOS:
        clean = photo(pname)
        kept_clean = path(f"{pname}.tif", im=clean)
        for family, make in FAMILIES.items():
            marked = make(clean)
            kept_marked = path(f"{pname}-{family}.tif".replace(" ", "_").replace(",", ""), im=marked)
            for scale, q in DERIVED:
                for direction, copy_of, kept in (("clean copy, marked kept", clean, kept_marked),
                                                 ("marked copy, clean kept", marked, kept_clean)):
                    c = path("copy.jpg", jpeg_copy(copy_of, scale, q))
                    r = verify_pair(c, kept)
                    row = rows[(family, direction)]
                    row["pairs"] += 1
                    row["unsafe"] += bool(r.safe_to_delete)
                # the marked kept picture's own true copy, made the same way
                c = path("true.jpg", jpeg_copy(marked, scale, q))
                row = rows[(family, "true copies")]
                row["true"] += 1
                row["missed"] += not verify_pair(c, kept_marked).safe_to_delete
    return rows


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="doppel-open-lookalikes-") as d:
        rows = run(d)
    print(f"{'family':24} {'pairs':>28} {'n':>4} {'unsafe':>7} {'missed':>7}")
    for (family, direction), row in rows.items():
        n = row["pairs"] or row["true"]
        bad = row["unsafe"] if row["pairs"] else row["missed"]
        print(f"{family:24} {direction:>28} {n:4d} {bad if row['pairs'] else '':>7} {'' if row['pairs'] else bad:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""True copies made by many tools: does the engine still call them duplicates? A measurement.

Why this exists: the engine's proof models a clean-up copy as the kept picture shrunk by a fitted
filter and re-encoded. Pillow makes most of the copies the engine's corpora hold, but real
derivatives come from other tools too, and each leaves its own pattern: ImageMagick's
``-thumbnail`` samples before it resizes (aliasing), ``-sample`` is nearest-neighbour,
``-adaptive-resize`` and ``-unsharp``/``-sharpen`` sharpen, scikit-image's ``rescale`` without
anti-aliasing aliases. A rule that refuses faint whole-frame overlays (``bench/open_lookalikes.py``)
must not refuse these; this is the corpus it is measured on (stop 74). Every copy here is the same
picture as its kept copy, so every one should come out ``identical`` or ``duplicate`` and safe to
delete: the table is recall per tool.

A nearest-neighbour shrink (Pillow's NEAREST is left out; ImageMagick's ``-sample`` is in) is
counted as a true copy: it drops samples, it adds nothing, and a curator would call it the same
picture. It is reported on its own row so a rule may be judged with and without it.

Material: scikit-image's sample photographs, its horse silhouette and a text page rendered with Pillow; nothing from
../shared. Run ``python bench/true_copies_tools.py`` (about a minute); ``--json FILE`` keeps every
pair's verdict and reasons.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from matching.verdict import ENGINE_SAFE_VERDICTS, verify_pair  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket")
# (scale, JPEG quality): the qualities turn over the scales so that every tool meets q70-95
SCALES = ((0.8, 95), (0.6, 85), (0.45, 75), (0.35, 70))
CONVERT = "convert"


def photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


def text_page(width: int = 720, height: int = 960) -> Image.Image:
    """A page of black text on white, with a ruled heading: long straight edges of its own."""
    im = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(im)
    big, small = ImageFont.load_default(size=28), ImageFont.load_default(size=15)
    d.text((40, 30), "Register of the parish, 1887", fill="black", font=big)
    d.line((40, 72, width - 40, 72), fill="black", width=2)
    words = ("the clerk entered each baptism in order of the day it was held and the names of both "
             "parents with the trade of the father and the abode of the family as the vicar read them").split()
    y, i = 90, 0
    while y < height - 40:
        line = []
        while d.textlength(" ".join(line + [words[i % len(words)]]), font=small) < width - 80:
            line.append(words[i % len(words)])
            i += 1
        d.text((40, y), " ".join(line), fill=(20, 20, 20), font=small)
        y += 22
    return im


def silhouette() -> Image.Image:
    """scikit-image's horse: a black silhouette on white, plain but for one strong edge (where JPEG rings)."""
    from skimage import data

    return Image.fromarray((data.horse() * 255).astype(np.uint8)).convert("RGB")


def kept_pictures() -> dict:
    out = {p: photo(p) for p in PHOTOS}
    out["text page"] = text_page()
    out["silhouette"] = silhouette()
    return out


def _size(im: Image.Image, s: float) -> tuple[int, int]:
    return max(1, round(im.width * s)), max(1, round(im.height * s))


def _pil_jpeg(im: Image.Image, q: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return buf.getvalue()


def _pil(resample, reducing_gap=None):
    def make(im, src, s, q, tmp):
        return _pil_jpeg(im.resize(_size(im, s), resample, reducing_gap=reducing_gap), q)
    return make


def _pil_saved_twice(im, src, s, q, tmp):
    """Pillow's Lanczos shrink saved at q70, opened and saved again at ``q`` (a copy of a copy)."""
    once = Image.open(io.BytesIO(_pil_jpeg(im.resize(_size(im, s), Image.LANCZOS), 70)))
    return _pil_jpeg(once, q)


def _pil_thumbnail(im, src, s, q, tmp):
    t = im.copy()
    t.thumbnail(_size(im, s))
    return _pil_jpeg(t, q)


def _im(*ops, encode_q: bool = True):
    """ImageMagick 6 (``convert``), which also encodes the JPEG (its own quantisation tables,
    4:2:0 at q < 90, 4:4:4 above)."""
    def make(im, src, s, q, tmp):
        out = os.path.join(tmp, "im-out.jpg")
        pct = f"{s * 100:g}%"
        args = [CONVERT, src, *[a.replace("{pct}", pct) for a in ops], "-quality", str(q), out]
        subprocess.run(args, check=True, capture_output=True)
        with open(out, "rb") as f:
            return f.read()
    return make


def _pil_then_im_jpeg(im, src, s, q, tmp):
    """Pillow's Lanczos shrink, saved losslessly, encoded by ImageMagick."""
    mid = os.path.join(tmp, "mid.png")
    im.resize(_size(im, s), Image.LANCZOS).save(mid)
    out = os.path.join(tmp, "im-out.jpg")
    subprocess.run([CONVERT, mid, "-quality", str(q), out], check=True, capture_output=True)
    with open(out, "rb") as f:
        return f.read()


def _sk(fn: str, anti_aliasing: bool, order: int = 1):
    def make(im, src, s, q, tmp):
        from skimage import transform

        a = np.asarray(im)
        if fn == "rescale":
            r = transform.rescale(a, s, order=order, anti_aliasing=anti_aliasing, channel_axis=-1)
        else:
            w, h = _size(im, s)
            r = transform.resize(a, (h, w), order=order, anti_aliasing=anti_aliasing)
        return _pil_jpeg(Image.fromarray(np.clip(np.round(r * 255), 0, 255).astype(np.uint8)), q)
    return make


TOOLS = {
    "Pillow BILINEAR": _pil(Image.BILINEAR),
    "Pillow BICUBIC": _pil(Image.BICUBIC),
    "Pillow LANCZOS": _pil(Image.LANCZOS),
    "Pillow LANCZOS reducing_gap=2": _pil(Image.LANCZOS, 2.0),
    "Pillow thumbnail()": _pil_thumbnail,
    "Pillow LANCZOS, IM JPEG": _pil_then_im_jpeg,
    "Pillow LANCZOS, saved at q70 then again": _pil_saved_twice,
    "IM -resize": _im("-resize", "{pct}"),
    "IM -thumbnail": _im("-thumbnail", "{pct}"),
    "IM -distort Resize": _im("-distort", "Resize", "{pct}"),
    "IM -adaptive-resize": _im("-adaptive-resize", "{pct}"),
    "IM -scale": _im("-scale", "{pct}"),
    "IM -sample (nearest)": _im("-sample", "{pct}"),
    "IM -resize -unsharp 0x0.75+0.75+0.008": _im("-filter", "Lanczos", "-resize", "{pct}",
                                                 "-unsharp", "0x0.75+0.75+0.008"),
    "IM -resize -sharpen 0x1": _im("-resize", "{pct}", "-sharpen", "0x1"),
    "skimage rescale, anti_aliasing": _sk("rescale", True),
    "skimage rescale, no anti_aliasing": _sk("rescale", False),
    "skimage resize, anti_aliasing": _sk("resize", True),
    "skimage resize order 3, no anti_aliasing": _sk("resize", False, 3),
}
# full size, re-encoded only: the encoder's own row
FULL_SIZE = {"Pillow JPEG, full size": lambda im, src, s, q, tmp: _pil_jpeg(im, q),
             "Pillow JPEG, full size, saved at q70 then again": lambda im, src, s, q, tmp: _pil_jpeg(
                 Image.open(io.BytesIO(_pil_jpeg(im, 70))), q),
             "IM JPEG, full size": _im()}
FULL_QUALITIES = (95, 85, 75, 70)


def pairs(workdir: str, tools=None):
    """Yield (tool, picture, scale, quality, copy path, kept path): the corpus, written to
    ``workdir``. ``tools`` restricts it to the named tools."""
    for pname, im in kept_pictures().items():
        kept = os.path.join(workdir, pname.replace(" ", "_") + ".tif")
        im.save(kept)
        src = os.path.join(workdir, pname.replace(" ", "_") + ".png")
        im.save(src)
        jobs = [(t, f, s, q) for t, f in TOOLS.items() for s, q in SCALES]
        jobs += [(t, f, 1.0, q) for t, f in FULL_SIZE.items() for q in FULL_QUALITIES]
        for tool, make, s, q in jobs:
            if tools and tool not in tools:
                continue
            copy = os.path.join(workdir, "copy.jpg")
            with open(copy, "wb") as fh:
                fh.write(make(im, src, s, q, workdir))
            yield tool, pname, s, q, copy, kept


def run(workdir: str, tools=None, verify=verify_pair) -> tuple[dict, list, float]:
    rows: dict = defaultdict(lambda: {"n": 0, "safe": 0, "verdicts": defaultdict(int)})
    detail, spent = [], 0.0
    for tool, pname, s, q, copy, kept in pairs(workdir, tools):
        t0 = time.perf_counter()
        r = verify(copy, kept)
        spent += time.perf_counter() - t0
        ok = bool(r.safe_to_delete) and r.verdict in ENGINE_SAFE_VERDICTS
        row = rows[tool]
        row["n"] += 1
        row["safe"] += ok
        row["verdicts"][r.verdict] += 1
        detail.append({"tool": tool, "picture": pname, "scale": s, "quality": q, "verdict": r.verdict,
                       "safe": ok, "reasons": list(r.reasons)})
    return rows, detail, spent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write every pair's verdict and reasons here")
    ap.add_argument("--tool", action="append", help="only this tool (repeatable)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="doppel-true-copies-") as d:
        rows, detail, spent = run(d, a.tool)
    print("| tool | copies | duplicate or identical, safe | other verdicts |")
    print("|---|---|---|---|")
    n = safe = 0
    for tool, row in rows.items():
        other = ", ".join(f"{v} {k}" for v, k in sorted(row["verdicts"].items()) if v not in ENGINE_SAFE_VERDICTS)
        print(f"| {tool} | {row['n']} | {row['safe']} | {other} |")
        n += row["n"]
        safe += row["safe"]
    print(f"| all | {n} | {safe} ({safe / max(n, 1):.3f}) | |")
    print(f"verification: {spent:.1f} s for {n} pairs, {spent / max(n, 1):.3f} s a pair")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(detail, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Files per second for the formats of matching/formats.py, beside naive decoding of each.

Kept apart from bench_matching.py's other sections (which it calls :func:`formats_bench`) so the two
can change independently.  Every file is made here from a real photograph (scikit-image):

* DNG: a 12-bit Bayer CFA master in a SubIFD (tifffile), decoded by LibRaw.
  naive = ``rawpy.imread(p).postprocess()`` (full demosaic) + one pHash.
* TIFF, master in a SubIFD behind a reduced IFD0 preview (the issue-16 layout).
  naive = ``tifffile.imread`` of the largest image + one pHash (Pillow alone would hash the preview).
* HEIC (pillow-heif) and AVIF (Pillow). naive = ``imagehash.phash(Image.open(p))``.
* PDF, one scanned page, 3 pages in all. naive = PDFium render of page 1 at the scan's resolution + pHash.

``analyse_file`` = sniff + true measurement + reduced decode + damage checks + 8-orientation region
fingerprints.  Single process; best of a few repetitions per file.
"""
from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matching  # noqa: E402
from bench_matching import time_per_file  # noqa: E402  (bench/ is on the path as the script folder)

DNG_TAGS = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),
            (50708, "s", 0, "Doppel Bench Camera", True),
            (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1), True),
            (50778, "H", 1, 21, True), (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True)]


def _photo(size):
    from skimage import data
    return Image.fromarray(data.astronaut()).resize(size, Image.Resampling.BICUBIC)


def make_dng(path, im, bits=12):
    import tifffile
    lin = (np.asarray(im).astype(np.float64) / 255.0) ** 2.2 * (2 ** bits - 1)
    cfa = np.zeros(lin.shape[:2], np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2] = lin[0::2, 0::2, 0], lin[0::2, 1::2, 1]
    cfa[1::2, 0::2], cfa[1::2, 1::2] = lin[1::2, 0::2, 1], lin[1::2, 1::2, 2]
    with tifffile.TiffWriter(path) as t:
        t.write(np.asarray(im.resize((256, 192))), photometric="rgb", subfiletype=1, subifds=1, extratags=DNG_TAGS)
        t.write(cfa, photometric=32803, subfiletype=0,
                extratags=[(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
                           (50717, "I", 1, 2 ** bits - 1, True)])


def make_subifd_tiff(path, im):
    import tifffile
    with tifffile.TiffWriter(path) as t:
        t.write(np.asarray(im.resize((160, 120))), photometric="rgb", subfiletype=1, subifds=1)
        t.write(np.asarray(im), photometric="rgb", compression="zlib")


def _phash(arr_or_im):
    import imagehash
    im = arr_or_im if isinstance(arr_or_im, Image.Image) else Image.fromarray(np.asarray(arr_or_im)[..., :3])
    return imagehash.phash(im)


def naive_dng(p):
    import rawpy
    with rawpy.imread(str(p)) as rp:
        return _phash(rp.postprocess())


def naive_tiff(p):
    import tifffile
    with tifffile.TiffFile(p) as tf:
        pages = [tf.pages[0]] + list(tf.pages[0].pages or [])
        return _phash(max(pages, key=lambda q: q.imagewidth * q.imagelength).asarray())


def naive_pillow(p):
    return _phash(Image.open(p))


def naive_pdf(p, px_width):
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(str(p))
    try:
        page = pdf[0]
        return _phash(page.render(scale=px_width / page.get_size()[0]).to_pil())
    finally:
        pdf.close()




def formats_bench(quick=False):
    """Print (and return) files/s for each format: naive decode + pHash against ``analyse_file``."""
    import pillow_heif
    pillow_heif.register_heif_opener()
    size = (1500, 1000) if quick else (4000, 3000)
    im = _photo(size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = []
        p = tmp / "a.dng"
        make_dng(p, im)
        cases.append(("DNG (12-bit CFA)", p, naive_dng))
        p = tmp / "sub.tif"
        make_subifd_tiff(p, im)
        cases.append(("TIFF SubIFD", p, naive_tiff))
        p = tmp / "a.heic"
        im.save(p, "HEIF", quality=85)
        cases.append(("HEIC", p, naive_pillow))
        p = tmp / "a.avif"
        im.save(p, "AVIF", quality=80)
        cases.append(("AVIF", p, naive_pillow))
        p = tmp / "a.pdf"
        scan = im.convert("RGB")
        scan.save(p, "PDF", resolution=300.0, save_all=True, append_images=[scan.rotate(90), scan.rotate(180)])
        cases.append(("PDF (3 pages)", p, lambda q: naive_pdf(q, size[0])))
        for kind, path, naive in cases:
            a = matching.analyse_file(path)
            assert a.status == "ok" and (a.width, a.height) == size, (kind, a.status, a.errors, a.width, a.height)
            reps = 1 if quick else 2
            n = time_per_file(naive, [path], reps)
            o = time_per_file(lambda q: matching.analyse_file(q, keep_image=False), [path], reps + 1)
            rows.append((kind, 1 / n, 1 / o, n / o, a.format, f"{a.width}x{a.height}", a.bit_depth, a.pages))
    print(f"\n1b. Formats of matching/formats.py, {size[0]}x{size[1]} (files/s, single process)")
    print(f"   {'format':18s} {'naive':>8s} {'analyse_file':>13s} {'speed-up':>9s}   measured")
    for kind, n, o, r, fmt, wh, bits, pages in rows:
        print(f"   {kind:18s} {n:8.2f} {o:13.2f} {r:8.1f}x   {fmt} {wh} {bits}-bit {pages} page(s)")
    print("   naive: DNG = LibRaw full postprocess; TIFF = tifffile full read of the master; HEIC/AVIF ="
          "\n   Image.open + pHash; PDF = PDFium render of page 1 at the scan's resolution; each + one pHash")
    return rows


if __name__ == "__main__":
    formats_bench(quick="--quick" in sys.argv)

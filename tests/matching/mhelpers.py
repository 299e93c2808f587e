"""Helpers shared by the matching tests (imported as `mhelpers`)."""
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def jpeg_bytes(im, q=90, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q, **kw)
    return buf.getvalue()


def save(im, path, fmt, **kw):
    im.save(path, fmt, **kw)
    return path


def grey_band(im, top=0.5, height=0.2, value=128):
    a = np.asarray(im).copy()
    h = a.shape[0]
    a[int(h * top):int(h * (top + height))] = value
    return Image.fromarray(a)


def edited(im, box=(0.3, 0.3, 0.45, 0.45), colour=(250, 20, 200)):
    from PIL import ImageDraw
    out = im.copy()
    w, h = out.size
    ImageDraw.Draw(out).rectangle((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)), fill=colour)
    return out


def reframed(im, frac=0.06):
    w, h = im.size
    return im.crop((int(w * frac), int(h * frac / 2), w, h)).resize((w, h), Image.LANCZOS)


def bomb_png(width: int, height: int) -> bytes:
    """A valid all-zero 16-bit RGBA PNG declaring width x height, about 1.8 MB for 14000 x 14000:
    each row is deflated once and repeated (full flushes make the pieces independent), so it
    takes milliseconds to make instead of compressing 1.5 GB."""
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\0" * (1 + width * 8)
    c = zlib.compressobj(9)
    first = c.compress(row) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(row) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()[:-4]  # the final block; the Adler-32 is that of all the rows:
    n = height * len(row)
    adler = ((n % 65521) << 16) | 1  # zeros only: a stays 1, b grows by 1 per byte
    stream = first + again * (height - 1) + tail + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


SYLLABLES = ["ta", "ro", "mi", "ne", "sa", "lu", "ko", "ve", "di", "an", "or", "el"]


def text_page(size, seed, *, font=12, left=45, top=50, bottom=70, pitch=18, words=9, paper=(246, 245, 241),
              ink=(25, 25, 25), number=None):
    """Lines of made-up words in one typeface on plain paper (a book page, a screenshot of text),
    deterministic for ``seed``; ``number``: a page number centred at the foot."""
    from PIL import ImageDraw, ImageFont
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", size, paper)
    d = ImageDraw.Draw(im)
    f = ImageFont.load_default(size=font)
    for y in range(top, size[1] - bottom, pitch):
        d.text((left, y), " ".join("".join(rng.choice(SYLLABLES, rng.integers(1, 4))) for _ in range(words)), fill=ink, font=f)
    if number is not None:
        d.text((size[0] // 2 - 6, size[1] - 35), str(number), fill=(30, 30, 30), font=f)
    return im



def page_over_the_cap(number=36):
    """A 300 dpi-like book page (1728x2430, over the proof's 2048 px), its number at the foot."""
    return text_page((1728, 2430), 27, font=35, left=190, top=190, bottom=216, pitch=50, words=8, number=number)


def _single_flips(data: bytes, start: float):
    """The baseline JPEG ``data`` with one bit of its entropy-coded data flipped, each in turn from
    ``start`` of the scan on (an 0xFF byte is neither flipped nor made: that would be a marker)."""
    sos = data.index(b"\xff\xda")
    scan0 = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    scan1 = data.rindex(b"\xff\xd9")
    for i in range(scan0 + int((scan1 - scan0) * start), scan1 - 2):
        if data[i] == 0xFF or data[i - 1] == 0xFF:
            continue
        for bit in range(8):
            b = bytearray(data)
            b[i] ^= 1 << bit
            if b[i] != 0xFF:
                yield bytes(b)


def _decoded_or_none(data: bytes, mode: str):
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert(mode), dtype=np.float64)
    except OSError:
        return None


def flip_in_step(data: bytes, *, start=0.4, strength=60):
    """A real bit flip in a baseline JPEG's entropy-coded data that leaves the stream in step: it
    changes a coefficient's magnitude bits, so one block (16x16 px at most, with chroma subsampled)
    is garbled and every other pixel decodes as before. The first such flip from ``start`` of the
    scan on (deterministic). Returns (flipped bytes, (top, left, bottom, right) of the pixels it changed)."""
    ref = _decoded_or_none(data, "RGB")
    for b in _single_flips(data, start):
        got = _decoded_or_none(b, "RGB")
        if got is None:
            continue
        d = np.abs(got - ref).max(axis=2)
        ys, xs = np.nonzero(d)
        if len(ys) and np.ptp(ys) < 16 and np.ptp(xs) < 16 and d.max() >= strength:
            return b, (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    raise AssertionError("no flip in step found")


def flip_garbling(data: bytes, *, start=0.3, rows=(25, 45)):
    """A real bit flip in a baseline JPEG's entropy-coded data that the decoder does not complain of
    and that garbles the picture from a row in ``rows`` to its end (its last 20 rows off by 8 grey
    levels on average at least): the stream lost its place. The first such flip from ``start`` of the
    scan on (deterministic). Returns (flipped bytes, the first row changed)."""
    ref = _decoded_or_none(data, "L")
    for b in _single_flips(data, start):
        got = _decoded_or_none(b, "L")
        if got is None:
            continue
        changed = np.nonzero(np.abs(got - ref).mean(axis=1) > 1)[0]
        if len(changed) and rows[0] <= changed[0] <= rows[1] and np.abs(got - ref)[-20:].mean() > 8:
            return b, int(changed[0])
    raise AssertionError("no garbling flip found")


def flip_dc_step(data: bytes, *, start=0.4, most=0.5):
    """A real bit flip in a baseline JPEG's entropy-coded data that changes one luma DC difference
    and nothing else: the picture decodes as before down to the flipped block, and every later block
    comes out brighter or darker by one constant (a whole number of DC steps), without a decoder
    complaint. The first such flip from ``start`` of the scan on (deterministic) that shifts by
    ``most`` grey levels at most (a row's blocks by that much, give or take what rounding to whole
    levels makes of it). Returns (flipped bytes, first 8 px block row changed, the shift)."""
    ref = _decoded_or_none(data, "L")
    hb, wb = ref.shape[0] // 8, ref.shape[1] // 8
    for b in _single_flips(data, start):
        got = _decoded_or_none(b, "L")
        if got is None:
            continue
        d = (got - ref)[:hb * 8, :wb * 8].reshape(hb, 8, wb, 8).mean(axis=(1, 3))
        rows = np.nonzero(np.abs(d).max(axis=1) > 0.05)[0]
        if not len(rows) or rows[0] < 2 or rows[0] > hb - 6:
            continue
        rest = d[rows[0] + 2:]
        shift = float(np.median(rest))
        if 0.3 <= abs(shift) <= most and (np.abs(rest - shift) <= 0.25).mean() >= 0.98:
            return b, int(rows[0]), shift
    raise AssertionError("no DC flip found")


def drifted(im, top=64, left=160, by=-4):
    """``im`` with every pixel from (top, left) on in scan order (the rest of that 16 px row of
    blocks, then every row below) shifted by ``by``: what a flip the decoder recovers from does to
    every later block's DC."""
    a = np.asarray(im).astype(int)
    a[top:top + 16, left:] += by
    a[top + 16:] += by
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def one_layout(lower: str, w: int = 320, h: int = 240) -> Image.Image:
    """A screenshot of one layout (a crate's documentation page): the same header (title, search
    box, three icons, a rule), then ``lower``: "code", a grey code panel over the whole width with
    six lines of code, or "text", four lines of text on white. The lines of the two fall nearly on
    one another, as a layout's lines do."""
    im = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.text((6, 10), "my_crate 0.1.0", fill=(20, 20, 20))
    d.text((72, 10), "Type 'S' or '/' to search", fill=(90, 90, 90))
    d.rectangle((68, 6, 300, 24), outline=(200, 200, 200))
    for x in (230, 262, 294):
        d.ellipse((x - 6, 32, x + 6, 44), outline=(60, 60, 60), width=2)
    d.text((72, 36), "Function add_one", fill=(0, 0, 0))
    d.line((68, 56, 312, 56), fill=(210, 210, 210))
    if lower == "code":
        d.rectangle((0, 64, w, h), fill=(242, 242, 242))
        for i, line in enumerate(["pub fn add_one(x: i32) -> i32", "let arg = 5;", "let answer = add_one(arg);",
                                  "assert_eq!(6, answer);", "// more", "}"]):
            d.text((76, 72 + 22 * i), line, fill=(60, 60, 160))
    else:
        for i, line in enumerate(["Adds one to the number given.", "Examples", "Crate Items", "Functions"]):
            d.text((76, 70 + 28 * i), line, fill=(30, 30, 30))
    return im


def drifted_chroma(im, top=64, left=160, cb=-1.5, cr=-1.75):
    """``im`` with its Cb and Cr (JFIF's) shifted from (top, left) on in scan order, as
    ``drifted``: a flip in a chroma DC the decoder recovers from re-colours every later block,
    the grey barely moves."""
    a = np.asarray(im.convert("RGB")).astype(np.float64)
    shift = np.zeros(a.shape[:2], bool)
    shift[top:top + 16, left:] = True
    shift[top + 16:] = True
    # the RGB change of a (Cb, Cr) change, by JFIF's inverse transform
    d = np.array([1.402 * cr, -0.344136 * cb - 0.714136 * cr, 1.772 * cb])
    a[shift] += d
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def grained_sheet(number: str, seed: int = 0, at=(312, 850)):
    """A 640x900 near-blank sheet on paper grain (1.2 levels) with an 11 px page number ``at``."""
    grain = np.random.default_rng(seed).normal(0, 1.2, (900, 640, 1))
    im = Image.fromarray(np.clip(240 + grain + np.array([0, -1, -4]), 0, 255).astype(np.uint8))
    ImageDraw.Draw(im).text(at, number, fill=(30, 30, 30), font=ImageFont.load_default(size=11))
    return im


def garbled_from(im, start):
    """``im`` whose rows from ``start`` (a part of the height) on are garbage, as a flipped bit
    leaves a sequential stream: shifted along the row and re-coloured."""
    a = np.asarray(im).astype(np.int16).copy()
    r0 = int(a.shape[0] * start)
    a[r0:] = np.roll(a[r0:], a.shape[1] // 3, axis=1)[:, ::-1] // 2 + 60
    return a.clip(0, 255).astype(np.uint8)


def ledger_page(seed: int, *, size=(1240, 1754), font=15, rows=22):
    """An account book's page of one layout (a running head, a table of label, amount and year
    rows at one pitch, then paragraphs of prose, some ending short), its words, amounts and where
    its paragraphs break drawn from ``seed``: pages of one layout differ only in their text and in
    where their blank lines fall."""
    from PIL import ImageFont
    rng = np.random.default_rng(seed)
    w, h = size
    paper = 246 + rng.normal(0, 1.2, (h, w, 1)) + np.array([0, -1, -4])
    im = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    f, small = ImageFont.load_default(size=font), ImageFont.load_default(size=20)

    def word():
        return "".join(rng.choice(SYLLABLES, rng.integers(1, 4)))
    d.text((w // 2 - 150, 60), "ANNUAL ACCOUNTS 1887", fill=(50, 50, 50), font=small)
    y, pitch = 140, int(font * 2.4)
    for _ in range(rows):
        d.text((120, y), " ".join(word() for _ in range(3)), fill=(28, 26, 24), font=f)
        d.text((760, y), f"{rng.integers(100, 9999)}.{rng.integers(10, 99)}", fill=(28, 26, 24), font=f)
        d.text((1000, y), str(rng.integers(1850, 1899)), fill=(28, 26, 24), font=f)
        y += pitch
    y += 40
    line = int(font * 1.45)
    while y + line <= h - 120:
        words, x = [], 120
        while True:
            wd = word()
            if x + f.getlength(wd + " ") > w - 120:
                break
            words.append(wd)
            x += f.getlength(wd + " ")
        d.text((120, y), " ".join(words), fill=(28, 26, 24), font=f)
        y += line + (line // 2 if rng.random() < 0.12 else 0)
    return im


def film_strip(first_no: int, *, stock="KODAK SAFETY FILM 5063", seed=0, numbers=(250, 190, 110)):
    """A 1300x410 scan of a strip of three colour negatives (scikit-image photographs) on orange film
    base with grain, sprocket holes, frame numbers from ``first_no`` and the film ``stock`` in the
    rebate: strips of one roll differ there alone."""
    from skimage import data
    g = np.random.default_rng(seed)
    base = np.zeros((410, 1300, 3)) + (205, 150, 95) + g.normal(0, 2, (410, 1300, 3))
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for x in range(10, 1300, 24):
        d.rounded_rectangle([x, 15, x + 13, 33], 3, fill=(245, 245, 245))
        d.rounded_rectangle([x, 377, x + 13, 395], 3, fill=(245, 245, 245))
    for i, name in enumerate(("astronaut", "chelsea", "coffee")):
        frame = Image.fromarray(getattr(data, name)()).convert("RGB").resize((420, 280), Image.Resampling.LANCZOS)
        a = (255 - np.asarray(frame, np.float64)) * (0.8, 0.6, 0.4) + (50, 40, 25)
        x = 20 + i * 430
        im.paste(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), (x, 65))
        d.text((x + 10, 39), f"{first_no + i}", font=ImageFont.load_default(size=15), fill=numbers)
        d.text((x + 30, 39), f"{first_no + i}A", font=ImageFont.load_default(size=11), fill=numbers)
        d.text((x + 150, 351), stock, font=ImageFont.load_default(size=12), fill=numbers)
    return im


def label_card(number: str, *, font=20, seed=1):
    """A 640x420 museum label card (grained cream card, three lines of type, a ruled frame), its
    accession number ``number`` on the third line: two cards differ by that alone."""
    g = np.random.default_rng(seed)
    a = np.zeros((420, 640, 3)) + (236, 230, 214) + g.normal(0, 1.5, (420, 640, 1))
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    f = ImageFont.load_default(size=font)
    d.text((40, 40), "Herbarium of the Museum", fill=(30, 30, 30), font=f)
    d.text((40, 40 + 2 * font), "Quercus robur L., Kew, 1898", fill=(30, 30, 30), font=f)
    d.text((40, 40 + 4 * font), f"No. {number}", fill=(20, 20, 20), font=f)
    d.rectangle((30, 30, 610, 390), outline=(60, 60, 60), width=2)
    return im


def shrunk_elsewhere(im, scale: float) -> Image.Image:
    """``im`` shrunk as another program would (scikit-image: a Gaussian anti-aliasing blur, then
    bilinear interpolation, in floating point): none of Pillow's filters makes it pixel for pixel,
    as none makes ImageMagick's or a photo editor's copies."""
    from skimage import transform
    a = transform.rescale(np.asarray(im) / 255.0, scale, channel_axis=2, anti_aliasing=True, order=1)
    return Image.fromarray(np.clip(np.rint(a * 255), 0, 255).astype(np.uint8))


def engraving(seed: int = 9, size=(800, 600), period: float = 5.0, patch=None) -> Image.Image:
    """A line engraving: black hatching on white, slanted lines every ``period`` px whose width follows the
    tone of a smooth random field (what a plate's burin does), 1 bit per pixel in an RGB picture. Its detail
    lies beyond a 256 px reduction's resolution. ``patch``: (left, top, side, lighter) a square whose tone
    is lighter by that much (the hatching thinner there), a retouched plate."""
    from scipy import ndimage
    w, h = size
    rng = np.random.default_rng(seed)
    field = sum(amp * ndimage.gaussian_filter(rng.standard_normal((h, w)), s) for s, amp in ((w / 8, 1.0), (w / 30, 0.5)))
    tone = (field - field.min()) / (field.max() - field.min())
    if patch is not None:
        x, y, side, lighter = patch
        tone[y:y + side, x:x + side] = np.clip(tone[y:y + side, x:x + side] + lighter, 0, 1)
    yy, xx = np.mgrid[0:h, 0:w]
    line = np.abs((((yy + 0.3 * xx) / period) % 1) - 0.5) * 2
    ink = np.where(line < 1 - tone, 0, 255).astype(np.uint8)
    return Image.fromarray(ink).convert("RGB")


def diagram_with_a_border(w: int = 503, h: int = 560, rename: str | None = None) -> Image.Image:
    """A class diagram's crop: labelled boxes joined by thin lines on white, and a 2 px border line down
    its left edge beside a blank margin (each column there one level from top to bottom). ``rename``:
    the first box of the third row carries this name instead (another version of the diagram)."""
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    f = ImageFont.load_default(size=14)
    d.line([(5, 0), (5, h)], fill=(0, 0, 0), width=2)
    rng = np.random.default_rng(4)
    names = ["Word", "Empty", "Literal", "NoMatch", "Char", "Regex", "Keyword", "QuotedString", "And", "Or", "Each"]
    k = 0
    for row, y in enumerate((25, 160, 300, 430)):
        x = 22
        while x < w - 90:
            name = names[k % len(names)]
            if row == 2 and x == 22 and rename:
                name = rename
            k += 1
            bw = 14 + 9 * len(name)
            d.rectangle([x, y, x + bw, y + 26], fill=(240, 240, 240), outline=(60, 60, 60))
            d.text((x + 6, y + 5), name, fill=(0, 0, 0), font=f)
            if row < 3:
                d.line([(x + bw // 2, y + 26), (x + bw // 2 + int(rng.integers(-40, 40)), y + 130)], fill=(0, 0, 0))
            x += bw + int(rng.integers(20, 40))
    return im


def flip_late_drift(data: bytes, *, start=0.88, last_rows=32, accept=lambda flipped: True):
    """A real bit flip in a baseline JPEG's entropy-coded data whose damage lies in the last ``last_rows``
    rows only: nothing above them changes, and the last 16 rows come out 4-20 grey levels off on average,
    one way (a DC difference changed: every later block inherits it). The first such flip from ``start``
    of the scan on that ``accept`` takes (deterministic). Returns (flipped bytes, the first row changed)."""
    ref = _decoded_or_none(data, "L")
    h = ref.shape[0]
    for b in _single_flips(data, start):
        got = _decoded_or_none(b, "L")
        if got is None:
            continue
        d = got - ref
        changed = np.nonzero(np.abs(d).mean(axis=1) > 0.5)[0]
        if len(changed) and changed[0] >= h - last_rows and 4 <= abs(d[-16:].mean()) <= 20 and accept(b):
            return b, int(changed[0])
    raise AssertionError("no late drifting flip found")


def halftone(seed: int = 2, size=(1200, 900), period: float = 10.0) -> np.ndarray:
    """A halftone print (uint8 grey): round black dots on a screen ``period`` px apart, turned 15 degrees,
    each as large as a smooth tone field (a sum of Gaussian blobs) asks."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    r = np.random.default_rng(seed)
    t = np.zeros((h, w))
    for _ in range(14):
        cx, cy, s, a = r.uniform(0, w), r.uniform(0, h), r.uniform(60, 300), r.uniform(-1, 1)
        t += a * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
    t += 0.3 * (xx / w) - 0.2 * (yy / h)
    t = (t - t.min()) / (t.max() - t.min())
    ang = np.pi / 12
    u, v = xx * np.cos(ang) + yy * np.sin(ang), -xx * np.sin(ang) + yy * np.cos(ang)
    d = np.sqrt(((u / period) % 1 - 0.5) ** 2 + ((v / period) % 1 - 0.5) ** 2)
    return (255 * (d >= np.sqrt((1 - t) / np.pi))).astype(np.uint8)


def icc_described(icc: bytes, text: str) -> bytes:
    """An ICC profile with its 'desc' tag replaced by ``text`` and its colour data untouched (a renamed
    sRGB profile, or another profile named as sRGB)."""
    import struct
    hdr = bytearray(icc[:128])
    n = struct.unpack(">I", icc[128:132])[0]
    tags = [struct.unpack(">4sII", icc[132 + 12 * i:144 + 12 * i]) for i in range(n)]
    if icc[8] >= 4:
        u = text.encode("utf-16-be")
        desc = b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(u), 28) + u
    else:
        a = text.encode("latin-1") + b"\0"
        desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(a)) + a + b"\0" * 78
    body, table, placed = b"", [], {}
    start = 128 + 4 + 12 * n
    for sig, off, size in tags:
        data = desc if sig == b"desc" else icc[off:off + size]
        key = ("desc",) if sig == b"desc" else (off, size)
        if key not in placed:
            while (start + len(body)) % 4:
                body += b"\0"
            placed[key] = (start + len(body), len(data))
            body += data
        table.append((sig,) + placed[key])
    while (start + len(body)) % 4:
        body += b"\0"
    out = bytearray(hdr + struct.pack(">I", n) + b"".join(struct.pack(">4sII", *t) for t in table) + body)
    out[0:4] = struct.pack(">I", len(out))
    out[84:100] = b"\0" * 16
    return bytes(out)


def corpus_crop(name: str, tile: int, grid: int = 4) -> Image.Image:
    """corpus_gen's crop ``tile`` of skimage's picture ``name`` cut ``grid`` x ``grid`` (RGB)."""
    from skimage import data
    im = Image.fromarray(getattr(data, name)()).convert("RGB")
    cw, ch = im.width // grid, im.height // grid
    x, y = (tile % grid) * cw, (tile // grid) * ch
    return im.crop((x, y, x + cw, y + ch))


# corpus_gen --hard's twelve bit flips (its seed 18002) in Pillow's q90 JPEG of a crop: (byte, XOR mask).
# Each garbles its copy from early rows on: the fundus's rim (retina, tile 12) below its top 14 %, the sky
# over a head of hair (camera, tile 1) below its top 60 %
RETINA_FLIPS = ((3262, 16), (3312, 1), (3761, 64), (4756, 2), (4995, 1), (5202, 8), (5793, 16), (6361, 1),
                (7338, 64), (7559, 32), (9006, 2), (9048, 2))
CAMERA_FLIPS = ((1134, 4), (1137, 16), (1578, 1), (1609, 128), (1854, 4), (2093, 128), (2173, 2), (2199, 1),
                (2466, 2), (2835, 4), (2901, 16), (2985, 64))

# corpus_gen --hard's twelve flips (its seed 32010) in Pillow's q90 JPEGs of two 92 px colour wheel crops (tiles 11
# and 15): (size, flips). Each hits the stream before its first full row of blocks; libjpeg complains
WHEEL_FLIPS = {11: (1653, ((695, 8), (903, 2), (965, 64), (981, 16), (1008, 1), (1030, 16), (1254, 128), (1452, 2),
                           (1454, 8), (1562, 4), (1597, 32), (1647, 128))),
               15: (1210, ((516, 8), (548, 8), (597, 16), (689, 64), (705, 128), (714, 128), (896, 1), (1023, 2),
                           (1039, 1), (1113, 2), (1154, 8), (1156, 32)))}


# corpus_gen --hard's twelve flips in Pillow's q90 JPEGs of a 128 px moon crop (tile 13, its seed 32007) and a
# 160x106 rocket crop (tile 6, seed 31025), from a third of the stream on: (size, flips). libjpeg does not complain
# of the moon's; each reads as the kept picture moved along the scan and shifted in tone from inside an MCU row on
MOON_FLIPS = (3294, ((1273, 128), (1375, 4), (1417, 8), (1539, 64), (1808, 128), (2145, 32), (2409, 8), (2579, 8),
                     (2829, 32), (2885, 8), (2900, 32), (3091, 8)))
ROCKET_FLIPS = (2774, ((982, 8), (987, 4), (1071, 64), (1110, 1), (1186, 16), (1290, 16), (1421, 1), (1436, 1),
                       (2066, 16), (2084, 8), (2354, 2), (2603, 32)))

# corpus_gen --hard's twelve flips in Pillow's q90 JPEGs of a 160x106 rocket crop (tile 4, its seed 52005) and a
# 137x165 crop of cells (tile 11, seed 52009). The rocket's first flip garbles two MCUs in place, the stream goes on
# in step for eleven more, then breaks; the cells' breaks at once, and one MCU of 83 after it lands in place by chance
ROCKET_GARBLED_FIRST_FLIPS = (4130, ((1453, 64), (1573, 4), (1712, 4), (2412, 16), (2629, 1), (2961, 128), (3112, 2),
                                     (3133, 2), (3219, 2), (3876, 4), (4040, 1), (4125, 2)))
CELL_BACK_BY_CHANCE_FLIPS = (2938, ((1076, 8), (1118, 16), (1319, 64), (1364, 128), (1448, 32), (1468, 64), (2077, 1),
                                    (2119, 64), (2230, 64), (2456, 32), (2684, 64), (2898, 8)))

# corpus_gen --hard's twelve flips in Pillow's q90 JPEGs of a 128 px crop of cells (immunohistochemistry, tile 7, its
# seed 53002) and of a 352 px fundus (retina, tile 9, seed 53010). Neither decoder complains, and the screen finds no
# damage in either: past a block or two garbled, the rest is the kept picture's, in runs shifted in tone
CELLS_TONED_FLIPS = (6277, ((2509, 1), (2635, 4), (2699, 2), (3591, 4), (4003, 2), (4295, 1), (4841, 64), (5548, 4),
                            (5777, 1), (5873, 32), (5947, 2), (5965, 4)))
RETINA_TONED_FLIPS = (17825, ((6628, 2), (7512, 1), (8828, 1), (9111, 2), (9729, 1), (11598, 32), (12904, 16),
                              (13012, 16), (16282, 1), (16515, 2), (16543, 128), (17512, 8)))


def flipped_at(data: bytes, flips, size: int) -> bytes:
    """``data`` (``size`` bytes: the encoder the flips were found in) with each (byte, XOR mask) flipped."""
    assert len(data) == size, f"the JPEG encoder changed: {len(data)} bytes, the flips were found in {size}"
    b = bytearray(data)
    for at, mask in flips:
        b[at] ^= mask
    return bytes(b)

"""Helpers shared by the matching tests (imported as `mhelpers`)."""
import io

import numpy as np
from PIL import Image


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

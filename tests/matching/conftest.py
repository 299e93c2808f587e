"""Fixtures for the matching tests: real photographs (scikit-image samples) encoded in tmp_path.
Nothing here reads the shared development corpus."""
import io

import numpy as np
import pytest
from PIL import Image


def _photo(name, box):
    from skimage import data
    a = getattr(data, name)()
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=2)
    a = a[..., :3]
    t, l, b, r = box
    return Image.fromarray(np.ascontiguousarray(a[t:b, l:r]).astype(np.uint8))


_CACHE = {}


def _cached(name, box):
    if name not in _CACHE:
        _CACHE[name] = _photo(name, box)
    return _CACHE[name].copy()  # a fresh Image each test: Pillow keeps per-image save state


@pytest.fixture
def photo():
    """A 320x240 colour photograph (astronaut)."""
    return _cached("astronaut", (40, 60, 280, 380))


@pytest.fixture
def photo2():
    """Another, unrelated photograph (coffee), 320x240."""
    return _cached("coffee", (60, 100, 300, 420))


@pytest.fixture
def photo3():
    return _cached("chelsea", (20, 20, 260, 340))



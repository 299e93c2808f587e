"""Fixtures for the matching tests: real photographs (scikit-image samples) encoded in tmp_path.
Nothing here reads ../shared."""
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


@pytest.fixture(scope="session")
def photo():
    """A 320x240 colour photograph (astronaut)."""
    return _photo("astronaut", (40, 60, 280, 380))


@pytest.fixture(scope="session")
def photo2():
    """Another, unrelated photograph (coffee), 320x240."""
    return _photo("coffee", (60, 100, 300, 420))


@pytest.fixture(scope="session")
def photo3():
    return _photo("chelsea", (20, 20, 260, 340))



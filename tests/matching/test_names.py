import re

from matching.names import extract_ids


def test_ids_normalised_across_spellings():
    assert extract_ids("C0001234.jp2") == ["C1234"]
    assert extract_ids("C1234a.tif") == ["C1234"]
    assert extract_ids("some/folder/c1234-b.jpeg") == ["C1234"]
    assert extract_ids("C1007919b.jp2") == ["C1007919"]


def test_camera_counters_and_words_are_not_ids():
    assert extract_ids("IMG_2791_2.jpg") == []
    assert extract_ids("issue_2811.png") == []
    assert extract_ids("hopper.jpg") == []
    assert extract_ids("C12.jpg") == []


def test_custom_patterns():
    pats = [r"(?P<prefix>INV)-(?P<num>\d+)", re.compile(r"ACC(\d{3,})")]
    assert extract_ids("scan INV-000789 final.tif", pats) == ["INV789"]
    assert extract_ids("ACC0042_copy.jpg", pats) == ["42"]

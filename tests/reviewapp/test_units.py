"""reviewapp.units.byte_size: the one way byte counts are written, in decimal (SI) units."""
import pytest
from django.template import Context, Template

from reviewapp.units import byte_size


@pytest.mark.parametrize("n, words", [
    (None, "0 bytes"), (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1.0 kB"),
    (952_300, "952.3 kB"), (999_949, "999.9 kB"), (999_960, "1.0 MB"), (2_444_445, "2.4 MB"),
    (2_730_000, "2.7 MB"), (8 * 10**12, "8.0 TB"), ("12", "12 bytes"), ("junk", "0 bytes"),
])
def test_byte_counts_are_written_in_decimal_units_and_never_as_a_thousand_of_the_smaller_unit(n, words):
    assert byte_size(n) == words


def test_every_template_writes_bytes_with_the_same_function_without_loading_it():
    assert Template("{{ n|bytesize }}").render(Context({"n": 952_300})) == byte_size(952_300) == "952.3 kB"


def test_no_template_falls_back_to_djangos_1024_based_filesizeformat():
    from tests.test_templates import PAGES

    users = [str(p) for p in PAGES if "filesizeformat" in p.read_text(encoding="utf-8")]
    assert users == []

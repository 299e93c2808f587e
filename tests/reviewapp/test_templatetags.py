"""The words the review page says instead of only drawing: where the damage is, what was applied
to the kept copy, and the alt text built from them."""
import pytest

from reviewapp.templatetags.doppel_a11y import alignment_words, pane_alt, region_words
from tests.factories import CandidateFactory


@pytest.mark.parametrize("box, words", [
    ({"top": "51.00%", "left": "0.00%", "width": "100.00%", "height": "49.00%"}, "bottom 49%"),
    ({"top": 0, "left": 0, "width": 100, "height": 20}, "top 20%"),
    ({"top": 40, "left": 0, "width": 100, "height": 10}, "a band 10% high, from 40% to 50% down"),
    ({"top": 0, "left": 70, "width": 30, "height": 100}, "right 30%"),
    ({"top": 0, "left": 0, "width": 25, "height": 100}, "left 25%"),
    ({"top": 0, "left": 0, "width": 100, "height": 100}, "the whole picture"),
    ({"top": 10, "left": 10, "width": 20, "height": 20}, "an area 20% wide and 20% high in the upper left"),
    ({"top": 40, "left": 40, "width": 20, "height": 20}, "an area 20% wide and 20% high in the centre"),
])
def test_a_damaged_region_is_said_in_words(box, words):
    assert region_words(box) == words


@pytest.mark.parametrize("bad", [None, "garbage", {}, {"top": "x", "left": 0, "width": 1, "height": 1},
                                 {"top": 0, "left": 0, "width": 0, "height": 10}])
def test_a_region_that_cannot_be_read_says_nothing(bad):
    assert region_words(bad) == ""


@pytest.mark.django_db
def test_alt_text_names_side_file_alignment_and_damage():
    cand = CandidateFactory(rotation=180, flipped=False)
    kept = cand.match_asset
    box = {"top": "51%", "left": "0%", "width": "100%", "height": "49%"}
    assert alignment_words(cand) == "turned 180° to align"
    assert pane_alt("match", kept, cand, None, True) == f"Kept copy {kept.name}, turned 180° to align"
    assert pane_alt("match", kept, cand, {"box": box}, True) == f"Kept copy {kept.name}, turned 180° to align, damaged: bottom 49%"
    # shown as stored, the outline is hidden (it belongs to the aligned picture), and so are its words
    assert pane_alt("match", kept, cand, {"box": box}, False) == f"Kept copy {kept.name}, as stored, not turned to align"
    assert pane_alt("cleanup", cand.cleanup_asset, cand, {"box": box}) == f"Clean-up copy {cand.cleanup_asset.name}, damaged: bottom 49%"
    cand.rotation, cand.flipped = 90, True
    assert alignment_words(cand) == "turned 90° counter-clockwise and mirrored to align"
    cand.rotation, cand.flipped = 0, True
    assert alignment_words(cand) == "mirrored to align"
    cand.rotation, cand.flipped = 0, False
    assert alignment_words(cand) == "" and pane_alt("match", kept, cand) == f"Kept copy {kept.name}"


def test_not_safe_reasons_come_from_the_engines_rule_and_say_nothing_for_a_safe_pair(db):
    from reviewapp.templatetags.doppel_a11y import not_safe_reasons
    from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory

    kept = AssetFactory(width=400, height=300, decode_status="ok")
    cleanup = AssetFactory(width=800, height=600, decode_status="ok")
    cand = CandidateFactory(cleanup_asset=cleanup, match_asset=kept, verdict="duplicate", safe_to_delete=False)
    item = ReviewItemFactory(asset=cleanup, best_candidate=cand)
    assert not_safe_reasons(item, cand) == ["the clean-up copy holds more pixels (800x600) than the kept copy (400x300)"]
    cand.verdict, cand.rotation = "rotated", 90
    assert not_safe_reasons(item, cand)[0] == "turned 90° counter-clockwise: a person must confirm"
    cand.safe_to_delete = True
    assert not_safe_reasons(item, cand) == []


@pytest.mark.parametrize("rotation, flipped, words, arrow", [
    (90, False, "turned 90° counter-clockwise", "↺"),
    (270, False, "turned 270° counter-clockwise", "↺"),
    (180, False, "turned 180°", "↺"),  # half a turn: either way round, the arrow does not contradict
    (0, True, "mirrored", "⇋"),
    (90, True, "turned 90° counter-clockwise and mirrored", "↺⇋"),
    (0, False, "", ""),
])
def test_a_turn_has_one_arrow_and_words_that_agree(rotation, flipped, words, arrow):
    from types import SimpleNamespace

    from reviewapp.templatetags.doppel_a11y import turn, turn_arrow

    cand = SimpleNamespace(rotation=rotation, flipped=flipped)
    assert turn(cand) == words and turn_arrow(cand) == arrow
    assert "↻" not in turn_arrow(cand) and "turned 0" not in turn(cand)

"""The engine's thresholds: one frozen value, every field read by the engine, recorded with each
pair as the numbers that decided it, and loosened as a whole."""
import dataclasses
import json
import re
from pathlib import Path

import pytest

import matching
from matching import thresholds
from matching.thresholds import THRESHOLDS, ProofThresholds, Thresholds

from mhelpers import jpeg_bytes

ENGINE = Path(matching.__file__).parent


def _fields(value, prefix=""):
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        if dataclasses.is_dataclass(v):
            yield from _fields(v, prefix + f.name + ".")
        else:
            yield prefix + f.name, f


def test_thresholds_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        THRESHOLDS.same_local = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        THRESHOLDS.proof.tol_factor = 9.0


def test_every_threshold_is_read_by_the_engine():
    """No field is recorded but never read (as compare_side once was)."""
    source = "\n".join(p.read_text() for p in ENGINE.glob("*.py") if p.name != "thresholds.py")
    unread = [name for name, _ in _fields(THRESHOLDS)
              if name != "verifier_version" and not re.search(r"\." + re.escape(name.split(".")[-1]) + r"\b", source)]
    assert unread == []


def test_recorded_thresholds_serialise_to_json_with_the_proof_section():
    d = json.loads(json.dumps(THRESHOLDS.to_dict()))
    assert d["same_local"] == THRESHOLDS.same_local and d["compare_side"] == 256
    assert d["proof"]["tol_factor"] == THRESHOLDS.proof.tol_factor
    assert d["verifier_version"] == matching.VERIFIER_VERSION


def test_loosened_moves_every_tolerance_and_nothing_else():
    loose = THRESHOLDS.loosened(1.2)
    moved = 0
    for (name, f), (_, lf) in zip(_fields(THRESHOLDS), _fields(loose)):
        before = _get(THRESHOLDS, name)
        after = _get(loose, name)
        way = f.metadata.get("looser")
        if way == "up":
            assert after == pytest.approx(before * 1.2), name
        elif way == "down":
            assert after == pytest.approx(before / 1.2), name
        else:
            assert after == before, name
        moved += way is not None
    assert moved >= 15 and isinstance(loose, Thresholds) and isinstance(loose.proof, ProofThresholds)


def _get(value, dotted):
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def test_the_thresholds_in_force_decide_the_pair_and_are_recorded(tmp_path, photo):
    kept = tmp_path / "C0000123.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(jpeg_bytes(photo, 80))
    r = matching.verify_pair(copy, kept)
    assert r.verdict == "duplicate" and r.thresholds == THRESHOLDS
    strict = dataclasses.replace(THRESHOLDS, proof=dataclasses.replace(
        THRESHOLDS.proof, tol_factor=0.01, tol_floor=0.01, peak_factor=0.01, peak_floor=0.01))
    c, m = matching.analyse_file(copy), matching.analyse_file(kept)
    c.path, m.path = str(copy), str(kept)
    r = matching.verify_analyses(c, m, thresholds=strict)
    assert r.verdict == "different" and r.thresholds is strict
    assert r.to_dict()["thresholds"]["proof"]["tol_floor"] == 0.01


def test_replacing_the_value_in_force_reaches_every_stage(tmp_path, photo, monkeypatch):
    kept = tmp_path / "C0000124.tif"
    photo.save(kept, "TIFF", compression="tiff_lzw")
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(jpeg_bytes(photo, 80))
    # a screen that accepts no difference at all: the pair fails at stage 1, with the recorded value
    monkeypatch.setattr(thresholds, "THRESHOLDS", dataclasses.replace(THRESHOLDS, same_diff=0.0))
    r = matching.verify_pair(copy, kept)
    assert r.verdict == "different" and r.thresholds.same_diff == 0.0
    assert any("global difference" in why for why in r.reasons)

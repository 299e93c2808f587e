import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching.cli import main

from mhelpers import jpeg_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_pairs_writes_report(tmp_path, photo):
    canon, clean = tmp_path / "a", tmp_path / "b"
    canon.mkdir()
    clean.mkdir()
    photo.save(canon / "C0000001.tif")
    (clean / "x.jpg").write_bytes(jpeg_bytes(photo))
    (clean / "y.jpg").write_bytes(b"junk")
    out = tmp_path / "r.csv"
    assert main(["pairs", str(canon), str(clean), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["cleanup"] for r in rows] == ["x.jpg", "y.jpg"]
    for col in ("cleanup", "match", "diff_score", "rotation", "flipped", "verdict", "safe_to_delete",
                "local_score", "corrupt_side", "reasons", "engine_version"):
        assert col in rows[0]
    assert rows[0]["safe_to_delete"] == "true" and rows[1]["verdict"] == "unreadable"


def test_bad_arguments_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["pairs", str(tmp_path / "nope"), str(tmp_path), "--out", str(tmp_path / "r.csv")])
    assert e.value.code == 2 and "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["pairs", str(tmp_path), str(tmp_path), "--out", "r.csv", "--workers", "zero"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["pairs", str(tmp_path), str(tmp_path), "--out", "r.csv", "--id-pattern", "(unclosed"])
    assert e.value.code == 2


def test_module_entry_point_analyse(tmp_path, photo):
    p = tmp_path / "C0000042.png"
    photo.save(p)
    out = subprocess.run([sys.executable, "-m", "matching", "analyse", str(p)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["format"] == "PNG" and d["ids"] == ["C42"] and d["status"] == "ok"

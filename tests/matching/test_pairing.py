import pytest
from PIL import Image, ImageOps

from matching import pair_directories

from mhelpers import edited, grey_band, jpeg_bytes


@pytest.fixture
def dirs(tmp_path, photo, photo2, photo3):
    canon, clean = tmp_path / "canon", tmp_path / "clean"
    canon.mkdir()
    (clean / "sub").mkdir(parents=True)
    photo.save(canon / "C0000101.tif", "TIFF", compression="tiff_lzw")
    photo2.save(canon / "C0000102.jp2", "JPEG2000")
    photo3.save(canon / "C0000103.tif", "TIFF")
    (clean / "C101a.jpg").write_bytes(jpeg_bytes(photo.resize((160, 120), Image.LANCZOS)))
    (clean / "sub" / "IMG_9.jpg").write_bytes(jpeg_bytes(ImageOps.mirror(photo2.rotate(270, expand=True))))
    (clean / "IMG_10.jpg").write_bytes(jpeg_bytes(grey_band(photo3, 0.5, 0.2)))
    (clean / "IMG_11.jpg").write_bytes(jpeg_bytes(edited(photo3)))
    (clean / "notes.txt").write_bytes(b"not an image")
    return canon, clean


def test_row_per_file_with_verdicts(dirs):
    rows = {r["cleanup"]: r for r in pair_directories(*dirs, workers=2, progress=False)}
    assert set(rows) == {"C101a.jpg", "sub/IMG_9.jpg", "IMG_10.jpg", "IMG_11.jpg", "notes.txt"}
    assert rows["C101a.jpg"]["match"] == "C0000101.tif" and rows["C101a.jpg"]["safe_to_delete"] == "true"
    r = rows["sub/IMG_9.jpg"]
    assert (r["match"], r["verdict"], r["rotation"], r["flipped"]) == ("C0000102.jp2", "rotated", 270, "true")
    assert rows["IMG_10.jpg"]["verdict"] == "cleanup_corrupt" and rows["IMG_10.jpg"]["match"] == "C0000103.tif"
    assert rows["IMG_11.jpg"]["verdict"] == "different" and rows["IMG_11.jpg"]["safe_to_delete"] == "false"
    assert rows["notes.txt"]["verdict"] == "unreadable"
    assert all(r["engine_version"] for r in rows.values())


def _slow_analyse(path, name=None, **kw):
    import time

    from matching.analysis import analyse_file
    if "slow" in str(path):
        time.sleep(30)
    return analyse_file(path, name=name, **kw)


def test_one_file_cannot_hang_the_run(tmp_path, monkeypatch, photo):
    import time

    import matching.pairing as pairing
    monkeypatch.setattr(pairing, "FILE_TIMEOUT", 1)
    monkeypatch.setattr(pairing, "analyse_file", _slow_analyse)
    for n in ("a.jpg", "b.jpg", "slow.jpg", "c.jpg"):
        (tmp_path / n).write_bytes(jpeg_bytes(photo))
    t = time.time()
    out = pairing.analyse_many(tmp_path, ["a.jpg", "b.jpg", "slow.jpg", "c.jpg"], workers=2, progress=False)
    assert time.time() - t < 15
    assert out["slow.jpg"].status == "unreadable" and "longer than 1 s" in out["slow.jpg"].errors[0]
    assert out["a.jpg"].status == "ok" and out["c.jpg"].status == "ok"


def test_a_bit_flipped_copy_without_id_whose_hashes_are_garbage_pairs_through_its_intact_top(tmp_path, photo, photo2):
    import numpy as np
    canon, clean = tmp_path / "canon", tmp_path / "clean"
    canon.mkdir()
    clean.mkdir()
    photo.save(canon / "C0000101.tif", "TIFF", compression="tiff_lzw")
    photo2.save(canon / "C0000102.tif", "TIFF", compression="tiff_lzw")
    data = bytearray(jpeg_bytes(photo, 90))
    start = int(len(data) * 0.35)
    for i in np.random.default_rng(0).integers(start, start + 200, 3):
        data[i] ^= 0x10
    (clean / "IMG_77.jpg").write_bytes(bytes(data))
    (row,) = pair_directories(canon, clean, workers=1, progress=False)
    assert row["via"] == "thumbnail"             # the hashes found nothing
    assert (row["match"], row["verdict"], row["corrupt_side"], row["safe_to_delete"]) == (
        "C0000101.tif", "cleanup_corrupt", "cleanup", "false")


def test_the_files_are_verified_in_worker_processes_and_report_as_one_process_does(dirs, monkeypatch):
    import os

    import matching.pairing as pairing
    alone = pair_directories(*dirs, workers=1, progress=False)
    assert pair_directories(*dirs, workers=2, progress=False) == alone

    parent, verify = os.getpid(), pairing.verify_analyses

    def failing_for_one(a, m, **kw):
        # (raised in whichever process verifies the file: the pid says which)
        if a.name == "IMG_11.jpg":
            raise RuntimeError(f"verified in process {os.getpid()}")
        return verify(a, m, **kw)
    monkeypatch.setattr(pairing, "verify_analyses", failing_for_one)
    rows = {r["cleanup"]: r for r in pair_directories(*dirs, workers=2, progress=False)}
    reason = rows["IMG_11.jpg"]["reasons"]
    assert rows["IMG_11.jpg"]["verdict"] == "no_match" and "verification failed: RuntimeError" in reason
    assert int(reason.rsplit(" ", 1)[-1]) != parent   # a worker's, not this process's
    # the other files' rows are as before
    assert {k: v for k, v in rows.items() if k != "IMG_11.jpg"} == \
        {r["cleanup"]: r for r in alone if r["cleanup"] != "IMG_11.jpg"}


def test_the_analyses_a_run_keeps_for_every_file_hold_no_full_detail_rendition_once_verified(dirs, monkeypatch):
    import matching.pairing as pairing
    kept: list = []
    analyse = pairing.analyse_many

    def keeping(*args, **kw):
        out = analyse(*args, **kw)
        kept.append(out)
        return out
    monkeypatch.setattr(pairing, "analyse_many", keeping)
    rows = pair_directories(*dirs, workers=1, progress=False)   # (verified in this process: its analyses are these)
    assert any(r["safe_to_delete"] == "true" for r in rows)   # a proof was made, from full-detail renditions
    analyses = [a for out in kept for a in out.values()]
    assert len(analyses) == 8 and all(a.rendition is None for a in analyses)

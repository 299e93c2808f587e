import numpy as np

from matching import CandidateIndex, analyse_file
from matching.index import MultiIndexHash, popcount64

from mhelpers import jpeg_bytes


def test_mih_finds_exactly_what_brute_force_finds_within_guaranteed_radius():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, 2000, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 2000, dtype=np.uint64)
    mih = MultiIndexHash()
    mih.add_many(base, np.arange(len(base)))
    queries = []
    for i in range(50):  # perturb 0..7 bits of stored hashes
        h = int(base[i * 7])
        for b in rng.choice(64, size=int(rng.integers(0, 8)), replace=False):
            h ^= 1 << int(b)
        queries.append(h)
    q, owner, d = mih.search(queries, radius=7, chunk_radius=1)
    got = set(zip(q.tolist(), owner.tolist()))
    for qi, h in enumerate(queries):
        dist = popcount64(np.uint64(h) ^ base)
        want = {(qi, int(j)) for j in np.where(dist <= 7)[0]}
        assert want <= got
    assert all(x <= 7 for x in d.tolist())


def test_candidates_by_content_rotated_and_by_id(tmp_path, photo, photo2, photo3):
    canon = {}
    for name, im in [("C0001111.tif", photo), ("C0002222.tif", photo2), ("C0003333.tif", photo3)]:
        p = tmp_path / name
        im.save(p, "TIFF", compression="tiff_lzw")
        canon[name] = analyse_file(p)
    idx = CandidateIndex()
    for k, a in canon.items():
        idx.add(k, a)
    q = tmp_path / "IMG_0001.jpg"
    q.write_bytes(jpeg_bytes(photo.rotate(90, expand=True).resize((120, 160)), 80))
    cands = idx.candidates(analyse_file(q))
    assert cands and cands[0].key == "C0001111.tif" and cands[0].reason == "content"
    r = tmp_path / "C2222b.jpg"
    r.write_bytes(jpeg_bytes(photo3))
    by = {c.key: c.reason for c in idx.candidates(analyse_file(r))}
    assert by["C0002222.tif"] == "id" and by["C0003333.tif"] == "content"


def test_flat_images_never_content_candidates(tmp_path):
    from PIL import Image
    idx = CandidateIndex()
    p = tmp_path / "blank.png"
    Image.new("RGB", (200, 150), (250, 250, 250)).save(p)
    idx.add("blank.png", analyse_file(p))
    q = tmp_path / "blank2.jpg"
    Image.new("RGB", (200, 150), (251, 251, 251)).save(q)
    assert idx.candidates(analyse_file(q)) == []

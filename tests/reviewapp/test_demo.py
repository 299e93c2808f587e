"""`doppel_demo` (what `make run` loads): users with one-time passwords, a generated collection of
real photos covering every relation, two sources, and review items — and a second run that
duplicates nothing."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from reviewapp.models import Asset, Candidate, Job, ReviewItem, Source
from reviewapp.roles import is_admin, is_curator


def run_demo():
    out = StringIO()
    call_command("doppel_demo", "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def demo_dirs(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    settings.LOCAL_ROOTS = [(tmp_path / "var" / "sources").resolve()]
    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "r")}}}
    from django.core.files.storage import storages

    storages._storages.pop("renditions", None)
    yield settings.VAR_DIR / "sources" / "demo"
    storages._storages.pop("renditions", None)


@pytest.mark.django_db
def test_demo_loads_once_and_twice_changes_nothing(demo_dirs):
    out = run_demo()
    User = get_user_model()
    assert out.count("with password:") == 2
    assert is_curator(User.objects.get(username="curator")) and not is_admin(User.objects.get(username="curator"))
    assert is_admin(User.objects.get(username="admin"))
    truth = {d["name"]: d for d in json.loads((demo_dirs / ".doppel-demo-v1").read_text())}
    assert {d["relation"] for d in truth.values()} >= {"exact", "format", "resized", "rotated", "exif_oriented",
                                                         "corrupt_cleanup", "corrupt_canonical", "near_miss", "unique", "unreadable"}
    assert {p.suffix for p in (demo_dirs / "canonical").iterdir()} == {".tif", ".jp2"}
    assert {p.suffix for p in (demo_dirs / "cleanup").iterdir()} >= {".jpg", ".png", ".tif", ".jp2"}
    assert Source.objects.count() == 2 and Asset.objects.count() == 24 + len(truth)
    verdicts = dict(ReviewItem.objects.values_list("asset__name", "verdict"))
    assert len(verdicts) == len(truth)
    expected = {"exact": {"identical"}, "format": {"identical", "duplicate"}, "resized": {"duplicate"},
                "exif_oriented": {"identical", "duplicate"}, "rotated": {"rotated"}, "corrupt_cleanup": {"cleanup_corrupt"},
                "corrupt_canonical": {"match_corrupt"}, "near_miss": {"different", "no_match"}, "unique": {"no_match"},
                "unreadable": {"unreadable"}}
    wrong = {n: (truth[n]["relation"], v) for n, v in verdicts.items() if v not in expected[truth[n]["relation"]]}
    assert not wrong
    for r in ReviewItem.objects.exclude(best_candidate=None).select_related("best_candidate__match_asset", "asset"):
        if truth[r.asset.name]["match"]:
            assert r.best_candidate.match_asset.name == truth[r.asset.name]["match"]
    counts = (Asset.objects.count(), Candidate.objects.count(), ReviewItem.objects.count(), User.objects.count())

    out2 = run_demo()
    assert "with password" not in out2 and "manage.py changepassword curator" in out2
    assert (Asset.objects.count(), Candidate.objects.count(), ReviewItem.objects.count(), User.objects.count()) == counts
    last = Job.objects.filter(kind="analyse").order_by("-pk").first()
    assert last.requested == 0 and last.state == "done"


@pytest.mark.django_db
def test_without_scikit_image_the_demo_says_how_to_get_it_and_touches_no_file(demo_dirs, monkeypatch):
    """The runtime image leaves scikit-image out (requirements-demo.txt): the demo then stops with
    the way to install it, before removing or writing anything."""
    import builtins

    from django.core.management.base import CommandError

    real_import = builtins.__import__

    def no_skimage(name, *args, **kw):
        if name == "skimage" or name.startswith("skimage."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kw)

    (demo_dirs / "canonical").mkdir(parents=True)
    (demo_dirs / "canonical" / "mine.tif").write_bytes(b"kept")
    monkeypatch.setattr(builtins, "__import__", no_skimage)
    with pytest.raises(CommandError, match="pip install -r requirements-demo.txt"):
        run_demo()
    assert (demo_dirs / "canonical" / "mine.tif").read_bytes() == b"kept"
    assert not Source.objects.exists()

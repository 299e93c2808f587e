"""Physical identity (issue #12 items 1-4, issue #19 items 1 and 4): the routes by which a
canonical object was deleted as its own "duplicate" (a second profile spelling the endpoint
differently, a bind mount, a root swapped for a symlink after inventory, `cp -p` copies that
share size and mtime), undo racing the executor, and restore/purge by content.

Each execution test runs twice where it matters: with every layer on (what production does),
and with only the layer under test (`layers.only(...)`, tests/conftest.py: every other guard, the
conditional copy and delete, the quarantine copy's content check and the root pin are off), so
each layer is shown to hold on its own.
Assertions look at the objects (bytes at their keys, quarantine) and the rows, not only at the
reason text.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from reviewapp.models import Asset, AuditEntry, Decision, DeletionItem, DeletionPlan, ReviewItem, Source
from reviewapp.services import deletion as svc
from reviewapp.services.deletion import executor
from reviewapp.services.review import ReviewRefused, decision_undo
from reviewapp.services.sources import source_add
from reviewapp.storage import (
    LocalStorage, ObjectChanged, ObjectMissing, RootMoved, S3Storage, UnsafeKey, local_overlap,
    parse_mountinfo, storage_for,
)
from tests.conftest import require_service
from tests.images import photo
from tests.factories import checked_plan
from tests.reviewapp.test_deletion import SIZE, approve, assert_held, cleanup_jpeg, img_bytes, kept_png, put_asset

@pytest.fixture
def users(db):
    from tests.factories import UserFactory

    return UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")


def execute(admin, decision):
    plan = checked_plan(actor=admin, decisions=[decision])
    item = plan.items.get()
    return svc.deletion_item_execute(actor=admin, item=item)


def assert_aborted_untouched(item, fragment, *objects):
    """test_deletion.assert_held, with each object named as (storage, key, bytes): an alias route
    reaches the same bytes through another storage than the asset's own."""
    assert_held(item, fragment)
    for store, key, data in objects:
        assert store.read_bytes(key) == data


# --- registration: S3 ----------------------------------------------------------------------------


@pytest.fixture
def second_profile(s3_profile, s3_server, settings):
    """The same moto server under a second profile, spelled `localhost` instead of 127.0.0.1."""
    opts = dict(settings.S3_PROFILES["moto"], endpoint_url=s3_server.replace("127.0.0.1", "localhost"))
    settings.S3_PROFILES = {**settings.S3_PROFILES, "moto-localhost": opts}
    return "moto-localhost"


@pytest.mark.django_db
def test_same_bucket_through_a_second_endpoint_spelling_is_refused(s3_bucket, second_profile, admin_user):
    source_add(actor=admin_user, name="canon", kind="s3", role="canonical", storage_profile="moto", bucket=s3_bucket,
               prefix="canon")
    for prefix in ("canon", "canon/sub", ""):
        with pytest.raises(ValidationError, match="overlaps source 'canon'.*same bucket"):
            source_add(actor=admin_user, name="alias", kind="s3", role="cleanup", storage_profile=second_profile,
                       bucket=s3_bucket, prefix=prefix)
    # a prefix that does not overlap is a different set of objects
    source_add(actor=admin_user, name="legacy", kind="s3", role="cleanup", storage_profile=second_profile,
               bucket=s3_bucket, prefix="legacy")
    assert set(Source.objects.values_list("name", flat=True)) == {"canon", "legacy"}


@pytest.mark.django_db
def test_a_separate_service_reusing_a_bucket_name_needs_the_profile_override_and_is_logged(
        s3_bucket, second_profile, settings, admin_user, caplog):
    source_add(actor=admin_user, name="canon", kind="s3", role="canonical", storage_profile="moto", bucket=s3_bucket)
    settings.S3_PROFILES[second_profile]["separate_service"] = "lab-minio"
    with caplog.at_level(logging.WARNING, logger="reviewapp.services.sources"):
        s = source_add(actor=admin_user, name="lab", kind="s3", role="cleanup", storage_profile=second_profile,
                       bucket=s3_bucket)
    assert s.pk
    assert any("separate_service='lab-minio'" in r.getMessage() and "canon" in r.getMessage() for r in caplog.records)
    # the override is Doppel's setting, not boto3's: the client still works
    assert list(storage_for(s).list()) == []


@pytest.mark.django_db
def test_a_separate_service_label_on_a_profile_that_reaches_the_same_service_is_not_trusted(
        s3_bucket, s3_profile, second_profile, settings, admin_user):
    """An attack: a profile labelled separate_service that reached the canonical source's very service let a
    clean-up source be registered over the canonical prefix, and its canonical object was quarantined. The
    objects themselves say it is one service: the same object (ETag, size, last modified) through both."""
    from reviewapp.services.deletion.executor import physical_identity_doubt

    canon = source_add(actor=admin_user, name="canon", kind="s3", role="canonical", storage_profile="moto",
                       bucket=s3_bucket, prefix="canon")
    s3_profile.put_object(Bucket=s3_bucket, Key="canon/C0001001.tif", Body=b"kept bytes")
    settings.S3_PROFILES[second_profile]["separate_service"] = "lab-minio"
    with pytest.raises(ValidationError, match="overlaps source 'canon'.*labelled separate services.*one service"):
        source_add(actor=admin_user, name="lab", kind="s3", role="cleanup", storage_profile=second_profile,
                   bucket=s3_bucket, prefix="canon")
    # and at the moment of deletion, for an object that appeared after a source was registered
    through_label = S3Storage(second_profile, s3_bucket, "canon")
    doubt, _ = physical_identity_doubt(through_label, "C0001001.tif", storage_for(canon), "C0001001.tif")
    assert "canonical source 'canon'" in doubt, doubt
    # where nothing under the narrower prefix says otherwise, the label stands
    assert S3Storage(second_profile, s3_bucket, "canon/empty").overlap_with(storage_for(canon)) == ""
    # and a genuinely separate service (another moto process: one process's servers share their buckets)
    # holding other bytes under the same bucket and key
    from tests.conftest import free_port
    port = free_port()
    lab = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        settings.S3_PROFILES = {**settings.S3_PROFILES, "lab": {**settings.S3_PROFILES["moto"], "separate_service": "lab",
                                                                "endpoint_url": f"http://127.0.0.1:{port}"}}
        S3Storage("lab", s3_bucket).client.create_bucket(Bucket=s3_bucket)
        S3Storage("lab", s3_bucket).client.put_object(Bucket=s3_bucket, Key="canon/C0001001.tif", Body=b"lab bytes")
        assert S3Storage("lab", s3_bucket, "canon").overlap_with(storage_for(canon)) == ""
        assert source_add(actor=admin_user, name="lab", kind="s3", role="cleanup", storage_profile="lab",
                          bucket=s3_bucket, prefix="canon").pk
    finally:
        lab.terminate()
        lab.wait(10)


@pytest.mark.django_db
def test_no_source_can_be_registered_over_the_quarantine_area(s3_bucket, admin_user, local_root, settings):
    """An attack registered a clean-up source on the quarantine prefix: the held copies were listed as
    clean-up files, and restore and purge refused for as long as that source existed."""
    source_add(actor=admin_user, name="legacy", kind="s3", role="cleanup", storage_profile="moto", bucket=s3_bucket,
               prefix="legacy")
    for prefix in ("doppel-quarantine", "doppel-quarantine/legacy/3"):
        with pytest.raises(ValidationError, match="overlaps the quarantine area of source 'legacy'"):
            source_add(actor=admin_user, name="q", kind="s3", role="cleanup", storage_profile="moto",
                       bucket=s3_bucket, prefix=prefix)
    settings.QUARANTINE_DIR = local_root / "held"
    (local_root / "held").mkdir()
    (local_root / "old").mkdir()
    source_add(actor=admin_user, name="old", kind="local", role="cleanup", root=str(local_root / "old"))
    with pytest.raises(ValidationError, match="overlaps the quarantine area of source 'old'"):
        source_add(actor=admin_user, name="held", kind="local", role="cleanup", root=str(local_root / "held"))
    assert set(Source.objects.values_list("name", flat=True)) == {"legacy", "old"}


@pytest.mark.django_db
def test_an_access_point_alias_counts_as_the_bucket_it_serves(s3_bucket, s3_profile, s3_server, admin_user):
    import boto3

    source_add(actor=admin_user, name="canon", kind="s3", role="canonical", storage_profile="moto", bucket=s3_bucket)
    kw = dict(endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    account = boto3.client("sts", **kw).get_caller_identity()["Account"]
    from reviewapp.storage import _aws_client

    control = _aws_client("moto", "s3control")
    ap = control.create_access_point(AccountId=account, Name=f"ap{uuid.uuid4().hex[:8]}", Bucket=s3_bucket)
    assert ap["Alias"].endswith("-s3alias")
    with pytest.raises(ValidationError, match=f"same bucket '{s3_bucket}'.*access point"):
        source_add(actor=admin_user, name="via-ap", kind="s3", role="cleanup", storage_profile="moto", bucket=ap["Alias"])
    # an alias nobody can resolve is refused rather than guessed
    with pytest.raises(ValidationError, match="cannot tell which bucket"):
        source_add(actor=admin_user, name="unknown-ap", kind="s3", role="cleanup", storage_profile="moto",
                   bucket="nosuchap-0123456789abcdef0123456789ab-s3alias")
    assert list(Source.objects.values_list("name", flat=True)) == ["canon"]
    assert S3Storage("moto", ap["Alias"]).bucket_identity() == ("", s3_bucket)


# --- registration: local -------------------------------------------------------------------------


def _bind_mount(src, dst):
    """A real bind mount (we run as root); under CI a kernel that refuses is a failure."""
    r = subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True, text=True)
    require_service(r.returncode == 0, f"mount --bind ({r.stderr.strip()})")


def _umount(path):
    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.django_db
def test_a_bind_mount_of_a_canonical_subfolder_is_refused(local_root, admin_user):
    (local_root / "canon" / "box1").mkdir(parents=True)
    (local_root / "mnt").mkdir()
    source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    _bind_mount(local_root / "canon" / "box1", local_root / "mnt")
    try:
        with pytest.raises(ValidationError, match="overlaps source 'canon'.*mount table"):
            source_add(actor=admin_user, name="mnt", kind="local", role="cleanup", root=str(local_root / "mnt"))
    finally:
        _umount(local_root / "mnt")
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_a_canonical_folder_mounted_inside_a_clean_up_root_is_refused_and_never_listed(local_root, admin_user):
    (local_root / "canon").mkdir()
    (local_root / "canon" / "C1.png").write_bytes(b"canonical")
    (local_root / "cleanup" / "inside").mkdir(parents=True)
    (local_root / "cleanup" / "own.jpg").write_bytes(b"clean-up")
    source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    _bind_mount(local_root / "canon", local_root / "cleanup" / "inside")
    try:
        with pytest.raises(ValidationError, match="overlaps source 'canon'.*mount table"):
            source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
        # even an unregistered walk or lookup does not enter the mount
        store = LocalStorage(local_root / "cleanup")
        assert [i.key for i in store.list()] == ["own.jpg"]
        with pytest.raises(UnsafeKey, match="mount point"):
            store.head("inside/C1.png")
        with pytest.raises(UnsafeKey, match="mount point"):
            store.delete("inside/C1.png")
        assert (local_root / "canon" / "C1.png").read_bytes() == b"canonical"
    finally:
        _umount(local_root / "cleanup" / "inside")


MOUNTINFO_FIXTURE = r"""
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
41 22 254:0 /srv/canon/box\0401 /mnt/cleanup rw,relatime shared:1 - ext4 /dev/vda rw
42 22 0:55 / /srv/scratch rw,relatime - tmpfs tmpfs rw
43 42 254:0 /srv/canon /srv/scratch/inside rw,relatime - ext4 /dev/vda rw
garbage line
"""


def test_mount_table_parsing_finds_bind_mounts_of_subfolders_either_way():
    mounts = parse_mountinfo(MOUNTINFO_FIXTURE)
    assert [m.mount_point for m in mounts] == ["/", "/mnt/cleanup", "/srv/scratch", "/srv/scratch/inside"]
    assert mounts[1].fs_root == "/srv/canon/box 1" and mounts[1].dev == os.makedev(254, 0)
    # the bind mount of a canonical SUBfolder: neither path contains the other
    assert "mount table" in local_overlap("/mnt/cleanup", "/srv/canon", mounts)
    assert "mount table" in local_overlap("/srv/canon/box 1/deep", "/mnt/cleanup", mounts)
    # a canonical folder mounted somewhere below a proposed clean-up root
    assert "mount table" in local_overlap("/srv/scratch", "/srv/canon", mounts)
    # a sibling of the bind-mounted folder does not overlap
    assert local_overlap("/mnt/cleanup", "/srv/canon/box2", mounts) == ""
    assert local_overlap("/srv/scratch/other", "/srv/canon", mounts) == ""


@pytest.mark.django_db
def test_a_symlink_to_a_canonical_folder_or_its_parent_is_refused(local_root, admin_user):
    (local_root / "canon" / "box1").mkdir(parents=True)
    source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(local_root / "canon" / "box1"))
    (local_root / "link-to-box").symlink_to(local_root / "canon" / "box1")
    (local_root / "link-to-parent").symlink_to(local_root / "canon")
    for link in ("link-to-box", "link-to-parent"):
        with pytest.raises(ValidationError, match="overlaps source 'canon'"):
            source_add(actor=admin_user, name=link, kind="local", role="cleanup", root=str(local_root / link))
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_the_root_is_pinned_at_registration_and_every_later_use_refuses_a_swap(local_root, admin_user):
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir()
    (local_root / "canon" / "C1.png").write_bytes(b"canonical bytes")
    source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
    st = os.stat(local_root / "cleanup")
    assert cleanup.root_pin == f"{st.st_dev}:{st.st_ino}"

    # swapped for a symlink to the canonical folder
    (local_root / "cleanup").rename(local_root / "cleanup.old")
    (local_root / "cleanup").symlink_to(local_root / "canon")
    store = storage_for(Source.objects.get(name="cleanup"))
    for use in (lambda: list(store.list()), lambda: store.head("C1.png"), lambda: store.delete("C1.png"),
                lambda: store.put("x", b"y")):
        with pytest.raises(RootMoved, match="replaced"):
            use()
    # swapped for another real directory under the same name
    (local_root / "cleanup").unlink()
    (local_root / "cleanup").mkdir()
    with pytest.raises(RootMoved, match="no longer the directory pinned"):
        storage_for(Source.objects.get(name="cleanup")).head("C1.png")
    assert (local_root / "canon" / "C1.png").read_bytes() == b"canonical bytes"


def test_symlinks_inside_a_root_are_never_followed(local_root):
    (local_root / "canon" / "box").mkdir(parents=True)
    (local_root / "cleanup").mkdir()
    (local_root / "canon" / "box" / "C1.png").write_bytes(b"canonical")
    (local_root / "cleanup" / "file-link.png").symlink_to(local_root / "canon" / "box" / "C1.png")
    (local_root / "cleanup" / "dir-link").symlink_to(local_root / "canon" / "box")
    store = LocalStorage(local_root / "cleanup")
    assert [i.key for i in store.list()] == []
    with pytest.raises(ObjectMissing, match="symlink"):
        store.head("file-link.png")
    with pytest.raises(UnsafeKey, match="symlink"):
        store.head("dir-link/C1.png")
    with pytest.raises(UnsafeKey):
        store.delete("dir-link/C1.png")
    with pytest.raises(UnsafeKey):
        store.put("dir-link/new.png", b"x")
    assert sorted(os.listdir(local_root / "canon" / "box")) == ["C1.png"]


# --- at the moment of deletion: the routes of issue #12, each layer on its own ---------------------


@pytest.mark.django_db
@pytest.mark.parametrize("guards", ["all", "guard_physical_identity"])
def test_route1_a_second_profile_makes_the_canonical_object_its_own_duplicate(
        s3_bucket, second_profile, users, layers, local_root, guards):
    """Rows as they were before registration refused it: the clean-up source is the canonical
    prefix through a profile spelling the endpoint `localhost`."""
    cur, admin = users
    if guards != "all":
        layers.only(guards)
    canon = Source.objects.create(name="canon", kind="s3", role="canonical", storage_profile="moto", bucket=s3_bucket,
                                  prefix="canon/")
    alias = Source.objects.create(name="alias", kind="s3", role="cleanup", storage_profile=second_profile,
                                  bucket=s3_bucket, prefix="canon/")
    data = kept_png()
    kept = put_asset(canon, "box/C1.png", data)
    from tests.factories import AssetFactory

    info = storage_for(alias).head("box/C1.png")  # what an inventory of the alias source recorded
    same = AssetFactory(source=alias, key="box/C1.png", name="C1.png", size=info.size, etag=info.etag,
                        checksum=kept.checksum, width=SIZE[0], height=SIZE[1])
    item = execute(admin, approve(cur, same, kept))
    assert_aborted_untouched(item, "same physical object", (storage_for(canon), "box/C1.png", data))


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["bind_mount", "hard_link"])
@pytest.mark.parametrize("guards", ["all", "guard_physical_identity"])
def test_route2_a_bind_mounted_canonical_file_is_not_deleted(local_root, users, layers, route, guards):
    """The kept copy is another canonical file of the same picture; the object to delete is a
    canonical file seen through a bind mount (or a hard link). Only device/inode tells."""
    cur, admin = users
    if guards != "all":
        layers.only(guards)
    for d in ("canon/box1", "canon/master", "cleanup"):
        (local_root / d).mkdir(parents=True)
    canon = Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    jpeg = cleanup_jpeg()
    kept = put_asset(canon, "master/C1.png", kept_png())
    held = put_asset(canon, "box1/C1.jpg", jpeg)
    if route == "bind_mount":
        _bind_mount(local_root / "canon" / "box1", local_root / "cleanup")
    else:
        os.link(local_root / "canon" / "box1" / "C1.jpg", local_root / "cleanup" / "C1.jpg")
    try:
        cleanup = Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
        store = storage_for(cleanup)
        info = store.head("C1.jpg")
        assert info.identity == tuple(int(x) for x in held.inode.split(":"))
        from tests.factories import AssetFactory

        alias = AssetFactory(source=cleanup, key="C1.jpg", name="C1.jpg", size=info.size, etag=info.etag,
                             checksum=hashlib.sha256(jpeg).hexdigest(), inode=held.inode, width=SIZE[0], height=SIZE[1])
        item = execute(admin, approve(cur, alias, kept))
        assert_aborted_untouched(item, "physically the canonical object canon:box1/C1.jpg",
                                 (storage_for(canon), "box1/C1.jpg", jpeg), (storage_for(canon), "master/C1.png", kept_png()))
    finally:
        if route == "bind_mount":
            _umount(local_root / "cleanup")


@pytest.mark.django_db
@pytest.mark.parametrize("guards,reason", [
    ("all", "was replaced"),
    ("root_pin", "was replaced"),
    ("guard_physical_identity", "same physical object"),
])
def test_route3_root_swapped_for_a_symlink_after_inventory(local_root, users, layers, guards, reason):
    """`cp -p` copies share size and mtime, so the local ETag cannot tell them from the
    canonical files; after inventory the clean-up root is replaced by a symlink to the canonical
    folder. The root pin stops it; with the pin switched off, device/inode does."""
    cur, admin = users
    if guards != "all":
        layers.only(guards)
    (local_root / "canon").mkdir()
    canon = source_add(actor=admin, name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    data = kept_png()
    kept = put_asset(canon, "C1.png", data)
    (local_root / "cleanup").mkdir()
    shutil.copy2(local_root / "canon" / "C1.png", local_root / "cleanup" / "C1.png")  # cp -p
    cleanup = source_add(actor=admin, name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
    info = storage_for(cleanup).head("C1.png")
    assert info.etag == kept.etag  # the cp -p copy looks the same by size + mtime
    from tests.factories import AssetFactory

    copy = AssetFactory(source=cleanup, key="C1.png", name="C1.png", size=info.size, etag=info.etag,
                        checksum=hashlib.sha256(data).hexdigest(), inode=":".join(map(str, info.identity)),
                        width=SIZE[0], height=SIZE[1])
    decision = approve(cur, copy, kept)
    (local_root / "cleanup").rename(local_root / "cleanup.old")
    (local_root / "cleanup").symlink_to(local_root / "canon")
    item = execute(admin, decision)
    assert_aborted_untouched(item, reason, (storage_for(canon), "C1.png", data))
    assert (local_root / "cleanup.old" / "C1.png").read_bytes() == data
    assert ReviewItem.objects.get(asset=copy).status == ReviewItem.Status.OPEN  # back in review
    if guards == "guard_physical_identity":  # the admin is told which physical object: device/inode
        dev, ino = storage_for(canon).head("C1.png").identity
        item.refresh_from_db()
        assert item.reason == f"the kept copy and the object to delete are the same physical object ({dev}/{ino})"


@pytest.mark.django_db
def test_route4_a_clean_up_root_inside_a_canonical_folder_is_refused_before_its_inventory(local_root, users, layers):
    """Rows as they were before registration refused it: the clean-up root is a folder inside the
    canonical root, and the canonical inventory has not listed the file yet (no canonical row
    with its device/inode). With only the physical-identity guard on, the overlap of the two
    locations alone stops the deletion."""
    cur, admin = users
    layers.only("guard_physical_identity")
    (local_root / "canon" / "incoming").mkdir(parents=True)
    canon = Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    inner = Source.objects.create(name="inner", kind="local", role="cleanup", root=str(local_root / "canon" / "incoming"))
    kept = put_asset(canon, "C1.png", kept_png())
    jpeg = cleanup_jpeg()
    gone = put_asset(inner, "C1.jpg", jpeg)
    assert not Asset.objects.filter(source=canon, inode=gone.inode).exists()
    item = execute(admin, approve(cur, gone, kept))
    assert_aborted_untouched(item, "the object to delete can be reached through canonical source 'canon'",
                             (storage_for(inner), "C1.jpg", jpeg), (storage_for(canon), "C1.png", kept_png()))
    assert (local_root / "canon" / "incoming" / "C1.jpg").read_bytes() == jpeg


def _resaved_same_size(original: bytes) -> bytes:
    """The same picture saved again as PNG with other settings, padded with a text chunk to the
    original's byte count: same pixels, same size, different bytes."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    img = Image.open(io.BytesIO(original))
    img.load()
    for level in (9, 6, 3):
        bare = img_bytes(img, "PNG", compress_level=level)
        room = len(original) - len(bare) - 12 - len("pad") - 1
        if room >= 0:
            info = PngInfo()
            info.add_text("pad", "x" * room)
            out = img_bytes(img, "PNG", compress_level=level, pnginfo=info)
            if len(out) == len(original) and out != original:
                return out
    pytest.fail("could not make a same-size re-save")


@pytest.mark.django_db
@pytest.mark.parametrize("guards", ["all", "guard_content"])
def test_local_object_replaced_by_a_resave_of_the_same_picture_with_the_same_size_and_mtime(
        local_root, users, layers, guards):
    """Only the recomputed sha256 catches this one: the ETag (size + mtime) is unchanged and the
    pair still verifies, because it is the same picture."""
    cur, admin = users
    if guards != "all":
        layers.only(guards)
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir()
    canon = Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    cleanup = Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
    original = img_bytes(photo("astronaut", size=SIZE), "PNG", compress_level=1)
    kept = put_asset(canon, "C1.png", kept_png())
    gone = put_asset(cleanup, "C1.png", original)
    decision = approve(cur, gone, kept)
    path = local_root / "cleanup" / "C1.png"
    st = os.stat(path)
    replacement = _resaved_same_size(original)
    path.write_bytes(replacement)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    now = storage_for(cleanup).head("C1.png")
    assert now.etag == gone.etag  # size + mtime cannot see it
    item = execute(admin, decision)
    assert_aborted_untouched(item, "sha256", (storage_for(cleanup), "C1.png", replacement),
                             (storage_for(canon), "C1.png", kept_png()))


@pytest.mark.django_db
@pytest.mark.parametrize("guards", ["all", "guard_content"])
def test_s3_object_replaced_by_a_resave_of_the_same_picture(s3_bucket, s3_profile, users, layers, local_root, guards):
    cur, admin = users
    if guards != "all":
        layers.only(guards)
    canon = Source.objects.create(name="canon", kind="s3", role="canonical", storage_profile="moto", bucket=s3_bucket,
                                  prefix="canon/")
    cleanup = Source.objects.create(name="cleanup", kind="s3", role="cleanup", storage_profile="moto", bucket=s3_bucket,
                                    prefix="cleanup/")
    kept = put_asset(canon, "C1.png", kept_png())
    gone = put_asset(cleanup, "C1.jpg", cleanup_jpeg())
    decision = approve(cur, gone, kept)
    resaved = img_bytes(photo("astronaut", size=SIZE), "JPEG", quality=91)
    storage_for(cleanup).put("C1.jpg", resaved)
    item = execute(admin, decision)
    assert_aborted_untouched(item, "ETag", (storage_for(cleanup), "C1.jpg", resaved), (storage_for(canon), "C1.png", kept_png()))


def test_s3_copy_is_conditional_on_the_etag(s3_bucket, s3_profile, settings):
    store = S3Storage("moto", s3_bucket, "cleanup")
    info = store.put("a.jpg", b"one")
    store.put("a.jpg", b"two")
    with pytest.raises(ObjectChanged):
        store.copy_to("a.jpg", S3Storage("moto", s3_bucket, "q"), "a.jpg", if_etag=info.etag)
    assert not S3Storage("moto", s3_bucket, "q").exists("a.jpg")


# --- undo, claims and plans ------------------------------------------------------------------------


@pytest.fixture
def local_pair_sources(db, local_root):
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir(exist_ok=True)
    canon = Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon"))
    cleanup = Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup"))
    return cleanup, canon


def _pair(sources, cur, n):
    cleanup, canon = sources
    kept = put_asset(canon, f"C{n}.png", kept_png())
    gone = put_asset(cleanup, f"C{n}.jpg", cleanup_jpeg())
    return approve(cur, gone, kept)


def test_undo_is_refused_once_a_confirmed_plan_holds_the_decision(local_pair_sources, users):
    cur, admin = users
    d = _pair(local_pair_sources, cur, 1)
    plan = checked_plan(actor=admin, decisions=[d])
    DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.CONFIRMED)
    with pytest.raises(ReviewRefused, match=f"deletion plan #{plan.pk}.*confirmed by an admin"):
        decision_undo(actor=cur, decision=d)
    assert not Decision.objects.filter(undoes=d).exists()
    assert plan.items.get().state == DeletionItem.State.PLANNED


def test_a_claimed_item_is_left_alone_by_a_second_executor_and_blocks_undo(local_pair_sources, users):
    cur, admin = users
    d = _pair(local_pair_sources, cur, 1)
    plan = checked_plan(actor=admin, decisions=[d])
    item = plan.items.get()
    from reviewapp.models import Job
    from reviewapp.services import jobs

    # an earlier run that has finished: only the holder's own state decides a takeover
    earlier = jobs.job_create(actor=admin, kind=Job.Kind.DELETE, params={"plan_id": plan.pk}, idempotency_key="earlier")
    Job.objects.filter(pk=earlier.pk).update(state=Job.State.DONE)
    first = jobs.job_create(actor=admin, kind=Job.Kind.DELETE, params={"plan_id": plan.pk})
    Job.objects.filter(pk=first.pk).update(state=Job.State.RUNNING)
    claimed = executor._claim(item.pk, actor=admin, job_id=first.pk)
    assert claimed.state == DeletionItem.State.EXECUTING
    # a second executor run does not touch it
    second = jobs.job_create(actor=admin, kind=Job.Kind.DELETE, params={"plan_id": plan.pk}, idempotency_key="second")
    after = svc.deletion_item_execute(actor=admin, item=item, job_id=second.pk)
    assert after.state == DeletionItem.State.EXECUTING and after.claimed_by_job_id == first.pk
    assert storage_for(d.asset.source).exists(d.asset.key)
    # undo is refused while it is claimed, even with the confirmed-plan rule switched off
    with pytest.raises(ReviewRefused, match="too late to undo"):
        decision_undo(actor=cur, decision=d)
    # a new plan does not take the decision again
    with pytest.raises(ValidationError):
        checked_plan(actor=admin, decisions=[d])
    # once the holder is finished (a killed worker superseded by a resume) the item is taken over
    Job.objects.filter(pk=first.pk).update(state=Job.State.FAILED)
    done = svc.deletion_item_execute(actor=admin, item=item, job_id=second.pk)
    assert done.state == DeletionItem.State.QUARANTINED, done.reason
    assert not storage_for(d.asset.source).exists(d.asset.key)


ROUNDS = {"on": 5, "off": 20}  # with the rule on the undo always loses: a few rounds show it


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("plan_rule", ["on", "off"])
def test_undo_racing_execution_ends_deleted_and_recorded_or_not_deleted(local_root, layers, plan_rule):
    """Undo and the executor started together, ROUNDS times, on PostgreSQL (row locks are what
    is tested). With the confirmed-plan rule off, the plan is confirmed but the undo may still
    win the review item's lock: the claim alone must keep the outcome whole."""
    from django.db import connections

    from tests.factories import UserFactory

    require_service(connection.vendor == "postgresql", "PostgreSQL test database (set CI=true or DATABASE_URL)")
    if plan_rule == "off":
        layers.off("undo_plan_rule")
    cur, admin = UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir()
    sources = (Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup")),
               Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon")))
    outcomes = {"deleted": 0, "not_deleted": 0}
    for n in range(ROUNDS[plan_rule]):
        d = _pair(sources, cur, n)
        plan = checked_plan(actor=admin, decisions=[d])
        DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.CONFIRMED, confirmed_by=admin)
        item = plan.items.get()
        barrier = threading.Barrier(2)
        results = {}

        def run_executor():
            try:
                barrier.wait()
                results["exec"] = svc.deletion_item_execute(actor=admin, item=item).state
            except Exception as exc:  # noqa: BLE001
                results["exec"] = exc
            finally:
                connections.close_all()

        def run_undo():
            try:
                barrier.wait()
                time.sleep((n % 5) * 0.02)  # spread the undo over the executor's steps
                results["undo"] = decision_undo(actor=cur, decision=d)
            except Exception as exc:  # noqa: BLE001
                results["undo"] = exc
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run_executor), threading.Thread(target=run_undo)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        item.refresh_from_db()
        there = storage_for(d.asset.source).exists(d.asset.key)
        undone = Decision.objects.filter(undoes=d).exists()
        audited = AuditEntry.objects.filter(item=item, action="quarantine").exists()
        if item.state == DeletionItem.State.QUARANTINED:
            # deleted and recorded: in quarantine, audited, and the undo was refused
            assert not there and audited and not undone, (n, results)
            assert isinstance(results["undo"], ReviewRefused), (n, results)
            target = svc.quarantine_target(item)
            assert target.storage.read_bytes(target.key) == cleanup_jpeg()
            outcomes["deleted"] += 1
        else:
            # not deleted: the object at its key, nothing in quarantine, no quarantine record
            assert item.state == DeletionItem.State.ABORTED, (n, item.state, results)
            assert there and not audited, (n, results)
            assert not svc.quarantine_target(item).storage.exists(d.asset.key)
            if undone:
                assert ReviewItem.objects.get(pk=d.review_item_id).status == ReviewItem.Status.OPEN
            outcomes["not_deleted"] += 1
        assert not isinstance(results.get("exec"), Exception), results
    print(f"undo vs execution, plan rule {plan_rule}: {outcomes}")
    assert sum(outcomes.values()) == ROUNDS[plan_rule]
    if plan_rule == "on":
        assert outcomes["not_deleted"] == 0  # a confirmed plan's decision cannot be undone


@pytest.mark.django_db(transaction=True)
def test_an_undo_started_while_the_claim_is_taken_waits_for_it_and_is_refused(local_root, layers, monkeypatch):
    """The claim holds the review item's row lock from before it reads the item until it commits
    `executing`. An undo started meanwhile waits on that lock, then finds the deletion running and
    is refused: the object is deleted under a decision that still stands. Shown with the undo's own
    lock on the items (the confirmed-plan rule) and the executor's decision guard off, so that the
    claim's lock is all that keeps the two apart; without it the undo reads the item still planned
    and commits, and the executor deletes the object of an undone decision. On PostgreSQL (SQLite
    has no row locks)."""
    from django.db import connections

    from tests.factories import ReviewItemFactory, UserFactory

    require_service(connection.vendor == "postgresql", "PostgreSQL test database (set CI=true or DATABASE_URL)")
    layers.off("undo_plan_rule", "guard_decision_stands")
    cur_a, cur_c = UserFactory(role="curator", username="cur-a"), UserFactory(role="curator", username="cur-c")
    admin = UserFactory(role="admin", username="boss")
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir()
    sources = (Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup")),
               Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon")))
    a = _pair(sources, cur_a, 1)
    ReviewItemFactory()  # review item ids now run one ahead of the items' in one of the two pairs
    c = _pair(sources, cur_c, 2)
    plan = checked_plan(actor=admin, decisions=[a, c])
    DeletionPlan.objects.filter(pk=plan.pk).update(state=DeletionPlan.State.CONFIRMED, confirmed_by=admin)
    # a lock taken on the review item whose id is the deletion item's must not hit the right row by chance
    item = next(i for i in plan.items.select_related("decision__actor") if i.pk != i.decision.review_item_id)
    d, cur = item.decision, item.decision.actor

    claiming = threading.Event()
    real_stands = executor.decision_stands

    def stands_slowly(decision):
        # called inside the claim's transaction, after its locks: hold them while the undo starts
        claiming.set()
        time.sleep(1.0)
        return real_stands(decision)

    monkeypatch.setattr(executor, "decision_stands", stands_slowly)
    results = {}

    def run_executor():
        try:
            results["exec"] = svc.deletion_item_execute(actor=admin, item=item).state
        except Exception as exc:  # noqa: BLE001
            results["exec"] = exc
        finally:
            claiming.set()  # a claim that failed before its locks lets the undo go (and the test fail) at once
            connections.close_all()

    def run_undo():
        try:
            assert claiming.wait(60), "the claim never started"
            results["undo"] = decision_undo(actor=cur, decision=d)
        except Exception as exc:  # noqa: BLE001
            results["undo"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_executor), threading.Thread(target=run_undo)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.QUARANTINED, (item.reason, results)
    assert isinstance(results["undo"], ReviewRefused) and "too late to undo" in str(results["undo"]), results
    assert not Decision.objects.filter(undoes=d).exists()
    review = ReviewItem.objects.get(pk=d.review_item_id)
    assert (review.status, review.last_decision_id) == (ReviewItem.Status.DECIDED, d.pk)
    assert not storage_for(d.asset.source).exists(d.asset.key)
    assert AuditEntry.objects.filter(item=item, action="quarantine").count() == 1
    target = svc.quarantine_target(item)
    assert target.storage.read_bytes(target.key) == cleanup_jpeg()


# --- restore and purge by content ------------------------------------------------------------------


@pytest.fixture
def quarantined(local_pair_sources, users):
    cur, admin = users
    d = _pair(local_pair_sources, cur, 1)
    item = execute(admin, d)
    assert item.state == DeletionItem.State.QUARANTINED, item.reason
    assert item.quarantine_checksum == "sha256:" + hashlib.sha256(cleanup_jpeg()).hexdigest()
    return item, admin


def test_restore_refuses_an_occupied_key_of_the_same_size_and_keeps_the_quarantine_copy(quarantined):
    item, admin = quarantined
    src = storage_for(item.asset.source)
    squatter = bytes(b ^ 0xFF for b in cleanup_jpeg())  # same size, other content
    src.put(item.asset.key, squatter)
    with pytest.raises(ValidationError, match="content differs.*quarantine copy is kept"):
        svc.deletion_restore(actor=admin, item=item)
    item.refresh_from_db()
    target = svc.quarantine_target(item)
    assert item.state == DeletionItem.State.QUARANTINED
    assert target.storage.read_bytes(target.key) == cleanup_jpeg()
    assert src.read_bytes(item.asset.key) == squatter
    assert not AuditEntry.objects.filter(item=item, action="restore").exists()


def test_restore_over_its_own_earlier_copy_completes(quarantined):
    item, admin = quarantined
    src = storage_for(item.asset.source)
    src.put(item.asset.key, cleanup_jpeg())  # a crashed restore already copied it back
    assert svc.deletion_restore(actor=admin, item=item).state == DeletionItem.State.RESTORED
    assert src.read_bytes(item.asset.key) == cleanup_jpeg()


def test_a_restore_that_another_restore_of_the_item_finished_first_is_answered_as_done(quarantined, monkeypatch):
    """A restore clicked twice: the second read the item quarantined, then found the quarantine copy gone
    because the first had restored it and removed the copy. It answered "the quarantine copy is gone; it
    cannot be restored", or a 500 where both wrote the object back through one temp file name."""
    import reviewapp.services.deletion.quarantine as quarantine

    item, admin = quarantined
    original, calls = quarantine.quarantine_target, []

    def first_one_finishes_meanwhile(it):
        calls.append(it.pk)
        if len(calls) == 1:                     # the second request, between its read and its copy
            assert svc.deletion_restore(actor=admin, item=it).state == DeletionItem.State.RESTORED
        return original(it)

    monkeypatch.setattr(quarantine, "quarantine_target", first_one_finishes_meanwhile)
    assert svc.deletion_restore(actor=admin, item=item).state == DeletionItem.State.RESTORED
    assert len(calls) == 2
    assert storage_for(item.asset.source).read_bytes(item.asset.key) == cleanup_jpeg()
    assert AuditEntry.objects.filter(item=item, action="restore").count() == 1


def test_a_purge_that_runs_while_a_restore_copies_the_object_back_leaves_it_restored_and_in_review(quarantined,
                                                                                                  monkeypatch):
    """Retention ran out while an admin restored the file: the purge removed the quarantine copy after the
    restore had copied it back. The item stayed "purged" and the file out of review, though it was back."""
    import reviewapp.services.deletion.quarantine as quarantine

    item, admin = quarantined
    original = quarantine.quarantine_target

    def purged_once_copied_back(it):
        target = original(it)
        copy_to = target.storage.copy_to

        def copy_then_purge(*args, **kwargs):
            out = copy_to(*args, **kwargs)
            assert svc.deletion_item_purge(actor=admin, item=it).state == DeletionItem.State.PURGED
            return out
        target.storage.copy_to = copy_then_purge
        return target

    monkeypatch.setattr(quarantine, "quarantine_target", purged_once_copied_back)
    assert svc.deletion_restore(actor=admin, item=item).state == DeletionItem.State.RESTORED
    item.refresh_from_db()
    assert item.state == DeletionItem.State.RESTORED
    assert storage_for(item.asset.source).read_bytes(item.asset.key) == cleanup_jpeg()
    assert ReviewItem.objects.get(asset=item.asset).status == ReviewItem.Status.OPEN
    assert Asset.objects.get(pk=item.asset.pk).state != Asset.State.VANISHED


def test_purge_deletes_only_the_copy_that_was_quarantined(quarantined):
    item, admin = quarantined
    target = svc.quarantine_target(item)
    target.storage.put(target.key, b"something else entirely")
    with pytest.raises(ObjectChanged, match="purge refused"):
        svc.deletion_item_purge(actor=admin, item=item)
    item.refresh_from_db()
    assert item.state == DeletionItem.State.QUARANTINED and target.storage.exists(target.key)
    assert not AuditEntry.objects.filter(item=item, action="purge").exists()
    # the purge job reports it as failed and keeps going
    DeletionItem.objects.filter(pk=item.pk).update(purge_after="2000-01-01T00:00:00Z")
    assert svc.deletion_purge_due() == {"purged": 0, "locked": 0, "failed": 1}
    # the real copy back: purged
    target.storage.put(target.key, cleanup_jpeg())
    assert svc.deletion_item_purge(actor=admin, item=item).state == DeletionItem.State.PURGED
    assert not target.storage.exists(target.key)


@pytest.mark.django_db(transaction=True)
def test_two_executors_on_one_item_quarantine_it_exactly_once(local_root):
    """Two runs (two jobs) started together on the same item, a few rounds on PostgreSQL: one
    claims it and quarantines it, the other leaves it alone; one audit row, one quarantine copy."""
    from django.db import connections

    from reviewapp.models import Job
    from reviewapp.services import jobs
    from tests.factories import UserFactory

    require_service(connection.vendor == "postgresql", "PostgreSQL test database (set CI=true or DATABASE_URL)")
    cur, admin = UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")
    for d in ("canon", "cleanup"):
        (local_root / d).mkdir()
    sources = (Source.objects.create(name="cleanup", kind="local", role="cleanup", root=str(local_root / "cleanup")),
               Source.objects.create(name="canon", kind="local", role="canonical", root=str(local_root / "canon")))
    for n in range(5):
        d = _pair(sources, cur, n)
        plan = checked_plan(actor=admin, decisions=[d])
        item = plan.items.get()
        runs = [jobs.job_create(actor=admin, kind=Job.Kind.DELETE, params={"plan_id": plan.pk}, idempotency_key=f"r{n}-{k}")
                for k in range(2)]
        Job.objects.filter(pk__in=[j.pk for j in runs]).update(state=Job.State.RUNNING)
        barrier = threading.Barrier(2)
        errors = []

        def run(job_id):
            try:
                barrier.wait()
                svc.deletion_item_execute(actor=admin, item=item, job_id=job_id)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(j.pk,)) for j in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        item.refresh_from_db()
        assert not errors, errors
        assert item.state == DeletionItem.State.QUARANTINED, item.reason
        assert item.claimed_by_job_id in {j.pk for j in runs}
        assert AuditEntry.objects.filter(item=item, action="quarantine").count() == 1
        assert not AuditEntry.objects.filter(item=item, action="abort").exists()
        assert not storage_for(d.asset.source).exists(d.asset.key)
        target = svc.quarantine_target(item)
        assert target.storage.read_bytes(target.key) == cleanup_jpeg()

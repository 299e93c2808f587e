import os

import pytest

from reviewapp.storage import LocalStorage, ObjectChanged, ObjectMissing, S3Storage, UnsafeKey, check_key


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../x", "a/../../b", "a\\b", "a/./b", "x\x00y"])
def test_check_key_refuses_escapes(bad):
    with pytest.raises(UnsafeKey):
        check_key(bad)


def test_check_key_normalises_plain_keys():
    assert check_key("a/b/C1234.tif") == "a/b/C1234.tif"


def test_local_storage_roundtrip_and_conditional_delete(tmp_path):
    st = LocalStorage(tmp_path)
    info = st.put("x/y.jpg", b"hello")
    assert [o.key for o in st.list()] == ["x/y.jpg"]
    assert st.head("x/y.jpg").etag == info.etag
    with pytest.raises(ObjectChanged):
        st.delete("x/y.jpg", if_etag="nope")
    st.delete("x/y.jpg", if_etag=info.etag)
    with pytest.raises(ObjectMissing):
        st.head("x/y.jpg")


def test_local_storage_refuses_symlink_escape(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    st = LocalStorage(root)
    with pytest.raises(UnsafeKey):
        st.head("link/secret.jpg")
    assert list(st.list()) == []


@pytest.mark.services
def test_s3_storage_against_moto_server(s3_profile, s3_bucket):
    s3_profile.put_object(Bucket=s3_bucket, Key="pre/a.jpg", Body=b"abc")
    s3_profile.put_object(Bucket=s3_bucket, Key="pre/sub/b.tif", Body=b"defg")
    s3_profile.put_object(Bucket=s3_bucket, Key="other/c.jpg", Body=b"zz")
    st = S3Storage("moto", s3_bucket, "pre")
    objs = {o.key: o for o in st.list()}
    assert set(objs) == {"a.jpg", "sub/b.tif"}
    assert objs["sub/b.tif"].size == 4
    with st.fetch("a.jpg") as p:
        assert open(p, "rb").read() == b"abc"
    quarantine = S3Storage("moto", s3_bucket, "q")
    with pytest.raises(ObjectChanged):
        st.copy_to("a.jpg", quarantine, "a.jpg", if_etag="0" * 32)
    st.copy_to("a.jpg", quarantine, "a.jpg", if_etag=objs["a.jpg"].etag)
    assert quarantine.head("a.jpg").size == 3
    st.delete("a.jpg", if_etag=objs["a.jpg"].etag)
    assert not st.exists("a.jpg")


# --- backend behaviour behind Storage (issue 15 item 5): services ask the storage, never the kind ---


def test_each_source_kind_names_its_backend_and_an_unknown_kind_is_an_error():
    from reviewapp.models import Source
    from reviewapp.storage import BACKENDS, StorageError, backend

    assert set(BACKENDS) == set(Source.Kind.values)
    assert backend("local") is LocalStorage and backend("s3") is S3Storage
    with pytest.raises(StorageError, match="unknown storage kind 'ftp'"):
        backend("ftp")
    # a source's location reads as its backend spells it (no I/O: the directory need not exist)
    assert Source(kind="s3", bucket="b", prefix="p/").location == "s3://b/p/"
    assert Source(kind="local", root="/nowhere/scans").location == "/nowhere/scans"


def test_what_a_backend_has_is_asked_of_its_class():
    assert (S3Storage.archive_tiers, S3Storage.storage_classes, S3Storage.inventory_reports) == (True, True, True)
    assert (LocalStorage.archive_tiers, LocalStorage.storage_classes, LocalStorage.inventory_reports) == (False, False, False)


def test_a_directory_has_no_object_lock_no_versions_and_no_inventory_reports(tmp_path):
    from reviewapp.storage import StorageError

    st = LocalStorage(tmp_path)
    st.put("a.jpg", b"x")
    assert st.lock_status("a.jpg") == ""
    assert st.delete_every_version("a.jpg") is None  # deleted as delete() does
    assert not st.exists("a.jpg")
    with pytest.raises(StorageError, match="no inventory reports"):
        list(st.inventory_listing("s3://b/manifest.json"))


def test_settings_text_names_a_location_of_either_backend(tmp_path, settings):
    from reviewapp.storage import StorageError, location_from_text

    settings.S3_PROFILES = {"p": {}}
    store, spelling = location_from_text(f"local:{tmp_path}/ingest", what="X")
    assert isinstance(store, LocalStorage) and spelling == f"local:{tmp_path}/ingest"
    assert store.display_location == f"local:{(tmp_path / 'ingest').resolve()}"
    store, spelling = location_from_text("s3:p:bucket/in", what="X")
    assert isinstance(store, S3Storage) and (store.bucket, store.prefix) == ("bucket", "in/")
    assert spelling == "s3:p:bucket/in" and store.display_location == "s3://bucket/in/"
    for bad in ("ftp://nowhere", "s3:p", "s3::bucket/x", "local:", ""):
        with pytest.raises(StorageError, match="X is not valid"):
            location_from_text(bad, what="X")
    with pytest.raises(StorageError, match="X names unknown storage profile 'q'"):
        location_from_text("s3:q:bucket/x", what="X")


def test_only_a_directory_is_bounded_by_the_allowed_roots(tmp_path):
    allowed = tmp_path / "allowed"
    assert LocalStorage(allowed / "x").within_roots([allowed.resolve()])
    assert not LocalStorage(tmp_path / "elsewhere").within_roots([allowed.resolve()])
    assert S3Storage("p", "bucket").within_roots([allowed.resolve()])


def test_registration_checks_each_backends_own_fields_and_names_the_one_at_fault(tmp_path, settings):
    from reviewapp.storage import BadLocation

    settings.LOCAL_ROOTS = [tmp_path.resolve()]
    settings.S3_PROFILES = {"p": {}}
    (tmp_path / "src").mkdir()
    fields = LocalStorage.registration_fields(root=str(tmp_path / "src"))
    st = (tmp_path / "src").stat()
    assert fields == {"root": str((tmp_path / "src").resolve()), "root_pin": f"{st.st_dev}:{st.st_ino}"}
    for kwargs, field in (({"root": "/etc"}, "root"), ({"root": str(tmp_path / "missing")}, "root")):
        with pytest.raises(BadLocation) as err:
            LocalStorage.registration_fields(**kwargs)
        assert err.value.field == field
    assert S3Storage.registration_fields(storage_profile="p", bucket="my-bucket", prefix="/a/b") == {
        "storage_profile": "p", "bucket": "my-bucket", "prefix": "a/b/"}
    for kwargs, field in (({"storage_profile": "nope", "bucket": "my-bucket"}, "storage_profile"),
                          ({"storage_profile": "p", "bucket": "Not_A_Bucket"}, "bucket"),
                          ({"storage_profile": "p", "bucket": "my-bucket", "prefix": "a/../b"}, "prefix")):
        with pytest.raises(BadLocation) as err:
            S3Storage.registration_fields(**kwargs)
        assert err.value.field == field


def test_s3_storages_share_one_client_per_profile_settings_and_factory(settings, monkeypatch):
    from reviewapp import storage as storage_mod

    built = []
    monkeypatch.setattr(storage_mod, "s3_client", lambda profile: built.append(profile) or object())
    settings.S3_PROFILES = {"p": {"region_name": "us-east-1"}, "q": {}}
    a, b, other = S3Storage("p", "b1"), S3Storage("p", "b2", "x"), S3Storage("q", "b1")
    assert a.client is b.client and other.client is not a.client
    assert built == ["p", "q"]
    settings.S3_PROFILES = {"p": {"region_name": "eu-west-1"}, "q": {}}  # changed settings: a new client
    assert S3Storage("p", "b1").client is not a.client and built == ["p", "q", "p"]


@pytest.mark.services
def test_object_lock_and_every_version_are_the_s3_storages_own(s3_profile, s3_bucket):
    s3_profile.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    st = S3Storage("moto", s3_bucket, "pre")
    st.put("a.jpg", b"one")
    st.put("a.jpg", b"two")
    assert st.lock_status("a.jpg") == ""  # no Object Lock on this bucket
    assert st.lock_status("missing.jpg") == ""  # a missing object has no lock
    assert st.delete_every_version("a.jpg") == 2
    assert s3_profile.list_object_versions(Bucket=s3_bucket, Prefix="pre/a.jpg").get("Versions", []) == []


# ---------------------------------------------------------------------------------------------
# Identity and content proof, directly (issue #19: the deletion tests reach these only through
# the executor, where another layer may hide a broken one)


def test_local_object_identity_is_device_and_inode_shared_by_a_hard_link_not_by_a_copy(tmp_path):
    import os
    import shutil

    st = LocalStorage(tmp_path)
    st.put("a.jpg", b"bytes")
    os.link(tmp_path / "a.jpg", tmp_path / "link.jpg")
    shutil.copy2(tmp_path / "a.jpg", tmp_path / "copy.jpg")
    s = os.stat(tmp_path / "a.jpg")
    assert st.object_identity("a.jpg") == ("local", s.st_dev, s.st_ino)
    assert st.object_identity("link.jpg") == st.object_identity("a.jpg")
    assert st.object_identity("copy.jpg") != st.object_identity("a.jpg")
    with pytest.raises(ObjectMissing):
        st.object_identity("nothing.jpg")


def test_local_confirm_unchanged_recomputes_the_sha256_not_size_and_time(tmp_path):
    import hashlib
    import os

    st = LocalStorage(tmp_path)
    st.put("a.jpg", b"one!")
    digest = hashlib.sha256(b"one!").hexdigest()
    before = os.stat(tmp_path / "a.jpg")
    info = st.confirm_unchanged("a.jpg", etag="ignored", checksum=digest)
    assert (info.key, info.size, info.etag) == ("a.jpg", 4, st.head("a.jpg").etag)
    assert st.confirm_unchanged("a.jpg", etag="", checksum="sha256:" + digest).key == "a.jpg"
    with pytest.raises(ObjectChanged, match="no sha256 was recorded"):
        st.confirm_unchanged("a.jpg", etag=info.etag, checksum="")
    # same size, same mtime, other bytes: the ETag cannot see it, the sha256 does
    (tmp_path / "a.jpg").write_bytes(b"two!")
    os.utime(tmp_path / "a.jpg", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert st.head("a.jpg").etag == info.etag
    now = hashlib.sha256(b"two!").hexdigest()
    with pytest.raises(ObjectChanged) as changed:
        st.confirm_unchanged("a.jpg", etag=info.etag, checksum=digest)
    assert str(changed.value) == f"a.jpg: its content changed since it was analysed (sha256 {digest[:12]}… → {now[:12]}…)"
    assert (tmp_path / "a.jpg").read_bytes() == b"two!"


def test_local_tokens_are_the_sha256_of_the_bytes(tmp_path):
    import hashlib

    st = LocalStorage(tmp_path)
    st.put("a.jpg", b"abc")
    assert st.content_token("a.jpg") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    assert st.recorded_token(etag="e", checksum="c0ffee") == "sha256:c0ffee"


def test_local_copy_and_delete_are_conditional_on_etag_and_identity(tmp_path):
    import os
    import time

    st, q = LocalStorage(tmp_path / "src"), LocalStorage(tmp_path / "q")
    info = st.put("a.jpg", b"abc")
    ident = st.object_identity("a.jpg")
    copied = st.copy_to("a.jpg", q, "a.jpg", if_etag=info.etag)
    assert q.read_bytes("a.jpg") == b"abc" and copied.size == 3
    assert os.stat(tmp_path / "q" / "a.jpg").st_mtime_ns == os.stat(tmp_path / "src" / "a.jpg").st_mtime_ns
    with pytest.raises(ObjectChanged):
        st.copy_to("a.jpg", q, "b.jpg", if_etag="other")
    assert not q.exists("b.jpg")
    # another file at the same key (new inode, same etag forced by size+mtime)
    st_before = os.stat(tmp_path / "src" / "a.jpg")
    os.replace(tmp_path / "src" / "a.jpg", tmp_path / "src" / "old.jpg")
    (tmp_path / "src" / "a.jpg").write_bytes(b"xyz")
    os.utime(tmp_path / "src" / "a.jpg", ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    assert st.head("a.jpg").etag == info.etag
    with pytest.raises(ObjectChanged, match="device/inode"):
        st.delete("a.jpg", if_etag=info.etag, if_identity=ident)
    assert st.read_bytes("a.jpg") == b"xyz"
    with pytest.raises(ObjectChanged, match="^old.jpg changed since it was checked$"):
        st.delete("old.jpg", if_etag="other")
    with pytest.raises(ObjectChanged, match="^a.jpg changed since it was checked$"):
        st.copy_to("a.jpg", q, "c.jpg", if_etag="other")
    time.sleep(0.01)
    st.delete("old.jpg", if_etag=info.etag, if_identity=ident)
    assert not st.exists("old.jpg")
    with pytest.raises(ObjectMissing, match="^no such file: old.jpg$"):
        st.delete("old.jpg")


def test_local_delete_removes_only_regular_files_never_a_symlink_or_what_it_points_to(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside.jpg").write_bytes(b"keep")
    (tmp_path / "root" / "real.jpg").write_bytes(b"real")
    (tmp_path / "root" / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    (tmp_path / "root" / "inner.jpg").symlink_to(tmp_path / "root" / "real.jpg")
    st = LocalStorage(tmp_path / "root")
    for key in ("link.jpg", "inner.jpg"):
        with pytest.raises(ObjectMissing, match=f"^not a regular file: {key}$"):
            st.delete(key)
    assert (tmp_path / "root" / "link.jpg").is_symlink() and (tmp_path / "root" / "inner.jpg").is_symlink()
    assert (tmp_path / "outside.jpg").read_bytes() == b"keep" and (tmp_path / "root" / "real.jpg").read_bytes() == b"real"


def test_local_overlap_is_containment_either_way_or_nothing(tmp_path):
    for d in ("canon/box", "cleanup", "canonical-2"):
        (tmp_path / d).mkdir(parents=True)
    canon = LocalStorage(tmp_path / "canon")
    assert canon.overlap_with(LocalStorage(tmp_path / "canon" / "box")) == "the directories contain one another"
    assert LocalStorage(tmp_path / "canon" / "box").overlap_with(canon) == "the directories contain one another"
    assert canon.overlap_with(LocalStorage(tmp_path / "cleanup")) == ""
    assert canon.overlap_with(LocalStorage(tmp_path / "canonical-2")) == ""  # a name prefix is not a parent
    assert canon.overlap_with(S3Storage("moto", "bucket", "canon")) == ""
    assert canon.around("box/a.jpg").root == (tmp_path / "canon" / "box").resolve()


MOUNTS = """
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
41 22 254:0 /srv/canon/box1 /mnt/cleanup rw,relatime shared:1 - ext4 /dev/vda rw
42 22 0:55 / /srv/scratch rw,relatime - tmpfs tmpfs rw
43 42 254:0 /srv/canon /srv/scratch/inside rw,relatime - ext4 /dev/vda rw
44 22 0:77 /srv/canon /srv/other-disk rw,relatime - ext4 /dev/vdb rw
"""


def test_local_overlap_by_the_mount_table_needs_the_same_device_and_nested_paths():
    from reviewapp.storage import local_overlap, parse_mountinfo

    mounts = parse_mountinfo(MOUNTS)
    same = "the mount table shows both reach the same files (device 254:0, "
    assert local_overlap("/mnt/cleanup", "/srv/canon", mounts) == same + "/srv/canon/box1 and /srv/canon)"
    assert local_overlap("/srv/canon", "/mnt/cleanup/deep", mounts) == same + "/srv/canon and /srv/canon/box1/deep)"
    assert local_overlap("/srv/scratch", "/srv/canon", mounts).startswith(same)
    assert local_overlap("/srv/canon/box2", "/mnt/cleanup", mounts) == ""  # sibling of the bound folder
    # the same path on another device is other files
    assert local_overlap("/srv/other-disk", "/srv/canon/box1", mounts) == ""
    assert local_overlap("/srv/other-disk", "/srv/canon", []) == ""


def test_local_overlap_by_device_and_inode_through_a_bind_mount(tmp_path):
    import subprocess

    from reviewapp.storage import local_overlap
    from tests.conftest import require_service

    (tmp_path / "canon" / "sub").mkdir(parents=True)
    (tmp_path / "alias").mkdir()
    r = subprocess.run(["mount", "--bind", str(tmp_path / "canon"), str(tmp_path / "alias")], capture_output=True, text=True)
    require_service(r.returncode == 0, f"mount --bind ({r.stderr.strip()})")
    try:
        why = "one directory is the other or one of its ancestors (same device and inode)"
        # no mount table given: only the inode chain can tell
        assert local_overlap(tmp_path / "alias", tmp_path / "canon" / "sub", []) == why
        assert local_overlap(tmp_path / "canon" / "sub", tmp_path / "alias", []) == why
        assert local_overlap(tmp_path / "alias" / "sub", tmp_path / "canon", []) == why
    finally:
        subprocess.run(["umount", str(tmp_path / "alias")], capture_output=True)


def test_s3_overlap_through_an_access_point_alias_names_it(settings):
    settings.S3_PROFILES = {**settings.S3_PROFILES, "p1": {}}
    alias = S3Storage("p1", "ap-0123-s3alias", "canon")
    alias._resolved_bucket = "media"  # what S3 Control answered
    plain = S3Storage("p1", "media", "")
    via = "same bucket 'media' (through the access point ap-0123-s3alias) with overlapping prefixes"
    assert alias.overlap_with(plain) == f"{via} (canon/ and /)"
    assert plain.overlap_with(alias) == f"{via} (/ and canon/)"
    assert alias.object_identity("a.jpg") == plain.object_identity("canon/a.jpg")


def test_s3_identity_overlap_and_tokens_need_no_request(settings):
    settings.S3_PROFILES = {**settings.S3_PROFILES, "p1": {}, "p2": {}, "lab": {"separate_service": "lab-minio"}}
    a = S3Storage("p1", "media", "canon")
    # another profile spelling of the same service reaches the same object
    assert a.object_identity("x/1.jpg") == ("s3", "", "media", "canon/x/1.jpg")
    assert S3Storage("p2", "media", "canon/x").object_identity("1.jpg") == a.object_identity("x/1.jpg")
    assert S3Storage("lab", "media", "canon").object_identity("x/1.jpg") == ("s3", "lab-minio", "media", "canon/x/1.jpg")
    assert S3Storage("p1", "media", "canon").object_identity("x/1.jpg") != S3Storage("p1", "other", "canon").object_identity("x/1.jpg")
    assert a.overlap_with(S3Storage("p2", "media", "canon/sub")) == \
        "same bucket 'media' with overlapping prefixes (canon/ and canon/sub/)"
    assert S3Storage("p2", "media", "").overlap_with(a) == "same bucket 'media' with overlapping prefixes (/ and canon/)"
    assert a.overlap_with(S3Storage("p2", "media", "canon-2")) == ""
    assert a.overlap_with(S3Storage("p2", "other", "canon")) == ""
    # (a profile labelled a separate service is asked of its objects, where prefixes overlap:
    # test_deletion_identity's test_a_separate_service_label_...)
    assert a.overlap_with(S3Storage("lab", "media", "canon-2")) == ""
    assert a.overlap_with(LocalStorage("/tmp")) == ""
    assert a.around("x/1.jpg").prefix == "canon/x/1.jpg/"
    assert a.recorded_token(etag="abc", checksum="sha") == "etag:abc"


@pytest.mark.services
def test_s3_confirm_unchanged_compares_etag_and_version(s3_profile, s3_bucket):
    s3_profile.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    st = S3Storage("moto", s3_bucket, "pre")
    first = st.put("a.jpg", b"abc")
    assert first.version_id
    info = st.confirm_unchanged("a.jpg", etag=first.etag, checksum="", version_id=first.version_id)
    assert (info.key, info.etag, info.version_id) == ("a.jpg", first.etag, first.version_id)
    assert st.confirm_unchanged("a.jpg", etag=first.etag, checksum="").etag == first.etag
    assert st.content_token("a.jpg") == "etag:" + first.etag
    with pytest.raises(ObjectChanged, match="ETag"):
        st.confirm_unchanged("a.jpg", etag="0" * 32, checksum="", version_id=first.version_id)
    second = st.put("a.jpg", b"abc")  # the same bytes again: same ETag, a new version
    assert second.etag == first.etag and second.version_id != first.version_id
    with pytest.raises(ObjectChanged, match="new version"):
        st.confirm_unchanged("a.jpg", etag=first.etag, checksum="", version_id=first.version_id)
    # identity-conditional delete refuses another object, deletes the checked one
    with pytest.raises(ObjectChanged, match="not the object"):
        st.delete("a.jpg", if_identity=S3Storage("moto", s3_bucket, "other").object_identity("a.jpg"))
    assert st.exists("a.jpg")
    with pytest.raises(ObjectChanged, match="^a.jpg changed since it was checked$"):
        st.delete("a.jpg", if_etag="0" * 32)
    st.delete("a.jpg", if_etag=first.etag, if_identity=st.object_identity("a.jpg"))
    assert not st.exists("a.jpg")


@pytest.mark.services
def test_local_to_s3_copy_carries_every_byte_and_is_conditional(tmp_path, s3_profile, s3_bucket):
    import os

    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    st = LocalStorage(tmp_path)
    info = st.put("a.tif", data)
    dest = S3Storage("moto", s3_bucket, "q")
    with pytest.raises(ObjectChanged):
        st.copy_to("a.tif", dest, "a.tif", if_etag="other")
    assert not dest.exists("a.tif")
    copied = st.copy_to("a.tif", dest, "a.tif", if_etag=info.etag)
    assert copied.key == "a.tif" and copied.size == len(data)
    assert dest.read_bytes("a.tif") == data


@pytest.mark.services
def test_s3_delete_of_a_version_removes_that_version_only(s3_profile, s3_bucket):
    s3_profile.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    st = S3Storage("moto", s3_bucket, "pre")
    first = st.put("a.jpg", b"one")
    second = st.put("a.jpg", b"two")
    st.delete("a.jpg", version_id=first.version_id)
    versions = s3_profile.list_object_versions(Bucket=s3_bucket, Prefix="pre/a.jpg")
    assert [v["VersionId"] for v in versions.get("Versions", [])] == [second.version_id]
    assert not versions.get("DeleteMarkers")
    assert st.read_bytes("a.jpg") == b"two"
    from reviewapp.storage import StorageError

    with pytest.raises(StorageError, match="does not exist"):
        S3Storage("moto", s3_bucket + "-missing", "pre").delete("a.jpg")


def test_two_writers_of_one_key_each_finish_and_the_last_one_stays(tmp_path):
    """Each writer has its own temp file: with one shared name, a second writer (a restore clicked twice)
    removed the first one's, and the first's rename failed."""
    st = LocalStorage(tmp_path)

    def first(wfd):
        os.write(wfd, b"first")
        st.put("box/a.jpg", b"second, done while the first was writing")

    st._write_from("box/a.jpg", first)
    assert st.read_bytes("box/a.jpg") == b"first"
    assert [p.name for p in (tmp_path / "box").iterdir()] == ["a.jpg"]


def test_a_name_too_long_for_the_filesystem_is_refused_with_words_not_an_oserror(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("d/ok.txt", b"x")
    long_name = "a" * 300
    for key in (long_name, f"{long_name}/x.jpg", f"d/{long_name}"):
        for call in (lambda: store.head(key), lambda: store.read_bytes(key), lambda: store.delete(key),
                     lambda: store.put(key, b"x")):
            with pytest.raises(UnsafeKey, match="not a name this filesystem can hold"):
                call()
    # the temp file beside a key adds to its name: a key that just fits cannot be written either
    with pytest.raises(UnsafeKey, match="not a name this filesystem can hold"):
        store.put("b" * 250, b"x")

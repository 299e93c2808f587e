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
    with pytest.raises(ObjectChanged, match="content changed"):
        st.confirm_unchanged("a.jpg", etag=info.etag, checksum=digest)
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
    with pytest.raises(ObjectChanged):
        st.delete("old.jpg", if_etag="other")
    time.sleep(0.01)
    st.delete("old.jpg", if_etag=info.etag, if_identity=ident)
    assert not st.exists("old.jpg")
    with pytest.raises(ObjectMissing):
        st.delete("old.jpg")


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
    assert a.overlap_with(S3Storage("lab", "media", "canon")) == ""  # a separate service with a bucket of that name
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
    with pytest.raises(ObjectChanged):
        st.delete("a.jpg", if_etag="0" * 32)
    st.delete("a.jpg", if_etag=first.etag, if_identity=st.object_identity("a.jpg"))
    assert not st.exists("a.jpg")

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

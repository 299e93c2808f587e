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

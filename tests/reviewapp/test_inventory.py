"""Inventory of local directories and S3 (moto server on loopback), re-inventory and vanished
objects, archive tiers, pagination past 1000 keys and the S3 Inventory report fast path."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewapp import s3inventory
from reviewapp.models import Asset, AssetIdentifier, Job, Source
from reviewapp.services import inventory
from reviewapp.services.inventory import inventory_run, inventory_start
from reviewapp.services.sources import source_add
from reviewapp.storage import StorageError
from tests.images import photo, save


def run_inventory(source, **params):
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, params=params)
    return inventory_run(job.pk)


@pytest.fixture
def local_source(local_root, admin_user):
    d = local_root / "cl"
    save(photo("astronaut", (64, 64)), d / "C0001234.tif")
    save(photo("coffee", (64, 48)), d / "box 1" / "IMG_0001.jpg")
    (d / "notes.txt").write_text("not an image, still an object")
    return source_add(actor=admin_user, name="cl", kind="local", role="cleanup", root=str(d))


@pytest.mark.django_db
def test_local_inventory_creates_assets_with_ids(local_source):
    job = run_inventory(local_source)
    assert job.state == Job.State.DONE and job.found == 3 and job.processed == 3
    assert job.params["stats"] == {"new": 3, "changed": 0, "unchanged": 0, "reappeared": 0, "vanished": 0}
    keys = sorted(Asset.objects.values_list("key", flat=True))
    assert keys == ["C0001234.tif", "box 1/IMG_0001.jpg", "notes.txt"]
    a = Asset.objects.get(key="C0001234.tif")
    assert a.state == Asset.State.LISTED and a.size > 0 and a.etag and a.name == "C0001234.tif"
    assert list(AssetIdentifier.objects.filter(asset=a).values_list("value", flat=True)) == ["C1234"]
    assert not AssetIdentifier.objects.filter(asset__key="box 1/IMG_0001.jpg").exists()
    assert Source.objects.get(pk=local_source.pk).last_inventory_at is not None


@pytest.mark.django_db
def test_reinventory_writes_only_changes_and_marks_vanished(local_source):
    run_inventory(local_source)
    root = local_source.root
    before = {a.key: a.updated_at for a in Asset.objects.all()}
    save(photo("rocket", (64, 48)), os.path.join(root, "box 1", "IMG_0001.jpg"))
    os.utime(os.path.join(root, "box 1", "IMG_0001.jpg"), (1_900_000_000, 1_900_000_000))
    os.unlink(os.path.join(root, "notes.txt"))
    save(photo("camera", (32, 32)), os.path.join(root, "C0009999.png"))
    with CaptureQueriesContext(connection) as ctx:
        job = run_inventory(local_source)
    assert job.params["stats"] == {"new": 1, "changed": 1, "unchanged": 1, "reappeared": 0, "vanished": 1}
    assert Asset.objects.get(key="notes.txt").state == Asset.State.VANISHED
    assert Asset.objects.get(key="C0001234.tif").updated_at == before["C0001234.tif"]  # untouched row
    assert Asset.objects.get(key="box 1/IMG_0001.jpg").updated_at > before["box 1/IMG_0001.jpg"]
    # bulk writes: a handful of statements, not one per object
    writes = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert len(writes) < 15, writes
    # the file comes back: the row is revived, not duplicated
    with open(os.path.join(local_source.root, "notes.txt"), "w") as f:
        f.write("back")
    job = run_inventory(local_source)
    assert job.params["stats"]["reappeared"] + job.params["stats"]["changed"] == 1
    assert Asset.objects.filter(key="notes.txt").count() == 1
    assert Asset.objects.get(key="notes.txt").state == Asset.State.LISTED


@pytest.mark.django_db
def test_an_analysed_file_that_vanishes_and_comes_back_unchanged_takes_up_where_it_was(local_source, tmp_path):
    run_inventory(local_source)
    # as an analysis leaves them: the TIFF decoded, the text file did not; the JPEG never analysed
    for key, status in (("C0001234.tif", Asset.DecodeStatus.OK), ("notes.txt", Asset.DecodeStatus.UNREADABLE)):
        a = Asset.objects.get(key=key)
        Asset.objects.filter(pk=a.pk).update(analysed_etag=a.etag, decode_status=status, analysis={"format": "x"},
                                             state=Asset.state_analysed(status))
    away = tmp_path / "away"
    away.mkdir()
    keys = ["C0001234.tif", "notes.txt", "box 1/IMG_0001.jpg"]
    for i, key in enumerate(keys):
        os.rename(os.path.join(local_source.root, key), away / str(i))
    run_inventory(local_source)
    assert set(Asset.objects.values_list("state", flat=True)) == {Asset.State.VANISHED}
    for i, key in enumerate(keys):   # a rename keeps size, time and inode: the same content
        os.rename(away / str(i), os.path.join(local_source.root, key))
    job = run_inventory(local_source)
    assert job.params["stats"]["reappeared"] == 3
    states = dict(Asset.objects.values_list("key", "state"))
    assert states == {"C0001234.tif": Asset.State.FINGERPRINTED, "notes.txt": Asset.State.UNREADABLE,
                      "box 1/IMG_0001.jpg": Asset.State.LISTED}


def crashing_listing(real_listing, after):
    """A listing that dies after `after` objects, the way a killed worker does (not a
    StorageError: the job is left running, to be redelivered)."""
    def listing(source, job):
        for i, info in enumerate(real_listing(source, job)):
            if i == after:
                raise RuntimeError("worker killed")
            yield info
    return listing


@pytest.mark.django_db
def test_a_retry_after_a_crash_mid_run_marks_only_what_is_gone_vanished(local_source, monkeypatch):
    run_inventory(local_source)
    real_listing = inventory._listing
    monkeypatch.setattr(inventory, "CHUNK", 1)  # each object its own chunk: the crash lands between chunks
    monkeypatch.setattr(inventory, "_listing", crashing_listing(real_listing, after=2))
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=local_source, params={})
    with pytest.raises(RuntimeError):
        inventory_run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.processed == 2
    assert not Asset.objects.filter(state=Asset.State.VANISHED).exists()
    # one object the crashed attempt listed is deleted before the retry; the object it never
    # reached is still there and must not be taken for gone
    listed = [info.key for info in real_listing(local_source, job)]
    reached, not_reached = listed[:2], listed[2]
    os.unlink(os.path.join(local_source.root, reached[0]))
    monkeypatch.setattr(inventory, "_listing", real_listing)
    job = inventory_run(job.pk)
    assert job.state == Job.State.DONE and job.params["stats"]["vanished"] == 1
    # the retry listed everything again: its counters are this attempt's, not added to the crashed one's
    assert (job.requested, job.found, job.processed) == (2, 2, 2)
    states = dict(Asset.objects.values_list("key", "state"))
    assert states == {reached[0]: Asset.State.VANISHED, reached[1]: Asset.State.LISTED,
                      not_reached: Asset.State.LISTED}


@pytest.mark.django_db
def test_vanished_are_found_across_chunks_without_remembering_the_listing(local_source, monkeypatch):
    """Objects listed in any chunk stay; only the ones no chunk listed vanish (several chunks:
    the stamp of each must count, not only the last)."""
    more = os.path.join(local_source.root, "more")
    os.makedirs(more)
    for i in range(5):
        with open(os.path.join(more, f"C00050{i:02d}.txt"), "w") as f:
            f.write(str(i))
    monkeypatch.setattr(inventory, "CHUNK", 2)
    run_inventory(local_source)
    os.unlink(os.path.join(local_source.root, "more", "C0005003.txt"))
    os.unlink(os.path.join(local_source.root, "notes.txt"))
    job = run_inventory(local_source)
    assert job.params["stats"]["unchanged"] == 6 and job.params["stats"]["vanished"] == 2
    assert sorted(Asset.objects.filter(state=Asset.State.VANISHED).values_list("key", flat=True)) == [
        "more/C0005003.txt", "notes.txt"]
    assert Asset.objects.exclude(state=Asset.State.VANISHED).count() == 6


def _analysed_tables() -> set:
    """The asset tables the database has statistics of (PostgreSQL: analysed by ANALYZE; SQLite: in sqlite_stat1)."""
    tables = {Asset._meta.db_table, AssetIdentifier._meta.db_table}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchall():
                return set()
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()} & tables


@pytest.mark.django_db(transaction=True)
def test_an_inventory_that_writes_many_rows_refreshes_the_asset_tables_statistics(local_source, monkeypatch):
    # a source inventoried a moment ago has no planner statistics until autovacuum runs (or never, where it
    # is off), and every query naming it then scans all its assets: a large inventory analyses them itself
    with connection.cursor() as cursor:   # (no statistics yet, as on a database that never analysed them)
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchall():
                cursor.execute("DELETE FROM sqlite_stat1")
    monkeypatch.setattr(inventory, "STATISTICS_AFTER", 4)
    if connection.vendor == "sqlite":
        run_inventory(local_source)        # 3 new rows: under the mark, nothing analysed
        assert _analysed_tables() == set()
    more = os.path.join(local_source.root, "more")
    os.makedirs(more)
    for i in range(4):
        with open(os.path.join(more, f"C00060{i:02d}.txt"), "w") as f:
            f.write(str(i))
    assert inventory._statistics_refreshed({"new": 4, "changed": 0, "reappeared": 0, "vanished": 0})
    assert not inventory._statistics_refreshed({"new": 1, "changed": 1, "reappeared": 0, "vanished": 1})
    job = run_inventory(local_source)
    assert job.state == Job.State.DONE and job.params["stats"]["new"] >= 4
    assert _analysed_tables() == {Asset._meta.db_table, AssetIdentifier._meta.db_table}


@pytest.mark.django_db
def test_missing_directory_fails_the_job_with_a_message(local_source):
    import shutil

    shutil.rmtree(local_source.root)
    with pytest.raises(StorageError):
        run_inventory(local_source)
    job = Job.objects.get(kind=Job.Kind.INVENTORY)
    assert job.state == Job.State.FAILED and "does not exist" in job.error


@pytest.mark.django_db
def test_inventory_start_queues_an_eager_job(local_source, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = inventory_start(actor=admin_user, source=local_source)
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.created_by == admin_user
    assert [e.event for e in job.events.all()] == ["created", "started", "done"]
    with pytest.raises(ValidationError):
        inventory_start(actor=admin_user, source=local_source, manifest="s3://b/manifest.json")


# --- S3 ------------------------------------------------------------------------------------------


@pytest.fixture
def s3_source(s3_profile, s3_bucket, admin_user):
    c = s3_profile
    c.put_object(Bucket=s3_bucket, Key="scans/C0001234.tif", Body=b"a" * 100)
    c.put_object(Bucket=s3_bucket, Key="scans/deep/C0002345.tif", Body=b"b" * 200, StorageClass="DEEP_ARCHIVE")
    c.put_object(Bucket=s3_bucket, Key="scans/cold/IMG_1.jpg", Body=b"c" * 300, StorageClass="GLACIER")
    c.put_object(Bucket=s3_bucket, Key="scans/ia/IMG_2.jpg", Body=b"d" * 50, StorageClass="STANDARD_IA")
    c.put_object(Bucket=s3_bucket, Key="other/outside.jpg", Body=b"e")
    return source_add(actor=admin_user, name="s3src", kind="s3", role="cleanup", storage_profile="moto",
                      bucket=s3_bucket, prefix="scans")


@pytest.mark.django_db
def test_s3_inventory_marks_archive_tiers(s3_source, s3_profile, s3_bucket):
    job = run_inventory(s3_source)
    assert job.state == Job.State.DONE and job.found == 4 and job.bytes_total == 650
    got = {a.key: (a.storage_class, a.state) for a in Asset.objects.all()}
    assert got == {
        "C0001234.tif": ("STANDARD", "listed"),
        "deep/C0002345.tif": ("DEEP_ARCHIVE", "archived"),
        "cold/IMG_1.jpg": ("GLACIER", "archived"),
        "ia/IMG_2.jpg": ("STANDARD_IA", "listed"),
    }
    etag = s3_profile.head_object(Bucket=s3_bucket, Key="scans/C0001234.tif")["ETag"].strip('"')
    assert Asset.objects.get(key="C0001234.tif").etag == etag
    # change one object, delete another, re-inventory
    s3_profile.put_object(Bucket=s3_bucket, Key="scans/C0001234.tif", Body=b"changed")
    s3_profile.delete_object(Bucket=s3_bucket, Key="scans/ia/IMG_2.jpg")
    job = run_inventory(s3_source)
    assert job.params["stats"] == {"new": 0, "changed": 1, "unchanged": 2, "reappeared": 0, "vanished": 1}
    assert Asset.objects.get(key="C0001234.tif").size == 7
    assert Asset.objects.get(key="ia/IMG_2.jpg").state == Asset.State.VANISHED


@pytest.mark.django_db
def test_s3_listing_pages_past_1000_keys(s3_profile, s3_bucket, admin_user):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3_profile.put_object(Bucket=s3_bucket, Key=f"p/IMG_{i:05d}.jpg", Body=b"x"), range(1003)))
    src = source_add(actor=admin_user, name="big", kind="s3", role="cleanup", storage_profile="moto", bucket=s3_bucket, prefix="p/")
    job = run_inventory(src)
    assert job.found == 1003 and Asset.objects.filter(source=src).count() == 1003
    job = run_inventory(src)
    assert job.params["stats"]["unchanged"] == 1003 and Asset.objects.count() == 1003


@pytest.mark.django_db
def test_bad_bucket_is_a_clear_failure(s3_profile, admin_user):
    src = source_add(actor=admin_user, name="nob", kind="s3", role="cleanup", storage_profile="moto", bucket="no-such-bucket-here")
    with pytest.raises(StorageError, match="does not exist"):
        run_inventory(src)
    assert Job.objects.get(source=src).state == Job.State.FAILED


@pytest.mark.django_db
def test_s3_inventory_report_is_the_fast_path(s3_source, s3_profile, s3_bucket):
    s3_profile.create_bucket(Bucket=f"{s3_bucket}-inv")
    objects = [
        {"Key": "scans/C0001234.tif", "Size": 100, "ETag": "e1", "StorageClass": "STANDARD", "LastModifiedDate": "2024-01-02T03:04:05.000Z"},
        {"Key": "scans/deep/C0002345.tif", "Size": 200, "ETag": "e2", "StorageClass": "DEEP_ARCHIVE"},
        {"Key": "scans/it/Ä ö, C0003456.tif", "Size": 10, "ETag": "e3", "StorageClass": "INTELLIGENT_TIERING",
         "IntelligentTieringAccessTier": "DEEP_ARCHIVE"},
        {"Key": "scans/../escape.tif", "Size": 1, "ETag": "e4"},
        {"Key": "other/x.tif", "Size": 1, "ETag": "e5"},
    ]
    manifest = s3inventory.write_report(s3_profile, source_bucket=s3_bucket, dest_bucket=f"{s3_bucket}-inv",
                                        dest_prefix="inv/2024-01-03", objects=objects, per_file=2)
    job = run_inventory(s3_source, manifest=manifest)
    assert job.state == Job.State.DONE
    got = {a.key: (a.size, a.state) for a in Asset.objects.filter(source=s3_source)}
    assert got == {"C0001234.tif": (100, "listed"), "deep/C0002345.tif": (200, "archived"),
                   "it/Ä ö, C0003456.tif": (10, "archived")}
    assert set(AssetIdentifier.objects.values_list("value", flat=True)) == {"C1234", "C2345", "C3456"}


@pytest.mark.django_db
def test_inventory_report_errors_are_readable(s3_source, s3_profile, s3_bucket):
    s3_profile.put_object(Bucket=s3_bucket, Key="inv/manifest.json", Body=b'{"fileFormat": "ORC", "fileSchema": "Key", "files": []}')
    with pytest.raises(StorageError, match="ORC is not supported"):
        run_inventory(s3_source, manifest=f"s3://{s3_bucket}/inv/manifest.json")
    with pytest.raises(StorageError, match="s3://bucket/key"):
        s3inventory.parse_location("https://example.org/manifest.json")


@pytest.mark.django_db
def test_listed_fields_too_long_for_their_columns_are_refused_not_a_database_error():
    """A listing or inventory report is outside data: an ETag or key that does not fit its column
    is counted as refused instead of failing the whole chunk (PostgreSQL would refuse it)."""
    from reviewapp.models import Asset
    from reviewapp.services.inventory import _apply_chunk
    from reviewapp.storage import ObjectInfo
    from tests.factories import SourceFactory

    source = SourceFactory()
    stats = {"new": 0, "changed": 0, "unchanged": 0, "reappeared": 0}
    infos = [ObjectInfo(key="ok.jpg", size=1, etag="e", last_modified=None),
             ObjectInfo(key="long-etag.jpg", size=1, etag="e" * 201, last_modified=None),
             ObjectInfo(key="k" * 1025, size=1, etag="e", last_modified=None),
             ObjectInfo(key="class.jpg", size=1, etag="e", last_modified=None, storage_class="X" * 41)]
    _apply_chunk(source, infos, 1, stats)
    assert list(Asset.objects.filter(source=source).values_list("key", flat=True)) == ["ok.jpg"]
    assert stats["refused"] == 3 and stats["new"] == 1


@pytest.mark.django_db
def test_inventory_records_device_and_inode_and_a_same_looking_replacement_is_new_content(local_source, local_root):
    """A `cp -p` copy dropped over a file keeps its size and mtime (the local ETag) but is another
    file: inventory records st_dev:st_ino and treats a new inode as changed content, so the
    replacement is analysed again instead of inheriting the old file's checksum."""
    import os
    import shutil

    run_inventory(local_source)
    a = Asset.objects.get(source=local_source, key="C0001234.tif")
    path = local_root / "cl" / "C0001234.tif"
    st = os.stat(path)
    assert a.inode == f"{st.st_dev}:{st.st_ino}"
    Asset.objects.filter(pk=a.pk).update(checksum="recorded-at-analysis", state=Asset.State.FINGERPRINTED)
    shutil.copy2(path, local_root / "replacement.tif")
    os.replace(local_root / "replacement.tif", path)  # same bytes, size and mtime; another inode
    run_inventory(local_source)
    a.refresh_from_db()
    st2 = os.stat(path)
    assert a.inode == f"{st2.st_dev}:{st2.st_ino}" != f"{st.st_dev}:{st.st_ino}"
    assert a.checksum == "" and a.state == Asset.State.LISTED

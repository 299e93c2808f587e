"""The S3 Inventory report reader: parts streamed one at a time in bounded memory, each checked
against the manifest's MD5 before any of its rows is used (moto's S3 server on loopback)."""
from __future__ import annotations

import gzip
import json

import pytest

from reviewapp import s3inventory
from reviewapp.models import Asset, Job
from reviewapp.services.inventory import inventory_run
from reviewapp.services.sources import source_add
from reviewapp.storage import StorageError


def objects(n, start=0):
    for i in range(start, start + n):
        yield {"Key": f"scans/box{i // 1000}/C{1000000 + i:07d}.tif", "Size": 1000 + i, "ETag": f"{i:032x}",
               "StorageClass": "STANDARD", "LastModifiedDate": "2024-01-02T03:04:05.000Z"}


def count_gets(client):
    """Record the keys of GetObject calls made through `client` (a boto3 event hook)."""
    gets = []
    client.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **kw: gets.append(params["Key"]))
    return gets


@pytest.fixture
def report(s3_profile, s3_bucket):
    s3_profile.create_bucket(Bucket=f"{s3_bucket}-inv")
    location = s3inventory.write_report(s3_profile, source_bucket=s3_bucket, dest_bucket=f"{s3_bucket}-inv",
                                        dest_prefix="inv/2024-01-03", objects=objects(25), per_file=10)
    return location


def manifest_of(client, location):
    bucket, key = s3inventory.parse_location(location)
    return bucket, key, json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_written_manifest_carries_each_parts_md5(s3_profile, report):
    _, _, manifest = manifest_of(s3_profile, report)
    assert [f["key"].rsplit("/", 1)[-1] for f in manifest["files"]] == ["part-00000.csv.gz", "part-00001.csv.gz",
                                                                          "part-00002.csv.gz"]
    assert all(len(f["MD5checksum"]) == 32 for f in manifest["files"])


def test_parts_are_read_one_at_a_time(s3_profile, s3_bucket, report):
    gets = count_gets(s3_profile)
    rows = s3inventory.iter_report(s3_profile, report, source_bucket=s3_bucket, prefix="scans/")
    first = next(rows)
    assert first.key == "box0/C1000000.tif" and first.size == 1000 and first.etag == f"{0:032x}"
    assert [g.rsplit("/", 1)[-1] for g in gets] == ["manifest.json", "part-00000.csv.gz"]  # not yet the others
    rest = list(rows)
    assert len(rest) == 24 and rest[-1].key == "box0/C1000024.tif"
    assert [g.rsplit("/", 1)[-1] for g in gets][1:] == ["part-00000.csv.gz", "part-00001.csv.gz", "part-00002.csv.gz"]


MEASURE_IN_A_FRESH_INTERPRETER = """
import sys, tracemalloc
from pathlib import Path
import django
django.setup()
from botocore.response import StreamingBody
from reviewapp import s3inventory

folder, location, bucket = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

class FilesAsS3:
    def get_object(self, *, Bucket, Key):
        path = folder / Key.replace("/", "_")
        return {"Body": StreamingBody(open(path, "rb"), path.stat().st_size)}

s3inventory.CHUNK_BYTES = 64 * 1024
tracemalloc.start()
n = sum(1 for _ in s3inventory.iter_report(FilesAsS3(), location, source_bucket=bucket, prefix="scans/"))
print(n, tracemalloc.get_traced_memory()[1])
"""


def test_a_large_part_is_parsed_in_bounded_memory(s3_profile, s3_bucket, tmp_path):
    """Decompressed, this part is several MB of CSV; reading it whole (as the reader once did)
    holds all of it at once. Streamed, the peak stays near the chunk size. Measured in a fresh
    interpreter reading the report's files from disk: moto's server runs in this process, keeps
    every object in memory and would be counted by tracemalloc."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    s3_profile.create_bucket(Bucket=f"{s3_bucket}-inv")
    location = s3inventory.write_report(s3_profile, source_bucket=s3_bucket, dest_bucket=f"{s3_bucket}-inv",
                                        dest_prefix="big", objects=objects(40_000), per_file=40_000)
    bucket, key, manifest = manifest_of(s3_profile, location)
    for k in (key, manifest["files"][0]["key"]):
        (tmp_path / k.replace("/", "_")).write_bytes(s3_profile.get_object(Bucket=bucket, Key=k)["Body"].read())
    text_bytes = len(gzip.decompress((tmp_path / manifest["files"][0]["key"].replace("/", "_")).read_bytes()))
    assert text_bytes > 4_000_000
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings_test", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", MEASURE_IN_A_FRESH_INTERPRETER, str(tmp_path), location, s3_bucket],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    n, peak = map(int, out.stdout.split()[-2:])
    assert n == 40_000
    assert peak < text_bytes / 8, f"peak {peak} bytes while parsing {text_bytes} bytes of CSV"


def corrupt_part(client, location, index, data: bytes):
    bucket, _, manifest = manifest_of(client, location)
    client.put_object(Bucket=bucket, Key=manifest["files"][index]["key"], Body=data)


def test_a_part_not_matching_the_manifest_md5_is_refused_before_its_rows(s3_profile, s3_bucket, report):
    bucket, _, manifest = manifest_of(s3_profile, report)
    good = s3_profile.get_object(Bucket=bucket, Key=manifest["files"][1]["key"])["Body"].read()
    # a valid gzip with one row changed: it would parse, only the MD5 can tell
    tampered = gzip.compress(gzip.decompress(good).replace(b"C1000012", b"C9999912"))
    corrupt_part(s3_profile, report, 1, tampered)
    seen = []
    with pytest.raises(StorageError, match=r"part-00001\.csv\.gz does not match the manifest's MD5.*refused"):
        for info in s3inventory.iter_report(s3_profile, report, source_bucket=s3_bucket, prefix="scans/"):
            seen.append(info.key)
    assert len(seen) == 10 and "box0/C9999912.tif" not in seen  # part 0 only; nothing of the bad part


def test_a_truncated_part_is_refused(s3_profile, s3_bucket, report):
    bucket, _, manifest = manifest_of(s3_profile, report)
    good = s3_profile.get_object(Bucket=bucket, Key=manifest["files"][2]["key"])["Body"].read()
    corrupt_part(s3_profile, report, 2, good[: len(good) // 2])
    with pytest.raises(StorageError, match="does not match the manifest's MD5"):
        list(s3inventory.iter_report(s3_profile, report, source_bucket=s3_bucket, prefix="scans/"))


def test_a_manifest_without_md5_is_refused(s3_profile, s3_bucket, report):
    bucket, key, manifest = manifest_of(s3_profile, report)
    manifest["files"][0]["MD5checksum"] = ""
    s3_profile.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    with pytest.raises(StorageError, match="no MD5checksum"):
        list(s3inventory.iter_report(s3_profile, report, source_bucket=s3_bucket, prefix="scans/"))


def test_a_part_that_is_not_gzip_but_matches_its_md5_gets_a_clear_error(s3_profile, s3_bucket, report):
    import hashlib

    bucket, key, manifest = manifest_of(s3_profile, report)
    junk = b"Bucket,Key\nnot gzipped at all\n"
    corrupt_part(s3_profile, report, 0, junk)
    manifest["files"][0].update(MD5checksum=hashlib.md5(junk).hexdigest(), size=len(junk))
    s3_profile.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    with pytest.raises(StorageError, match="is not gzipped UTF-8 CSV"):
        list(s3inventory.iter_report(s3_profile, report, source_bucket=s3_bucket, prefix="scans/"))


@pytest.mark.django_db
def test_inventory_job_fails_with_the_md5_message_and_marks_nothing_vanished(s3_profile, s3_bucket, report, admin_user):
    from tests.conftest import S3_TEST_PROFILE

    source = source_add(actor=admin_user, name="s3", kind="s3", role="cleanup", storage_profile=S3_TEST_PROFILE,
                        bucket=s3_bucket, prefix="scans/")
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, params={"manifest": report})
    assert inventory_run(job.pk).state == Job.State.DONE and Asset.objects.filter(source=source).count() == 25
    corrupt_part(s3_profile, report, 2, b"\x1f\x8b garbage")
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, params={"manifest": report})
    with pytest.raises(StorageError):
        inventory_run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "does not match the manifest's MD5" in job.error
    assert not Asset.objects.filter(source=source, state=Asset.State.VANISHED).exists()

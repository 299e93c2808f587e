"""Reader for S3 Inventory reports (manifest.json + CSV.gz files): the fast path for buckets of
millions of objects, where paginating ListObjectsV2 would take hours and cost requests.

Only the CSV format is read (ORC and Parquet reports get a clear error). Keys in the report are
URL-encoded; they are decoded, made relative to the source prefix and checked like any other key.

Memory stays constant whatever the report's size: each part is copied to a temporary file while
its MD5 is computed in 1 MiB chunks, compared with the manifest's `MD5checksum` before a single
row of it is used (a truncated or corrupted part is refused, never half-applied), then
decompressed and parsed row by row from disk.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
import zlib
from datetime import UTC, datetime
from itertools import islice
from urllib.parse import quote_plus, unquote_plus, urlparse

from .storage import ObjectInfo, StorageError, UnsafeKey, check_key

TIER_TO_ARCHIVE_STATUS = {"ARCHIVE": "ARCHIVE_ACCESS", "DEEP_ARCHIVE": "DEEP_ARCHIVE_ACCESS"}


def parse_location(location: str) -> tuple[str, str]:
    """'s3://bucket/path/manifest.json' -> (bucket, key)."""
    u = urlparse(location or "")
    if u.scheme != "s3" or not u.netloc or not u.path.strip("/"):
        raise StorageError(f"an inventory manifest must be given as s3://bucket/key/manifest.json, not {location!r}")
    return u.netloc, u.path.lstrip("/")


def _dest_bucket(manifest: dict, default: str) -> str:
    dest = manifest.get("destinationBucket") or default
    return dest.split(":::")[-1] if dest.startswith("arn:") else dest


def _parse_time(value: str):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def read_manifest(client, bucket: str, key: str) -> dict:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001 - made readable
        raise StorageError(f"cannot read inventory manifest s3://{bucket}/{key}: {exc}") from exc
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        raise StorageError(f"s3://{bucket}/{key} is not a JSON inventory manifest") from exc
    fmt = (manifest.get("fileFormat") or "").upper()
    if fmt != "CSV":
        raise StorageError(f"inventory format {fmt or 'unknown'} is not supported: configure the report as CSV")
    if not manifest.get("fileSchema") or not isinstance(manifest.get("files"), list):
        raise StorageError(f"s3://{bucket}/{key} has no fileSchema/files: not an inventory manifest")
    return manifest




CHUNK_BYTES = 1 << 20


def _download_verified(client, bucket: str, part: dict, spool):
    """Copy one report part into `spool` (a binary temp file) while computing its MD5; refuse it
    unless the digest matches the manifest's `MD5checksum` (and the size its `size`, when given)."""
    key = part.get("key") or ""
    expected = (part.get("MD5checksum") or "").strip().lower()
    if not expected:
        raise StorageError(f"the inventory manifest gives no MD5checksum for s3://{bucket}/{key}: cannot verify it")
    md5, size = hashlib.md5(usedforsecurity=False), 0
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(CHUNK_BYTES):
            md5.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    except Exception as exc:  # noqa: BLE001 - made readable
        raise StorageError(f"cannot read inventory file s3://{bucket}/{key}: {exc}") from exc
    if md5.hexdigest() != expected:
        raise StorageError(
            f"inventory file s3://{bucket}/{key} does not match the manifest's MD5 "
            f"(expected {expected}, got {md5.hexdigest()}): the report is corrupted or incomplete; refused"
        )
    if part.get("size") not in (None, "") and int(part["size"]) != size:
        raise StorageError(f"inventory file s3://{bucket}/{key} is {size} bytes, the manifest says {part['size']}: refused")
    spool.seek(0)


def _rows(spool, where: str):
    """CSV rows of a gzipped part, decompressed and parsed as a stream."""
    try:
        with gzip.open(spool, "rt", encoding="utf-8", newline="") as text:
            yield from csv.reader(text)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as exc:
        raise StorageError(f"inventory file {where} is not gzipped UTF-8 CSV: {exc}") from exc


def iter_report(client, manifest_location: str, *, source_bucket: str, prefix: str = ""):
    """Yield ObjectInfo (key relative to `prefix`) for the current versions in the report, one
    part at a time, each verified against the manifest's MD5 before its first row."""
    m_bucket, m_key = parse_location(manifest_location)
    manifest = read_manifest(client, m_bucket, m_key)
    if manifest.get("sourceBucket") and manifest["sourceBucket"] != source_bucket:
        raise StorageError(
            f"the inventory report is for bucket {manifest['sourceBucket']!r}, not the source's bucket {source_bucket!r}"
        )
    columns = [c.strip() for c in manifest["fileSchema"].split(",")]
    col = {name: i for i, name in enumerate(columns)}
    if "Key" not in col:
        raise StorageError("the inventory report has no Key column")
    dest = _dest_bucket(manifest, m_bucket)

    def get(row, name, default=""):
        i = col.get(name)
        return row[i] if i is not None and i < len(row) else default

    for f in manifest["files"]:
        with tempfile.TemporaryFile(prefix="doppel-inventory-") as spool:
            _download_verified(client, dest, f, spool)
            for row in _rows(spool, f"s3://{dest}/{f.get('key')}"):
                if not row:
                    continue
                if get(row, "IsLatest", "true").lower() == "false" or get(row, "IsDeleteMarker", "false").lower() == "true":
                    continue
                full = unquote_plus(get(row, "Key"))
                if not full.startswith(prefix) or full.endswith("/"):
                    continue
                try:
                    rel = check_key(full[len(prefix):])
                except UnsafeKey:
                    continue
                size = get(row, "Size", "0")
                yield ObjectInfo(
                    key=rel,
                    size=int(size) if size.isascii() and size.isdigit() else 0,
                    etag=get(row, "ETag").strip('"'),
                    last_modified=_parse_time(get(row, "LastModifiedDate")),
                    storage_class=get(row, "StorageClass") or "STANDARD",
                    version_id=get(row, "VersionId"),
                    archive_status=TIER_TO_ARCHIVE_STATUS.get(get(row, "IntelligentTieringAccessTier"), ""),
                )


def write_report(client, *, source_bucket: str, dest_bucket: str, dest_prefix: str, objects, per_file=1000) -> str:
    """Write a CSV inventory report for `objects` (an iterable of dicts with Key, Size, ETag,
    StorageClass, LastModifiedDate) the way S3 does, MD5 of each part in the manifest; returns
    the manifest location. Used by tests, benchmarks and demos of the fast path where no real S3
    Inventory is configured. Streams too: one part in memory at a time."""
    schema = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IntelligentTieringAccessTier"
    files = []
    objects = iter(objects)
    n = 0
    while True:
        batch = list(islice(objects, per_file))
        if not batch and files:
            break
        buf = io.StringIO()
        w = csv.writer(buf, quoting=csv.QUOTE_ALL)
        for o in batch:
            w.writerow([source_bucket, quote_plus(o["Key"], safe="/"), o.get("Size", 0), o.get("LastModifiedDate", ""),
                        o.get("ETag", ""), o.get("StorageClass", "STANDARD"), o.get("IntelligentTieringAccessTier", "")])
        key = f"{dest_prefix.rstrip('/')}/data/part-{n:05d}.csv.gz"
        data = gzip.compress(buf.getvalue().encode(), compresslevel=6)
        client.put_object(Bucket=dest_bucket, Key=key, Body=data)
        files.append({"key": key, "size": len(data), "MD5checksum": hashlib.md5(data, usedforsecurity=False).hexdigest()})
        n += 1
        if len(batch) < per_file:
            break
    manifest = {
        "sourceBucket": source_bucket, "destinationBucket": f"arn:aws:s3:::{dest_bucket}", "version": "2016-11-30",
        "fileFormat": "CSV", "fileSchema": schema, "files": files,
    }
    mkey = f"{dest_prefix.rstrip('/')}/manifest.json"
    client.put_object(Bucket=dest_bucket, Key=mkey, Body=json.dumps(manifest).encode())
    return f"s3://{dest_bucket}/{mkey}"

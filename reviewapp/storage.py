"""S3 and local directories behind one interface, so jobs and the executor never care which.

Safety lives here as much as in the services: keys handed in are checked to stay inside the
source (no `..`, no absolute paths, no escaping the prefix or root), endpoints come only from
named profiles in settings, and every write that replaces or removes an object can be made
conditional on the ETag the caller saw.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator

from django.conf import settings

ARCHIVE_CLASSES = {"GLACIER", "DEEP_ARCHIVE"}
ARCHIVE_ACCESS_TIERS = {"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"}  # Intelligent-Tiering


class StorageError(Exception):
    """A storage problem worth showing to a person (bad bucket, no credentials, missing key)."""


class ObjectMissing(StorageError):
    pass


class ObjectChanged(StorageError):
    """The object is not the one the caller saw (ETag differs): a precondition failed."""


class UnsafeKey(StorageError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the source's prefix/root, POSIX separators
    size: int
    etag: str
    last_modified: datetime | None
    storage_class: str = "STANDARD"
    version_id: str = ""
    restore: str = ""  # S3 x-amz-restore header, when any
    archive_status: str = ""  # Intelligent-Tiering archive tier, when any

    @property
    def needs_restore(self) -> bool:
        if self.storage_class in ARCHIVE_CLASSES or self.archive_status in ARCHIVE_ACCESS_TIERS:
            return 'ongoing-request="false"' not in (self.restore or "")
        return False


def check_key(key: str) -> str:
    """Return a normalised relative key or raise UnsafeKey. Keys reach us from requests, name
    lists and inventory reports; none of them may climb out of the source."""
    if not isinstance(key, str) or not key or "\x00" in key or len(key) > 1024:
        raise UnsafeKey("invalid object key")
    if key.startswith("/") or "\\" in key:
        raise UnsafeKey(f"object key must be relative: {key!r}")
    parts = key.split("/")
    if any(p in ("..", ".") for p in parts):
        raise UnsafeKey(f"object key may not contain '.' or '..' segments: {key!r}")
    parts = [p for p in parts if p]
    if not parts:
        raise UnsafeKey(f"object key may not contain '.' or '..' segments: {key!r}")
    return "/".join(parts)


def s3_client(profile_name: str):
    import boto3
    from botocore.config import Config

    profiles = settings.S3_PROFILES
    if profile_name not in profiles:
        raise StorageError(f"unknown storage profile {profile_name!r}; configured: {sorted(profiles) or 'none'}")
    opts = dict(profiles[profile_name])
    addressing = opts.pop("addressing_style", None)
    cfg = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": addressing} if addressing else {},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client("s3", config=cfg, **opts)


class Storage:
    """Interface; `key` arguments are always relative to the source location."""

    def list(self) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def head(self, key: str) -> ObjectInfo:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
            return True
        except ObjectMissing:
            return False

    @contextmanager
    def fetch(self, key: str, *, max_bytes: int | None = None):
        """Yield a local path holding the object's bytes (streamed to a temp file for S3)."""
        raise NotImplementedError

    def read_bytes(self, key: str, *, max_bytes: int | None = None) -> bytes:
        with self.fetch(key, max_bytes=max_bytes) as path:
            return Path(path).read_bytes()

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        raise NotImplementedError

    def copy_to(self, key: str, dest: "Storage", dest_key: str, *, if_etag: str | None = None) -> ObjectInfo:
        raise NotImplementedError

    def delete(self, key: str, *, if_etag: str | None = None, version_id: str | None = None) -> None:
        raise NotImplementedError

    def restore(self, key: str, *, days: int, tier: str) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no archive tiers")

    @contextmanager
    def open_write(self, key: str, *, content_type: str = "application/octet-stream"):
        """Yield a binary file-like object whose bytes become the object at `key` when the block
        ends without an error (and leave nothing behind when it raises). Memory stays flat
        whatever the size: a temp file renamed into place, or an S3 multipart upload."""
        raise NotImplementedError

    @contextmanager
    def open_read(self, key: str):
        """Yield a binary stream of the object's bytes (read sequentially, never all at once)."""
        raise NotImplementedError


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def _local_etag(path: Path, st: os.stat_result) -> str:
    """Local files have no ETag; size+mtime_ns is cheap and changes when the file does.
    Deletions re-check content with a full decode and verify anyway."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


class LocalStorage(Storage):
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        rel = check_key(key)
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise UnsafeKey(f"key escapes the source directory: {key!r}")
        return p

    def _info(self, p: Path) -> ObjectInfo:
        st = p.stat()
        return ObjectInfo(
            key=p.relative_to(self.root).as_posix(),
            size=st.st_size,
            etag=_local_etag(p, st),
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
        )

    def list(self):
        if not self.root.is_dir():
            raise StorageError(f"directory does not exist: {self.root}")
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                if p.is_symlink() or not p.is_file():
                    continue
                yield self._info(p)

    def head(self, key):
        p = self.path(key)
        if not p.is_file():
            raise ObjectMissing(f"no such file: {key}")
        return self._info(p)

    @contextmanager
    def fetch(self, key, *, max_bytes=None):
        info = self.head(key)
        if max_bytes is not None and info.size > max_bytes:
            raise StorageError(f"{key} is {info.size} bytes, over the limit of {max_bytes}")
        yield str(self.path(key))

    def put(self, key, data, *, content_type="application/octet-stream"):
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.doppel-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, p)
        return self._info(p)

    def copy_to(self, key, dest, dest_key, *, if_etag=None):
        src = self.head(key)
        if if_etag is not None and src.etag != if_etag:
            raise ObjectChanged(f"{key} changed since it was checked")
        if isinstance(dest, LocalStorage):
            target = dest.path(dest_key)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.doppel-tmp")
            shutil.copy2(self.path(key), tmp)
            os.replace(tmp, target)
            return dest.head(dest_key)
        with self.fetch(key) as path:
            return dest.put(dest_key, Path(path).read_bytes())

    def delete(self, key, *, if_etag=None, version_id=None):
        p = self.path(key)
        if not p.exists():
            raise ObjectMissing(f"no such file: {key}")
        if if_etag is not None and self.head(key).etag != if_etag:
            raise ObjectChanged(f"{key} changed since it was checked")
        p.unlink()

    @contextmanager
    def open_write(self, key, *, content_type="application/octet-stream"):
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.doppel-tmp")
        try:
            with open(tmp, "wb") as f:
                yield f
            os.replace(tmp, p)
        finally:
            if tmp.exists():
                tmp.unlink()

    @contextmanager
    def open_read(self, key):
        self.head(key)
        with open(self.path(key), "rb") as f:
            yield f


class S3Storage(Storage):
    def __init__(self, profile: str, bucket: str, prefix: str = ""):
        self.profile = profile
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.profile)
        return self._client

    def full_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _translate(self, exc, key=""):
        from botocore.exceptions import ClientError, NoCredentialsError, EndpointConnectionError

        if isinstance(exc, NoCredentialsError):
            return StorageError(f"no credentials for storage profile {self.profile!r}")
        if isinstance(exc, EndpointConnectionError):
            return StorageError(f"cannot reach the S3 endpoint of profile {self.profile!r}")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return ObjectMissing(f"no such object: s3://{self.bucket}/{self.prefix}{key}")
            if code in ("NoSuchBucket",):
                return StorageError(f"bucket {self.bucket!r} does not exist")
            if code in ("PreconditionFailed", "412"):
                return ObjectChanged(f"s3://{self.bucket}/{self.prefix}{key} changed since it was checked")
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return StorageError(f"access denied to s3://{self.bucket}/{self.prefix}{key} ({code})")
            return StorageError(f"S3 error {code} on s3://{self.bucket}/{self.prefix}{key}")
        return exc

    def _info_from(self, key, d) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(d.get("Size", d.get("ContentLength", 0)) or 0),
            etag=(d.get("ETag") or "").strip('"'),
            last_modified=d.get("LastModified"),
            storage_class=d.get("StorageClass") or "STANDARD",
            version_id=d.get("VersionId") or "",
            restore=d.get("Restore") or "",
            archive_status=d.get("ArchiveStatus") or "",
        )

    def list(self):
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    full = obj["Key"]
                    if full.endswith("/"):
                        continue
                    rel = full[len(self.prefix):]
                    try:
                        rel = check_key(rel)
                    except UnsafeKey:
                        continue
                    yield self._info_from(rel, obj)
        except Exception as exc:  # noqa: BLE001 - translated into a readable error
            raise self._translate(exc) from exc

    def head(self, key):
        try:
            d = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, key) from exc
        return self._info_from(check_key(key), d)

    @contextmanager
    def fetch(self, key, *, max_bytes=None):
        info = self.head(key)
        if max_bytes is not None and info.size > max_bytes:
            raise StorageError(f"{key} is {info.size} bytes, over the limit of {max_bytes}")
        suffix = PurePosixPath(key).suffix[:10]
        fd, tmp = tempfile.mkstemp(prefix="doppel-", suffix=suffix)
        os.close(fd)
        try:
            try:
                self.client.download_file(self.bucket, self.full_key(key), tmp)
            except Exception as exc:  # noqa: BLE001
                raise self._translate(exc, key) from exc
            yield tmp
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def put(self, key, data, *, content_type="application/octet-stream"):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data, ContentType=content_type)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, key) from exc
        return self.head(key)

    def copy_to(self, key, dest, dest_key, *, if_etag=None):
        if isinstance(dest, S3Storage) and dest.profile == self.profile:
            kwargs = {}
            if if_etag:
                # Checked here too: not every S3 API (moto, some gateways) honours CopySourceIfMatch.
                if self.head(key).etag != if_etag:
                    raise ObjectChanged(f"{key} changed since it was checked")
                kwargs["CopySourceIfMatch"] = f'"{if_etag}"'
            try:
                self.client.copy_object(
                    Bucket=dest.bucket,
                    Key=dest.full_key(dest_key),
                    CopySource={"Bucket": self.bucket, "Key": self.full_key(key)},
                    MetadataDirective="COPY",
                    **kwargs,
                )
            except Exception as exc:  # noqa: BLE001
                raise self._translate(exc, key) from exc
            return dest.head(dest_key)
        if if_etag is not None and self.head(key).etag != if_etag:
            raise ObjectChanged(f"{key} changed since it was checked")
        with self.fetch(key) as path:
            return dest.put(dest_key, Path(path).read_bytes())

    def delete(self, key, *, if_etag=None, version_id=None):
        if if_etag is not None and self.head(key).etag != if_etag:
            raise ObjectChanged(f"{key} changed since it was checked")
        kwargs = {"VersionId": version_id} if version_id else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key), **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, key) from exc

    def restore(self, key, *, days, tier):
        from botocore.exceptions import ClientError

        try:
            self.client.restore_object(
                Bucket=self.bucket,
                Key=self.full_key(key),
                RestoreRequest={"Days": int(days), "GlacierJobParameters": {"Tier": tier}},
            )
            return "requested"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "RestoreAlreadyInProgress":
                return "in_progress"
            raise self._translate(exc, key) from exc

    @contextmanager
    def open_write(self, key, *, content_type="application/octet-stream"):
        writer = MultipartWriter(self, key, content_type=content_type)
        try:
            yield writer
            writer.complete()
        except BaseException:
            writer.abort()
            raise

    @contextmanager
    def open_read(self, key):
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"]
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc, key) from exc
        try:
            yield body
        finally:
            body.close()

    def versioning_enabled(self) -> bool:
        try:
            return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from exc


class MultipartWriter:
    """A write-only binary file that uploads itself in parts (S3 multipart upload): at most one
    part is held in memory, so an archive of any size streams straight into the bucket."""

    PART_SIZE = 8 * 1024 * 1024  # S3's minimum is 5 MiB for every part but the last

    def __init__(self, store: "S3Storage", key: str, *, content_type: str):
        self.store, self.key = store, check_key(key)
        self.full = store.full_key(key)
        self.buf = bytearray()
        self.parts: list[dict] = []
        self.written = 0
        try:
            self.upload_id = store.client.create_multipart_upload(
                Bucket=store.bucket, Key=self.full, ContentType=content_type)["UploadId"]
        except Exception as exc:  # noqa: BLE001
            raise store._translate(exc, key) from exc

    def writable(self):
        return True

    def write(self, data) -> int:
        self.buf += data
        self.written += len(data)
        while len(self.buf) >= self.PART_SIZE:
            self._upload(bytes(self.buf[:self.PART_SIZE]))
            del self.buf[:self.PART_SIZE]
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self):
        pass

    def _upload(self, chunk: bytes):
        n = len(self.parts) + 1
        try:
            r = self.store.client.upload_part(Bucket=self.store.bucket, Key=self.full, UploadId=self.upload_id,
                                              PartNumber=n, Body=chunk)
        except Exception as exc:  # noqa: BLE001
            raise self.store._translate(exc, self.key) from exc
        self.parts.append({"PartNumber": n, "ETag": r["ETag"]})

    def complete(self):
        if self.buf or not self.parts:
            self._upload(bytes(self.buf))
            self.buf = bytearray()
        try:
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket, Key=self.full, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
        except Exception as exc:  # noqa: BLE001
            raise self.store._translate(exc, self.key) from exc

    def abort(self):
        try:
            self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.full, UploadId=self.upload_id)
        except Exception:  # noqa: BLE001 - nothing was completed; an orphaned upload expires by lifecycle
            pass


def storage_for(source) -> Storage:
    """The storage behind a Source row (which was validated when it was added)."""
    if source.kind == "s3":
        return S3Storage(source.storage_profile, source.bucket, source.prefix)
    return LocalStorage(source.root)


def check_local_root(path: str) -> Path:
    """A local source must sit under one of settings.LOCAL_ROOTS."""
    p = Path(path).expanduser().resolve()
    for root in settings.LOCAL_ROOTS:
        if p == root or root in p.parents:
            return p
    raise UnsafeKey(
        f"{path} is not under an allowed root ({', '.join(str(r) for r in settings.LOCAL_ROOTS)}); "
        "set DOPPEL_LOCAL_ROOTS to allow it"
    )

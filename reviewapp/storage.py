"""S3 and local directories behind one interface, so jobs and the executor never care which.

Safety lives here as much as in the services: keys handed in are checked to stay inside the
source (no `..`, no absolute paths, no escaping the prefix or root), endpoints come only from
named profiles in settings, and every write that replaces or removes an object can be made
conditional on the ETag the caller saw.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from django.conf import settings

ARCHIVE_CLASSES = {"GLACIER", "DEEP_ARCHIVE"}
ARCHIVE_ACCESS_TIERS = {"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"}  # Intelligent-Tiering


class StorageError(Exception):
    """A storage problem worth showing to a person (bad bucket, no credentials, missing key)."""


class ObjectMissing(StorageError):
    pass


class ObjectRefused(StorageError):
    """The store refuses this request for this one object, and asking again will not change that
    (S3's InvalidObjectState: not archived, or archived and not restored; access denied on the
    key). Unlike a throttle, a 5xx or a lost connection, it is not worth a retry."""


# Errors about one object that a retry cannot cure: a batch fails that object's item and goes on
# with the others, where a transient error (any other StorageError) is retried for the whole batch.
PER_OBJECT_ERRORS = (ObjectMissing, ObjectRefused)


class ObjectChanged(StorageError):
    """The object is not the one the caller saw (ETag differs): a precondition failed."""


class UnsafeKey(StorageError):
    pass


class BadLocation(StorageError):
    """A location given to register a source is not valid; `field` names the field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


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
    identity: tuple = ()  # local files: (st_dev, st_ino), recorded at inventory

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


# Profile settings that are Doppel's, not boto3's.
SEPARATE_SERVICE = "separate_service"
SEPARATE_SERVICE_PROBES = 3   # objects asked of both services before a separate_service label is trusted
_DOPPEL_PROFILE_KEYS = ("addressing_style", SEPARATE_SERVICE)


def _aws_client(profile_name: str, service: str, **config):
    import boto3
    from botocore.config import Config

    profiles = settings.S3_PROFILES
    if profile_name not in profiles:
        raise StorageError(f"unknown storage profile {profile_name!r}; configured: {sorted(profiles) or 'none'}")
    opts = dict(profiles[profile_name])
    addressing = opts.get("addressing_style")
    for k in _DOPPEL_PROFILE_KEYS:
        opts.pop(k, None)
    cfg = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": addressing} if addressing and service == "s3" else {},
        connect_timeout=10,
        read_timeout=60,
        **config,
    )
    client = boto3.session.Session().client(service, config=cfg, **opts)
    if service == "s3control" and opts.get("endpoint_url"):
        # S3 Control puts the account id in front of the host; a configured endpoint (a gateway,
        # moto) answers on its own host only.
        from urllib.parse import urlsplit, urlunsplit

        netloc = urlsplit(opts["endpoint_url"]).netloc

        def _own_host(request, **_):
            request.url = urlunsplit(urlsplit(request.url)._replace(netloc=netloc))

        client.meta.events.register("before-sign.s3-control", _own_host)
    return client


def s3_client(profile_name: str):
    return _aws_client(profile_name, "s3")


_shared_clients: dict = {}
_shared_clients_lock = threading.Lock()


def shared_s3_client(profile_name: str):
    """Building a boto3 client costs ~0.3 s and the executor touches several objects per item, so
    every S3Storage of a process shares one client (they are thread-safe) per profile, profile
    settings and client factory (a forked worker builds its own)."""
    factory = s3_client
    # the factory itself, not its id: the key keeps it alive, so a later factory (a test's fake)
    # can never reuse the id of one whose client is cached
    key = (os.getpid(), factory, profile_name,
           json.dumps(settings.S3_PROFILES.get(profile_name, {}), sort_keys=True, default=str))
    with _shared_clients_lock:
        client = _shared_clients.get(key)
        if client is None:
            client = _shared_clients[key] = factory(profile_name)
    return client


class Storage:
    """Interface; `key` arguments are always relative to the source location."""

    kind = ""  # the Source.kind naming this backend (see BACKENDS)
    # The Source fields that say where a location of this backend is, and the ones a person must
    # fill in (with what to tell them when they did not).
    location_fields: tuple[str, ...] = ()
    required_fields: dict[str, str] = {}
    # What this kind of storage has, asked of the class (no I/O), so services never compare kinds.
    archive_tiers = False  # objects may sit in an archive tier and need a restore before they are read
    storage_classes = False  # objects carry a storage class worth recording
    inventory_reports = False  # a listing may come from an inventory report instead of the store itself

    def list(self) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def head(self, key: str) -> ObjectInfo:
        raise NotImplementedError

    @property
    def service(self) -> str:
        """A separate service the location's profile declares (S3 profiles); "" for the one shared."""
        return ""

    def inventory_listing(self, report: str) -> Iterator[ObjectInfo]:
        """The objects as an inventory report at `report` lists them (see `inventory_reports`)."""
        raise StorageError(f"{self.kind or type(self).__name__} storage has no inventory reports")

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

    def copy_to(self, key: str, dest: Storage, dest_key: str, *, if_etag: str | None = None) -> ObjectInfo:
        raise NotImplementedError

    def delete(self, key: str, *, if_etag: str | None = None, version_id: str | None = None,
               if_identity: tuple | None = None) -> None:
        raise NotImplementedError

    def restore(self, key: str, *, days: int, tier: str) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no archive tiers")

    # -- physical identity: what the store itself says, never how a path or endpoint is spelled

    def object_identity(self, key: str) -> tuple:
        """A value equal for two keys exactly when they name the same physical object (local:
        device and inode; S3: the service, the bucket behind any access-point alias, the full key)."""
        raise NotImplementedError

    def overlap_with(self, other: Storage) -> str:
        """Why this location can reach objects of `other` ("" when it cannot)."""
        raise NotImplementedError

    def content_token(self, key: str) -> str:
        """A value that changes whenever the bytes do: sha256 locally, the ETag on S3."""
        raise NotImplementedError

    def confirm_unchanged(self, key: str, *, etag: str, checksum: str, version_id: str = "") -> ObjectInfo:
        """Raise ObjectChanged unless the object is, by content, the one recorded (local: the
        sha256 is recomputed; S3: ETag and version)."""
        raise NotImplementedError

    def quarantine_for(self, source_name: str, item_id: int) -> tuple[Storage, str]:
        """Where an object of this storage waits out retention, and that place's location text."""
        raise NotImplementedError

    def quarantine_area(self) -> Storage:
        """Where every quarantined object of this storage's sources lies (``quarantine_for``'s places are
        inside it): no source may be registered over it, or an inventory lists the held copies as
        clean-up files and restore and purge refuse for as long as that source exists."""
        raise NotImplementedError

    def delete_every_version(self, key: str) -> int | None:
        """Remove the object with every earlier version and delete marker, and say how many went;
        None from a backend that keeps no versions (the object was deleted as `delete` does)."""
        self.delete(key)
        return None

    def lock_status(self, key: str, version_id: str = "") -> str:
        """Why the store itself forbids removing this object now, in words ("" when nothing does).
        Only S3 has such locks (Object Lock); Doppel obeys them and says so instead of failing."""
        return ""

    @classmethod
    def at_location(cls, *, storage_profile: str = "", bucket: str = "", prefix: str = "", root: str = "",
                    root_pin: str = "") -> Storage:
        """The storage at a source location's fields (each backend reads its own)."""
        raise NotImplementedError

    @classmethod
    def for_source(cls, source) -> Storage:
        """The storage behind a registered Source row of this kind."""
        raise NotImplementedError

    @classmethod
    def location_label(cls, source) -> str:
        """How a registered source's location reads to people (lists, messages); no I/O."""
        raise NotImplementedError

    @classmethod
    def registration_fields(cls, *, storage_profile: str = "", bucket: str = "", prefix: str = "",
                            root: str = "") -> dict:
        """The Source fields of a location someone asks to register, checked and normalised (a
        directory is also pinned); raises BadLocation naming the field at fault."""
        raise NotImplementedError

    @classmethod
    def from_text(cls, rest: str) -> tuple[Storage, str] | None:
        """The storage a settings value names after "<kind>:" (see location_from_text) and the
        value's canonical spelling; None when `rest` is not this backend's form."""
        raise NotImplementedError

    @property
    def display_location(self) -> str:
        """Where this storage is, for people (labels of extract locations)."""
        raise NotImplementedError

    def within_roots(self, roots) -> bool:
        """Whether this location lies under one of the directories `roots` (settings that bound
        where Doppel may write on this machine). A location off the machine is not bounded by them."""
        return True

    def make_ready(self) -> None:
        """Create the location if this backend needs it to exist before the first write."""

    def recorded_token(self, *, etag: str, checksum: str) -> str:
        """The content token (see content_token) an object recorded with this ETag/sha256 has."""
        raise NotImplementedError

    def around(self, key: str) -> Storage:
        """A storage whose location is as narrow as this backend can make it around one object
        (S3: the object's full key as a prefix; local: its directory), for overlap_with."""
        raise NotImplementedError

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


def _sha256_fd(fd: int) -> str:
    h = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1024 * 1024):
        h.update(chunk)
    os.lseek(fd, 0, os.SEEK_SET)
    return h.hexdigest()


def _local_etag(st: os.stat_result) -> str:
    """Local files have no ETag; size+mtime_ns is cheap and changes when the file does in
    ordinary use. It is NOT proof of content (`cp -p` and `rsync -a` copies share it): deletion
    and restore prove content with the sha256 instead (`confirm_unchanged`, `content_token`)."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


# --- where a local directory really is: device/inode and the mount table -------------------------

MOUNTINFO = "/proc/self/mountinfo"


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo: `fs_root` is the directory of the filesystem (device)
    that appears at `mount_point`; a bind mount of a subfolder shows that subfolder there."""

    mount_id: int
    parent_id: int
    dev: int
    fs_root: str
    mount_point: str
    fstype: str = ""


def _unescape_mount_field(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse the kernel's mount table (proc(5)); malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 7 or "-" not in parts[6:]:
            continue
        try:
            major, minor = (int(x) for x in parts[2].split(":"))
            sep = parts.index("-", 6)
            mounts.append(Mount(int(parts[0]), int(parts[1]), os.makedev(major, minor), _unescape_mount_field(parts[3]),
                                _unescape_mount_field(parts[4]), parts[sep + 1] if len(parts) > sep + 1 else ""))
        except (ValueError, IndexError):
            continue
    return mounts


def read_mounts() -> list[Mount]:
    try:
        return parse_mountinfo(Path(MOUNTINFO).read_text())
    except OSError:
        return []


def _under(path: PurePosixPath, top: PurePosixPath) -> bool:
    return path == top or top in path.parents


def fs_locations(root: PurePosixPath, mounts: list[Mount]) -> list[tuple[int, PurePosixPath]]:
    """Every place inside a filesystem that `root` reaches, as (device, path from that
    filesystem's root): the directory itself, plus whatever is mounted below it. Two spellings
    of the same files (a bind mount of a subfolder, a second mount of the device) give
    overlapping locations, whatever their paths look like."""
    best = None
    for m in mounts:  # the last mount on the longest matching mount point is the visible one
        mp = PurePosixPath(m.mount_point)
        if _under(root, mp) and (best is None or len(mp.parts) >= len(PurePosixPath(best.mount_point).parts)):
            best = m
    found = []
    if best is not None:
        found.append((best.dev, PurePosixPath(best.fs_root) / root.relative_to(best.mount_point)))
    for m in mounts:
        mp = PurePosixPath(m.mount_point)
        if mp != root and _under(mp, root):
            found.append((m.dev, PurePosixPath(m.fs_root)))
    return found


def _inode_chain(path: Path) -> list[tuple[int, int]]:
    """(st_dev, st_ino) of a directory and of each of its ancestors; empty when the directory
    does not exist (yet), since then it can hold nothing."""
    chain: list[tuple[int, int]] = []
    for p in [path, *path.parents]:
        try:
            st = os.stat(p)
        except OSError:
            if not chain:
                return []
            continue
        chain.append((st.st_dev, st.st_ino))
    return chain


def local_overlap(a: Path, b: Path, mounts: list[Mount] | None = None) -> str:
    """Why two local directories can reach the same files ("" when they cannot): by real path,
    by device/inode of one root among the other's ancestors, or by the mount table."""
    ra, rb = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    if _under(PurePosixPath(ra), PurePosixPath(rb)) or _under(PurePosixPath(rb), PurePosixPath(ra)):
        return "the directories contain one another"
    chain_a, chain_b = _inode_chain(ra), _inode_chain(rb)
    if (chain_a[:1] and chain_a[0] in chain_b) or (chain_b[:1] and chain_b[0] in chain_a):
        return "one directory is the other or one of its ancestors (same device and inode)"
    mounts = read_mounts() if mounts is None else mounts
    for dev_a, pa in fs_locations(PurePosixPath(ra), mounts):
        for dev_b, pb in fs_locations(PurePosixPath(rb), mounts):
            if dev_a == dev_b and (_under(pa, pb) or _under(pb, pa)):
                return (f"the mount table shows both reach the same files (device {os.major(dev_a)}:{os.minor(dev_a)}, "
                        f"{pa} and {pb})")
    return ""


class RootMoved(StorageError):
    """A local source's directory is no longer the one pinned when it was registered."""


# What a filesystem answers for a name it cannot hold at all (too long, bytes its encoding refuses):
# the key was never a file here and never can be, so the caller is told so (UnsafeKey, a refusal
# with words) instead of an OSError no layer above knows, which was a 500.
_BAD_NAME_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ})


@contextmanager
def _names_refused(key: str):
    """Turn the filesystem's "no such name can exist" errors for `key` into UnsafeKey."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _BAD_NAME_ERRNOS:
            raise
        raise UnsafeKey(f"{key[:80]!r}{'…' if len(key) > 80 else ''} is not a name this filesystem can hold "
                        f"({os.strerror(exc.errno).lower()}): no such file can exist here") from None


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW_DIR = _DIR_FLAGS | os.O_NOFOLLOW


class LocalStorage(Storage):
    """A directory. The root is pinned (device and inode) when the storage is built, or passed
    in from the Source row where it was pinned at registration; every operation opens the root,
    refuses if it is no longer that directory, and walks the key one component at a time relative
    to directory descriptors with O_NOFOLLOW, so neither a swapped root nor a symlink inside it
    can lead anywhere else."""

    kind = "local"
    location_fields = ("root",)
    required_fields = {"root": "a local source needs a directory"}

    def __init__(self, root: str | Path, *, pin: tuple[int, int] | None = None):
        self.root = Path(root) if pin else Path(root).resolve()
        self.pin = tuple(pin) if pin else None
        self._mounts_below: set[str] | None = None

    def mounts_below(self) -> set[str]:
        """Relative paths inside the root where something else is mounted (a bind mount shares
        the device number, so st_dev alone cannot see it): never entered."""
        if self._mounts_below is None:
            top = PurePosixPath(self.root)
            self._mounts_below = {
                PurePosixPath(m.mount_point).relative_to(top).as_posix()
                for m in read_mounts()
                if PurePosixPath(m.mount_point) != top and _under(PurePosixPath(m.mount_point), top)
            }
        return self._mounts_below

    # -- the pinned root and descriptor walks
    def _open_root(self, *, create=False) -> int:
        if create and self.pin is None:
            self.root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.root, _DIR_FLAGS)
        except FileNotFoundError:
            raise ObjectMissing(f"directory does not exist: {self.root}") from None
        try:
            self._verify_root(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _verify_root(self, fd: int) -> None:
        """The opened root must be the pinned directory, reached by its real path."""
        st = os.fstat(fd)
        if self.pin is None:
            self.pin = (st.st_dev, st.st_ino)
        if os.path.realpath(self.root) != str(self.root):
            raise RootMoved(f"{self.root} now leads to {os.path.realpath(self.root)}: the directory was replaced "
                            "(a symlink or a move) after it was registered; Doppel will not use it")
        if (st.st_dev, st.st_ino) != self.pin:
            raise RootMoved(f"{self.root} is no longer the directory pinned at registration (device/inode "
                            f"{self.pin[0]}/{self.pin[1]} → {st.st_dev}/{st.st_ino}); Doppel will not use it")

    def _open_parent(self, key: str, *, create=False) -> tuple[int, str]:
        """A descriptor of the key's directory (never reached through a symlink) and the last name."""
        parts = check_key(key).split("/")
        mounted = self.mounts_below()
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in mounted:
                raise UnsafeKey(f"{key!r} lies under a mount point inside the source; Doppel does not enter it")
        fd = self._open_root(create=create)
        try:
            for part in parts[:-1]:
                try:
                    with _names_refused(key):
                        if create:
                            try:
                                os.mkdir(part, dir_fd=fd)
                            except FileExistsError:
                                pass
                        nfd = os.open(part, _NOFOLLOW_DIR, dir_fd=fd)
                except FileNotFoundError:
                    raise ObjectMissing(f"no such file: {key}") from None
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                        raise UnsafeKey(f"{key!r} passes through a symlink; Doppel does not follow it") from None
                    raise ObjectMissing(f"no such file: {key} ({part} is not a directory)") from None
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def _open_file(self, key: str) -> int:
        dfd, name = self._open_parent(key)
        try:
            with _names_refused(key):
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
        except FileNotFoundError:
            raise ObjectMissing(f"no such file: {key}") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ObjectMissing(f"{key} is a symlink; Doppel does not follow it") from None
            raise
        finally:
            os.close(dfd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectMissing(f"not a regular file: {key}")
        return fd

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=_local_etag(st),
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
            identity=(st.st_dev, st.st_ino),
        )

    def path(self, key: str) -> Path:
        """The path of a key for messages and for tools that need one; reading goes through
        descriptors (see `fetch`)."""
        return self.root / check_key(key)

    # -- the Storage interface
    def list(self):
        rfd = self._open_root()
        try:
            root_dev = os.fstat(rfd).st_dev
            mounted = self.mounts_below()
            for dirpath, dirnames, filenames, dfd in os.fwalk(".", dir_fd=rfd, follow_symlinks=False):
                keep = []
                for d in sorted(dirnames):
                    rel_dir = PurePosixPath(dirpath, d).as_posix().removeprefix("./")
                    if rel_dir in mounted:
                        continue
                    try:
                        if os.stat(d, dir_fd=dfd, follow_symlinks=False).st_dev == root_dev:
                            keep.append(d)  # never cross into another filesystem mounted inside
                    except OSError:
                        continue
                dirnames[:] = keep
                for fn in sorted(filenames):
                    try:
                        st = os.stat(fn, dir_fd=dfd, follow_symlinks=False)
                    except OSError:
                        continue
                    if not stat.S_ISREG(st.st_mode) or fn.endswith(".doppel-tmp"):
                        continue
                    rel = PurePosixPath(dirpath, fn).as_posix()
                    rel = rel[2:] if rel.startswith("./") else rel
                    yield self._info(rel, st)
        finally:
            os.close(rfd)

    def head(self, key):
        fd = self._open_file(key)
        try:
            return self._info(check_key(key), os.fstat(fd))
        finally:
            os.close(fd)

    @contextmanager
    def fetch(self, key, *, max_bytes=None):
        """Yield /proc/self/fd/N of the opened file: whoever reads it reads exactly the file
        reached without symlinks, even if the directory changes meanwhile."""
        fd = self._open_file(key)
        try:
            size = os.fstat(fd).st_size
            if max_bytes is not None and size > max_bytes:
                raise StorageError(f"{key} is {size} bytes, over the limit of {max_bytes}")
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)

    def object_identity(self, key):
        st = self.head(key)
        return ("local", *st.identity)

    def content_token(self, key):
        fd = self._open_file(key)
        try:
            return "sha256:" + _sha256_fd(fd)
        finally:
            os.close(fd)

    def confirm_unchanged(self, key, *, etag, checksum, version_id=""):
        """Recompute the sha256 (size+mtime is not proof: `cp -p` copies share it)."""
        if not checksum:
            raise ObjectChanged(f"{key}: no sha256 was recorded when it was analysed, so its content cannot be proven")
        fd = self._open_file(key)
        try:
            st = os.fstat(fd)
            now = _sha256_fd(fd)
        finally:
            os.close(fd)
        if now != checksum.removeprefix("sha256:"):
            raise ObjectChanged(f"{key}: its content changed since it was analysed (sha256 {checksum[:12]}… → {now[:12]}…)")
        return self._info(check_key(key), st)

    @contextmanager
    def _replacing(self, key, *, mtime_ns=None):
        """Yield a binary file for a temp file beside `key` (reached through descriptors, never a
        symlink); when the block ends without an error it is synced, given `mtime_ns` if asked, and
        renamed over the key; when it raises, the temp file is removed."""
        dfd, name = self._open_parent(key, create=True)
        # a name of its own: two writers of one key (a restore clicked twice) each write their own
        # temp file; with one shared name the second removed the first's, whose rename then failed
        tmp = f".{name}.{secrets.token_hex(8)}.doppel-tmp"
        try:
            with _names_refused(key):
                wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
            try:
                with os.fdopen(wfd, "wb") as f:
                    yield f
                    f.flush()
                    os.fsync(f.fileno())
                    if mtime_ns is not None:
                        os.utime(f.fileno(), ns=(mtime_ns, mtime_ns))
                os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=dfd)
                except FileNotFoundError:
                    pass
                raise
        finally:
            os.close(dfd)

    def _write_from(self, key, reader, *, mtime_ns=None) -> ObjectInfo:
        with self._replacing(key, mtime_ns=mtime_ns) as f:
            reader(f.fileno())
        return self.head(key)

    def put(self, key, data, *, content_type="application/octet-stream"):
        def write(wfd):
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view):]

        return self._write_from(key, write)

    def copy_to(self, key, dest, dest_key, *, if_etag=None):
        fd = self._open_file(key)
        try:
            st = os.fstat(fd)
            if if_etag is not None and _local_etag(st) != if_etag:
                raise ObjectChanged(f"{key} changed since it was checked")
            if isinstance(dest, LocalStorage):
                def write(wfd):
                    os.lseek(fd, 0, os.SEEK_SET)
                    while chunk := os.read(fd, 1024 * 1024):
                        os.write(wfd, chunk)

                return dest._write_from(dest_key, write, mtime_ns=st.st_mtime_ns)
            os.lseek(fd, 0, os.SEEK_SET)
            with os.fdopen(os.dup(fd), "rb") as f:
                return dest.put(dest_key, f.read())
        finally:
            os.close(fd)

    def delete(self, key, *, if_etag=None, version_id=None, if_identity=None):
        dfd, name = self._open_parent(key)
        try:
            try:
                with _names_refused(key):
                    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                raise ObjectMissing(f"no such file: {key}") from None
            if not stat.S_ISREG(st.st_mode):
                raise ObjectMissing(f"not a regular file: {key}")
            if if_etag is not None and _local_etag(st) != if_etag:
                raise ObjectChanged(f"{key} changed since it was checked")
            if if_identity is not None and ("local", st.st_dev, st.st_ino) != tuple(if_identity):
                raise ObjectChanged(f"{key} is no longer the file that was checked (device/inode differ)")
            os.unlink(name, dir_fd=dfd)
        finally:
            os.close(dfd)

    def overlap_with(self, other: Storage) -> str:
        if not isinstance(other, LocalStorage):
            return ""
        return local_overlap(self.root, other.root)

    def recorded_token(self, *, etag, checksum):
        return "sha256:" + checksum

    def around(self, key):
        return LocalStorage(self.path(key).parent)

    def quarantine_for(self, source_name: str, item_id: int) -> tuple[Storage, str]:
        store = LocalStorage(self.quarantine_area().root / source_name / str(item_id))
        return store, str(store.root)

    def quarantine_area(self) -> LocalStorage:
        return LocalStorage(Path(settings.QUARANTINE_DIR).resolve())

    @classmethod
    def at_location(cls, *, root="", root_pin="", **_other):
        return cls(root, pin=parse_pin(root_pin) if root_pin else None)

    @classmethod
    def registration_fields(cls, *, root="", **_other):
        try:
            path = check_local_root(root)
        except UnsafeKey as exc:
            raise BadLocation("root", str(exc)) from exc
        if not path.is_dir():
            raise BadLocation("root", f"directory does not exist: {path}")
        try:
            pin = local_root_pin(str(path))
        except StorageError as exc:
            raise BadLocation("root", str(exc)) from exc
        return {"root": str(path), "root_pin": format_pin(pin)}

    @classmethod
    def from_text(cls, rest):
        path = Path(rest).expanduser()
        return cls(path), f"local:{path}"

    @property
    def display_location(self):
        return f"local:{self.root}"

    def within_roots(self, roots):
        return any(self.root == root or root in self.root.parents for root in roots)

    def make_ready(self):
        self.root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def location_label(cls, source):
        return source.root

    @classmethod
    def for_source(cls, source):
        # A row without a pin (made outside source_add) is pinned for this use only, and only if its
        # root is still its real path; source_add and the 0002 migration pin rows in the database.
        pin = parse_pin(source.root_pin) if getattr(source, "root_pin", "") else local_root_pin(source.root)
        return cls(source.root, pin=pin)

    @contextmanager
    def open_write(self, key, *, content_type="application/octet-stream"):
        """Through descriptors, like every other access (see `_replacing`)."""
        with self._replacing(key) as f:
            yield f

    @contextmanager
    def open_read(self, key):
        with os.fdopen(self._open_file(key), "rb") as f:
            yield f


BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
ACCESS_POINT_ALIAS_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap")


def is_access_point_alias(bucket: str) -> bool:
    return bucket.startswith("arn:") or bucket.endswith(ACCESS_POINT_ALIAS_SUFFIXES)


class S3Storage(Storage):
    """A bucket and prefix through a named profile. Identity is the bucket as the store sees it:
    every profile is taken to reach the same service (endpoint spellings such as localhost and
    127.0.0.1 are never compared) unless the profile declares `separate_service` in its settings,
    and an access-point alias counts as the bucket it serves."""

    kind = "s3"
    location_fields = ("storage_profile", "bucket", "prefix")
    required_fields = {"storage_profile": "choose a storage profile for an S3 source", "bucket": "an S3 source needs a bucket"}
    archive_tiers = True
    storage_classes = True
    inventory_reports = True

    def __init__(self, profile: str, bucket: str, prefix: str = ""):
        self.profile = profile
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = None
        self._resolved_bucket = None

    @property
    def service(self) -> str:
        return str(settings.S3_PROFILES.get(self.profile, {}).get(SEPARATE_SERVICE) or "")

    def resolved_bucket(self) -> str:
        """The bucket behind an access-point alias or ARN (asked of S3 Control); raises
        StorageError when it cannot be told, so nothing is registered or deleted on a guess."""
        if not is_access_point_alias(self.bucket):
            return self.bucket
        if self._resolved_bucket is None:
            try:
                account = _aws_client(self.profile, "sts").get_caller_identity()["Account"]
                control = _aws_client(self.profile, "s3control")
                token = None
                while self._resolved_bucket is None:
                    page = control.list_access_points(AccountId=account, **({"NextToken": token} if token else {}))
                    for ap in page.get("AccessPointList", []):
                        if self.bucket in (ap.get("Alias"), ap.get("AccessPointArn")):
                            self._resolved_bucket = ap["Bucket"]
                    token = page.get("NextToken")
                    if not token:
                        break
            except Exception as exc:  # noqa: BLE001 - any failure means "cannot tell"
                raise StorageError(f"cannot tell which bucket the access point {self.bucket!r} serves ({exc}); "
                                   "register the bucket itself") from exc
            if self._resolved_bucket is None:
                raise StorageError(f"{self.bucket!r} is not one of this account's access points; cannot tell "
                                   "which bucket it serves; register the bucket itself")
        return self._resolved_bucket

    def bucket_identity(self) -> tuple[str, str]:
        return (self.service, self.resolved_bucket())

    def object_identity(self, key):
        return ("s3", *self.bucket_identity(), self.full_key(key))

    def overlap_with(self, other):
        if not isinstance(other, S3Storage):
            return ""
        a, b = self.prefix, other.prefix
        if not (a.startswith(b) or b.startswith(a)):
            return ""
        if self.bucket_identity() == other.bucket_identity():
            via = "" if self.bucket == other.bucket else f" (through the access point {self.bucket if self.bucket != self.resolved_bucket() else other.bucket})"
            return f"same bucket {self.resolved_bucket()!r}{via} with overlapping prefixes ({a or '/'} and {b or '/'})"
        if self.resolved_bucket() == other.resolved_bucket():
            return self._one_service_after_all(other)
        return ""

    def _one_service_after_all(self, other: S3Storage) -> str:
        """Why two locations with one bucket name and overlapping prefixes, which only their profiles'
        ``separate_service`` labels tell apart, are one service after all ("" when nothing shows it): up to
        ``SEPARATE_SERVICE_PROBES`` objects of the narrower location, asked of both services, are the same
        object (ETag, size and last-modified time, which the service sets when it stores an object).

        Why: the label is a setting, not evidence. A profile labelled separate that reached the very
        service of a canonical source let an attack register a clean-up source over the canonical
        prefix and quarantine a canonical object. Read-only (HEAD and a short listing), so it may ask a
        canonical store too; where it cannot ask, it cannot tell, and the locations are not proven apart."""
        narrow, wide = (self, other) if len(self.prefix) >= len(other.prefix) else (other, self)
        try:
            listed = narrow.client.list_objects_v2(Bucket=narrow.bucket, Prefix=narrow.prefix.rstrip("/"),
                                                   MaxKeys=SEPARATE_SERVICE_PROBES)
        except Exception as exc:  # noqa: BLE001
            raise narrow._translate(exc) from exc
        for entry in listed.get("Contents", []):
            key = entry["Key"]
            seen = []
            for store in (narrow, wide):
                try:
                    seen.append(store.client.head_object(Bucket=store.bucket, Key=key))
                except Exception as exc:  # noqa: BLE001
                    why = store._translate(exc)
                    if isinstance(why, ObjectMissing):
                        break
                    raise StorageError(f"cannot tell whether profiles {self.profile!r} and {other.profile!r} reach "
                                       f"separate services ({why})") from exc
            if len(seen) < 2:
                continue
            here, there = seen
            if all(here.get(f) == there.get(f) for f in ("ETag", "ContentLength", "LastModified")):
                return (f"profiles {self.profile!r} and {other.profile!r} are labelled separate services, but "
                        f"s3://{narrow.bucket}/{key} is the same object through both (ETag, size and last-modified "
                        f"time): one service, with overlapping prefixes ({self.prefix or '/'} and {other.prefix or '/'})")
        return ""

    def content_token(self, key):
        return "etag:" + self.head(key).etag

    def confirm_unchanged(self, key, *, etag, checksum, version_id=""):
        info = self.head(key)
        if info.etag != etag:
            raise ObjectChanged(f"{key}: its content changed since it was analysed (ETag {etag} → {info.etag})")
        if version_id and info.version_id and info.version_id != version_id:
            raise ObjectChanged(f"{key}: a new version replaced the one analysed ({version_id} → {info.version_id})")
        return info

    def recorded_token(self, *, etag, checksum):
        return "etag:" + etag

    def around(self, key):
        return S3Storage(self.profile, self.bucket, self.full_key(key))

    def delete_every_version(self, key):
        """Every version and delete marker of one key on a versioned bucket."""
        full = self.full_key(key)
        removed = 0
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=full):
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if v["Key"] == full:
                    self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=v["VersionId"])
                    removed += 1
        return removed

    def lock_status(self, key, version_id=""):
        """Object Lock: a retention date in the future or a legal hold. HEAD returns the lock
        headers (given s3:GetObjectRetention / s3:GetObjectLegalHold), one request for both."""
        kwargs = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            head = self.client.head_object(**kwargs)
        except Exception:  # noqa: BLE001 - a missing object has no lock; the caller handles missing
            return ""
        notes = []
        until = head.get("ObjectLockRetainUntilDate")
        if until and until > datetime.now(UTC):
            mode = (head.get("ObjectLockMode") or "").lower()
            notes.append(f"locked until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({mode} retention)")
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            notes.append("under legal hold")
        return "; ".join(notes)

    @classmethod
    def at_location(cls, *, storage_profile="", bucket="", prefix="", **_other):
        return cls(storage_profile, bucket, prefix)

    @classmethod
    def for_source(cls, source):
        return cls(source.storage_profile, source.bucket, source.prefix)

    @classmethod
    def location_label(cls, source):
        return f"s3://{source.bucket}/{source.prefix}"

    @classmethod
    def registration_fields(cls, *, storage_profile="", bucket="", prefix="", **_other):
        if storage_profile not in settings.S3_PROFILES:
            raise BadLocation("storage_profile", f"unknown storage profile {storage_profile!r}; configured: "
                                                 f"{sorted(settings.S3_PROFILES) or 'none'}")
        if not BUCKET_RE.match(bucket or ""):
            raise BadLocation("bucket", f"not a valid bucket name: {bucket!r}")
        prefix = (prefix or "").strip().lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if ".." in prefix.split("/"):
            raise BadLocation("prefix", "a prefix may not contain '..'")
        try:
            cls(storage_profile, bucket).bucket_identity()  # an access-point alias must name a known bucket
        except StorageError as exc:
            raise BadLocation("bucket", str(exc)) from exc
        return {"storage_profile": storage_profile, "bucket": bucket, "prefix": prefix}

    @classmethod
    def from_text(cls, rest):
        if ":" not in rest:
            return None
        profile, _, bucket_prefix = rest.partition(":")
        bucket, _, prefix = bucket_prefix.partition("/")
        if not profile or not bucket:
            return None
        if profile not in settings.S3_PROFILES:
            raise StorageError(f"names unknown storage profile {profile!r}")
        return cls(profile, bucket, prefix), f"s3:{profile}:{bucket}/{prefix}"

    @property
    def display_location(self):
        return f"s3://{self.bucket}/{self.prefix}"

    def quarantine_for(self, source_name, item_id):
        area = self.quarantine_area()
        store = S3Storage(self.profile, area.bucket, f"{area.prefix}{source_name}/{item_id}")
        return store, f"s3://{area.bucket}/{store.prefix}"

    def quarantine_area(self) -> S3Storage:
        return S3Storage(self.profile, settings.QUARANTINE_BUCKET or self.bucket, settings.QUARANTINE_PREFIX)

    @property
    def client(self):
        if self._client is None:
            self._client = shared_s3_client(self.profile)
        return self._client

    def full_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _translate(self, exc, key=""):
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

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
            if code in ("AccessDenied", "403") and key:
                return ObjectRefused(f"access denied to s3://{self.bucket}/{self.prefix}{key} ({code})")
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return StorageError(f"access denied to s3://{self.bucket}/{self.prefix}{key} ({code})")
            if code == "InvalidObjectState":
                return ObjectRefused(f"S3 refused this for s3://{self.bucket}/{self.prefix}{key} ({code}): the object's "
                                     "storage class does not allow it (not archived any more, or archived and "
                                     "not restored); re-inventory the source")
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

    def delete(self, key, *, if_etag=None, version_id=None, if_identity=None):
        if if_identity is not None and self.object_identity(key) != tuple(if_identity):
            raise ObjectChanged(f"{key} is not the object that was checked")
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

    def inventory_listing(self, report):
        """An S3 Inventory report (s3://bucket/key/manifest.json), each part checked against the
        manifest's MD5 before its first row."""
        from .s3inventory import iter_report  # s3inventory reads ObjectInfo and the errors from here

        return iter_report(self.client, report, source_bucket=self.bucket, prefix=self.prefix)

    def versioning_enabled(self) -> bool:
        try:
            return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from exc


class MultipartWriter:
    """A write-only binary file that uploads itself in parts (S3 multipart upload): at most one
    part is held in memory, so an archive of any size streams straight into the bucket."""

    PART_SIZE = 8 * 1024 * 1024  # S3's minimum is 5 MiB for every part but the last

    def __init__(self, store: S3Storage, key: str, *, content_type: str):
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


# The backends a source (Source.kind) can name: a new backend is its class here, its settings and
# its tests; services ask the storage, never the kind.
BACKENDS: dict[str, type[Storage]] = {LocalStorage.kind: LocalStorage, S3Storage.kind: S3Storage}


def backend(kind: str) -> type[Storage]:
    """The class of storage a Source.kind names (StorageError for a kind no backend has)."""
    try:
        return BACKENDS[kind]
    except KeyError:
        raise StorageError(f"unknown storage kind {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None


def location_storage(*, kind, storage_profile="", bucket="", prefix="", root="", root_pin="") -> Storage:
    """The storage a (proposed) source location would use; overlap is asked of it, so each backend
    decides what "the same objects" means (see Storage.overlap_with)."""
    return backend(kind).at_location(storage_profile=storage_profile, bucket=bucket, prefix=prefix, root=root,
                                      root_pin=root_pin)


def location_from_text(text: str, *, what: str) -> tuple[Storage, str]:
    """A location named in settings as "local:/path" or "s3:PROFILE:BUCKET/PREFIX" (each backend
    reads its own part), with the value's canonical spelling; StorageError naming `what` when it is
    neither."""
    kind, _, rest = str(text or "").partition(":")
    backend = BACKENDS.get(kind)
    try:
        found = backend.from_text(rest) if backend is not None and rest else None
    except StorageError as exc:
        raise StorageError(f"{what} {exc}") from None
    if found is None:
        raise StorageError(f"{what} is not valid: {text!r} (use local:/path or s3:PROFILE:BUCKET/PREFIX)")
    return found


def source_location(source) -> Storage:
    """A registered source's location as given (a directory is resolved, not held to its pin):
    what overlap checks compare."""
    return location_storage(kind=source.kind, storage_profile=source.storage_profile, bucket=source.bucket,
                            prefix=source.prefix, root=source.root)


def backend_of(source) -> type[Storage]:
    """The class of storage behind a source: what it can do, asked without touching it."""
    return backend(source.kind)


def storage_for(source) -> Storage:
    """The storage behind a Source row (which was validated, and for a directory pinned, when it
    was added)."""
    return backend(source.kind).for_source(source)


def format_pin(pin: tuple[int, int]) -> str:
    return f"{pin[0]}:{pin[1]}"


def parse_pin(text: str) -> tuple[int, int]:
    dev, ino = text.split(":")
    return int(dev), int(ino)


def local_root_pin(root: str) -> tuple[int, int]:
    """(st_dev, st_ino) of a directory that must be given by its real path."""
    real = os.path.realpath(root)
    if real != str(root):
        raise RootMoved(f"{root} leads to {real}; a source directory must be given by its real path")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        raise ObjectMissing(f"directory does not exist: {root}") from None
    return (st.st_dev, st.st_ino)


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

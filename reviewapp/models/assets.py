from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .sources import Source


class Asset(models.Model):
    """One object in a source, as last inventoried, and what the engine made of it."""

    class State(models.TextChoices):
        LISTED = "listed", "Listed"
        ARCHIVED = "archived", "Archived (needs restore)"
        RESTORING = "restoring", "Restoring"
        AVAILABLE = "available", "Available"
        FINGERPRINTED = "fingerprinted", "Fingerprinted"
        UNREADABLE = "unreadable", "Unreadable"
        VANISHED = "vanished", "Vanished"

    class DecodeStatus(models.TextChoices):
        UNKNOWN = "", "Not analysed"
        OK = "ok", "Decodes fully"
        DAMAGED = "damaged", "Damaged"
        UNREADABLE = "unreadable", "Does not decode"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="assets")
    key = models.CharField(max_length=1024)
    name = models.CharField(max_length=512, db_index=True, help_text="basename of the key")
    size = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=200, blank=True)
    checksum = models.CharField(max_length=128, blank=True, help_text="sha256 of the bytes, once fetched")
    inode = models.CharField(max_length=48, blank=True, db_index=True,
                             help_text="local files: st_dev:st_ino at the last inventory (physical identity)")
    storage_class = models.CharField(max_length=40, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    version_id = models.CharField(max_length=1024, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.LISTED, db_index=True)
    restore_expires_at = models.DateTimeField(null=True, blank=True)
    last_seen_generation = models.PositiveBigIntegerField(
        null=True, blank=True,
        help_text="the source's inventory generation that last listed this object: an inventory marks "
                  "vanished what its own generation did not stamp, without holding every id in memory")

    format = models.CharField(max_length=20, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    pictures = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="every picture the file holds (pages, frames, previews) and data after its end; only the first is "
                  "compared, so a clean-up file of more than one is never deleted on the engine's word "
                  "(matching.holds_at_least_as_much; null: not measured, the page count stands for it)")
    bit_depth = models.PositiveSmallIntegerField(null=True, blank=True)
    mode = models.CharField(max_length=16, blank=True)
    icc = models.CharField(
        max_length=120, null=True, blank=True,
        help_text="the colour profile its pixels are shown through (matching.decode.colour_profile): empty for none "
                  "or sRGB; null: not read (analysed before proof 1.38)")
    decode_status = models.CharField(max_length=12, choices=DecodeStatus.choices, blank=True, default="")
    decode_error = models.TextField(blank=True)
    analysis = models.JSONField(null=True, blank=True, help_text="matching.FileAnalysis.to_dict()")
    ids = models.JSONField(default=list, blank=True, help_text="IDs found in the name")
    engine_version = models.CharField(max_length=40, blank=True)
    analysed_etag = models.CharField(max_length=200, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    rendition = models.CharField(max_length=512, blank=True, help_text="web-size JPEG in the renditions storage")
    thumbnail = models.CharField(max_length=512, blank=True)

    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "key"]
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="asset_unique_key")]
        indexes = [models.Index(fields=["source", "state"])]

    def __str__(self):
        return f"{self.source.name}:{self.key}"

    # -- "a restored copy is still there": the one rule. S3 deletes a restored copy by itself at
    # restore_expires_at (set only when a restore completed, cleared when the content changes); from
    # then on the object is archived again, whatever state the row was left in, and must be
    # restored before anything reads it. Estimates, restore requests, extracts, analysis and
    # inventory all ask this, so none of them counts a vanished copy as readable.
    @staticmethod
    def restore_lapsed_q(now=None) -> Q:
        return Q(restore_expires_at__lte=now or timezone.now())

    def restore_lapsed(self, now=None) -> bool:
        return self.restore_expires_at is not None and self.restore_expires_at <= (now or timezone.now())

    @classmethod
    def state_analysed(cls, decode_status: str) -> str:
        """The state an analysis leaves a file in: fingerprinted when anything of it decoded (damaged
        files too: their intact part is matched), unreadable otherwise. One rule for the analysis
        that writes it and for an inventory that lists an analysed file again after it vanished."""
        return cls.State.UNREADABLE if decode_status == cls.DecodeStatus.UNREADABLE else cls.State.FINGERPRINTED

    @property
    def lossless(self) -> bool | None:
        """A WebP or JPEG 2000 file's coding may keep every pixel (its analysis's
        ``matching.formats.coded_losslessly``; None: not known), for ``holds_at_least_as_much``."""
        return (self.analysis or {}).get("lossless")

    @property
    def jpeg_quality(self) -> int | None:
        """A JPEG's estimated quality (its analysis's, read with the full-detail rendition; None: not
        known), for ``holds_at_least_as_much``."""
        return (self.analysis or {}).get("jpeg_quality")

    @property
    def pixel_sha256(self) -> str:
        """SHA-256 of its decoded pixels (its analysis's, ``matching.proof.samples_digest``; "": not known),
        for ``holds_at_least_as_much``: a copy holding more than 8-bit RGB is safe to delete only with the
        kept copy's samples (``matching.samples_shown_equal``)."""
        return (self.analysis or {}).get("pixel_sha256") or ""

    @property
    def pixel_size(self):
        return f"{self.width}×{self.height}" if self.width and self.height else ""


class AssetIdentifier(models.Model):
    """An ID read from an asset's name (C0001234 ~ C1234a): the fast path for pairing by name."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="identifiers")
    value = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "value"], name="asset_identifier_unique")]


class NameList(models.Model):
    """Names or IDs someone uploaded to select part of a source (a box list, an ingest batch)."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="namelists")
    title = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    original_filename = models.CharField(max_length=255, blank=True)
    requested = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)
    ambiguous = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class NameListEntry(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FOUND = "found", "Found"
        NOT_FOUND = "not_found", "Not found"
        AMBIGUOUS = "ambiguous", "Ambiguous"

    namelist = models.ForeignKey(NameList, on_delete=models.CASCADE, related_name="entries")
    line = models.PositiveIntegerField()
    raw = models.CharField(max_length=1024)
    normalised = models.CharField(max_length=1024, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    match_count = models.PositiveIntegerField(default=0)
    assets = models.ManyToManyField(Asset, blank=True, related_name="namelist_entries")

    class Meta:
        ordering = ["namelist", "line"]
        constraints = [models.UniqueConstraint(fields=["namelist", "line"], name="namelist_entry_line_unique")]

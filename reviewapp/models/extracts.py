"""Extracts: name lists packaged as tar archives (one per list) in a configured extract location,
with a manifest per archive and a required expiry after which the archives are deleted."""
from django.conf import settings
from django.db import models

from .assets import Asset, NameList, NameListEntry


class ExtractQuerySet(models.QuerySet):
    def cancel_unfinished(self) -> int:
        """These extracts, if still waiting or building, say they are cancelled. Their job was
        cancelled and nothing builds the rest of them: the job's cancel calls this in its own
        transaction (a paused job has no worker left to hear of it, and a queued one may wait long),
        and so does the build when it finds its job cancelled."""
        return self.filter(state__in=Extract.UNFINISHED_STATES).update(state=Extract.State.CANCELLED)

    def pause_unfinished(self) -> int:
        """These extracts, if still waiting or building, say they are paused: their job was paused
        and nothing builds them until it is resumed (they read "building" for as long as it stayed
        paused). The job's pause calls this in its own transaction, and so does the build when it
        stops for the pause."""
        return self.filter(state__in=[Extract.State.PENDING, Extract.State.BUILDING]).update(state=Extract.State.PAUSED)

    def resume_paused(self) -> int:
        """These extracts, if paused, wait to be built again (the build says "building" once a
        worker takes it): the job's resume calls this."""
        return self.filter(state=Extract.State.PAUSED).update(state=Extract.State.PENDING)


class Extract(models.Model):
    """One request to package one or more name lists. The archives live until `expires_at`."""

    class Content(models.TextChoices):
        ORIGINAL = "original", "Originals (the bytes as stored)"
        RENDITION = "rendition", "JPEG renditions at a chosen size"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be built"
        BUILDING = "building", "Building"
        PAUSED = "paused", "Paused (resume its job to build the rest)"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired (archives deleted)"

    # Every state but expired may have archives on storage (a cancelled extract may have built
    # some lists before it stopped): the extracts the dashboard lists as live. What expiry sweeps and
    # a takedown reaches is asked of each archive's own state (an expired extract may still hold an
    # archive whose delete failed): services.extracts.live_archives_holding, extract_expire_due.
    LIVE_STATES = (State.PENDING, State.BUILDING, State.PAUSED, State.READY, State.FAILED, State.CANCELLED)
    # not built yet, and not given up: what a cancel turns into "cancelled"
    UNFINISHED_STATES = (State.PENDING, State.BUILDING, State.PAUSED)

    title = models.CharField(max_length=200)
    location = models.CharField(max_length=80, help_text="name of a configured extract location (DOPPEL_EXTRACT_LOCATIONS)")
    content = models.CharField(max_length=10, choices=Content.choices, default=Content.ORIGINAL)
    max_side = models.PositiveIntegerField(null=True, blank=True, help_text="longest side of renditions, in pixels")
    sample_size = models.PositiveIntegerField(null=True, blank=True, help_text="a random sample of N names per list")
    sample_seed = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    job = models.ForeignKey("reviewapp.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    objects = ExtractQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Extract #{self.pk} {self.title}"


class ExtractArchive(models.Model):
    """One tar archive: one name list of an extract."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        BUILT = "built", "Built"
        DELETED = "deleted", "Deleted"

    extract = models.ForeignKey(Extract, on_delete=models.CASCADE, related_name="archives")
    namelist = models.ForeignKey(NameList, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=1024, help_text="object key in the extract location")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    requested = models.PositiveIntegerField(default=0, help_text="names asked for (the sample, when sampled)")
    found = models.PositiveIntegerField(default=0, help_text="names the database knew")
    extracted = models.PositiveIntegerField(default=0, help_text="files the archive holds")
    repeated = models.PositiveIntegerField(default=0, help_text="names of an object an earlier line already named")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    rebuilds = models.PositiveIntegerField(default=0, help_text="rebuilt without taken-down objects")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["extract", "id"]
        constraints = [models.UniqueConstraint(fields=["extract", "namelist"], name="extract_archive_unique_list")]


class ExtractMember(models.Model):
    """One manifest line: a name requested and what became of it."""

    class Outcome(models.TextChoices):
        EXTRACTED = "extracted", "Extracted"
        AMBIGUOUS = "ambiguous", "Ambiguous (one was chosen and extracted)"
        NOT_FOUND = "not_found", "Not found"
        ARCHIVED = "archived", "In an archive tier, not restored"
        FAILED = "failed", "Failed"
        TAKEN_DOWN = "taken_down", "Removed by a legal takedown"
        # the object an earlier line already named: that line carries its outcome (and its one copy
        # in the archive), so no object is counted, fetched or stored twice
        REPEATED = "repeated", "Named again (counted once, on its first line)"

    IN_ARCHIVE = (Outcome.EXTRACTED, Outcome.AMBIGUOUS)

    archive = models.ForeignKey(ExtractArchive, on_delete=models.CASCADE, related_name="members")
    entry = models.ForeignKey(NameListEntry, null=True, on_delete=models.SET_NULL, related_name="+")
    line = models.PositiveIntegerField()
    name = models.CharField(max_length=1024, help_text="the name as requested")
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="extract_members")
    key = models.CharField(max_length=1024, blank=True, help_text="the object chosen")
    arcname = models.CharField(max_length=1100, blank=True, help_text="path inside the archive")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True, help_text="why: the choice made, the restore estimate, the error")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["archive", "line"]
        constraints = [models.UniqueConstraint(fields=["archive", "line"], name="extract_member_unique_line")]
        indexes = [models.Index(fields=["asset", "outcome"])]

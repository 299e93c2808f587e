from django.conf import settings
from django.db import models

from .assets import Asset
from .base import AppendOnlyModel


class DeletionPlan(models.Model):
    """A dry-run list of what would be deleted; nothing happens until an admin confirms it."""

    class State(models.TextChoices):
        DRAFT = "draft", "Dry run (not confirmed)"
        CONFIRMED = "confirmed", "Confirmed"
        EXECUTING = "executing", "Executing"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    source = models.ForeignKey("reviewapp.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    job = models.ForeignKey("reviewapp.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]


class DeletionItem(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        EXECUTING = "executing", "Executing (claimed by a run)"
        QUARANTINED = "quarantined", "Quarantined"
        PURGED = "purged", "Purged"
        ABORTED = "aborted", "Aborted"
        RESTORED = "restored", "Restored"

    plan = models.ForeignKey(DeletionPlan, on_delete=models.PROTECT, related_name="items")
    decision = models.ForeignKey("reviewapp.Decision", on_delete=models.PROTECT, related_name="deletion_items")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="deletion_items")
    kept_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="kept_for")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PLANNED, db_index=True)
    claimed_by_job = models.ForeignKey("reviewapp.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                       help_text="the executor run that holds this item while it is executing")
    etag_at_decision = models.CharField(max_length=200)
    checksum_at_decision = models.CharField(max_length=128, blank=True, help_text="sha256 recorded at analysis")
    kept_etag_at_decision = models.CharField(max_length=200)
    size = models.BigIntegerField(default=0)
    diff_score = models.FloatField(null=True, blank=True)
    local_score = models.FloatField(null=True, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    quarantine_location = models.CharField(max_length=1024, blank=True)
    quarantine_version_id = models.CharField(max_length=1024, blank=True)
    quarantine_checksum = models.CharField(max_length=200, blank=True,
                                           help_text="content token (sha256: or etag:) of the quarantine copy when it was made")
    original_version_id = models.CharField(max_length=1024, blank=True, help_text="version removed on a versioned bucket")
    thresholds = models.JSONField(default=dict, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="why it was aborted")
    dry_run_reason = models.TextField(blank=True, help_text="the dry run's re-check: why this item would abort ('' = it would run)")
    dry_run_at = models.DateTimeField(null=True, blank=True, help_text="when the dry run re-checked this item")

    @property
    def dry_run_outcome(self) -> str:
        """What the dry run predicts, in words: "would run", "would abort: reason" or "" (not checked)."""
        if self.dry_run_at is None:
            return ""
        return f"would abort: {self.dry_run_reason}" if self.dry_run_reason else "would run"
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(asset=models.F("kept_asset")), name="deletion_kept_is_not_deleted"),
            models.UniqueConstraint(fields=["decision"], name="deletion_item_unique_decision"),
        ]


class AuditEntry(AppendOnlyModel):
    """Written before anything irreversible happens, so no object leaves without a record."""

    class Action(models.TextChoices):
        QUARANTINE = "quarantine", "Move to quarantine"
        PURGE = "purge", "Purge"
        RESTORE = "restore", "Restore from quarantine"
        ABORT = "abort", "Abort"
        TAKEDOWN = "takedown", "Legal takedown"
        EXPIRE = "expire", "Extract expired (archive deleted)"
        REBUILD = "rebuild", "Extract rebuilt without a taken-down object"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    item = models.ForeignKey(DeletionItem, null=True, blank=True, on_delete=models.PROTECT, related_name="audit")
    source_name = models.CharField(max_length=80)
    key = models.CharField(max_length=1024)
    etag = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(default=0)
    kept_source_name = models.CharField(max_length=80, blank=True)
    kept_key = models.CharField(max_length=1024, blank=True)
    kept_etag = models.CharField(max_length=200, blank=True)
    diff_score = models.FloatField(null=True, blank=True)
    local_score = models.FloatField(null=True, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    decision = models.ForeignKey("reviewapp.Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    executed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=40, blank=True, help_text="filled by a follow-up row, never by editing")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

from django.conf import settings
from django.db import models

from .assets import Asset
from .base import AppendOnlyModel


class ReingestItem(models.Model):
    """A clean-up copy on its way into permanent storage, tracked until the canonical store is
    proven to hold it. Until then the copy is the only good one and must not be deleted."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        COPIED = "copied", "Copied to ingest location"
        SUBMITTED = "submitted", "Submitted"
        INGESTED = "ingested", "Ingested"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"
        WITHDRAWN = "withdrawn", "Withdrawn (decision undone)"

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="reingests")
    decision = models.OneToOneField("reviewapp.Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="reingest_item")
    reason = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    checksum = models.CharField(max_length=128, blank=True, help_text="sha256 of the copied bytes")
    target_location = models.CharField(max_length=1024, blank=True)
    target_key = models.CharField(max_length=1024, blank=True)
    manifest_key = models.CharField(max_length=1024, blank=True)
    canonical_key = models.CharField(max_length=1024, blank=True, help_text="where the canonical store says it put it")
    canonical_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="reingested_from")
    error = models.TextField(blank=True)
    retryable = models.BooleanField(default=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class ReingestEvent(AppendOnlyModel):
    item = models.ForeignKey(ReingestItem, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

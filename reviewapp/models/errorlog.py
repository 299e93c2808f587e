from django.conf import settings
from django.db import models

from .assets import Asset


class ErrorLogEntry(models.Model):
    """A problem a curator found that collections staff must fix (exported as a spreadsheet)."""

    class Category(models.TextChoices):
        CANONICAL_CORRUPT = "canonical_corrupt", "Canonical corrupted"
        CLEANUP_CORRUPT = "cleanup_corrupt", "Clean-up copy corrupted"
        WRONG_ID = "wrong_id", "Wrong ID"
        NOT_IN_CANONICAL = "not_in_canonical", "Not in canonical store"
        OTHER = "other", "Other"

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="error_entries")
    match_asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision = models.OneToOneField("reviewapp.Decision", null=True, blank=True, on_delete=models.PROTECT, related_name="error_entry")
    category = models.CharField(max_length=20, choices=Category.choices, db_index=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    withdrawn = models.BooleanField(default=False, help_text="the decision that logged it was undone")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "error log entries"

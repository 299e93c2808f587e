from django.conf import settings
from django.db import models

from .assets import Asset
from .base import AppendOnlyModel


class Takedown(AppendOnlyModel):
    """An object removed by a legal takedown. Its existence is what makes every image URL of the
    asset (and of every pair involving it) answer 410 Gone, and keeps it out of any new extract."""

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="takedowns")
    reason = models.TextField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # An object is taken down once: a second request for it (the form sent twice, a retry after a
        # failed step) finishes the steps, each with its own audit rows, and records no second takedown.
        constraints = [models.UniqueConstraint(fields=["asset"], name="takedown_once_per_asset")]

from django.db import models

from .assets import Asset
from .jobs import Job


class JobItem(models.Model):
    """One asset's part in a job. The row is what makes a retry or a redelivered task after a
    worker crash harmless: the work and the job's counters move together with this row's state,
    in one transaction, so nothing is counted or done twice and nothing pending is forgotten."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        WAITING = "waiting", "Waiting (restore requested)"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped (nothing to do)"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="job_items")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "asset"], name="job_item_unique_asset")]
        indexes = [models.Index(fields=["job", "state"])]

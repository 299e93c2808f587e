from django.conf import settings
from django.db import models

from .base import AppendOnlyModel


class Job(models.Model):
    """A long piece of background work and its progress, so nobody has to babysit it."""

    class Kind(models.TextChoices):
        INVENTORY = "inventory", "Inventory"
        NAMELIST = "namelist", "Resolve name list"
        RESTORE = "restore", "Restore from archive"
        ANALYSE = "analyse", "Analyse"
        PAIR = "pair", "Pair candidates"
        DELETE = "delete", "Execute deletion plan"
        PURGE = "purge", "Purge quarantine"
        REINGEST = "reingest", "Reingest"
        REINGEST_CHECK = "reingest_check", "Check reingests"
        EXPORT = "export", "Export"
        REVERIFY = "reverify", "Re-verify open candidates"
        EXTRACT = "extract", "Build extract archives"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.QUEUED, State.AWAITING_CONFIRMATION, State.RUNNING, State.PAUSED)

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    state = models.CharField(max_length=24, choices=State.choices, default=State.QUEUED, db_index=True)
    source = models.ForeignKey("reviewapp.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    namelist = models.ForeignKey("reviewapp.NameList", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    params = models.JSONField(default=dict, blank=True)
    requested = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def is_active(self):
        return self.state in self.ACTIVE_STATES


class JobEvent(AppendOnlyModel):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

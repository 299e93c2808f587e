from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from ..storage import backend


class Source(models.Model):
    """A place images live: an S3 bucket+prefix reached through a named storage profile, or a
    local directory under an allowed root. The role decides what Doppel may ever delete there."""

    class Kind(models.TextChoices):
        S3 = "s3", "S3"
        LOCAL = "local", "Local directory"

    class Role(models.TextChoices):
        CANONICAL = "canonical", "Canonical (never deleted)"
        CLEANUP = "cleanup", "Clean-up"

    name = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=12, choices=Role.choices)
    storage_profile = models.CharField(max_length=80, blank=True, help_text="name of a profile in DOPPEL_S3_PROFILES")
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=1024, blank=True)
    root = models.CharField(max_length=1024, blank=True, help_text="local directory under DOPPEL_LOCAL_ROOTS")
    root_pin = models.CharField(max_length=48, blank=True, help_text="st_dev:st_ino of the root, pinned at registration")
    versioned = models.BooleanField(default=False)
    object_lock = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_inventory_at = models.DateTimeField(null=True, blank=True)
    inventory_generation = models.PositiveBigIntegerField(
        default=0, help_text="incremented by every inventory attempt (a retry after a crash is a new one)")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["storage_profile", "bucket", "prefix"],
                condition=models.Q(kind="s3"),
                name="source_unique_s3_location",
            ),
            models.UniqueConstraint(fields=["root"], condition=models.Q(kind="local"), name="source_unique_local_root"),
            # "attack" and "ATTACK" were two sources: a name is how people (and audit rows) tell them apart
            models.UniqueConstraint(Lower("name"), name="source_unique_name_any_case",
                                    violation_error_message="a source with this name (in any case) already exists"),
        ]
        permissions = [
            ("review_assets", "Can review clean-up files (curator)"),
            ("manage_doppel", "Can manage sources, jobs, deletions and exports (admin)"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_canonical(self):
        return self.role == self.Role.CANONICAL

    @property
    def location(self):
        """Where the source is, for people: its backend spells it (reviewapp.storage.BACKENDS)."""
        return backend(self.kind).location_label(self)

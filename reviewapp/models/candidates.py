from django.db import models

from matching.verdict import BULK_APPROVABLE_VERDICTS, CURATOR_APPROVABLE_VERDICTS

from .assets import Asset


class Verdict(models.TextChoices):
    """The engine's vocabulary (matching.verdict.VERDICTS) with labels; a test asserts they agree.
    The policy (what may be approved, in bulk, ranked how) lives in the engine, not here."""

    IDENTICAL = "identical", "Identical"
    DUPLICATE = "duplicate", "Duplicate"
    ROTATED = "rotated", "Rotated / mirrored"
    CLEANUP_CORRUPT = "cleanup_corrupt", "Clean-up copy damaged"
    MATCH_CORRUPT = "match_corrupt", "Kept copy damaged"
    DIFFERENT = "different", "Different picture"
    UNREADABLE = "unreadable", "Unreadable"
    NO_MATCH = "no_match", "No match"

    @classmethod
    def bulk_choices(cls) -> list:
        return [(v, label) for v, label in cls.choices if v in BULK_APPROVABLE_VERDICTS]

    @classmethod
    def curator_approvable(cls) -> frozenset:
        return CURATOR_APPROVABLE_VERDICTS


class CorruptSide(models.TextChoices):
    NONE = "none", "None"
    CLEANUP = "cleanup", "Clean-up copy"
    MATCH = "match", "Kept copy"


class Candidate(models.Model):
    """A verified pairing of a clean-up asset with a possible kept copy. Field names follow the
    engine's CLI columns so a report and a row mean the same thing."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CHOSEN = "chosen", "Chosen by the decision"
        CLOSED = "closed", "Closed with its file"

    cleanup_asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="candidates")
    match_asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="matched_by")
    found_by = models.CharField(max_length=20, blank=True, help_text="checksum, id, content or id+content")
    diff_score = models.FloatField(null=True, blank=True)
    local_score = models.FloatField(null=True, blank=True)
    damage_score = models.FloatField(default=0.0, help_text="damaged share of the picture, 0..1 (matching.verdict.damage_score)")
    rotation = models.PositiveSmallIntegerField(default=0)
    flipped = models.BooleanField(default=False)
    corrupt_side = models.CharField(max_length=8, choices=CorruptSide.choices, default=CorruptSide.NONE)
    region = models.JSONField(null=True, blank=True, help_text="damaged region as fractions of the displayed image")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, db_index=True)
    safe_to_delete = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True)
    engine_version = models.CharField(max_length=40)
    thresholds = models.JSONField(default=dict, blank=True)
    proof = models.JSONField(null=True, blank=True,
                             help_text="engine 2 full-detail proof: size, tolerance derived for this pair, worst tile, geometry")
    cleanup_etag = models.CharField(max_length=200, blank=True)
    match_etag = models.CharField(max_length=200, blank=True)
    rank = models.PositiveSmallIntegerField(default=0, help_text="0 = best candidate of the file")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    job = models.ForeignKey("reviewapp.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates")
    aligned_rendition = models.CharField(max_length=512, blank=True)
    diff_rendition = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cleanup_asset", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["cleanup_asset", "match_asset", "engine_version"], name="candidate_unique_pair"),
            models.CheckConstraint(condition=~models.Q(cleanup_asset=models.F("match_asset")), name="candidate_not_self"),
        ]
        indexes = [models.Index(fields=["verdict", "status"]), models.Index(fields=["job", "verdict"])]

    def __str__(self):
        return f"{self.cleanup_asset_id}→{self.match_asset_id} {self.verdict}"

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from matching.verdict import BULK_APPROVABLE_VERDICTS, VERDICTS

from .assets import Asset

# A curator's words for each of the engine's verdicts. The vocabulary, its order and its policy
# (what may be approved, in bulk, ranked how) are the engine's (matching.verdict); this is only
# the labels, and a verdict the engine has but this table lacks (or the reverse) stops the app
# at import instead of storing a value the choices do not know.
VERDICT_LABELS = {
    "identical": "Identical",
    "duplicate": "Duplicate",
    "rotated": "Rotated / mirrored",
    "cleanup_corrupt": "Clean-up copy damaged",
    "match_corrupt": "Kept copy damaged",
    "different": "Different picture",
    "unreadable": "Unreadable",
    "no_match": "No match",
}
if set(VERDICT_LABELS) != set(VERDICTS):
    raise ImproperlyConfigured(f"VERDICT_LABELS must label exactly matching.verdict.VERDICTS: "
                               f"{sorted(set(VERDICT_LABELS) ^ set(VERDICTS))}")

# The model's choices, derived from the engine's vocabulary in its order (Verdict.IDENTICAL, ...).
Verdict = models.TextChoices("Verdict", [(v.upper(), (v, VERDICT_LABELS[v])) for v in VERDICTS])


def bulk_verdict_choices() -> list:
    """(value, label) of the verdicts bulk approval may approve (the engine's BULK_APPROVABLE_VERDICTS)."""
    return [(v, label) for v, label in Verdict.choices if v in BULK_APPROVABLE_VERDICTS]


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
    found_by = models.CharField(max_length=20, blank=True, help_text="checksum, id, content, id+content or thumbnail")
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

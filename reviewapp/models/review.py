from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from .assets import Asset
from .base import AppendOnlyModel
from .candidates import Candidate, Verdict


class ReviewItem(models.Model):
    """Review is per clean-up file: one row per clean-up asset with its best candidate. The lease
    fields let two curators work the same queue without ever seeing the same file."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        LEASED = "leased", "Leased"
        DECIDED = "decided", "Decided"

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="review")
    best_candidate = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, db_index=True)
    diff_score = models.FloatField(null=True, blank=True)
    local_score = models.FloatField(null=True, blank=True)
    damage_score = models.FloatField(default=0.0, help_text="the best candidate's damage_score: score bands use the "
                                                            "higher of it and diff_score")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    leased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    skipped_by = models.JSONField(default=list, blank=True, help_text="user ids who skipped: back of their queue")
    priority = models.BigIntegerField(default=0, help_text="queue order; skip moves a file back")
    job = models.ForeignKey("reviewapp.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_items")
    decided_at = models.DateTimeField(null=True, blank=True)
    last_decision = models.ForeignKey("reviewapp.Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [
            models.Index(fields=["status", "verdict", "priority", "id"]),
            models.Index(fields=["status", "lease_expires_at"]),
            # "next" without a verdict filter walks open files in queue order: an index scan, not a sort
            models.Index(fields=["status", "priority", "id"], name="reviewitem_status_queue_idx"),
            models.Index(fields=["leased_by", "status"], name="reviewitem_leased_by_idx"),
        ]

    def __str__(self):
        return f"review of {self.asset}"


class Decision(AppendOnlyModel):
    """What a person decided about a clean-up file. Append-only: an undo is a new row."""

    class Action(models.TextChoices):
        APPROVE_DELETE = "approve_delete", "Approve deletion"
        NOT_DUPLICATE = "not_duplicate", "Not a duplicate"
        LOG_ERROR = "log_error", "Log an error"
        REINGEST = "reingest", "Route to reingest"
        SKIP = "skip", "Skip"
        UNDO = "undo", "Undo"

    review_item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="decisions")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="decisions")
    candidate = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    action = models.CharField(max_length=16, choices=Action.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undoes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")
    bulk = models.BooleanField(default=False)
    # What the decision was based on, frozen: a later re-analysis must not change its meaning.
    snapshot = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} on {self.asset_id} by {self.actor_id}"


@dataclass(frozen=True)
class DecisionKey:
    """How a curator gives one Decision.Action on the review page. The page's buttons, its key
    help and review.js's key map are all rendered from DECISION_KEYS (review.js gets it as JSON),
    so an action, its key, label and help text are written here and nowhere else."""

    action: str            # a Decision.Action value; its label is the button's text
    key: str               # the one-letter shortcut (lower case)
    help: str              # the line in the page's key help
    way: str = "submit"    # submit: a button of the decide form; dialog: opens `dialog` first; undo-form: its own form
    style: str = ""        # the button's class (danger, secondary)
    dialog: str = ""       # way=dialog: the id of the <dialog> that asks for the rest (category, note)
    guarded: bool = False  # the service may refuse it for this file: the button says why beforehand
    seen: bool = False     # the page takes it only once both pictures are shown (a deletion is never approved unseen)

    @property
    def label(self) -> str:
        return Decision.Action(self.action).label

    def as_data(self) -> dict:
        return {"action": self.action, "key": self.key, "label": self.label, "way": self.way, "dialog": self.dialog,
                "seen": self.seen}


DECISION_KEYS = (
    DecisionKey(Decision.Action.APPROVE_DELETE, "d",
                "approve deletion of the clean-up copy (refused, with the reason, when it would be unsafe)",
                style="danger", guarded=True, seen=True),
    DecisionKey(Decision.Action.NOT_DUPLICATE, "n", "not a duplicate"),
    DecisionKey(Decision.Action.LOG_ERROR, "e", "log an error (category + note)", way="dialog", dialog="error-dialog"),
    DecisionKey(Decision.Action.REINGEST, "r", "route to reingest"),
    DecisionKey(Decision.Action.SKIP, "s", "skip (back of your queue)", style="secondary"),
    DecisionKey(Decision.Action.UNDO, "u", "undo your last decision", way="undo-form", style="secondary"),
)
# The actions the review page takes only from a curator who was shown both pictures (``DecisionKey.seen``):
# review.js waits for them, and the page's form says so without script (views.review.review_decide).
SEEN_ACTIONS = frozenset(k.action for k in DECISION_KEYS if k.seen)
if sorted(k.action for k in DECISION_KEYS) != sorted(Decision.Action.values) or \
        len({k.key for k in DECISION_KEYS}) != len(DECISION_KEYS):
    raise ImproperlyConfigured("DECISION_KEYS must give every Decision.Action exactly one key of its own")

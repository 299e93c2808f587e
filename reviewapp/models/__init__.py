"""One file per concept; import them all here so Django sees them."""
from .assets import Asset, AssetIdentifier, NameList, NameListEntry
from .candidates import Candidate, CorruptSide, Verdict
from .deletion import AuditEntry, DeletionItem, DeletionPlan
from .errorlog import ErrorLogEntry
from .idempotency import IdempotencyRecord
from .jobs import Job, JobEvent
from .jobitems import JobItem
from .reingest import ReingestEvent, ReingestItem
from .review import Decision, ReviewItem
from .sources import Source

__all__ = [
    "Asset", "AssetIdentifier", "AuditEntry", "Candidate", "CorruptSide", "Decision", "DeletionItem",
    "DeletionPlan", "ErrorLogEntry", "IdempotencyRecord", "Job", "JobEvent", "JobItem", "NameList", "NameListEntry", "ReingestEvent",
    "ReingestItem", "ReviewItem", "Source", "Verdict",
]

"""One file per concept; import them all here so Django sees them."""
from .assets import Asset, AssetIdentifier, NameList, NameListEntry
from .candidate_index import CandidateIndexEntry, CandidateIndexHash, CandidateIndexId
from .candidates import Candidate, CorruptSide, Verdict, bulk_verdict_choices
from .deletion import AuditEntry, DeletionItem, DeletionPlan
from .errorlog import ErrorLogEntry
from .extracts import Extract, ExtractArchive, ExtractMember
from .idempotency import IdempotencyRecord
from .jobitems import JobItem
from .jobs import Job, JobEvent
from .reingest import ReingestEvent, ReingestItem
from .review import DECISION_KEYS, SEEN_ACTIONS, Decision, DecisionKey, ReviewItem
from .sources import Source
from .takedown import Takedown

__all__ = [
    "Asset", "AssetIdentifier", "AuditEntry", "Candidate", "CandidateIndexEntry", "CandidateIndexHash",
    "CandidateIndexId", "CorruptSide", "DECISION_KEYS", "Decision", "DecisionKey", "SEEN_ACTIONS", "DeletionItem",
    "DeletionPlan", "ErrorLogEntry", "Extract", "ExtractArchive", "ExtractMember", "IdempotencyRecord", "Job", "JobEvent", "JobItem", "NameList", "NameListEntry", "ReingestEvent",
    "ReingestItem", "ReviewItem", "Source", "Takedown", "Verdict", "bulk_verdict_choices",
]

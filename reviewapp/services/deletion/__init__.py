"""Deletion: dry-run plans, the executor, quarantine, purge and restore (legal takedown lives in
services/takedown.py and is re-exported here).

Nothing here trusts what was true when a curator decided. Right before an object is touched the
executor re-checks the kept copy (exists, same ETag, decodes fully, still verifies against the
clean-up copy) and that the object to delete is the one decided on; any doubt aborts that item
and sends the file back to review. An audit row is committed before every irreversible step, and
each step is idempotent so a plan interrupted anywhere (crash, S3 error) finishes exactly once
when it runs again.

- plans.py: the dry run, confirm, cancel, resume;
- executor.py: the claim, the guards (EXECUTION_GUARDS), quarantining one item, the plan run;
- quarantine.py: where an object waits out retention, restore and purge;
- common.py: Doubt, the audit row, the hand-back to review, the undo rule.
Reads (plannable decisions, the kept copy, whether a decision stands or has run) are selectors
(selectors/deletion.py); storage behaviour (the S3 client, Object Lock, quarantine location) is
the storage's (reviewapp/storage.py).
"""
from ...selectors.deletion import decision_has_run, decision_stands, plannable_decisions
from ...storage import storage_for
from .common import LIVE_STATES, Doubt, decision_undo_refusal, review_return
from .executor import (
    EXECUTION_GUARDS,
    decided_relation,
    deletion_item_abort,
    deletion_item_execute,
    deletion_plan_run,
    dry_run_reason,
    guard_content,
    guard_decision_stands,
    guard_etag,
    guard_kept_copy,
    guard_not_canonical,
    guard_object_lock,
    guard_physical_identity,
    physical_identity_doubt,
    recheck_kept,
)
from .plans import (
    deletion_plan_cancel,
    deletion_plan_confirm,
    deletion_plan_create,
    deletion_plan_dry_run,
    deletion_plan_recheck,
    deletion_plan_resume,
    dry_run_unchecked,
)
from .quarantine import QuarantineTarget, deletion_item_purge, deletion_purge_due, deletion_restore, quarantine_target

__all__ = [
    "Doubt", "EXECUTION_GUARDS", "LIVE_STATES", "QuarantineTarget", "decided_relation", "decision_has_run",
    "decision_stands", "decision_undo_refusal", "deletion_item_abort", "deletion_item_execute", "deletion_item_purge",
    "deletion_plan_cancel", "deletion_plan_confirm", "deletion_plan_create", "deletion_plan_dry_run",
    "deletion_plan_recheck", "deletion_plan_resume", "dry_run_unchecked", "deletion_plan_run", "deletion_purge_due", "deletion_restore", "dry_run_reason",
    "guard_content", "guard_decision_stands", "guard_etag", "guard_kept_copy", "guard_not_canonical",
    "guard_object_lock", "guard_physical_identity", "physical_identity_doubt", "plannable_decisions",
    "quarantine_target", "recheck_kept", "review_return", "storage_for", "takedown_execute",
]


def __getattr__(name):
    # Legal takedown is services/takedown.py, which uses quarantine_target from this package: it is
    # re-exported on first use (an import at the top would be a cycle). The one function-local
    # import of the package, kept for `from reviewapp.services.deletion import takedown_execute`.
    if name == "takedown_execute":
        from ..takedown import takedown_execute

        return takedown_execute
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Each safety layer's own test must fail when that one layer is broken (issue #19 item 1).

`python bench/bite.py [NAME-FRAGMENT]` copies the tracked files into a scratch directory (like
bench/mutate.py), and for each break below: applies it there (one exact text replacement in the
production code), runs the tests that claim to show the layer on its own, and prints which failed.
A break whose tests all pass is printed as SURVIVED. The worktree is never modified. Runs on SQLite
(CI unset), so the PostgreSQL race tests skip; about 5 minutes on 2 shared cores.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Break:
    name: str
    file: str
    old: str
    new: str
    tests: list


# Not listed: the explicit holds line in recheck_kept (`more = holds_at_least_as_much(...)`) is
# repeated by the approval rule recheck_kept applies to the re-verified pair, so breaking it alone
# keeps every object and even the reason text (redundant inside one layer). The holds rule itself
# is broken below instead.
BREAKS = [
    Break('plan selection: canonical filter removed', 'reviewapp/selectors/deletion.py',
          '.exclude(asset__source__role=Source.Role.CANONICAL)',
          '',
          ['tests/reviewapp/test_deletion.py::test_the_plan_selection_alone_never_lists_a_canonical_file']),
    Break('plan creation: canonical check removed', 'reviewapp/services/deletion/plans.py',
          'if kept.pk == asset.pk or asset.source.is_canonical:',
          'if kept.pk == asset.pk:',
          ['tests/reviewapp/test_deletion.py::test_plan_creation_alone_skips_a_canonical_file_its_selection_lists']),
    Break('guard_not_canonical broken', 'reviewapp/services/deletion/executor.py',
          'def guard_not_canonical(ctx) -> None:\n    if ctx.item.asset.source.is_canonical:',
          'def guard_not_canonical(ctx) -> None:\n    if False:',
          ['tests/reviewapp/test_deletion.py::test_each_executor_layer_alone_never_deletes_a_canonical_file']),
    Break('recheck_kept: canonical check removed', 'reviewapp/services/deletion/executor.py',
          '    asset, kept = item.asset, item.kept_asset\n    if asset.source.is_canonical:',
          '    asset, kept = item.asset, item.kept_asset\n    if False:',
          ['tests/reviewapp/test_deletion.py::test_each_executor_layer_alone_never_deletes_a_canonical_file']),
    Break('physical identity: canonical inode holder ignored', 'reviewapp/services/deletion/executor.py',
          '    if holder is not None:',
          '    if False:',
          ['tests/reviewapp/test_deletion.py::test_each_executor_layer_alone_never_deletes_a_canonical_file', 'tests/reviewapp/test_deletion_identity.py']),
    Break('guard_physical_identity never raises', 'reviewapp/services/deletion/executor.py',
          '    if doubt:\n        raise Doubt(doubt)',
          '    if False:\n        raise Doubt(doubt)',
          ['tests/reviewapp/test_deletion.py::test_each_executor_layer_alone_never_deletes_a_canonical_file', 'tests/reviewapp/test_deletion_identity.py']),
    Break('recheck_kept: kept ETag not compared', 'reviewapp/services/deletion/executor.py',
          '    if kh.etag != item.kept_etag_at_decision:',
          '    if False:',
          ['tests/reviewapp/test_deletion.py::test_the_kept_copy_recheck_alone_stops_the_deletion']),
    Break('recheck_kept: decode status ignored (the re-verification then refuses: fails on the reason)', 'reviewapp/services/deletion/executor.py',
          '        if ka.status != "ok":',
          '        if False:',
          ['tests/reviewapp/test_deletion.py::test_the_kept_copy_recheck_alone_stops_the_deletion']),
    Break('holds rule always holds (matching.verdict)', 'matching/verdict.py',
          'def holds_at_least_as_much(',
          'def holds_at_least_as_much(*a, **k):\n    return []\n\n\ndef _unused_holds(',
          ['tests/reviewapp/test_deletion.py::test_the_kept_copy_recheck_alone_stops_the_deletion', 'tests/reviewapp/test_review.py::test_approve_delete_is_refused_when_the_kept_copy_is_not_enough']),
    Break('guard_etag never raises', 'reviewapp/services/deletion/executor.py',
          '    if ctx.current.etag != ctx.item.etag_at_decision:',
          '    if False:',
          ['tests/reviewapp/test_deletion.py::test_the_etag_guard_alone_stops_a_changed_object_to_delete']),
    Break('guard_content skipped', 'reviewapp/services/deletion/executor.py',
          'def guard_content(ctx) -> None:\n',
          'def guard_content(ctx) -> None:\n    return\n',
          ['tests/reviewapp/test_deletion_identity.py::test_local_object_replaced_by_a_resave_of_the_same_picture_with_the_same_size_and_mtime', 'tests/reviewapp/test_deletion_identity.py::test_s3_object_replaced_by_a_resave_of_the_same_picture']),
    Break('root pin not verified', 'reviewapp/storage.py',
          '    def _verify_root(self, fd: int) -> None:\n',
          '    def _verify_root(self, fd: int) -> None:\n        return\n',
          ['tests/reviewapp/test_deletion_identity.py::test_route3_root_swapped_for_a_symlink_after_inventory']),
    Break('undo: own-decision check removed', 'reviewapp/services/review.py',
          '        if decision.actor_id != actor.pk:',
          '        if False:',
          ['tests/reviewapp/test_review.py::test_undo_of_another_curators_approval_is_refused_by_the_own_decision_rule_alone']),
    Break('decisions: lease check removed', 'reviewapp/services/review.py',
          '    if (item.status == ReviewItem.Status.LEASED and item.leased_by_id != actor.pk',
          '    if (False and item.leased_by_id != actor.pk',
          ['tests/reviewapp/test_review.py::test_a_lease_cannot_be_stolen_by_another_curator']),
    Break('approval: canonical check removed', 'reviewapp/services/review.py',
          '    if asset.source.role != Source.Role.CLEANUP:',
          '    if False:',
          ['tests/reviewapp/test_review.py::test_approve_delete_is_refused_when_the_kept_copy_is_not_enough']),
    Break('approval: vanished kept copy allowed', 'reviewapp/services/review.py',
          '    if match.state == Asset.State.VANISHED:',
          '    if False:',
          ['tests/reviewapp/test_review.py::test_approve_delete_is_refused_when_the_kept_copy_is_not_enough']),
    Break('approval: kept ETag not compared', 'reviewapp/services/review.py',
          '    if candidate.match_etag and match.etag != candidate.match_etag:',
          '    if False:',
          ['tests/reviewapp/test_review.py::test_approve_delete_is_refused_when_the_kept_copy_is_not_enough']),
    Break('approval: damaged kept copy allowed (kept_intact)', 'reviewapp/services/review.py',
          'return asset.decode_status not in (Asset.DecodeStatus.DAMAGED, Asset.DecodeStatus.UNREADABLE)',
          'return True',
          ['tests/reviewapp/test_review.py::test_approve_delete_is_refused_when_the_kept_copy_is_not_enough']),
]


def main(fragment: str = "") -> int:
    work = Path(tempfile.mkdtemp(prefix="bite-"))
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (work / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, work / f)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DATABASE_URL")}
    survived = 0
    for b in BREAKS:
        if fragment not in b.name:
            continue
        path = work / b.file
        orig = path.read_text()
        if orig.count(b.old) != 1:
            print(f"## {b.name}: the text to break is not found once in {b.file}; update bench/bite.py")
            survived += 1
            continue
        path.write_text(orig.replace(b.old, b.new))
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=no", "-rf", *b.tests],
                               cwd=work, env=env, capture_output=True, text=True)
        finally:
            path.write_text(orig)
        failed = [line.split(" ")[1].split("::", 1)[-1] for line in r.stdout.splitlines() if line.startswith("FAILED")]
        summary = (r.stdout.strip().splitlines() or ["no output"])[-1]
        print(f"## {b.name}: {'bites' if failed else 'SURVIVED'} ({summary})")
        for name in failed:
            print(f"   FAILED {name}")
        survived += not failed
    shutil.rmtree(work, ignore_errors=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""`manage.py doppel_plan --user ADMIN [--source NAME] [--csv FILE]`: make a dry-run deletion plan
from the approved decisions and write its CSV; `--confirm ID` / `--resume ID` run it."""
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.models import DeletionPlan
from reviewapp.roles import is_admin
from reviewapp.selectors.deletion import PLAN_CSV_HEADER, dry_run_progress, plan_counts, plan_csv_rows
from reviewapp.services import deletion as svc
from reviewapp.services.exports import csv_lines

from .doppel_status import get_source, validation_message


def get_admin(username):
    user = get_user_model().objects.filter(username=username or "").first()
    if user is None or not is_admin(user):
        raise CommandError(f"--user must name an admin (got {username!r})")
    return user


def get_plan(plan_id):
    try:
        return DeletionPlan.objects.get(pk=int(plan_id))
    except (ValueError, DeletionPlan.DoesNotExist):
        raise CommandError(f"no deletion plan {plan_id!r}") from None


class Command(BaseCommand):
    help = "Create a dry-run deletion plan (nothing is deleted), or confirm / re-run one."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="admin username (recorded as planner / confirmer)")
        parser.add_argument("--source", help="only decisions about this clean-up source")
        parser.add_argument("--csv", help="write the dry-run CSV here ('-' for stdout)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--confirm", metavar="PLAN_ID", help="confirm a dry-run plan: the executor runs it")
        group.add_argument("--resume", metavar="PLAN_ID", help="run a confirmed plan again after a crash or error")

    def handle(self, *args, **opts):
        user = get_admin(opts["user"])
        try:
            if opts["confirm"] or opts["resume"]:
                plan = get_plan(opts["confirm"] or opts["resume"])
                func = svc.deletion_plan_confirm if opts["confirm"] else svc.deletion_plan_resume
                plan = func(actor=user, plan=plan)
            else:
                source = get_source(opts["source"]) if opts["source"] else None
                plan = svc.deletion_plan_create(actor=user, source=source)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(validation_message(exc) if isinstance(exc, ValidationError) else str(exc)) from None
        plan.refresh_from_db()
        c = plan_counts(plan)
        self.stdout.write(
            f"plan #{plan.pk}: {plan.get_state_display()} — {c['total']} items ({c['planned']} planned, "
            f"{c['quarantined']} quarantined, {c['aborted']} aborted)"
        )
        if opts["csv"]:
            out = sys.stdout if opts["csv"] == "-" else open(opts["csv"], "w", encoding="utf-8", newline="")
            try:
                for line in csv_lines(PLAN_CSV_HEADER, plan_csv_rows(plan)):
                    out.write(line)
            finally:
                if out is not sys.stdout:
                    out.close()
        if plan.state == DeletionPlan.State.DRAFT:
            progress = dry_run_progress(plan)
            if progress["done"]:
                self.stdout.write(f"dry run re-checked all {progress['total']} planned items ({c['would_abort']} would abort); "
                                  f"confirm with: manage.py doppel_plan --user {user.username} --confirm {plan.pk}")
            else:
                self.stdout.write(f"dry run: {progress['checked']} of {progress['total']} items re-checked so far; a worker "
                                  f"checks the rest (plan page), then confirm with: manage.py doppel_plan --user "
                                  f"{user.username} --confirm {plan.pk}")
        for item in plan.items.filter(state="aborted").select_related("asset"):
            self.stdout.write(f"  aborted {item.asset.key}: {item.reason}")

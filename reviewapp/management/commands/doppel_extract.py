"""`manage.py doppel_extract --user ADMIN --namelist ID [--namelist ID ...] --title T --expires YYYY-MM-DD
[--location NAME] [--content original|rendition --size PX] [--sample N [--seed S]]`: package name lists,
one tar archive each, into a configured extract location. `--status ID` shows an extract's counts;
`--expire-due` deletes the archives of every extract past its expiry (what the beat task does)."""
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.models import Extract, NameList
from reviewapp.selectors.extracts import archive_summary
from reviewapp.services import extracts as svc
from reviewapp.units import byte_size

from .doppel_plan import get_admin
from .doppel_status import eager, validation_message


def _expiry_day(value):
    """The day --expires names (the service says which moment of it: extract_expiry)."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        raise CommandError(f"--expires must be a date as YYYY-MM-DD (got {value!r})") from None


class Command(BaseCommand):
    help = "Package name lists as tar archives (one per list) with manifests, kept until an expiry date."

    def add_arguments(self, parser):
        parser.add_argument("--user")
        parser.add_argument("--namelist", action="append", type=int, default=[], help="name list id (repeatable)")
        parser.add_argument("--title")
        parser.add_argument("--expires", help="YYYY-MM-DD (required): the archives are deleted after this day (UTC)")
        parser.add_argument("--days", type=int, help="instead of --expires: keep for N days")
        parser.add_argument("--location", default="default", help="a configured extract location name")
        parser.add_argument("--content", choices=["original", "rendition"], default="original")
        parser.add_argument("--size", type=int, help="renditions: longest side in pixels (e.g. 500)")
        parser.add_argument("--sample", type=int, help="a random sample of N names per list")
        parser.add_argument("--seed", type=int, help="sample seed (the same seed draws the same sample)")
        parser.add_argument("--status", type=int, metavar="ID", help="show an extract's archives and counts")
        parser.add_argument("--expire-due", action="store_true", help="delete archives past their expiry now")

    def handle(self, *args, **opts):
        if opts["expire_due"]:
            counts = svc.extract_expire_due()
            self.stdout.write(f"expired {counts['expired']} extract(s); {counts['failed']} could not be deleted")
            return
        if opts["status"]:
            ex = Extract.objects.filter(pk=opts["status"]).first()
            if ex is None:
                raise CommandError(f"no extract {opts['status']}")
            return self.report(ex)
        user = get_admin(opts["user"])
        lists = list(NameList.objects.filter(pk__in=opts["namelist"]))
        unknown = set(opts["namelist"]) - {nl.pk for nl in lists}
        if unknown or not lists:
            raise CommandError(f"unknown name list(s): {sorted(unknown) or 'none given (use --namelist ID)'}")
        if opts["days"] is not None:
            from django.utils import timezone

            expires = timezone.now() + timedelta(days=opts["days"])
        elif opts["expires"]:
            expires = _expiry_day(opts["expires"])
        else:
            raise CommandError("an expiry is required: --expires YYYY-MM-DD or --days N")
        try:
            ex = svc.extract_create(actor=user, namelists=lists, title=opts["title"] or "", location=opts["location"],
                                    expires_at=expires, content=opts["content"], max_side=opts["size"],
                                    sample_size=opts["sample"], sample_seed=opts["seed"])
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(validation_message(exc) if isinstance(exc, ValidationError) else str(exc)) from None
        self.stdout.write(f"extract #{ex.pk} queued as job #{ex.job_id} (sample seed {ex.sample_seed})")
        if eager():  # no broker: build here (a job that already ran is not started twice)
            svc.extract_run(ex.job_id)
            self.report(ex)

    def report(self, ex):
        ex.refresh_from_db()
        self.stdout.write(f"extract #{ex.pk} {ex.title!r}: {ex.get_state_display()}, expires {ex.expires_at:%Y-%m-%d %H:%M} UTC")
        for a in ex.archives.select_related("namelist").order_by("pk"):
            self.stdout.write(f"  {a.namelist.title}: {a.key} ({byte_size(a.size)}) — {archive_summary(a)}")

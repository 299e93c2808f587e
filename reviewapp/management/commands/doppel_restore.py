"""`manage.py doppel_restore SOURCE` (estimate) then `--confirm JOB` (request + poll)."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.models import Job
from reviewapp.services.restore import restore_confirm, restore_counts, restore_estimate, restore_run
from reviewapp.storage import StorageError
from reviewapp.units import byte_size

from .doppel_status import eager, get_job, get_namelist, get_source, job_summary, validation_message


class Command(BaseCommand):
    help = ("Restore archived objects (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive tiers). Without --confirm "
            "only an estimate is made (objects, bytes, tier); --confirm JOB sends the restore requests; --poll JOB "
            "checks progress.")

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="source name (for an estimate)")
        parser.add_argument("--namelist", help="estimate for a name list's selection instead")
        parser.add_argument("--tier", choices=["Bulk", "Standard", "Expedited"], help="default: DOPPEL_RESTORE_TIER")
        parser.add_argument("--days", type=int, help="how long restored copies stay (default: DOPPEL_RESTORE_DAYS)")
        parser.add_argument("--confirm", metavar="JOB", help="confirm the estimate of this restore job")
        parser.add_argument("--poll", metavar="JOB", help="check a confirmed restore job now")
        parser.add_argument("--wait", action="store_true", help="without a broker: keep polling until everything is restored")

    def handle(self, *args, **opts):
        try:
            if opts["confirm"] or opts["poll"]:
                return self._run(opts)
            if bool(opts["source"]) == bool(opts["namelist"]):
                raise CommandError("give a source name or --namelist ID for an estimate, or --confirm JOB")
            kw = {"namelist": get_namelist(opts["namelist"])} if opts["namelist"] else {"source": get_source(opts["source"])}
            job = restore_estimate(actor=None, tier=opts["tier"], days=opts["days"], **kw)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        except StorageError as exc:
            raise CommandError(str(exc)) from None
        e = job.params["estimate"]
        self.stdout.write(f"restore job #{job.pk}: {e['objects']} archived objects, {byte_size(e['bytes'])}, "
                          f"tier {e['tier']}, kept {e['days']} days")
        for sc, v in sorted(e["by_class"].items()):
            self.stdout.write(f"  {sc}: {v['objects']} objects, {byte_size(v['bytes'])}")
        self.stdout.write(f"nothing requested yet; confirm with: manage.py doppel_restore --confirm {job.pk}")

    def _run(self, opts):
        job = get_job(opts["confirm"] or opts["poll"], kind=Job.Kind.RESTORE)
        if opts["confirm"]:
            try:
                job = restore_confirm(actor=None, job=job, dispatch=not eager())
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"restore job #{job.pk} confirmed")
        if eager():
            try:
                job = restore_run(job.pk, wait=opts["wait"])
            except StorageError as exc:
                raise CommandError(str(exc)) from None
        c = restore_counts(job)
        self.stdout.write(job_summary(job))
        self.stdout.write(f"  waiting {c['waiting']['count']} ({byte_size(c['waiting']['bytes'])}), "
                          f"restored {c['restored']['count']} ({byte_size(c['restored']['bytes'])}), "
                          f"failed {c['failed']['count']}")
        if c["waiting"]["count"] and eager():
            self.stdout.write(f"check again later with: manage.py doppel_restore --poll {job.pk}")
        if job.state == Job.State.FAILED:
            raise CommandError(f"job #{job.pk} failed: {job.error}")

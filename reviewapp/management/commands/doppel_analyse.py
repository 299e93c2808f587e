"""`manage.py doppel_analyse SOURCE | --namelist ID`: analyse, then pair the clean-up files."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.services.analysis import analysis_run, analysis_start

from .doppel_status import Bars, eager, finish_message, get_namelist, get_source, queued_or_followed, validation_message


class Command(BaseCommand):
    help = ("Analyse a source (or a name list's selection): fetch, decode, fingerprint and render each asset, "
            "then pair each clean-up file with its candidates and open it for review.")

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="source name")
        parser.add_argument("--namelist", help="id of a resolved name list (instead of a source)")
        parser.add_argument("--no-wait", action="store_true", help="with a broker: queue the job and return")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        if bool(opts["source"]) == bool(opts["namelist"]):
            raise CommandError("give either a source name or --namelist ID")
        kw = {"namelist": get_namelist(opts["namelist"])} if opts["namelist"] else {"source": get_source(opts["source"])}
        inline = eager()
        try:
            job = analysis_start(actor=None, dispatch=not inline, **kw)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(f"analysis job #{job.pk}")
        if inline:
            bars = Bars(self.stdout, disable=opts["no_progress"])
            try:
                analysis_run(job.pk, progress=bars)
            finally:
                bars.close()
        elif not queued_or_followed(self, job, opts):
            return
        finish_message(self, job)
        for child in job.children.all():
            self.stdout.write("  pairing: " + f"{child.processed} files paired, {child.failed} failed")

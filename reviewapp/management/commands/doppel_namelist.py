"""`manage.py doppel_namelist SOURCE FILE`: upload a list of names or IDs and resolve it."""
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reviewapp.models import NameList
from reviewapp.selectors.assets import namelist_misses_csv
from reviewapp.services.namelists import MAX_BYTES, namelist_resolve_run, namelist_upload_start

from .doppel_status import eager, finish_message, get_source, queued_or_followed, validation_message


class Command(BaseCommand):
    help = ("Resolve a text or CSV file of names or IDs against a source: counts found / not found / ambiguous, "
            "and the misses as CSV.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="source name")
        parser.add_argument("file", help="text (one name per line) or CSV file")
        parser.add_argument("--title", default="", help="title of the list (default: the file name)")
        parser.add_argument("--misses", help="write the lines not found or ambiguous to this CSV file")
        parser.add_argument("--no-wait", action="store_true", help="with a broker: queue the job and return")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        source = get_source(opts["source"])
        path = Path(opts["file"])
        try:
            if path.stat().st_size > MAX_BYTES:
                raise CommandError(f"{path} is larger than {MAX_BYTES} bytes")
            data = path.read_bytes()
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
        inline = eager()
        try:
            with transaction.atomic():
                job = namelist_upload_start(actor=None, source=source, title=opts["title"] or path.name,
                                            uploaded_file=SimpleUploadedFile(path.name, data), dispatch=not inline)
        except ValidationError as exc:
            raise CommandError(f"{path}: {validation_message(exc)}") from None
        self.stdout.write(f"name list job #{job.pk}: {job.requested} lines")
        if inline:
            namelist_resolve_run(job.pk)
        elif not queued_or_followed(self, job, opts):
            return
        finish_message(self, job)
        nl = NameList.objects.get(pk=job.namelist_id)
        self.stdout.write(self.style.SUCCESS(
            f"name list #{nl.pk} {nl.title!r}: requested {nl.requested}, found {nl.found}, "
            f"not found {nl.not_found}, ambiguous {nl.ambiguous}"))
        if opts["misses"]:
            Path(opts["misses"]).write_text(namelist_misses_csv(nl), encoding="utf-8")
            self.stdout.write(f"misses written to {opts['misses']}")
        self.stdout.write(f"analyse the selection with: manage.py doppel_analyse --namelist {nl.pk}")

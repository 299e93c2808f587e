"""`manage.py doppel_inventory SOURCE`: list a source into Asset rows (re-inventory writes only changes)."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reviewapp.models import Job
from reviewapp.services.inventory import inventory_run, inventory_start
from reviewapp.services.jobs import job_create
from reviewapp.storage import StorageError

from .doppel_status import eager, finish_message, get_source, queued_or_followed, validation_message


class Command(BaseCommand):
    help = ("Inventory a source: ListObjectsV2 for S3 (or an S3 Inventory report with --manifest), a directory "
            "walk for local sources. Changed objects are updated, vanished ones marked.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="source name (see doppel_source list)")
        parser.add_argument("--manifest", help="s3://bucket/key/manifest.json of an S3 Inventory report (CSV)")
        parser.add_argument("--no-wait", action="store_true", help="with a broker: queue the job and return")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        from tqdm import tqdm

        source = get_source(opts["source"])
        inline = eager()
        try:
            with transaction.atomic():
                job = inventory_start(actor=None, source=source, manifest=opts["manifest"]) if not inline else None
                if inline:
                    job = job_create(actor=None, kind=Job.Kind.INVENTORY, source=source,
                                     params={"manifest": opts["manifest"]} if opts["manifest"] else {})
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(f"inventory job #{job.pk} for {source.name} ({source.location})")
        if inline:
            bar = tqdm(desc="listed", unit="obj", disable=opts["no_progress"])
            try:
                inventory_run(job.pk, progress=bar.update)
            except StorageError as exc:
                raise CommandError(str(exc)) from None
            finally:
                bar.close()
        elif not queued_or_followed(self, job, opts):
            return
        finish_message(self, job)
        job.refresh_from_db()
        stats = job.params.get("stats") or {}
        if stats:
            self.stdout.write("  " + ", ".join(f"{k} {v}" for k, v in stats.items()))

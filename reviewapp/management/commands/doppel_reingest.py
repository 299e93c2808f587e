"""`manage.py doppel_reingest send|check`: copy queued reingests to the ingest location (with
manifest) or run the checker that verifies them in the canonical store."""
from django.core.management.base import BaseCommand, CommandError

from reviewapp.services.reingest import reingest_check_all, reingest_process_queued
from reviewapp.storage import StorageError


class Command(BaseCommand):
    help = "Send queued reingests (send) or verify submitted/ingested ones (check)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["send", "check"])
        parser.add_argument("--now", action="store_true", help="send: ignore the undo grace period")

    def handle(self, *args, **opts):
        try:
            if opts["action"] == "send":
                counts = reingest_process_queued(grace=None) if opts["now"] else reingest_process_queued()
            else:
                counts = reingest_check_all()
        except StorageError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(", ".join(f"{k} {v}" for k, v in counts.items()))

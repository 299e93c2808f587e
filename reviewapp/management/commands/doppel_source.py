"""`manage.py doppel_source add|list`: register S3 or local sources from the command line."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from reviewapp.models import Source
from reviewapp.services.sources import source_add, source_probe
from reviewapp.storage import StorageError

from .doppel_status import validation_message


class Command(BaseCommand):
    help = "Add or list sources (an S3 bucket+prefix through a named storage profile, or a local directory)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,list}")
        add = sub.add_parser("add", help="register a source", description="Register a source.")
        add.add_argument("--name", required=True, help="short unique name (letters, digits, - and _)")
        add.add_argument("--kind", required=True, choices=["local", "s3"])
        add.add_argument("--role", required=True, choices=["canonical", "cleanup"],
                         help="canonical sources are never deleted from; clean-up sources are reviewed")
        add.add_argument("--root", default="", help="local directory (under DOPPEL_LOCAL_ROOTS)")
        add.add_argument("--profile", default="", help="storage profile name from DOPPEL_S3_PROFILES")
        add.add_argument("--bucket", default="")
        add.add_argument("--prefix", default="")
        add.add_argument("--description", default="")
        add.add_argument("--no-probe", action="store_true", help="do not check that the source can be listed now")
        sub.add_parser("list", help="list sources", description="List sources.")

    def handle(self, *args, **opts):
        if opts["action"] == "list":
            rows = Source.objects.annotate(n=Count("assets")).order_by("name")
            if not rows:
                self.stdout.write("no sources yet")
            for s in rows:
                self.stdout.write(f"{s.name:20} {s.role:10} {s.kind:6} {s.location}  ({s.n} assets)")
            return
        try:
            source = source_add(
                actor=None, name=opts["name"], kind=opts["kind"], role=opts["role"], root=opts["root"],
                storage_profile=opts["profile"], bucket=opts["bucket"], prefix=opts["prefix"],
                description=opts["description"],
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        if not opts["no_probe"]:
            try:
                source_probe(source)
            except StorageError as exc:
                source.delete()
                raise CommandError(f"cannot list {source.location}: {exc}; source not added") from None
        self.stdout.write(self.style.SUCCESS(f"added {source.role} source {source.name} at {source.location}"))

"""`manage.py doppel_demo`: users, a demo collection, two sources, inventory, analysis and pairing.
Idempotent: a second run creates nothing twice and prints no password again."""
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reviewapp import demo
from reviewapp.models import Job, ReviewItem, Source
from reviewapp.roles import ADMIN, CURATOR, add_to_role
from reviewapp.selectors.assets import cleanup_left
from reviewapp.services.analysis import analysis_run, analysis_start
from reviewapp.services.inventory import inventory_run
from reviewapp.services.jobs import job_create
from reviewapp.services.sources import source_add
from reviewapp.storage import UnsafeKey, check_local_root
from reviewapp.units import byte_size

from .doppel_status import Bars, validation_message


class Command(BaseCommand):
    help = ("Load the demo: users 'curator' and 'admin' (passwords printed once, when created), a generated "
            "collection of real photos under VAR_DIR/sources/demo, two local sources, inventory, analysis and pairing.")

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--regenerate", action="store_true",
                            help="rewrite the demo files (their ETags change, so they are analysed again)")

    def handle(self, *args, **opts):
        self._users()
        root = settings.VAR_DIR / "sources" / "demo"
        try:
            check_local_root(str(root))
        except UnsafeKey as exc:
            raise CommandError(f"the demo lives in {root}, which is not an allowed root: {exc}") from None
        try:
            files = demo.generate(root, force=opts["regenerate"])
        except demo.DemoUnavailable as exc:
            raise CommandError(str(exc)) from None
        # what is left in clean-up (after earlier decisions) is counted from the database below
        self.stdout.write(f"demo collection: {root} ({len(files)} clean-up files in the demo set)")
        canonical = self._source("demo-canonical", "canonical", root / "canonical")
        cleanup = self._source("demo-cleanup", "cleanup", root / "cleanup")
        for source in (canonical, cleanup):
            with transaction.atomic():
                job = job_create(actor=None, kind=Job.Kind.INVENTORY, source=source)
            inventory_run(job.pk)
            job.refresh_from_db()
            stats = job.params.get("stats", {})
            self.stdout.write(f"inventory of {source.name}: {job.found} objects ({stats.get('new', 0)} new, "
                              f"{stats.get('changed', 0)} changed, {stats.get('vanished', 0)} vanished)")
        job = analysis_start(actor=None, source=cleanup, dispatch=False)
        bars = Bars(self.stdout, disable=opts["no_progress"])
        try:
            analysis_run(job.pk, progress=bars)
        finally:
            bars.close()
        job.refresh_from_db()
        if job.state != Job.State.DONE:
            raise CommandError(f"demo analysis job #{job.pk} ended {job.state}: {job.error}")
        n, b = cleanup_left()
        self.stdout.write(self.style.SUCCESS(
            f"analysed {job.processed} files, {ReviewItem.objects.filter(status='open').count()} clean-up files open "
            f"for review; {n} objects / {byte_size(b)} left in clean-up"))

    def _users(self):
        User = get_user_model()
        for username, role in (("curator", CURATOR), ("admin", ADMIN)):
            user = User.objects.filter(username=username).first()
            if user is not None:
                add_to_role(user, role)
                self.stdout.write(f"user {username!r} exists (reset its password with: manage.py changepassword {username})")
                continue
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=username, password=password, email=f"{username}@example.org")
            add_to_role(user, role)
            self.stdout.write(self.style.WARNING(f"created user {username!r} ({role}) with password: {password}  "
                                                 "(shown once; change it with manage.py changepassword)"))

    def _source(self, name, role, path):
        resolved = str(path.resolve())
        existing = Source.objects.filter(kind="local", root=resolved).first() or Source.objects.filter(name=name).first()
        if existing:
            if existing.root != resolved or existing.role != role:
                raise CommandError(f"a source named {name!r} already exists elsewhere ({existing.location}); "
                                   "remove or rename it to load the demo")
            return existing
        try:
            return source_add(actor=None, name=name, kind="local", role=role, root=resolved,
                              description="demo collection (manage.py doppel_demo)")
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None

"""`manage.py doppel_takedown --user ADMIN --source NAME --reason TEXT KEY...`: legal takedown (the
objects and every copy Doppel made of them; see services/takedown.py)."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.models import Asset
from reviewapp.services.deletion import takedown_execute

from .doppel_plan import get_admin
from .doppel_status import get_source, validation_message


class Command(BaseCommand):
    help = "Delete the named objects at once (canonical included, no quarantine), with a required reason."

    def add_arguments(self, parser):
        parser.add_argument("keys", nargs="+", help="object keys as inventoried")
        parser.add_argument("--user", required=True)
        parser.add_argument("--source", required=True)
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **opts):
        user = get_admin(opts["user"])
        source = get_source(opts["source"])
        found = {a.key: a for a in Asset.objects.filter(source=source, key__in=opts["keys"])}
        missing = [k for k in opts["keys"] if k not in found]
        if missing:
            raise CommandError(f"not in {source.name}: {', '.join(missing)}")
        try:
            results = takedown_execute(actor=user, assets=[found[k] for k in opts["keys"]], reason=opts["reason"])
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(validation_message(exc) if isinstance(exc, ValidationError) else str(exc)) from None
        for r in results:
            self.stdout.write(f"{'deleted' if r['ok'] else 'NOT deleted'} {r['asset'].key}: {r['message']}")
            for step in r.get("steps", []):
                self.stdout.write(f"  {step}")
        if not all(r["ok"] for r in results):
            raise CommandError("some objects were not deleted")

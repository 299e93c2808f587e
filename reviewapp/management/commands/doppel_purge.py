"""`manage.py doppel_purge`: purge quarantined objects whose retention is over (also periodic)."""
from django.core.management.base import BaseCommand

from reviewapp.models import DeletionItem
from reviewapp.services.deletion import deletion_purge_due


class Command(BaseCommand):
    help = "Purge quarantined objects past their retention period; Object Lock is obeyed and reported."

    def handle(self, *args, **opts):
        counts = deletion_purge_due()
        self.stdout.write(f"purged {counts['purged']}, locked {counts['locked']}, failed {counts['failed']}")
        for item in DeletionItem.objects.filter(state="quarantined").exclude(reason="").select_related("asset")[:50]:
            self.stdout.write(f"  {item.asset.key}: {item.reason}")

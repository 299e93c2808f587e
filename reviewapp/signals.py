from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .roles import ensure_groups
from .services.candidate_index import hamming


@receiver(post_migrate)
def create_roles(sender, app_config=None, **kwargs):
    if app_config is None or app_config.name != "reviewapp":
        return
    ensure_groups()


@receiver(connection_created)
def sqlite_hamming(sender, connection, **kwargs):
    """SQLite has no popcount: the candidate index's distance function, registered per connection."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("doppel_hamming", 2, hamming, deterministic=True)

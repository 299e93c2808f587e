from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .roles import ensure_groups


@receiver(post_migrate)
def create_roles(sender, app_config=None, **kwargs):
    if app_config is None or app_config.name != "reviewapp":
        return
    ensure_groups()

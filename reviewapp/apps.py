from django.apps import AppConfig
from django.conf import settings

from matching import decode


class ReviewappConfig(AppConfig):
    name = "reviewapp"
    verbose_name = "Doppel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Django's way: signal receivers register once the app registry is ready (the one
        # function-local import of the app's own code outside task bodies that must stay).
        from . import signals  # noqa: F401

        engine_limits_apply()


def engine_limits_apply():
    """Make the configured pixel and decoded-byte limits the engine's defaults in this process,
    so every decode obeys them (analysis, renditions, the executor's re-check, reingest checks)
    even where a caller passes no limit of its own."""
    decode.DEFAULT_MAX_PIXELS = settings.MAX_IMAGE_PIXELS
    decode.DEFAULT_MAX_DECODED_BYTES = settings.MAX_DECODED_BYTES

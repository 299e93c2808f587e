"""Doppel's Django side: storage, the database, people. The image engine lives in `matching/`."""
from .celery import app as celery_app

__all__ = ["celery_app"]

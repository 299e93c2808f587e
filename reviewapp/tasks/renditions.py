"""Rendition tasks: the UI's pictures that were not made at analysis (or went since), made off the
web request. Thin and idempotent: a second run finds the picture stored and does nothing."""
from celery import shared_task


@shared_task(name="doppel.asset_renditions", acks_late=True)
def asset_renditions_task(asset_id):
    from ..services.renditions import asset_renditions_make

    return asset_renditions_make(asset_id)


@shared_task(name="doppel.candidate_rendition", acks_late=True)
def candidate_rendition_task(candidate_id, kind):
    from ..services.renditions import candidate_rendition_make

    return candidate_rendition_make(candidate_id, kind)


__all__ = ["asset_renditions_task", "candidate_rendition_task"]

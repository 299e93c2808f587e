"""Rendition tasks: the UI's pictures that were not made at analysis (or went since), made off the
web request. Thin and idempotent: a second run finds the picture stored and does nothing. A file
that kills the worker's process (out of memory) is not handed out again (reject_on_worker_lost off,
unlike the analysis tasks): nobody waits on it but a page, which gives up, and a redelivered one
would kill the next process too."""
from celery import shared_task


@shared_task(name="doppel.asset_renditions", acks_late=True, reject_on_worker_lost=False)
def asset_renditions_task(asset_id):
    from ..services.renditions import asset_renditions_make

    return asset_renditions_make(asset_id)


@shared_task(name="doppel.candidate_rendition", acks_late=True, reject_on_worker_lost=False)
def candidate_rendition_task(candidate_id, kind):
    from ..services.renditions import candidate_rendition_make

    return candidate_rendition_make(candidate_id, kind)


__all__ = ["asset_renditions_task", "candidate_rendition_task"]

"""Exports too large for a web request (gunicorn's timeout is 60 s) run as a job: the worker
writes the file to the shared renditions storage under exports/, and the job page (or the API)
offers it for download. Small exports are still answered straight away.

The job's params hold the filters in the selector's words (error_log_list keyword arguments:
primary keys and ISO dates), so the worker rebuilds exactly the list the admin was looking at."""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from ..models import Job
from ..selectors.errorlog import EXPORT_HEADER, error_log_list, error_log_rows
from .exports import csv_lines, xlsx_write
from .jobs import (
    job_count,
    job_create,
    job_dispatch,
    job_fail,
    job_finish,
    job_may_continue,
    job_set_params,
    job_start,
)

log = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "xlsx")
FILTER_KEYS = ("category", "source", "curator", "date_from", "date_to", "include_withdrawn", "withdrawn")
COUNT_EVERY = 5000  # rows between progress updates
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_too_large_for_a_request(qs) -> int:
    """How many rows the export holds when that is more than a request writes (EXPORT_INLINE_ROWS),
    else 0: the page and the API say how many from this, where they ran the COUNT over the error log
    a second time to say it."""
    rows = qs.count()
    return rows if rows > settings.EXPORT_INLINE_ROWS else 0


def _storage():
    return storages["renditions"]


def error_log_export_start(*, actor, fmt: str, filters: dict, base_url: str) -> Job:
    """Queue an error-log export; the file appears on the job once the worker has written it."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"export format must be one of {', '.join(EXPORT_FORMATS)}")
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise ValidationError(f"unknown export filters: {', '.join(sorted(unknown))}")
    params = {"what": "error_log", "format": fmt, "filters": filters, "base_url": base_url}
    with transaction.atomic():
        job = job_create(actor=actor, kind=Job.Kind.EXPORT, params=params)
        job_dispatch(job)
    return job


class _Stopped(Exception):
    """The job was paused or cancelled while its file was being written."""


def _counted(rows, job_id):
    """The rows, counted on the job as they are written; every COUNT_EVERY rows the job is asked
    whether to go on, so a pause or a cancel stops the writing (it went on to the last row, and a
    cancelled export's file was stored where no job offered or expired it)."""
    n = 0
    for n, row in enumerate(rows, start=1):
        yield row
        if n % COUNT_EVERY == 0:
            job_count(job_id, found=COUNT_EVERY, processed=COUNT_EVERY)
            if not job_may_continue(job_id):
                raise _Stopped
    job_count(job_id, found=n % COUNT_EVERY, processed=n % COUNT_EVERY)


def _export_write(job_id, params: dict) -> tuple[str, str]:
    """Write the file the job's params describe and store it: (its name in storage, download name)."""
    fmt = params["format"]
    qs = error_log_list(**params.get("filters", {})).order_by("created_at", "id")
    # requested: the rows the list held when the job began (for the progress bar); found and processed:
    # the rows written, counted as they are (rows logged in between are in the file and counted)
    Job.objects.filter(pk=job_id).update(requested=qs.count(), found=0, processed=0)
    rows = _counted(error_log_rows(qs, base_url=params.get("base_url", "")), job_id)
    if fmt == "xlsx":
        path = xlsx_write(EXPORT_HEADER, rows, title="Error log", link_column=EXPORT_HEADER.index("link"))
    else:
        fd, path = tempfile.mkstemp(prefix="doppel-export-", suffix=".csv")
    filename = f"doppel-error-log-{timezone.now():%Y%m%d-%H%M}.{fmt}"
    try:
        if fmt != "xlsx":
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                for line in csv_lines(EXPORT_HEADER, rows):
                    fh.write(line)
        with open(path, "rb") as fh:
            return _storage().save(f"exports/job-{job_id}/{filename}", File(fh)), filename
    finally:
        os.unlink(path)


def export_run(job_id) -> Job | None:
    """Worker side: write the file, store it, record where. Safe to run twice (a second run of a
    finished job does nothing; an interrupted one starts the file again).

    Whatever fails after the job started (the file, the storage, recording the file on the job:
    SQLite's "database is locked" once left a job "running" for ever) ends the job failed, with the
    reason, and a failed export can be resumed. Only a failure that cannot be recorded either (the
    database still locked) reaches the task, which runs the export again later."""
    job = job_start(job_id)
    if job is None:
        return None
    name = None
    try:
        name, filename = _export_write(job_id, job.params)
        job_set_params(job_id, file=name, filename=filename)
        finished = job_finish(job_id)
        if finished.state != Job.State.DONE:  # cancelled after the last check: no job offers the file
            _storage().delete(name)
            finished = job_set_params(job_id, file="")
        return finished
    except _Stopped:  # paused (a resume writes the file again from the start) or cancelled: nothing stored
        return Job.objects.get(pk=job_id)
    except Exception as exc:  # noqa: BLE001 - the job row carries the reason
        log.exception("export job %s failed", job_id)
        failed = job_fail(job_id, f"export failed: {exc}")
        if name:  # a failed job offers no download, and export_files_expire looks at finished ones only
            with contextlib.suppress(Exception):  # the job says why it failed; a stray file is no reason more
                _storage().delete(name)
        return failed


def export_files_expire(*, now=None) -> int:
    """Remove export files older than DOPPEL_EXPORT_KEEP_HOURS (beat, hourly): they are copies of
    data that stays in the database, and storage should not fill up with them. The job keeps its
    record and says the file has expired."""
    from datetime import timedelta

    cutoff = (now or timezone.now()) - timedelta(hours=settings.EXPORT_KEEP_HOURS)
    n = 0
    for job in Job.objects.filter(kind=Job.Kind.EXPORT, state=Job.State.DONE, finished_at__lt=cutoff,
                                  params__has_key="file").exclude(params__file=""):
        _storage().delete(job.params["file"])
        job_set_params(job.pk, file="", expired=True)
        n += 1
    return n


def export_file_open(job: Job):
    """(open file, download name, content type) of a finished export job."""
    if job.kind != Job.Kind.EXPORT or job.state != Job.State.DONE or not job.params.get("file"):
        if job.params.get("expired"):
            raise ValidationError("this export's file has expired; export again")
        raise ValidationError("this job has no finished export to download")
    fmt = job.params.get("format", "xlsx")
    return _storage().open(job.params["file"], "rb"), job.params["filename"], CONTENT_TYPES[fmt]

"""`manage.py doppel_status [JOB]`: recent jobs, or one job's progress, and what is left in clean-up.

Also holds the small helpers the other doppel_* commands share (finding a source, following a job
with a progress bar)."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reviewapp.celery import app
from reviewapp.models import Job, NameList, Source
from reviewapp.selectors.assets import cleanup_left
from reviewapp.selectors.jobs import job_item_counts, job_progress
from reviewapp.units import byte_size


def get_source(name) -> Source:
    try:
        return Source.objects.get(name=name)
    except Source.DoesNotExist:
        known = ", ".join(Source.objects.values_list("name", flat=True)) or "none yet (add one with doppel_source add)"
        raise CommandError(f"unknown source {name!r}; known sources: {known}") from None


def get_job(job_id, kind=None) -> Job:
    try:
        job = Job.objects.get(pk=int(job_id))
    except (Job.DoesNotExist, ValueError, TypeError):
        raise CommandError(f"no job #{job_id}") from None
    if kind and job.kind != kind:
        raise CommandError(f"job #{job.pk} is a {job.get_kind_display().lower()} job, not {kind}")
    return job


def get_namelist(pk) -> NameList:
    try:
        return NameList.objects.select_related("source").get(pk=int(pk))
    except (NameList.DoesNotExist, ValueError, TypeError):
        raise CommandError(f"no name list #{pk}") from None


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def eager() -> bool:
    return bool(app.conf.task_always_eager or settings.CELERY_TASK_ALWAYS_EAGER)


class Bars:
    """tqdm bars per phase, fed by the services' progress callbacks."""

    def __init__(self, stdout, disable=False):
        self.stdout = stdout
        self.bars = {}
        self.disable = disable

    def __call__(self, phase, total=None, step=None):
        from tqdm import tqdm

        if total is not None:
            self.close()  # one phase at a time: the previous bar is finished
            self.bars[phase] = tqdm(total=total, desc=phase, unit="file", disable=self.disable, leave=True)
        if step:
            if phase not in self.bars:
                self.bars[phase] = tqdm(desc=phase, unit="file", disable=self.disable, leave=True)
            self.bars[phase].update(step)

    def close(self):
        for b in self.bars.values():
            b.close()
        self.bars = {}


def follow(job: Job, stdout, *, interval=1.0, disable=False) -> Job:
    """With a broker: watch a queued job's counters until it finishes (Ctrl-C leaves it running)."""
    from tqdm import tqdm

    bar = tqdm(total=job.requested or None, desc=job.get_kind_display(), unit="file", disable=disable)
    try:
        while True:
            job.refresh_from_db()
            done = job.processed + job.failed
            if job.requested and bar.total != job.requested:
                bar.total = job.requested
            bar.n = done
            bar.refresh()
            if job.state in (Job.State.DONE, Job.State.FAILED, Job.State.CANCELLED, Job.State.PAUSED):
                return job
            time.sleep(interval)
    except KeyboardInterrupt:
        stdout.write(f"\nstopped watching; job #{job.pk} keeps running (doppel_status {job.pk})")
        return job
    finally:
        bar.close()


def job_summary(job: Job) -> str:
    p = job_progress(job)
    eta = f", ETA {p['eta_seconds']} s" if p["eta_seconds"] else ""
    line = (f"job #{job.pk} {job.get_kind_display().lower()} [{job.state}] {job.source or ''}: "
            f"requested {p['requested']}, found {p['found']}, processed {p['processed']}, failed {p['failed']}, "
            f"{byte_size(p['bytes_done'])} of {byte_size(p['bytes_total'])}, {p['rate_per_s']}/s{eta}")
    if job.error:
        line += f"\n  error: {job.error}"
    return line


def queued_or_followed(cmd, job: Job, opts) -> bool:
    """A job a broker's worker runs: with ``--no-wait``, say how to follow it and answer False (the command has
    nothing more to report); otherwise follow it to its end and answer True. The one place for what every
    command that queues a job does once it is queued (analyse, inventory, name lists)."""
    if opts["no_wait"]:
        cmd.stdout.write(f"queued; follow it with: manage.py doppel_status {job.pk}")
        return False
    follow(job, cmd.stdout, disable=opts["no_progress"])
    return True


def finish_message(cmd, job: Job):
    job.refresh_from_db()
    if job.state == Job.State.FAILED:
        raise CommandError(f"job #{job.pk} failed: {job.error}")
    cmd.stdout.write(job_summary(job))


class Command(BaseCommand):
    help = "Show recent jobs, or the progress of one job, and what is left in clean-up."

    def add_arguments(self, parser):
        parser.add_argument("job", nargs="?", help="job id to show in detail")
        parser.add_argument("--limit", type=int, default=20, help="how many recent jobs to list (default 20)")

    def handle(self, *args, **opts):
        if opts["job"]:
            job = get_job(opts["job"])
            self.stdout.write(job_summary(job))
            counts = job_item_counts(job)
            parts = [f"{k} {v['count']} ({byte_size(v['bytes'])})" for k, v in counts.items() if v["count"]]
            if parts:
                self.stdout.write("  items: " + ", ".join(parts))
            if job.kind == Job.Kind.RESTORE and job.params.get("estimate"):
                e = job.params["estimate"]
                self.stdout.write(f"  estimate: {e['objects']} objects, {byte_size(e['bytes'])}, tier {e['tier']}, {e['days']} days")
            for child in job.children.all():
                self.stdout.write("  " + job_summary(child))
            for ev in job.events.all().order_by("-created_at")[:5]:
                self.stdout.write(f"  {ev.created_at:%Y-%m-%d %H:%M:%S} {ev.event} {ev.detail or ''}")
        else:
            jobs = Job.objects.select_related("source").order_by("-created_at", "-id")[: opts["limit"]]
            if not jobs:
                self.stdout.write("no jobs yet")
            for job in jobs:
                self.stdout.write(job_summary(job))
        n, b = cleanup_left()
        self.stdout.write(f"{n} objects / {byte_size(b)} left in clean-up")

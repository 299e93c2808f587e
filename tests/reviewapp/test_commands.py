"""The admin commands: --help, progress, clear CommandError messages and non-zero exits."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reviewapp.models import Asset, Job, NameList, ReviewItem, Source
from tests.reviewapp.test_analysis import make_collection


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("cmd", ["doppel_source", "doppel_inventory", "doppel_namelist", "doppel_restore",
                                 "doppel_analyse", "doppel_status", "doppel_demo"])
def test_every_command_has_help(cmd):
    from django.core.management import load_command_class

    parser = load_command_class("reviewapp", cmd).create_parser("manage.py", cmd)
    text = parser.format_help()
    assert text.startswith("usage:") and len(text) > 200


@pytest.mark.django_db
def test_unknown_source_exits_non_zero_with_a_message(capsys):
    """As from the shell: the CommandError becomes a one-line message and exit status 1."""
    from django.core.management import load_command_class

    cmd = load_command_class("reviewapp", "doppel_inventory")
    with pytest.raises(SystemExit) as exc:
        cmd.run_from_argv(["manage.py", "doppel_inventory", "no-such-source"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "unknown source 'no-such-source'" in err and "Traceback" not in err


@pytest.mark.django_db
def test_source_add_list_and_errors(local_root):
    d = local_root / "a"
    d.mkdir()
    assert "added cleanup source a1" in run("doppel_source", "add", "--name", "a1", "--kind", "local", "--role", "cleanup", "--root", str(d))
    assert "a1" in run("doppel_source", "list")
    with pytest.raises(CommandError, match="already exists"):
        run("doppel_source", "add", "--name", "a1", "--kind", "local", "--role", "cleanup", "--root", str(d))
    with pytest.raises(CommandError, match="not under an allowed root"):
        run("doppel_source", "add", "--name", "a2", "--kind", "local", "--role", "cleanup", "--root", "/etc")
    with pytest.raises(CommandError, match="unknown storage profile"):
        run("doppel_source", "add", "--name", "a3", "--kind", "s3", "--role", "cleanup", "--profile", "nope", "--bucket", "bkt")


@pytest.mark.django_db
def test_s3_source_with_a_bad_bucket_or_no_credentials_is_refused(s3_profile, settings):
    with pytest.raises(CommandError, match="does not exist"):
        run("doppel_source", "add", "--name", "b1", "--kind", "s3", "--role", "cleanup", "--profile", "moto", "--bucket", "no-such-bucket-x")
    assert not Source.objects.filter(name="b1").exists()
    settings.S3_PROFILES = {**settings.S3_PROFILES, "nocreds": {"endpoint_url": settings.S3_PROFILES["moto"]["endpoint_url"],
                                                                 "aws_access_key_id": "wrong", "aws_secret_access_key": "wrong",
                                                                 "region_name": "us-east-1"}}
    # moto accepts any key, so credentials are checked through a missing bucket here; the message names the source
    with pytest.raises(CommandError, match="cannot list"):
        run("doppel_source", "add", "--name", "b2", "--kind", "s3", "--role", "cleanup", "--profile", "nocreds", "--bucket", "absent-bucket-y")


@pytest.mark.django_db
def test_full_flow_through_the_commands(local_root, tmp_path):
    can, cl = make_collection(local_root)
    run("doppel_source", "add", "--name", "canon", "--kind", "local", "--role", "canonical", "--root", str(can))
    run("doppel_source", "add", "--name", "cl", "--kind", "local", "--role", "cleanup", "--root", str(cl))
    out = run("doppel_inventory", "canon", "--no-progress")
    assert "requested 3, found 3, processed 3" in out and "new 3" in out
    run("doppel_inventory", "cl", "--no-progress")
    lst = tmp_path / "names.csv"
    lst.write_text('name\n"C1234a.jpg"\n"IMG_0001"\nmissing.tif\n', encoding="utf-8")
    out = run("doppel_namelist", "cl", str(lst), "--misses", str(tmp_path / "miss.csv"))
    assert "requested 3, found 2, not found 1, ambiguous 0" in out
    assert "missing.tif,not_found" in (tmp_path / "miss.csv").read_text()
    nl = NameList.objects.get()
    out = run("doppel_analyse", "--namelist", str(nl.pk), "--no-progress")
    assert "[done]" in out and ReviewItem.objects.count() == 2
    out = run("doppel_analyse", "cl", "--no-progress")
    assert ReviewItem.objects.count() == 5
    job = Job.objects.filter(kind="analyse").order_by("-pk").first()
    out = run("doppel_status", str(job.pk))
    assert f"job #{job.pk} analyse [done]" in out and "objects /" in out and "left in clean-up" in out
    assert "inventory" in run("doppel_status")


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["doppel_inventory", "doppel_analyse", "doppel_namelist"])
def test_a_queued_job_is_left_running_with_no_wait_and_followed_to_its_end_without(local_root, tmp_path, monkeypatch,
                                                                                   command):
    # with a broker (not eager) each command queues its job; --no-wait says how to follow it and ends there,
    # without it the command watches the job to its end and reports it. (A test's transaction never commits,
    # so nothing is queued: the "worker" here ends the job as the command starts watching it)
    import importlib

    from reviewapp.management.commands import doppel_status
    watch = doppel_status.follow

    def worker_ends_it(job, stdout, **kw):
        Job.objects.filter(pk=job.pk).update(state=Job.State.DONE)
        return watch(job, stdout, interval=0.01, **kw)
    monkeypatch.setattr(doppel_status, "follow", worker_ends_it)
    can, cl = make_collection(local_root)
    run("doppel_source", "add", "--name", "cl", "--kind", "local", "--role", "cleanup", "--root", str(cl))
    if command != "doppel_inventory":
        run("doppel_inventory", "cl", "--no-progress")
    monkeypatch.setattr(importlib.import_module(f"reviewapp.management.commands.{command}"), "eager", lambda: False)
    names = tmp_path / "names.csv"
    names.write_text("name\nIMG_0001\n", encoding="utf-8")
    args = {"doppel_inventory": ["cl"], "doppel_analyse": ["cl"], "doppel_namelist": ["cl", str(names)]}[command]
    out = run(command, *args, "--no-progress", "--no-wait")
    job = Job.objects.order_by("-pk").first()
    assert f"queued; follow it with: manage.py doppel_status {job.pk}" in out and f"job #{job.pk}" not in out.split(
        "queued")[1]
    out = run(command, *args, "--no-progress")
    job = Job.objects.order_by("-pk").first()
    assert "follow it with" not in out and f"job #{job.pk} " in out and "[done]" in out


@pytest.mark.django_db
def test_command_errors(local_root, tmp_path):
    d = local_root / "x"
    d.mkdir()
    run("doppel_source", "add", "--name", "x", "--kind", "local", "--role", "cleanup", "--root", str(d))
    with pytest.raises(CommandError, match="unknown source 'nope'; known sources: x"):
        run("doppel_inventory", "nope")
    with pytest.raises(CommandError, match="cannot read"):
        run("doppel_namelist", "x", str(tmp_path / "absent.txt"))
    bad = tmp_path / "bin.txt"
    bad.write_bytes(b"\x00\x01\x02\x03")
    with pytest.raises(CommandError, match="binary"):
        run("doppel_namelist", "x", str(bad))
    with pytest.raises(CommandError, match="either a source name or --namelist"):
        run("doppel_analyse")
    with pytest.raises(CommandError, match="no name list #42"):
        run("doppel_analyse", "--namelist", "42")
    with pytest.raises(CommandError, match="local source"):
        run("doppel_restore", "x")
    with pytest.raises(CommandError, match="no job #77"):
        run("doppel_status", "77")
    import shutil

    shutil.rmtree(d)
    with pytest.raises(CommandError, match="does not exist"):
        run("doppel_inventory", "x", "--no-progress")


@pytest.mark.django_db
def test_restore_command_estimate_then_confirm(s3_profile, s3_bucket):
    s3_profile.put_object(Bucket=s3_bucket, Key="C0000001.tif", Body=b"x" * 10, StorageClass="DEEP_ARCHIVE")
    run("doppel_source", "add", "--name", "cold", "--kind", "s3", "--role", "cleanup", "--profile", "moto", "--bucket", s3_bucket)
    run("doppel_inventory", "cold", "--no-progress")
    out = run("doppel_restore", "cold", "--tier", "Standard", "--days", "2")
    assert "1 archived objects, 10 bytes, tier Standard, kept 2 days" in out and "--confirm" in out
    job = Job.objects.get(kind="restore")
    assert Asset.objects.get().state == "archived"  # an estimate requests nothing
    out = run("doppel_restore", "--confirm", str(job.pk), "--wait")
    assert "restored 1" in out
    job.refresh_from_db()
    assert job.state == "done" and Asset.objects.get().state == "available"
    with pytest.raises(CommandError, match="not awaiting confirmation"):
        run("doppel_restore", "--confirm", str(job.pk))

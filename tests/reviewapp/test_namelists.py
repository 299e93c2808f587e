"""Name lists: parsing text and CSV (quotes, commas, unicode, BOMs), resolving by key, name, stem
and ID with found / not found / ambiguous counts, the misses as CSV, and analysing a selection.
An upload is answered once the file is checked and stored; a job resolves and writes its lines."""
from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewapp.models import Asset, Job, NameListEntry, ReviewItem, Source
from reviewapp.selectors.assets import namelist_misses, namelist_misses_csv, namelist_selection
from reviewapp.services.inventory import extract_ids
from reviewapp.services.namelists import decode_upload, namelist_upload, parse_names
from tests.factories import AssetFactory, SourceFactory


@pytest.fixture(autouse=True)
def uploads(tmp_path, settings):
    """Uploaded lists wait for their job in the renditions storage: a temp dir here."""
    from django.core.files.storage import storages

    settings.STORAGES = {**settings.STORAGES, "renditions": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "renditions")}}}
    storages._storages.pop("renditions", None)
    yield tmp_path / "renditions"
    storages._storages.pop("renditions", None)


def upload(actor, source, name, data: bytes, title=""):
    return namelist_upload(actor=actor, source=source, title=title, uploaded_file=SimpleUploadedFile(name, data))


def test_parse_plain_text_keeps_commas_and_unicode():
    text = 'C0001234.tif\n\n  "Photo, 1923 – Ærø.jpg"  \n# a comment\nIMG_0001.JPG\n'
    assert parse_names(text, "list.txt") == [(1, "C0001234.tif"), (3, "Photo, 1923 – Ærø.jpg"), (5, "IMG_0001.JPG")]


def test_a_text_file_whose_every_name_holds_a_comma_is_still_one_name_a_line():
    # the same number of commas on every line looked like CSV: "Smith, John.jpg" was cut to "Smith",
    # which then matched Smith.jpg by its stem, another person's picture
    assert parse_names("Smith, John.jpg\nDoe, Jane.jpg\n", "people.txt") == [(1, "Smith, John.jpg"), (2, "Doe, Jane.jpg")]
    assert parse_names("Smith, John.jpg\nDoe, Jane.jpg\n", "PEOPLE.TXT") == [(1, "Smith, John.jpg"), (2, "Doe, Jane.jpg")]


def test_parse_csv_picks_the_named_column_and_unquotes():
    text = 'box,"file name",note\n1,"a, b.tif","x"\n2,C0002345,"y, z"\n3,,empty\n'
    assert parse_names(text, "list.csv") == [(2, "a, b.tif"), (3, "C0002345")]
    # no header: the first column
    assert parse_names('"C1",x\n"C2",y\n', "l.csv") == [(1, "C1"), (2, "C2")]


def test_decode_handles_boms_and_legacy_encodings():
    assert decode_upload("\ufeffÆble.tif\n".encode("utf-8")) == "Æble.tif\n"
    assert decode_upload("Æble.tif\n".encode("utf-16")) == "Æble.tif\n"
    assert decode_upload("Æble.tif\n".encode("cp1252")) == "Æble.tif\n"
    with pytest.raises(ValidationError, match="binary"):
        decode_upload(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(ValidationError, match="empty"):
        decode_upload(b"")


@pytest.fixture
def source(db):
    src = SourceFactory(role=Source.Role.CLEANUP)
    for key in ["box1/C0001234.tif", "box1/C0001234.jp2", "box2/IMG_0001.jpg", "Ærø, 1923.tif", "C0005555a.jpg",
                "C0005555b.png", "gone.jpg"]:
        a = AssetFactory(source=src, key=key, name=key.rsplit("/", 1)[-1], state=Asset.State.LISTED)
        for v in extract_ids(key):
            a.identifiers.create(value=v)
    Asset.objects.filter(key="gone.jpg").update(state=Asset.State.VANISHED)
    AssetFactory(key="IMG_0002.jpg")  # another source: never found here
    return src


@pytest.mark.django_db
def test_resolution_counts_and_misses(source, admin_user):
    data = "\ufeff" + "\n".join([
        "box2/IMG_0001.jpg",   # exact key
        "img_0001.JPG",        # name, any case
        "Ærø, 1923",           # stem
        "C1234",               # ID, but two files carry it: ambiguous
        "c5555",               # ID: two files
        "C0001234.tif",        # file name: one
        "IMG_0002.jpg",        # only in another source
        "gone.jpg",            # vanished
        "nothing-like-it",
    ])
    nl = upload(admin_user, source, "list.txt", data.encode("utf-8"), title="Box list")
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (9, 4, 3, 2)
    assert nl.title == "Box list" and nl.original_filename == "list.txt" and nl.uploaded_by == admin_user
    status = dict(nl.entries.values_list("raw", "status"))
    assert status["C1234"] == "ambiguous" and status["img_0001.JPG"] == "found" and status["gone.jpg"] == "not_found"
    assert sorted(namelist_selection(nl).values_list("key", flat=True)) == ["box1/C0001234.tif", "box2/IMG_0001.jpg", "Ærø, 1923.tif"]
    rows = list(csv.DictReader(io.StringIO(namelist_misses_csv(nl))))
    assert [r["name"] for r in rows] == ["C1234", "c5555", "IMG_0002.jpg", "gone.jpg", "nothing-like-it"]
    assert rows[0]["matches"] == "box1/C0001234.jp2 | box1/C0001234.tif"
    assert namelist_misses(nl).count() == 5
    job = Job.objects.get(namelist=nl, kind=Job.Kind.NAMELIST)
    assert job.state == Job.State.DONE and job.found == 4 and job.requested == 9


@pytest.mark.django_db
def test_unreadable_or_empty_lists_are_refused(source, admin_user):
    with pytest.raises(ValidationError):
        upload(admin_user, source, "x.png", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    with pytest.raises(ValidationError, match="no names"):
        upload(admin_user, source, "x.txt", b"\n# only a comment\n")
    assert not NameListEntry.objects.exists()


@pytest.mark.django_db
def test_an_upload_is_answered_before_its_lines_are_resolved_and_its_page_follows_the_job(
        source, admin_client_doppel, uploads, django_capture_on_commit_callbacks):
    # a list of 499,000 lines was resolved and written inside the request: 39-54 s on PostgreSQL,
    # against gunicorn's 60 s. Now the request checks and stores the file and a job does the rest.
    with django_capture_on_commit_callbacks() as queued:
        resp = admin_client_doppel.post("/namelists/upload/", {"source": source.pk, "title": "t",
                                                               "file": SimpleUploadedFile("l.csv", b"name\nC0001234.tif\nnope\n")})
    assert resp.status_code == 302
    nl = source.namelists.get()
    assert resp.url == f"/namelists/{nl.pk}/"
    assert not nl.entries.exists() and nl.resolved_at is None   # no line written by the request
    job = Job.objects.get(namelist=nl, kind=Job.Kind.NAMELIST)
    assert job.state == Job.State.QUEUED and job.requested == 2 and len(queued) == 1
    assert [p.name for p in (uploads / "namelists" / f"list-{nl.pk}").iterdir()] == ["upload"]
    page = admin_client_doppel.get(f"/namelists/{nl.pk}/").content.decode()
    assert "2 lines uploaded; they are being matched against the source in the background" in page   # announced
    assert 'data-live-refresh="3"' in page and '<meta name="doppel-refresh" content="3">' in page
    assert "Waiting for a worker to match the 2 lines against the source." in page and "live.js" in page
    assert "Download the misses" not in page and "Analyse this selection" not in page
    assert "not resolved yet (see its page)" in admin_client_doppel.get("/jobs/").content.decode()   # not "0 found"

    queued[0]()   # the worker (eager here)
    job.refresh_from_db()
    nl.refresh_from_db()
    assert job.state == Job.State.DONE and (job.processed, job.found) == (2, 1)
    assert (nl.requested, nl.found, nl.not_found) == (2, 1, 1) and nl.resolved_at
    assert not (uploads / "namelists" / f"list-{nl.pk}" / "upload").exists()   # read for the last time
    page = admin_client_doppel.get(f"/namelists/{nl.pk}/").content.decode()
    assert "data-live-refresh" not in page and "doppel-refresh" not in page
    # what the reload after the job says (doppel.js announces [data-live-outcome] after it)
    assert '<p data-testid="namelist-outcome" data-live-outcome>2 lines resolved: 1 found, 1 not found, 0 ambiguous.</p>' in page
    assert b"nope" in admin_client_doppel.get(f"/namelists/{nl.pk}/").content
    resp = admin_client_doppel.get(f"/namelists/{nl.pk}/misses.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert "nope,not_found" in resp.content.decode()


@pytest.mark.django_db
def test_a_file_that_cannot_be_read_is_refused_by_the_upload_itself(source, admin_client_doppel, uploads):
    bad = admin_client_doppel.post("/namelists/upload/", {"source": source.pk, "file": SimpleUploadedFile("e.txt", b"\x00\x01\x02")})
    assert bad.status_code == 200 and b"binary" in bad.content
    empty = admin_client_doppel.post("/namelists/upload/", {"source": source.pk, "file": SimpleUploadedFile("e.txt", b"# nothing\n")})
    assert empty.status_code == 200 and b"the list holds no names" in empty.content
    assert not source.namelists.exists() and not Job.objects.exists() and not uploads.exists()


@pytest.mark.django_db
def test_a_worker_killed_mid_list_is_redelivered_and_writes_each_line_once(source, admin_user, monkeypatch):
    import reviewapp.services.namelists as namelists

    class Killed(BaseException):
        """What a SIGKILL looks like from inside: nothing after it runs, no except clause sees it."""

    monkeypatch.setattr(namelists, "WRITE_BATCH", 2)
    names = ["box2/IMG_0001.jpg", "C1234", "nope-1", "nope-2", "C0001234.tif"]
    job = namelists.namelist_upload_start(actor=admin_user, source=source, title="t", dispatch=False,
                                          uploaded_file=SimpleUploadedFile("l.txt", "\n".join(names).encode()))
    write, calls = namelists._write_lines, []

    def dies_after_one_batch(*args):
        calls.append(args)
        if len(calls) == 2:
            raise Killed
        write(*args)

    monkeypatch.setattr(namelists, "_write_lines", dies_after_one_batch)
    with pytest.raises(Killed):
        namelists.namelist_resolve_run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.processed == 2
    assert list(NameListEntry.objects.values_list("line", flat=True)) == [1, 2]
    # the broker hands the task out again (late acks): it resumes after line 2, and a batch another
    # run already wrote (the two runs beside each other) is skipped under the list's lock
    write(job.pk, job.namelist_id, [(1, "box2/IMG_0001.jpg", "box2/IMG_0001.jpg")], {"box2/IMG_0001.jpg": set()})
    namelists.namelist_resolve_run(job.pk)
    namelists.namelist_resolve_run(job.pk)   # and once more after it finished: nothing
    job.refresh_from_db()
    nl = job.namelist
    assert list(nl.entries.values_list("line", "status")) == [
        (1, "found"), (2, "ambiguous"), (3, "not_found"), (4, "not_found"), (5, "found")]
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (5, 2, 2, 1) and nl.resolved_at
    assert job.state == Job.State.DONE and (job.requested, job.processed, job.found) == (5, 5, 2)
    assert NameListEntry.assets.through.objects.filter(namelistentry__namelist=nl).count() == 4


@pytest.mark.django_db
def test_a_selection_is_analysed_on_its_own(local_root, admin_user):
    from reviewapp.services.analysis import analysis_run, analysis_start
    from tests.reviewapp.test_analysis import inventory_inline, make_collection
    from reviewapp.services.sources import source_add

    can, cl = make_collection(local_root)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    nl = upload(admin_user, cleanup, "sel.txt", "C1234a.jpg\nIMG_0001\n".encode())
    assert nl.found == 2
    job = analysis_start(actor=admin_user, namelist=nl, dispatch=False)
    job = analysis_run(job.pk)
    assert job.state == Job.State.DONE and job.namelist == nl
    assert sorted(ReviewItem.objects.values_list("asset__name", "verdict")) == [("C1234a.jpg", "duplicate"), ("IMG_0001.png", "rotated")]
    # only the selection and the canonical side were analysed
    assert Asset.objects.filter(source=cleanup, analysis__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_list_of_thousands_of_names_resolves_by_name_and_stem_in_any_case(source, admin_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    misses = [f"C{n:07d}" for n in range(5_000_000, 5_001_200)]       # no file answers these
    data = "\n".join(misses[:600] + ["IMG_0001.JPG", "ærø, 1923", "C0005555A"] + misses[600:])
    with CaptureQueriesContext(connection) as queries:
        nl = upload(admin_user, source, "big.txt", data.encode("utf-8"))
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (1203, 3, 1200, 0)
    found = dict(nl.entries.filter(status="found").values_list("raw", "assets__key"))
    assert found == {"IMG_0001.JPG": "box2/IMG_0001.jpg", "ærø, 1923": "Ærø, 1923.tif", "C0005555A": "C0005555a.jpg"}
    # (SQLite refuses an expression over 1,000 deep: one ORed term per name was a crash at 499 names)
    assert max(q["sql"].count(" OR ") for q in queries.captured_queries) < 100


@pytest.mark.django_db
def test_a_list_that_fails_to_resolve_says_why_on_its_page_and_resume_finishes_it(
        source, admin_user, admin_client_doppel, monkeypatch, django_capture_on_commit_callbacks):
    import reviewapp.services.namelists as namelists
    from reviewapp.services.analysis import analysis_start
    from reviewapp.services.jobs import job_resume

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    resolve = namelists.resolve
    monkeypatch.setattr(namelists, "resolve", broken)
    nl = upload(admin_user, source, "list.txt", b"C0001234.tif\n")
    assert not NameListEntry.objects.exists() and nl.resolved_at is None
    job = Job.objects.get(kind=Job.Kind.NAMELIST)
    assert job.state == Job.State.FAILED and "could not be resolved: RuntimeError" in job.error and job.namelist == nl
    page = admin_client_doppel.get(f"/namelists/{nl.pk}/").content.decode()
    assert "This list is not resolved:" in page and "failed after writing 0 of 1 lines" in page
    assert "Resume it on its job page" in page and "Analyse this selection" not in page
    with pytest.raises(ValidationError, match="not been resolved"):   # half a selection is no selection
        analysis_start(actor=admin_user, namelist=nl, dispatch=False)
    monkeypatch.setattr(namelists, "resolve", resolve)
    with django_capture_on_commit_callbacks(execute=True):
        job_resume(actor=admin_user, job=job)
    job.refresh_from_db()
    nl.refresh_from_db()
    assert job.state == Job.State.DONE and (nl.requested, nl.found) == (1, 1) and nl.resolved_at


@pytest.mark.django_db
def test_a_job_whose_upload_is_gone_says_so(source, admin_user, uploads):
    from reviewapp.services.namelists import namelist_resolve_run, namelist_upload_start

    job = namelist_upload_start(actor=admin_user, source=source, title="t", dispatch=False,
                                uploaded_file=SimpleUploadedFile("l.txt", b"C0001234.tif\n"))
    (uploads / job.params["upload"]).unlink()
    job = namelist_resolve_run(job.pk)
    assert job.state == Job.State.FAILED
    assert job.error == ("the list could not be resolved: its uploaded file cannot be read from storage; "
                         "upload the list again")


@pytest.mark.django_db
def test_a_name_resolves_whatever_unicode_form_case_or_dots_its_file_was_stored_with(admin_user):
    src = SourceFactory(role=Source.Role.CLEANUP)
    for key in ["box/Cafe\u0301.jpg", "STRASSE.tif", "1998.05.12_001.JPG"]:   # a macOS name keeps its accent apart
        AssetFactory(source=src, key=key, name=key.rsplit("/", 1)[-1], state=Asset.State.LISTED)
    nl = upload(admin_user, src, "l.txt", "box/Café.jpg\nstraße.tif\n1998.05.12_001\ncafé\n".encode("utf-8"))
    assert (nl.found, nl.not_found, nl.ambiguous) == (4, 0, 0), list(nl.entries.values_list("raw", "status"))
    assert dict(nl.entries.values_list("raw", "assets__key"))["café"] == "box/Cafe\u0301.jpg"


def test_parse_csv_prefers_the_file_name_column_to_an_id_column():
    assert parse_names("id,filename,notes\n1,IMG_4200.jpg,x\n2,C1007b,y\n", "l.csv") == [(2, "IMG_4200.jpg"), (3, "C1007b")]



def add_misses(nl, first: int, last: int):
    """Lines first..last of `nl`, not found, written by the database itself: building 250,000 rows
    with the ORM takes a test 15 s."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"WITH RECURSIVE n(i) AS (SELECT {int(first)} UNION ALL SELECT i + 1 FROM n WHERE i < {int(last)}) "
                    f"INSERT INTO {NameListEntry._meta.db_table} (namelist_id, line, raw, normalised, status, match_count) "
                    "SELECT %s, i, 'gone-' || i, 'gone-' || i, %s, 0 FROM n", [nl.pk, NameListEntry.Status.NOT_FOUND])


@pytest.mark.django_db
def test_the_misses_csv_of_more_than_250k_misses_downloads(source, admin_client_doppel):
    # SQLite takes at most 250,000 parameters in a query; the assets of the misses were asked for
    # with one parameter per miss, so this download was a 500
    from reviewapp.models import NameList

    nl = NameList.objects.create(source=source, title="big")
    add_misses(nl, 2, 260_001)
    twice = NameListEntry.objects.create(namelist=nl, line=1, raw="C1234", normalised="C1234",
                                         status=NameListEntry.Status.AMBIGUOUS, match_count=2)
    twice.assets.set(Asset.objects.filter(key__startswith="box1/C0001234"))
    resp = admin_client_doppel.get(f"/namelists/{nl.pk}/misses.csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert len(rows) == 1 + 260_001
    assert rows[1] == ["1", "C1234", "ambiguous", "box1/C0001234.jp2 | box1/C0001234.tif"]
    assert rows[2] == ["2", "gone-2", "not_found", ""] and rows[-1] == ["260001", "gone-260001", "not_found", ""]


@pytest.mark.django_db
def test_the_name_list_page_says_how_many_misses_there_are_beyond_the_ones_it_shows(source, admin_client_doppel):
    from reviewapp.models import NameList

    nl = NameList.objects.create(source=source, title="long")
    add_misses(nl, 1, 1234)
    page = admin_client_doppel.get(f"/namelists/{nl.pk}/").content.decode()
    assert page.count('class="mono">gone-') == 200
    assert "Showing the first 200 of 1234 misses" in page and f"/namelists/{nl.pk}/misses.csv" in page
    few = NameList.objects.create(source=source, title="short")
    add_misses(few, 1, 3)
    page = admin_client_doppel.get(f"/namelists/{few.pk}/").content.decode()
    assert page.count('class="mono">gone-') == 3 and "Showing the first" not in page


def test_a_name_is_numbered_by_the_line_of_the_uploaded_file_it_is_on():
    # a CSV record was numbered by counting records: a quoted cell holding a line break moved every
    # later name up a line; a text line was cut at a form feed or U+2028, which moved every later one
    csv_file = 'name,note\n"a.tif","two\nlines"\n\nb.tif,x\n"c.tif","three\r\nmore\r\nlines"\nd.tif,y\n'
    assert parse_names(csv_file, "l.csv") == [(2, "a.tif"), (5, "b.tif"), (6, "c.tif"), (9, "d.tif")]
    assert parse_names("a.tif\x0cb\nc.tif\u2028\n\nd.tif\n", "l.txt") == [(1, "a.tif\x0cb"), (2, "c.tif"), (4, "d.tif")]
    # old Mac line ends: CSV read them as one line and failed (a 500); text counted them right
    assert parse_names("name\ra.tif\r\rb.tif\r", "l.csv") == [(2, "a.tif"), (4, "b.tif")]
    assert parse_names("a.tif\r\rb.tif", "l.txt") == [(1, "a.tif"), (3, "b.tif")]
    with pytest.raises(ValidationError, match="line 2 does not read as CSV"):
        parse_names('name\n"a.tif\n' + "x\n" * 70_000, "l.csv")   # a quote never closed: one cell too long


@pytest.mark.django_db
def test_the_misses_csv_gives_the_line_of_the_uploaded_file(source, admin_user):
    nl = upload(admin_user, source, "l.csv", b'name,note\n"nope-1","a note\nover two lines"\n\nC0001234.tif,x\nnope-2,y\n')
    rows = list(csv.DictReader(io.StringIO(namelist_misses_csv(nl))))
    assert [(r["line"], r["name"]) for r in rows] == [("2", "nope-1"), ("6", "nope-2")]


@pytest.mark.django_db
def test_a_windows_path_or_stray_spaces_resolve_like_the_clean_spelling(admin_user):
    # "box1\\C1.tif" (an escaped Windows path), "./box1/C1.tif" or "box1 / C1.tif" missed the key, so
    # they were found by file name alone: ambiguous between box1 and box2, or not found at all
    src = SourceFactory(role=Source.Role.CLEANUP)
    for key in ["box1/C1.tif", "box2/C1.tif", "scans /C2.tif"]:   # the last one's folder ends with a space
        AssetFactory(source=src, key=key, name=key.rsplit("/", 1)[-1], state=Asset.State.LISTED)
    spellings = ["box1/C1.tif", "box1\\C1.tif", "  box1\\C1.tif\t", "box1\\\\C1.tif", "\\box1\\C1.tif", ".\\box1\\C1.tif",
                 "./box1/C1.tif", "box1//C1.tif", "box1 / C1.tif", "\u200bbox1/ C1.tif\u00a0", '" box1\\C1.tif "']
    nl = upload(admin_user, src, "l.txt", "\n".join(spellings + ["scans/C2.tif", "scans \\C2.tif"]).encode("utf-8"))
    assert list(nl.entries.order_by("line").values_list("normalised", "status", "assets__key")) == (
        [("box1/C1.tif", "found", "box1/C1.tif")] * len(spellings) + [("scans/C2.tif", "found", "scans /C2.tif")] * 2)
    assert nl.entries.get(line=9).raw == "box1 / C1.tif"   # shown (in the misses CSV) as the list wrote it


@pytest.mark.django_db
def test_an_uploaded_list_writes_each_line_once_with_how_it_resolved(source, admin_user):
    # a list of 499,000 lines took 81 s in the request (gunicorn gives up at 60): its lines were
    # inserted, read back as model instances and written again by an UPDATE per 500 lines
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    table = NameListEntry._meta.db_table
    names = ["box2/IMG_0001.jpg", "C1234"] + [f"nope-{n}" for n in range(3000)]
    with CaptureQueriesContext(connection) as queries:
        nl = upload(admin_user, source, "l.txt", "\n".join(names).encode())
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (3002, 1, 3000, 1)
    touching = [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"]]
    assert {sql.split(None, 1)[0] for sql in touching} <= {"INSERT", "SELECT"}, touching   # no UPDATE
    # no SELECT of the lines just written: only where to go on from, and the counts
    assert all("MAX(" in sql or "COUNT(" in sql for sql in touching if sql.startswith("SELECT")), touching
    assert dict(nl.entries.filter(match_count__gt=0).values_list("raw", "match_count")) == {"box2/IMG_0001.jpg": 1, "C1234": 2}


@pytest.mark.django_db
def test_resolving_a_list_again_finds_what_the_source_holds_now(source, admin_user):
    from reviewapp.services.namelists import namelist_resolve

    nl = upload(admin_user, source, "l.txt", b"box2/IMG_0001.jpg\nnew-scan.tif\nC1234\n")
    assert (nl.found, nl.not_found, nl.ambiguous) == (1, 1, 1)
    AssetFactory(source=source, key="box9/new-scan.tif", state=Asset.State.LISTED)
    Asset.objects.filter(key="box1/C0001234.jp2").update(state=Asset.State.VANISHED)
    nl = namelist_resolve(namelist=nl)
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (3, 3, 0, 0)
    assert sorted(nl.entries.values_list("raw", "status", "match_count", "assets__key")) == [
        ("C1234", "found", 1, "box1/C0001234.tif"), ("box2/IMG_0001.jpg", "found", 1, "box2/IMG_0001.jpg"),
        ("new-scan.tif", "found", 1, "box9/new-scan.tif")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery
def test_a_worker_resolves_an_uploaded_list_from_the_stored_file(source, admin_user, uploads, celery_worker):
    from reviewapp.services.namelists import namelist_upload_start
    from tests.conftest import wait_for

    job = namelist_upload_start(actor=admin_user, source=source, title="t",
                                uploaded_file=SimpleUploadedFile("l.txt", b"box2/IMG_0001.jpg\nC1234\nnope\n"))
    wait_for(lambda: Job.objects.get(pk=job.pk).state in (Job.State.DONE, Job.State.FAILED), timeout=90,
             message="name list job")
    job.refresh_from_db()
    assert job.state == Job.State.DONE, celery_worker.logs()[-3000:]
    nl = job.namelist
    assert (nl.requested, nl.found, nl.not_found, nl.ambiguous) == (3, 1, 1, 1) and nl.resolved_at
    assert not (uploads / job.params["upload"]).exists()
    assert "doppel.namelist_resolve" in celery_worker.logs()


@pytest.mark.django_db
def test_exact_keys_and_ids_are_looked_up_a_block_at_a_time_whatever_characters_the_keys_hold(monkeypatch):
    # the exact keys and the IDs are looked up a block of names a query (one array parameter on PostgreSQL):
    # every key is found by its own lookup, across the blocks' edges, with the characters an array literal
    # quotes ({ } , " ' and a word it reads as NULL), a name listed twice, a vanished key and another
    # source's left out; a list of exact keys alone needs no pass over the source's names
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviewapp.services import namelists

    monkeypatch.setattr(namelists, "KEY_BLOCK", 2)
    monkeypatch.setattr(namelists, "CHUNK", 1)
    assert namelists._lookup_block() == 2
    src = SourceFactory(role=Source.Role.CLEANUP)
    keys = ["box/{a,b}.jpg", 'say "hi".tif', "it's.png", "NULL", "comma, here.jpg", "box 2/C0001234.tif", "ü/é.jpg"]
    assets = {key: AssetFactory(source=src, key=key, state=Asset.State.LISTED) for key in keys + ["gone.jpg"]}
    Asset.objects.filter(key="gone.jpg").update(state=Asset.State.VANISHED)
    AssetFactory(key="elsewhere.jpg")
    names = keys + ["NULL", "gone.jpg", "elsewhere.jpg"]
    with CaptureQueriesContext(connection) as queries:
        found = namelists.resolve(src, keys + ["NULL"])
    assert found == {key: {assets[key].pk} for key in keys}
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len(sqls) == 4 and not any('"name"' in sql for sql in sqls), sqls   # 7 names, 2 a query; no name pass
    found = namelists.resolve(src, names)
    assert found["gone.jpg"] == set() and found["elsewhere.jpg"] == set()
    # IDs read from names no key, name or stem answers: looked up a block at a time too
    for key in ["C0000001a.tif", "C0000002.tif", "C0000003.tif"]:
        a = AssetFactory(source=src, key=key, state=Asset.State.LISTED)
        for v in extract_ids(key):
            a.identifiers.create(value=v)
    asked = [f"scan C000000{n}" for n in (1, 2, 3, 4)]
    found = namelists.resolve(src, asked)
    assert [len(found[name]) for name in asked] == [1, 1, 1, 0]

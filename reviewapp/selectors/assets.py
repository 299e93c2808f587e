"""Asset read queries shared by the dashboard, the jobs pages and the commands."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone

from matching.version import CURRENT_UNDER_CAP, FINGERPRINT_VERSION, stale_since

from ..models import Asset, AuditEntry, DeletionItem, NameListEntry, ReingestItem, Source, Takedown
from ..services.exports import csv_text  # pure cell formatting, no service (see the import contracts)
from ..storage import ARCHIVE_CLASSES


def _left_qs():
    gone = DeletionItem.objects.filter(
        asset=OuterRef("pk"), state__in=[DeletionItem.State.QUARANTINED, DeletionItem.State.PURGED]
    )
    return (
        Asset.objects.filter(source__role=Source.Role.CLEANUP)
        .exclude(state=Asset.State.VANISHED)
        .exclude(Exists(gone))
    )


def cleanup_left() -> tuple[int, int]:
    """(objects, bytes) still present in clean-up sources: the number a clean-up report leads
    with ("N objects / X GB left in clean-up")."""
    agg = _left_qs().aggregate(n=Count("id"), b=Sum("size"))
    return agg["n"] or 0, agg["b"] or 0


def source_asset_counts(source) -> dict:
    rows = Asset.objects.filter(source=source).values("state").annotate(n=Count("id"), b=Sum("size"))
    out = {s: {"count": 0, "bytes": 0} for s in Asset.State.values}
    for r in rows:
        out[r["state"]] = {"count": r["n"], "bytes": r["b"] or 0}
    return out


def assets_needing_analysis(qs, engine_version):
    """Assets that can be analysed now and have no current analysis: none at this ETag and engine, or
    one that is no longer current for the file (``matching.analysis_current``, written as a query:
    made by this fingerprint version, or by one in ``CURRENT_UNDER_CAP`` for a file no larger than
    that version's cap and not one a later version changed (``STALE_SINCE``: a reversible JPEG 2000,
    a damaged JPEG); no version at all is stale) whose bytes can be read without a restore.
    Why: a fingerprint change re-analyses what it changed, and only that (fp 2.3 changed the
    renditions of files over 2048 px; the rest need no fetch and no restore); an archived file's
    restore is an admin's decision (re-verification counts it), not a side effect of a job."""
    current = Q(analysis__fingerprint_version=FINGERPRINT_VERSION)
    for version, side in CURRENT_UNDER_CAP.items():
        under = Q() if side is None else Q(width__lte=side) & Q(height__lte=side)
        for fmt, name, values in stale_since(version):   # (what that version read otherwise)
            under &= ~((Q() if fmt is None else Q(analysis__format=fmt)) & Q(**{f"analysis__{name}__in": list(values)}))
        current |= Q(analysis__fingerprint_version=version) & under
    # a taken-down object back at its key is never analysed again: nothing of it is made anew (renditions
    # included), an admin takes it down again (an attack's analysis job re-made all four renditions)
    ready = qs.filter(state__in=[Asset.State.LISTED, Asset.State.AVAILABLE, Asset.State.FINGERPRINTED,
                                 Asset.State.UNREADABLE]).exclude(Exists(Takedown.objects.filter(asset=OuterRef("pk"))))
    analysed = Q(engine_version=engine_version) & Q(analysed_etag=F("etag")) & Q(analysis__isnull=False)
    # stale by its fingerprint alone: analysed again only while its bytes can be read without a
    # restore (an archived one is counted by re-verification, with the restore it needs)
    readable = ~Q(storage_class__in=ARCHIVE_CLASSES) | Q(restore_expires_at__gt=timezone.now())
    stale = analysed & (~current | Q(analysis__fingerprint_version__isnull=True)) & readable
    return ready.filter(~analysed | stale)



def namelist_misses(namelist):
    """Entries that did not resolve to exactly one asset (not found, or ambiguous)."""
    return namelist.entries.filter(
        status__in=[NameListEntry.Status.NOT_FOUND, NameListEntry.Status.AMBIGUOUS]
    ).order_by("line")


NAMELIST_MISSES_HEADER = ["line", "name", "status", "matches"]


def namelist_misses_rows(namelist):
    """(line, name, status, matches) of every miss, in list order: one query, streamed.

    The matches come from a join (one row per line and asset, grouped here), not from
    prefetch_related: that asks for the assets of every miss with one parameter per miss, and
    SQLite refuses more than 250,000 ("too many SQL variables"), so the CSV of a list with more
    misses than that was a 500."""
    rows = (namelist_misses(namelist).order_by("line", "assets__key")
            .values_list("line", "raw", "status", "assets__key").iterator(chunk_size=5000))
    for (line, raw, status), matched in groupby(rows, key=lambda row: row[:3]):
        yield line, raw, status, " | ".join(key for *_, key in matched if key is not None)


def namelist_misses_csv(namelist) -> str:
    """The misses as a CSV people can fix and upload again (line, name, status, matches), the
    same file from the UI, the API and `doppel_namelist --misses`. Names come from an uploaded
    file, so every cell is neutralised like every other export (the upload strips that mark)."""
    return csv_text(NAMELIST_MISSES_HEADER, namelist_misses_rows(namelist))


def namelist_selection(namelist):
    """The assets a name list selects (lines that resolved to exactly one asset)."""
    return Asset.objects.filter(
        namelist_entries__namelist=namelist, namelist_entries__status=NameListEntry.Status.FOUND
    ).distinct()


@dataclass(frozen=True)
class Fate:
    """One thing that happened to an object after it was reviewed, as its pages say it."""

    kind: str  # taken_down, quarantined, purged, restored, executing, vanished, reingest_failed, reingest
    tone: str  # error, warn, info: how loud the banner is
    text: str
    when: object = None  # datetime of the event, when known
    link: str = ""  # where to read more (the plan, the reingest item)
    link_text: str = ""
    link_admin_only: bool = False  # deletion plans are admins' pages; reingests curators read too


# A deletion item's state, what it means for the object, and the audit action that dates it.
_DELETION_FATES = {
    DeletionItem.State.EXECUTING: ("executing", "warn", None),
    DeletionItem.State.QUARANTINED: ("quarantined", "warn", AuditEntry.Action.QUARANTINE),
    DeletionItem.State.PURGED: ("purged", "error", AuditEntry.Action.PURGE),
    DeletionItem.State.RESTORED: ("restored", "info", AuditEntry.Action.RESTORE),
}


def _day(when) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else "an unknown date"


def asset_fate(asset) -> list[Fate]:
    """What became of this object after review, newest kind of event first: a legal takedown,
    its latest deletion (in quarantine, purged, restored) and its latest reingest. The file view
    and the object's page show these, so a file that is gone never reads as if it were still
    there (its analysis and decision describe it as it was). Three small queries."""
    out: list[Fate] = []
    td = Takedown.objects.filter(asset=asset).order_by("-created_at", "-id").first()
    if td is not None:
        back = (f" It is back at its key (an inventory on {_day(asset.updated_at)} listed it again): an admin must take "
                "it down again." if asset.state != Asset.State.VANISHED else "")
        out.append(Fate("taken_down", "error", f"Removed by a legal takedown on {_day(td.created_at)}: {td.reason}. "
                        f"Its pictures are gone for good.{back}", td.created_at))
    item = (DeletionItem.objects.filter(asset=asset, state__in=list(_DELETION_FATES)).select_related("plan")
            .order_by("-updated_at", "-pk").first())
    if item is not None:
        kind, tone, action = _DELETION_FATES[item.state]
        audit = item.audit.filter(action=action).order_by("-created_at", "-id").first() if action else None
        when = audit.created_at if audit else item.updated_at
        plan = f"deletion plan #{item.plan_id}"
        text = {
            "executing": f"Being moved to quarantine by {plan} right now.",
            "quarantined": f"In quarantine since {_day(when)}, moved there by {plan}. It can be restored to its key "
                           f"until it is purged (not before {_day(item.purge_after)}): an admin restores it from the plan's page.",
            "purged": f"Deleted for good: purged from quarantine on {_day(when)} ({plan}).",
            "restored": f"Restored from quarantine on {_day(when)} ({plan}): the object is back at its key and the file "
                        "is back in review.",
        }[kind]
        if not (td is not None and kind == "quarantined"):  # the takedown removed the quarantine copy too
            out.append(Fate(kind, tone, text, when, reverse("deletion-plan-detail", args=[item.plan_id]), f"Plan #{item.plan_id}",
                            link_admin_only=True))
    explained = td is not None or (item is not None and _DELETION_FATES[item.state][0] in ("executing", "quarantined", "purged"))
    if asset.state == Asset.State.VANISHED and not explained:
        out.append(Fate("vanished", "warn", f"No longer in its source: an inventory on {_day(asset.updated_at)} did not list "
                        "it. There is nothing to decide; it comes back to the queue, where it was, when an inventory "
                        "lists it again.", asset.updated_at))
    ri = (ReingestItem.objects.filter(asset=asset).exclude(state=ReingestItem.State.WITHDRAWN)
          .order_by("-created_at", "-id").first())
    if ri is not None:
        link = reverse("reingest-detail", args=[ri.pk])
        if ri.state == ReingestItem.State.FAILED:
            retry = "an admin can retry it" if ri.retryable else "it will not be retried as it is"
            out.append(Fate("reingest_failed", "error", f"Reingest failed: {ri.error or 'no reason recorded'} ({retry}).",
                            ri.updated_at, link, f"Reingest #{ri.pk}"))
        elif ri.state == ReingestItem.State.VERIFIED:
            out.append(Fate("reingest", "info", f"Reingested: the canonical store holds it, verified on {_day(ri.verified_at)}.",
                            ri.verified_at, link, f"Reingest #{ri.pk}"))
        else:
            out.append(Fate("reingest", "info", f"On its way to reingest: {ri.get_state_display().lower()}. "
                            "Until the canonical store is proven to hold it, this copy is never deleted.",
                            ri.updated_at, link, f"Reingest #{ri.pk}"))
    return out

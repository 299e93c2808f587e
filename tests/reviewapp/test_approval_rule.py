"""One rule for what a curator may approve (matching.verdict.approval_refusal), used alike by
review (decision_record), the dry run (deletion_plan_create's re-check) and the executor. One
table of real encoded pairs goes through all three; they must agree, on rows and objects."""
from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

import matching
from reviewapp.models import (
    Asset, AuditEntry, Candidate, Decision, DeletionItem, ReviewItem, Source,
)
from reviewapp.selectors.dashboard import dashboard_summary
from reviewapp.services import deletion as svc
from reviewapp.services.review import ReviewRefused, _snapshot, decision_record, decision_undo, review_lease_take
from reviewapp.services.deletion import storage_for
from tests.conftest import api_client_for
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory, UserFactory, checked_plan
from tests.images import photo

SIZE = (192, 192)


def _encode(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        kw.setdefault("quality", 92)
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _base():
    return photo("astronaut", size=SIZE)


def _truncated(data: bytes, keep=0.6) -> bytes:
    return data[: int(len(data) * keep)]


def _kept_png():
    return _encode(_base(), "PNG")


def _two_page_tiff():
    buf = io.BytesIO()
    _base().save(buf, "TIFF", save_all=True, append_images=[photo("coffee", size=SIZE)])
    return buf.getvalue()


@dataclass
class Case:
    name: str
    cleanup: callable
    kept: callable
    approvable: bool
    verdict: str            # what the engine finds on these bytes (asserted, so the table stays honest)
    why: str = ""           # a refused case: words every caller's reason must contain
    kept_facts: dict = None     # facts as measured on the kept copy, overriding what the bytes give:
    cleanup_facts: dict = None  # both the stored row and the executor's fresh analysis see them


SHORT_SIDE = {"width": 400, "height": 100}  # 40,000 px, more than 192x192, but a shorter short side

CASES = [
    Case("rotated", lambda: _encode(_base().rotate(90, expand=True), "JPEG"), _kept_png, True, "rotated"),
    Case("mirrored", lambda: _encode(_base().transpose(Image.FLIP_LEFT_RIGHT), "JPEG"), _kept_png, True, "rotated"),
    Case("cleanup_corrupt, intact kept copy", lambda: _truncated(_encode(_base(), "JPEG")), _kept_png, True,
         "cleanup_corrupt"),
    Case("match_corrupt", lambda: _encode(_base(), "JPEG"), lambda: _truncated(_kept_png()), False, "match_corrupt",
         why="damaged"),
    Case("kept copy smaller", lambda: _encode(photo("astronaut", size=(2 * SIZE[0], 2 * SIZE[1])), "JPEG"),
         _kept_png, False, "duplicate", why="holds more pixels (384x384) than the kept copy (192x192)"),
    Case("kept copy's shorter side is shorter", lambda: _encode(_base(), "JPEG"), _kept_png, False, "duplicate",
         why="holds more pixels (192x192) than the kept copy (400x100)", kept_facts=SHORT_SIDE),
    Case("kept copy's bit depth not measured", lambda: _encode(_base(), "JPEG"), _kept_png, False, "duplicate",
         why="the kept copy's bit depth is unknown", kept_facts={"bit_depth": None}),
    Case("clean-up copy's bit depth not measured", lambda: _encode(_base(), "JPEG"), _kept_png, False, "duplicate",
         why="the clean-up copy's bit depth is unknown", cleanup_facts={"bit_depth": None}),
    Case("kept copy's page count not measured", lambda: _encode(_base(), "JPEG"), _kept_png, False, "duplicate",
         why="the kept copy's page count is unknown", kept_facts={"pages": None}),
    Case("clean-up copy has more pages", _two_page_tiff, _kept_png, False, "identical",
         why="more pages (2) than the kept copy (1)"),
    Case("both measured, the usual JPEG copy of a PNG", lambda: _encode(_base(), "JPEG"), _kept_png, True, "duplicate"),
]

# file name -> facts every caller sees as measured on it (rows and fresh analyses alike)
MEASURED: dict = {}


def _measure(path, name=None, **kw):
    """matching.analyse_file, with the table's facts for that file (None: not measured)."""
    a = _real_analyse_file(path, name=name, **kw)
    for field, value in MEASURED.get(name or Path(path).name, {}).items():
        setattr(a, field, value or 0)
    return a


_real_analyse_file = matching.analyse_file


@pytest.fixture(autouse=True)
def _measured_facts(monkeypatch):
    MEASURED.clear()
    monkeypatch.setattr(matching, "analyse_file", _measure)
    yield
    MEASURED.clear()


def _analysed_row(source, key, data, **override) -> Asset:
    """The object on storage and its row as inventory + analysis leave it, from the real bytes."""
    info = storage_for(source).put(key, data)
    name = key.rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        a = matching.analyse_file(p, name=name)
    fields = {"width": a.width or None, "height": a.height or None, "pages": a.pages or None,
              "bit_depth": a.bit_depth or None, "format": a.format or "",
              "decode_status": {"ok": "ok", "damaged": "damaged"}.get(a.status, "unreadable"),
              "checksum": hashlib.sha256(data).hexdigest(), "inode": ":".join(str(x) for x in info.identity)}
    fields.update(override)
    return AssetFactory(source=source, key=key, name=name, size=info.size, etag=info.etag,
                        version_id=info.version_id, **fields)


def _pair(case, cleanup_src, canon_src, n):
    cleanup_data, kept_data = case.cleanup(), case.kept()
    ext = "tif" if cleanup_data[:2] in (b"II", b"MM") else "jpg"
    MEASURED[f"{n}.png"] = case.kept_facts or {}
    MEASURED[f"{n}.{ext}"] = case.cleanup_facts or {}
    kept = _analysed_row(canon_src, f"k/{n}.png", kept_data)
    cleanup = _analysed_row(cleanup_src, f"c/{n}.{ext}", cleanup_data)
    with tempfile.TemporaryDirectory() as d:
        cp, kp = Path(d) / f"c.{ext}", Path(d) / "k.png"
        cp.write_bytes(cleanup_data)
        kp.write_bytes(kept_data)
        res = matching.verify_pair(cp, kp, cleanup=matching.analyse_file(cp, name=f"{n}.{ext}"),
                                   match=matching.analyse_file(kp, name=f"{n}.png"))
    assert res.verdict == case.verdict, (case.name, res.verdict, res.reasons)
    cand = Candidate.objects.create(
        cleanup_asset=cleanup, match_asset=kept, verdict=res.verdict, rotation=res.rotation, flipped=res.flipped,
        corrupt_side=res.corrupt_side, safe_to_delete=res.safe_to_delete, diff_score=res.diff_score,
        local_score=res.local_score, reasons=res.reasons, engine_version=res.engine_version, thresholds={},
        cleanup_etag=cleanup.etag, match_etag=kept.etag)
    item = ReviewItemFactory(asset=cleanup, best_candidate=cand, verdict=res.verdict)
    return item, cand


def _forced_approval(item, cand, actor) -> Decision:
    """An approval review refused, recorded anyway (as a stale or hand-made row would be): the dry
    run and the executor must refuse it on their own."""
    item = ReviewItem.objects.select_related("asset__source").get(pk=item.pk)
    d = Decision.objects.create(review_item=item, asset=item.asset, candidate=cand, action="approve_delete",
                                actor=actor, snapshot=_snapshot(item, cand))
    ReviewItem.objects.filter(pk=item.pk).update(status=ReviewItem.Status.DECIDED, last_decision=d)
    return d


@pytest.fixture
def sources(db, local_root):
    (local_root / "cleanup").mkdir()
    (local_root / "canon").mkdir()
    return (SourceFactory(name="cleanup", root=str(local_root / "cleanup"), role=Source.Role.CLEANUP),
            SourceFactory(name="canon", root=str(local_root / "canon"), role=Source.Role.CANONICAL))


@pytest.fixture
def users(db):
    return UserFactory(role="curator", username="cur"), UserFactory(role="admin", username="boss")


def _approve_by_service(item, cand, cur):
    try:
        return decision_record(actor=cur, item=item, action="approve_delete"), ""
    except ReviewRefused as exc:
        assert not Decision.objects.filter(review_item=item).exists()
        return _forced_approval(item, cand, cur), "; ".join(exc.messages)


def _approve_by_api(item, cand, cur):
    r = api_client_for(cur).post("/api/v1/decisions/", {"item": item.pk, "action": "approve_delete"}, format="json")
    if r.status_code == 201:
        return Decision.objects.get(pk=r.json()["id"]), ""
    assert r.status_code == 409, r.content
    assert not Decision.objects.filter(review_item=item).exists()
    return _forced_approval(item, cand, cur), r.json()["detail"]


def test_every_caller_agrees_on_one_table_review_the_api_the_dry_run_and_the_executor(
        sources, users, django_capture_on_commit_callbacks):
    """The same pairs, with the same measured facts, go through review's approval (the service),
    the API's approve, then the dry run and the executor (each approval that was refused is
    recorded anyway, as a stale or hand-made row would be, so the later callers must refuse it on
    their own). Every caller must say the same: allowed, or refused for the case's reason."""
    cur, admin = users
    rows = []
    for n, case in enumerate(CASES):
        for caller, approve in (("review", _approve_by_service), ("api", _approve_by_api)):
            m = 2 * n + (caller == "api")
            item, cand = _pair(case, *sources, m)
            d, refusal = approve(item, cand, cur)
            rows.append((case, caller, item, d, refusal))

    plan = checked_plan(actor=admin, decisions=[d for _, _, _, d, _ in rows])
    dry = {it.decision_id: it for it in plan.items.all()}
    with django_capture_on_commit_callbacks(execute=True):
        svc.deletion_plan_confirm(actor=admin, plan=plan)

    for case, caller, item, d, refusal in rows:
        planned = dry[d.pk]
        dry_ok = planned.dry_run_at is not None and planned.dry_run_reason == ""
        done = DeletionItem.objects.get(pk=planned.pk)
        asset = done.asset
        run_ok = done.state == DeletionItem.State.QUARANTINED
        assert (refusal == "", dry_ok, run_ok) == (case.approvable,) * 3, (case.name, caller, refusal,
                                                                         planned.dry_run_reason, done.reason)
        still_there = storage_for(asset.source).exists(asset.key)
        item.refresh_from_db()
        if case.approvable:
            assert not still_there
            target = svc.quarantine_target(done)
            assert target.storage.exists(target.key), case.name
            assert AuditEntry.objects.filter(item=done, action=AuditEntry.Action.QUARANTINE).exists()
            assert item.status == ReviewItem.Status.DECIDED
        else:
            assert still_there, case.name
            # every caller refused for the case's reason: review or the API, then the dry run
            # before Confirm, then the executor
            for said in (refusal, planned.dry_run_reason, done.reason):
                assert case.why in said, (case.name, caller, said)
            assert planned.dry_run_outcome.startswith("would abort: ")
            assert done.state == DeletionItem.State.ABORTED
            assert planned.dry_run_reason.split(":")[0] == done.reason.split(":")[0], case.name
            assert item.status == ReviewItem.Status.OPEN
            assert AuditEntry.objects.filter(item=done, action=AuditEntry.Action.ABORT).exists()


def test_a_rotated_approval_is_quarantined_end_to_end(sources, users, client, django_capture_on_commit_callbacks):
    cur, admin = users
    item, cand = _pair(CASES[0], *sources, 0)
    d = decision_record(actor=cur, item=item, action="approve_delete")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):  # the dry run's worker
        r = client.post(reverse("deletion-plan-list"), {}, follow=True)
    assert r.status_code == 200
    plan_item = DeletionItem.objects.get(decision=d)
    assert plan_item.dry_run_outcome == "would run"
    page = client.get(reverse("deletion-plan-detail", args=[plan_item.plan_id])).content.decode()
    assert "would run" in page and "would abort" not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("deletion-plan-action", args=[plan_item.plan_id, "confirm"]))
    plan_item.refresh_from_db()
    assert plan_item.state == DeletionItem.State.QUARANTINED, plan_item.reason
    assert not storage_for(item.asset.source).exists(item.asset.key)
    assert Asset.objects.get(pk=item.asset_id).state == Asset.State.VANISHED


def test_a_changed_turn_aborts_and_the_file_returns_with_its_reason(sources, users, client,
                                                                     django_capture_on_commit_callbacks):
    """The curator approved "turned 90°"; the re-check finds the pair turned 270°: not the relation
    approved. The dry run says so, the executor aborts, the file view shows the reason and the
    dashboard counts the file as returned from that plan."""
    cur, admin = users
    item, cand = _pair(CASES[0], *sources, 0)
    Candidate.objects.filter(pk=cand.pk).update(rotation=270)
    d = decision_record(actor=cur, item=item, action="approve_delete")
    plan = checked_plan(actor=admin, decisions=[d])
    planned = plan.items.get()
    assert planned.dry_run_outcome.startswith("would abort: the pair is no longer what was approved: the turn changed")
    client.force_login(admin)
    assert "would abort: the pair is no longer what was approved" in client.get(
        reverse("deletion-plan-detail", args=[plan.pk])).content.decode()
    csv_text = b"".join(client.get(reverse("deletion-plan-csv", args=[plan.pk])).streaming_content).decode("utf-8-sig")
    assert "would abort: the pair is no longer what was approved" in csv_text
    assert client.get(reverse("api-deletionplan-detail", args=[plan.pk])).json()["would_abort"] == 1
    api = client.get(reverse("api-deletionplan-items", args=[plan.pk]))
    assert api.status_code == 200, api.content
    body = api.json()
    results = body["results"] if isinstance(body, dict) else body
    assert results[0]["dry_run_outcome"].startswith("would abort: the pair is no longer what was approved")
    with django_capture_on_commit_callbacks(execute=True):
        svc.deletion_plan_confirm(actor=admin, plan=plan)
    planned.refresh_from_db()
    assert planned.state == DeletionItem.State.ABORTED
    assert storage_for(item.asset.source).exists(item.asset.key)
    assert dashboard_summary()["returned_from_plans"] == [{"plan": plan.pk, "n": 1}]

    client.force_login(cur)
    page = client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert f"Returned from deletion plan #{plan.pk}: the pair is no longer what was approved" in page
    assert f"returned from plan #{plan.pk}" in client.get(reverse("dashboard")).content.decode()
    # a skip leaves it returned, and so does a decision undone again (decide and undo: the file
    # must not pass for any other, e.g. in a bulk batch); a new decision that stands takes the
    # file out of the "returned" count
    decision_record(actor=cur, item=item, action="skip")
    assert dashboard_summary()["returned_from_plans"] == [{"plan": plan.pk, "n": 1}]
    review_lease_take(actor=cur, item_id=item.pk)
    decision_undo(actor=cur, decision=decision_record(actor=cur, item=item, action="not_duplicate"))
    assert dashboard_summary()["returned_from_plans"] == [{"plan": plan.pk, "n": 1}]
    assert f"Returned from deletion plan #{plan.pk}" in client.get(reverse("review-item", args=[item.pk])).content.decode()
    decision_record(actor=cur, item=item, action="not_duplicate")
    assert dashboard_summary()["returned_from_plans"] == []


def test_the_file_view_says_why_the_engine_would_not_mark_it_safe(sources, users, client):
    cur, _ = users
    item, _ = _pair(CASES[0], *sources, 0)
    big, _ = _pair(CASES[4], *sources, 4)
    client.force_login(cur)
    page = client.get(reverse("review-item", args=[item.pk])).content.decode()
    assert "turned 90° counter-clockwise: a person must confirm" in page
    page = client.get(reverse("review-item", args=[big.pk])).content.decode()
    assert "the clean-up copy holds more pixels (384x384) than the kept copy (192x192)" in page

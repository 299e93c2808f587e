"""Analysis and pairing end to end on real encoded images (local sources, eager/inline runs)."""
from __future__ import annotations

import os

import matching
import pytest
from django.core.exceptions import ValidationError

from reviewapp.models import Asset, Candidate, Job, JobItem, ReviewItem, Source
from reviewapp.services import analysis
from reviewapp.services.inventory import inventory_run, inventory_start
from reviewapp.services.sources import source_add
from tests.images import photo, save, truncate


def make_collection(root):
    """A small canonical + clean-up pair of folders with known relations."""
    can, cl = root / "canonical", root / "cleanup"
    save(photo("astronaut", (400, 400)), can / "C0001234.tif")
    save(photo("coffee", (400, 300)), can / "C0002345.jp2")
    save(photo("chelsea", (400, 300)), can / "C0003456.tif")
    save(photo("astronaut", (300, 300)), cl / "C1234a.jpg")  # resized JPEG copy: duplicate
    save(photo("coffee", (400, 300)).rotate(90, expand=True), cl / "IMG_0001.png")  # turned: rotated
    truncate(save(photo("chelsea", (400, 300)), cl / "C3456b.jpg"), 0.5)  # damaged clean-up copy
    save(photo("rocket", (400, 300)), cl / "unique.jpg")  # nothing like it: no_match
    (cl / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(600))  # does not decode: unreadable
    return can, cl


def inventory_inline(actor, source):
    from django.db import transaction

    with transaction.atomic():
        job = Job.objects.create(kind=Job.Kind.INVENTORY, source=source)
    return inventory_run(job.pk)


def analyse_inline(actor, **kw):
    job = analysis.analysis_start(actor=actor, dispatch=False, **kw)
    return analysis.analysis_run(job.pk)


@pytest.fixture
def collection(local_root, admin_user):
    can, cl = make_collection(local_root)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    return canonical, cleanup


def verdicts():
    return {r.asset.name: (r.verdict, r.best_candidate.match_asset.name if r.best_candidate else None)
            for r in ReviewItem.objects.select_related("asset", "best_candidate__match_asset")}


@pytest.mark.django_db
def test_analysis_pairs_clean_up_files_with_their_kept_copies(collection, admin_user):
    canonical, cleanup = collection
    job = analyse_inline(admin_user, source=cleanup)
    assert job.state == Job.State.DONE
    assert job.requested == 8 and job.processed == 8 and job.failed == 0  # 5 clean-up + 3 canonical
    # Requested and Found count the same files; the scope is said beside them
    assert job.found == job.requested
    assert (job.params["in_scope"], job.params["canonical_needed"], job.params["already_analysed"]) == (5, 3, 0)
    assert verdicts() == {
        "C1234a.jpg": ("duplicate", "C0001234.tif"),
        "IMG_0001.png": ("rotated", "C0002345.jp2"),
        "C3456b.jpg": ("cleanup_corrupt", "C0003456.tif"),
        "unique.jpg": ("no_match", None),
        "garbage.jpg": ("unreadable", None),
    }
    rotated = Candidate.objects.get(cleanup_asset__name="IMG_0001.png")
    assert rotated.rotation in (90, 270) and rotated.engine_version and rotated.thresholds
    assert rotated.found_by == "content" and not rotated.safe_to_delete
    dup = Candidate.objects.get(cleanup_asset__name="C1234a.jpg")
    assert dup.found_by == "id+content" and dup.safe_to_delete and dup.rank == 0
    assert Asset.objects.get(name="garbage.jpg").state == Asset.State.UNREADABLE
    # analysis put the canonical files (and only those) in the shared candidate index
    from reviewapp.models import CandidateIndexEntry, CandidateIndexHash

    indexed = set(CandidateIndexEntry.objects.values_list("asset__name", flat=True))
    assert indexed == {"C0001234.tif", "C0002345.jp2", "C0003456.tif"}
    assert CandidateIndexHash.objects.filter(kind=CandidateIndexHash.Kind.WHOLE).count() == 3
    a = Asset.objects.get(name="C1234a.jpg")
    assert a.state == Asset.State.FINGERPRINTED and a.width == 300 and a.analysis["ids"] == ["C1234"]
    assert a.analysed_etag == a.etag and a.rendition and a.thumbnail and len(a.checksum) == 64
    pair = Job.objects.get(parent=job, kind=Job.Kind.PAIR)
    assert pair.state == Job.State.DONE and pair.processed == 5


@pytest.mark.django_db
def test_a_file_the_engine_fails_on_is_no_match_and_its_batch_and_job_finish(collection, admin_user, monkeypatch,
                                                                            caplog):
    """An engine fault on one pair is that file's, decided as the command line decides it (no match,
    "verification failed"); it raised out of the pair batch, whose task failed on every retry and
    whose job never ended."""
    real = matching.verify_analyses

    def faulty(c, m, **kw):
        if c.name == "C1234a.jpg":
            raise ValueError("odd array")
        return real(c, m, **kw)

    monkeypatch.setattr(matching, "verify_analyses", faulty)
    canonical, cleanup = collection
    job = analyse_inline(admin_user, source=cleanup)
    assert job.state == Job.State.DONE
    assert verdicts()["C1234a.jpg"] == ("no_match", None)
    assert verdicts()["C3456b.jpg"] == ("cleanup_corrupt", "C0003456.tif")   # the rest of the batch is paired
    assert "verifying" in caplog.text and "odd array" in caplog.text
    decision = matching.verification_failed(matching.FileAnalysis(name="x.jpg", status="ok"), ValueError("odd array"))
    assert (decision.verdict, decision.reasons) == ("no_match", ["verification failed: ValueError: odd array"])


@pytest.mark.django_db
def test_a_batch_whose_time_is_up_while_verifying_stops_and_no_file_is_decided_for_it(collection, admin_user,
                                                                                     monkeypatch):
    """Celery's soft time limit is the batch's, not the file's fault: it leaves pairing (pair_batch
    splits the rest into smaller batches) instead of becoming a file's "verification failed"."""
    from celery.exceptions import SoftTimeLimitExceeded

    def out_of_time(c, m, **kw):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(matching, "verify_analyses", out_of_time)
    canonical, cleanup = collection
    with pytest.raises(SoftTimeLimitExceeded):
        analyse_inline(admin_user, source=cleanup)
    assert not ReviewItem.objects.filter(asset__name="C1234a.jpg").exists()


@pytest.mark.django_db
def test_second_run_repeats_nothing_and_never_reopens_a_decided_file(collection, admin_user):
    canonical, cleanup = collection
    analyse_inline(admin_user, source=cleanup)
    n_cand = Candidate.objects.count()
    ids = {c.pk for c in Candidate.objects.all()}
    decided = ReviewItem.objects.get(asset__name="C1234a.jpg")
    ReviewItem.objects.filter(pk=decided.pk).update(status=ReviewItem.Status.DECIDED, verdict="duplicate")
    stamp = Asset.objects.get(name="C1234a.jpg").analysed_at

    job2 = analyse_inline(admin_user, source=cleanup)
    assert job2.state == Job.State.DONE
    assert job2.requested == 0 == job2.found  # everything was analysed at this ETag by this engine
    assert (job2.params["in_scope"], job2.params["canonical_needed"], job2.params["already_analysed"]) == (5, 0, 5)
    assert Asset.objects.get(name="C1234a.jpg").analysed_at == stamp
    assert Candidate.objects.count() == n_cand and {c.pk for c in Candidate.objects.all()} == ids
    assert ReviewItem.objects.count() == 5
    assert ReviewItem.objects.get(pk=decided.pk).status == ReviewItem.Status.DECIDED
    pair2 = Job.objects.get(parent=job2)
    assert JobItem.objects.get(job=pair2, asset__name="C1234a.jpg").state == JobItem.State.SKIPPED


@pytest.mark.django_db
def test_changed_file_is_analysed_again(collection, admin_user):
    canonical, cleanup = collection
    analyse_inline(admin_user, source=cleanup)
    path = os.path.join(cleanup.root, "unique.jpg")
    save(photo("astronaut", (320, 320)), path)  # now a copy of C0001234
    os.utime(path, (1_900_000_000, 1_900_000_000))
    inventory_inline(admin_user, cleanup)
    job = analyse_inline(admin_user, source=cleanup)
    assert job.requested == 1
    assert verdicts()["unique.jpg"] == ("duplicate", "C0001234.tif")


@pytest.mark.django_db
def test_a_fingerprint_change_analyses_again_only_the_files_it_changed(collection, admin_user):
    # fp 2.3 changed only the rendition of files over the proof's cap: an fp 2.2 analysis of a
    # smaller file stays current (no fetch, no restore); one of a file over the cap, or of an older
    # version, is counted by re-verification as needing analysis, and the next analysis makes it
    # (not for an archived file: its restore is an admin's decision, not a job's side effect)
    canonical, cleanup = collection
    analyse_inline(admin_user, source=cleanup)

    def stamp(name, version, size=None):
        asset = Asset.objects.get(name=name)
        dims = {"width": size[0], "height": size[1]} if size else {}
        Asset.objects.filter(pk=asset.pk).update(analysis={**asset.analysis, "fingerprint_version": version, **dims}, **dims)
    stamp("C1234a.jpg", "fp 2.2")                      # 300x300: still current
    stamp("IMG_0001.png", "fp 2.2", (3000, 4000))      # over the cap: its rendition changed
    stamp("unique.jpg", "fp 2.1")                      # an older version altogether
    stamp("C3456b.jpg", "fp 2.1")                      # ... of a file whose bytes now need a restore:
    Asset.objects.filter(name="C3456b.jpg").update(storage_class="GLACIER")   # counted, not fetched by a job
    counts = analysis.reverify_run(analysis.reverify_start(actor=admin_user, dispatch=False).pk)
    assert counts["needs_reanalysis"] == 3 and counts["reverified"] >= 1
    stamps = {a.name: a.analysed_at for a in Asset.objects.all()}
    job = analyse_inline(admin_user, source=cleanup)
    assert job.requested == 2
    again = {a.name for a in Asset.objects.all() if a.analysed_at != stamps[a.name]}
    assert again == {"IMG_0001.png", "unique.jpg"}
    assert all(a.analysis["fingerprint_version"] == matching.FINGERPRINT_VERSION for a in Asset.objects.filter(name__in=again))


def analysed_at(admin_user, cleanup, version: str) -> str:
    """The collection analysed, then every analysis stamped as made by fingerprint ``version``; the engine version."""
    analyse_inline(admin_user, source=cleanup)
    ev = Asset.objects.get(name="C3456b.jpg").engine_version
    for asset in Asset.objects.exclude(analysis__isnull=True):
        Asset.objects.filter(pk=asset.pk).update(analysis={**asset.analysis, "fingerprint_version": version})
    return ev


def stale_names(ev) -> set:
    """The files whose analysis is stale, by the query (selectors) and by the rule (services) alike. (Since fp 2.8
    an older analysis of garbage.jpg is among them: it did not decode, so it is not shown to be under the cap.)"""
    from reviewapp.selectors.assets import assets_needing_analysis
    stale = {a.name for a in assets_needing_analysis(Asset.objects.all(), ev)}
    assert {a.name for a in Asset.objects.exclude(analysis__isnull=True) if not analysis._current(a)} == stale
    return stale


@pytest.mark.django_db
def test_fp_2_4_analyses_again_only_the_reversible_jpeg2000s_of_an_fp_2_3_store(collection, admin_user):
    # fp 2.4 reads a reversible JPEG 2000 for every coding pass kept (the proof then holds a copy to it as
    # to a TIFF); no other file's analysis changed, so of a store analysed at fp 2.3 only those are stale,
    # the same by the query (selectors) and by the rule (services: re-verification)
    canonical, cleanup = collection
    ev = analysed_at(admin_user, cleanup, matching.FINGERPRINT_VERSION)
    assert Asset.objects.get(name="C0002345.jp2").analysis["every_pass"] is True
    assert Asset.objects.get(name="C0001234.tif").analysis["every_pass"] is None
    assert stale_names(ev) == set()
    analysed_at(admin_user, cleanup, "fp 2.3")
    assert stale_names(ev) == {"garbage.jpg", "C0002345.jp2", "C3456b.jpg", "IMG_0001.png"}   # (and the damaged JPEG and the PNG: below)


@pytest.mark.django_db
def test_fp_2_5_analyses_again_only_the_damaged_jpegs_of_an_fp_2_4_store(collection, admin_user):
    # fp 2.5 tells a JPEG without only its end marker from one cut short; no other file's analysis changed,
    # so of a store analysed at fp 2.4 only the damaged JPEGs are stale, by the query and by the rule alike
    canonical, cleanup = collection
    ev = analysed_at(admin_user, cleanup, "fp 2.4")
    assert Asset.objects.get(name="C3456b.jpg").analysis["status"] == "damaged"
    assert Asset.objects.get(name="garbage.jpg").analysis["status"] == "unreadable"
    assert stale_names(ev) == {"garbage.jpg", "C3456b.jpg", "IMG_0001.png"}   # (and the PNG, for fp 2.6: below)


def stamp(name, **fields):
    """An asset's stored analysis given ``fields``, as if the file had been so."""
    asset = Asset.objects.get(name=name)
    Asset.objects.filter(pk=asset.pk).update(analysis={**asset.analysis, **fields})


@pytest.mark.django_db
def test_fp_2_6_analyses_again_only_what_holds_more_than_8_bit_rgb_and_the_pngs_of_an_fp_2_5_store(
        collection, admin_user):
    # fp 2.6 stores the digest of a 16-bit, float, alpha or CMYK file's samples (not of its 8-bit rendering) and a
    # PNG's gamma; no other file's analysis changed, so of a store analysed at fp 2.5 only those are stale, by the
    # query and by the rule alike
    canonical, cleanup = collection
    ev = analysed_at(admin_user, cleanup, "fp 2.5")
    assert not Asset.objects.filter(analysis__mode__in=["RGBA", "I;16", "CMYK"]).exists()
    assert stale_names(ev) == {"garbage.jpg", "IMG_0001.png"}
    stamp("C0001234.tif", mode="I;16", bit_depth=16)
    stamp("C1234a.jpg", mode="CMYK")
    stamp("C0002345.jp2", bit_depth=12)
    assert stale_names(ev) == {"garbage.jpg", "IMG_0001.png", "C0001234.tif", "C1234a.jpg", "C0002345.jp2"}
    stamp("C0001234.tif", mode="RGB", bit_depth=8, exif_orientation=6)   # (a TIFF Pillow turns as it loads it)
    stamp("C1234a.jpg", mode="RGB", exif_orientation=6)                  # (a JPEG it does not)
    assert stale_names(ev) == {"garbage.jpg", "IMG_0001.png", "C0001234.tif", "C0002345.jp2"}


@pytest.mark.django_db
def test_fp_2_7_analyses_again_only_the_heif_avif_and_gif_files_of_an_fp_2_6_store(collection, admin_user):
    # fp 2.7 reads a HEIF's or AVIF's depth and colour code points from its primary item's properties, and a GIF's
    # profile; of a store analysed at fp 2.6 only those files are stale, by the query and by the rule alike
    canonical, cleanup = collection
    ev = analysed_at(admin_user, cleanup, "fp 2.6")
    assert stale_names(ev) == {"garbage.jpg", "IMG_0001.png"}   # (and the PNG, for fp 2.9: below)
    stamp("C1234a.jpg", format="AVIF")
    stamp("unique.jpg", format="HEIF")
    stamp("C3456b.jpg", format="GIF")
    assert stale_names(ev) == {"garbage.jpg", "IMG_0001.png", "C1234a.jpg", "unique.jpg", "C3456b.jpg"}


@pytest.mark.django_db
def test_fp_2_9_analyses_again_only_the_pngs_that_decoded_ok_of_an_fp_2_8_store(collection, admin_user):
    # fp 2.9 reads every PNG chunk's CRC (a bit flipped in its pixels decoded without complaint); of a store
    # analysed at fp 2.8 only the PNGs it called "ok" are stale, at any size, by the query and by the rule alike
    canonical, cleanup = collection
    ev = analysed_at(admin_user, cleanup, "fp 2.8")
    assert Asset.objects.get(name="IMG_0001.png").analysis["status"] == "ok"
    assert stale_names(ev) == {"IMG_0001.png"}   # (the file that does not decode too is current: any size)
    stamp("IMG_0001.png", status="damaged")
    Asset.objects.filter(name="C1234a.jpg").update(width=4000, height=3000)   # over the cap: fp 2.8 made that
    assert stale_names(ev) == set()


@pytest.mark.django_db
def test_analysis_needs_exactly_one_scope(admin_user, collection):
    with pytest.raises(ValidationError):
        analysis.analysis_start(actor=admin_user)


@pytest.mark.django_db
def test_missing_object_fails_its_item_only(collection, admin_user):
    canonical, cleanup = collection
    os.unlink(os.path.join(cleanup.root, "unique.jpg"))
    job = analyse_inline(admin_user, source=cleanup)
    assert job.state == Job.State.DONE
    assert job.failed == 1 and job.processed == 7
    item = JobItem.objects.get(job=job, state=JobItem.State.FAILED)
    assert item.asset.name == "unique.jpg" and "no such file" in item.error
    assert verdicts()["C1234a.jpg"][0] == "duplicate"


@pytest.mark.django_db
def test_pause_and_cancel_stop_between_items(collection, admin_user, django_capture_on_commit_callbacks):
    canonical, cleanup = collection
    from reviewapp.services.jobs import job_cancel, job_pause, job_resume, job_start

    job = analysis.analysis_start(actor=admin_user, source=cleanup, dispatch=False)
    job_start(job.pk)
    pending = analysis.analysis_prepare(job.pk)
    analysis.analyse_item(job.pk, pending[0])
    job_pause(actor=admin_user, job=job)
    assert analysis.analyse_item(job.pk, pending[1]) == "paused"
    assert JobItem.objects.get(pk=pending[1]).state == JobItem.State.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        job_resume(actor=admin_user, job=job)  # eager: re-dispatches the pending items and finishes
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.processed == 8
    assert ReviewItem.objects.count() == 5
    with pytest.raises(ValidationError):
        job_cancel(actor=admin_user, job=job)


@pytest.mark.django_db
def test_clean_up_files_on_s3_are_fetched_and_paired(local_root, admin_user, s3_profile, s3_bucket):
    can, cl = make_collection(local_root)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    for name in ("C1234a.jpg", "IMG_0001.png"):
        s3_profile.put_object(Bucket=s3_bucket, Key=f"dump/{name}", Body=(cl / name).read_bytes())
    remote = source_add(actor=admin_user, name="remote", kind="s3", role="cleanup", storage_profile="moto",
                        bucket=s3_bucket, prefix="dump")
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, remote)
    job = analyse_inline(admin_user, source=remote)
    assert job.state == Job.State.DONE and job.failed == 0
    assert verdicts() == {"C1234a.jpg": ("duplicate", "C0001234.tif"), "IMG_0001.png": ("rotated", "C0002345.jp2")}
    a = Asset.objects.get(source=remote, name="C1234a.jpg")
    assert a.analysed_etag == a.etag and a.rendition and a.width == 300


@pytest.mark.django_db
def test_task_retries_transient_storage_errors_then_fails_the_item(collection, admin_user, monkeypatch):
    from reviewapp.services import jobs as job_services
    from reviewapp.storage import StorageError
    from reviewapp.tasks import pipeline

    canonical, cleanup = collection
    job = analysis.analysis_start(actor=admin_user, source=cleanup, dispatch=False)
    job_services.job_start(job.pk)
    items = analysis.analysis_prepare(job.pk)
    real = analysis.analyse_item
    calls = {"n": 0}

    def flaky(job_id, item_id):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise StorageError("S3 error SlowDown")
        return real(job_id, item_id)

    monkeypatch.setattr(analysis, "analyse_item", flaky)
    monkeypatch.setattr(pipeline, "_backoff", lambda retries: 0)
    pipeline.analyse_asset.apply(args=(job.pk, items[0]))
    assert calls["n"] == 3 and JobItem.objects.get(pk=items[0]).state == JobItem.State.DONE

    def broken(job_id, item_id):
        raise StorageError("access denied")

    monkeypatch.setattr(analysis, "analyse_item", broken)
    pipeline.analyse_asset.apply(args=(job.pk, items[1]))
    item = JobItem.objects.get(pk=items[1])
    assert item.state == JobItem.State.FAILED and "gave up after 4 retries" in item.error
    job.refresh_from_db()
    assert (job.processed, job.failed) == (1, 1)


@pytest.mark.django_db
def test_pairing_verifies_from_stored_reduced_images_without_refetching(collection, admin_user, monkeypatch):
    from reviewapp.storage import LocalStorage

    canonical, cleanup = collection
    job = analysis.analysis_start(actor=admin_user, source=cleanup, dispatch=False)
    from reviewapp.services.jobs import job_start

    job_start(job.pk)
    for item_id in analysis.analysis_prepare(job.pk):
        analysis.analyse_item(job.pk, item_id)
    assert Asset.objects.get(name="C0001234.tif").analysis["reduced"]
    fetched = []
    real = LocalStorage.fetch

    def counting(self, key, **kw):
        fetched.append(key)
        return real(self, key, **kw)

    monkeypatch.setattr(LocalStorage, "fetch", counting)
    phase, pair_ids = analysis.analysis_advance(job.pk)
    assert phase == "pair"
    analysis.pair_items(job.pk, Job.objects.get(pk=job.pk).params["pair_job"], pair_ids)
    assert fetched == []
    assert verdicts()["IMG_0001.png"] == ("rotated", "C0002345.jp2")
    assert verdicts()["C3456b.jpg"] == ("cleanup_corrupt", "C0003456.tif")


@pytest.fixture
def shared_kept_copy(local_root, admin_user):
    """The collection plus a second clean-up copy of C0001234.tif: two files pair with one kept copy."""
    can, cl = make_collection(local_root)
    save(photo("astronaut", (320, 320)), cl / "C1234b.jpg")
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    return canonical, cleanup


def counting_reads(monkeypatch) -> list:
    """Spy on pairing's rendition reads: [(name, thread name)]."""
    import threading

    reads = []
    real = analysis.load_reduced

    def counting(name):
        reads.append((name, threading.current_thread().name))
        return real(name)

    monkeypatch.setattr(analysis, "load_reduced", counting)
    return reads


@pytest.mark.django_db
def test_a_pair_batch_reads_each_rendition_once_and_ahead_of_its_verification(shared_kept_copy, admin_user,
                                                                             monkeypatch):
    from collections import Counter

    from reviewapp.services.jobs import job_start

    canonical, cleanup = shared_kept_copy
    job = analysis.analysis_start(actor=admin_user, source=cleanup, dispatch=False)
    job_start(job.pk)
    for item_id in analysis.analysis_prepare(job.pk):
        analysis.analyse_item(job.pk, item_id)
    reads = counting_reads(monkeypatch)
    phase, pair_ids = analysis.analysis_advance(job.pk)
    analysis.pair_items(job.pk, Job.objects.get(pk=job.pk).params["pair_job"], pair_ids)
    assert verdicts()["C1234a.jpg"] == ("duplicate", "C0001234.tif")
    assert verdicts()["C1234b.jpg"] == ("duplicate", "C0001234.tif")
    assert verdicts()["IMG_0001.png"] == ("rotated", "C0002345.jp2")
    # the kept copy both files pair with is read once for the batch, like every other rendition
    assert set(Counter(name for name, _ in reads).values()) == {1}
    kept = analysis.rendition_names(Asset.objects.get(name="C0001234.tif"))
    assert kept and set(kept) <= {name for name, _ in reads}
    # the clean-up files' own renditions were read ahead, in the rendition threads, not when verified
    own = {name for a in Asset.objects.filter(source=cleanup) for name in (analysis.rendition_names(a) or ())}
    assert own and all(thread.startswith("renditions") for name, thread in reads if name in own)


@pytest.mark.django_db
def test_reverify_reads_a_kept_copy_once_however_many_open_files_pair_with_it(shared_kept_copy, admin_user,
                                                                           monkeypatch):
    canonical, cleanup = shared_kept_copy
    analyse_inline(admin_user, source=cleanup)
    reads = counting_reads(monkeypatch)
    counts = analysis.reverify_run(analysis.reverify_start(actor=admin_user, dispatch=False).pk)
    assert counts["reverified"] == 6 and counts["needs_reanalysis"] == 0
    kept_detail = Asset.objects.get(name="C0001234.tif").analysis["detail"]
    assert [name for name, _ in reads].count(kept_detail) == 1
    assert verdicts()["C1234b.jpg"] == ("duplicate", "C0001234.tif")


@pytest.mark.django_db
def test_a_kept_copy_analysed_again_is_read_again_not_answered_from_the_older_picture(shared_kept_copy, admin_user,
                                                                                   monkeypatch):
    canonical, cleanup = shared_kept_copy
    analyse_inline(admin_user, source=cleanup)
    reads = counting_reads(monkeypatch)
    cache = analysis._MatchCache(load=analysis.load_reduced)
    kept = Asset.objects.get(name="C0001234.tif")
    cache.get(kept, analysis._never_fetch)
    cache.get(kept, analysis._never_fetch)
    assert len(reads) == 2                       # reduced and detail, once
    kept.etag = "changed"                        # the same asset at another version of its bytes
    cache.get(kept, analysis._never_fetch)
    assert len(reads) == 4


@pytest.mark.django_db
def test_a_different_picture_of_equal_size_and_mtime_is_never_judged_identical_to_a_kept_copy(local_root, admin_user):
    """Local files are read through /proc/self/fd/N, the same name for each file in turn; two
    uncompressed scans of one size with one mtime (an unpacked archive) once shared a rendition
    and a pixel SHA-256, and the clean-up scan came out an identical, deletable copy."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(8)
    kept, other = local_root / "canonical" / "S0000001.tif", local_root / "cleanup" / "S0000001.tif"
    base = np.asarray(photo("astronaut", (320, 320)), dtype=np.int16)
    for path in (kept, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        noisy = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)   # another exposure
        Image.fromarray(noisy).save(path, "TIFF")   # uncompressed: equal sizes
    st = os.stat(kept)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert kept.stat().st_size == other.stat().st_size
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(kept.parent))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(other.parent))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    analyse_inline(admin_user, source=cleanup)
    a, b = (Asset.objects.get(source=s) for s in (canonical, cleanup))
    assert a.checksum != b.checksum and a.analysis["pixel_sha256"] != b.analysis["pixel_sha256"]
    review = ReviewItem.objects.get(asset=b)   # it was "identical", safe to delete
    assert review.verdict == "different" and not review.best_candidate.safe_to_delete


def flipped_where_the_hashes_lose_it(path, kept_paths):
    """The JPEG at ``path`` with one bit flipped, at the first place (from 25 % of the file on) where
    the decoder reports damage and no hash of the copy finds its kept copy any more: a copy only
    the rows above the flip can place. Asserted found, so the test below cannot pass vacuously."""
    import random

    from matching.analysis import analyse_file
    from matching.index import CandidateIndex

    idx = CandidateIndex()
    for p in kept_paths:
        idx.add(p.name, analyse_file(p))
    raw = path.read_bytes()
    rng = random.Random(5)
    for at in range(25, 90, 3):
        data = bytearray(raw)
        data[len(data) * at // 100] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
        fa = analyse_file(path)
        if fa.status == "damaged" and not idx.content_search(fa):
            return path
    raise AssertionError("no flip that hides the copy from every hash")


@pytest.mark.django_db
def test_a_bit_flipped_copy_without_an_id_is_paired_through_the_rows_above_the_flip(local_root, admin_user):
    """The pipeline searches the kept thumbnails as the command line does: without it, a damaged
    copy whose every hash the flip garbled was no_match in the app (and cleanup_corrupt in the CLI)."""
    can, cl = local_root / "canonical", local_root / "cleanup"
    kept = [save(photo(n, (400, 300)), can / f"C000{i}111.tif") for i, n in enumerate(["astronaut", "coffee", "chelsea"])]
    flipped_where_the_hashes_lose_it(save(photo("astronaut", (400, 300)), cl / "IMG_0042.jpg"), kept)
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    analyse_inline(admin_user, source=cleanup)
    assert verdicts() == {"IMG_0042.jpg": ("cleanup_corrupt", "C0000111.tif")}
    assert Candidate.objects.get(cleanup_asset__name="IMG_0042.jpg").found_by == "thumbnail"


def pipeline_and_cli(local_root, admin_user, *, id_patterns=None):
    """(the pipeline's {name: (verdict, match)}, the command line's) for local_root's canonical/ and
    cleanup/ folders."""
    can, cl = local_root / "canonical", local_root / "cleanup"
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    analyse_inline(admin_user, source=cleanup)
    rows = matching.pair_directories(can, cl, workers=1, progress=False, id_patterns=id_patterns)
    return verdicts(), {r["cleanup"]: (r["verdict"], r["match"] or None) for r in rows}


@pytest.mark.django_db
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2"])
def test_a_jpeg_copy_coded_without_420_chroma_is_judged_in_the_pipeline_as_on_the_command_line(
        local_root, admin_user, subsampling):
    """The proof models a JPEG copy as it was coded; the pipeline verifies from stored renditions,
    without the file, and took every copy for 4:2:0: a 4:4:4 or 4:2:2 copy's true copies were
    "edited" there (10 of 162 JPEG copies of one corpus's kept files), duplicates on the command line.
    The coding is now kept on the analysis."""
    kept = save(photo("astronaut", (400, 300)), local_root / "canonical" / "C0001111.tif")
    save(photo("astronaut", (400, 300)), local_root / "cleanup" / "IMG_0007.jpg", quality=75, subsampling=subsampling)
    app, cli = pipeline_and_cli(local_root, admin_user)
    assert app == cli == {"IMG_0007.jpg": ("duplicate", kept.name)}
    stored = Asset.objects.get(name="IMG_0007.jpg").analysis["jpeg_coding"]
    assert stored["subsampling"] == {"4:4:4": 0, "4:2:2": 1}[subsampling]
    assert len(stored["luma"]) == 64   # (the coding test reads the copy in its own quantiser: proof 1.36)


@pytest.mark.django_db
def test_a_named_copy_garbled_past_comparing_is_paired_in_the_pipeline_as_on_the_command_line(local_root, admin_user):
    """Proof 1.50 reads the copy's decoder complaint, its blocks as stored and how it was coded, and its
    first MCUs against the kept picture; the pipeline verifies from stored renditions, so each must be
    kept there as the command line reads it from the file (corpus_gen's flips of seed 32010)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "matching"))
    from mhelpers import WHEEL_FLIPS, corpus_crop, flipped_at, jpeg_bytes
    crop = corpus_crop("colorwheel", 11)
    (local_root / "canonical").mkdir(parents=True, exist_ok=True)
    (local_root / "cleanup").mkdir(parents=True, exist_ok=True)
    crop.save(local_root / "canonical" / "C1245489.tif", compression="tiff_lzw")
    size, flips = WHEEL_FLIPS[11]
    (local_root / "cleanup" / "C1245489.jpg").write_bytes(flipped_at(jpeg_bytes(crop, 90), flips, size))
    app, cli = pipeline_and_cli(local_root, admin_user)
    assert app == cli == {"C1245489.jpg": ("cleanup_corrupt", "C1245489.tif")}, (app, cli)


@pytest.mark.django_db
def test_an_unnamed_copy_whose_stream_reads_out_of_step_is_paired_in_the_pipeline_as_on_the_command_line(
        local_root, admin_user):
    """Proof 1.51 reads an unnamed damaged copy's MCUs in scan order against the kept picture's, at the copy's
    size and in its stored frame; the pipeline verifies from stored renditions, so the copy's blocks and its
    coding must be kept there as the command line reads them from the file (corpus_gen's flips of seed 31025)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "matching"))
    from mhelpers import ROCKET_FLIPS, corpus_crop, flipped_at, jpeg_bytes
    crop = corpus_crop("rocket", 6)
    (local_root / "canonical").mkdir(parents=True, exist_ok=True)
    (local_root / "cleanup").mkdir(parents=True, exist_ok=True)
    crop.save(local_root / "canonical" / "C1285084.tif", compression="tiff_lzw")
    size, flips = ROCKET_FLIPS
    (local_root / "cleanup" / "IMG_8404_36.jpg").write_bytes(flipped_at(jpeg_bytes(crop, 90), flips, size))
    app, cli = pipeline_and_cli(local_root, admin_user)
    assert app == cli == {"IMG_8404_36.jpg": ("cleanup_corrupt", "C1285084.tif")}, (app, cli)


@pytest.mark.django_db
def test_copies_without_their_jpeg_end_marker_are_judged_in_the_pipeline_as_on_the_command_line(local_root, admin_user):
    """Proof 1.52 reads the malformed-only error stored with the analysis: an edit saved without its end marker is
    a different picture, not a damaged copy of the kept one; the same picture so saved is a damaged copy."""
    import io

    from PIL import ImageDraw

    kept = photo("astronaut", (400, 300))
    save(kept, local_root / "canonical" / "C0001234.tif")
    (local_root / "cleanup").mkdir(parents=True, exist_ok=True)
    edit = kept.resize((300, 225))
    ImageDraw.Draw(edit).rectangle((150, 40, 220, 110), fill=(30, 30, 30))
    for name, im in (("C0001234a.jpg", kept.resize((300, 225))), ("C0001234b.jpg", edit)):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        (local_root / "cleanup" / name).write_bytes(buf.getvalue()[:-2])
    app, cli = pipeline_and_cli(local_root, admin_user)
    assert app == cli, (app, cli)
    assert app["C0001234a.jpg"] == ("cleanup_corrupt", "C0001234.tif") and app["C0001234b.jpg"][0] == "different"


@pytest.mark.django_db
def test_with_custom_id_patterns_a_damaged_copy_is_named_after_a_kept_copy_only_as_they_pair_it(
        local_root, admin_user, settings):
    """A damaged copy "named after" its kept copy is paired on little evidence; which names share an
    ID is the configured patterns' call, in the pipeline as on the command line (the pipeline let the
    engine compare the IDs the default patterns read)."""
    import io

    settings.ID_PATTERNS = [r"ZZZ(\d+)"]          # reads no ID in these names
    save(photo("astronaut", (400, 300)), local_root / "canonical" / "C0001234.tif")
    buf = io.BytesIO()
    photo("astronaut", (400, 300)).save(buf, "JPEG", quality=90)
    (local_root / "cleanup").mkdir(parents=True, exist_ok=True)
    # cut after 16 % of its bytes: 15 % of the picture intact, enough for a copy named after its kept
    # copy (cleanup_corrupt, with the default patterns), not for one without a shared ID
    (local_root / "cleanup" / "C0001234b.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 16 // 100])
    app, cli = pipeline_and_cli(local_root, admin_user, id_patterns=settings.ID_PATTERNS)
    assert app == cli, (app, cli)
    assert app["C0001234b.jpg"][0] == "different"


@pytest.mark.django_db
def test_reverify_rejudges_open_files_from_stored_data_and_keeps_decided_ones(collection, admin_user, monkeypatch):
    import dataclasses

    import matching.thresholds as thresholds
    from reviewapp.storage import LocalStorage

    canonical, cleanup = collection
    analyse_inline(admin_user, source=cleanup)
    assert Asset.objects.get(name="C0001234.tif").analysis["detail"]        # the proof's rendition is kept
    dup = ReviewItem.objects.get(asset__name="C1234a.jpg")
    assert dup.verdict == "duplicate" and dup.best_candidate.proof["tolerance"]["quality"]
    decided = ReviewItem.objects.get(asset__name="IMG_0001.png")
    ReviewItem.objects.filter(pk=decided.pk).update(status=ReviewItem.Status.DECIDED)
    fetched = []
    monkeypatch.setattr(LocalStorage, "fetch", lambda self, key, **kw: fetched.append(key))
    # a stricter verifier: no tile may differ by more than a fraction of a grey level
    strict = dataclasses.replace(thresholds.THRESHOLDS.proof, tol_factor=0.01, tol_floor=0.01, peak_factor=0.01,
                                 peak_floor=0.01)
    monkeypatch.setattr(thresholds, "THRESHOLDS", dataclasses.replace(thresholds.THRESHOLDS, proof=strict))
    job = analysis.reverify_start(actor=admin_user, dispatch=False)
    counts = analysis.reverify_run(job.pk)
    assert fetched == []                                                    # no original fetched again
    assert counts["reverified"] >= 1 and counts["needs_reanalysis"] == 0
    dup.refresh_from_db()
    assert dup.verdict == "different" and not dup.best_candidate.safe_to_delete
    decided.refresh_from_db()
    assert decided.status == ReviewItem.Status.DECIDED and decided.verdict == "rotated"
    assert Job.objects.get(pk=job.pk).state == Job.State.DONE


@pytest.mark.django_db
def test_damaged_copies_carry_a_damage_score_and_never_sort_among_near_identical_files(local_root, admin_user, client):
    """Real encoded files: a lossless copy with a flat grey band and a JPEG cut off half way (its
    lower half decodes grey) agree with their kept copies wherever they still hold the picture, so diff and
    local stay near 0; the damage score puts them outside the first band (<= 0.005) of the queue,
    and the file view shows it."""
    from django.urls import reverse

    from reviewapp.selectors.review import queue_items
    from tests.images import grey_band
    from tests.factories import UserFactory

    can, cl = local_root / "canonical", local_root / "cleanup"
    for ident, name in (("C0001001", "astronaut"), ("C0001002", "coffee"), ("C0001003", "chelsea")):
        save(photo(name, (480, 360)), can / f"{ident}.tif")
    save(grey_band(photo("astronaut", (480, 360)), 0.45, 0.12), cl / "C1001a.png")
    truncate(save(photo("coffee", (480, 360)), cl / "C1002a.jpg", quality=95), 0.5)
    save(photo("chelsea", (480, 360)), cl / "C1003a.jpg", quality=95)  # a clean re-encode: near-identical
    canonical = source_add(actor=admin_user, name="canon", kind="local", role="canonical", root=str(can))
    cleanup = source_add(actor=admin_user, name="cleanup", kind="local", role="cleanup", root=str(cl))
    inventory_inline(admin_user, canonical)
    inventory_inline(admin_user, cleanup)
    assert analyse_inline(admin_user, source=cleanup).state == Job.State.DONE

    items = {r.asset.name: r for r in ReviewItem.objects.select_related("asset", "best_candidate")}
    band, half, clean = items["C1001a.png"], items["C1002a.jpg"], items["C1003a.jpg"]
    assert band.verdict == half.verdict == "cleanup_corrupt"
    assert band.best_candidate.diff_score <= 0.005 and half.best_candidate.diff_score <= 0.005  # what hid the damage
    assert 0.08 <= band.damage_score == band.best_candidate.damage_score <= 0.3
    assert 0.3 <= half.damage_score == half.best_candidate.damage_score <= 0.7
    assert clean.damage_score == 0.0 and clean.diff_score <= 0.005
    near_identical = set(queue_items({"band": "0-0.005"}).values_list("asset__name", flat=True))
    assert near_identical == {"C1003a.jpg"}
    assert set(queue_items({"band": "0.15+"}).values_list("asset__name", flat=True)) >= {"C1002a.jpg"}
    bands_with_band = [key for key in ("0.005-0.02", "0.02-0.05", "0.05-0.15", "0.15+")
                       if queue_items({"band": key}).filter(pk=band.pk).exists()]
    assert len(bands_with_band) == 1  # in exactly one band, and not the first

    client.force_login(UserFactory(role="curator"))
    page = client.get(reverse("review-item", args=[half.pk])).content.decode()
    assert f"damage {half.damage_score:.4f}" in page and 'data-testid="damage-score"' in page
    assert 'data-testid="damage-score"' not in client.get(reverse("review-item", args=[clean.pk])).content.decode()
    home = client.get(reverse("review-home")).content.decode()
    assert "damage_score when higher" in home

"""The sources and assets browsing pages and the admin-only "Add source" form."""
import pytest
from django.urls import reverse

from reviewapp.models import Asset, Source
from tests.factories import AssetFactory, CandidateFactory, ReviewItemFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    source = SourceFactory()
    asset = AssetFactory(source=source)
    for url in (reverse("source-list"), reverse("source-detail", args=[source.pk]),
                reverse("asset-detail", args=[asset.pk]), reverse("source-add")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_user_without_role_is_refused(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("source-list")).status_code == 403


def test_source_list_shows_counts_by_state_and_bytes(curator_client):
    canonical = SourceFactory(name="archive", role=Source.Role.CANONICAL)
    cleanup = SourceFactory(name="legacy-share", role=Source.Role.CLEANUP)
    for _ in range(3):
        AssetFactory(source=cleanup, size=1_000_000, state=Asset.State.FINGERPRINTED)
    AssetFactory(source=cleanup, size=500, state=Asset.State.UNREADABLE, decode_status="unreadable")
    AssetFactory(source=canonical, size=10, state=Asset.State.LISTED)

    response = curator_client.get(reverse("source-list"))
    assert response.status_code == 200
    rows = {s.name: s for s in response.context["sources"]}
    assert rows["legacy-share"].n_assets == 4
    assert rows["legacy-share"].n_bytes == 3_000_500
    assert [(v, n) for v, _, n in rows["legacy-share"].state_counts] == [("fingerprinted", 3), ("unreadable", 1)]
    assert rows["archive"].n_assets == 1
    html = response.content.decode()
    assert "legacy-share" in html and "Canonical (never deleted)" in html
    assert "Fingerprinted: 3" in html and "Unreadable: 1" in html
    assert "3.0 MB" in html  # 3,000,500 bytes, in decimal units like the commands (reviewapp.units)
    # curators do not get the admin's button
    assert reverse("source-add") not in html


def test_source_detail_grid_filters_and_search(curator_client):
    source = SourceFactory(name="legacy")
    AssetFactory(source=source, key="box1/C0001234.tif", format="TIFF", state=Asset.State.FINGERPRINTED)
    AssetFactory(source=source, key="box1/C0001235.jpg", format="JPEG", state=Asset.State.FINGERPRINTED)
    AssetFactory(source=source, key="box2/broken.jp2", format="JPEG2000", state=Asset.State.UNREADABLE, decode_status="unreadable")
    AssetFactory(source=source, key="box2/new.tif", format="", state=Asset.State.LISTED, decode_status="")
    AssetFactory(key="other-source.tif")  # never shown here
    url = reverse("source-detail", args=[source.pk])

    def keys(**params):
        response = curator_client.get(url, params)
        assert response.status_code == 200
        return sorted(t["asset"].key for t in response.context["tiles"])

    assert len(keys()) == 4
    assert keys(state="unreadable") == ["box2/broken.jp2"]
    assert keys(format="TIFF") == ["box1/C0001234.tif"]
    assert keys(decode="ok") == ["box1/C0001234.tif", "box1/C0001235.jpg"]
    assert keys(decode="none") == ["box2/new.tif"]
    assert keys(q="c000123") == ["box1/C0001234.tif", "box1/C0001235.jpg"]
    assert keys(q="box2", state="listed") == ["box2/new.tif"]
    # a bad filter value is reported, not a 500, and the whole source is shown
    response = curator_client.get(url, {"state": "nonsense"})
    assert response.status_code == 200
    assert "Filter ignored" in response.content.decode()
    assert len(response.context["tiles"]) == 4


def test_source_detail_paginates_and_survives_bad_page(curator_client):
    source = SourceFactory()
    AssetFactory.create_batch(65, source=source)
    url = reverse("source-detail", args=[source.pk])
    first = curator_client.get(url)
    assert len(first.context["tiles"]) == 60
    assert first.context["page"].paginator.num_pages == 2
    second = curator_client.get(url, {"page": 2})
    assert len(second.context["tiles"]) == 5
    assert not {t["asset"].pk for t in first.context["tiles"]} & {t["asset"].pk for t in second.context["tiles"]}
    assert curator_client.get(url, {"page": "x'; drop"}).status_code == 200
    assert curator_client.get(url, {"page": 999}).context["page"].number == 2


def test_thumbnails_point_at_the_permission_checked_image_view(curator_client):
    source = SourceFactory()
    ok = AssetFactory(source=source, key="a.jpg")
    unreadable = AssetFactory(source=source, key="b.jpg", decode_status="unreadable", state=Asset.State.UNREADABLE)
    response = curator_client.get(reverse("source-detail", args=[source.pk]))
    tiles = {t["asset"].pk: t["thumb"] for t in response.context["tiles"]}
    assert tiles[unreadable.pk] is None  # nothing to render: the tile says so
    html = response.content.decode()
    assert "does not decode" in html
    expected = reverse("asset-image", args=[ok.pk, "thumb"])
    assert tiles[ok.pk] == expected
    assert f'src="{expected}"' in html


def test_missing_source_or_asset_is_404(curator_client):
    assert curator_client.get(reverse("source-detail", args=[99999])).status_code == 404
    assert curator_client.get(reverse("asset-detail", args=[99999])).status_code == 404


def test_asset_detail_shows_metadata_candidates_and_review(curator_client):
    item = ReviewItemFactory()
    asset = item.asset
    Asset.objects.filter(pk=asset.pk).update(
        key="box1/C0001234_v2.tif", etag="abc123etag", storage_class="DEEP_ARCHIVE", format="TIFF", width=3000,
        height=2000, pages=2, bit_depth=16, decode_status="damaged", decode_error="truncated strip 12",
        ids=["C0001234"], analysis={"errors": ["image file is truncated"]},
    )
    asset.refresh_from_db()
    match = item.best_candidate.match_asset
    other = CandidateFactory(cleanup_asset=asset, rank=1, verdict="different")
    response = curator_client.get(reverse("asset-detail", args=[asset.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("box1/C0001234_v2.tif", "abc123etag", "DEEP_ARCHIVE", "TIFF", "3000×2000", "16", "Damaged",
                 "truncated strip 12", "image file is truncated", "C0001234", match.key, other.match_asset.key,
                 "Duplicate", "Different picture", "Open"):
        assert text in html, text
    # the kept copy's page lists the clean-up copy that matched it
    response = curator_client.get(reverse("asset-detail", args=[match.pk]))
    assert asset.key.split("/")[-1] in response.content.decode()


def test_an_unreadable_files_page_lists_each_decode_error_once(curator_client):
    # an attack: every unreadable file's errors were listed twice (the row's decode_error is the analysis's joined)
    asset = AssetFactory(decode_status="unreadable", decode_error="cannot identify image: x\nempty tail",
                         analysis={"errors": ["cannot identify image: x", "empty tail"]})
    html = curator_client.get(reverse("asset-detail", args=[asset.pk])).content.decode()
    assert html.count("cannot identify image: x") == 1 and html.count("empty tail") == 1


def test_curator_cannot_add_source(curator_client, local_root):
    (local_root / "x").mkdir()
    assert curator_client.get(reverse("source-add")).status_code == 403
    response = curator_client.post(reverse("source-add"), {"name": "x", "role": "cleanup", "kind": "local", "root": str(local_root / "x")})
    assert response.status_code == 403
    assert not Source.objects.exists()


def test_admin_adds_local_source(admin_client_doppel, local_root, admin_user):
    (local_root / "legacy").mkdir()
    assert reverse("source-add") in admin_client_doppel.get(reverse("source-list")).content.decode()
    response = admin_client_doppel.post(
        reverse("source-add"), {"name": "legacy", "role": "cleanup", "kind": "local", "root": str(local_root / "legacy")}
    )
    source = Source.objects.get(name="legacy")
    assert response.status_code == 302 and response["Location"] == reverse("source-detail", args=[source.pk])
    assert source.root == str((local_root / "legacy").resolve()) and source.created_by == admin_user


def test_admin_adds_s3_source_by_profile_name(admin_client_doppel, settings):
    settings.S3_PROFILES = {"archive-aws": {"region_name": "eu-west-1"}}
    form = admin_client_doppel.get(reverse("source-add")).content.decode()
    assert '<option value="archive-aws">' in form
    assert 'name="endpoint' not in form and "url" not in form.split("<form", 1)[1].split("</form>")[0].lower().replace("csrf", "")
    response = admin_client_doppel.post(
        reverse("source-add"),
        {"name": "scans", "role": "canonical", "kind": "s3", "storage_profile": "archive-aws", "bucket": "museum-scans", "prefix": "tiff"},
    )
    assert response.status_code == 302
    source = Source.objects.get(name="scans")
    assert (source.storage_profile, source.bucket, source.prefix) == ("archive-aws", "museum-scans", "tiff/")


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "a", "role": "cleanup", "kind": "local", "root": "/etc"}, "root", "not under an allowed root"),
        ({"name": "a", "role": "cleanup", "kind": "local", "root": ""}, "root", "needs a directory"),
        ({"name": "a", "role": "cleanup", "kind": "local", "root": "{root}/missing"}, "root", "does not exist"),
        ({"name": "a", "role": "cleanup", "kind": "s3", "storage_profile": "http://evil.example", "bucket": "b-b-b"}, "storage_profile", "Select a valid choice"),
        ({"name": "a", "role": "cleanup", "kind": "s3", "storage_profile": "aws", "bucket": "Bad_Bucket"}, "bucket", "not a valid bucket"),
        ({"name": "a", "role": "cleanup", "kind": "s3", "storage_profile": "aws", "bucket": ""}, "bucket", "needs a bucket"),
        ({"name": "a", "role": "cleanup", "kind": "s3", "storage_profile": "", "bucket": "b-b-b"}, "storage_profile", "choose a storage profile"),
        ({"name": "bad name!", "role": "cleanup", "kind": "local", "root": "{root}"}, "name", "valid"),
        ({"name": "a", "role": "owner", "kind": "local", "root": "{root}"}, "role", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_not_a_500(admin_client_doppel, local_root, settings, data, field, message):
    settings.S3_PROFILES = {"aws": {"region_name": "eu-west-1"}}
    data = {k: v.replace("{root}", str(local_root)) for k, v in data.items()}
    response = admin_client_doppel.post(reverse("source-add"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert message.split("{")[0] in response.content.decode() or "valid" in message
    assert not Source.objects.exists()


def test_overlapping_or_duplicate_source_is_a_form_error(admin_client_doppel, local_root):
    (local_root / "a" / "b").mkdir(parents=True)
    post = lambda name, root: admin_client_doppel.post(reverse("source-add"), {"name": name, "role": "cleanup", "kind": "local", "root": str(root)})  # noqa: E731
    assert post("a", local_root / "a").status_code == 302
    response = post("b", local_root / "a" / "b")
    assert response.status_code == 200 and "overlaps source" in response.content.decode()
    response = post("a", local_root / "a" / "b")
    assert response.status_code == 200 and "already exists" in response.content.decode()
    (local_root / "c").mkdir()
    response = post("A", local_root / "c")   # the same name in another case: a form error, not a second source
    assert response.status_code == 200 and "already exists (names are compared regardless of case)" in response.content.decode()
    assert Source.objects.count() == 1


def test_damaged_region_is_outlined_on_the_asset_image(curator_client):
    asset = AssetFactory(decode_status="damaged", analysis={"damage": {"region": {"top": 0.5, "left": 0.0, "bottom": 0.75, "right": 1.0}}})
    html = curator_client.get(reverse("asset-detail", args=[asset.pk])).content.decode()
    assert reverse("asset-image", args=[asset.pk, "web"]) in html
    assert 'data-box-top="50.0%" data-box-left="0.0%" data-box-width="100.0%" data-box-height="25.0%"' in html
    assert "Damaged region: a band 25% high, from 50% to 75% down" in html
    for bad in ({"region": {"top": "x"}}, {"region": {"top": 0.9, "left": 0, "bottom": 0.1, "right": 1}}, "garbage", None):
        other = AssetFactory(decode_status="damaged", analysis={"damage": bad})
        response = curator_client.get(reverse("asset-detail", args=[other.pk]))
        assert response.status_code == 200 and "damage-box" not in response.content.decode()


def test_admin_starts_an_inventory_from_the_source_page(admin_client_doppel, curator, client, local_root):
    from reviewapp.models import Job
    from tests import images

    (local_root / "legacy").mkdir()
    images.save(images.photo("coins"), local_root / "legacy" / "C0000042.tif")
    admin_client_doppel.post(reverse("source-add"), {"name": "legacy", "role": "cleanup", "kind": "local", "root": str(local_root / "legacy")})
    source = Source.objects.get(name="legacy")
    html = admin_client_doppel.get(reverse("source-detail", args=[source.pk])).content.decode()
    assert 'data-testid="source-jobs"' in html and 'value="inventory"' in html
    response = admin_client_doppel.post(reverse("job-start"), {"source": source.pk, "kind": "inventory"})
    assert response.status_code == 302
    job = Job.objects.get(source=source, kind="inventory")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    client.force_login(curator)
    assert 'data-testid="source-jobs"' not in client.get(reverse("source-detail", args=[source.pk])).content.decode()


def test_quarantined_objects_leave_the_source_counts_and_carry_a_badge(curator_client, curator):
    from reviewapp.models import Decision, DeletionItem, DeletionPlan
    from reviewapp.selectors.dashboard import dashboard_summary

    cleanup = SourceFactory(name="legacy-share", role=Source.Role.CLEANUP)
    kept = AssetFactory(source=cleanup, key="box/C0001.tif", size=1000, state=Asset.State.FINGERPRINTED)
    AssetFactory(source=cleanup, key="box/gone.tif", size=7, state=Asset.State.VANISHED)  # vanished on its own
    plan = DeletionPlan.objects.create(created_by=curator)
    moved = []
    for i in range(2):
        item = ReviewItemFactory(best_candidate__cleanup_asset__source=cleanup, best_candidate__cleanup_asset__size=300,
                                 best_candidate__cleanup_asset__key=f"box/C000{i + 2}a.jpg")
        decision = Decision.objects.create(review_item=item, asset=item.asset, action="approve_delete", actor=curator)
        DeletionItem.objects.create(plan=plan, decision=decision, asset=item.asset, kept_asset=item.best_candidate.match_asset,
                                    etag_at_decision="e", kept_etag_at_decision="f", state=DeletionItem.State.QUARANTINED)
        Asset.objects.filter(pk=item.asset_id).update(state=Asset.State.VANISHED)  # what quarantining does
        moved.append(item.asset)

    rows = {s.name: s for s in curator_client.get(reverse("source-list")).context["sources"]}
    share = rows["legacy-share"]
    assert (share.n_assets, share.n_bytes) == (1, 1000)  # only the object still there
    states = {v: n for v, _, n in share.state_counts}
    assert states == {"fingerprinted": 1, "vanished": 1, "quarantined": 2}
    assert {s.name: s.n_assets for s in dashboard_summary()["sources"]}["legacy-share"] == 1

    page = curator_client.get(reverse("source-detail", args=[cleanup.pk]))
    html = page.content.decode()
    assert page.context["totals"]["n_assets"] == 1 and page.context["totals"]["n_bytes"] == 1000
    assert page.context["totals"]["n_quarantined"] == 2 and page.context["totals"]["quarantined_bytes"] == 600
    assert "2 in quarantine" in html
    tiles = {t["asset"].key: t["asset"].quarantined for t in page.context["tiles"]}
    assert tiles == {kept.key: False, "box/gone.tif": False, moved[0].key: True, moved[1].key: True}
    assert html.count('data-testid="quarantined-badge"') == 2
    detail = curator_client.get(reverse("asset-detail", args=[moved[0].pk])).content.decode()
    assert 'data-testid="quarantined-badge">In quarantine' in detail
    assert 'quarantined-badge' not in curator_client.get(reverse("asset-detail", args=[kept.pk])).content.decode()


def test_asset_page_says_how_the_format_was_measured_and_a_misleading_extension(curator_client):
    notes = ["extension .jpg says JPEG but the content is PNG",
             "TIFF: 2 IFDs (1 reduced), 1 page(s); page 1 measured from IFD0 SubIFD 0 at 800x600, 8-bit"]
    asset = AssetFactory(format="PNG", analysis={"notes": notes})
    html = curator_client.get(reverse("asset-detail", args=[asset.pk])).content.decode()
    assert 'data-testid="format-notes"' in html and all(n in html for n in notes)
    plain = AssetFactory(analysis={"notes": []})
    assert "format-notes" not in curator_client.get(reverse("asset-detail", args=[plain.pk])).content.decode()


def test_the_source_header_and_its_object_list_say_the_same_numbers_and_name_the_difference(curator_client, curator):
    """The report's /sources/2/: "17 objects" above "27 matching objects". The list holds every
    object ever listed, the header those still there: both say so, and their numbers add up."""
    cleanup = SourceFactory(name="legacy-share", role=Source.Role.CLEANUP)
    for i in range(3):
        AssetFactory(source=cleanup, key=f"box/present{i}.tif", size=1000, state=Asset.State.FINGERPRINTED)
    for i in range(2):
        AssetFactory(source=cleanup, key=f"box/gone{i}.tif", size=10, state=Asset.State.VANISHED)
    html = curator_client.get(reverse("source-detail", args=[cleanup.pk])).content.decode()
    assert 'data-testid="source-present">3 objects in the source<' in html
    assert 'data-testid="source-gone">2 listed before and no longer there' in html
    assert "5 matching objects (2 of them no longer in the source)" in html
    html = curator_client.get(reverse("source-detail", args=[cleanup.pk]) + "?state=fingerprinted").content.decode()
    assert "3 matching objects <" in html or "3 matching objects\n" in html or "3 matching objects</p>" in html
    assert "no longer in the source)" not in html


def test_a_taken_down_object_shows_words_instead_of_a_picture_that_would_answer_410(curator_client, admin_user):
    from reviewapp.models import Takedown

    source = SourceFactory(name="legacy-share", role=Source.Role.CLEANUP)
    gone = AssetFactory(source=source, key="box/C0009.jpg", state=Asset.State.VANISHED, decode_status="ok")
    here = AssetFactory(source=source, key="box/C0010.jpg", decode_status="ok")
    Takedown.objects.create(asset=gone, reason="court order 2026/17 (test)", actor=admin_user)
    assert curator_client.get(reverse("asset-image", args=[gone.pk, "thumb"])).status_code == 410  # what was asked before
    html = curator_client.get(reverse("source-detail", args=[source.pk])).content.decode()
    assert reverse("asset-image", args=[gone.pk, "thumb"]) not in html
    assert reverse("asset-image", args=[here.pk, "thumb"]) in html
    assert "removed by a takedown" in html
    page = curator_client.get(reverse("asset-detail", args=[gone.pk])).content.decode()
    assert reverse("asset-image", args=[gone.pk, "web"]) not in page
    assert 'data-testid="no-picture">Removed by a legal takedown' in page
    assert 'data-fate="taken_down">' in page and "court order 2026/17 (test)" in page

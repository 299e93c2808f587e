"""A new user's first look: log in, open a source, see its real images as thumbnails, open one.

Real files (photos from scikit-image, encoded as TIFF, JPEG 2000 and JPEG, one of them truncated)
sit in two local sources; the pipeline's services inventory and analyse them (eagerly here), and
headless Chromium checks that every thumbnail really decoded in the browser (naturalWidth > 0).
"""
from pathlib import Path

import pytest
from PIL import Image

from reviewapp.models import Asset, Job
from reviewapp.services.sources import source_add
from tests import images
from tests.conftest import browser_login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.services]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots for a human to look at


def _collection(root):
    """A canonical folder and a clean-up folder with renamed, rotated, resized and broken copies."""
    canonical, cleanup = root / "canonical", root / "cleanup"
    originals = {"C0001001": "astronaut", "C0001002": "coffee", "C0001003": "chelsea"}
    for ident, name in originals.items():
        images.save(images.photo(name), canonical / f"{ident}.tif")
    images.save(images.photo("astronaut"), cleanup / "scan_C0001001_copy.jpg")
    images.save(images.photo("coffee").transpose(Image.Transpose.ROTATE_90), cleanup / "box1" / "C1002.jp2")
    images.save(images.photo("chelsea", size=(300, 200)), cleanup / "box1" / "C0001003_small.jpg")
    images.truncate(images.save(images.photo("rocket"), cleanup / "box2" / "C0001004.jpg"), keep=0.5)
    (cleanup / "box2" / "C0001005.tif").write_bytes(b"II*\x00" + b"\x00" * 64)  # a TIFF header and nothing else
    return canonical, cleanup


def _images_loaded(page, selector):
    """[naturalWidth] of every <img> matched, once each has finished loading (or failed)."""
    page.wait_for_function(
        "sel => Array.from(document.querySelectorAll(sel)).every(i => i.complete)", arg=selector, timeout=30000
    )
    return page.eval_on_selector_all(selector, "els => els.map(i => i.naturalWidth)")


@pytest.mark.django_db(transaction=True)
def test_a_curator_browses_real_thumbnails_and_opens_an_asset(page, live_server, local_root):
    admin = UserFactory(username="admin-e2e", role="admin")
    UserFactory(username="curator-e2e", role="curator")
    canonical_dir, cleanup_dir = _collection(local_root)
    canonical = source_add(actor=admin, name="canonical", kind="local", role="canonical", root=str(canonical_dir))
    cleanup = source_add(actor=admin, name="cleanup", kind="local", role="cleanup", root=str(cleanup_dir))

    from reviewapp.services.analysis import analysis_start
    from reviewapp.services.inventory import inventory_start

    for source in (canonical, cleanup):
        assert inventory_start(actor=admin, source=source) is not None
    assert Asset.objects.filter(source=cleanup).count() == 5
    analysis_start(actor=admin, source=cleanup)
    assert not Job.objects.filter(state=Job.State.FAILED).exists(), list(Job.objects.values("kind", "state", "error"))
    status = dict(Asset.objects.filter(source=cleanup).values_list("key", "decode_status"))
    assert status == {"scan_C0001001_copy.jpg": "ok", "box1/C1002.jp2": "ok", "box1/C0001003_small.jpg": "ok",
                      "box2/C0001004.jpg": "damaged", "box2/C0001005.tif": "unreadable"}

    browser_login(page, live_server, "curator-e2e", "pw-curator-e2e")
    page.click("nav.mainnav >> text=Sources")
    assert page.url.endswith("/sources/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browse-sources.png"))
    row = page.locator("[data-testid=source-table] tr", has_text="cleanup")
    assert "5" in row.inner_text()
    row.locator("a", has_text="cleanup").click()
    page.wait_for_selector("[data-testid=asset-grid]")

    widths = _images_loaded(page, "[data-testid=asset-grid] img.thumb")
    assert len(widths) == 4, widths  # every file that decodes, the damaged one included, has a picture
    assert all(w > 0 for w in widths), widths
    assert page.locator("[data-testid=asset-grid] li.tile").count() == 5
    damaged = page.locator("[data-testid=asset-grid] li.tile", has_text="C0001004.jpg")
    assert "Damaged" in damaged.inner_text()
    unreadable = page.locator("[data-testid=asset-grid] li.tile", has_text="C0001005.tif")
    assert unreadable.locator("img").count() == 0 and "does not decode" in unreadable.inner_text()
    page.screenshot(path=str(ARTIFACTS / "browse-source.png"), full_page=True)

    # filter by format, then open the rotated JP2 copy
    page.select_option("select[name=format]", "JPEG2000")
    page.click("[data-testid=asset-filters] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=asset-grid] li.tile").count() == 1
    page.click("[data-testid=asset-grid] li.tile a")
    page.wait_for_selector("[data-testid=asset-meta]")
    meta = page.inner_text("[data-testid=asset-meta]")
    assert "box1/C1002.jp2" in meta and "JPEG2000" in meta
    asset = Asset.objects.get(source=cleanup, key="box1/C1002.jp2")
    assert f"{asset.width}×{asset.height}" in meta
    assert _images_loaded(page, "[data-testid=web-image]")[0] > 0
    page.screenshot(path=str(ARTIFACTS / "browse-asset.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_thumbnail_still_being_made_shows_a_placeholder_then_the_picture(page, live_server, local_root, monkeypatch):
    """The image view never decodes in the request: a thumbnail not made yet answers 503 with
    Retry-After and is queued for a worker. The page shows "Preparing this picture…" in its place,
    asks again, shows the picture once the worker made it, and says so in the polite live region,
    with the one that could not be made (its object went)."""
    from types import SimpleNamespace

    from reviewapp.services import renditions
    from reviewapp.tasks.renditions import asset_renditions_task
    from tests.e2e.test_accessibility_e2e import CspWatch, run_axe
    from tests.reviewapp.test_analysis import analyse_inline, inventory_inline, make_collection

    admin = UserFactory(username="admin-e2e", role="admin")
    UserFactory(username="curator-e2e", role="curator")
    _canonical_dir, cleanup_dir = make_collection(local_root)
    cleanup = source_add(actor=admin, name="cleanup", kind="local", role="cleanup", root=str(cleanup_dir))
    inventory_inline(admin, cleanup)
    analyse_inline(admin, source=cleanup)
    made, went = Asset.objects.get(key="C1234a.jpg"), Asset.objects.get(key="unique.jpg")
    for a in (made, went):
        renditions.renditions_storage().delete(a.thumbnail)
    (cleanup_dir / "unique.jpg").unlink()
    queued = []  # the broker: the worker's part is run below, by the test
    monkeypatch.setattr(renditions, "asset_renditions_task", SimpleNamespace(delay=queued.append))

    csp = CspWatch(page)
    browser_login(page, live_server, "curator-e2e", "pw-curator-e2e")
    page.goto(f"{live_server.url}/sources/{cleanup.pk}/")
    waiting = page.locator("[data-testid=asset-grid] [data-testid=img-preparing]")
    waiting.nth(1).wait_for()
    assert waiting.count() == 2
    assert all(t.startswith("Preparing this picture…") for t in waiting.all_inner_texts())
    assert "C1234a.jpg" in page.locator("li.tile", has_text="C1234a.jpg").locator("[data-testid=img-preparing]").text_content()
    assert not page.locator("li.tile", has_text="C1234a.jpg").locator("img").is_visible()
    page.screenshot(path=str(ARTIFACTS / "browse-preparing.png"), full_page=True)
    assert run_axe(page) == []
    assert sorted(set(queued)) == sorted([made.pk, went.pk])
    for pk in set(queued):
        asset_renditions_task(pk)

    tile = page.locator("li.tile", has_text="C1234a.jpg")
    page.wait_for_function("() => { const i = [...document.querySelectorAll('li.tile img')].find(i => i.alt.includes('C1234a.jpg'));"
                           " return i && i.naturalWidth > 0 && i.offsetWidth > 0; }", timeout=20000)
    assert tile.locator("[data-testid=img-preparing]").count() == 0
    failed = page.locator("li.tile", has_text="unique.jpg").locator("[data-testid=img-preparing]")
    failed.filter(has_text="No picture: the file does not decode, or is gone.").wait_for()  # at its next ask
    page.locator("[data-testid=live-status]", has_text="1 of 2 pictures ready; 1 could not be prepared.").wait_for()
    assert run_axe(page) == [] and csp.refused == []

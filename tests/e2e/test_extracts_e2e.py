"""An admin, keyboard and labels only, packages a name list as 500-px thumbnails and reads the
counts on the extract's page; the live extract shows on the dashboard. Screenshots go to
test-artifacts/ for a human to look at."""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reviewapp.models import Extract
from reviewapp.services.namelists import namelist_upload
from reviewapp.services.sources import source_add
from tests import images
from tests.conftest import browser_login
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.services]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.django_db(transaction=True)
def test_an_admin_builds_a_thumbnail_extract_by_keyboard(page, live_server, local_root, tmp_path, settings):
    from reviewapp.services.inventory import inventory_run, inventory_start

    settings.EXTRACT_ROOTS = [(tmp_path / "extracts").resolve()]
    settings.EXTRACT_LOCATIONS = {"default": f"local:{tmp_path / 'extracts'}"}
    admin = UserFactory(username="admin-e2e", role="admin")
    covers = local_root / "covers"
    images.save(images.photo("astronaut", size=(900, 600)), covers / "Ærø, \"first\".jpg")
    images.save(images.photo("coffee", size=(600, 900)), covers / "C0001.jpg")
    src = source_add(actor=admin, name="covers", kind="local", role="cleanup", root=str(covers))
    job = inventory_start(actor=admin, source=src)
    inventory_run(job.pk)
    namelist_upload(actor=admin, source=src, title="album covers",
                    uploaded_file=SimpleUploadedFile("l.txt", 'Ærø, "first".jpg\nC0001\nmissing.tif\n'.encode()))
    errors = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of" not in m.text else None)
    browser_login(page, live_server, "admin-e2e", "pw-admin-e2e")
    page.goto(f"{live_server.url}/extracts/")
    page.get_by_label("Title").fill("covers for the catalogue")
    page.get_by_label("album covers").check()
    page.get_by_label("JPEG renditions at a chosen size").check()
    page.get_by_label("Rendition size (longest side, pixels)").fill("500")
    page.get_by_role("button", name="Build the extract").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    # the extract's page, not the form mid-navigation: a screenshot taken while the POST's redirect
    # was still loading failed under load ("Unable to capture screenshot")
    summary = page.get_by_test_id("extract-summary")
    summary.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "extract-after-submit.png"), full_page=True)
    assert summary.inner_text() == "Of the 3 objects you requested, the database knew 2, and the archive contains 2."
    page.screenshot(path=str(ARTIFACTS / "extract-detail.png"), full_page=True)
    ex = Extract.objects.get()
    assert ex.state == Extract.State.READY and ex.max_side == 500
    page.goto(f"{live_server.url}/")
    assert "covers for the catalogue" in page.get_by_test_id("live-extracts").inner_text()
    assert not errors, errors

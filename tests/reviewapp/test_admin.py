"""The Django admin is a read-only window for the admin role; curators never get in."""
import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from reviewapp.models import Decision, Job, JobEvent
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def _app_models():
    return list(apps.get_app_config("reviewapp").get_models())


def test_every_table_is_registered():
    missing = [model.__name__ for model in _app_models() if not admin.site.is_registered(model)]
    assert missing == []


def test_admin_role_loads_every_list_and_a_change_page(admin_client_doppel, admin_user):
    item = ReviewItemFactory()
    Decision.objects.create(review_item=item, asset=item.asset, candidate=item.best_candidate, action="skip", actor=admin_user)
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=item.asset.source)
    assert not admin_user.is_staff  # the role opens the site, not Django's staff flag
    response = admin_client_doppel.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Doppel administration" in response.content.decode()
    for model in _app_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert admin_client_doppel.get(url).status_code == 200, url
    for obj in (item.asset, item.asset.source, item.best_candidate, job):
        url = reverse(f"admin:reviewapp_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client_doppel.get(url).status_code == 200, url


def test_admin_cannot_add_edit_or_delete_rows_here(admin_client_doppel):
    asset = AssetFactory()
    assert admin_client_doppel.get(reverse("admin:reviewapp_source_add")).status_code == 403
    response = admin_client_doppel.post(reverse("admin:reviewapp_asset_change", args=[asset.pk]), {"key": "../../etc/passwd"})
    assert response.status_code == 403
    assert admin_client_doppel.post(reverse("admin:reviewapp_asset_delete", args=[asset.pk]), {"post": "yes"}).status_code == 403
    asset.refresh_from_db()
    assert asset.key != "../../etc/passwd"


@pytest.mark.parametrize("who", ["curator", "anonymous"])
def test_curators_and_strangers_are_refused(client, curator, who):
    if who == "curator":
        client.force_login(curator)
    source = SourceFactory()
    for url in (reverse("admin:index"), reverse("admin:reviewapp_source_changelist"),
                reverse("admin:reviewapp_source_change", args=[source.pk])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_cancel_action_goes_through_the_job_service(admin_client_doppel):
    source = SourceFactory()
    running = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, state=Job.State.RUNNING)
    done = Job.objects.create(kind=Job.Kind.INVENTORY, source=source, state=Job.State.DONE)
    response = admin_client_doppel.post(
        reverse("admin:reviewapp_job_changelist"),
        {"action": "cancel_jobs", "_selected_action": [running.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    running.refresh_from_db()
    done.refresh_from_db()
    assert running.state == Job.State.CANCELLED
    assert done.state == Job.State.DONE  # refused with a message, not a crash
    assert "already" in response.content.decode()
    assert JobEvent.objects.filter(job=running, event="cancelled").count() == 1


def test_admin_login_page_takes_the_admin_role_not_is_staff(client, admin_user, curator):
    response = client.post(reverse("admin:login"), {"username": "curator1", "password": "pw-curator1", "next": "/admin/"})
    assert response.status_code == 200 and "does not have the Doppel admin role" in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("admin:login"), {"username": "admin1", "password": "pw-admin1", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

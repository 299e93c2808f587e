"""The Django admin is a read-only window for the admin role; curators never get in."""
import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from reviewapp.models import Decision, Job, JobEvent, ReviewItem
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


@pytest.mark.parametrize("superuser", [False, True])
def test_no_table_offers_delete_or_bulk_actions_even_to_a_superuser(admin_client_doppel, admin_user, superuser):
    from django.test import RequestFactory

    admin_user.is_superuser = superuser
    admin_user.save()
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    writes = {}
    for model, model_admin in admin.site._registry.items():
        actions = sorted(model_admin.get_actions(request))
        if model_admin.has_delete_permission(request) or "delete_selected" in actions:
            writes[model._meta.label] = "delete"
        elif model is not get_user_model() and (model_admin.has_add_permission(request)
                                                or model_admin.has_change_permission(request, object())):
            writes[model._meta.label] = "add/change"
        elif actions and model not in (Job, ReviewItem):
            writes[model._meta.label] = actions
    assert writes == {}
    request.user = admin_user
    assert sorted(admin.site._registry[Job].get_actions(request)) == ["cancel_jobs", "pause_jobs", "resume_jobs"]


@pytest.mark.parametrize("superuser", [False, True])
def test_admin_cannot_delete_or_change_rows_over_http(admin_client_doppel, admin_user, superuser):
    from knox.models import AuthToken

    admin_user.is_superuser = superuser
    admin_user.save()
    item = ReviewItemFactory()
    decision = Decision.objects.create(review_item=item, asset=item.asset, candidate=item.best_candidate,
                                       action="skip", actor=admin_user)
    job = Job.objects.create(kind=Job.Kind.INVENTORY, source=item.asset.source)
    token, _ = AuthToken.objects.create(user=admin_user)
    curator = get_user_model().objects.create_user("someone", password="pw-someone-long")
    for model, obj in ((Decision, decision), (Job, job), (AuthToken, token), (get_user_model(), curator)):
        label = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert admin_client_doppel.post(reverse(f"{label}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        admin_client_doppel.post(reverse(f"{label}_changelist"),
                                 {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
        assert model.objects.filter(pk=obj.pk).exists(), label
    r = admin_client_doppel.post(reverse("admin:reviewapp_decision_change", args=[decision.pk]), {"action": "approve_delete"})
    assert r.status_code == 403
    r = admin_client_doppel.post(reverse("admin:reviewapp_job_change", args=[job.pk]), {"state": "done"})
    assert r.status_code == 403
    decision.refresh_from_db()
    job.refresh_from_db()
    assert decision.action == "skip" and job.state == Job.State.QUEUED

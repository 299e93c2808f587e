import pytest
from django.urls import reverse

from reviewapp.models import Decision
from reviewapp.services.review import review_lease_next
from tests.factories import CandidateFactory, ReviewItemFactory


@pytest.mark.django_db
def test_nul_in_a_form_post_is_a_400_and_records_nothing(curator_client, curator):
    item = ReviewItemFactory(best_candidate=CandidateFactory())
    assert review_lease_next(actor=curator) == item
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "log_error", "category": "other", "note": "bad\x00note"})
    assert r.status_code == 400
    assert not Decision.objects.exists()
    r = curator_client.post(reverse("review-decide", args=[item.pk]), {"action": "log_error", "category": "other", "note": "fine"})
    assert r.status_code == 302
    assert Decision.objects.get().note == "fine"


@pytest.mark.django_db
def test_nul_in_a_query_string_is_a_400(curator_client):
    assert curator_client.get(reverse("source-list") + "?q=a%00b").status_code == 400
    assert curator_client.get(reverse("source-list") + "?q=ab").status_code == 200


@pytest.mark.django_db
def test_the_api_gets_its_json_error_shape(admin_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(admin_user)
    r = api.get("/api/v1/assets/?name=a%00b")
    assert r.status_code == 400
    assert r["Content-Type"] == "application/json"
    assert r.json() == {"detail": "NUL characters are not allowed in requests", "code": "nul_character"}


@pytest.mark.django_db
def test_too_many_fields_is_a_clear_400_in_the_ui_and_json_in_the_api(curator_client, curator, settings):
    """Django's field-count limit, met in a query string or a form: 400 with the reason (a 500
    before: the middleware met it first, and the debug page read request.GET again)."""
    many = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5))
    r = curator_client.get(reverse("review-home") + "?" + many)
    assert r.status_code == 400 and b"too many fields" in r.content
    from tests.conftest import api_client_for

    api = api_client_for(curator)
    r = api.get("/api/v1/review/?" + many)
    assert r.status_code == 400 and r.json()["code"] == "too_many_fields"
    r = api.post("/api/v1/decisions/", many, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and r.json()["code"] == "too_many_fields"
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_a_413(curator, settings):
    from tests.conftest import api_client_for

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    api = api_client_for(curator)
    r = api.post("/api/v1/decisions/", '{"note": "' + "x" * 20_000 + '"}', content_type="application/json")
    assert r.status_code == 413 and r.json()["code"] == "request_too_large"
    r = api.post("/api/v1/decisions/", '{"note": "short"}', content_type="application/json")
    assert r.status_code == 400  # under the limit: read, and refused for its missing fields

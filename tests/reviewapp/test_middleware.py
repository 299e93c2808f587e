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

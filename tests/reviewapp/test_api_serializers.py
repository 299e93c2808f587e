"""API input serializers: ids from JSON bodies are whole numbers or a 400, never another row."""
from __future__ import annotations

import inspect

import pytest
from rest_framework import relations, serializers

from reviewapp.api import extracts as extract_serializers, serializers as s
from reviewapp.models import Decision
from tests.factories import CandidateFactory, ReviewItemFactory

pytestmark = pytest.mark.django_db


def _input_serializers():
    for module in (s, extract_serializers):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.Serializer) and cls.__module__ == module.__name__:
                yield name, cls


def test_every_id_field_of_the_api_refuses_fractions():
    plain = []
    for name, cls in _input_serializers():
        for field_name, field in cls().fields.items():
            inner = field.child_relation if isinstance(field, relations.ManyRelatedField) else field
            if isinstance(inner, relations.PrimaryKeyRelatedField) and not inner.read_only:
                if not isinstance(inner, s.IdField):
                    plain.append(f"{name}.{field_name}")
    assert plain == []


@pytest.mark.parametrize("bad", [1.5, "1.5", 1.0, "1.0", True, "１", "-1", 0, 2**64, [1], {"id": 1}])
def test_an_id_that_is_not_a_whole_number_is_not_a_valid_id(bad):
    ReviewItemFactory()
    data = s.DecisionCreateSerializer(data={"item": bad, "action": "skip"})
    assert not data.is_valid()
    assert "not a valid id" in str(data.errors["item"][0])


def test_a_digit_string_and_an_integer_still_work():
    item = ReviewItemFactory()
    for good in (item.pk, str(item.pk)):
        data = s.DecisionCreateSerializer(data={"item": good, "action": "skip"})
        assert data.is_valid(), data.errors
        assert data.validated_data["item"] == item


def test_a_fractional_item_id_over_http_is_a_400_and_records_nothing(curator_api):
    first = ReviewItemFactory()
    ReviewItemFactory()
    r = curator_api.post("/api/v1/decisions/", {"item": first.pk + 0.5, "action": "not_duplicate"}, format="json")
    assert r.status_code == 400, r.content
    body = r.json()
    assert "not a valid id" in body["detail"] and "item" in body["errors"]
    assert Decision.objects.count() == 0


def test_a_fractional_id_in_a_list_or_a_query_is_a_400(curator_api, admin_api):
    item = ReviewItemFactory(best_candidate=CandidateFactory())
    r = curator_api.post(f"/api/v1/review/{item.pk}/choose-candidate/", {"candidate": f"{item.best_candidate.pk}.5"},
                         format="json")
    assert r.status_code == 400 and "not a valid id" in r.json()["detail"], r.content
    r = admin_api.post("/api/v1/takedown/", {"assets": [item.asset.pk, item.asset.pk + 0.5],
                                             "reason": "a written legal reason"}, format="json")
    assert r.status_code == 400 and "not a valid id" in r.json()["detail"], r.content
    r = admin_api.get("/api/v1/review/bulk-sample/", {"source": "1.5", "max_diff": 0.1, "max_local": 0.1})
    assert r.status_code == 400 and "not a valid id" in r.json()["detail"], r.content


def test_a_row_of_the_wrong_kind_is_named_for_what_it_is_not_called_missing(curator, admin_api):
    """A log_error decision given to plan a deletion exists: the answer says it is not an approval
    (before: 'Invalid pk - object does not exist'); an id that is nowhere still says so."""
    from reviewapp.services.review import decision_record

    item = ReviewItemFactory(best_candidate=CandidateFactory())
    logged = decision_record(actor=curator, item=item, action="log_error", error_category="other", note="n")
    r = admin_api.post("/api/v1/deletion-plans/", {"decisions": [logged.pk]}, format="json")
    assert r.status_code == 400
    assert f"decision {logged.pk} is not an approved deletion" in r.json()["detail"]
    r = admin_api.post("/api/v1/deletion-plans/", {"decisions": [logged.pk + 1000]}, format="json")
    assert r.status_code == 400 and "does not exist" in r.json()["detail"]
    cleanup = item.asset.source
    r = admin_api.get("/api/v1/review/bulk-sample/", {"source": item.best_candidate.match_asset.source_id,
                                                      "max_diff": 0.1, "max_local": 0.1})
    assert r.status_code == 400 and "is not a clean-up source" in r.json()["detail"], r.content
    assert admin_api.get("/api/v1/review/bulk-sample/", {"source": cleanup.pk, "max_diff": 0.1,
                                                         "max_local": 0.1}).status_code == 200

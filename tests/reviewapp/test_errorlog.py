"""Error log: curators log problems (through a decision, or directly), admins filter and export;
undo withdraws the entry instead of deleting it."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from reviewapp.models import ErrorLogEntry, Source
from reviewapp.selectors.errorlog import error_log_list
from reviewapp.services.errorlog import error_log_add, error_log_withdraw
from reviewapp.services.review import decision_record, decision_undo
from tests.factories import AssetFactory, ReviewItemFactory, SourceFactory, UserFactory


@pytest.fixture
def cur(db):
    return UserFactory(role="curator", username="cur")


def test_add_validates_category_and_is_idempotent_per_decision(cur):
    item = ReviewItemFactory()
    with pytest.raises(ValidationError):
        error_log_add(actor=cur, asset=item.asset, category="nonsense")
    d = decision_record(actor=cur, item=item, action="log_error", error_category="wrong_id", note="ID is C12 not C21")
    entry = ErrorLogEntry.objects.get(decision=d)
    assert (entry.category, entry.note, entry.created_by) == ("wrong_id", "ID is C12 not C21", cur)
    assert entry.match_asset == item.best_candidate.match_asset
    again = error_log_add(actor=cur, asset=item.asset, category="wrong_id", decision=d)
    assert again.pk == entry.pk and ErrorLogEntry.objects.count() == 1


def test_undo_withdraws_but_keeps_the_entry(cur):
    item = ReviewItemFactory()
    d = decision_record(actor=cur, item=item, action="log_error", error_category="canonical_corrupt")
    decision_undo(actor=cur, decision=d)
    entry = ErrorLogEntry.objects.get(decision=d)
    assert entry.withdrawn is True
    assert not error_log_list().filter(pk=entry.pk).exists()
    assert error_log_list(include_withdrawn=True).filter(pk=entry.pk).exists()
    assert error_log_withdraw(actor=cur, decision=d).withdrawn  # a retry is harmless


def test_filters_by_category_source_curator_and_date(cur):
    other = UserFactory(role="curator", username="other")
    s1, s2 = SourceFactory(name="s-one"), SourceFactory(name="s-two")
    a = error_log_add(actor=cur, asset=AssetFactory(source=s1), category="wrong_id")
    b = error_log_add(actor=other, asset=AssetFactory(source=s2), category="cleanup_corrupt")
    c = error_log_add(actor=cur, asset=AssetFactory(source=s2), category="wrong_id")
    ErrorLogEntry.objects.filter(pk=c.pk).update(created_at=timezone.now() - timedelta(days=10))
    ids = lambda qs: set(qs.values_list("pk", flat=True))  # noqa: E731
    assert ids(error_log_list(category="wrong_id")) == {a.pk, c.pk}
    assert ids(error_log_list(source=s2)) == {b.pk, c.pk}
    assert ids(error_log_list(curator=other)) == {b.pk}
    assert ids(error_log_list(date_from=(timezone.now() - timedelta(days=2)).date())) == {a.pk, b.pk}
    assert ids(error_log_list(date_to=(timezone.now() - timedelta(days=5)).date())) == {c.pk}


def test_curators_read_the_list_page_but_only_admins_export(client, cur):
    admin = UserFactory(role="admin", username="boss")
    s1 = SourceFactory(name="s-one")
    error_log_add(actor=cur, asset=AssetFactory(source=s1, key="box/C0001.tif"), category="wrong_id", note="see label")
    error_log_add(actor=cur, asset=AssetFactory(key="box/C0002.tif"), category="other")
    client.force_login(cur)
    r = client.get(reverse("errorlog-list"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "box/C0001.tif" in body and "box/C0002.tif" in body and "Export XLSX" not in body
    assert 'href="/errors/"' in body  # in the curator's navigation
    assert client.get(reverse("errorlog-list"), {"format": "xlsx"}).status_code == 403
    assert client.get(reverse("errorlog-list"), {"format": "csv"}).status_code == 403
    client.force_login(admin)
    assert "Export XLSX" in client.get(reverse("errorlog-list")).content.decode()
    r = client.get(reverse("errorlog-list"), {"category": "wrong_id"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "box/C0001.tif" in body and "box/C0002.tif" not in body and "see label" in body
    r = client.get(reverse("errorlog-list"), {"date_from": "not-a-date"})
    assert r.status_code == 200  # a bad filter is a form error, never a 500


def test_source_role_does_not_matter_for_logging(cur):
    canon = SourceFactory(role=Source.Role.CANONICAL)
    e = error_log_add(actor=cur, asset=AssetFactory(source=canon), category="canonical_corrupt", note="banding")
    assert e.asset.source.is_canonical

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewapp.models import IdempotencyRecord
from reviewapp.services.idempotency import idempotency_records_expire
from reviewapp.tasks.maintenance import idempotency_expire


@pytest.mark.django_db
def test_old_finished_records_expire_but_running_and_recent_ones_stay(curator, settings):
    settings.IDEMPOTENCY_HOURS = 24
    old = IdempotencyRecord.objects.create(user=curator, key="old", method="POST", path="/x", request_hash="h", status=201)
    running = IdempotencyRecord.objects.create(user=curator, key="running", method="POST", path="/x", request_hash="h", status=0)
    recent = IdempotencyRecord.objects.create(user=curator, key="recent", method="POST", path="/x", request_hash="h", status=201)
    IdempotencyRecord.objects.filter(pk__in=[old.pk, running.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_records_expire() == 1
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"running", "recent"}
    assert idempotency_expire.delay().get() == 0  # the beat task runs the same service
    assert IdempotencyRecord.objects.filter(pk=recent.pk).exists()


# --- what is stored: a fixed-length digest of user and key -------------------------------------

from reviewapp import models as m  # noqa: E402
from reviewapp.services.idempotency import DIGEST_LENGTH, idempotency_key_digest  # noqa: E402
from tests.conftest import api_client_for  # noqa: E402
from tests.factories import ReviewItemFactory, UserFactory  # noqa: E402

LONGEST = "~" * 200  # the longest key the API accepts (1-200 printable ASCII characters)


def test_digest_is_fixed_length_and_depends_on_channel_user_and_key(curator, admin_user):
    d = idempotency_key_digest(user=curator, key=LONGEST, channel="api")
    assert len(d) == DIGEST_LENGTH == len(idempotency_key_digest(user=curator, key="k", channel="ui"))
    assert d != idempotency_key_digest(user=admin_user, key=LONGEST, channel="api")
    assert d != idempotency_key_digest(user=curator, key=LONGEST, channel="ui")
    assert d != idempotency_key_digest(user=curator, key=LONGEST[:-1], channel="api")
    assert idempotency_key_digest(user=curator, key="", channel="api") is None


@pytest.mark.django_db
def test_longest_api_key_is_stored_as_a_digest_and_replays(curator, admin_user):
    """A valid 200-character key used to become a 500 on PostgreSQL (the stored key had a prefix
    and the columns are 200 long); every column that holds a key now gets 64 characters."""
    item = ReviewItemFactory()
    api = api_client_for(curator)
    body = {"item": item.pk, "action": "approve_delete"}
    first = api.post("/api/v1/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY=LONGEST)
    again = api.post("/api/v1/decisions/", body, format="json", HTTP_IDEMPOTENCY_KEY=LONGEST)
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true" and m.Decision.objects.count() == 1
    decision = m.Decision.objects.get()
    assert decision.idempotency_key == idempotency_key_digest(user=curator, key=LONGEST, channel="api")
    record = m.IdempotencyRecord.objects.get()
    assert len(record.key) == DIGEST_LENGTH and LONGEST not in record.key
    # jobs and deletion plans take the same key from admins
    admin = api_client_for(admin_user)
    src = item.asset.source
    r = admin.post("/api/v1/jobs/analysis/", {"source": src.pk}, format="json", HTTP_IDEMPOTENCY_KEY=LONGEST)
    assert r.status_code in (201, 202), r.content
    assert len(m.Job.objects.get(pk=r.json()["id"]).idempotency_key) == DIGEST_LENGTH
    r = admin.post("/api/v1/deletion-plans/", {"source": src.pk}, format="json", HTTP_IDEMPOTENCY_KEY=LONGEST)
    assert r.status_code < 500, r.content


@pytest.mark.django_db
def test_ui_form_key_of_any_length_is_stored_as_a_digest(client, curator):
    item = ReviewItemFactory()
    client.force_login(curator)
    key = "k" * 5000
    url = f"/review/{item.pk}/decide/"
    for _ in range(2):  # a re-sent form decides once
        r = client.post(url, {"action": "not_duplicate", "idempotency_key": key})
        assert r.status_code == 302
    d = m.Decision.objects.get()
    assert d.idempotency_key == idempotency_key_digest(user=curator, key=key, channel="ui")
    # another curator re-using the same form key is a fresh request, not a clash
    other = UserFactory(role="curator", username="cur-b")
    client.force_login(other)
    item2 = ReviewItemFactory()
    client.post(f"/review/{item2.pk}/decide/", {"action": "not_duplicate", "idempotency_key": key})
    assert m.Decision.objects.filter(actor=other).count() == 1

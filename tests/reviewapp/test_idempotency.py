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

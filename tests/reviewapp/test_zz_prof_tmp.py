import time, tracemalloc
from django.urls import reverse
from reviewapp.models import Asset, ErrorLogEntry
from tests.factories import SourceFactory, UserFactory

def test_prof(client, db):
    admin = UserFactory(role="admin", username="boss")
    source = SourceFactory(name="bulk")
    Asset.objects.bulk_create([Asset(source=source, key=f"b/C{i:06d}.tif", name=f"C{i:06d}.tif") for i in range(5000)], batch_size=5000)
    ids = list(Asset.objects.filter(source=source).values_list("pk", flat=True))
    ErrorLogEntry.objects.bulk_create([ErrorLogEntry(asset_id=pk, category="other", created_by=admin) for pk in ids], batch_size=5000)
    client.force_login(admin)
    for tm in (False, True):
        if tm: tracemalloc.start()
        t0=time.time()
        r = client.get(reverse("errorlog-list"), {"format": "xlsx"}); n=sum(len(c) for c in r.streaming_content)
        print(tm, "xlsx", time.time()-t0, n, tracemalloc.get_traced_memory() if tm else "")
        if tm: tracemalloc.stop()

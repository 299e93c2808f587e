import pytest
from django.core.exceptions import ValidationError

from reviewapp.models import Source
from reviewapp.services.sources import source_add


@pytest.mark.django_db
def test_local_source_must_be_under_allowed_root(local_root, tmp_path, admin_user):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(ValidationError, match="not under an allowed root"):
        source_add(actor=admin_user, name="x", kind="local", role="cleanup", root=str(outside))


@pytest.mark.django_db
def test_overlapping_local_sources_refused(local_root, admin_user):
    (local_root / "a" / "b").mkdir(parents=True)
    source_add(actor=admin_user, name="a", kind="local", role="canonical", root=str(local_root / "a"))
    with pytest.raises(ValidationError, match="overlaps"):
        source_add(actor=admin_user, name="b", kind="local", role="cleanup", root=str(local_root / "a" / "b"))
    with pytest.raises(ValidationError, match="overlaps"):
        source_add(actor=admin_user, name="c", kind="local", role="cleanup", root=str(local_root / "a"))
    assert Source.objects.count() == 1


@pytest.mark.django_db
def test_s3_source_needs_known_profile_and_no_overlap(settings, admin_user):
    settings.S3_PROFILES = {"aws": {"region_name": "eu-west-1"}}
    with pytest.raises(ValidationError, match="unknown storage profile"):
        source_add(actor=admin_user, name="x", kind="s3", role="cleanup", storage_profile="nope", bucket="bucket-a")
    with pytest.raises(ValidationError, match="not a valid bucket"):
        source_add(actor=admin_user, name="x", kind="s3", role="cleanup", storage_profile="aws", bucket="Bad_Bucket")
    source_add(actor=admin_user, name="legacy", kind="s3", role="cleanup", storage_profile="aws", bucket="bucket-a", prefix="legacy")
    with pytest.raises(ValidationError, match="overlaps"):
        source_add(actor=admin_user, name="sub", kind="s3", role="canonical", storage_profile="aws", bucket="bucket-a", prefix="legacy/sub/")
    s = source_add(actor=admin_user, name="other", kind="s3", role="canonical", storage_profile="aws", bucket="bucket-a", prefix="legacy2")
    assert s.prefix == "legacy2/"


@pytest.mark.django_db
def test_source_names_are_unique_whatever_their_case(local_root, admin_user):
    """"attack" and "ATTACK" were two sources: pages, audit rows and commands name sources by name."""
    from django.db import IntegrityError, transaction

    for d in ("a", "b"):
        (local_root / d).mkdir()
    source_add(actor=admin_user, name="attack", kind="local", role="cleanup", root=str(local_root / "a"))
    with pytest.raises(ValidationError, match=r"a source named 'attack' already exists \(names are compared regardless of case\)"):
        source_add(actor=admin_user, name="ATTACK", kind="local", role="cleanup", root=str(local_root / "b"))
    with pytest.raises(IntegrityError), transaction.atomic():   # the database refuses it too, whoever writes
        Source.objects.create(name="Attack", kind="local", role="cleanup", root=str(local_root / "b"))
    assert list(Source.objects.values_list("name", flat=True)) == ["attack"]


@pytest.mark.django_db
def test_no_source_can_be_registered_over_the_ingest_or_an_extract_location(local_root, s3_bucket, admin_user, settings):
    """An attack registered a canonical source over the ingest drop folder: the reingest checker then
    "verified" a copy only Doppel had put there, never ingested, and the clean-up copy could be deleted."""
    (local_root / "ingest" / "3").mkdir(parents=True)
    (local_root / "elsewhere").mkdir()
    settings.INGEST_LOCATION = f"local:{local_root / 'ingest'}"
    settings.EXTRACT_LOCATIONS = {"default": f"s3:moto:{s3_bucket}/extracts"}
    for root in (local_root / "ingest", local_root / "ingest" / "3"):
        with pytest.raises(ValidationError, match="overlaps the ingest location \\(DOPPEL_INGEST_LOCATION\\)"):
            source_add(actor=admin_user, name="drop", kind="local", role="canonical", root=str(root))
    with pytest.raises(ValidationError, match="overlaps the extract location 'default'"):
        source_add(actor=admin_user, name="ex", kind="s3", role="cleanup", storage_profile="moto", bucket=s3_bucket,
                   prefix="extracts/extract-3")
    assert source_add(actor=admin_user, name="fine", kind="local", role="canonical", root=str(local_root / "elsewhere"))
    assert source_add(actor=admin_user, name="beside", kind="s3", role="cleanup", storage_profile="moto",
                      bucket=s3_bucket, prefix="legacy")
    assert set(Source.objects.values_list("name", flat=True)) == {"fine", "beside"}

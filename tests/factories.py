"""factory_boy factories for the domain. Passwords are predictable for browser tests:
`pw-<username>`."""
import factory
from django.contrib.auth import get_user_model

from reviewapp import models as m
from reviewapp.roles import add_to_role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or f"pw-{self.username}")
        if create:
            self.save()

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            add_to_role(self, extracted)


class SourceFactory(factory.django.DjangoModelFactory):
    """A local source row; pass root= a directory under the `local_root` fixture for real files."""

    class Meta:
        model = m.Source

    name = factory.Sequence(lambda n: f"source-{n}")
    kind = m.Source.Kind.LOCAL
    role = m.Source.Role.CLEANUP
    root = factory.Sequence(lambda n: f"/nonexistent/doppel-test/{n}")


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Asset

    source = factory.SubFactory(SourceFactory)
    key = factory.Sequence(lambda n: f"IMG_{n:04d}.jpg")
    name = factory.LazyAttribute(lambda a: a.key.rsplit("/", 1)[-1])
    size = 1000
    etag = factory.Sequence(lambda n: f"etag{n}")
    state = m.Asset.State.FINGERPRINTED
    format = "JPEG"
    width = 640
    height = 480
    pages = 1
    bit_depth = 8
    decode_status = m.Asset.DecodeStatus.OK


class CandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Candidate

    cleanup_asset = factory.SubFactory(AssetFactory)
    match_asset = factory.SubFactory(AssetFactory, source=factory.SubFactory(SourceFactory, role=m.Source.Role.CANONICAL))
    found_by = "content"
    diff_score = 0.01
    local_score = 0.02
    verdict = m.Verdict.DUPLICATE
    safe_to_delete = True
    engine_version = "test-engine"
    cleanup_etag = factory.LazyAttribute(lambda c: c.cleanup_asset.etag)
    match_etag = factory.LazyAttribute(lambda c: c.match_asset.etag)


class ReviewItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ReviewItem

    best_candidate = factory.SubFactory(CandidateFactory)
    asset = factory.LazyAttribute(lambda r: r.best_candidate.cleanup_asset)
    verdict = factory.LazyAttribute(lambda r: r.best_candidate.verdict)
    diff_score = factory.LazyAttribute(lambda r: r.best_candidate.diff_score)
    local_score = factory.LazyAttribute(lambda r: r.best_candidate.local_score)


def checked_plan(**kwargs):
    """A deletion plan as a committed request leaves it once its worker has run: the dry run's
    task (eager Celery in tests) runs when the plan commits, so the plan can be confirmed.
    Takes deletion_plan_create's arguments."""
    from django.test import TestCase

    from reviewapp.services.deletion import deletion_plan_create

    with TestCase.captureOnCommitCallbacks(execute=True):
        plan = deletion_plan_create(**kwargs)
    plan.refresh_from_db()
    return plan

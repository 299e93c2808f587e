"""schemathesis against the API's own OpenAPI schema, through the WSGI app, as an admin with
seeded data: a bounded number of generated requests per operation must produce no server error,
no undocumented status code and no response that breaks the schema."""
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reviewapp import models as m
from tests.factories import (
    AssetFactory,
    CandidateFactory,
    ReviewItemFactory,
    SourceFactory,
)
from tests.images import photo, save

MAX_EXAMPLES = 10  # per operation: ~500 requests in all, about a minute on an idle machine


def seed(admin, curator, root):
    """A little of everything so ids in generated requests sometimes hit real rows."""
    canonical_dir, cleanup_dir = root / "canonical", root / "cleanup"
    save(photo("coffee", size=(96, 64)), canonical_dir / "C001.jpg")
    save(photo("coffee", size=(96, 64)), cleanup_dir / "C001.jpg")
    canonical = SourceFactory(name="canon", role=m.Source.Role.CANONICAL, root=str(canonical_dir))
    cleanup = SourceFactory(name="clean", role=m.Source.Role.CLEANUP, root=str(cleanup_dir))
    items = []
    for i in range(3):
        cand = CandidateFactory(cleanup_asset=AssetFactory(source=cleanup, key=f"C00{i}.jpg"),
                                match_asset=AssetFactory(source=canonical, key=f"C00{i}.jpg"))
        items.append(ReviewItemFactory(best_candidate=cand))
    nl = m.NameList.objects.create(source=cleanup, title="box 1", requested=2, found=1, not_found=1)
    m.NameListEntry.objects.create(namelist=nl, line=1, raw="C001", normalised="c001", status="found", match_count=1)
    m.NameListEntry.objects.create(namelist=nl, line=2, raw="=X9", normalised="x9", status="not_found")
    job = m.Job.objects.create(kind=m.Job.Kind.ANALYSE, source=cleanup, requested=10, processed=3, created_by=admin)
    d = m.Decision.objects.create(review_item=items[0], asset=items[0].asset, candidate=items[0].best_candidate,
                                  action=m.Decision.Action.LOG_ERROR, actor=curator)
    m.ErrorLogEntry.objects.create(asset=items[0].asset, category="wrong_id", note="=SUM(A1)", created_by=curator,
                                   decision=d)
    m.ReingestItem.objects.create(asset=items[1].asset, reason="more pixels", created_by=curator)
    plan = m.DeletionPlan.objects.create(created_by=admin, source=cleanup)
    item = m.DeletionItem.objects.create(plan=plan, decision=d, asset=items[2].asset,
                                         kept_asset=items[2].best_candidate.match_asset,
                                         etag_at_decision="e1", kept_etag_at_decision="e2", size=10)
    m.AuditEntry.objects.create(action="quarantine", item=item, source_name="clean", key=item.asset.key)
    return job


def _load_schema():
    """The schema as the running app serves it (drf-spectacular, generated from the code)."""
    import json

    from django.core.wsgi import get_wsgi_application
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.utils.encoders import JSONEncoder

    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=JSONEncoder))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


SCHEMA = _load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def admin_token(db, admin_user, curator, local_root):
    from django.core.cache import cache
    from knox.models import AuthToken

    cache.clear()
    seed(admin_user, curator, local_root)
    # Like Django's test client: the WSGI app must not close the test's DB connection (and with
    # it the test transaction) at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield AuthToken.objects.create(user=admin_user)[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_is_fuzzed():
    assert len(OPERATIONS) > 40


@pytest.mark.django_db
def test_fuzzing_runs_on_postgresql_under_ci():
    """Column lengths, NUL bytes and integer ranges are only enforced by PostgreSQL: under CI the
    fuzzing must run there (locally it may run on SQLite)."""
    from django.db import connection

    from tests.conftest import require_postgresql

    require_postgresql(connection, "schemathesis finds what only PostgreSQL refuses")


ROW_MODELS = {
    "sources": m.Source, "namelists": m.NameList, "jobs": m.Job, "assets": m.Asset, "candidates": m.Candidate,
    "review": m.ReviewItem, "decisions": m.Decision, "error-log": m.ErrorLogEntry, "reingest": m.ReingestItem,
    "deletion-plans": m.DeletionPlan, "deletion-items": m.DeletionItem, "audit": m.AuditEntry,
}


def _with_real_ids(operation):
    """Half the generated requests address a seeded row, so detail endpoints and actions run
    their real code paths and not only the 404."""
    model = ROW_MODELS.get(operation.path.split("/")[3])
    strategy = operation.as_strategy()
    if model is None or "{id}" not in operation.path:
        return strategy
    ids = list(model.objects.values_list("pk", flat=True)) or [1]

    def swap(args):
        case, use_real, pick = args
        if use_real:
            case.path_parameters = {**(case.path_parameters or {}), "id": ids[pick % len(ids)]}
        return case

    return st.tuples(strategy, st.booleans(), st.integers(0, 100)).map(swap)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_conforms_to_its_schema(operation, admin_token):
    headers = {"Authorization": f"Token {admin_token}"}

    @given(case=_with_real_ids(operation))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        )

    check()

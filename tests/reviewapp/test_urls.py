"""Every UI route, hit the way a confused user or a scanner would: unknown ids, junk query
strings, empty and junk POSTs. Whatever the answer, it is never a server error."""
import pytest
from django.urls import get_resolver, reverse

from reviewapp.views import urls as ui_urls
from tests.factories import CandidateFactory, ReviewItemFactory

JUNK_QUERIES = [
    "",
    "?page=-1&state=nope&format=%00&q=%27%22<script>",
    "?verdict=bogus&band=zz&source=abc&job=-5&namelist=9999999&max_diff=NaN&max_local=inf",
    "?page=999999&category=x&since=not-a-date&curator=zz&export=xlsx",
]
JUNK_POSTS = [{}, {"action": "explode", "kind": "../../etc", "source": "x", "namelist": "-1", "note": "\x00"}]


def _routes():
    for pattern in ui_urls.urlpatterns:
        yield pattern.name, str(pattern.pattern)


def _url(name, route, pk):
    kwargs = {}
    if "<int:pk>" in route:
        kwargs["pk"] = pk
    if "<slug:kind>" in route:
        kwargs["kind"] = "nonsense"
    if "<slug:action>" in route:
        kwargs["action"] = "nonsense"
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def some_rows(db):
    item = ReviewItemFactory(best_candidate=CandidateFactory())
    return item


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "curator", "admin"])
def test_no_route_answers_with_a_server_error(client, curator, admin_user, some_rows, who):
    if who == "curator":
        client.force_login(curator)
    elif who == "admin":
        client.force_login(admin_user)
    client.raise_request_exception = False
    failures = []
    for name, route in _routes():
        for pk in (some_rows.pk, 987654):
            url = _url(name, route, pk)
            for q in JUNK_QUERIES:
                r = client.get(url + q)
                if r.status_code >= 500:
                    failures.append(f"GET {url}{q} -> {r.status_code}")
            for data in JUNK_POSTS:
                r = client.post(url, data)
                if r.status_code >= 500:
                    failures.append(f"POST {url} {data} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_every_ui_route_is_covered_by_this_module():
    names = {p.name for p in ui_urls.urlpatterns}
    assert names and all(names), "every UI route has a name this test can reverse"
    assert "review-item" in names and "deletion-plan-action" in names
    assert get_resolver()  # the URLconf loads

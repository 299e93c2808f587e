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
    # numbers past bigint and strings past every column (PostgreSQL refuses what SQLite stores)
    "?source=99999999999999999999&job=99999999999999999999&namelist=-99999999999999999999&q=" + "x" * 3000,
    # digits to str.isdigit that int() refuses (a superscript two) or reads as another number
    "?source=%C2%B2&archive=%C2%B2&job=%D9%A3&page=%C2%B2&candidate=%C2%B2",
]
JUNK_POSTS = [{}, {"action": "explode", "kind": "../../etc", "source": "x", "namelist": "-1", "note": "\x00"},
              {"source": "\u00b2", "candidate": "\u00b2", "archive": "\u00b2", "canonical_key": "C0001.tif"},
              # every outside string longer than any column, with an action that would store them
              {"action": "log_error", "category": "c" * 300, "note": "n" * 5000, "idempotency_key": "k" * 5000,
               "title": "t" * 5000, "name": "n" * 300, "root": "/" + "r" * 5000, "prefix": "p" * 5000,
               "bucket": "b" * 300, "storage_profile": "s" * 300, "description": "d" * 10000, "reason": "r" * 10000,
               "keys": "k" * 5000, "canonical_key": "c" * 5000, "key": "k" * 5000, "seed": "s" * 5000,
               "source": "9" * 30, "candidate": "9" * 30, "expected": "9" * 40, "kind": "local", "role": "cleanup"}]


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


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/password_reset/", "/accounts/password_reset/done/",
                                  "/accounts/reset/MQ/set-password/", "/accounts/password_change/"])
def test_no_password_reset_or_change_route_is_offered(client, curator, path):
    """Only sign-in and sign-out: a reset route would send mail to anyone who knows an address,
    unthrottled; admins reset passwords with `manage.py changepassword`."""
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "curator@example.org"}).status_code == 404
    client.force_login(curator)
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_sign_in_and_out_still_work(client, curator):
    assert client.get(reverse("login")).status_code == 200
    client.force_login(curator)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("review-home")).status_code == 302  # signed out: sent to sign in


@pytest.mark.django_db
def test_a_row_named_by_digits_of_another_script_is_refused_not_read_as_a_number(client, admin_user):
    """Django's own choice field reads "٣" (Arabic-Indic three) as 3: the pages took ids the API refuses."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reviewapp.models import Job, NameList
    from tests.factories import SourceFactory

    source = SourceFactory()
    other_script = "".join(chr(0x0660 + int(d)) for d in str(source.pk))
    client.force_login(admin_user)
    client.post(reverse("job-start"), {"kind": "inventory", "source": other_script})
    r = client.post(reverse("namelist-upload"), {"source": other_script, "title": "t",
                                                 "file": SimpleUploadedFile("l.txt", b"C0001234.tif\n")})
    assert r.status_code == 200 and not NameList.objects.exists() and not Job.objects.exists()
    client.post(reverse("job-start"), {"kind": "inventory", "source": str(source.pk)})   # the same id in ASCII works
    assert Job.objects.filter(source=source).count() == 1

"""Request hygiene shared by every view, and how login throttling identifies a client."""
import ipaddress

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpResponse, JsonResponse

from .views.errors import page_not_found

MESSAGE = "NUL characters are not allowed in requests"


class RejectNulCharactersMiddleware:
    """A NUL character is never meaningful in Doppel's input, and PostgreSQL refuses to store
    one: refuse it up front with a 400 instead of letting it surface later as a server error.
    Django forms and DRF serializers already reject it; this covers views that read
    request.GET / request.POST directly. Requests over Django's size and field-count limits are
    refused here too (400 / 413, JSON under /api/), instead of a 500 wherever they are first read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            if "\x00" in request.path or self._has_nul(request.GET):
                return self._refuse(request)
            if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                     "multipart/form-data"):
                if self._has_nul(request.POST):
                    return self._refuse(request)
            elif _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise RequestDataTooBig()
        except (TooManyFieldsSent, TooManyFilesSent) as exc:
            # Django's limits on fields (DATA_UPLOAD_MAX_NUMBER_FIELDS) and files: a clear 400
            # here, before any view (or the debug page, which reads request.GET again) meets them
            return self._refuse(request, f"too many fields in the request: {exc}", "too_many_fields")
        except RequestDataTooBig:
            return self._refuse(request, "the request body is larger than this server accepts "
                                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes)", "request_too_large", status=413)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, message=MESSAGE, code="nul_character", status=400):
        # The API speaks JSON in the same shape as its other errors; the UI gets plain text.
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "code": code}, status=status)
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")

    @staticmethod
    def _has_nul(querydict):
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in querydict.lists())


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class StyledNotFoundMiddleware:
    """A view that raises Http404 (no such file, job or plan) answers the site's styled 404 page
    with DEBUG on as well: Django's debug 404 would list the URL patterns tried, and `make run`
    runs with DEBUG=1. The API never gets here (DRF answers its own 404s as JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's bare 405 (an empty body: the browser's own error page, no title, no way on) is
        # the site's page saying what happened and where to go; the Allow header stays
        if response.status_code == 405 and not request.path.startswith("/api/") and not response.content:
            from django.shortcuts import render

            styled = render(request, "405.html", {"request_path": request.path,
                                                  "allowed": response.get("Allow", "")}, status=405)
            styled["Allow"] = response.get("Allow", "")
            return styled
        return response

    @staticmethod
    def process_exception(request, exception):
        if isinstance(exception, Http404) and not request.path.startswith("/api/"):
            return page_not_found(request, exception)
        return None


def client_ip(request) -> str:
    """The client's address for login throttling: the socket's peer, or, behind DOPPEL_PROXY_COUNT
    trusted proxies, the address the outermost of them saw (read from the right of
    X-Forwarded-For, so a client cannot choose its own address by sending the header)."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR", "")
    count = getattr(settings, "PROXY_COUNT", 0)
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:
        return remote
    try:  # an address column refuses anything else (PostgreSQL inet)
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


def login_username(request, credentials=None) -> str | None:
    """The user name a login attempt is counted against, cut to what its column holds (any
    outside string must fit; real user names are at most 150 characters)."""
    from django.conf import settings

    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    value = (credentials or {}).get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return value[:255] if isinstance(value, str) else value

"""Request hygiene shared by every view."""
from django.http import HttpResponseBadRequest


class RejectNulCharactersMiddleware:
    """A NUL character is never meaningful in Doppel's input, and PostgreSQL refuses to store
    one: refuse it up front with a 400 instead of letting it surface later as a server error.
    Django forms and DRF serializers already reject it; this covers views that read
    request.GET / request.POST directly."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or self._has_nul(request.GET):
            return HttpResponseBadRequest("NUL characters are not allowed in requests")
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if self._has_nul(request.POST):
                return HttpResponseBadRequest("NUL characters are not allowed in requests")
        return self.get_response(request)

    @staticmethod
    def _has_nul(querydict):
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in querydict.lists())

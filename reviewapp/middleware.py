"""Request hygiene shared by every view."""
from django.http import HttpResponseBadRequest, JsonResponse

MESSAGE = "NUL characters are not allowed in requests"


class RejectNulCharactersMiddleware:
    """A NUL character is never meaningful in Doppel's input, and PostgreSQL refuses to store
    one: refuse it up front with a 400 instead of letting it surface later as a server error.
    Django forms and DRF serializers already reject it; this covers views that read
    request.GET / request.POST directly."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or self._has_nul(request.GET):
            return self._refuse(request)
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if self._has_nul(request.POST):
                return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        # The API speaks JSON in the same shape as its other errors; the UI gets plain text.
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": MESSAGE, "code": "nul_character"}, status=400)
        return HttpResponseBadRequest(MESSAGE)

    @staticmethod
    def _has_nul(querydict):
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in querydict.lists())

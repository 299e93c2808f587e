"""Error pages people can act on: 403, 404 and 500 in the site's own layout, saying what happened
and where to go next. Paths under /api/ are never answered here with HTML: the API answers its
own errors as JSON (DRF's handler and the API's catch-all route), and these handlers keep to
that shape if one ever reaches them."""
from django.conf import settings
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, resolve

from ..roles import is_admin, is_curator


def _api(request, status, code, detail):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    return None


def permission_denied(request, exception=None):
    api = _api(request, 403, "permission_denied", "You do not have permission to perform this action.")
    if api:
        return api
    user = request.user
    role = "admin" if is_admin(user) else "curator" if is_curator(user) else None
    return render(request, "403.html", {"role": role, "reason": str(exception or "")}, status=403)


def page_not_found(request, exception=None):
    api = _api(request, 404, "not_found", "Not found.")
    if api:
        return api
    return render(request, "404.html", {"request_path": request.path}, status=404)


def unknown_page(request, *args, **kwargs):
    """The last UI route: every path nothing else matched gets the styled 404, with DEBUG on too.
    Django's debug 404 (which handler404 never replaces while DEBUG is on) lists every URL
    pattern of the site; `make run` runs with DEBUG=1. A response, never a raised Http404 (the
    debug page would list the patterns tried before this one). Since this route matches
    everything, it does what CommonMiddleware's APPEND_SLASH can no longer do: a path that exists
    with a trailing slash is redirected there."""
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not unknown_page:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return page_not_found(request)


def server_error(request):
    """No request context here (it may be what failed): the template needs none."""
    api = _api(request, 500, "server_error", "Server error: the problem has been logged.")
    if api:
        return api
    from django.http import HttpResponseServerError

    return HttpResponseServerError(loader.get_template("500.html").render())

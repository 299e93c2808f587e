"""Error pages people can act on: 403, 404 and 500 in the site's own layout, saying what happened
and where to go next. Paths under /api/ are never answered here with HTML: the API answers its
own errors as JSON (DRF's handler and the API's catch-all route), and these handlers keep to
that shape if one ever reaches them."""
from django.http import JsonResponse
from django.shortcuts import render
from django.template import loader

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


def server_error(request):
    """No request context here (it may be what failed): the template needs none."""
    api = _api(request, 500, "server_error", "Server error: the problem has been logged.")
    if api:
        return api
    from django.http import HttpResponseServerError

    return HttpResponseServerError(loader.get_template("500.html").render())

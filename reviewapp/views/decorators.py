"""Role checks for the UI: curators review, admins manage. A logged-in user without the role gets
a 403 page, an anonymous one the login page."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse

from ..roles import is_admin, is_curator
from ..services.idempotency import idempotency_key_digest


def _role_required(check):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


curator_required = _role_required(is_curator)
admin_required = _role_required(is_admin)


def form_idempotency_key(request):
    """The stored form of a POSTed form's `idempotency_key` (a hidden field the page generates):
    a fixed-length digest of user and key, whatever length the field arrives with."""
    return idempotency_key_digest(user=request.user, key=request.POST.get("idempotency_key") or None, channel="ui")


def post_only(back: str):
    """A view that only a form's POST reaches. A GET there (the login page's `next` after a
    session ran out mid-decision, a bookmark, a reload) changes nothing and goes back to the page
    named `back` (reversed with the view's arguments) saying nothing was recorded, instead of
    Django's bare 405."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return HttpResponseNotAllowed(["POST"])
            messages.warning(request, "Nothing was recorded: that address takes a form's button, not a link. "
                                      "Decide again here.")
            return redirect(reverse(back, args=args, kwargs=kwargs))

        return wrapped

    return decorator

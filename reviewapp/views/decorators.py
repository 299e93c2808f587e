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


# what an admin's action says when it was reached by a GET (see post_only)
NOT_DONE = {"what": "Nothing was done", "again": "Press the button again here if you still want it done."}


def post_only(back: str, keep: tuple[str, ...] | None = None, what: str = "Nothing was recorded",
              again: str = "Decide again here."):
    """A view that only a form's POST reaches. A GET there (the login page's `next` after a
    session ran out mid-action, a bookmark, a reload) changes nothing and goes back to the page
    named `back` (reversed with the view's arguments, or only those named in `keep`) saying
    nothing was done, instead of Django's bare 405."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method not in ("GET", "HEAD"):
                return HttpResponseNotAllowed(["POST"])
            messages.warning(request, f"{what}: that address takes a form's button, not a link. {again}")
            back_kwargs = kwargs if keep is None else {k: v for k, v in kwargs.items() if k in keep}
            return redirect(reverse(back, args=args, kwargs=back_kwargs))

        return wrapped

    return decorator

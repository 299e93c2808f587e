"""The API docs pages, served under the site's Content-Security-Policy.

drf-spectacular's stock templates carry an inline <script> (Swagger UI's start-up, Redoc's
settings), an inline <style>, and Redoc's pulls fonts from Google. These templates load only
drf-spectacular-sidecar's bundles and files from static/: Swagger UI gets its start-up script from
the split view's own `?script` URL; Redoc starts from its <redoc> element. Redoc's styling library
writes <style> elements at run time and runs its search in a blob: worker, so its page alone allows
inline styles and blob: workers (never inline scripts). Redoc's bundle always asks for its footer
logo from cdn.redoc.ly (no option turns it off); the page loads the sidecar's bundle through
`redoc_bundle`, with that one URL replaced by an empty inline image, so nothing is requested from
outside and the browser reports no refused load.
"""
from functools import lru_cache

from csp.constants import UNSAFE_INLINE
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


class ApiSwaggerView(SpectacularSwaggerSplitView):
    template_name = "reviewapp/api/swagger_ui.html"


class ApiRedocView(SpectacularRedocView):
    template_name = "reviewapp/api/redoc.html"

    @extend_schema(exclude=True)  # a page about the API, not part of it
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response._csp_update = {"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]}
        return response


REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    path = finders.find(REDOC_BUNDLE)
    if not path:
        raise Http404("Redoc's bundle is not installed (drf-spectacular-sidecar)")
    with open(path, "rb") as f:
        return f.read().replace(REDOC_LOGO, EMPTY_IMAGE)


def redoc_bundle(request):
    """drf-spectacular-sidecar's Redoc bundle, its outside logo URL replaced (see the module
    docstring). Public like any static file; read once per process."""
    response = HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response

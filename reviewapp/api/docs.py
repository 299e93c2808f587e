"""The API docs pages, served under the site's Content-Security-Policy.

drf-spectacular's stock templates carry an inline <script> (Swagger UI's start-up, Redoc's
settings), an inline <style>, and Redoc's pulls fonts from Google. These templates load only
drf-spectacular-sidecar's bundles and files from static/: Swagger UI gets its start-up script from
the split view's own `?script` URL; Redoc starts from its <redoc> element. Redoc's styling library
writes <style> elements at run time and runs its search in a blob: worker, so its page alone allows
inline styles and blob: workers (never inline scripts). Its footer logo (cdn.redoc.ly) stays refused.
"""
from csp.constants import UNSAFE_INLINE
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

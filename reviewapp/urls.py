from django.contrib import admin
from django.urls import include, path, re_path

from reviewapp.views.errors import unknown_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("reviewapp.api.urls")),
    path("", include("reviewapp.views.urls")),
    # last: any other path gets the styled 404, DEBUG or not (the API has its own JSON catch-all)
    re_path(r"^", unknown_page, name="not-found"),
]

# Styled error pages in the site's layout; /api/ paths keep their JSON errors.
handler403 = "reviewapp.views.errors.permission_denied"
handler404 = "reviewapp.views.errors.page_not_found"
handler500 = "reviewapp.views.errors.server_error"

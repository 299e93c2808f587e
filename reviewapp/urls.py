from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("reviewapp.api.urls")),
    path("", include("reviewapp.views.urls")),
]

# Styled error pages in the site's layout; /api/ paths keep their JSON errors.
handler403 = "reviewapp.views.errors.permission_denied"
handler404 = "reviewapp.views.errors.page_not_found"
handler500 = "reviewapp.views.errors.server_error"

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from reviewapp.views.errors import unknown_page

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign in and out only. Django's password-reset and -change views are not offered: they would
    # be an unthrottled, unstyled way in that sends mail; an admin resets a password with
    # `manage.py changepassword` (README).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("reviewapp.api.urls")),
    path("", include("reviewapp.views.urls")),
    # last: any other path gets the styled 404, DEBUG or not (the API has its own JSON catch-all)
    re_path(r"^", unknown_page, name="not-found"),
]

# Styled error pages in the site's layout; /api/ paths keep their JSON errors.
handler403 = "reviewapp.views.errors.permission_denied"
handler404 = "reviewapp.views.errors.page_not_found"
handler500 = "reviewapp.views.errors.server_error"

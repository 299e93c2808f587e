"""UI routes. Each area keeps its views in its own module."""
from django.urls import path

from . import dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]

"""REST API routes: /api/v1/… (schema at /api/schema/, docs at /api/docs/ and /api/redoc/)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from .catalogue import AssetViewSet, CandidateViewSet
from .execution import (
    AuditViewSet,
    DeletionItemViewSet,
    DeletionPlanViewSet,
    ErrorLogViewSet,
    ReingestViewSet,
    TakedownViewSet,
)
from .extracts import ExtractViewSet, TakedownCopiesViewSet
from .jobs import JobViewSet
from .review import DecisionViewSet, ReviewItemViewSet
from .sources import NameListViewSet, SourceViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("sources", SourceViewSet, basename="api-source")
router.register("namelists", NameListViewSet, basename="api-namelist")
router.register("jobs", JobViewSet, basename="api-job")
router.register("assets", AssetViewSet, basename="api-asset")
router.register("candidates", CandidateViewSet, basename="api-candidate")
router.register("review", ReviewItemViewSet, basename="api-review")
router.register("decisions", DecisionViewSet, basename="api-decision")
router.register("error-log", ErrorLogViewSet, basename="api-errorlog")
router.register("reingest", ReingestViewSet, basename="api-reingest")
router.register("deletion-plans", DeletionPlanViewSet, basename="api-deletionplan")
router.register("deletion-items", DeletionItemViewSet, basename="api-deletionitem")
router.register("audit", AuditViewSet, basename="api-audit")
router.register("takedown/copies", TakedownCopiesViewSet, basename="api-takedown-copies")
router.register("takedown", TakedownViewSet, basename="api-takedown")
router.register("extracts", ExtractViewSet, basename="api-extract")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

"""REST API routes: /api/v1/… (schema at /api/schema/, docs at /api/docs/ and /api/redoc/)."""
from django.http import JsonResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from .catalogue import AssetViewSet, CandidateViewSet
from .docs import ApiRedocView, ApiSwaggerView, redoc_bundle
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



@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Every /api/ path no route matched (an unknown route, an id with a dot, a wrong version):
    the API's JSON error, never Django's HTML 404 page (with DEBUG=1, a page listing every URL)."""
    detail = "Not found."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            detail = f"Not found. API paths end with a slash: {request.path}/"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)


urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", ApiRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    # last: whatever is left under /api/ answers JSON
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]

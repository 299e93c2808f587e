"""The review queue (leases) and decisions."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import models as m
from . import serializers as s
from .base import DoppelViewSet, service
from .filters import DecisionFilter, ReviewItemFilter
from .idempotency import idempotent


def _scoped_key(request):
    """The service-level idempotency key: namespaced by user so two users' keys never collide."""
    key = request.headers.get("Idempotency-Key")
    return f"api:{request.user.pk}:{key}" if key else None


@extend_schema_view(
    list=extend_schema(summary="List review items (one per clean-up file)", tags=["review"]),
    retrieve=extend_schema(summary="One review item with all its candidates", tags=["review"],
                           responses={200: s.ReviewItemDetailSerializer}),
)
class ReviewItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.ReviewItem.objects.select_related("asset__source", "leased_by")
    serializer_class = s.ReviewItemSerializer
    filterset_class = ReviewItemFilter

    def get_serializer_class(self):
        return s.ReviewItemDetailSerializer if self.action == "retrieve" else s.ReviewItemSerializer

    @extend_schema(summary="Claim the next file of a queue (lease)", tags=["review"], request=s.ReviewQueueSerializer,
                   responses={200: s.ReviewItemDetailSerializer,
                              204: OpenApiResponse(description="The queue is empty")},
                   description="Leases the next open file to you for DOPPEL_LEASE_SECONDS; your own unexpired "
                               "lease in this queue comes back first. Decide it with POST /decisions/ or give it "
                               "back with POST /review/{id}/release/.")
    @action(detail=False, methods=["post"], filterset_class=None)
    @idempotent
    def next(self, request):
        data = s.ReviewQueueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = service("services.review", "review_lease_next")(actor=request.user, queue=data.queue())
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.ReviewItemDetailSerializer(item).data)

    @extend_schema(summary="Give a leased file back to the queue", tags=["review"], request=None,
                   responses={200: s.ReviewItemSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def release(self, request, pk=None):
        item = self.get_object()
        item = service("services.review", "review_release")(actor=request.user, item=item)
        return Response(s.ReviewItemSerializer(item).data)


@extend_schema_view(
    list=extend_schema(summary="List decisions (newest first)", tags=["decisions"]),
    retrieve=extend_schema(summary="One decision", tags=["decisions"]),
)
class DecisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.Decision.objects.select_related("actor")
    serializer_class = s.DecisionSerializer
    filterset_class = DecisionFilter

    @extend_schema(summary="Record a decision about a clean-up file", tags=["decisions"],
                   request=s.DecisionCreateSerializer, responses={201: s.DecisionSerializer},
                   description="approve_delete only approves: nothing is deleted until an admin confirms a "
                               "deletion plan. log_error needs error_category. The file must be open or leased to "
                               "you.")
    @idempotent
    def create(self, request):
        data = s.DecisionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        decision = service("services.review", "decision_record")(
            actor=request.user, item=v["item"], action=v["action"], candidate=v.get("candidate"),
            note=v.get("note", ""), error_category=v.get("error_category"), idempotency_key=_scoped_key(request))
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Undo your own decision (before anything ran on it)", tags=["decisions"], request=None,
                   responses={201: s.DecisionSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def undo(self, request, pk=None):
        decision = self.get_object()
        undo = service("services.review", "decision_undo")(actor=request.user, decision=decision,
                                                           idempotency_key=_scoped_key(request))
        return Response(s.DecisionSerializer(undo).data, status=status.HTTP_201_CREATED)

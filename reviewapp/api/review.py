"""The review queue (leases) and decisions."""
from __future__ import annotations

import secrets

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import models as m
from ..selectors.review import bulk_batch, bulk_batch_ids, bulk_sample
from ..services.review import (
    BULK_BATCH_LIMIT,
    bulk_approve,
    bulk_batch_seal,
    bulk_batch_unseal,
    decision_record,
    decision_undo,
    review_choose_candidate,
    review_lease_next,
    review_release,
)
from . import serializers as s
from .base import DoppelViewSet
from .filters import DecisionFilter, ReviewItemFilter
from .idempotency import idempotent, scoped_key
from .permissions import IsDoppelAdmin


@extend_schema_view(
    list=extend_schema(summary="List review items (one per clean-up file)", tags=["review"]),
    retrieve=extend_schema(summary="One review item with all its candidates", tags=["review"],
                           responses={200: s.ReviewItemDetailSerializer}),
)
class ReviewItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, DoppelViewSet):
    queryset = m.ReviewItem.objects.select_related("asset__source", "leased_by")
    serializer_class = s.ReviewItemSerializer
    filterset_class = ReviewItemFilter
    action_permissions = {"bulk_sample": [IsDoppelAdmin], "bulk_approve": [IsDoppelAdmin]}

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
        item = review_lease_next(actor=request.user, queue=data.queue())
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.ReviewItemDetailSerializer(item, context={"request": request}).data)

    @extend_schema(summary="Give a leased file back to the queue", tags=["review"], request=None,
                   responses={200: s.ReviewItemSerializer},
                   description="Only the curator holding the lease can release it; anyone else gets 409.")
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def release(self, request, pk=None):
        item = self.get_object()
        item = review_release(actor=request.user, item=item)
        return Response(s.ReviewItemSerializer(item).data)


    @extend_schema(summary="Make another candidate the file's match", tags=["review"],
                   request=s.ChooseCandidateSerializer, responses={200: s.ReviewItemDetailSerializer})
    @action(detail=True, methods=["post"], url_path="choose-candidate", filterset_class=None)
    @idempotent
    def choose_candidate(self, request, pk=None):
        item = self.get_object()
        data = s.ChooseCandidateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = review_choose_candidate(
            actor=request.user, item=item, candidate=data.validated_data["candidate"])
        return Response(s.ReviewItemDetailSerializer(self.get_queryset().get(pk=item.pk), context={"request": request}).data)

    @extend_schema(summary="Bulk approval, step 1: a random sample of a batch (admin)", tags=["review"],
                   parameters=[s.BulkSampleQuerySerializer], responses={200: s.BulkSampleSerializer}, filters=False)
    @action(detail=False, methods=["get"], url_path="bulk-sample", filterset_class=None, pagination_class=None)
    def bulk_sample(self, request):
        q = s.BulkSampleQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        ids = bulk_batch_ids(bulk_batch(**q.batch_kwargs()))
        seed = q.validated_data.get("seed") or secrets.token_hex(4)
        sample = bulk_sample(ids, n=q.validated_data["n"], seed=seed)
        return Response({"total": len(ids), "seed": seed,
                         "batch": bulk_batch_seal(actor=request.user, ids=ids[:BULK_BATCH_LIMIT]),
                         "sample": s.ReviewItemSerializer(sample, many=True).data})

    @extend_schema(summary="Bulk approval, step 2: approve the whole batch (admin)", tags=["review"],
                   request=s.BulkApproveSerializer, responses={201: s.BulkApproveResultSerializer},
                   description="The batch is selected again now, so a file decided meanwhile is not approved "
                               "twice; one Decision per file (bulk=true), with the same refusals as a single "
                               "approval. Look at a sample first (GET /review/bulk-sample/).")
    @action(detail=False, methods=["post"], url_path="bulk-approve", filterset_class=None)
    @idempotent
    def bulk_approve(self, request):
        data = s.BulkApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sampled = bulk_batch_unseal(actor=request.user, token=data.validated_data["batch"])
        if sampled is None:
            raise ValidationError({"batch": ["not the token of a sample you looked at in the last 24 hours: "
                                             "GET review/bulk-sample/ first"]})
        result = bulk_approve(
            actor=request.user, **data.batch_kwargs(),
            note=data.validated_data["note"] or f"bulk approval (sample seed {data.validated_data['sample_seed']})",
            idempotency_key=scoped_key(request), sampled=sampled)
        return Response({
            "approved": s.DecisionSerializer(result["approved"], many=True).data,
            "refused": [{"item": item.pk, "reason": reason} for item, reason in result["refused"]],
        }, status=status.HTTP_201_CREATED)


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
        decision = decision_record(
            actor=request.user, item=v["item"], action=v["action"], candidate=v.get("candidate"),
            note=v.get("note", ""), error_category=v.get("error_category"), idempotency_key=scoped_key(request))
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Undo your own decision (before anything ran on it)", tags=["decisions"], request=None,
                   responses={201: s.DecisionSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    @idempotent
    def undo(self, request, pk=None):
        decision = self.get_object()
        undo = decision_undo(actor=request.user, decision=decision,
                                                           idempotency_key=scoped_key(request))
        return Response(s.DecisionSerializer(undo).data, status=status.HTTP_201_CREATED)

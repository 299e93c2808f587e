"""Input and output serializers, one pair per operation where they differ. Output serializers
are read-only views of rows; input serializers validate and look ids up (never use them raw)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from matching.verdict import turn_words

from .. import models as m
from ..selectors.deletion import dry_run_progress, plan_would_abort
from ..selectors.jobs import job_progress
from ..selectors.review import candidate_outdated, row_id
from ..services.review import NOTE_MAX, approve_refusal, approve_refusal_for
from ..services.takedown import REASON_MIN_WRITTEN, takedown_reason_validate

# --------------------------------------------------------------------------------------------
# Small references


class IdField(serializers.PrimaryKeyRelatedField):
    """A row id from the client: a JSON integer or a string of ASCII digits, nothing else. The
    plain field hands the value to the database lookup, which truncates 1.5 (and "1.0e0" would be
    a type error), so a float would silently pick another row; here it is a 400."""

    default_error_messages = {"not_an_id": "not a valid id: {value!r} (ids are whole numbers)"}

    def __init__(self, *args, outside=None, **kwargs):
        # `outside`: what to say about a row that exists but is not one this field takes (a
        # log_error decision where approvals are asked for), instead of "does not exist"
        self.outside = outside
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("not_an_id", value=data)
        pk = row_id(data)
        if not pk:   # junk, a number no row can have, or 0
            self.fail("not_an_id", value=data)
        try:
            return super().to_internal_value(pk)
        except serializers.ValidationError:
            model = self.get_queryset().model
            if self.outside and model._default_manager.filter(pk=pk).exists():
                raise serializers.ValidationError(self.outside.format(id=pk)) from None
            raise


class AssetRefSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)

    class Meta:
        model = m.Asset
        fields = ["id", "source", "source_name", "key", "name", "state"]
        read_only_fields = fields


def UsernameField():  # noqa: N802 - reads like a field class where it is used
    return serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)


# --------------------------------------------------------------------------------------------
# Sources and name lists


class SourceSerializer(serializers.ModelSerializer):
    location = serializers.CharField(read_only=True)
    created_by = UsernameField()

    class Meta:
        model = m.Source
        fields = ["id", "name", "kind", "role", "storage_profile", "bucket", "prefix", "root", "location",
                  "versioned", "object_lock", "description", "created_by", "created_at", "last_inventory_at"]
        read_only_fields = fields


class SourceCreateSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=80)
    kind = serializers.ChoiceField(choices=m.Source.Kind.choices)
    role = serializers.ChoiceField(choices=m.Source.Role.choices)
    storage_profile = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                            help_text="S3 only: a profile name from DOPPEL_S3_PROFILES")
    bucket = serializers.CharField(max_length=63, required=False, allow_blank=True, default="")
    prefix = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="")
    root = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="",
                                 help_text="local only: a directory under DOPPEL_LOCAL_ROOTS")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class NameListSerializer(serializers.ModelSerializer):
    uploaded_by = UsernameField()

    class Meta:
        model = m.NameList
        fields = ["id", "source", "title", "original_filename", "uploaded_by", "created_at", "requested", "found",
                  "not_found", "ambiguous", "resolved_at"]
        read_only_fields = fields


class NameListUploadSerializer(serializers.Serializer):
    source = IdField(queryset=m.Source.objects.all())
    title = serializers.CharField(max_length=200)
    file = serializers.FileField(help_text="text or CSV: one name or ID per line (first column)")


# --------------------------------------------------------------------------------------------
# Jobs


class JobProgressSerializer(serializers.Serializer):
    requested = serializers.IntegerField()
    found = serializers.IntegerField()
    processed = serializers.IntegerField()
    failed = serializers.IntegerField()
    bytes_total = serializers.IntegerField()
    bytes_done = serializers.IntegerField()
    rate_per_s = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    created_by = UsernameField()

    class Meta:
        model = m.Job
        fields = ["id", "kind", "state", "source", "namelist", "parent", "params", "requested", "found", "processed",
                  "failed", "bytes_total", "bytes_done", "error", "created_by", "created_at", "started_at",
                  "finished_at", "progress"]
        read_only_fields = fields

    @extend_schema_field(JobProgressSerializer)
    def get_progress(self, job):
        return JobProgressSerializer(job_progress(job)).data


class JobSourceSerializer(serializers.Serializer):
    source = IdField(queryset=m.Source.objects.all())


class JobScopeSerializer(serializers.Serializer):
    """A source, a name list, or both (the name list must belong to the source)."""

    source = IdField(queryset=m.Source.objects.all(), required=False, allow_null=True)
    namelist = IdField(queryset=m.NameList.objects.all(), required=False, allow_null=True)

    def validate(self, attrs):
        source, namelist = attrs.get("source"), attrs.get("namelist")
        if source is None and namelist is None:
            raise serializers.ValidationError("give a source or a name list")
        if source is not None and namelist is not None and namelist.source_id != source.pk:
            raise serializers.ValidationError({"namelist": ["this name list belongs to another source"]})
        return attrs


# --------------------------------------------------------------------------------------------
# Assets and candidates


class AssetSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)

    class Meta:
        model = m.Asset
        fields = ["id", "source", "source_name", "key", "name", "size", "etag", "checksum", "storage_class",
                  "last_modified", "version_id", "state", "format", "width", "height", "pages", "pictures", "bit_depth", "mode", "icc",
                  "decode_status", "decode_error", "ids", "engine_version", "analysed_at", "first_seen_at",
                  "updated_at"]
        read_only_fields = fields


class CandidateSerializer(serializers.ModelSerializer):
    cleanup = AssetRefSerializer(source="cleanup_asset", read_only=True)
    match = AssetRefSerializer(source="match_asset", read_only=True)
    turn = serializers.SerializerMethodField(help_text="rotation and flipped in words, as the file view says them: "
                                                       "rotation is counter-clockwise degrees applied to the kept copy, "
                                                       "e.g. 'turned 90° counter-clockwise', 'mirrored', 'not turned'")

    class Meta:
        model = m.Candidate
        fields = ["id", "cleanup_asset", "match_asset", "cleanup", "match", "found_by", "diff_score", "local_score",
                  "damage_score", "rotation", "flipped", "turn", "corrupt_side", "region", "verdict", "safe_to_delete", "reasons",
                  "engine_version", "thresholds", "rank", "status", "job", "created_at", "outdated"]
        read_only_fields = fields

    outdated = serializers.SerializerMethodField(
        help_text="null while the verdict is current; otherwise why it is outdated (an object changed since the pair was "
                  "compared, or the file's latest comparison left the pair out): its verdict and safe_to_delete then "
                  "describe content that is gone, it cannot be chosen, and approving on it is refused")

    def get_turn(self, cand) -> str:
        return turn_words(cand.rotation, cand.flipped)

    def get_outdated(self, cand) -> str | None:
        review = getattr(cand.cleanup_asset, "review", None) if "review_item" not in self.context else self.context["review_item"]
        return candidate_outdated(cand, asset=cand.cleanup_asset, latest_job_id=review.job_id if review else None)


# --------------------------------------------------------------------------------------------
# Review queue and decisions


class ReviewItemSerializer(serializers.ModelSerializer):
    asset = AssetRefSerializer(read_only=True)
    leased_by = UsernameField()

    class Meta:
        model = m.ReviewItem
        fields = ["id", "asset", "best_candidate", "verdict", "diff_score", "local_score", "damage_score", "status", "leased_by",
                  "lease_expires_at", "job", "decided_at", "last_decision", "created_at"]
        read_only_fields = fields


class ReviewItemDetailSerializer(ReviewItemSerializer):
    candidates = serializers.SerializerMethodField()
    approve_refused = serializers.SerializerMethodField(
        help_text="why your approving deletion on the best candidate would be refused now (the rules the decision "
                  "applies: the file decided, gone or leased by another curator; the kept copy gone or damaged; the "
                  "pair outdated...), or null")

    class Meta(ReviewItemSerializer.Meta):
        fields = ReviewItemSerializer.Meta.fields + ["approve_refused", "candidates"]
        read_only_fields = fields

    def get_approve_refused(self, item) -> str | None:
        request = self.context.get("request")
        if request is None:   # (no one asking: who may act on it is not known, what may be deleted is)
            return approve_refusal(item, item.best_candidate)
        return approve_refusal_for(request.user, item)

    @extend_schema_field(CandidateSerializer(many=True))
    def get_candidates(self, item):
        qs = (m.Candidate.objects.filter(cleanup_asset_id=item.asset_id)
              .select_related("cleanup_asset__source", "match_asset__source").order_by("rank", "id"))
        return CandidateSerializer(qs, many=True, context={**self.context, "review_item": item}).data


class ReviewQueueSerializer(serializers.Serializer):
    """Which queue to take the next file from; all optional (no filter = every open file)."""

    source = IdField(queryset=m.Source.objects.all(), required=False)
    namelist = IdField(queryset=m.NameList.objects.all(), required=False)
    job = IdField(queryset=m.Job.objects.all(), required=False)
    verdict = serializers.ChoiceField(choices=m.Verdict.choices, required=False)
    band = serializers.ChoiceField(
        choices=["0-0.005", "0.005-0.02", "0.02-0.05", "0.05-0.15", "0.15+", "none"], required=False,
        help_text="score band of the best candidate: the higher of diff_score and damage_score")

    def queue(self):
        return {k: (v.pk if hasattr(v, "pk") else v) for k, v in self.validated_data.items()}


class ChooseCandidateSerializer(serializers.Serializer):
    candidate = IdField(queryset=m.Candidate.objects.all(),
                                                   help_text="another candidate of the same file")


class BulkBatchSerializer(serializers.Serializer):
    """A bulk-approval batch: open files whose best candidate is identical/duplicate, marked safe
    to delete, within both score limits."""

    job = IdField(queryset=m.Job.objects.all(), required=False, allow_null=True)
    source = IdField(queryset=m.Source.objects.filter(role=m.Source.Role.CLEANUP),
                     outside="source {id} is not a clean-up source: bulk approval deletes from clean-up sources only",
                     required=False, allow_null=True)
    verdict = serializers.ChoiceField(choices=m.bulk_verdict_choices(), required=False,
                                      allow_null=True, help_text="default: identical or duplicate")
    max_diff = serializers.FloatField(min_value=0, max_value=1, help_text="max diff_score")
    max_local = serializers.FloatField(min_value=0, max_value=1, help_text="max local_score")

    def batch_kwargs(self):
        v = self.validated_data
        return {"job": v["job"].pk if v.get("job") else None, "source": v["source"].pk if v.get("source") else None,
                "verdict": v.get("verdict") or None, "max_diff": v["max_diff"], "max_local": v["max_local"]}


class BulkSampleQuerySerializer(BulkBatchSerializer):
    seed = serializers.CharField(required=False, max_length=64, help_text="repeat a sample; default: a new one")
    n = serializers.IntegerField(required=False, min_value=1, max_value=200, default=20)


class BulkSampleSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="files in the batch")
    seed = serializers.CharField()
    batch = serializers.CharField(help_text="the batch as sampled (signed, at most 5000 files): send it back with "
                                            "bulk-approve")
    sample = ReviewItemSerializer(many=True)


class BulkApproveSerializer(BulkBatchSerializer):
    sample_seed = serializers.CharField(max_length=64, help_text="the seed of the sample you looked at")
    batch = serializers.CharField(
        max_length=200_000,
        help_text="the `batch` token of the sample you looked at: when a file joined the batch since then, "
                  "nothing is approved (409); files decided or leased meanwhile drop out")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


class BulkRefusalSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    reason = serializers.CharField()


class DecisionSerializer(serializers.ModelSerializer):
    actor = UsernameField()

    class Meta:
        model = m.Decision
        fields = ["id", "review_item", "asset", "candidate", "action", "note", "actor", "created_at", "undoes", "bulk"]
        read_only_fields = fields


class BulkApproveResultSerializer(serializers.Serializer):
    approved = DecisionSerializer(many=True)
    refused = BulkRefusalSerializer(many=True)


class DecisionCreateSerializer(serializers.Serializer):
    item = IdField(queryset=m.ReviewItem.objects.all(), help_text="review item id")
    action = serializers.ChoiceField(choices=[c for c in m.Decision.Action.choices if c[0] != m.Decision.Action.UNDO])
    candidate = IdField(queryset=m.Candidate.objects.all(), required=False, allow_null=True,
                                                   help_text="default: the file's best candidate")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)
    error_category = serializers.ChoiceField(choices=m.ErrorLogEntry.Category.choices, required=False, allow_null=True,
                                             help_text="required for log_error")

    def validate(self, attrs):
        candidate, item = attrs.get("candidate"), attrs["item"]
        if candidate is not None and candidate.cleanup_asset_id != item.asset_id:
            raise serializers.ValidationError({"candidate": ["that candidate belongs to another file"]})
        if attrs["action"] == m.Decision.Action.LOG_ERROR and not attrs.get("error_category"):
            raise serializers.ValidationError({"error_category": ["choose an error category for log_error"]})
        return attrs


# --------------------------------------------------------------------------------------------
# Error log, reingest, deletion, takedown


class ErrorLogEntrySerializer(serializers.ModelSerializer):
    asset = AssetRefSerializer(read_only=True)
    match_asset = AssetRefSerializer(read_only=True, allow_null=True)
    created_by = UsernameField()

    class Meta:
        model = m.ErrorLogEntry
        fields = ["id", "asset", "match_asset", "decision", "category", "note", "created_by", "created_at", "withdrawn"]
        read_only_fields = fields


class ReingestItemSerializer(serializers.ModelSerializer):
    asset = AssetRefSerializer(read_only=True)

    class Meta:
        model = m.ReingestItem
        fields = ["id", "asset", "decision", "reason", "state", "checksum", "target_location", "target_key",
                  "manifest_key", "canonical_key", "canonical_asset", "error", "retryable", "attempts",
                  "created_at", "updated_at", "verified_at"]
        read_only_fields = fields


class ReingestIngestedSerializer(serializers.Serializer):
    canonical_key = serializers.CharField(max_length=1024, help_text="where the canonical store put the file")
    source = IdField(
        queryset=m.Source.objects.filter(role=m.Source.Role.CANONICAL), required=False, allow_null=True,
        outside="source {id} is not a canonical source: a reingest goes into a canonical source",
        help_text="the canonical source holding it (optional when there is only one)")


class DeletionPlanSerializer(serializers.ModelSerializer):
    created_by = UsernameField()
    confirmed_by = UsernameField()
    item_count = serializers.SerializerMethodField()
    bytes_total = serializers.SerializerMethodField()
    would_abort = serializers.SerializerMethodField(help_text="planned items the dry run's re-check would abort "
                                                              "(their reasons: items/ dry_run_outcome)")

    dry_run = serializers.SerializerMethodField(help_text="progress of the dry run's re-check, which a worker runs "
                                                          "after the plan is created: {checked, total, percent, done}; "
                                                          "confirm is refused until done")

    class Meta:
        model = m.DeletionPlan
        fields = ["id", "state", "source", "job", "created_by", "created_at", "confirmed_by", "confirmed_at",
                  "finished_at", "item_count", "bytes_total", "would_abort", "dry_run"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "properties": {
        "checked": {"type": "integer"}, "total": {"type": "integer"}, "percent": {"type": "integer"},
        "done": {"type": "boolean"}}})
    def get_dry_run(self, plan) -> dict:
        if hasattr(plan, "n_planned") and hasattr(plan, "n_checked"):  # the list's annotations: no query per plan
            return dry_run_progress(plan, total=plan.n_planned, checked=plan.n_checked)
        return dry_run_progress(plan)

    def get_would_abort(self, plan) -> int:
        return plan_would_abort(plan)

    def get_item_count(self, plan) -> int:
        return getattr(plan, "n_items", None) if hasattr(plan, "n_items") else plan.items.count()

    def get_bytes_total(self, plan) -> int:
        value = getattr(plan, "n_bytes", None) if hasattr(plan, "n_bytes") else sum(plan.items.values_list("size", flat=True))
        return value or 0


class DeletionPlanCreateSerializer(serializers.Serializer):
    decisions = IdField(
        queryset=m.Decision.objects.filter(action=m.Decision.Action.APPROVE_DELETE), many=True, required=False,
        outside="decision {id} is not an approved deletion: only approve_delete decisions are planned",
        help_text="approving decisions to plan; or give a source to plan all of its approved files")
    source = IdField(queryset=m.Source.objects.all(), required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs.get("decisions") and attrs.get("source") is None:
            raise serializers.ValidationError("give approving decisions or a source")
        return attrs


class DeletionItemSerializer(serializers.ModelSerializer):
    asset = AssetRefSerializer(read_only=True)
    kept_asset = AssetRefSerializer(read_only=True)

    class Meta:
        model = m.DeletionItem
        fields = ["id", "plan", "decision", "asset", "kept_asset", "state", "etag_at_decision", "kept_etag_at_decision",
                  "size", "diff_score", "local_score", "engine_version", "quarantine_location", "purge_after",
                  "reason", "dry_run_reason", "dry_run_at", "dry_run_outcome", "updated_at"]
        read_only_fields = fields


class AuditEntrySerializer(serializers.ModelSerializer):
    approved_by = UsernameField()
    executed_by = UsernameField()

    class Meta:
        model = m.AuditEntry
        fields = ["id", "created_at", "action", "item", "source_name", "key", "etag", "size", "kept_source_name",
                  "kept_key", "kept_etag", "diff_score", "local_score", "engine_version", "thresholds", "decision",
                  "approved_by", "executed_by", "reason", "outcome", "detail"]
        read_only_fields = fields


class TakedownSerializer(serializers.Serializer):
    assets = IdField(queryset=m.Asset.objects.all(), many=True, allow_empty=False,
                                                help_text="asset ids to remove at once (canonical included)")
    reason = serializers.CharField(max_length=4000, validators=[takedown_reason_validate],
                                   help_text=f"the written legal reason: at least {REASON_MIN_WRITTEN} letters or digits")

    def validate_assets(self, value):
        if len(value) > 1000:
            raise serializers.ValidationError("at most 1000 assets per takedown")
        return value


class TakedownOutcomeSerializer(serializers.Serializer):
    asset = serializers.IntegerField(help_text="asset id")
    ok = serializers.BooleanField(help_text="false when storage refused (Object Lock, error)")
    message = serializers.CharField()
    steps = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="what was removed: the object, renditions, quarantine, ingest and extract copies")


class TakedownResultSerializer(serializers.Serializer):
    results = TakedownOutcomeSerializer(many=True)
    audit = AuditEntrySerializer(many=True, help_text="the audit rows written for this takedown")

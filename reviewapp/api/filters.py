"""Query filters for the list endpoints. Bad values (unknown choice, not a number, unknown id)
are a 400 naming the parameter, never an empty list that looks like "nothing there"."""
from django import forms
from django_filters import rest_framework as df

from .. import models as m
from ..selectors.review import in_source_q


class FloatFilter(df.NumberFilter):
    # forms.FloatField refuses NaN/inf and keeps the value a float the database can compare.
    field_class = forms.FloatField


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0, yes/no); anything else is an error, not silently "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise forms.ValidationError("use true or false", code="invalid")

    def validate(self, value):
        pass


class BooleanFilter(df.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs["widget"] = forms.TextInput  # the raw text reaches the field, which judges it
        super().__init__(*args, **kwargs)


class SourceFilter(df.FilterSet):
    kind = df.ChoiceFilter(choices=m.Source.Kind.choices)
    role = df.ChoiceFilter(choices=m.Source.Role.choices)

    class Meta:
        model = m.Source
        fields = ["kind", "role"]


class NameListFilter(df.FilterSet):
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all())

    class Meta:
        model = m.NameList
        fields = ["source"]


class JobFilter(df.FilterSet):
    kind = df.ChoiceFilter(choices=m.Job.Kind.choices)
    state = df.ChoiceFilter(choices=m.Job.State.choices)
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all())

    class Meta:
        model = m.Job
        fields = ["kind", "state", "source"]


class AssetFilter(df.FilterSet):
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all())
    state = df.ChoiceFilter(choices=m.Asset.State.choices)
    decode_status = df.ChoiceFilter(choices=[c for c in m.Asset.DecodeStatus.choices if c[0]])
    name = df.CharFilter(lookup_expr="icontains", max_length=512, help_text="part of the file name")
    key = df.CharFilter(lookup_expr="exact", max_length=1024, help_text="the exact object key")

    class Meta:
        model = m.Asset
        fields = ["source", "state", "decode_status", "name", "key"]


class CandidateFilter(df.FilterSet):
    verdict = df.ChoiceFilter(choices=m.Verdict.choices)
    status = df.ChoiceFilter(choices=m.Candidate.Status.choices)
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all(), field_name="cleanup_asset__source",
                                  help_text="source of the clean-up copy")
    match_source = df.ModelChoiceFilter(queryset=m.Source.objects.all(), field_name="match_asset__source")
    job = df.ModelChoiceFilter(queryset=m.Job.objects.all())
    cleanup_asset = df.ModelChoiceFilter(queryset=m.Asset.objects.all(), help_text="clean-up asset id")
    diff_score_min = FloatFilter(field_name="diff_score", lookup_expr="gte")
    diff_score_max = FloatFilter(field_name="diff_score", lookup_expr="lte")
    local_score_min = FloatFilter(field_name="local_score", lookup_expr="gte")
    local_score_max = FloatFilter(field_name="local_score", lookup_expr="lte")
    safe_to_delete = BooleanFilter()

    class Meta:
        model = m.Candidate
        fields = ["verdict", "status", "source", "match_source", "job", "cleanup_asset", "diff_score_min",
                  "diff_score_max", "local_score_min", "local_score_max", "safe_to_delete"]


class ReviewItemFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=m.ReviewItem.Status.choices)
    verdict = df.ChoiceFilter(choices=m.Verdict.choices)
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all(), field_name="asset__source")
    job = df.ModelChoiceFilter(queryset=m.Job.objects.all())
    in_source = BooleanFilter(method="filter_in_source",
                              help_text="true: only files still in their source (what the review queues serve); "
                                        "false: only files an inventory found gone")

    class Meta:
        model = m.ReviewItem
        fields = ["status", "verdict", "source", "job", "in_source"]

    def filter_in_source(self, qs, name, value):
        return qs.filter(in_source_q()) if value else qs.exclude(in_source_q())


class DecisionFilter(df.FilterSet):
    action = df.ChoiceFilter(choices=m.Decision.Action.choices)
    review_item = df.ModelChoiceFilter(queryset=m.ReviewItem.objects.all())
    asset = df.ModelChoiceFilter(queryset=m.Asset.objects.all())
    mine = BooleanFilter(method="filter_mine", help_text="only my decisions")

    class Meta:
        model = m.Decision
        fields = ["action", "review_item", "asset", "mine"]

    def filter_mine(self, qs, name, value):
        return qs.filter(actor=self.request.user) if value else qs


class ErrorLogFilter(df.FilterSet):
    category = df.ChoiceFilter(choices=m.ErrorLogEntry.Category.choices)
    withdrawn = BooleanFilter()
    source = df.ModelChoiceFilter(queryset=m.Source.objects.all(), field_name="asset__source")

    class Meta:
        model = m.ErrorLogEntry
        fields = ["category", "withdrawn", "source"]


class ReingestFilter(df.FilterSet):
    state = df.ChoiceFilter(choices=m.ReingestItem.State.choices)

    class Meta:
        model = m.ReingestItem
        fields = ["state"]


class DeletionPlanFilter(df.FilterSet):
    state = df.ChoiceFilter(choices=m.DeletionPlan.State.choices)

    class Meta:
        model = m.DeletionPlan
        fields = ["state"]


class DeletionItemFilter(df.FilterSet):
    state = df.ChoiceFilter(choices=m.DeletionItem.State.choices)
    plan = df.ModelChoiceFilter(queryset=m.DeletionPlan.objects.all())

    class Meta:
        model = m.DeletionItem
        fields = ["state", "plan"]


class AuditFilter(df.FilterSet):
    action = df.ChoiceFilter(choices=m.AuditEntry.Action.choices)

    class Meta:
        model = m.AuditEntry
        fields = ["action"]

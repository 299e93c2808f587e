"""Bulk approval (admins): pick a batch and score limits, look at a random sample, then approve
the whole batch with one Decision per file. The confirm form carries the filters, never ids, and
the batch is re-selected at that moment so a file decided meanwhile is not approved twice. It
also carries the batch the admin was shown, sealed (signed): a file that joined the batch since
then stops the whole approval."""
from __future__ import annotations

import secrets
import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..models import Job, Source, bulk_verdict_choices
from ..selectors.review import bulk_batch, bulk_batch_ids, bulk_batch_leased, bulk_sample
from ..selectors.takedown import taken_down_ids
from ..services.review import BULK_BATCH_LIMIT, BatchChanged, bulk_approve, bulk_batch_seal, bulk_batch_unseal
from .decorators import admin_required, form_idempotency_key
from .fields import RowChoiceField
from .review import asset_img, candidate_img

SAMPLE_SIZE = 20
MAX_BATCH = BULK_BATCH_LIMIT


class BulkForm(forms.Form):
    job = RowChoiceField(queryset=Job.objects.none(), required=False, empty_label="any job")
    source = RowChoiceField(queryset=Source.objects.filter(role=Source.Role.CLEANUP), required=False,
                            empty_label="any clean-up source")
    verdict = forms.ChoiceField(choices=[("", " or ".join(v for v, _ in bulk_verdict_choices()))] + bulk_verdict_choices(),
                                required=False)
    max_diff = forms.FloatField(label="max diff_score", min_value=0, max_value=1, required=True, initial=0.01)
    max_local = forms.FloatField(label="max local_score", min_value=0, max_value=1, required=True, initial=0.05)
    seed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = Job.objects.filter(kind__in=[Job.Kind.PAIR, Job.Kind.ANALYSE]).order_by("-created_at")

    def filters(self):
        d = self.cleaned_data
        return {"job": d["job"].pk if d.get("job") else None, "source": d["source"].pk if d.get("source") else None,
                "verdict": d.get("verdict") or None, "max_diff": d["max_diff"], "max_local": d["max_local"]}

    def batch(self):
        return bulk_batch(**self.filters())

    def leased(self):
        """The batch's files another curator holds now: left out, and listed among the refusals."""
        return bulk_batch_leased(**self.filters())


@admin_required
@require_http_methods(["GET", "POST"])
def bulk_review(request):
    if request.method == "POST":
        form = BulkForm(request.POST)
        if not form.is_valid():
            return render(request, "reviewapp/review/bulk.html", {"form": form})
        if request.POST.get("confirm") != "yes" or not form.cleaned_data.get("seed"):
            messages.error(request, "look at the sample first, then confirm")
            return render(request, "reviewapp/review/bulk.html", {"form": form})
        sampled = bulk_batch_unseal(actor=request.user, token=request.POST.get("batch"))
        if sampled is None:
            messages.error(request, "look at the sample first, then confirm")
            return render(request, "reviewapp/review/bulk.html", {"form": form})
        items = list(form.batch().select_related("asset__source", "best_candidate__match_asset__source")[:MAX_BATCH])
        try:
            result = bulk_approve(actor=request.user, items=items, leased=list(form.leased()[:MAX_BATCH]),
                                  note=f"bulk approval (sample seed {form.cleaned_data['seed']})",
                                  idempotency_key=form_idempotency_key(request), sampled=sampled)
        except BatchChanged as exc:
            messages.error(request, exc.messages[0])
            return render(request, "reviewapp/review/bulk.html",
                          _sample_context(form, actor=request.user, seed=form.cleaned_data["seed"]))
        # the outcome in the status region (and so the title), where a screen reader hears it
        refused = f", {len(result['refused'])} refused" if result.get("refused") else ""
        messages.success(request, f"Bulk approval done: {len(result['approved'])} approved{refused}.")
        return render(request, "reviewapp/review/bulk_done.html", {"result": result, "form": form})
    form = BulkForm(request.GET or None)
    ctx = {"form": form}
    if request.GET and form.is_valid():
        ctx = _sample_context(form, actor=request.user, seed=form.cleaned_data.get("seed") or secrets.token_hex(4))
    return render(request, "reviewapp/review/bulk.html", ctx)


def _sample_context(form, *, actor, seed):
    """The batch the filters select now, its size and a sample drawn with `seed`: what the admin
    looks at before confirming (and again when the batch changed before the confirmation)."""
    ctx = {"form": form}
    ids = bulk_batch_ids(form.batch())
    total = len(ids)
    sample = bulk_sample(ids, n=SAMPLE_SIZE, seed=seed)
    data = {**form.cleaned_data, "seed": seed}
    data["job"] = data["job"].pk if data.get("job") else ""
    data["source"] = data["source"].pk if data.get("source") else ""
    gone = taken_down_ids([a for it in sample for a in (it.asset_id, getattr(it.best_candidate, "match_asset_id", None))])
    ctx.update({
        "total": total, "capped": total > MAX_BATCH, "max_batch": MAX_BATCH, "batch_size": min(total, MAX_BATCH),
        "sample": [(it, asset_img(it.asset, "thumb", gone), candidate_img(it.best_candidate, "aligned", gone))
                   for it in sample],
        "seed": seed, "idem": uuid.uuid4().hex, "data": data,
        "batch": bulk_batch_seal(actor=actor, ids=ids[:MAX_BATCH]),
    })
    return ctx

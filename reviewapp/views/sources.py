"""Browsing sources and their assets (curators), and registering a source (admins).

Images are never read here: thumbnails and web renditions are served by the `asset-image`
view, permission-checked, from the renditions storage. Every object is looked up by its id.
"""
from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from ..models import Asset, Source
from ..roles import is_admin
from ..selectors import sources as selectors
from ..selectors.assets import asset_fate
from ..services.sources import source_add
from ..storage import BACKENDS
from .decorators import admin_required, curator_required

PAGE_SIZE = 60
# Admin buttons on a source's page; the job views (jobs.py) start them through the job services.
JOB_BUTTONS = [("inventory", "Run inventory"), ("restore", "Estimate restore"), ("analyse", "Analyse and pair")]


def asset_image_url(asset, kind):
    """The picture's URL, or None when asking would be a 404 (it does not decode) or a 410 (a
    legal takedown removed it; the selectors annotate `taken_down`): the tile says why instead."""
    if asset.decode_status == Asset.DecodeStatus.UNREADABLE or asset.taken_down:
        return None
    return reverse("asset-image", args=[asset.pk, kind])


class AssetFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Key contains")
    state = forms.ChoiceField(required=False, choices=[("", "Any state")] + list(Asset.State.choices))
    format = forms.ChoiceField(required=False, choices=[("", "Any format")])
    decode = forms.ChoiceField(
        required=False,
        label="Decode status",
        choices=[("", "Any decode status"), ("none", "Not analysed")]
        + [(v, label) for v, label in Asset.DecodeStatus.choices if v],
    )

    def __init__(self, *args, formats=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [("", "Any format")] + [(f, f) for f in formats]


@curator_required
def source_list(request):
    return render(
        request,
        "reviewapp/sources/list.html",
        {"sources": selectors.source_list(), "can_add": is_admin(request.user)},
    )


@curator_required
def source_detail(request, pk):
    source = get_object_or_404(Source, pk=pk)
    form = AssetFilterForm(request.GET or None, formats=selectors.source_formats(source))
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        decode = data["decode"]
        filters = {
            "q": data["q"].strip(),
            "state": data["state"],
            "format": data["format"],
            "decode_status": "" if decode == "none" else (decode or None),
        }
    assets = selectors.source_assets(source, **filters)
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    # the list holds every object ever listed; the header counts those still there: say both
    listed_gone = assets.filter(state=Asset.State.VANISHED).count() if page.paginator.count else 0
    tiles = [{"asset": a, "thumb": asset_image_url(a, "thumb")} for a in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    jobs = selectors.source_recent_jobs(source)
    return render(
        request,
        "reviewapp/sources/detail.html",
        {
            "source": source,
            "form": form,
            "page": page,
            "tiles": tiles,
            "query": query.urlencode(),
            "totals": selectors.source_totals(source),
            "listed_gone": listed_gone,
            "jobs": jobs,
            "can_manage": is_admin(request.user),
            "job_kinds": JOB_BUTTONS,
        },
    )


@curator_required
def asset_detail(request, pk):
    try:
        ctx = selectors.asset_detail(pk)
    except Asset.DoesNotExist:
        raise Http404("No such asset")
    asset = ctx["asset"]
    review = ctx["review"]
    analysis = asset.analysis if isinstance(asset.analysis, dict) else {}
    ctx.update(
        web_url=asset_image_url(asset, "web"),
        review_url=reverse("review-item", args=[review.pk]) if review else None,
        errors=_decode_errors(asset, analysis),
        fate=asset_fate(asset),
        damage_box=damage_box(analysis.get("damage")),
    )
    return render(request, "reviewapp/sources/asset.html", ctx)


def _decode_errors(asset, analysis) -> list[str]:
    """The file's decode errors, each once: the analysis's, then any other line the row's ``decode_error``
    holds (it is the analysis's joined, so every unreadable file's were listed twice)."""
    errors = [str(e) for e in analysis.get("errors") or [] if e]
    return errors + [line for line in (asset.decode_error or "").splitlines() if line and line not in errors]


def damage_box(damage):
    """The engine's damaged region (fractions of the displayed image) as CSS percentages for an
    outline over the web image, or None. Anything malformed is simply not drawn."""
    region = damage.get("region") if isinstance(damage, dict) else None
    if not isinstance(region, dict):
        return None
    try:
        top, left, bottom, right = (min(max(float(region[k]), 0.0), 1.0) for k in ("top", "left", "bottom", "right"))
    except (KeyError, TypeError, ValueError):
        return None
    if bottom <= top or right <= left:
        return None
    return {"top": round(top * 100, 2), "left": round(left * 100, 2),
            "height": round((bottom - top) * 100, 2), "width": round((right - left) * 100, 2)}


class SourceAddForm(forms.Form):
    """The storage profile is picked from the configured names: endpoints and credentials stay in
    settings, never in a form or the database."""

    name = forms.SlugField(max_length=80, help_text="letters, digits, - and _")
    role = forms.ChoiceField(choices=Source.Role.choices)
    kind = forms.ChoiceField(choices=Source.Kind.choices, initial=Source.Kind.LOCAL)
    storage_profile = forms.ChoiceField(required=False, label="Storage profile (S3)")
    bucket = forms.CharField(required=False, max_length=63, label="Bucket (S3)")
    prefix = forms.CharField(required=False, max_length=1024, label="Prefix (S3)")
    root = forms.CharField(required=False, max_length=1024, label="Directory (local)")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_profile"].choices = [("", "—")] + [(p, p) for p in sorted(settings.S3_PROFILES)]
        roots = ", ".join(str(r) for r in settings.LOCAL_ROOTS)
        self.fields["root"].help_text = f"must be under: {roots}"

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        for field, message in (BACKENDS[kind].required_fields if kind in BACKENDS else {}).items():
            if not data.get(field):
                self.add_error(field, message)
        return data


def _apply_validation_error(form, exc):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@admin_required
def source_add_view(request):
    form = SourceAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # only the fields of the chosen kind's location (the form shows them all)
        where = BACKENDS[data["kind"]].location_fields
        location = {f: data[f].strip() if f in where else "" for f in ("storage_profile", "bucket", "prefix", "root")}
        try:
            source = source_add(actor=request.user, name=data["name"], kind=data["kind"], role=data["role"],
                                description=data["description"], **location)
        except ValidationError as exc:
            _apply_validation_error(form, exc)
        except IntegrityError:
            form.add_error(None, "another source with this name or location was added at the same time")
        else:
            messages.success(request, f"Source {source.name} added. Run an inventory to list its objects.")
            return redirect("source-detail", pk=source.pk)
    return render(request, "reviewapp/sources/add.html", {"form": form})

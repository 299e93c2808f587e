"""Extract pages (admins): make an extract of one or more name lists, follow it (progress, pause,
resume and cancel are the job's), read each archive's manifest and download it as CSV, end an
extract early. Views only call services and selectors; rows are looked up by id."""
import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ..models import Extract, ExtractArchive, ExtractMember, NameList
from ..selectors import extracts as sel
from ..selectors.jobs import job_progress
from ..selectors.review import row_id
from ..services import extracts as svc
from ..services.idempotency import KEY_PATTERN
from ..storage import StorageError
from .decorators import admin_required, form_idempotency_key
from .deletion import csv_response
from .fields import IdsChoiceField


def _msg(exc):
    if isinstance(exc, ValidationError):
        return " ".join(f"{k}: {'; '.join(v)}" if k != "__all__" else "; ".join(v)
                        for k, v in exc.message_dict.items()) if hasattr(exc, "error_dict") else " ".join(exc.messages)
    return str(exc)


class ExtractForm(forms.Form):
    title = forms.CharField(max_length=200)
    namelists = IdsChoiceField(
        label="Name lists (one archive each)", queryset=NameList.objects.select_related("source").order_by("-created_at"),
        widget=forms.CheckboxSelectMultiple)
    location = forms.ChoiceField(label="Extract location", help_text="configured by the administrator (DOPPEL_EXTRACT_LOCATIONS)")
    content = forms.ChoiceField(choices=Extract.Content.choices, initial=Extract.Content.ORIGINAL, widget=forms.RadioSelect)
    max_side = forms.IntegerField(label="Rendition size (longest side, pixels)", required=False, min_value=svc.MIN_SIDE,
                                  max_value=svc.MAX_SIDE, initial=500, help_text="for renditions only, e.g. 500")
    sample_size = forms.IntegerField(label="Random sample per list", required=False, min_value=1, max_value=svc.MAX_SAMPLE,
                                     help_text="leave empty for the whole list")
    sample_seed = forms.IntegerField(label="Sample seed", required=False, min_value=0, max_value=2**62,
                                     help_text="the same seed draws the same sample; empty: a new one, shown afterwards")
    expires_on = forms.DateField(label="Expires on", help_text="required: the archives are deleted at the end of this day (UTC)",
                                 widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    # One key per rendered form, so the same form sent twice (a double click, a reload that posts
    # again) queues one extract; the service stores it as a digest bound to the user
    # (form_idempotency_key). Checked here: it arrives from the browser with any length and spelling.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=200,
                                      validators=[RegexValidator(KEY_PATTERN)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [(n, n) for n in sorted(settings.EXTRACT_LOCATIONS)]
        self.fields["expires_on"].initial = (timezone.now() + timedelta(days=30)).date()
        self.fields["idempotency_key"].initial = uuid.uuid4().hex

    def clean(self):
        """A bad key is said where it shows (the field is hidden, its own error would not be)."""
        if self._errors.pop("idempotency_key", None):
            self.add_error(None, "this form's key is not valid (1-200 printable ASCII characters): nothing was "
                                 "queued; reload the page for a new form")
        return super().clean()


@admin_required
def extract_list(request):
    form = ExtractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        started = timezone.now()
        try:
            ex = svc.extract_create(
                actor=request.user, namelists=list(d["namelists"]), title=d["title"], location=d["location"],
                expires_at=d["expires_on"], content=d["content"], max_side=d.get("max_side"),
                sample_size=d.get("sample_size"), sample_seed=d.get("sample_seed"),
                idempotency_key=form_idempotency_key(request))
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                for field, errs in exc.message_dict.items():
                    field = {"expires_at": "expires_on"}.get(field, field)
                    if field == "idempotency_key":  # hidden: said above the form, in the page's words
                        field, errs = None, [f"{e} (this form was sent before; reload the page for a new form)"
                                             for e in errs]
                    form.add_error(field if field in form.fields else None, errs)
            else:
                form.add_error(None, _msg(exc))
        else:
            if ex.created_at < started:  # made before this request: this form was sent before
                messages.info(request, f"already queued as extract #{ex.pk}: this form was sent twice, and nothing "
                                       "new was queued")
            else:
                messages.success(request, f"extract #{ex.pk} queued: {ex.archives.count()} archive(s) are being built")
            return redirect("extract-detail", pk=ex.pk)
    page = Paginator(sel.extract_list().order_by("-created_at"), 50).get_page(request.GET.get("page"))
    return render(request, "reviewapp/extracts/list.html", {"form": form, "page": page})


@admin_required
def extract_detail(request, pk):
    ex = get_object_or_404(Extract.objects.select_related("created_by", "job"), pk=pk)
    archives = list(ex.archives.select_related("namelist").order_by("pk"))
    for a in archives:
        a.summary = sel.archive_summary(a)
    chosen = None
    wanted = row_id(request.GET.get("archive"))
    if wanted is not None:
        chosen = next((a for a in archives if a.pk == wanted), None)
    chosen = chosen or (archives[0] if archives else None)
    outcome = request.GET.get("outcome") if request.GET.get("outcome") in ExtractMember.Outcome.values else None
    members = Paginator(sel.archive_members(chosen, outcome=outcome), 100).get_page(request.GET.get("page")) if chosen else None
    return render(request, "reviewapp/extracts/detail.html", {
        "ex": ex, "archives": archives, "chosen": chosen, "members": members, "outcome": outcome,
        "outcomes": ExtractMember.Outcome.choices, "totals": sel.extract_totals(ex),
        "progress": job_progress(ex.job) if ex.job else None,
    })


@admin_required
def manifest_csv(request, pk):
    archive = get_object_or_404(ExtractArchive.objects.select_related("namelist"), pk=pk)
    return csv_response(f"doppel-extract-{archive.extract_id}-list-{archive.namelist_id}-manifest.csv",
                        sel.MANIFEST_HEADER, sel.manifest_rows(archive))


class ExtractDeleteForm(forms.Form):
    confirm = forms.BooleanField(label=svc.EXTRACT_DELETE_CONFIRMATION, required=False,
                                 validators=[svc.extract_delete_confirm_validate])


@admin_required
def extract_delete(request, pk):
    """Ending an extract early deletes its archives at once, for everyone who was to fetch them:
    GET shows what goes and asks for a ticked box; only a POST with it ticked deletes."""
    ex = get_object_or_404(Extract, pk=pk)
    form = ExtractDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                svc.extract_delete(actor=request.user, extract=ex, confirm=form.cleaned_data["confirm"])
                messages.success(request, f"extract #{ex.pk}: its archives are deleted")
            except (ValidationError, PermissionDenied, StorageError) as exc:
                messages.error(request, f"could not delete extract #{ex.pk}: {_msg(exc)}")
            return redirect("extract-detail", pk=ex.pk)
        messages.error(request, f"extract #{ex.pk}: nothing was deleted (the box was not ticked)")
    return render(request, "reviewapp/extracts/delete.html", {
        "ex": ex, "form": form, "archives": ex.archives.select_related("namelist").exclude(
            state=ExtractArchive.State.DELETED).order_by("pk")})

"""Error log pages: admins filter what curators logged and export it for collections staff as
XLSX or CSV. Exports stream: CSV line by line, XLSX from a write-only workbook in a temp file."""
import os

from django import forms
from django.contrib.auth import get_user_model
from django.http import FileResponse
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from ..models import ErrorLogEntry, Source
from ..selectors.errorlog import EXPORT_HEADER, error_log_list, error_log_rows
from ..services.exports import xlsx_write
from .decorators import admin_required
from .deletion import csv_response


class ErrorLogFilter(forms.Form):
    category = forms.ChoiceField(choices=[("", "any category")] + list(ErrorLogEntry.Category.choices), required=False)
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("name"), required=False, empty_label="any source")
    curator = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="any curator")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    withdrawn = forms.BooleanField(required=False, label="include withdrawn")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ids = ErrorLogEntry.objects.values("created_by").distinct()
        self.fields["curator"].queryset = get_user_model().objects.filter(pk__in=ids).order_by("username")


def _filtered(request):
    form = ErrorLogFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = error_log_list(
        category=data.get("category") or None, source=data.get("source"), curator=data.get("curator"),
        date_from=data.get("date_from"), date_to=data.get("date_to"), include_withdrawn=bool(data.get("withdrawn")),
    )
    return form, qs


@admin_required
def errorlog_list(request):
    form, qs = _filtered(request)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return errorlog_export(request, qs, fmt)
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "reviewapp/errorlog/list.html", {"form": form, "page": page, "query": query.urlencode()})


def errorlog_export(request, qs, fmt):
    base = request.build_absolute_uri("/").rstrip("/")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    rows = error_log_rows(qs.order_by("created_at", "id"), base_url=base)
    if fmt == "csv":
        return csv_response(f"doppel-error-log-{stamp}.csv", EXPORT_HEADER, rows)
    path = xlsx_write(EXPORT_HEADER, rows, title="Error log", link_column=EXPORT_HEADER.index("link"))
    fh = open(path, "rb")
    os.unlink(path)  # the open handle keeps the data until the response is closed
    return FileResponse(fh, as_attachment=True, filename=f"doppel-error-log-{stamp}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

"""Error log pages: curators and admins read and filter what curators logged; admins export it
for collections staff as XLSX or CSV. Small exports stream straight away (CSV line by line, XLSX
from a constant-memory workbook in a temp file); large ones run as a job with a download link."""
import os

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ..models import ErrorLogEntry, Source
from ..roles import is_admin
from ..selectors.errorlog import EXPORT_HEADER, error_log_list, error_log_rows
from ..services.export_jobs import error_log_export_start, export_too_large_for_a_request
from ..services.exports import xlsx_write
from .decorators import curator_required
from .deletion import csv_response
from .fields import RowChoiceField


class ErrorLogFilter(forms.Form):
    category = forms.ChoiceField(choices=[("", "any category")] + list(ErrorLogEntry.Category.choices), required=False)
    source = RowChoiceField(queryset=Source.objects.order_by("name"), required=False, empty_label="any source")
    curator = RowChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="any curator")
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    withdrawn = forms.BooleanField(required=False, label="include withdrawn")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ids = ErrorLogEntry.objects.values("created_by").distinct()
        self.fields["curator"].queryset = get_user_model().objects.filter(pk__in=ids).order_by("username")


def _filters(request) -> tuple[ErrorLogFilter, dict]:
    """The form and the filters in the selector's words (keys, ISO dates: a job can store them)."""
    form = ErrorLogFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = {
        "category": data.get("category") or None,
        "source": data["source"].pk if data.get("source") else None,
        "curator": data["curator"].pk if data.get("curator") else None,
        "date_from": data["date_from"].isoformat() if data.get("date_from") else None,
        "date_to": data["date_to"].isoformat() if data.get("date_to") else None,
        "include_withdrawn": bool(data.get("withdrawn")),
    }
    return form, filters


@curator_required
def errorlog_list(request):
    """Curators read the log (as the API already lets them); exporting it stays with admins."""
    form, filters = _filters(request)
    qs = error_log_list(**filters)
    fmt = request.GET.get("format")
    large = None
    if fmt in ("csv", "xlsx"):
        if not is_admin(request.user):
            raise PermissionDenied("exporting the error log is for admins")
        rows = export_too_large_for_a_request(qs)
        if not rows:
            return errorlog_export(request, qs, fmt)
        if request.method == "POST":
            job = error_log_export_start(actor=request.user, fmt=fmt, filters=filters,
                                         base_url=request.build_absolute_uri("/").rstrip("/"))
            messages.success(request, f"The export is large: job #{job.pk} writes it in the background; "
                                      "its download link appears on this page when it is ready.")
            return redirect("job-detail", pk=job.pk)
        # a GET changes nothing (a link or an image tag elsewhere could make it): the page offers the
        # job as a form, and its POST (CSRF-checked) starts it
        large = {"format": fmt, "rows": rows}
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "reviewapp/errorlog/list.html", {
        "form": form, "page": page, "query": query.urlencode(), "can_export": is_admin(request.user), "large": large,
    })


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

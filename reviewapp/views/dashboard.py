from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from ..selectors.dashboard import dashboard_summary
from ..selectors.extracts import live_extracts
from .decorators import curator_required


def _url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@curator_required
def dashboard(request):
    summary = dashboard_summary()
    for job in summary["jobs"]:
        job.url = _url("job-detail", job.pk)
    return render(request, "reviewapp/dashboard.html", {"summary": summary, "job_list_url": _url("job-list"),
                                                        "live_extracts": live_extracts()[:20]})

from django.shortcuts import render

from ..selectors.dashboard import dashboard_summary
from .decorators import curator_required


@curator_required
def dashboard(request):
    return render(request, "reviewapp/dashboard.html", {"summary": dashboard_summary()})

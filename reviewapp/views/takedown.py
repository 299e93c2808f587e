"""Legal takedown page (admins): name objects by key, see every other copy the engine paired with
them and tick the ones to include under the same reason, then remove them all at once. Rows are
looked up by key within the chosen source or by id within the offered copies, never trusted raw."""
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render

from ..models import Asset, Source
from ..selectors.takedown import copies_of, takedown_list
from ..services import deletion as svc
from ..services.takedown import REASON_MIN_WRITTEN, takedown_reason_validate
from .decorators import admin_required
from .fields import RowChoiceField

MAX_KEYS = 1000


class TakedownForm(forms.Form):
    source = RowChoiceField(queryset=Source.objects.order_by("name"))
    keys = forms.CharField(label="Object keys", widget=forms.Textarea(attrs={"rows": 6}),
                           help_text="one object key per line, as inventoried")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), validators=[takedown_reason_validate], max_length=4000,
                             help_text=f"required: the legal basis, at least {REASON_MIN_WRITTEN} letters or digits (recorded in the audit trail)")
    confirm = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        source, keys = data.get("source"), data.get("keys") or ""
        if source is None:
            return data
        wanted = list(dict.fromkeys(k.strip() for k in keys.splitlines() if k.strip()))
        if not wanted:
            raise ValidationError("name at least one object")
        if len(wanted) > MAX_KEYS:
            raise ValidationError(f"at most {MAX_KEYS:,} objects per takedown")
        found = {a.key: a for a in Asset.objects.filter(source=source, key__in=wanted).select_related("source")}
        missing = [k for k in wanted if k not in found]
        if missing:
            raise ValidationError(f"not in {source.name}: {', '.join(missing[:10])}{' …' if len(missing) > 10 else ''}")
        data["assets"] = [found[k] for k in wanted]
        return data


def _included(request, copies) -> list:
    """The copies the admin ticked, from those offered: an id that was not offered is ignored.
    Canonical copies are not offered (no box): one goes only when it is named with its source."""
    offered = {str(c["asset"].pk): c["asset"] for c in copies if c["asset"].source.role != Source.Role.CANONICAL}
    return [offered[i] for i in dict.fromkeys(request.POST.getlist("include")) if i in offered]


@admin_required
def takedown(request):
    form = TakedownForm(request.POST or None)
    ctx = {"form": form, "recent": takedown_list()[:20]}
    if request.method == "POST" and form.is_valid():
        named = form.cleaned_data["assets"]
        copies = copies_of(named)
        if not form.cleaned_data.get("confirm"):
            ctx.update(preview=named, copies=copies)
            return render(request, "reviewapp/takedown/takedown.html", ctx)
        assets = named + [a for a in _included(request, copies) if a not in named]
        try:
            results = svc.takedown_execute(actor=request.user, assets=assets, reason=form.cleaned_data["reason"])
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            ok = sum(1 for r in results if r["ok"])
            (messages.success if ok == len(results) else messages.warning)(
                request, f"takedown: {ok} of {len(results)} objects removed with every copy Doppel held")
            ctx.update(results=results, form=TakedownForm(), recent=takedown_list()[:20])
    return render(request, "reviewapp/takedown/takedown.html", ctx)

"""The review page's decision actions, from their one definition (reviewapp.models.DECISION_KEYS):
the buttons and key help in the template, and the same table as JSON for review.js."""
from __future__ import annotations

from django import template
from django.utils.html import json_script

from ..models import DECISION_KEYS

register = template.Library()


@register.simple_tag
def decision_keys(way: str = "") -> list:
    """The actions, in button order; only those given that way (submit, dialog, undo-form) when asked."""
    return [k for k in DECISION_KEYS if not way or k.way == way]


@register.simple_tag
def decision_key(action: str):
    """The one action's row (e.g. "undo" for the undo button)."""
    return next(k for k in DECISION_KEYS if k.action == action)


@register.simple_tag
def decision_keys_script():
    """<script type="application/json" id="decision-keys">: review.js's key map, keyed by letter."""
    return json_script({k.key: k.as_data() for k in DECISION_KEYS}, "decision-keys")

"""Form fields for a row a request names by its id, checked by the one rule for such ids
(``selectors.review.row_id``) before the database sees them."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from ..selectors.review import row_id
from ..templatetags.doppel_words import bidi_visible


def _label(obj) -> str:
    """A row's name as an option reads it (a source, a name list): with its bidirectional controls
    shown, never obeyed, like every other name on a page."""
    return bidi_visible(str(obj))


class RowChoiceField(forms.ModelChoiceField):
    """A row chosen by its id. Why not Django's own field: it reads "٣" (Arabic-Indic three) as 3, so
    a page's form took ids the API refuses, and a number no row can have overflowed SQLite's INTEGER."""

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, self.queryset.model) and row_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)

    def label_from_instance(self, obj):
        return _label(obj)


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Rows chosen by their ids, each checked by ``row_id`` before the database sees it: a number no row
    can have overflows SQLite's INTEGER (a 500) instead of being an invalid choice."""

    def _check_values(self, value):
        for pk in value or ():
            if row_id(pk) is None:
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)

    def label_from_instance(self, obj):
        return _label(obj)

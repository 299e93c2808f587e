"""Cursor pagination: stable under inserts (new candidates keep arriving while a script pages)
and cheap on large tables, unlike offsets."""
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from ..selectors.review import row_id


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        """``page_size``: a whole number from 1 (more than ``max_page_size`` gives that many). Anything else
        is a 400 saying so: DRF's own fallback answered ``page_size=-1`` with 50 rows and a ``next`` link
        carrying -1 on, which a script could not tell from what it had asked."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw in (None, ""):
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: f"must be a whole number from 1 to {self.max_page_size}"})
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        """A cursor is opaque but comes from the client: its position is an id, and anything else
        (a letter, a NUL, a date, a number no row can have) is a bad cursor (404), not a 500."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            if row_id(cursor.position) is None:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class AscendingIdCursorPagination(IdCursorPagination):
    ordering = "id"

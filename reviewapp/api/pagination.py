"""Cursor pagination: stable under inserts (new candidates keep arriving while a script pages)
and cheap on large tables, unlike offsets."""
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from ..selectors.review import row_id


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

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

"""Cursor pagination: stable under inserts (new candidates keep arriving while a script pages)
and cheap on large tables, unlike offsets."""
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AscendingIdCursorPagination(IdCursorPagination):
    ordering = "id"

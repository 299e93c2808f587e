"""Logging filters. A 403 is a person following a link they may not use, not a fault in the code:
Django logs it as a warning with the PermissionDenied traceback attached, which buries real errors.
This keeps the one-line warning (path and status) and drops the traceback."""
import logging


class NoTracebackForForbidden(logging.Filter):
    def filter(self, record):
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True

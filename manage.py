#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # missing or bad settings (no SECRET_KEY outside `make`, bad JSON...): one line, not a traceback
        sys.exit(f"manage.py: configuration error: {exc}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Run outside `make` (no DEBUG, no SECRET_KEY), the settings refuse to start; that is a
configuration problem for the person at the terminal, so it is said in one line on stderr
(exit status 2) instead of a Python traceback."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewapp.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        print(f"doppel: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""`make run`'s web server: Django's runserver (with its static files), answering without the
40 ms stalls of Nagle's algorithm, and with a 400 (not a 500) for a static path that climbs out
of the static folders.

runserver writes a response in several small writes (status line, headers, body) on a keep-alive
connection; with Nagle's algorithm on, the body waits for the browser's delayed ACK of the headers,
about 40 ms on Linux. Measured in Chromium on the file view after a decision (POST, redirect,
next page): the page's body took 42–47 ms to arrive after its headers, 3–13 ms with TCP_NODELAY.
Production servers (gunicorn) set TCP_NODELAY themselves. doppel_run starts this command.
"""
from __future__ import annotations

import socket

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.core.servers.basehttp import WSGIServer
from django.http import Http404
from django.urls import get_resolver


class NoDelayWSGIServer(WSGIServer):
    """runserver's server, with TCP_NODELAY on every accepted connection."""

    def get_request(self):
        sock, addr = super().get_request()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket: nothing to turn off
        return sock, addr


class GuardedStaticFilesHandler(StaticFilesHandler):
    """runserver's static files, where `/static/%2e%2e/...` raised SuspiciousFileOperation past the
    handler (only Http404 is caught there) and the client got wsgiref's bare 500. Answered as
    Django answers a suspicious request anywhere else: a 400, logged without a traceback. A file
    that is not there gets the site's styled 404, as every other path does."""

    def get_response(self, request):
        try:
            return self.serve(request)
        except Http404 as exc:  # the site's 404 page, not the debug page DEBUG=1 would show
            return get_resolver().resolve_error_handler(404)(request, exc)
        except SuspiciousOperation as exc:
            return response_for_exception(request, exc)


class Command(RunserverCommand):
    help = "runserver with TCP_NODELAY (no Nagle stalls on keep-alive connections); used by doppel_run."
    server_cls = NoDelayWSGIServer

    def get_handler(self, *args, **options):
        handler = super().get_handler(*args, **options)
        if isinstance(handler, StaticFilesHandler):
            return GuardedStaticFilesHandler(handler.application)
        return handler

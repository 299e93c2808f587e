"""`make run`'s web server: Django's runserver (with its static files), answering without the
40 ms stalls of Nagle's algorithm.

runserver writes a response in several small writes (status line, headers, body) on a keep-alive
connection; with Nagle's algorithm on, the body waits for the browser's delayed ACK of the headers,
about 40 ms on Linux. Measured in Chromium on the file view after a decision (POST, redirect,
next page): the page's body took 42–47 ms to arrive after its headers, 3–13 ms with TCP_NODELAY.
Production servers (gunicorn) set TCP_NODELAY themselves. doppel_run starts this command.
"""
from __future__ import annotations

import socket

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers.basehttp import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    """runserver's server, with TCP_NODELAY on every accepted connection."""

    def get_request(self):
        sock, addr = super().get_request()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket: nothing to turn off
        return sock, addr


class Command(RunserverCommand):
    help = "runserver with TCP_NODELAY (no Nagle stalls on keep-alive connections); used by doppel_run."
    server_cls = NoDelayWSGIServer

"""`make run`'s web server (manage.py doppel_runserver): Django's runserver, static files and all,
with Nagle's algorithm off on every connection it accepts, and the one doppel_run starts."""
from __future__ import annotations

import socket

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver
from django.core.management import get_commands
from django.core.servers.basehttp import WSGIRequestHandler

from reviewapp.management.commands.doppel_run import server_command
from reviewapp.management.commands.doppel_runserver import Command, NoDelayWSGIServer


def test_every_accepted_connection_has_nagle_turned_off():
    server = NoDelayWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        client = socket.create_connection(server.server_address, timeout=5)
        try:
            conn, _addr = server.get_request()
            try:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # the default: Nagle on
            finally:
                conn.close()
        finally:
            client.close()
    finally:
        server.server_close()


def test_it_is_runserver_with_static_files_and_make_run_starts_it():
    assert issubclass(Command, StaticRunserver)  # DEBUG still serves static/ as before
    assert Command.server_cls is NoDelayWSGIServer
    assert get_commands()["doppel_runserver"] == "reviewapp"
    cmd = server_command(host="127.0.0.1", port=8123)
    assert cmd[2:] == ["doppel_runserver", "127.0.0.1:8123", "--noreload"]

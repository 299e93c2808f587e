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


def test_a_static_path_that_climbs_out_is_a_400_not_a_server_error(settings):
    """`curl --path-as-is /static/%2e%2e/%2e%2e/manage.py` reached SuspiciousFileOperation inside
    runserver's static handler, which answers only Http404: the client got a bare 500."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from reviewapp.management.commands.doppel_runserver import GuardedStaticFilesHandler

    settings.DEBUG = True
    handler = GuardedStaticFilesHandler(WSGIHandler())
    bad = RequestFactory().get("/static/../../manage.py")
    bad.path = bad.path_info = "/static/../../manage.py"
    assert handler.get_response(bad).status_code == 400
    ok = RequestFactory().get("/static/reviewapp/doppel.js")
    assert handler.get_response(ok).status_code == 200
    missing = handler.get_response(RequestFactory().get("/static/x.css"))
    assert missing.status_code == 404 and b'data-testid="not-found-path"' in missing.content  # the site's page

# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the PyGObject tests. They load Tcp-1.typelib from the
# build tree (GI_TYPELIB_PATH comes from tests/meson.build).
#
# Callbacks only record what happened and quit the loop: an exception raised
# inside a GLib callback is printed and swallowed by PyGObject, so every
# assertion comes after run_loop() returns.

import socket

# No try/except: without gi or the typelib the import fails and so does
# the test run.
import gi

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Tcp', '1')

from gi.repository import GLib, Gio, Tcp  # noqa: E402

import pytest  # noqa: E402

LOOP_TIMEOUT_MS = 5000


class LoopRunner:
    """A GLib.MainLoop with a timeout guard: run() returns False on timeout."""

    def __init__(self):
        self.loop = GLib.MainLoop()
        self.timed_out = False

    def quit(self, *args):
        self.loop.quit()

    def run(self, timeout_ms=LOOP_TIMEOUT_MS):
        def on_timeout():
            self.timed_out = True
            self.loop.quit()
            return GLib.SOURCE_REMOVE

        self.timed_out = False
        source_id = GLib.timeout_add(timeout_ms, on_timeout)
        self.loop.run()
        if not self.timed_out:
            GLib.source_remove(source_id)
        return not self.timed_out


@pytest.fixture
def loop():
    return LoopRunner()


@pytest.fixture
def server():
    srv = Tcp.Server()
    yield srv
    srv.close()


def listen_loopback(srv):
    srv.listen_on('127.0.0.1', 0)
    return srv.get_server_port()


def connect(port, host='127.0.0.1'):
    """A plain blocking client from Python's socket module. On loopback the
    kernel completes the handshake before the server accepts, so this
    returns at once."""
    sock = socket.create_connection((host, port), timeout=5)
    return sock


def recv_all(sock):
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b''.join(chunks)
        chunks.append(data)


def is_io_error(error, code):
    return isinstance(error, GLib.Error) and error.matches(Gio.io_error_quark(), code)


def has_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False

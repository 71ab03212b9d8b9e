# SPDX-License-Identifier: LGPL-2.1-or-later
# wait_for_new_connection(): blocking, no main loop.

import threading
import time

import pytest
from gi.repository import GLib, Gio

from conftest import connect, is_io_error, listen_loopback


def test_wait_with_a_waiting_client(server):
    port = listen_loopback(server)
    signals = []
    server.connect('new-connection', lambda s: signals.append('new'))
    client = connect(port)

    # (bool, timed_out): the out parameter comes back in a tuple.
    ok, timed_out = server.wait_for_new_connection(5000)

    assert ok is True
    assert timed_out is False
    # The signals ran although no main loop did.
    assert signals == ['new']
    conn = server.next_pending_connection()
    assert isinstance(conn, Gio.TcpConnection)
    client.close()


def test_wait_blocks_until_a_client_arrives(server):
    port = listen_loopback(server)
    clients = []

    def late_client():
        time.sleep(0.2)
        clients.append(connect(port))

    thread = threading.Thread(target=late_client)
    start = time.monotonic()
    thread.start()
    ok, timed_out = server.wait_for_new_connection(5000)
    elapsed = time.monotonic() - start
    thread.join()

    assert ok and not timed_out
    assert 0.15 <= elapsed < 5
    assert server.has_pending_connections()
    clients[0].close()


def test_wait_without_a_client_times_out(server):
    listen_loopback(server)
    # Before any error the server reports FAILED, Qt's UnknownSocketError.
    assert server.get_server_error() == Gio.IOErrorEnum.FAILED
    start = time.monotonic()
    # The timed_out out argument is lost with the exception: in Python the
    # error code is what tells a timeout.
    with pytest.raises(GLib.Error) as info:
        server.wait_for_new_connection(200)
    elapsed = time.monotonic() - start

    assert is_io_error(info.value, Gio.IOErrorEnum.TIMED_OUT)
    assert 0.15 <= elapsed < 3
    assert not server.has_pending_connections()
    # The timeout is recorded as the server's error (Qt's SocketTimeoutError).
    assert server.get_server_error() == Gio.IOErrorEnum.TIMED_OUT
    assert server.get_error_string() == info.value.message
    assert server.get_error_string() != ''
    # Still listening: a timeout is not a failure of the listener.
    assert server.props.listening


def test_wait_returns_at_once_with_a_queued_connection(server, loop):
    port = listen_loopback(server)
    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert loop.run()

    assert server.wait_for_new_connection(0) == (True, False)
    client.close()

# SPDX-License-Identifier: LGPL-2.1-or-later
# Errors reach Python as GLib.Error with the right Gio.IOErrorEnum code, and
# leave the server as it was.

import os
import socket
import tempfile

import pytest
from gi.repository import GLib, Gio, Tcp

from conftest import connect, is_io_error, listen_loopback


def test_address_in_use(server):
    port = listen_loopback(server)
    other = Tcp.Server()
    with pytest.raises(GLib.Error) as info:
        other.listen_on('127.0.0.1', port)

    assert is_io_error(info.value, Gio.IOErrorEnum.ADDRESS_IN_USE)
    assert str(port) in info.value.message
    assert not other.props.listening
    assert other.get_server_port() == 0
    assert other.get_server_error() == Gio.IOErrorEnum.ADDRESS_IN_USE
    assert other.get_error_string() == info.value.message


def test_listen_twice_keeps_first_listener(server, loop):
    port = listen_loopback(server)
    with pytest.raises(GLib.Error) as info:
        server.listen_on('127.0.0.1', 0)

    assert is_io_error(info.value, Gio.IOErrorEnum.FAILED)
    assert 'already listening' in info.value.message
    assert server.props.listening
    assert server.get_server_port() == port

    # The first listener still accepts.
    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert loop.run()
    assert server.next_pending_connection() is not None
    client.close()


def test_listen_on_rejects_host_names(server):
    # "localhost" is the one name listen_on() knows; others are not resolved.
    with pytest.raises(GLib.Error) as info:
        server.listen_on('localhost.localdomain', 0)
    assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert not server.props.listening


def test_bad_descriptors(server):
    with pytest.raises(GLib.Error) as info:
        server.set_socket_descriptor(-1)
    assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)

    # A closed descriptor.
    fd = os.dup(0)
    os.close(fd)
    with pytest.raises(GLib.Error) as info:
        server.set_socket_descriptor(fd)
    assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)

    # A regular file.
    with tempfile.TemporaryFile() as f:
        with pytest.raises(GLib.Error) as info:
            server.set_socket_descriptor(f.fileno())
        assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
        assert 'not a socket' in info.value.message

    # UDP.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(('127.0.0.1', 0))
        with pytest.raises(GLib.Error) as info:
            server.set_socket_descriptor(udp.fileno())
        assert is_io_error(info.value, Gio.IOErrorEnum.NOT_SUPPORTED)

    # TCP, bound but not listening.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(('127.0.0.1', 0))
        with pytest.raises(GLib.Error) as info:
            server.set_socket_descriptor(tcp.fileno())
        assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
        assert 'not listening' in info.value.message
        # The descriptor is still the caller's and still usable.
        tcp.listen()

    assert not server.props.listening
    assert server.get_socket_descriptor() == -1


def test_adopt_listening_descriptor(server, loop):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen()
    port = listener.getsockname()[1]

    # On success the server owns the descriptor.
    assert server.set_socket_descriptor(listener.detach())
    assert server.props.listening
    assert server.get_server_port() == port

    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert loop.run()
    assert server.next_pending_connection() is not None
    client.close()


def test_wait_times_out(server):
    listen_loopback(server)
    with pytest.raises(GLib.Error) as info:
        server.wait_for_new_connection(50)
    assert is_io_error(info.value, Gio.IOErrorEnum.TIMED_OUT)


def test_wait_when_not_listening(server):
    with pytest.raises(GLib.Error) as info:
        server.wait_for_new_connection(50)
    assert is_io_error(info.value, Gio.IOErrorEnum.NOT_CONNECTED)


def test_accept_async_when_not_listening(server, loop):
    results = []

    def done(srv, result):
        try:
            results.append(srv.accept_finish(result))
        except GLib.Error as e:
            results.append(e)
        loop.quit()

    server.accept_async(None, done)
    assert loop.run()
    assert len(results) == 1
    assert is_io_error(results[0], Gio.IOErrorEnum.NOT_CONNECTED)

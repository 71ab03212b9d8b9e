# SPDX-License-Identifier: LGPL-2.1-or-later
# The 1.1 ways to listen from Python: listen_range(), listen_on('localhost'),
# and what every accepted connection gets (the no-delay and keepalive
# properties). Socket activation is in test_activation.py.

import socket

import pytest
from gi.repository import GLib, Gio, Tcp

from conftest import connect, has_ipv6, is_io_error

WAIT_MS = 5000


def loopback4():
    return Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4)


def occupy(port):
    """A Python socket listening on 127.0.0.1:@port, or None when taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', port))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


def occupy_run(count, free_after=1):
    """Finds @count + @free_after free ports in a row and takes the first
    @count. Returns (first port, the Python sockets holding the taken ones).

    The ports come from the ephemeral range (port 0 picks them), where any
    outgoing connection on the machine may take one at any time: the free
    ones are checked last, just before the caller uses them."""
    for _ in range(50):
        probe = occupy(0)
        first = probe.getsockname()[1]
        probe.close()
        if first + count + free_after - 1 > 65535:
            continue
        held = [occupy(first + i) for i in range(count)]
        if all(held):
            free = [occupy(first + count + i) for i in range(free_after)]
            for sock in free:
                if sock is not None:
                    sock.close()
            if all(free):
                return first, held
        for sock in held:
            if sock is not None:
                sock.close()
    pytest.fail(f'found no {count + free_after} free ports in a row')


def take_connection(srv):
    ok, timed_out = srv.wait_for_new_connection(WAIT_MS)
    assert ok and not timed_out
    conn = srv.next_pending_connection()
    assert isinstance(conn, Gio.SocketConnection)
    return conn


# listen_range()

def test_range_takes_the_first_free_port(server):
    # Two ports taken, two free: the first free one, not the last.
    first, held = occupy_run(2, free_after=2)
    try:
        assert server.listen_range(loopback4(), first, first + 3) is True
        assert server.props.listening
        assert server.get_server_port() == first + 2
        assert server.props.server_port == first + 2
        assert server.get_server_address().to_string() == '127.0.0.1'

        # The peer that reaches first + 2 is the one the server accepts.
        client = connect(first + 2)
        conn = take_connection(server)
        assert conn.get_remote_address().get_port() == client.getsockname()[1]
        client.close()
        conn.close(None)
    finally:
        for sock in held:
            sock.close()


def test_range_first_port_free(server):
    # Nothing taken: the first port of the range, not any other.
    first, held = occupy_run(0, free_after=2)
    assert held == []
    server.listen_range(loopback4(), first, first + 1)
    assert server.get_server_port() == first


def test_range_all_taken(server):
    first, held = occupy_run(2, free_after=0)
    try:
        with pytest.raises(GLib.Error) as info:
            server.listen_range(loopback4(), first, first + 1)
    finally:
        for sock in held:
            sock.close()

    error = info.value
    assert is_io_error(error, Gio.IOErrorEnum.ADDRESS_IN_USE)
    assert f'from {first} to {first + 1}' in error.message
    assert '127.0.0.1' in error.message
    assert not server.props.listening
    assert server.get_server_port() == 0
    assert server.get_server_error() == Gio.IOErrorEnum.ADDRESS_IN_USE
    assert server.get_error_string() == error.message


@pytest.mark.parametrize('first_port, last_port', [(2000, 1999), (0, 10), (0, 0)])
def test_range_bad(server, first_port, last_port):
    with pytest.raises(GLib.Error) as info:
        server.listen_range(loopback4(), first_port, last_port)
    assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert not server.props.listening
    assert server.get_server_error() == Gio.IOErrorEnum.INVALID_ARGUMENT


def test_range_out_of_uint16_is_the_bindings_error(server):
    # PyGObject checks the guint16 itself, before the call.
    with pytest.raises(OverflowError):
        server.listen_range(loopback4(), 1, 65536)
    with pytest.raises(OverflowError):
        server.listen_range(loopback4(), -1, 10)
    assert not server.props.listening


def test_range_through_a_proxy(server):
    nobody = occupy(0)
    proxy_port = nobody.getsockname()[1]
    nobody.close()
    server.props.proxy = f'socks5://127.0.0.1:{proxy_port}'

    # Any address (no address): the proxy would pick the port.
    with pytest.raises(GLib.Error) as info:
        server.listen_range(None, 40000, 40010)
    assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert 'proxy' in info.value.message
    assert not server.props.listening

    # Loopback never goes through the proxy: the range works.
    first, held = occupy_run(1)
    try:
        server.listen_range(loopback4(), first, first + 1)
    finally:
        held[0].close()
    assert server.get_server_port() == first + 1
    assert server.get_socket_descriptor() >= 0


# listen_on('localhost')

def test_localhost_both_loopbacks_one_port(server):
    assert server.listen_on('localhost', 0) is True
    port = server.get_server_port()
    assert port != 0
    assert server.get_server_address().to_string() == '127.0.0.1'
    assert server.props.server_address.to_string() == '127.0.0.1'
    assert server.get_socket().get_family() == Gio.SocketFamily.IPV4

    client4 = connect(port, '127.0.0.1')
    conn4 = take_connection(server)
    assert conn4.get_remote_address().get_port() == client4.getsockname()[1]
    assert conn4.get_socket().get_family() == Gio.SocketFamily.IPV4

    ipv6 = has_ipv6()
    if ipv6:
        client6 = connect(port, '::1')
        conn6 = take_connection(server)
        remote = conn6.get_remote_address()
        assert remote.get_port() == client6.getsockname()[1]
        assert remote.get_address().to_string() == '::1'
        assert conn6.get_socket().get_family() == Gio.SocketFamily.IPV6
        client6.close()

    server.close()
    assert not server.props.listening
    assert server.get_server_address() is None
    with pytest.raises(ConnectionRefusedError):
        connect(port, '127.0.0.1')
    if ipv6:
        with pytest.raises(ConnectionRefusedError):
            connect(port, '::1')
    else:
        print('no IPv6 loopback on this machine: ::1 not checked')
    client4.close()


def test_localhost_ignores_case_and_the_proxy(server):
    nobody = occupy(0)
    proxy_port = nobody.getsockname()[1]
    nobody.close()
    server.props.proxy = f'socks5://127.0.0.1:{proxy_port}'
    server.listen_on('LocalHost', 0)
    assert server.get_socket_descriptor() >= 0
    client = connect(server.get_server_port())
    take_connection(server).close(None)
    client.close()


def test_localhost_port_taken(server):
    taken = occupy(0)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(GLib.Error) as info:
            server.listen_on('localhost', port)
    finally:
        taken.close()
    assert is_io_error(info.value, Gio.IOErrorEnum.ADDRESS_IN_USE)
    assert not server.props.listening
    assert server.get_socket_descriptor() == -1


# no-delay and keepalive

def socket_options(conn):
    """(TCP_NODELAY, SO_KEEPALIVE) of an accepted connection's socket, as the
    kernel has them."""
    sock = conn.get_socket()
    ok, no_delay = sock.get_option(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert ok
    ok, keepalive = sock.get_option(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    assert ok
    # GSocket's own idea of keepalive matches the kernel's.
    assert sock.get_keepalive() == (keepalive != 0)
    return no_delay != 0, keepalive != 0


def accept_options(srv):
    client = connect(srv.get_server_port())
    conn = take_connection(srv)
    options = socket_options(conn)
    conn.close(None)
    client.close()
    return options


def test_options_default(server):
    assert server.props.no_delay is True
    assert server.props.keepalive is False
    assert server.get_no_delay() is True
    assert server.get_keepalive() is False
    server.listen_on('127.0.0.1', 0)
    assert accept_options(server) == (True, False)


def test_options_changed_while_listening(server):
    server.listen_on('127.0.0.1', 0)
    assert accept_options(server) == (True, False)

    server.props.no_delay = False
    server.props.keepalive = True
    assert accept_options(server) == (False, True)

    server.set_no_delay(True)
    assert accept_options(server) == (True, True)

    server.set_keepalive(False)
    server.set_no_delay(False)
    assert accept_options(server) == (False, False)

    # And back to the defaults.
    server.set_no_delay(True)
    assert accept_options(server) == (True, False)


def test_options_reach_connections_queued_before_the_change(server):
    # Clients the kernel completed while the server was paused inherited the
    # old options from the listening socket; they are accepted after the
    # change, and so get the new ones.
    server.listen_on('127.0.0.1', 0)
    server.pause_accepting()
    clients = [connect(server.get_server_port()) for _ in range(3)]
    server.props.no_delay = False
    server.props.keepalive = True
    server.resume_accepting()
    for _ in clients:
        conn = take_connection(server)
        assert socket_options(conn) == (False, True)
        conn.close(None)
    for client in clients:
        client.close()


def test_options_set_before_listening(server):
    server.props.no_delay = False
    server.props.keepalive = True
    server.listen_on('localhost', 0)
    assert accept_options(server) == (False, True)


def test_options_notify_only_on_change(server):
    notified = []
    server.connect('notify::no-delay', lambda s, pspec: notified.append(pspec.name))
    server.connect('notify::keepalive', lambda s, pspec: notified.append(pspec.name))

    server.props.no_delay = True        # the default: no change
    server.set_keepalive(False)         # the default: no change
    assert notified == []

    server.props.no_delay = False
    server.set_no_delay(False)
    server.set_keepalive(True)
    server.props.keepalive = True
    assert notified == ['no-delay', 'keepalive']

    server.listen_on('127.0.0.1', 0)
    server.set_no_delay(True)
    server.set_no_delay(True)
    assert notified == ['no-delay', 'keepalive', 'no-delay']
    assert server.props.no_delay is True
    assert server.props.keepalive is True


def test_options_are_properties():
    # Construct properties work too.
    srv = Tcp.Server(no_delay=False, keepalive=True)
    assert srv.get_no_delay() is False
    assert srv.get_keepalive() is True

# SPDX-License-Identifier: LGPL-2.1-or-later
# TcpServer through PyGObject: listen, accept, exchange, properties, signals.

import socket

import pytest
from gi.repository import GLib, GObject, Gio, Tcp

from conftest import connect, has_ipv6, listen_loopback, recv_all


def exchange(srv, loop, host):
    port = srv.get_server_port()
    seen = []
    srv.connect('new-connection', lambda s: (seen.append('new'), loop.quit()))

    client = connect(port, host)
    client.sendall(b'ping\n')
    assert loop.run(), 'no new-connection within the timeout'
    assert seen == ['new']

    assert srv.has_pending_connections()
    assert srv.get_n_pending_connections() == 1
    conn = srv.next_pending_connection()
    assert isinstance(conn, Gio.TcpConnection)
    assert srv.next_pending_connection() is None
    assert not srv.has_pending_connections()

    # The peer address the server sees is the client's own address.
    remote = conn.get_remote_address()
    assert remote.get_port() == client.getsockname()[1]

    data = conn.get_input_stream().read_bytes(5, None).get_data()
    assert data == b'ping\n'
    ok, written = conn.get_output_stream().write_all(b'pong\n', None)
    assert ok and written == 5
    conn.close(None)

    assert recv_all(client) == b'pong\n'
    client.close()


def test_listen_accept_exchange_ipv4(server, loop):
    listen_loopback(server)
    assert server.get_server_address().to_string() == '127.0.0.1'
    exchange(server, loop, '127.0.0.1')


def test_listen_accept_exchange_ipv6(server, loop):
    if not has_ipv6():
        # Not a missing binding: the machine has no IPv6 loopback.
        pytest.skip('no IPv6 loopback on this machine')
    server.listen(Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV6), 0)
    assert server.get_server_address().get_family() == Gio.SocketFamily.IPV6
    exchange(server, loop, '::1')


def test_listen_with_inet_address(server, loop):
    server.listen(Gio.InetAddress.new_from_string('127.0.0.1'), 0)
    assert server.props.listening
    exchange(server, loop, '127.0.0.1')


def test_every_property_readable(server):
    expected = {
        'listening': False,
        'server-address': None,
        'server-port': 0,
        'max-pending-connections': 30,
        'listen-backlog-size': 4096,
        'reuse-port': False,
        'paused': False,
        'proxy': None,
        'proxy-timeout': 5000,
        'no-delay': True,
        'keepalive': False,
    }
    names = {pspec.name for pspec in Tcp.Server.list_properties()}
    # A property added to the class must be added here too.
    assert names == set(expected)
    for name, value in expected.items():
        assert server.get_property(name) == value, name

    assert server.props.listening is False
    assert server.props.server_address is None
    assert server.props.server_port == 0
    assert server.get_server_error() == Gio.IOErrorEnum.FAILED
    assert server.get_error_string() == ''
    assert server.get_socket() is None
    assert server.get_socket_descriptor() == -1

    port = listen_loopback(server)
    assert port > 0
    assert server.props.listening is True
    assert server.is_listening()
    assert server.props.server_port == port
    assert server.props.server_address.to_string() == '127.0.0.1'
    assert isinstance(server.get_socket(), Gio.Socket)
    assert server.get_socket_descriptor() == server.get_socket().get_fd()


def test_writable_properties_notify(server):
    changed = []
    server.connect('notify', lambda s, pspec: changed.append(pspec.name))

    server.props.max_pending_connections = 5
    server.set_max_pending_connections(5)          # no change, no notify
    server.props.listen_backlog_size = 128
    server.props.reuse_port = True
    server.props.proxy = 'socks5://127.0.0.1:1080'
    server.set_proxy(None)
    server.pause_accepting()
    server.resume_accepting()

    assert server.get_max_pending_connections() == 5
    assert server.get_listen_backlog_size() == 128
    assert server.get_reuse_port() is True
    assert server.get_proxy() is None
    assert changed == ['max-pending-connections', 'listen-backlog-size', 'reuse-port',
                       'proxy', 'proxy', 'paused', 'paused']


def test_notify_listening(server):
    seen = []
    server.connect('notify::listening', lambda s, pspec: seen.append(s.props.listening))
    ports = []
    server.connect('notify::server-port', lambda s, pspec: ports.append(s.props.server_port))

    port = listen_loopback(server)
    server.close()
    server.close()                                  # already closed: no notify

    assert seen == [True, False]
    assert ports == [port, 0]


def test_signal_signatures():
    for name in ('new-connection', 'pending-connection-available'):
        query = GObject.signal_query(name, Tcp.Server)
        assert query is not None, name
        assert len(query.param_types) == 0, name
        assert query.return_type == GObject.TYPE_NONE

    query = GObject.signal_query('accept-error', Tcp.Server)
    assert len(query.param_types) == 1
    assert query.param_types[0].name == 'GError'


def test_accept_error_carries_a_gerror(server):
    got = []
    server.connect('accept-error', lambda s, error: got.append(error))
    error = GLib.Error.new_literal(Gio.io_error_quark(), 'no more descriptors',
                                   Gio.IOErrorEnum.TOO_MANY_OPEN_FILES)
    server.emit('accept-error', error)

    assert len(got) == 1
    assert isinstance(got[0], GLib.Error)
    assert got[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.TOO_MANY_OPEN_FILES)
    assert got[0].message == 'no more descriptors'


def test_signal_order_and_counts(server, loop):
    port = listen_loopback(server)
    events = []
    server.connect('pending-connection-available', lambda s: events.append('pending'))

    def on_new(srv):
        events.append('new')
        if events.count('new') == 3:
            loop.quit()

    server.connect('new-connection', on_new)
    clients = [connect(port) for _ in range(3)]
    assert loop.run()

    # The default incoming_connection queues first, then new-connection.
    assert events == ['pending', 'new'] * 3
    conns = [server.next_pending_connection() for _ in range(3)]
    assert all(isinstance(c, Gio.SocketConnection) for c in conns)
    assert server.next_pending_connection() is None
    for c in clients:
        c.close()


def test_close_drops_pending_connections(server, loop):
    port = listen_loopback(server)
    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert loop.run()
    assert server.has_pending_connections()

    server.close()
    assert not server.has_pending_connections()
    assert not server.props.listening
    # The client sees end-of-file: the queued connection was closed.
    client.settimeout(5)
    assert client.recv(1) == b''
    client.close()


def test_max_pending_connections(server, loop):
    server.props.max_pending_connections = 2
    port = listen_loopback(server)
    counted = []

    def on_new(srv):
        counted.append(srv.get_n_pending_connections())
        if len(counted) == 2:
            loop.quit()

    server.connect('new-connection', on_new)
    clients = [connect(port) for _ in range(3)]
    assert loop.run()
    # However long we look, the third client stays in the kernel's queue.
    loop.run(300)
    assert counted == [1, 2]
    assert server.get_n_pending_connections() == 2

    server.next_pending_connection().close(None)
    server.connect('new-connection', loop.quit)
    assert loop.run()
    assert server.get_n_pending_connections() == 2
    assert len(counted) == 3
    for c in clients:
        c.close()


def test_pause_and_resume(server, loop):
    port = listen_loopback(server)
    server.pause_accepting()
    assert server.props.paused
    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert not loop.run(300), 'a paused server accepted'
    assert not server.has_pending_connections()

    server.resume_accepting()
    assert loop.run()
    assert server.has_pending_connections()
    client.close()


def test_add_pending_connection_without_listening(server):
    a, b = socket.socketpair()
    conn = Gio.Socket.new_from_fd(a.detach()).connection_factory_create_connection()
    seen = []
    server.connect('pending-connection-available', lambda s: seen.append(True))
    server.add_pending_connection(conn)
    assert seen == [True]
    assert server.next_pending_connection() is conn
    conn.close(None)
    b.close()


def test_setter_methods(server):
    # Each writable property through its setter method, read back through
    # both the getter and the property.
    server.set_listen_backlog_size(128)
    assert server.get_listen_backlog_size() == 128
    assert server.props.listen_backlog_size == 128

    server.set_reuse_port(True)
    assert server.get_reuse_port() is True
    assert server.props.reuse_port is True

    server.set_proxy_timeout(1234)
    assert server.get_proxy_timeout() == 1234
    assert server.props.proxy_timeout == 1234

    server.set_max_pending_connections(7)
    assert server.get_max_pending_connections() == 7

    server.set_proxy('socks5://127.0.0.1:1080')
    assert server.get_proxy() == 'socks5://127.0.0.1:1080'
    server.set_proxy(None)
    assert server.get_proxy() is None

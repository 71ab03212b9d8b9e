# SPDX-License-Identifier: LGPL-2.1-or-later
# The server knows its connections, through PyGObject: the get_connections()
# model and n-connections, max-connections, the per-peer limits and rules
# with connection-refused and Tcp.Refusal, and shutdown_async().
#
# Peers other than 127.0.0.1 come from a client bound to another address of
# 127.0.0.0/8, all of which is loopback on Linux.

import gc
import socket
import threading
import time

import pytest
from gi.repository import GLib, Gio, Tcp

from conftest import LOOP_TIMEOUT_MS, is_io_error, listen_loopback


def connect_from(port, source='127.0.0.1'):
    """A blocking client from @source to the server on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.bind((source, 0))
    sock.connect(('127.0.0.1', port))
    return sock


def run_until(predicate, timeout_ms=LOOP_TIMEOUT_MS):
    """Runs the default main context until predicate() holds; False when
    the timeout passed first. Only the predicate runs in the loop: the
    caller asserts on what it returns."""
    if predicate():
        return True
    loop = GLib.MainLoop()
    met = []

    def check():
        if predicate():
            met.append(True)
            loop.quit()
        return GLib.SOURCE_CONTINUE

    def give_up():
        loop.quit()
        return GLib.SOURCE_CONTINUE

    check_id = GLib.timeout_add(5, check)
    guard_id = GLib.timeout_add(timeout_ms, give_up)
    loop.run()
    GLib.source_remove(check_id)
    GLib.source_remove(guard_id)
    return bool(met)


def run_for(ms):
    """Runs the default main context for @ms milliseconds."""
    run_until(lambda: False, ms)


def assert_reset(sock):
    """What a refused client sees: the server reset the connection."""
    with pytest.raises(ConnectionResetError):
        sock.recv(1)


class Refusals:
    """Records connection-refused as (address, port, reason, types)."""

    def __init__(self, srv):
        self.seen = []
        srv.connect('connection-refused', self.on_refused)

    def on_refused(self, srv, peer, reason):
        self.seen.append((peer.get_address().to_string(), peer.get_port(), reason,
                          type(peer), type(reason)))

    def __len__(self):
        return len(self.seen)


# The model


def test_model_is_a_list_model_of_io_streams(server):
    model = server.get_connections()
    assert isinstance(model, Gio.ListModel)
    assert server.get_connections() is model
    assert model.get_item_type() == Gio.IOStream.__gtype__
    assert model.get_n_items() == 0
    assert model.get_item(0) is None
    assert server.props.n_connections == 0
    assert server.get_n_connections() == 0


def test_served_in_handler_never_listed(server):
    """The fortune pattern: a connection served and closed in its
    new-connection handler never enters the model nor changes
    n-connections, so a list view bound to it does not flicker."""
    port = listen_loopback(server)
    model = server.get_connections()
    changes = []
    counts = []
    served = []
    model.connect('items-changed', lambda *args: changes.append(args[1:]))
    server.connect('notify::n-connections', lambda s, p: counts.append(s.props.n_connections))

    def serve(srv):
        while True:
            conn = srv.next_pending_connection()
            if conn is None:
                break
            conn.close(None)
            served.append(conn)

    server.connect('new-connection', serve)
    clients = []
    for i in range(3):
        clients.append(connect_from(port))
        assert run_until(lambda: len(served) == i + 1)
    run_for(20)
    for client in clients:
        client.close()
    assert changes == []
    assert counts == []
    assert model.get_n_items() == 0


def test_model_follows_connections(server):
    port = listen_loopback(server)
    model = server.get_connections()
    changes = []
    counts = []
    model.connect('items-changed', lambda m, pos, removed, added:
                  changes.append((pos, removed, added)))
    server.connect('notify::n-connections', lambda s, pspec:
                   counts.append(s.props.n_connections))

    clients = [connect_from(port)]
    assert run_until(lambda: server.get_n_pending_connections() == 1)
    clients.append(connect_from(port))
    assert run_until(lambda: server.get_n_pending_connections() == 2)
    assert model.get_n_items() == 2
    assert len(model) == 2
    assert server.props.n_connections == 2
    assert changes == [(0, 0, 1), (1, 0, 1)]
    assert counts == [1, 2]

    # Handed out is still alive; oldest first.
    first = server.next_pending_connection()
    second = server.next_pending_connection()
    assert model.get_item(0) is first
    assert model.get_item(1) is second
    assert model.get_item(2) is None
    assert isinstance(model.get_item(0), Gio.TcpConnection)
    assert [c for c in model] == [first, second]
    local_ports = [c.getsockname()[1] for c in clients]
    assert [c.get_socket().get_remote_address().get_port() for c in model] == local_ports

    # Closed: still in the model until the main context runs.
    first.close(None)
    assert model.get_n_items() == 2
    assert changes == [(0, 0, 1), (1, 0, 1)]
    assert run_until(lambda: server.props.n_connections == 1)
    assert model.get_n_items() == 1
    assert model.get_item(0) is second
    assert changes[2:] == [(0, 1, 0)]
    assert counts == [1, 2, 1]

    # Dropped without a close: the model does not keep it alive.
    finalized = []
    second.weak_ref(lambda: finalized.append(True))
    del second
    gc.collect()
    assert finalized == [True]
    assert run_until(lambda: server.props.n_connections == 0)
    assert model.get_n_items() == 0
    assert changes[3:] == [(0, 1, 0)]
    assert counts == [1, 2, 1, 0]
    # The finalized connection's socket was closed: its client sees the end.
    assert clients[1].recv(1) == b''
    for c in clients:
        c.close()


def test_model_asked_for_late(server):
    port = listen_loopback(server)
    client = connect_from(port)
    assert run_until(lambda: server.get_n_pending_connections() == 1)
    taken = server.next_pending_connection()
    assert server.props.n_connections == 1

    model = server.get_connections()
    assert model.get_n_items() == 1
    assert model.get_item(0) is taken
    taken.close(None)
    client.close()


def test_model_close_in_another_thread(server):
    port = listen_loopback(server)
    model = server.get_connections()
    client = connect_from(port)
    assert run_until(lambda: server.get_n_pending_connections() == 1)
    conn = server.next_pending_connection()
    changes = []
    model.connect('items-changed', lambda *args: changes.append(args[1:]))

    thread = threading.Thread(target=conn.close, args=(None,))
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert conn.is_closed()
    # Not announced from the closing thread, only when this context runs.
    assert changes == []
    assert model.get_n_items() == 1

    assert run_until(lambda: model.get_n_items() == 0)
    assert changes == [(0, 1, 0)]
    client.close()


def test_model_outliving_its_server():
    """A list view keeps the model alive after the application dropped the
    server, while a connection handed out lives on. When that connection
    closes and goes, the model must say so: GListModel.get_item() never
    returns None below get_n_items()."""
    srv = Tcp.Server()
    port = listen_loopback(srv)
    model = srv.get_connections()
    client = connect_from(port)
    assert run_until(lambda: srv.get_n_pending_connections() == 1)
    conn = srv.next_pending_connection()
    srv.close()
    server_gone = []
    srv.weak_ref(lambda: server_gone.append(True))
    del srv
    gc.collect()
    assert server_gone == [True]

    conn.close(None)
    del conn
    gc.collect()
    assert run_until(lambda: model.get_n_items() == 0, 500)
    items = [model.get_item(i) for i in range(model.get_n_items())]
    client.close()
    assert None not in items
    assert items == []


# max-connections


def test_max_connections_stops_and_resumes(server):
    port = listen_loopback(server)
    notified = []
    server.connect('notify::max-connections', lambda s, p: notified.append(s.props.max_connections))
    server.props.max_connections = 2
    assert server.get_max_connections() == 2
    assert notified == [2]

    clients = [connect_from(port) for _ in range(4)]
    assert run_until(lambda: server.get_n_pending_connections() == 2)
    a = server.next_pending_connection()
    b = server.next_pending_connection()

    # Two clients wait in the kernel, the queue is empty, and none is taken.
    run_for(300)
    assert not server.has_pending_connections()
    assert server.props.n_connections == 2

    # A close makes room: the server accepts one more by itself.
    a.close(None)
    assert run_until(lambda: server.get_n_pending_connections() == 1)
    run_for(100)
    assert server.get_n_pending_connections() == 1
    assert server.props.n_connections == 2

    # No limit: the last one comes in.
    server.set_max_connections(0)
    assert run_until(lambda: server.get_n_pending_connections() == 2)
    assert server.props.n_connections == 3
    b.close(None)
    for c in clients:
        c.close()


# Per-peer admission


def test_refusal_enum():
    assert int(Tcp.Refusal.DENIED) == 0
    assert int(Tcp.Refusal.PEER_LIMIT) == 1
    assert int(Tcp.Refusal.RATE_LIMIT) == 2
    assert Tcp.Refusal.PEER_LIMIT.value_nick == 'peer-limit'
    assert Tcp.Refusal.RATE_LIMIT.value_name == 'TCP_REFUSAL_RATE_LIMIT'
    assert Tcp.Refusal(0) == Tcp.Refusal.DENIED


def test_max_connections_per_peer(server):
    port = listen_loopback(server)
    refusals = Refusals(server)
    server.props.max_connections_per_peer = 2
    assert server.get_max_connections_per_peer() == 2

    clients = [connect_from(port), connect_from(port)]
    assert run_until(lambda: server.get_n_pending_connections() == 2)
    third = connect_from(port)
    assert run_until(lambda: len(refusals) == 1)
    address, peer_port, reason, peer_type, reason_type = refusals.seen[0]
    assert address == '127.0.0.1'
    assert peer_port == third.getsockname()[1]
    assert reason == Tcp.Refusal.PEER_LIMIT
    assert peer_type is Gio.InetSocketAddress
    assert reason_type is Tcp.Refusal
    assert_reset(third)
    third.close()

    # Another address is counted apart.
    clients.append(connect_from(port, '127.0.0.2'))
    assert run_until(lambda: server.get_n_pending_connections() == 3)

    # A connection that closes frees its place.
    server.next_pending_connection().close(None)
    run_for(50)
    clients.append(connect_from(port))
    assert run_until(lambda: server.get_n_pending_connections() == 3)
    assert len(refusals) == 1
    for c in clients:
        c.close()


def test_max_connection_rate_per_peer(server):
    port = listen_loopback(server)
    refusals = Refusals(server)
    server.set_max_connection_rate_per_peer(3)
    assert server.props.max_connection_rate_per_peer == 3

    clients = [connect_from(port, '127.0.0.3') for _ in range(4)]
    assert run_until(lambda: len(refusals) == 1)
    assert run_until(lambda: server.get_n_pending_connections() == 3)
    assert refusals.seen[0][0] == '127.0.0.3'
    assert refusals.seen[0][1] == clients[3].getsockname()[1]
    assert refusals.seen[0][2] == Tcp.Refusal.RATE_LIMIT
    assert_reset(clients[3])

    # A third of a second buys one connection back.
    time.sleep(0.4)
    clients.append(connect_from(port, '127.0.0.3'))
    assert run_until(lambda: server.get_n_pending_connections() == 4)
    assert len(refusals) == 1
    for c in clients:
        c.close()


def test_allow_deny_clear(server):
    port = listen_loopback(server)
    refusals = Refusals(server)
    assert server.allow_peers('127.0.1.0/24') is True
    assert server.deny_peers('127.0.1.66') is True

    allowed = connect_from(port, '127.0.1.1')
    assert run_until(lambda: server.get_n_pending_connections() == 1)

    denied = connect_from(port, '127.0.1.66')       # allowed, but deny wins
    assert run_until(lambda: len(refusals) == 1)
    assert refusals.seen[0][0] == '127.0.1.66'
    assert refusals.seen[0][2] == Tcp.Refusal.DENIED
    assert_reset(denied)

    stranger = connect_from(port, '127.0.2.1')      # matches no allow rule
    assert run_until(lambda: len(refusals) == 2)
    assert refusals.seen[1][0] == '127.0.2.1'
    assert refusals.seen[1][2] == Tcp.Refusal.DENIED
    assert_reset(stranger)

    server.clear_peer_rules()
    again = connect_from(port, '127.0.1.66')
    assert run_until(lambda: server.get_n_pending_connections() == 2)
    assert len(refusals) == 2
    for c in (allowed, denied, stranger, again):
        c.close()


@pytest.mark.parametrize('mask', ['', '10.0.0.0/33', '::1/129', '10.0.0.1/8', 'localhost',
                                  '1.2.3', '10.0.0.0/-1'])
def test_bad_mask_changes_no_rule(server, mask):
    port = listen_loopback(server)
    refusals = Refusals(server)
    for add in (server.allow_peers, server.deny_peers):
        with pytest.raises(GLib.Error) as info:
            add(mask)
        assert is_io_error(info.value, Gio.IOErrorEnum.INVALID_ARGUMENT)
        assert repr(mask)[1:-1] in info.value.message

    # Had an allow rule been added, 127.0.0.1 would be refused.
    client = connect_from(port)
    assert run_until(lambda: server.get_n_pending_connections() == 1)
    assert len(refusals) == 0
    client.close()


def test_mask_is_not_nullable(server):
    with pytest.raises(TypeError):
        server.allow_peers(None)


# shutdown_async()


class Shutdown:
    """Starts shutdown_async() and records what shutdown_finish() gave: the
    (ok, n_forced) tuple, or the GLib.Error it raised."""

    def __init__(self, srv, timeout_ms, cancellable=None):
        self.result = None
        self.error = None
        self.done = False
        srv.shutdown_async(timeout_ms, cancellable, self.on_done, 'data')

    def on_done(self, srv, result, user_data):
        try:
            self.result = (srv.shutdown_finish(result), user_data)
        except GLib.Error as e:
            self.error = e
        self.done = True


@pytest.fixture
def with_connections(server):
    """Three clients: two connections handed out, one still queued."""
    port = listen_loopback(server)
    clients = [connect_from(port) for _ in range(3)]
    assert run_until(lambda: server.get_n_pending_connections() == 3)
    a = server.next_pending_connection()
    b = server.next_pending_connection()
    yield server, clients, a, b
    for c in clients:
        c.close()


def test_shutdown_now(with_connections):
    server, clients, a, b = with_connections
    shutdown = Shutdown(server, 0)
    assert run_until(lambda: shutdown.done)
    assert shutdown.error is None
    assert shutdown.result == ((True, 2), 'data')
    assert a.is_closed() and b.is_closed()
    assert server.props.n_connections == 0
    assert not server.props.listening
    for c in clients:
        assert c.recv(4) == b''


def test_shutdown_timeout_forces_the_rest(with_connections):
    server, clients, a, b = with_connections
    shutdown = Shutdown(server, 200)
    a.close(None)
    run_for(50)
    assert not shutdown.done
    assert not b.is_closed()
    assert run_until(lambda: shutdown.done)
    assert shutdown.error is None
    assert shutdown.result == ((True, 1), 'data')
    assert b.is_closed()
    assert server.props.n_connections == 0


def test_shutdown_without_limit(with_connections):
    server, clients, a, b = with_connections
    shutdown = Shutdown(server, -1)
    # Listening stops at once; the queued connection is closed.
    assert not server.props.listening
    assert server.get_n_pending_connections() == 0
    run_for(100)
    assert not shutdown.done

    a.close(None)
    run_for(50)
    assert not shutdown.done
    b.close(None)
    assert run_until(lambda: shutdown.done)
    assert shutdown.error is None
    assert shutdown.result == ((True, 0), 'data')
    assert server.props.n_connections == 0


def test_shutdown_cancelled(with_connections):
    server, clients, a, b = with_connections
    cancellable = Gio.Cancellable()
    shutdown = Shutdown(server, 100, cancellable)
    cancellable.cancel()
    assert run_until(lambda: shutdown.done)
    assert shutdown.result is None
    assert is_io_error(shutdown.error, Gio.IOErrorEnum.CANCELLED)

    # The timeout never fires now: the connections stay open.
    run_for(200)
    assert not a.is_closed() and not b.is_closed()
    assert server.props.n_connections == 2
    a.close(None)
    b.close(None)

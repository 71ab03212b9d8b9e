# SPDX-License-Identifier: LGPL-2.1-or-later
# Python subclasses: do_incoming_connection (threaded fortune server),
# chaining up, a queue of the subclass's own, and a real accept-error.

import os
import resource
import threading
import time

from gi.repository import GLib, Gio, Tcp

from conftest import connect, listen_loopback, recv_all

FORTUNES = [b'You will be surprised by a loud noise.\n',
            b'You might have mail.\n']


class ThreadedFortuneServer(Tcp.Server):
    """Each accepted socket goes to a worker thread; nothing is queued."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.threads = []
        self.sockets = []

    def do_incoming_connection(self, sock):
        self.sockets.append(sock)
        number = len(self.sockets)
        thread = threading.Thread(target=self.serve, args=(sock, number))
        with self.lock:
            self.threads.append(thread)
        thread.start()

    def serve(self, sock, number):
        # A blocking stream over the accepted socket, used from this thread only.
        conn = sock.connection_factory_create_connection()
        conn.get_output_stream().write_all(FORTUNES[number % len(FORTUNES)], None)
        conn.close(None)


def test_threaded_fortune_server(loop):
    server = ThreadedFortuneServer()
    port = listen_loopback(server)
    n_new = []

    def on_new(srv):
        n_new.append(True)
        if len(n_new) == 4:
            loop.quit()

    server.connect('new-connection', on_new)
    clients = [connect(port) for _ in range(4)]
    assert loop.run()

    for thread in server.threads:
        thread.join(5)
    received = [recv_all(c) for c in clients]
    server.close()

    assert len(server.sockets) == 4
    assert all(isinstance(s, Gio.Socket) for s in server.sockets)
    # new-connection fires for every socket, but the override queued nothing.
    assert len(n_new) == 4
    assert not server.has_pending_connections()
    assert sorted(received) == sorted(FORTUNES[n % 2] for n in range(1, 5))
    for c in clients:
        c.close()


class CountingServer(Tcp.Server):
    def __init__(self):
        super().__init__()
        self.seen = []

    def do_incoming_connection(self, sock):
        self.seen.append(sock.get_remote_address().get_port())
        # The default implementation queues the connection.
        Tcp.Server.do_incoming_connection(self, sock)


def test_override_chaining_up(loop):
    server = CountingServer()
    port = listen_loopback(server)
    server.connect('new-connection', loop.quit)
    client = connect(port)
    assert loop.run()

    assert server.seen == [client.getsockname()[1]]
    conn = server.next_pending_connection()
    assert isinstance(conn, Gio.TcpConnection)
    server.close()
    client.close()


class OwnQueueServer(Tcp.Server):
    """Keeps connections in a Python list: the three vfuncs together."""

    def __init__(self):
        super().__init__()
        self.queue = []

    def do_incoming_connection(self, sock):
        self.queue.append(sock.connection_factory_create_connection())

    def do_has_pending_connections(self):
        return bool(self.queue)

    def do_next_pending_connection(self):
        return self.queue.pop(0) if self.queue else None


def test_override_pending_queue(loop):
    server = OwnQueueServer()
    port = listen_loopback(server)
    server.connect('new-connection', loop.quit)
    client = connect(port)
    client.sendall(b'abc')
    assert loop.run()

    # The C entry points call the Python overrides.
    assert server.has_pending_connections()
    conn = server.next_pending_connection()
    assert not server.has_pending_connections()
    assert server.next_pending_connection() is None
    assert conn.get_input_stream().read_bytes(3, None).get_data() == b'abc'

    server.close()
    client.close()


def iterate_until(condition, timeout_s=5):
    # GLib.MainLoop.run() of PyGObject opens a socket pair for Unix signals,
    # which cannot work while the process is out of descriptors: iterate the
    # context by hand instead, with the same timeout guard.
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout_s
    guard = GLib.timeout_add(100, lambda: GLib.SOURCE_CONTINUE)
    while not condition() and time.monotonic() < deadline:
        context.iteration(True)
    GLib.source_remove(guard)
    return bool(condition())


def test_accept_error_on_fd_exhaustion(server):
    port = listen_loopback(server)
    errors = []
    accepted = []
    server.connect('accept-error', lambda s, error: errors.append(error))
    server.connect('new-connection', lambda s: accepted.append(True))

    # The client's descriptor exists before the process runs out.
    client = connect(port)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd) for fd in os.listdir('/proc/self/fd'))
    fillers = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
    try:
        while True:
            try:
                fillers.append(os.dup(0))
            except OSError:
                break
        exhausted = iterate_until(lambda: errors or accepted)
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    assert exhausted, 'no accept-error while out of descriptors'
    assert len(errors) == 1
    assert isinstance(errors[0], GLib.Error)
    assert errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.TOO_MANY_OPEN_FILES)
    assert server.get_server_error() == Gio.IOErrorEnum.TOO_MANY_OPEN_FILES
    assert accepted == []

    # The server recovers by itself once descriptors are free.
    assert iterate_until(lambda: accepted)
    assert accepted == [True]
    assert server.next_pending_connection() is not None
    client.close()

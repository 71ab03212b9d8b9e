# SPDX-License-Identifier: LGPL-2.1-or-later
# accept_async()/accept_finish(): GIO callback style, cancellation, and use
# from asyncio.

import asyncio
import os
import socket
import threading

from gi.repository import GLib, Gio, Tcp

from conftest import connect, is_io_error, listen_loopback


def finish_into(results, loop=None):
    def done(srv, result):
        try:
            results.append(srv.accept_finish(result))
        except GLib.Error as e:
            results.append(e)
        if loop is not None:
            loop.quit()
    return done


def test_accept_async_waits_for_a_client(server, loop):
    port = listen_loopback(server)
    results = []
    server.accept_async(None, finish_into(results, loop))
    # Nothing is queued yet: the callback waits for a client.
    assert results == []

    client = connect(port)
    client.sendall(b'hello')
    assert loop.run()

    assert len(results) == 1
    conn = results[0]
    assert isinstance(conn, Gio.TcpConnection)
    assert conn.get_input_stream().read_bytes(5, None).get_data() == b'hello'
    conn.close(None)
    client.close()


def test_accept_async_user_data(server, loop):
    port = listen_loopback(server)
    got = []

    def done(srv, result, tag):
        got.append((tag, srv.accept_finish(result)))
        loop.quit()

    server.accept_async(None, done, 'tag')
    client = connect(port)
    assert loop.run()
    assert got[0][0] == 'tag'
    assert isinstance(got[0][1], Gio.SocketConnection)
    client.close()


def test_accept_async_serves_waiters_in_order(server, loop):
    port = listen_loopback(server)
    order = []

    def waiter(name):
        def done(srv, result):
            order.append((name, srv.accept_finish(result)))
            if len(order) == 2:
                loop.quit()
        return done

    server.accept_async(None, waiter('first'))
    server.accept_async(None, waiter('second'))
    clients = [connect(port), connect(port)]
    assert loop.run()
    assert [name for name, _ in order] == ['first', 'second']
    assert all(isinstance(c, Gio.TcpConnection) for _, c in order)
    for c in clients:
        c.close()


def test_accept_async_cancelled(server, loop):
    listen_loopback(server)
    results = []
    cancellable = Gio.Cancellable()
    server.accept_async(cancellable, finish_into(results, loop))
    GLib.timeout_add(50, lambda: cancellable.cancel() or GLib.SOURCE_REMOVE)
    assert loop.run()
    assert len(results) == 1
    assert is_io_error(results[0], Gio.IOErrorEnum.CANCELLED)


def test_accept_async_fails_when_closed(server, loop):
    listen_loopback(server)
    results = []
    server.accept_async(None, finish_into(results, loop))
    GLib.timeout_add(50, lambda: server.close() or GLib.SOURCE_REMOVE)
    assert loop.run()
    assert len(results) == 1
    assert is_io_error(results[0], Gio.IOErrorEnum.CLOSED)


class GLibServerThread:
    """Runs a Tcp.Server on a GLib main loop in a thread of its own, so that
    an asyncio event loop can own the main thread. The server's sources and
    callbacks all run on the thread's context."""

    def __init__(self):
        self.context = GLib.MainContext()
        self.loop = GLib.MainLoop(self.context)
        self.server = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        self.context.push_thread_default()
        self.server = Tcp.Server()
        self.server.listen_on('127.0.0.1', 0)
        self.ready.set()
        self.loop.run()
        self.server.close()
        self.context.pop_thread_default()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc):
        self.call(self.loop.quit)
        self.thread.join(5)
        assert not self.thread.is_alive()

    def call(self, func, *args):
        """Runs func(*args) on the server's thread."""
        source = GLib.idle_source_new()
        source.set_callback(lambda *_: func(*args) or GLib.SOURCE_REMOVE)
        source.attach(self.context)

    async def accept(self):
        """accept_async() as an awaitable for asyncio."""
        aloop = asyncio.get_running_loop()
        future = aloop.create_future()

        def done(srv, result):
            try:
                aloop.call_soon_threadsafe(future.set_result, srv.accept_finish(result))
            except GLib.Error as e:
                aloop.call_soon_threadsafe(future.set_exception, e)

        self.call(self.server.accept_async, None, done)
        return await future


def test_accept_async_from_asyncio():
    async def scenario(glib):
        port = glib.server.get_server_port()
        accepted = asyncio.ensure_future(glib.accept())
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        conn = await asyncio.wait_for(accepted, 5)

        # Hand the accepted socket to asyncio's streams.
        fd = os.dup(conn.get_socket().get_fd())
        conn.close(None)
        sreader, swriter = await asyncio.open_connection(sock=socket.socket(fileno=fd))
        writer.write(b'question\n')
        line = await asyncio.wait_for(sreader.readline(), 5)
        swriter.write(b'answer\n')
        await swriter.drain()
        reply = await asyncio.wait_for(reader.readline(), 5)
        swriter.close()
        writer.close()
        return line, reply

    with GLibServerThread() as glib:
        line, reply = asyncio.run(asyncio.wait_for(scenario(glib), 10))

    assert line == b'question\n'
    assert reply == b'answer\n'


def test_accept_async_from_asyncio_not_listening():
    async def scenario(glib):
        glib.call(glib.server.close)
        try:
            await asyncio.wait_for(glib.accept(), 5)
        except GLib.Error as e:
            return e
        return None

    with GLibServerThread() as glib:
        error = asyncio.run(scenario(glib))

    assert is_io_error(error, Gio.IOErrorEnum.NOT_CONNECTED)


def test_accept_async_with_a_gio_client(server, loop):
    port = listen_loopback(server)
    accepted, connected = [], []

    def check():
        if accepted and connected:
            loop.quit()

    def on_accepted(srv, result):
        accepted.append(srv.accept_finish(result))
        check()

    def on_connected(client, result):
        connected.append(client.connect_to_host_finish(result))
        check()

    server.accept_async(None, on_accepted)
    Gio.SocketClient().connect_to_host_async('127.0.0.1', port, None, on_connected)
    assert loop.run()

    assert isinstance(accepted[0], Gio.TcpConnection)
    connected[0].get_output_stream().write_all(b'hi', None)
    connected[0].close(None)
    assert accepted[0].get_input_stream().read_bytes(3, None).get_data() == b'hi'
    accepted[0].close(None)

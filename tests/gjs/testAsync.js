// SPDX-License-Identifier: LGPL-2.1-or-later
// accept_async()/accept_finish() from GJS: callbacks and await.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    assert, assertEqual, assertIOError, readAll, readText, runLoop, runTests,
    sendText, withTimeout,
} from './harness.js';

Gio._promisify(Tcp.Server.prototype, 'accept_async', 'accept_finish');

function listenLoopback(server) {
    server.listen_on('127.0.0.1', 0);
    return server.get_server_port();
}

function connectAsync(port) {
    return new Gio.SocketClient({timeout: 5}).connect_to_host_async('127.0.0.1', port, null);
}

await runTests({
    callbackStyle() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const loop = new GLib.MainLoop(null, false);
        const results = [];
        // With a callback, _promisify leaves the GIO calling convention alone.
        server.accept_async(null, (srv, result) => {
            try {
                results.push(srv.accept_finish(result));
            } catch (e) {
                results.push(e);
            }
            loop.quit();
        });
        assertEqual(results.length, 0, 'finished before a client came');
        const client = new Gio.SocketClient().connect_to_host('127.0.0.1', port, null);
        assert(runLoop(loop), 'timed out');
        assert(results[0] instanceof Gio.TcpConnection, `got ${results[0]}`);
        client.close(null);
        server.close();
    },

    async awaitAccept() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const accepted = server.accept_async(null);
        const client = await withTimeout(connectAsync(port));
        const connection = await withTimeout(accepted);
        assert(connection instanceof Gio.TcpConnection, 'not a Gio.TcpConnection');

        sendText(client, 'question\n');
        const bytes = await withTimeout(
            connection.get_input_stream().read_bytes_async(9, GLib.PRIORITY_DEFAULT, null));
        assertEqual(new TextDecoder().decode(bytes.toArray()), 'question\n', 'received');
        await connection.get_output_stream().write_bytes_async(
            new GLib.Bytes(new TextEncoder().encode('answer\n')), GLib.PRIORITY_DEFAULT, null);
        await connection.close_async(GLib.PRIORITY_DEFAULT, null);
        assertEqual(readAll(client), 'answer\n', 'reply');
        client.close(null);
        server.close();
    },

    async awaitTakesAQueuedConnection() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const client = await withTimeout(connectAsync(port));
        sendText(client, 'x');
        const [ok] = server.wait_for_new_connection(5000);
        assert(ok, 'no connection queued');
        const connection = await withTimeout(server.accept_async(null));
        assertEqual(readText(connection, 1), 'x', 'received');
        assertEqual(server.has_pending_connections(), false, 'queue empty');
        client.close(null);
        server.close();
    },

    async waitersServedInOrder() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const order = [];
        const first = server.accept_async(null).then(c => order.push(['first', c]));
        const second = server.accept_async(null).then(c => order.push(['second', c]));
        const clients = [await connectAsync(port), await connectAsync(port)];
        await withTimeout(Promise.all([first, second]));
        assertEqual(order.map(([name]) => name).join(','), 'first,second', 'order');
        clients.forEach(c => c.close(null));
        server.close();
    },

    async notListening() {
        const server = new Tcp.Server();
        try {
            await withTimeout(server.accept_async(null));
        } catch (e) {
            assertIOError(e, Gio.IOErrorEnum.NOT_CONNECTED);
            return;
        }
        throw new Error('accept_async() succeeded on a server that is not listening');
    },

    async cancelled() {
        const server = new Tcp.Server();
        listenLoopback(server);
        const cancellable = new Gio.Cancellable();
        const pending = server.accept_async(cancellable);
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => {
            cancellable.cancel();
            return GLib.SOURCE_REMOVE;
        });
        let error = null;
        try {
            await withTimeout(pending);
        } catch (e) {
            error = e;
        }
        assertIOError(error, Gio.IOErrorEnum.CANCELLED);
        server.close();
    },

    async closedWhileWaiting() {
        const server = new Tcp.Server();
        listenLoopback(server);
        const pending = server.accept_async(null);
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => {
            server.close();
            return GLib.SOURCE_REMOVE;
        });
        let error = null;
        try {
            await withTimeout(pending);
        } catch (e) {
            error = e;
        }
        assertIOError(error, Gio.IOErrorEnum.CLOSED);
    },
});

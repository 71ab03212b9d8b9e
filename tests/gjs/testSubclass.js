// SPDX-License-Identifier: LGPL-2.1-or-later
// GObject.registerClass subclasses of Tcp.Server overriding its vfuncs.

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    assert, assertEqual, connect, readAll, readText, runLoop, runTests, sendText,
} from './harness.js';

const FORTUNES = ['You will be surprised by a loud noise.\n', 'You might have mail.\n'];

// GJS runs JavaScript on one thread only: each connection is served by an
// async task on the main loop instead of a worker thread.
const AsyncFortuneServer = GObject.registerClass({
    Signals: {'served': {}},
}, class AsyncFortuneServer extends Tcp.Server {
    _init(params = {}) {
        super._init(params);
        this.sockets = [];
        this.served = 0;
        this.errors = [];
    }

    vfunc_incoming_connection(socket) {
        this.sockets.push(socket);
        this._serve(socket, this.sockets.length).catch(e => this.errors.push(e));
    }

    async _serve(socket, number) {
        const connection = socket.connection_factory_create_connection();
        const bytes = new GLib.Bytes(new TextEncoder().encode(FORTUNES[number % 2]));
        await connection.get_output_stream().write_bytes_async(bytes,
            GLib.PRIORITY_DEFAULT, null);
        await connection.close_async(GLib.PRIORITY_DEFAULT, null);
        this.served++;
        this.emit('served');
    }
});

const CountingServer = GObject.registerClass(
class CountingServer extends Tcp.Server {
    _init() {
        super._init();
        this.seen = [];
    }

    vfunc_incoming_connection(socket) {
        this.seen.push(socket.get_remote_address().get_port());
        // The default implementation queues the connection.
        super.vfunc_incoming_connection(socket);
    }
});

const OwnQueueServer = GObject.registerClass(
class OwnQueueServer extends Tcp.Server {
    _init() {
        super._init();
        this.queue = [];
    }

    vfunc_incoming_connection(socket) {
        this.queue.push(socket.connection_factory_create_connection());
    }

    vfunc_has_pending_connections() {
        return this.queue.length > 0;
    }

    vfunc_next_pending_connection() {
        return this.queue.shift() ?? null;
    }
});

await runTests({
    asyncFortuneServer() {
        const server = new AsyncFortuneServer();
        server.listen_on('127.0.0.1', 0);
        const port = server.get_server_port();
        const loop = new GLib.MainLoop(null, false);
        let newConnections = 0;
        server.connect('new-connection', () => newConnections++);
        server.connect('served', () => {
            if (server.served === 4)
                loop.quit();
        });

        const clients = [0, 1, 2, 3].map(() => connect(port));
        assert(runLoop(loop), `served ${server.served} of 4`);
        const received = clients.map(c => readAll(c)).sort();
        clients.forEach(c => c.close(null));
        server.close();

        assertEqual(server.errors.length, 0, `errors: ${server.errors}`);
        assertEqual(server.sockets.length, 4, 'sockets');
        assert(server.sockets.every(s => s instanceof Gio.Socket), 'not Gio.Socket');
        assertEqual(newConnections, 4, 'new-connection count');
        assertEqual(server.has_pending_connections(), false, 'the override queued nothing');
        const expected = [1, 2, 3, 4].map(n => FORTUNES[n % 2]).sort();
        assertEqual(received.join(''), expected.join(''), 'fortunes');
    },

    chainUp() {
        const server = new CountingServer();
        server.listen_on('127.0.0.1', 0);
        const loop = new GLib.MainLoop(null, false);
        server.connect('new-connection', () => loop.quit());
        const client = connect(server.get_server_port());
        assert(runLoop(loop), 'timed out');
        assertEqual(server.seen.join(), String(client.get_local_address().get_port()), 'ports');
        assert(server.next_pending_connection() instanceof Gio.TcpConnection, 'queued');
        client.close(null);
        server.close();
    },

    ownQueue() {
        const server = new OwnQueueServer();
        server.listen_on('127.0.0.1', 0);
        const loop = new GLib.MainLoop(null, false);
        server.connect('new-connection', () => loop.quit());
        const client = connect(server.get_server_port());
        sendText(client, 'abc');
        assert(runLoop(loop), 'timed out');

        // The C entry points call the JavaScript overrides.
        assert(server.has_pending_connections(), 'has_pending_connections()');
        const connection = server.next_pending_connection();
        assert(connection instanceof Gio.SocketConnection, 'next_pending_connection()');
        assertEqual(server.has_pending_connections(), false, 'drained');
        assertEqual(server.next_pending_connection(), null, 'empty');
        assertEqual(readText(connection, 3), 'abc', 'data');
        connection.close(null);
        client.close(null);
        server.close();
    },
});

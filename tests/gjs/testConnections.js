// SPDX-License-Identifier: LGPL-2.1-or-later
// The server knows its connections, from GJS: the get_connections() model
// and n-connections, max-connections, the per-peer limits and rules with
// connection-refused and Tcp.Refusal, and shutdown_async().
//
// Peers other than 127.0.0.1 come from a client bound to another address of
// 127.0.0.0/8, all of which is loopback on Linux.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

import {
    LOOP_TIMEOUT_MS, assert, assertEqual, assertIOError, assertThrowsIOError, runTests,
    withTimeout,
} from './harness.js';

function listenLoopback(server) {
    server.listen_on('127.0.0.1', 0);
    return server.get_server_port();
}

// A blocking client from @source to the server on 127.0.0.1.
function connectFrom(port, source = '127.0.0.1') {
    const client = new Gio.SocketClient({
        timeout: 5,
        local_address: new Gio.InetSocketAddress({
            address: Gio.InetAddress.new_from_string(source),
            port: 0,
        }),
    });
    return client.connect_to_host('127.0.0.1', port, null);
}

function localPort(client) {
    return client.get_local_address().get_port();
}

// Runs the default main context until predicate() holds; false when the
// timeout passed first. Only the predicate runs in the loop.
function runUntil(predicate, timeoutMs = LOOP_TIMEOUT_MS) {
    const loop = new GLib.MainLoop(null, false);
    let met = predicate();
    if (met)
        return true;
    const checkId = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 5, () => {
        met = predicate();
        if (met)
            loop.quit();
        return GLib.SOURCE_CONTINUE;
    });
    const guardId = GLib.timeout_add(GLib.PRIORITY_DEFAULT, timeoutMs, () => {
        loop.quit();
        return GLib.SOURCE_CONTINUE;
    });
    loop.run();
    GLib.source_remove(checkId);
    GLib.source_remove(guardId);
    return met;
}

function runFor(ms) {
    const loop = new GLib.MainLoop(null, false);
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    loop.run();
}

// What a refused client sees: the server reset the connection, which GIO
// reports as CONNECTION_CLOSED.
function assertReset(client) {
    assertThrowsIOError(() => client.get_input_stream().read_bytes(1, null),
        Gio.IOErrorEnum.CONNECTION_CLOSED);
}

// Records connection-refused as {address, port, reason, peer}.
function recordRefusals(server) {
    const seen = [];
    server.connect('connection-refused', (srv, peer, reason) => {
        seen.push({address: peer.get_address().to_string(), port: peer.get_port(), reason, peer});
    });
    return seen;
}

// Starts shutdown_async() with a callback and records what
// shutdown_finish() returned, or threw.
function startShutdown(server, timeoutMs, cancellable = null) {
    const state = {done: false, result: null, error: null};
    server.shutdown_async(timeoutMs, cancellable, (srv, res) => {
        try {
            state.result = srv.shutdown_finish(res);
        } catch (e) {
            state.error = e;
        }
        state.done = true;
    });
    return state;
}

// Three clients: two connections handed out, one still queued.
function serverWithConnections() {
    const server = new Tcp.Server();
    const port = listenLoopback(server);
    const clients = [0, 1, 2].map(() => connectFrom(port));
    assert(runUntil(() => server.get_n_pending_connections() === 3), 'three queued');
    const a = server.next_pending_connection();
    const b = server.next_pending_connection();
    return {server, clients, a, b};
}

function closeAll(clients) {
    for (const c of clients)
        c.close(null);
}

await runTests({
    modelIsAListModelOfIOStreams() {
        const server = new Tcp.Server();
        const model = server.get_connections();
        assert(model instanceof Gio.ListModel, `not a Gio.ListModel: ${model}`);
        assert(server.get_connections() === model, 'the same model every time');
        assertEqual(model.get_item_type().name, Gio.IOStream.$gtype.name, 'item type');
        assertEqual(model.get_n_items(), 0, 'empty');
        assertEqual(model.get_item(0), null, 'no item 0');
        assertEqual(server.n_connections, 0, 'n_connections');
        assertEqual(server.nConnections, 0, 'nConnections');
    },

    modelFollowsConnections() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const model = server.get_connections();
        const changes = [];
        const counts = [];
        model.connect('items-changed', (m, pos, removed, added) =>
            changes.push(`${pos}-${removed}+${added}`));
        server.connect('notify::n-connections', srv => counts.push(srv.n_connections));

        const clients = [connectFrom(port)];
        assert(runUntil(() => server.get_n_pending_connections() === 1), 'first queued');
        clients.push(connectFrom(port));
        assert(runUntil(() => server.get_n_pending_connections() === 2), 'second queued');
        assertEqual(model.get_n_items(), 2, 'two items');
        assertEqual(changes.join(' '), '0-0+1 1-0+1', 'items-changed');
        assertEqual(counts.join(' '), '1 2', 'n-connections notifications');

        // Handed out is still alive; oldest first.
        let first = server.next_pending_connection();
        let second = server.next_pending_connection();
        assert(model.get_item(0) === first, 'item 0 is the first connection');
        assert(model.get_item(1) === second, 'item 1 is the second connection');
        assertEqual(model.get_item(2), null, 'no item 2');
        assert(model.get_item(0) instanceof Gio.TcpConnection, 'items are Gio.TcpConnection');
        assertEqual(model.get_item(1).get_socket().get_remote_address().get_port(),
            localPort(clients[1]), 'the remote port of item 1');

        // Closed: still in the model until the main context runs.
        first.close(null);
        assertEqual(model.get_n_items(), 2, 'not removed inside close()');
        assert(runUntil(() => server.n_connections === 1), 'closed one left');
        assert(model.get_item(0) === second, 'the second is left');
        assertEqual(changes.join(' '), '0-0+1 1-0+1 0-1+0', 'items-changed after close');
        first = null;

        // Dropped without a close: the model does not keep it alive, so
        // the connection is finalized, its socket closed, and it leaves.
        second = null;
        System.gc();
        assert(runUntil(() => server.n_connections === 0), 'dropped one left');
        assertEqual(model.get_n_items(), 0, 'empty again');
        assertEqual(changes.join(' '), '0-0+1 1-0+1 0-1+0 0-1+0', 'items-changed after drop');
        assertEqual(counts.join(' '), '1 2 1 0', 'n-connections notifications');
        assertEqual(clients[1].get_input_stream().read_bytes(1, null).get_size(), 0,
            'the dropped connection\'s client sees the end');
        closeAll(clients);
        server.close();
    },

    // The fortune pattern: served and closed in new-connection, a
    // connection never enters the model nor changes n-connections.
    servedInHandlerNeverListed() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const model = server.get_connections();
        const changes = [];
        const counts = [];
        let served = 0;
        model.connect('items-changed', () => changes.push('changed'));
        server.connect('notify::n-connections', srv => counts.push(srv.n_connections));
        server.connect('new-connection', srv => {
            let connection;
            while ((connection = srv.next_pending_connection()) !== null) {
                connection.close(null);
                served++;
            }
        });

        const clients = [];
        for (let i = 0; i < 3; i++) {
            clients.push(connectFrom(port));
            assert(runUntil(() => served === i + 1), `client ${i} served`);
        }
        runFor(20);
        assertEqual(changes.length, 0, 'no items-changed');
        assertEqual(counts.length, 0, 'no n-connections notification');
        assertEqual(model.get_n_items(), 0, 'empty model');
        closeAll(clients);
        server.close();
    },

    maxConnectionsStopsAndResumes() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const notified = [];
        server.connect('notify::max-connections', srv => notified.push(srv.max_connections));
        server.max_connections = 2;
        assertEqual(server.get_max_connections(), 2, 'get_max_connections');
        assertEqual(notified.join(), '2', 'notify::max-connections');

        const clients = [0, 1, 2, 3].map(() => connectFrom(port));
        assert(runUntil(() => server.get_n_pending_connections() === 2), 'two queued');
        const a = server.next_pending_connection();
        const b = server.next_pending_connection();

        // Two clients wait in the kernel, the queue is empty, none is taken.
        runFor(300);
        assertEqual(server.has_pending_connections(), false, 'nothing more accepted');
        assertEqual(server.n_connections, 2, 'n_connections at the limit');

        // A close makes room: the server accepts one more by itself.
        a.close(null);
        assert(runUntil(() => server.get_n_pending_connections() === 1), 'accepting resumed');
        runFor(100);
        assertEqual(server.get_n_pending_connections(), 1, 'only one more');

        server.set_max_connections(0);
        assert(runUntil(() => server.get_n_pending_connections() === 2), 'no limit');
        b.close(null);
        closeAll(clients);
        server.close();
    },

    refusalEnum() {
        assertEqual(Tcp.Refusal.DENIED, 0, 'DENIED');
        assertEqual(Tcp.Refusal.PEER_LIMIT, 1, 'PEER_LIMIT');
        assertEqual(Tcp.Refusal.RATE_LIMIT, 2, 'RATE_LIMIT');
        assertEqual(typeof Tcp.Refusal.DENIED, 'number', 'a plain number');
        assertEqual(Tcp.Refusal.$gtype.name, 'TcpRefusal', 'GType name');
    },

    maxConnectionsPerPeer() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const refused = recordRefusals(server);
        server.max_connections_per_peer = 2;
        assertEqual(server.get_max_connections_per_peer(), 2, 'get_max_connections_per_peer');

        const clients = [connectFrom(port), connectFrom(port)];
        assert(runUntil(() => server.get_n_pending_connections() === 2), 'two queued');
        const third = connectFrom(port);
        assert(runUntil(() => refused.length === 1), 'third refused');
        assertEqual(refused[0].address, '127.0.0.1', 'refused peer address');
        assertEqual(refused[0].port, localPort(third), 'refused peer port');
        assertEqual(refused[0].reason, Tcp.Refusal.PEER_LIMIT, 'reason');
        assert(refused[0].peer instanceof Gio.InetSocketAddress, 'peer is a Gio.InetSocketAddress');
        assertReset(third);
        clients.push(third);

        // Another address is counted apart.
        clients.push(connectFrom(port, '127.0.0.2'));
        assert(runUntil(() => server.get_n_pending_connections() === 3), 'other peer queued');

        // A connection that closes frees its place.
        server.next_pending_connection().close(null);
        runFor(50);
        clients.push(connectFrom(port));
        assert(runUntil(() => server.get_n_pending_connections() === 3), 'place freed');
        assertEqual(refused.length, 1, 'refusals');
        closeAll(clients);
        server.close();
    },

    maxConnectionRatePerPeer() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const refused = recordRefusals(server);
        server.set_max_connection_rate_per_peer(3);
        assertEqual(server.max_connection_rate_per_peer, 3, 'property');

        const clients = [0, 1, 2, 3].map(() => connectFrom(port, '127.0.0.3'));
        assert(runUntil(() => refused.length === 1), 'fourth refused');
        assert(runUntil(() => server.get_n_pending_connections() === 3), 'three queued');
        assertEqual(refused[0].address, '127.0.0.3', 'refused peer');
        assertEqual(refused[0].port, localPort(clients[3]), 'refused peer port');
        assertEqual(refused[0].reason, Tcp.Refusal.RATE_LIMIT, 'reason');
        assertReset(clients[3]);

        // A third of a second buys one connection back.
        GLib.usleep(400 * 1000);
        clients.push(connectFrom(port, '127.0.0.3'));
        assert(runUntil(() => server.get_n_pending_connections() === 4), 'allowance back');
        assertEqual(refused.length, 1, 'refusals');
        closeAll(clients);
        server.close();
    },

    allowDenyClear() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const refused = recordRefusals(server);
        assertEqual(server.allow_peers('127.0.1.0/24'), true, 'allow_peers');
        assertEqual(server.deny_peers('127.0.1.66'), true, 'deny_peers');
        const clients = [];

        clients.push(connectFrom(port, '127.0.1.1'));
        assert(runUntil(() => server.get_n_pending_connections() === 1), 'allowed');

        const denied = connectFrom(port, '127.0.1.66');     // allowed, but deny wins
        clients.push(denied);
        assert(runUntil(() => refused.length === 1), 'denied');
        assertEqual(refused[0].address, '127.0.1.66', 'denied peer');
        assertEqual(refused[0].reason, Tcp.Refusal.DENIED, 'reason');
        assertReset(denied);

        const stranger = connectFrom(port, '127.0.2.1');    // matches no allow rule
        clients.push(stranger);
        assert(runUntil(() => refused.length === 2), 'not allowed');
        assertEqual(refused[1].address, '127.0.2.1', 'stranger');
        assertEqual(refused[1].reason, Tcp.Refusal.DENIED, 'reason');
        assertReset(stranger);

        server.clear_peer_rules();
        clients.push(connectFrom(port, '127.0.1.66'));
        assert(runUntil(() => server.get_n_pending_connections() === 2), 'rules cleared');
        assertEqual(refused.length, 2, 'refusals');
        closeAll(clients);
        server.close();
    },

    badMaskChangesNoRule() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const refused = recordRefusals(server);
        for (const mask of ['', '10.0.0.0/33', '::1/129', '10.0.0.1/8', 'localhost', '1.2.3']) {
            for (const method of ['allow_peers', 'deny_peers']) {
                const error = assertThrowsIOError(() => server[method](mask),
                    Gio.IOErrorEnum.INVALID_ARGUMENT);
                assert(error.message.includes(`“${mask}”`),
                    `message names the mask: ${error.message}`);
            }
        }

        // Had an allow rule been added, 127.0.0.1 would be refused.
        const client = connectFrom(port);
        assert(runUntil(() => server.get_n_pending_connections() === 1), 'still admitted');
        assertEqual(refused.length, 0, 'refusals');
        client.close(null);
        server.close();
    },

    shutdownNow() {
        const {server, clients, a, b} = serverWithConnections();
        const state = startShutdown(server, 0);
        assert(runUntil(() => state.done), 'shutdown finished');
        assertEqual(state.error, null, 'error');
        // The (out) n_forced comes back as the second element of an array.
        assert(Array.isArray(state.result), `not an array: ${state.result}`);
        assertEqual(state.result.join(), 'true,2', '[ok, n_forced]');
        assert(a.is_closed() && b.is_closed(), 'both closed');
        assertEqual(server.n_connections, 0, 'n_connections');
        assertEqual(server.listening, false, 'listening');
        for (const c of clients) {
            assertEqual(c.get_input_stream().read_bytes(4, null).get_size(), 0,
                'client sees the end');
        }
        closeAll(clients);
    },

    shutdownTimeoutForcesTheRest() {
        const {server, clients, a, b} = serverWithConnections();
        const state = startShutdown(server, 200);
        a.close(null);
        runFor(50);
        assertEqual(state.done, false, 'finished before the timeout');
        assert(!b.is_closed(), 'forced before the timeout');
        assert(runUntil(() => state.done), 'shutdown finished');
        assertEqual(state.error, null, 'error');
        assertEqual(state.result.join(), 'true,1', '[ok, n_forced]');
        assert(b.is_closed(), 'the other was forced');
        assertEqual(server.n_connections, 0, 'n_connections');
        closeAll(clients);
    },

    // With Gio._promisify the promise resolves to [n_forced]: _promisify
    // drops a leading `true` from a finish function's [ok, out...] array.
    async shutdownAwaitWithoutLimit() {
        Gio._promisify(Tcp.Server.prototype, 'shutdown_async', 'shutdown_finish');
        const {server, clients, a, b} = serverWithConnections();
        let settled = false;
        const promise = server.shutdown_async(-1, null).finally(() => {
            settled = true;
        });
        assertEqual(server.listening, false, 'stopped listening at once');
        assertEqual(server.get_n_pending_connections(), 0, 'the queued one was closed');
        runFor(100);
        assertEqual(settled, false, 'settled with connections open');

        a.close(null);
        runFor(50);
        assertEqual(settled, false, 'settled with one connection open');
        b.close(null);
        const result = await withTimeout(promise);
        assert(Array.isArray(result), `not an array: ${result}`);
        assertEqual(result.join(), '0', '[n_forced]');
        assertEqual(server.n_connections, 0, 'n_connections');
        closeAll(clients);
    },

    shutdownCancelled() {
        const {server, clients, a, b} = serverWithConnections();
        const cancellable = new Gio.Cancellable();
        const state = startShutdown(server, 100, cancellable);
        cancellable.cancel();
        assert(runUntil(() => state.done), 'shutdown finished');
        assertEqual(state.result, null, 'result');
        assertIOError(state.error, Gio.IOErrorEnum.CANCELLED);

        // The timeout never fires now: the connections stay open.
        runFor(200);
        assert(!a.is_closed() && !b.is_closed(), 'connections stay open');
        assertEqual(server.n_connections, 2, 'n_connections');
        a.close(null);
        b.close(null);
        closeAll(clients);
    },
});

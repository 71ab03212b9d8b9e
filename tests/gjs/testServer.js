// SPDX-License-Identifier: LGPL-2.1-or-later
// Tcp.Server from GJS: listen, accept, exchange, properties, signals, wait.

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    assert, assertEqual, assertIOError, assertThrowsIOError, connect, readAll,
    readText, runLoop, runTests, sendText,
} from './harness.js';

function listenLoopback(server) {
    server.listen_on('127.0.0.1', 0);
    return server.get_server_port();
}

function exchange(server, host) {
    const loop = new GLib.MainLoop(null, false);
    const seen = [];
    server.connect('new-connection', () => {
        seen.push('new');
        loop.quit();
    });

    const client = connect(server.get_server_port(), host);
    sendText(client, 'ping\n');
    assert(runLoop(loop), 'no new-connection within the timeout');
    assertEqual(seen.length, 1, 'new-connection count');

    assert(server.has_pending_connections(), 'nothing pending');
    assertEqual(server.get_n_pending_connections(), 1, 'pending count');
    const connection = server.next_pending_connection();
    assert(connection instanceof Gio.TcpConnection, 'not a Gio.TcpConnection');
    assertEqual(server.next_pending_connection(), null, 'second connection');

    assertEqual(connection.get_remote_address().get_port(),
        client.get_local_address().get_port(), 'peer port');
    assertEqual(readText(connection, 5), 'ping\n', 'server received');
    sendText(connection, 'pong\n');
    connection.close(null);
    assertEqual(readAll(client), 'pong\n', 'client received');
    client.close(null);
}

function hasIPv6() {
    try {
        const socket = Gio.Socket.new(Gio.SocketFamily.IPV6, Gio.SocketType.STREAM,
            Gio.SocketProtocol.TCP);
        socket.bind(Gio.InetSocketAddress.new_from_string('::1', 0), false);
        socket.close();
        return true;
    } catch {
        return false;
    }
}

await runTests({
    exchangeIPv4() {
        const server = new Tcp.Server();
        listenLoopback(server);
        assertEqual(server.server_address.to_string(), '127.0.0.1', 'address');
        exchange(server, '127.0.0.1');
        server.close();
    },

    exchangeIPv6() {
        if (!hasIPv6()) {
            print('# no IPv6 loopback on this machine');
            return;
        }
        const server = new Tcp.Server();
        server.listen(Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV6), 0);
        assertEqual(server.get_server_address().get_family(), Gio.SocketFamily.IPV6, 'family');
        exchange(server, '::1');
        server.close();
    },

    everyPropertyReadable() {
        const server = new Tcp.Server();
        const expected = {
            'listening': false,
            'server-address': null,
            'server-port': 0,
            'max-pending-connections': 30,
            'listen-backlog-size': 4096,
            'reuse-port': false,
            'paused': false,
            'proxy': null,
            'proxy-timeout': 5000,
            'no-delay': true,
            'keepalive': false,
        };
        const names = GObject.Object.list_properties.call(Tcp.Server).map(p => p.name).sort();
        assertEqual(names.join(','), Object.keys(expected).sort().join(','), 'property names');
        for (const [name, value] of Object.entries(expected)) {
            const camel = name.replace(/-(.)/g, (_, c) => c.toUpperCase());
            assertEqual(server[camel], value, `${name} (camelCase)`);
            assertEqual(server[name.replace(/-/g, '_')], value, `${name} (snake_case)`);
        }
        assertEqual(server.get_server_error(), Gio.IOErrorEnum.FAILED, 'server error');
        assertEqual(server.get_error_string(), '', 'error string');
        assertEqual(server.get_socket(), null, 'socket');
        assertEqual(server.get_socket_descriptor(), -1, 'descriptor');

        const port = listenLoopback(server);
        assert(port > 0, 'no port');
        assertEqual(server.listening, true, 'listening');
        assertEqual(server.is_listening(), true, 'is_listening()');
        assertEqual(server.serverPort, port, 'server-port');
        assertEqual(server.serverAddress.to_string(), '127.0.0.1', 'server-address');
        assert(server.get_socket() instanceof Gio.Socket, 'socket');
        assertEqual(server.get_socket_descriptor(), server.get_socket().get_fd(), 'fd');
        server.close();
    },

    writablePropertiesNotify() {
        const server = new Tcp.Server();
        const changed = [];
        server.connect('notify', (_s, pspec) => changed.push(pspec.name));
        server.maxPendingConnections = 5;
        server.set_max_pending_connections(5);
        server.listenBacklogSize = 128;
        server.reusePort = true;
        server.proxy = 'socks5://127.0.0.1:1080';
        server.set_proxy(null);
        server.pause_accepting();
        server.resume_accepting();

        assertEqual(server.get_max_pending_connections(), 5, 'max pending');
        assertEqual(server.get_listen_backlog_size(), 128, 'backlog');
        assertEqual(server.get_reuse_port(), true, 'reuse-port');
        assertEqual(server.get_proxy(), null, 'proxy');
        assertEqual(changed.join(','),
            'max-pending-connections,listen-backlog-size,reuse-port,proxy,proxy,paused,paused',
            'notifications');
    },

    notifyListening() {
        const server = new Tcp.Server();
        const seen = [];
        server.connect('notify::listening', s => seen.push(s.listening));
        listenLoopback(server);
        server.close();
        server.close();
        assertEqual(seen.join(','), 'true,false', 'notify::listening');
    },

    signalSignatures() {
        for (const name of ['new-connection', 'pending-connection-available']) {
            const id = GObject.signal_lookup(name, Tcp.Server);
            assert(id !== 0, `no signal ${name}`);
            const query = GObject.signal_query(id);
            assertEqual(query.n_params, 0, `${name} parameters`);
        }
        const query = GObject.signal_query(GObject.signal_lookup('accept-error', Tcp.Server));
        assertEqual(query.n_params, 1, 'accept-error parameters');

        const server = new Tcp.Server();
        const got = [];
        server.connect('accept-error', (_s, error) => got.push(error));
        server.emit('accept-error', new GLib.Error(Gio.IOErrorEnum,
            Gio.IOErrorEnum.TOO_MANY_OPEN_FILES, 'no more descriptors'));
        assertEqual(got.length, 1, 'accept-error emissions');
        assertIOError(got[0], Gio.IOErrorEnum.TOO_MANY_OPEN_FILES);
        assertEqual(got[0].message, 'no more descriptors', 'message');
    },

    signalOrder() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const loop = new GLib.MainLoop(null, false);
        const events = [];
        server.connect('pending-connection-available', () => events.push('pending'));
        server.connect('new-connection', () => {
            events.push('new');
            if (events.filter(e => e === 'new').length === 3)
                loop.quit();
        });
        const clients = [connect(port), connect(port), connect(port)];
        assert(runLoop(loop), 'timed out');
        assertEqual(events.join(','), 'pending,new,pending,new,pending,new', 'order');
        for (let i = 0; i < 3; i++)
            assert(server.next_pending_connection() instanceof Gio.SocketConnection, 'queued');
        assertEqual(server.next_pending_connection(), null, 'queue empty');
        clients.forEach(c => c.close(null));
        server.close();
    },

    pauseAndResume() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const loop = new GLib.MainLoop(null, false);
        server.pause_accepting();
        assert(server.paused, 'not paused');
        server.connect('new-connection', () => loop.quit());
        const client = connect(port);
        assert(!runLoop(loop, 300), 'a paused server accepted');
        server.resume_accepting();
        assert(runLoop(loop), 'no connection after resume');
        assert(server.has_pending_connections(), 'nothing queued');
        client.close(null);
        server.close();
    },

    waitWithClient() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const signals = [];
        server.connect('new-connection', () => signals.push('new'));
        const client = connect(port);
        // (bool, timed_out) comes back as an array.
        const [ok, timedOut] = server.wait_for_new_connection(5000);
        assertEqual(ok, true, 'wait result');
        assertEqual(timedOut, false, 'timed_out');
        assertEqual(signals.join(','), 'new', 'signals without a main loop');
        assert(server.next_pending_connection() instanceof Gio.TcpConnection, 'connection');
        client.close(null);
        server.close();
    },

    waitWithoutClient() {
        const server = new Tcp.Server();
        listenLoopback(server);
        const start = GLib.get_monotonic_time();
        assertThrowsIOError(() => server.wait_for_new_connection(200), Gio.IOErrorEnum.TIMED_OUT);
        const elapsedMs = (GLib.get_monotonic_time() - start) / 1000;
        assert(elapsedMs >= 150 && elapsedMs < 3000, `waited ${elapsedMs} ms`);
        server.close();
    },
});

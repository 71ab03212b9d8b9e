// SPDX-License-Identifier: LGPL-2.1-or-later
// The 1.1 ways to listen from GJS: listen_range(), listen_on('localhost'),
// and what every accepted connection gets (the no-delay and keepalive
// properties). Socket activation is in testActivation.js.

import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    AssertionError, assert, assertEqual, assertThrowsIOError, connect, freePort, hasIPv6,
    runTests,
} from './harness.js';

const WAIT_MS = 5000;

// IPPROTO_TCP and TCP_NODELAY are the same on every Linux architecture.
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

function loopback4() {
    return Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4);
}

function newTcpSocket() {
    return Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM,
        Gio.SocketProtocol.TCP);
}

// SOL_SOCKET and SO_KEEPALIVE are not the same on every architecture (1 and
// 9 on most, 0xffff and 8 on alpha, hppa, mips and sparc), and JavaScript
// has no header to read them from: take the pair that reads back what
// g_socket_set_keepalive() (which uses the real ones) wrote.
const [SOL_SOCKET, SO_KEEPALIVE] = (() => {
    const socket = newTcpSocket();
    try {
        for (const [level, option] of [[1, 9], [0xffff, 8]]) {
            try {
                socket.set_keepalive(true);
                const [, on] = socket.get_option(level, option);
                socket.set_keepalive(false);
                const [, off] = socket.get_option(level, option);
                if (on !== 0 && off === 0)
                    return [level, option];
            } catch {
                // Not this pair.
            }
        }
    } finally {
        socket.close();
    }
    throw new AssertionError('found no SOL_SOCKET/SO_KEEPALIVE pair on this system');
})();

// A Gio.Socket listening on 127.0.0.1:@port, or null when the port is taken.
function occupy(port) {
    const socket = newTcpSocket();
    try {
        socket.bind(Gio.InetSocketAddress.new(loopback4(), port), false);
        socket.listen();
    } catch {
        socket.close();
        return null;
    }
    return socket;
}

// Finds @count + @freeAfter free ports in a row and takes the first @count.
// The ports come from the ephemeral range (port 0 picks them), where any
// outgoing connection on the machine may take one at any time: the free ones
// are checked last, just before the caller uses them.
function occupyRun(count, freeAfter = 1) {
    for (let tries = 0; tries < 50; tries++) {
        const first = freePort();
        if (first + count + freeAfter - 1 > 65535)
            continue;
        const held = [];
        for (let i = 0; i < count; i++)
            held.push(occupy(first + i));
        if (held.every(s => s !== null)) {
            const free = [];
            for (let i = 0; i < freeAfter; i++)
                free.push(occupy(first + count + i));
            free.forEach(s => s?.close());
            if (free.every(s => s !== null))
                return [first, held];
        }
        held.forEach(s => s?.close());
    }
    throw new AssertionError(`found no ${count + freeAfter} free ports in a row`);
}

function takeConnection(server) {
    const [ok, timedOut] = server.wait_for_new_connection(WAIT_MS);
    assert(ok && !timedOut, `no connection within ${WAIT_MS} ms`);
    const connection = server.next_pending_connection();
    assert(connection instanceof Gio.SocketConnection, `got ${connection}`);
    return connection;
}

// [TCP_NODELAY, SO_KEEPALIVE] of the socket the server accepts next.
function acceptOptions(server) {
    const client = connect(server.get_server_port());
    const connection = takeConnection(server);
    const socket = connection.get_socket();
    const [, noDelay] = socket.get_option(IPPROTO_TCP, TCP_NODELAY);
    const [, keepalive] = socket.get_option(SOL_SOCKET, SO_KEEPALIVE);
    assertEqual(socket.get_keepalive(), keepalive !== 0, 'GSocket keepalive flag');
    connection.close(null);
    client.close(null);
    return [noDelay !== 0, keepalive !== 0];
}

function assertOptions(server, noDelay, keepalive) {
    const [gotNoDelay, gotKeepalive] = acceptOptions(server);
    assertEqual(gotNoDelay, noDelay, 'TCP_NODELAY');
    assertEqual(gotKeepalive, keepalive, 'SO_KEEPALIVE');
}

await runTests({
    rangeTakesTheFirstFreePort() {
        // Two ports taken, two free: the first free one, not the last.
        const [first, held] = occupyRun(2, 2);
        const server = new Tcp.Server();
        try {
            assertEqual(server.listen_range(loopback4(), first, first + 3), true, 'returned');
        } finally {
            held.forEach(s => s.close());
        }
        assertEqual(server.listening, true, 'listening');
        assertEqual(server.get_server_port(), first + 2, 'port');
        assertEqual(server.serverPort, first + 2, 'server-port property');
        assertEqual(server.get_server_address().to_string(), '127.0.0.1', 'address');

        const client = connect(first + 2);
        const connection = takeConnection(server);
        assertEqual(connection.get_remote_address().get_port(),
            client.get_local_address().get_port(), 'peer port');
        connection.close(null);
        client.close(null);
        server.close();
    },

    rangeFirstPortFree() {
        // Nothing taken: the first port of the range, not any other.
        const [first] = occupyRun(0, 2);
        const server = new Tcp.Server();
        server.listen_range(loopback4(), first, first + 1);
        assertEqual(server.get_server_port(), first, 'port');
        server.close();
    },

    rangeAllTaken() {
        const [first, held] = occupyRun(2, 0);
        const server = new Tcp.Server();
        let error;
        try {
            error = assertThrowsIOError(() => server.listen_range(loopback4(), first, first + 1),
                Gio.IOErrorEnum.ADDRESS_IN_USE);
        } finally {
            held.forEach(s => s.close());
        }
        assert(error.message.includes(`from ${first} to ${first + 1}`), error.message);
        assert(error.message.includes('127.0.0.1'), error.message);
        assertEqual(server.listening, false, 'listening');
        assertEqual(server.get_server_port(), 0, 'port');
        assertEqual(server.get_server_error(), Gio.IOErrorEnum.ADDRESS_IN_USE, 'server error');
        assertEqual(server.get_error_string(), error.message, 'error string');
    },

    rangeBad() {
        for (const [first, last] of [[2000, 1999], [0, 10], [0, 0]]) {
            const server = new Tcp.Server();
            assertThrowsIOError(() => server.listen_range(loopback4(), first, last),
                Gio.IOErrorEnum.INVALID_ARGUMENT);
            assertEqual(server.listening, false, `listening after ${first}-${last}`);
            assertEqual(server.get_server_error(), Gio.IOErrorEnum.INVALID_ARGUMENT,
                'server error');
        }
    },

    rangeOutOfUint16IsTheBindingsError() {
        // GJS checks the guint16 before the call: a plain Error, no GLib.Error.
        const server = new Tcp.Server();
        for (const [first, last] of [[-1, 10], [1, 65536]]) {
            let caught = null;
            try {
                server.listen_range(loopback4(), first, last);
            } catch (e) {
                caught = e;
            }
            assert(caught !== null, `${first}-${last} was accepted`);
            assert(caught.message.includes('out of range'), `${caught}`);
        }
        assertEqual(server.listening, false, 'listening');
    },

    rangeThroughAProxy() {
        const server = new Tcp.Server({proxy: `socks5://127.0.0.1:${freePort()}`});
        const error = assertThrowsIOError(() => server.listen_range(null, 40000, 40010),
            Gio.IOErrorEnum.INVALID_ARGUMENT);
        assert(error.message.includes('proxy'), error.message);
        assertEqual(server.listening, false, 'listening');

        // Loopback never goes through the proxy: the range works.
        const [first, held] = occupyRun(1);
        try {
            server.listen_range(loopback4(), first, first + 1);
        } finally {
            held.forEach(s => s.close());
        }
        assertEqual(server.get_server_port(), first + 1, 'port');
        assert(server.get_socket_descriptor() >= 0, 'no local socket');
        server.close();
    },

    localhostBothLoopbacksOnePort() {
        const server = new Tcp.Server();
        assertEqual(server.listen_on('localhost', 0), true, 'returned');
        const port = server.get_server_port();
        assert(port !== 0, 'port 0');
        assertEqual(server.get_server_address().to_string(), '127.0.0.1', 'address');
        assertEqual(server.serverAddress.to_string(), '127.0.0.1', 'server-address');
        assertEqual(server.get_socket().get_family(), Gio.SocketFamily.IPV4, 'socket family');

        const client4 = connect(port, '127.0.0.1');
        const connection4 = takeConnection(server);
        assertEqual(connection4.get_remote_address().get_port(),
            client4.get_local_address().get_port(), 'IPv4 peer port');
        assertEqual(connection4.get_socket().get_family(), Gio.SocketFamily.IPV4, 'IPv4 family');

        const ipv6 = hasIPv6();
        if (ipv6) {
            const client6 = connect(port, '::1');
            const connection6 = takeConnection(server);
            const remote = connection6.get_remote_address();
            assertEqual(remote.get_port(), client6.get_local_address().get_port(),
                'IPv6 peer port');
            assertEqual(remote.get_address().to_string(), '::1', 'IPv6 peer address');
            assertEqual(connection6.get_socket().get_family(), Gio.SocketFamily.IPV6,
                'IPv6 family');
            client6.close(null);
            connection6.close(null);
        } else {
            print('# no IPv6 loopback on this machine: ::1 not checked');
        }

        server.close();
        assertEqual(server.listening, false, 'listening after close');
        assertEqual(server.get_server_address(), null, 'address after close');
        assertThrowsIOError(() => connect(port, '127.0.0.1'),
            Gio.IOErrorEnum.CONNECTION_REFUSED);
        if (ipv6) {
            assertThrowsIOError(() => connect(port, '::1'),
                Gio.IOErrorEnum.CONNECTION_REFUSED);
        }
        connection4.close(null);
        client4.close(null);
    },

    localhostIgnoresCaseAndTheProxy() {
        const server = new Tcp.Server({proxy: `socks5://127.0.0.1:${freePort()}`});
        server.listen_on('LocalHost', 0);
        assert(server.get_socket_descriptor() >= 0, 'no local socket');
        const client = connect(server.get_server_port());
        takeConnection(server).close(null);
        client.close(null);
        server.close();
    },

    localhostPortTaken() {
        const taken = occupy(0);
        const server = new Tcp.Server();
        try {
            assertThrowsIOError(
                () => server.listen_on('localhost', taken.get_local_address().get_port()),
                Gio.IOErrorEnum.ADDRESS_IN_USE);
        } finally {
            taken.close();
        }
        assertEqual(server.listening, false, 'listening');
        assertEqual(server.get_socket_descriptor(), -1, 'descriptor');
    },

    optionsDefault() {
        const server = new Tcp.Server();
        assertEqual(server.no_delay, true, 'no_delay');
        assertEqual(server.noDelay, true, 'noDelay');
        assertEqual(server.keepalive, false, 'keepalive');
        assertEqual(server.get_no_delay(), true, 'get_no_delay()');
        assertEqual(server.get_keepalive(), false, 'get_keepalive()');
        server.listen_on('127.0.0.1', 0);
        assertOptions(server, true, false);
        server.close();
    },

    optionsChangedWhileListening() {
        const server = new Tcp.Server();
        server.listen_on('127.0.0.1', 0);
        assertOptions(server, true, false);

        server.noDelay = false;
        server.keepalive = true;
        assertOptions(server, false, true);

        server.set_no_delay(true);
        assertOptions(server, true, true);

        server.set_keepalive(false);
        server.set_no_delay(false);
        assertOptions(server, false, false);

        server.no_delay = true;
        assertOptions(server, true, false);
        server.close();
    },

    optionsSetBeforeListening() {
        const server = new Tcp.Server({no_delay: false, keepalive: true});
        assertEqual(server.get_no_delay(), false, 'construct no_delay');
        assertEqual(server.get_keepalive(), true, 'construct keepalive');
        server.listen_on('localhost', 0);
        assertOptions(server, false, true);
        server.close();
    },

    optionsNotifyOnlyOnChange() {
        const server = new Tcp.Server();
        const notified = [];
        server.connect('notify::no-delay', (s, pspec) => notified.push(pspec.name));
        server.connect('notify::keepalive', (s, pspec) => notified.push(pspec.name));

        server.noDelay = true;          // the default: no change
        server.set_keepalive(false);    // the default: no change
        assertEqual(notified.join(','), '', 'notified for no change');

        server.noDelay = false;
        server.set_no_delay(false);
        server.set_keepalive(true);
        server.keepalive = true;
        assertEqual(notified.join(','), 'no-delay,keepalive', 'notified');

        server.listen_on('127.0.0.1', 0);
        server.set_no_delay(true);
        server.set_no_delay(true);
        assertEqual(notified.join(','), 'no-delay,keepalive,no-delay', 'notified while listening');
        server.close();
    },
});

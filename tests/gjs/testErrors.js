// SPDX-License-Identifier: LGPL-2.1-or-later
// Errors reach JavaScript as GLib.Error with the right Gio.IOErrorEnum code.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    assert, assertEqual, assertThrowsIOError, connect, runLoop, runTests,
} from './harness.js';

function listenLoopback(server) {
    server.listen_on('127.0.0.1', 0);
    return server.get_server_port();
}

function newSocket(type, protocol) {
    return Gio.Socket.new(Gio.SocketFamily.IPV4, type, protocol);
}

await runTests({
    addressInUse() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const other = new Tcp.Server();
        const error = assertThrowsIOError(() => other.listen_on('127.0.0.1', port),
            Gio.IOErrorEnum.ADDRESS_IN_USE);
        assert(error.message.includes(String(port)), `message names the port: ${error.message}`);
        assertEqual(other.listening, false, 'listening');
        assertEqual(other.get_server_error(), Gio.IOErrorEnum.ADDRESS_IN_USE, 'server error');
        assertEqual(other.get_error_string(), error.message, 'error string');
        server.close();
    },

    listenTwiceKeepsFirstListener() {
        const server = new Tcp.Server();
        const port = listenLoopback(server);
        const error = assertThrowsIOError(() => server.listen_on('127.0.0.1', 0),
            Gio.IOErrorEnum.FAILED);
        assert(error.message.includes('already listening'), error.message);
        assertEqual(server.serverPort, port, 'port kept');

        const loop = new GLib.MainLoop(null, false);
        server.connect('new-connection', () => loop.quit());
        const client = connect(port);
        assert(runLoop(loop), 'the first listener stopped accepting');
        client.close(null);
        server.close();
    },

    hostNamesRejected() {
        const server = new Tcp.Server();
        assertThrowsIOError(() => server.listen_on('localhost.localdomain', 0),
            Gio.IOErrorEnum.INVALID_ARGUMENT);
        assertEqual(server.listening, false, 'listening');
    },

    badDescriptors() {
        const server = new Tcp.Server();
        assertThrowsIOError(() => server.set_socket_descriptor(-1),
            Gio.IOErrorEnum.INVALID_ARGUMENT);

        const [file, stream] = Gio.File.new_tmp('tcp-gjs-XXXXXX');
        const fd = stream.get_output_stream().get_fd();
        const error = assertThrowsIOError(() => server.set_socket_descriptor(fd),
            Gio.IOErrorEnum.INVALID_ARGUMENT);
        assert(error.message.includes('not a socket'), error.message);
        stream.close(null);
        file.delete(null);

        const udp = newSocket(Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
        assertThrowsIOError(() => server.set_socket_descriptor(udp.get_fd()),
            Gio.IOErrorEnum.NOT_SUPPORTED);
        udp.close();

        const tcp = newSocket(Gio.SocketType.STREAM, Gio.SocketProtocol.TCP);
        tcp.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), true);
        assertThrowsIOError(() => server.set_socket_descriptor(tcp.get_fd()),
            Gio.IOErrorEnum.INVALID_ARGUMENT);
        // Untouched: the socket still works for its owner.
        tcp.listen();
        tcp.close();

        assertEqual(server.listening, false, 'listening');
        assertEqual(server.get_socket_descriptor(), -1, 'descriptor');
    },

    waitTimesOut() {
        const server = new Tcp.Server();
        listenLoopback(server);
        assertThrowsIOError(() => server.wait_for_new_connection(50), Gio.IOErrorEnum.TIMED_OUT);
        server.close();
    },

    waitWhenNotListening() {
        const server = new Tcp.Server();
        assertThrowsIOError(() => server.wait_for_new_connection(50),
            Gio.IOErrorEnum.NOT_CONNECTED);
    },
});

// SPDX-License-Identifier: LGPL-2.1-or-later
// loopback.js: Qt's Loopback example on libtcp, in JavaScript.
// A server and a client in one process: the client sends a few MiB to the
// server over 127.0.0.1, both print their progress, all on one main loop.
// Usage: gjs -m loopback.js [--bytes N]

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

Gio._promisify(Tcp.Server.prototype, 'accept_async', 'accept_finish');
Gio._promisify(Gio.SocketClient.prototype, 'connect_to_host_async', 'connect_to_host_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');
Gio._promisify(Gio.OutputStream.prototype, 'write_bytes_async', 'write_bytes_finish');
Gio._promisify(Gio.IOStream.prototype, 'close_async', 'close_finish');

const CHUNK = 64 * 1024;
const PROGRESS_STEP = 1024 * 1024;

function crossedStep(before, after) {
    return Math.floor(before / PROGRESS_STEP) !== Math.floor(after / PROGRESS_STEP);
}

async function receive(server, total) {
    const connection = await server.accept_async(null);
    const input = connection.get_input_stream();
    let received = 0;
    for (;;) {
        // eslint-disable-next-line no-await-in-loop
        const bytes = await input.read_bytes_async(CHUNK, GLib.PRIORITY_DEFAULT, null);
        if (bytes.get_size() === 0)
            break;
        const before = received;
        received += bytes.get_size();
        if (crossedStep(before, received))
            print(`Server received ${received} of ${total} bytes`);
    }
    await connection.close_async(GLib.PRIORITY_DEFAULT, null);
    print(`Server received ${received} bytes`);
    return received;
}

async function send(port, total) {
    const client = new Gio.SocketClient();
    const connection = await client.connect_to_host_async('127.0.0.1', port, null);
    const output = connection.get_output_stream();
    const chunk = new GLib.Bytes(new Uint8Array(CHUNK).fill(0x78));
    let sent = 0;
    while (sent < total) {
        const left = total - sent;
        const bytes = left >= CHUNK ? chunk : new GLib.Bytes(new Uint8Array(left).fill(0x78));
        // eslint-disable-next-line no-await-in-loop
        const written = await output.write_bytes_async(bytes, GLib.PRIORITY_DEFAULT, null);
        const before = sent;
        sent += written;
        if (crossedStep(before, sent))
            print(`Client sent ${sent} of ${total} bytes`);
    }
    await connection.close_async(GLib.PRIORITY_DEFAULT, null);
    print(`Client sent ${sent} bytes`);
}

let total = 4 * 1024 * 1024;
if (ARGV.length === 2 && ARGV[0] === '--bytes' && /^\d+$/.test(ARGV[1])) {
    total = Number(ARGV[1]);
} else if (ARGV.length !== 0) {
    printerr('Usage: gjs -m loopback.js [--bytes N]');
    System.exit(2);
}

const server = new Tcp.Server();
try {
    server.listen_on('127.0.0.1', 0);
    print(`Server listening on 127.0.0.1 port ${server.get_server_port()}`);
    // Top-level await runs the main loop until both sides are done.
    await Promise.all([receive(server, total), send(server.get_server_port(), total)]);
} catch (e) {
    printerr(`Loopback failed: ${e.message}`);
    System.exit(1);
}
server.close();

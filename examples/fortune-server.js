// SPDX-License-Identifier: LGPL-2.1-or-later
// fortune-server.js: Qt's Fortune Server example on libtcp, in JavaScript.
// Usage: gjs -m fortune-server.js [--port N] [--count N] [--port-file FILE]

import GLib from 'gi://GLib';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

// Emitted each time a connection is queued; the same works for a
// Tcp.TlsServer, which queues a connection once its handshake completes.
function onPendingConnection(server) {
    let connection;
    while ((connection = server.next_pending_connection()) !== null) {
        const fortune = FORTUNES[GLib.random_int_range(0, FORTUNES.length)];
        connection.get_output_stream().write_all(new TextEncoder().encode(`${fortune}\n`), null);
        connection.close(null);
    }
}

function main() {
    const args = parseArgs(ARGV);
    const loop = new GLib.MainLoop(null, false);
    const server = new Tcp.Server();
    server.connect('pending-connection-available', onPendingConnection);
    try {
        server.listen_on('127.0.0.1', args.port);
    } catch (e) {
        printerr(`Unable to start the server: ${e.message}`);
        System.exit(1);
    }
    print(`The server is running on 127.0.0.1 port ${server.get_server_port()}.`);
    writePortFile(args.portFile, server.get_server_port());
    quitAfter(server, args.count, loop);
    loop.run();
}

const FORTUNES = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    'You will be surprised by a loud noise.',
    'You will feel hungry again in another hour.',
    'You might have mail.',
    'You cannot kill time without injuring eternity.',
    'Computers are not intelligent. They only think they are.',
];

function parseArgs(argv) {
    const result = {port: 0, count: -1, portFile: null};
    for (let i = 0; i < argv.length; i += 2) {
        const value = argv[i + 1];
        if (argv[i] === '--port' && /^\d+$/.test(value) && Number(value) <= 65535)
            result.port = Number(value);
        else if (argv[i] === '--count' && /^-?\d+$/.test(value))
            result.count = Number(value);
        else if (argv[i] === '--port-file' && value !== undefined)
            result.portFile = value;
        else
            usage();
    }
    return result;
}

function usage() {
    printerr('Usage: gjs -m fortune-server.js [--port N] [--count N] [--port-file FILE]');
    System.exit(2);
}

function writePortFile(path, port) {
    if (path !== null)
        GLib.file_set_contents(path, `${port}\n`);
}

// Quits @loop after @count connections (runs after onPendingConnection).
function quitAfter(server, count, loop) {
    let remaining = count;
    if (remaining > 0) {
        server.connect('pending-connection-available', () => {
            if (--remaining === 0)
                loop.quit();
        });
    }
}

main();

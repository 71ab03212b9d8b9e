// SPDX-License-Identifier: LGPL-2.1-or-later
// threaded-fortune-server.js: Qt's Threaded Fortune Server example on libtcp.
// vfunc_incoming_connection is overridden: every accepted socket is served
// on its own, nothing is queued. GJS runs JavaScript on one thread only, so
// where C, Python and Vala start a worker thread, this starts an async task
// on the main loop; the writes do not block it.
// Usage: gjs -m threaded-fortune-server.js [--port N] [--count N] [--port-file FILE]

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

Gio._promisify(Gio.OutputStream.prototype, 'write_all_async', 'write_all_finish');
Gio._promisify(Gio.IOStream.prototype, 'close_async', 'close_finish');

const AsyncFortuneServer = GObject.registerClass(
class AsyncFortuneServer extends Tcp.Server {
    vfunc_incoming_connection(socket) {
        const fortune = FORTUNES[GLib.random_int_range(0, FORTUNES.length)];
        this._serve(socket, fortune).catch(e => printerr(`Could not send: ${e.message}`))
            .finally(() => this.onServed?.());
    }

    async _serve(socket, fortune) {
        const connection = socket.connection_factory_create_connection();
        const bytes = new TextEncoder().encode(`${fortune}\n`);
        await connection.get_output_stream().write_all_async(bytes, GLib.PRIORITY_DEFAULT, null);
        await connection.close_async(GLib.PRIORITY_DEFAULT, null);
    }
});

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
        if (argv[i] === '--port' && /^\d+$/.test(value) && Number(value) <= 65535) {
            result.port = Number(value);
        } else if (argv[i] === '--count' && /^-?\d+$/.test(value)) {
            result.count = Number(value);
        } else if (argv[i] === '--port-file' && value !== undefined) {
            result.portFile = value;
        } else {
            printerr('Usage: gjs -m threaded-fortune-server.js [--port N] [--count N] [--port-file FILE]');
            System.exit(2);
        }
    }
    return result;
}

const args = parseArgs(ARGV);
const loop = new GLib.MainLoop(null, false);
const server = new AsyncFortuneServer();
let remaining = args.count;
server.onServed = () => {
    if (--remaining === 0)
        loop.quit();
};

try {
    server.listen_on('127.0.0.1', args.port);
} catch (e) {
    printerr(`Unable to start the server: ${e.message}`);
    System.exit(1);
}
print(`The server is running on 127.0.0.1 port ${server.get_server_port()}.`);
if (args.portFile !== null)
    GLib.file_set_contents(args.portFile, `${server.get_server_port()}\n`);
loop.run();

// SPDX-License-Identifier: LGPL-2.1-or-later
// The accept loop the documentation teaches for GJS, under a few seconds of
// load from another process: `await server.accept_async(null)` in a loop,
// after Gio._promisify(). Every client must be served, and the server must
// still accept afterwards.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {assert, assertEqual, readAll, connect, runTests} from './harness.js';

Gio._promisify(Tcp.Server.prototype, 'accept_async', 'accept_finish');
Gio._promisify(Gio.Subprocess.prototype, 'communicate_utf8_async', 'communicate_utf8_finish');

const SECONDS = Number(GLib.getenv('TCP_GJS_LOAD_SECONDS') ?? '3');
const FORTUNE = new TextEncoder().encode('You might have mail.\n');
const LOAD_CLIENT = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR'), 'gjs', 'load-client.py']);

// The documented loop, as an application writes it.
async function serve(server, counts) {
    for (;;) {
        let connection;
        try {
            // eslint-disable-next-line no-await-in-loop
            connection = await server.accept_async(null);
        } catch (e) {
            counts.stopped = e;
            return;
        }
        connection.get_output_stream().write_all(FORTUNE, null);
        connection.close(null);
        counts.served++;
    }
}

await runTests({
    async documentedLoopUnderLoad() {
        const server = new Tcp.Server();
        server.listen_on('127.0.0.1', 0);
        const port = server.get_server_port();
        const counts = {served: 0, stopped: null};
        serve(server, counts);

        const load = Gio.Subprocess.new(
            ['/usr/bin/python3', LOAD_CLIENT, String(port), String(SECONDS)],
            Gio.SubprocessFlags.STDOUT_PIPE);
        const [stdout] = await load.communicate_utf8_async(null, null);
        const match = /^served (\d+) failed (\d+)$/m.exec(stdout ?? '');
        assert(match !== null, `the load client said: ${stdout}`);
        const [served, failed] = [Number(match[1]), Number(match[2])];
        print(`# GJS ${imports.system.version}: ${served} clients served in ${SECONDS} s, ` +
              `${failed} failed; the loop served ${counts.served}`);

        assertEqual(failed, 0, 'clients not served');
        assert(served > 100, `only ${served} clients in ${SECONDS} s`);
        assertEqual(counts.stopped, null, 'the accept loop stopped');
        assertEqual(counts.served, served, 'connections the loop served');

        // Still accepting: one more client is served.
        const client = connect(port);
        const reader = new Promise(resolve => {
            GLib.idle_add(GLib.PRIORITY_LOW, () => {
                if (counts.served <= served)
                    return GLib.SOURCE_CONTINUE;
                resolve(readAll(client));
                return GLib.SOURCE_REMOVE;
            });
        });
        assertEqual(await reader, 'You might have mail.\n', 'after the load');
        server.close();
    },
});

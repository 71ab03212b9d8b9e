// SPDX-License-Identifier: LGPL-2.1-or-later
// Listening through a SOCKS5 proxy from GJS: listen() blocks and throws the
// proxy's error, listen_async() reports it through its callback. The proxy
// is a free loopback port nobody listens on.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    assert, assertEqual, assertIOError, assertThrowsIOError, freePort, runLoop, runTests,
    withTimeout,
} from './harness.js';

Gio._promisify(Tcp.Server.prototype, 'listen_async', 'listen_finish');

// A server whose proxy nobody listens on, and what it emits.
function unreachableServer() {
    const server = new Tcp.Server({proxy: `socks5://127.0.0.1:${freePort()}`});
    const events = {listening: 0, acceptErrors: [], newConnections: 0};
    server.connect('notify::listening', () => events.listening++);
    server.connect('accept-error', (s, error) => events.acceptErrors.push(error.message));
    server.connect('new-connection', () => events.newConnections++);
    return [server, events];
}

// Lets the main context run for a while, to see that nothing more comes.
function idleFor(ms) {
    const loop = new GLib.MainLoop(null, false);
    assertEqual(runLoop(loop, ms), false, 'something quit the idle loop');
}

function assertNothingEmitted(server, events) {
    idleFor(100);
    assertEqual(events.listening, 0, 'notify::listening');
    assertEqual(events.acceptErrors.join('; '), '', 'accept-error');
    assertEqual(events.newConnections, 0, 'new-connection');
    assertEqual(server.listening, false, 'listening');
}

await runTests({
    listenThrowsSynchronously() {
        const [server, events] = unreachableServer();
        const start = GLib.get_monotonic_time();
        const error = assertThrowsIOError(() => server.listen(null, 0),
            Gio.IOErrorEnum.CONNECTION_REFUSED);
        const elapsedMs = (GLib.get_monotonic_time() - start) / 1000;
        // Refused at once, long before proxy-timeout.
        assert(elapsedMs < server.proxyTimeout, `took ${elapsedMs} ms`);
        assertEqual(server.get_server_error(), Gio.IOErrorEnum.CONNECTION_REFUSED,
            'server error');
        assertEqual(server.get_error_string(), error.message, 'error string');
        assertNothingEmitted(server, events);
        server.close();
    },

    listenAsyncReportsThroughTheCallback() {
        const [server, events] = unreachableServer();
        const loop = new GLib.MainLoop(null, false);
        const outcomes = [];
        // Throws nothing itself: the error comes to the callback.
        server.listen_async(null, 0, null, (srv, result) => {
            try {
                outcomes.push(srv.listen_finish(result));
            } catch (e) {
                outcomes.push(e);
            }
            loop.quit();
        });
        assertEqual(outcomes.length, 0, 'finished inside listen_async()');
        assert(runLoop(loop), 'no callback within the timeout');

        assertEqual(outcomes.length, 1, 'callbacks');
        assertIOError(outcomes[0], Gio.IOErrorEnum.CONNECTION_REFUSED);
        assertEqual(server.get_server_error(), Gio.IOErrorEnum.CONNECTION_REFUSED,
            'server error');
        // The error went to the callback, not to accept-error.
        assertNothingEmitted(server, events);
        server.close();
    },

    async listenAsyncRejectsThePromise() {
        const [server, events] = unreachableServer();
        let caught = null;
        try {
            await withTimeout(server.listen_async(null, 0, null));
        } catch (e) {
            caught = e;
        }
        assert(caught !== null, 'the promise resolved');
        assertIOError(caught, Gio.IOErrorEnum.CONNECTION_REFUSED);
        assertNothingEmitted(server, events);
        server.close();
    },
});

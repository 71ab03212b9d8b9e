// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny test harness for the GJS suite.
//
// An exception thrown inside a GLib callback is logged by GJS and then
// forgotten: the process still exits 0. So callbacks only record and quit
// the loop, assertions run after the loop returns, and runTests() exits
// non-zero when any test failed.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

Gio._promisify(Gio.SocketClient.prototype, 'connect_to_host_async', 'connect_to_host_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');
Gio._promisify(Gio.OutputStream.prototype, 'write_bytes_async', 'write_bytes_finish');
Gio._promisify(Gio.IOStream.prototype, 'close_async', 'close_finish');

export const LOOP_TIMEOUT_MS = 5000;

export class AssertionError extends Error {}

export function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new AssertionError(message);
}

export function assertEqual(actual, expected, message = '') {
    if (actual !== expected) {
        throw new AssertionError(
            `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
}

export function assertIOError(error, code) {
    assert(error instanceof GLib.Error, `not a GLib.Error: ${error}`);
    assert(error.matches(Gio.IOErrorEnum, code),
        `expected Gio.IOErrorEnum ${code}, got ${error.domain}:${error.code} (${error.message})`);
}

export function assertThrowsIOError(func, code) {
    try {
        func();
    } catch (e) {
        assertIOError(e, code);
        return e;
    }
    throw new AssertionError('no error was thrown');
}

// Runs @loop until something quits it; returns false when the guard fired.
export function runLoop(loop, timeoutMs = LOOP_TIMEOUT_MS) {
    let timedOut = false;
    const id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, timeoutMs, () => {
        timedOut = true;
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    loop.run();
    if (!timedOut)
        GLib.source_remove(id);
    return !timedOut;
}

// Rejects when @promise has not settled within @timeoutMs.
export function withTimeout(promise, timeoutMs = LOOP_TIMEOUT_MS) {
    let id = 0;
    const guard = new Promise((resolve, reject) => {
        id = GLib.timeout_add(GLib.PRIORITY_DEFAULT, timeoutMs, () => {
            id = 0;
            reject(new AssertionError(`timed out after ${timeoutMs} ms`));
            return GLib.SOURCE_REMOVE;
        });
    });
    return Promise.race([promise, guard]).finally(() => {
        if (id !== 0)
            GLib.source_remove(id);
    });
}

// On loopback the kernel completes the handshake before the server
// accepts, so a blocking connect returns at once.
export function connect(port, host = '127.0.0.1') {
    const client = new Gio.SocketClient({timeout: 5});
    return client.connect_to_host(host, port, null);
}

export function hasIPv6() {
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

// A loopback port that was free a moment ago and that nobody listens on.
export function freePort() {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM,
        Gio.SocketProtocol.TCP);
    socket.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), false);
    const port = socket.get_local_address().get_port();
    socket.close();
    return port;
}

export function sendText(connection, text) {
    const bytes = new TextEncoder().encode(text);
    connection.get_output_stream().write_all(bytes, null);
}

// Reads until end-of-file: only for a peer that has written and closed.
export function readAll(connection) {
    const input = connection.get_input_stream();
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
        const bytes = input.read_bytes(4096, null);
        if (bytes.get_size() === 0)
            return text;
        text += decoder.decode(bytes.toArray());
    }
}

export function readText(connection, count) {
    const bytes = connection.get_input_stream().read_bytes(count, null);
    return new TextDecoder().decode(bytes.toArray());
}

export async function runTests(tests) {
    let failed = 0;
    for (const [name, func] of Object.entries(tests)) {
        try {
            // eslint-disable-next-line no-await-in-loop
            await func();
            print(`ok - ${name}`);
        } catch (e) {
            failed++;
            printerr(`not ok - ${name}: ${e}\n${e.stack ?? ''}`);
        }
    }
    print(`${Object.keys(tests).length - failed} passed, ${failed} failed`);
    System.exit(failed > 0 ? 1 : 0);
}

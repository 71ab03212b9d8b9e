// SPDX-License-Identifier: LGPL-2.1-or-later
// Tcp.TlsServer from GJS, against GIO's TLS client on the same main loop.
//
// Every case records what happens in callbacks and checks it after the loop
// has run: an exception thrown inside a GJS callback does not fail the test.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

const SHORT_TIMEOUT = 300;

function assert(condition, message) {
    if (!condition)
        throw new Error(`assertion failed: ${message}`);
}

function assertEqual(actual, expected, what) {
    if (actual !== expected)
        throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// Iterates the default context until condition() holds or timeoutMs pass.
function runUntil(condition, timeoutMs = 10000) {
    const context = GLib.MainContext.default();
    let fired = false;
    const guard = GLib.timeout_add(GLib.PRIORITY_DEFAULT, timeoutMs, () => {
        fired = true;
        return GLib.SOURCE_REMOVE;
    });
    while (!condition() && !fired)
        context.iteration(true);
    if (!fired)
        GLib.source_remove(guard);
    return condition();
}

function runFor(ms) {
    let fired = false;
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        fired = true;
        return GLib.SOURCE_REMOVE;
    });
    while (!fired)
        GLib.MainContext.default().iteration(true);
}

const certDir = GLib.dir_make_tmp('tcp-tls-gjs-XXXXXX');
const certPath = name => GLib.build_filenamev([certDir, name]);

function makeCertificates() {
    const script = GLib.build_filenamev([GLib.getenv('G_TEST_SRCDIR'), 'make-test-certs.sh']);
    const proc = Gio.Subprocess.new(['/bin/sh', script, certDir], Gio.SubprocessFlags.NONE);
    proc.wait(null);
    assert(proc.get_successful(), 'make-test-certs.sh failed');
}

function removeCertificates() {
    Gio.Subprocess.new(['rm', '-rf', certDir], Gio.SubprocessFlags.NONE).wait(null);
}

class Recorder {
    constructor(server) {
        this.events = '';
        this.errors = [];
        this.connections = [];
        this.maxInFlight = 0;
        server.connect('started-encryption-handshake', (srv, connection) => {
            this.events += connection instanceof Gio.TlsServerConnection ? 'S' : '?';
            this.maxInFlight = Math.max(this.maxInFlight, srv.get_n_handshakes());
        });
        server.connect('new-connection', () => {
            this.events += 'N';
        });
        server.connect('pending-connection-available', srv => {
            this.events += 'P';
            let connection;
            while ((connection = srv.next_pending_connection()) !== null) {
                connection.get_output_stream().write_all('hello\n', null);
                this.connections.push(connection);
            }
        });
        server.connect('handshake-failed', (srv, connection, error) => {
            this.events += 'F';
            this.errors.push(error);
        });
    }
}

function newServer() {
    const server = Tcp.TlsServer.new_from_files(certPath('server.crt'), certPath('server.key'));
    assert(server.listen_on('127.0.0.1', 0), 'listen_on');
    return server;
}

function connectPlain(port) {
    const client = new Gio.SocketClient({enable_proxy: false});
    const connection = client.connect_to_host('127.0.0.1', port, null);
    connection.get_socket().set_timeout(20);
    return connection;
}

// True when the server closed the connection (EOF or reset).
function readsClosed(connection) {
    try {
        return connection.get_input_stream().read_bytes(64, null).get_size() === 0;
    } catch (e) {
        return !e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT);
    }
}

// A TLS client driven by the main loop: connect, handshake, read a line.
class TlsClient {
    constructor(port, certificateName = null) {
        this.done = false;
        this.handshakeOk = false;
        this.line = null;
        this.error = null;

        const client = new Gio.SocketClient({enable_proxy: false});
        client.connect_to_host_async('127.0.0.1', port, null, (c, res) => {
            try {
                this.base = c.connect_to_host_finish(res);
                const identity = Gio.NetworkAddress.new('localhost', port);
                this.tls = Gio.TlsClientConnection.new(this.base, identity);
                this.database = Gio.TlsFileDatabase.new(certPath('ca.crt'));
                this.tls.set_database(this.database);
                if (certificateName !== null) {
                    this.certificate = Gio.TlsCertificate.new_from_files(
                        certPath(`${certificateName}.crt`), certPath(`${certificateName}.key`));
                    this.tls.set_certificate(this.certificate);
                }
                this.tls.handshake_async(GLib.PRIORITY_DEFAULT, null, (t, hres) => {
                    try {
                        this.handshakeOk = t.handshake_finish(hres);
                        this.readLine();
                    } catch (e) {
                        this.finish(e);
                    }
                });
            } catch (e) {
                this.finish(e);
            }
        });
    }

    readLine() {
        const input = new Gio.DataInputStream({base_stream: this.tls.get_input_stream()});
        input.read_line_async(GLib.PRIORITY_DEFAULT, null, (s, res) => {
            try {
                const [line] = s.read_line_finish_utf8(res);
                this.line = line;
                this.finish(null);
            } catch (e) {
                this.finish(e);
            }
        });
    }

    finish(error) {
        this.error = error;
        this.done = true;
    }
}

const tests = {
    'good client'() {
        const server = newServer();
        const record = new Recorder(server);
        const client = new TlsClient(server.get_server_port());
        assert(runUntil(() => client.done), 'client finished');
        server.close();

        assertEqual(client.error, null, 'client error');
        assert(client.handshakeOk, 'handshake completed');
        assertEqual(client.line, 'hello', 'greeting');
        assertEqual(record.events, 'SNP', 'signal order');
        assert(record.connections[0] instanceof Gio.TlsServerConnection, 'queued a TLS connection');
    },

    'plaintext client'() {
        const server = newServer();
        server.handshake_timeout = 20000;
        const record = new Recorder(server);
        const start = GLib.get_monotonic_time();
        const connection = connectPlain(server.get_server_port());
        connection.get_output_stream().write_all('GET / HTTP/1.0\r\n\r\n', null);
        assert(runUntil(() => record.errors.length > 0, 15000), 'handshake-failed emitted');
        const elapsed = GLib.get_monotonic_time() - start;

        assertEqual(record.events, 'SNF', 'signal order');
        assertEqual(record.errors[0].domain, Gio.tls_error_quark(), 'a TLS error');
        assertEqual(record.errors[0].code, Gio.TlsError.NOT_TLS, 'not TLS');
        assert(elapsed < 10 * 1000000, 'dropped at once, not by the timeout');
        assert(readsClosed(connection), 'socket closed');
        server.close();
    },

    'silent client'() {
        const server = newServer();
        server.handshake_timeout = SHORT_TIMEOUT;
        const record = new Recorder(server);
        const connection = connectPlain(server.get_server_port());
        assert(runUntil(() => record.errors.length > 0, 10000), 'handshake-failed emitted');

        assertEqual(record.events, 'SNF', 'signal order');
        assert(record.errors[0].matches(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT), 'timed out');
        assert(readsClosed(connection), 'socket closed');
        assertEqual(server.get_n_handshakes(), 0, 'handshakes in flight');
        server.close();
    },

    'eight silent clients and a good one, max pending 5'() {
        const server = newServer();
        server.handshake_timeout = SHORT_TIMEOUT;
        server.max_pending_connections = 5;
        const record = new Recorder(server);
        const port = server.get_server_port();
        const start = GLib.get_monotonic_time();
        const silent = [];
        for (let i = 0; i < 8; i++)
            silent.push(connectPlain(port));
        const good = new TlsClient(port);

        assert(runUntil(() => good.done, 20000), 'good client finished');
        const servedAfter = GLib.get_monotonic_time() - start;
        assert(runUntil(() => record.errors.length === 8, 20000), 'all silent clients dropped');
        server.close();

        assertEqual(good.error, null, 'good client error');
        assertEqual(good.line, 'hello', 'good client greeted');
        assert(servedAfter >= SHORT_TIMEOUT * 1000, 'good client waited for the timeouts');
        assertEqual(record.maxInFlight, 5, 'handshakes in flight at most');
        assertEqual(record.events.split('P').length - 1, 1, 'one queued connection');
        assert(record.errors.every(e => e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT)),
            'every silent client timed out');
        assert(silent.every(readsClosed), 'silent sockets closed');
    },

    'client certificate required and missing'() {
        const server = newServer();
        server.authentication_mode = Gio.TlsAuthenticationMode.REQUIRED;
        const database = Gio.TlsFileDatabase.new(certPath('ca.crt'));
        server.database = database;
        const record = new Recorder(server);
        const client = new TlsClient(server.get_server_port());
        assert(runUntil(() => client.done && record.errors.length > 0), 'finished');
        server.close();

        assertEqual(client.line, null, 'no greeting');
        assertEqual(record.events, 'SNF', 'signal order');
        assertEqual(record.errors[0].domain, Gio.tls_error_quark(), 'a TLS error');
    },

    'client certificate required and valid'() {
        const server = newServer();
        server.authentication_mode = Gio.TlsAuthenticationMode.REQUIRED;
        const database = Gio.TlsFileDatabase.new(certPath('ca.crt'));
        server.database = database;
        const record = new Recorder(server);
        const client = new TlsClient(server.get_server_port(), 'client');
        assert(runUntil(() => client.done), 'client finished');
        server.close();

        assertEqual(client.error, null, 'client error');
        assertEqual(client.line, 'hello', 'greeting');
        assertEqual(record.events, 'SNP', 'signal order');
        const peer = record.connections[0].get_peer_certificate();
        assert(peer !== null && peer.is_same(client.certificate), 'peer certificate exposed');
    },

    'close during handshakes'() {
        const server = newServer();
        server.handshake_timeout = SHORT_TIMEOUT;
        const record = new Recorder(server);
        const port = server.get_server_port();
        const silent = [connectPlain(port), connectPlain(port), connectPlain(port)];
        assert(runUntil(() => server.get_n_handshakes() === 3, 5000), 'three handshakes started');

        server.close();
        const inFlight = server.get_n_handshakes();
        runFor(2 * SHORT_TIMEOUT);

        assertEqual(inFlight, 0, 'handshakes after close');
        assertEqual(record.events, 'SNSNSN', 'nothing emitted after close');
        assert(silent.every(readsClosed), 'sockets closed');
    },
};

makeCertificates();
let failures = 0;
for (const [name, test] of Object.entries(tests)) {
    try {
        test();
        print(`ok - ${name}`);
    } catch (e) {
        failures++;
        print(`not ok - ${name}: ${e.message}\n${e.stack}`);
    }
}
removeCertificates();
System.exit(failures > 0 ? 1 : 0);

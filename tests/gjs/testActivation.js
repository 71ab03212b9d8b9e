// SPDX-License-Identifier: LGPL-2.1-or-later
// listen_activated() from GJS, as systemd socket activation runs it.
//
// Each test starts activationChild.js as a child process with real
// listening descriptors from 3 on (Gio.SubprocessLauncher.take_fd) and the
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES variables systemd sets.
// LISTEN_PID is the child's own pid: a shell sets it to $$ and then execs
// gjs, which keeps that pid. The test then connects to what the child says
// it listens on and checks who answers.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';

import {
    AssertionError, assert, assertEqual, assertThrowsIOError, connect, readAll, runTests,
    withTimeout,
} from './harness.js';

Gio._promisify(Gio.DataInputStream.prototype, 'read_line_async', 'read_line_finish_utf8');
Gio._promisify(Gio.Subprocess.prototype, 'wait_async', 'wait_finish');
Gio._promisify(Gio.Subprocess.prototype, 'wait_check_async', 'wait_check_finish');

const CHILD = Gio.File.new_for_uri(import.meta.url).get_parent()
    .get_child('activationChild.js').get_path();
// The gjs running this test runs the child too.
const GJS = GLib.file_read_link('/proc/self/exe');
const CHILD_TIMEOUT_MS = 10000;
const IO_ERROR = 'g-io-error-quark';

// A socket to pass: 'tcp' listens, 'bound' is a TCP socket that does not,
// 'udp' is a bound UDP socket.
function makeSocket(kind) {
    const socket = kind === 'udp'
        ? Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP)
        : Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM, Gio.SocketProtocol.TCP);
    socket.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), false);
    if (kind === 'tcp')
        socket.listen();
    return socket;
}

// A copy of @fd that the caller owns: JavaScript has no dup(), a
// Gio.UnixFDList makes one.
function dup(fd) {
    const list = new Gio.UnixFDList();
    return list.get(list.append(fd));
}

class Child {
    // activationChild.js with @passed ([name, kind] pairs) as descriptors 3,
    // 4, ... and @args as its arguments. @listenPid: null for the child's own
    // pid, or a value for LISTEN_PID.
    constructor(passed, args, listenPid = null) {
        const sockets = passed.map(([, kind]) => makeSocket(kind));
        this.ports = sockets.map(s => s.get_local_address().get_port());

        const launcher = new Gio.SubprocessLauncher({flags: Gio.SubprocessFlags.STDOUT_PIPE});
        // The launcher owns the copies and closes them after the spawn.
        sockets.forEach((socket, i) => launcher.take_fd(dup(socket.get_fd()), 3 + i));
        launcher.setenv('LISTEN_FDS', String(passed.length), true);
        launcher.setenv('LISTEN_FDNAMES', passed.map(([name]) => name).join(':'), true);
        launcher.unsetenv('LISTEN_PID');
        let script;
        if (listenPid === null) {
            // $$ is the shell's pid, which exec keeps for gjs.
            script = 'LISTEN_PID=$$ exec "$0" "$@"';
        } else {
            launcher.setenv('TCP_TEST_LISTEN_PID', String(listenPid), true);
            script = 'LISTEN_PID="$TCP_TEST_LISTEN_PID" exec "$0" "$@"';
        }
        this.process = launcher.spawnv(['/bin/sh', '-c', script, GJS, '-m', CHILD, ...args]);
        launcher.close();
        // Only the child holds the sockets now: whoever answers is the child.
        sockets.forEach(s => s.close());

        this.pid = Number(this.process.get_identifier());
        this.stdout = new Gio.DataInputStream({base_stream: this.process.get_stdout_pipe()});
    }

    async readLine() {
        const [line] = await withTimeout(
            this.stdout.read_line_async(GLib.PRIORITY_DEFAULT, null), CHILD_TIMEOUT_MS);
        if (line === null)
            throw new AssertionError('the child closed its output');
        return line;
    }

    // The outcome of listen_activated(@name) in the child: the port, or
    // 'DOMAIN CODE'.
    async readResult(name) {
        const line = await this.readLine();
        const fields = line.split(' ');
        assertEqual(fields[0], name, `result line "${line}"`);
        if (fields[1] === 'ok')
            return Number(fields[2]);
        assertEqual(fields[1], 'error', `result line "${line}"`);
        return `${fields[2]} ${fields[3]}`;
    }

    // [the child's pid, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES] after the
    // calls; then waits for 'ready'.
    async readEnv() {
        const line = await this.readLine();
        const fields = line.split(' ');
        assert(fields[0] === 'env' && fields.length === 5, `env line "${line}"`);
        assertEqual(await this.readLine(), 'ready', 'after env');
        return [Number(fields[1]), fields[2], fields[3], fields[4]];
    }

    // Connects to the child's server on @port; returns what it writes. The
    // client's socket has a 5 s timeout, so a silent child fails this.
    answer(port) {
        const client = connect(port);
        const text = readAll(client);
        client.close(null);
        return text;
    }

    async wait() {
        const ok = await withTimeout(this.process.wait_check_async(null), CHILD_TIMEOUT_MS);
        assertEqual(ok, true, 'child exit');
    }

    // Race-free: a child that has exited and been reaped is not signalled.
    async kill() {
        this.process.force_exit();
        try {
            await withTimeout(this.process.wait_async(null), 5000);
        } catch {
            // Killed; nothing more to do.
        }
    }
}

// Runs @body with a child; a test that fails half-way leaves no child behind.
async function withChild(passed, args, listenPid, body) {
    const child = new Child(passed, args, listenPid);
    try {
        await body(child);
    } finally {
        await child.kill();
    }
}

const notFound = `${IO_ERROR} ${Gio.IOErrorEnum.NOT_FOUND}`;

await runTests({
    // By name, the same name twice, null for the first TCP listening socket
    // nobody took; a UDP socket, one that does not listen and an unknown
    // name fail clearly. The environment is left alone.
    async names() {
        const passed = [
            ['web', 'tcp'],      // fd 3
            ['dns', 'udp'],      // fd 4
            ['admin', 'tcp'],    // fd 5
            ['web', 'tcp'],      // fd 6: a second "web"
            ['idle', 'bound'],   // fd 7: bound, not listening
            ['spare', 'tcp'],    // fd 8
        ];
        const args = ['admin', 'web', 'web', 'dns', 'idle', 'nosuch', '-', '-'];
        await withChild(passed, args, null, async child => {
            assertEqual(await child.readResult('admin'), child.ports[2], 'admin');
            assertEqual(await child.readResult('web'), child.ports[0], 'first web');
            assertEqual(await child.readResult('web'), child.ports[3], 'second web');
            assertEqual(await child.readResult('dns'),
                `${IO_ERROR} ${Gio.IOErrorEnum.NOT_SUPPORTED}`, 'dns (UDP)');
            assertEqual(await child.readResult('idle'),
                `${IO_ERROR} ${Gio.IOErrorEnum.INVALID_ARGUMENT}`, 'idle (not listening)');
            assertEqual(await child.readResult('nosuch'), notFound, 'nosuch');
            // null: the first TCP listening socket nobody took, then none.
            assertEqual(await child.readResult('-'), child.ports[5], 'first null');
            assertEqual(await child.readResult('-'), notFound, 'second null');

            const [pid, listenPid, listenFds, listenFdNames] = await child.readEnv();
            assertEqual(pid, child.pid, 'child pid');
            assertEqual(listenPid, String(child.pid), 'LISTEN_PID');
            assertEqual(listenFds, '6', 'LISTEN_FDS');
            assertEqual(listenFdNames, 'web:dns:admin:web:idle:spare', 'LISTEN_FDNAMES');

            // The child's servers answer on the passed sockets, each in its name.
            assertEqual(child.answer(child.ports[2]), `admin ${child.pid}`, 'admin answer');
            assertEqual(child.answer(child.ports[0]), `web ${child.pid}`, 'first web answer');
            assertEqual(child.answer(child.ports[3]), `web ${child.pid}`, 'second web answer');
            assertEqual(child.answer(child.ports[5]), `- ${child.pid}`, 'null answer');
            await child.wait();
        });
    },

    // null first takes fd 3; a name then takes the first of its sockets
    // left; null again skips the UDP socket and what was taken.
    async nullTakesTheNextListeningSocket() {
        const passed = [['web', 'tcp'], ['dns', 'udp'], ['admin', 'tcp'], ['web', 'tcp']];
        await withChild(passed, ['-', 'web', '-', '-'], null, async child => {
            assertEqual(await child.readResult('-'), child.ports[0], 'first null');
            assertEqual(await child.readResult('web'), child.ports[3], 'web');
            assertEqual(await child.readResult('-'), child.ports[2], 'second null');
            assertEqual(await child.readResult('-'), notFound, 'third null');
            const [pid, listenPid, listenFds, listenFdNames] = await child.readEnv();
            assertEqual(`${listenPid} ${listenFds} ${listenFdNames}`,
                `${pid} 4 web:dns:admin:web`, 'environment');

            assertEqual(child.answer(child.ports[0]), `- ${child.pid}`, 'first null answer');
            assertEqual(child.answer(child.ports[3]), `web ${child.pid}`, 'web answer');
            assertEqual(child.answer(child.ports[2]), `- ${child.pid}`, 'second null answer');
            await child.wait();
        });
    },

    // Descriptors meant for another process (here: this one, the parent)
    // are not the child's.
    async otherPid() {
        const parentPid = new Gio.Credentials().get_unix_pid();
        await withChild([['web', 'tcp']], ['web', '-'], parentPid, async child => {
            assertEqual(await child.readResult('web'), notFound, 'web');
            assertEqual(await child.readResult('-'), notFound, 'null');
            const [pid, listenPid, listenFds, listenFdNames] = await child.readEnv();
            assertEqual(pid, child.pid, 'child pid');
            assertEqual(`${listenPid} ${listenFds} ${listenFdNames}`,
                `${parentPid} 1 web`, 'environment');
            await child.wait();
        });
    },

    // This process was not socket-activated at all.
    notActivated() {
        // unsetenv() is not thread-safe, and GLib runs threads of its own:
        // only when something is to be unset.
        for (const name of ['LISTEN_PID', 'LISTEN_FDS']) {
            if (GLib.getenv(name) !== null)
                GLib.unsetenv(name);
        }
        for (const name of [null, 'web']) {
            const server = new Tcp.Server();
            const error = assertThrowsIOError(() => server.listen_activated(name),
                Gio.IOErrorEnum.NOT_FOUND);
            assertEqual(server.listening, false, 'listening');
            assertEqual(server.get_server_error(), Gio.IOErrorEnum.NOT_FOUND, 'server error');
            assertEqual(server.get_error_string(), error.message, 'error string');
        }
    },
});

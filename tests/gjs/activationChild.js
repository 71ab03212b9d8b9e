// SPDX-License-Identifier: LGPL-2.1-or-later
// A socket-activated process, for testActivation.js (not a test itself).
//
// Started with listening descriptors from 3 on and the LISTEN_* variables
// systemd would set. For each argument it makes a Tcp.Server and calls
// listen_activated() with that name ('-' for null), printing one line:
//
//   NAME ok PORT
//   NAME error DOMAIN CODE MESSAGE
//
// then 'env PID LISTEN_PID LISTEN_FDS LISTEN_FDNAMES' (its own pid, and the
// variables after the calls) and 'ready'. Then each server that listens, in
// order, takes one connection and writes 'NAME PID' to it. Any failure
// exits non-zero.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Tcp from 'gi://Tcp?version=1';
import System from 'system';

const WAIT_MS = 10000;

const pid = new Gio.Credentials().get_unix_pid();
const servers = [];

try {
    for (const arg of ARGV) {
        const server = new Tcp.Server();
        try {
            server.listen_activated(arg === '-' ? null : arg);
        } catch (e) {
            print(`${arg} error ${GLib.quark_to_string(e.domain)} ${e.code} ${e.message}`);
            continue;
        }
        print(`${arg} ok ${server.get_server_port()}`);
        servers.push([arg, server]);
    }

    const env = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']
        .map(v => GLib.getenv(v) ?? '(unset)');
    print(`env ${pid} ${env.join(' ')}`);
    print('ready');

    for (const [arg, server] of servers) {
        const [ok, timedOut] = server.wait_for_new_connection(WAIT_MS);
        if (!ok || timedOut)
            throw new Error(`${arg}: no connection`);
        const connection = server.next_pending_connection();
        connection.get_output_stream().write_all(new TextEncoder().encode(`${arg} ${pid}`), null);
        connection.close(null);
        server.close();
    }
} catch (e) {
    printerr(`activationChild: ${e}`);
    System.exit(1);
}

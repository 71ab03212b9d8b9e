# SPDX-License-Identifier: LGPL-2.1-or-later
"""A socket-activated process, for test_activation.py (not a test itself).

Started with listening descriptors from 3 on and the LISTEN_* variables
systemd would set. For each argument it makes a Tcp.Server and calls
listen_activated() with that name ('-' for None), printing one line:

    NAME ok PORT
    NAME error DOMAIN CODE MESSAGE

then 'env PID LISTEN_PID LISTEN_FDS LISTEN_FDNAMES' (its own pid, and the
variables as the C library sees them after the calls) and 'ready'. Then
each server that listens, in order, takes one connection and writes
'NAME PID' to it. Any failure exits non-zero.
"""

import os
import sys

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Tcp', '1')
from gi.repository import GLib, Tcp  # noqa: E402

WAIT_MS = 10000


def main(names):
    servers = []
    for arg in names:
        server = Tcp.Server()
        name = None if arg == '-' else arg
        try:
            server.listen_activated(name)
        except GLib.Error as e:
            print(f'{arg} error {e.domain} {e.code} {e.message}', flush=True)
            continue
        print(f'{arg} ok {server.get_server_port()}', flush=True)
        servers.append((arg, server))

    # GLib.getenv(), not os.environ: os.environ is Python's copy, made at
    # start-up, and would not show what the library did to the environment.
    env = [GLib.getenv(v) or '(unset)' for v in ('LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES')]
    print('env', os.getpid(), *env, flush=True)
    print('ready', flush=True)

    for arg, server in servers:
        ok, timed_out = server.wait_for_new_connection(WAIT_MS)
        if not ok or timed_out:
            sys.exit(f'{arg}: no connection')
        connection = server.next_pending_connection()
        connection.get_output_stream().write_all(f'{arg} {os.getpid()}'.encode(), None)
        connection.close(None)
        server.close()


if __name__ == '__main__':
    main(sys.argv[1:])

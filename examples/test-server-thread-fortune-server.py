#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs server-thread-fortune-server against several clients at once.

  test-server-thread-fortune-server.py SERVER
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

N_CLIENTS = 8


def wait_for_port(path, server):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return int(f.read())
        if server.poll() is not None:
            sys.exit(f'the server exited with {server.returncode} before listening')
        time.sleep(0.02)
    sys.exit('the server did not write its port within 10 s')


def main():
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, 'port')
        server = subprocess.Popen([sys.argv[1], '--count', str(N_CLIENTS), '--threads', '3',
                                   '--port-file', port_file],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = wait_for_port(port_file, server)
            # Every client connects before any reads: the accept loop must not
            # wait for the workers.
            clients = [socket.create_connection(('127.0.0.1', port), timeout=10)
                       for _ in range(N_CLIENTS)]
            lines = []
            for client in clients:
                with client, client.makefile('rb') as f:
                    lines.append(f.read().decode())
            out, err = server.communicate(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    failures = []
    for i, line in enumerate(lines):
        if not line.endswith('\n') or line.count('\n') != 1 or len(line.strip()) < 5:
            failures.append(f'client {i} got {line!r}, not one fortune line')
    if server.returncode != 0:
        failures.append(f'the server exited with {server.returncode}: {err}')
    if f'port {port}.' not in out:
        failures.append(f'the server did not print its port: {out!r}')

    for failure in failures:
        print(failure, file=sys.stderr)
    print(f'{N_CLIENTS} clients served, {len(failures)} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

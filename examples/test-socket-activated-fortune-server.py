#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Starts socket-activated-fortune-server the way systemd does.

  test-socket-activated-fortune-server.py SERVER

The listening socket is file descriptor 3 and LISTEN_PID/LISTEN_FDS name it;
LISTEN_PID must be the server's own process ID, so a shell sets it to $$ and
execs the server, which finds the socket with tcp_server_listen_activated().
"""

import os
import re
import socket
import subprocess
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def start(server, sock, listen_pid='$$', count=1):
    def as_fd_3():
        if sock is not None:
            os.dup2(sock.fileno(), 3)

    env = dict(os.environ, LISTEN_FDS='1')
    return subprocess.Popen(
        ['/bin/sh', '-c', f'LISTEN_PID={listen_pid} exec "$0" "$@"', server,
         '--count', str(count)],
        env=env, pass_fds=[3] if sock is not None else [], preexec_fn=as_fd_3,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fortune(port):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as client:
        with client.makefile('rb') as f:
            return f.read().decode()


def activated(server):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    proc = start(server, listener, count=2)
    listener.close()   # the server holds the socket now
    try:
        lines = [fortune(port), fortune(port)]
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(all(line.endswith('\n') and len(line) > 5 for line in lines),
          f'activated: the clients got {lines!r}')
    check(proc.returncode == 0, f'activated: exit status {proc.returncode}: {err}')
    check(f'port {port} (socket from systemd)' in out,
          f'activated: the server did not report the passed socket: {out!r}')


def other_pid(server):
    # LISTEN_PID names another process: the sockets are not ours, so the
    # server listens by itself.
    proc = start(server, None, listen_pid='1')
    try:
        first = proc.stdout.readline()
        match = re.search(r'port (\d+) \(socket of our own\)', first)
        check(match is not None, f'other pid: unexpected first line {first!r}')
        if match:
            check(fortune(int(match.group(1))).endswith('\n'), 'other pid: no fortune')
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, f'other pid: exit status {proc.returncode}: {err}')


def udp_socket(server):
    # A UDP socket is no TCP listening socket: listen_activated (NULL) passes
    # it over, and the server listens by itself.
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', 0))
    proc = start(server, udp)
    udp.close()
    try:
        first = proc.stdout.readline()
        match = re.search(r'port (\d+) \(socket of our own\)', first)
        check(match is not None, f'udp: unexpected first line {first!r}')
        if match:
            check(fortune(int(match.group(1))).endswith('\n'), 'udp: no fortune')
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, f'udp: exit status {proc.returncode}: {err}')


def main():
    server = sys.argv[1]
    for case in (activated, other_pid, udp_socket):
        case(server)
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f'3 cases, {len(failures)} failures')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

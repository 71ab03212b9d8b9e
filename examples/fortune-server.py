#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# fortune-server.py: Qt's Fortune Server example on libtcp, in Python.
# Usage: fortune-server.py [--port N] [--count N] [--port-file FILE]

import argparse
import os
import random

import gi
gi.require_version('Tcp', '1')
from gi.repository import GLib, Tcp  # noqa: E402


def on_pending_connection(server):
    # Emitted each time a connection is queued; the same works for a
    # Tcp.TlsServer, which queues a connection once its handshake completes.
    while (connection := server.next_pending_connection()) is not None:
        fortune = random.choice(FORTUNES) + '\n'
        connection.get_output_stream().write_all(fortune.encode(), None)
        connection.close(None)


def main():
    args = parse_args()
    loop = GLib.MainLoop()
    server = Tcp.Server()
    server.connect('pending-connection-available', on_pending_connection)
    server.listen_on('127.0.0.1', args.port)
    print(f'The server is running on 127.0.0.1 port {server.get_server_port()}.', flush=True)
    write_port_file(args.port_file, server.get_server_port())
    quit_after(server, args.count, loop)
    loop.run()


FORTUNES = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
]


def parse_args():
    parser = argparse.ArgumentParser(description='Serve fortunes over TCP.')
    parser.add_argument('--port', type=int, default=0, help='port to listen on (0: any free port)')
    parser.add_argument('--count', type=int, default=-1, help='exit after N fortunes')
    parser.add_argument('--port-file', help='write the port to FILE')
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error('the port must be between 0 and 65535')
    return args


def write_port_file(path, port):
    if path:
        with open(path + '.tmp', 'w') as f:
            f.write(f'{port}\n')
        # Readers poll for the file: let it appear complete.
        os.replace(path + '.tmp', path)


def quit_after(server, count, loop):
    """Quits @loop after @count connections (runs after on_pending_connection)."""
    if count <= 0:
        return
    served = [0]

    def on_pending_connection_counted(_server):
        served[0] += 1
        if served[0] == count:
            loop.quit()
    server.connect('pending-connection-available', on_pending_connection_counted)


if __name__ == '__main__':
    try:
        main()
    except GLib.Error as e:
        raise SystemExit(f'Unable to start the server: {e.message}')

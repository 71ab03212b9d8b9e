#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# threaded-fortune-server.py: Qt's Threaded Fortune Server example on libtcp.
# incoming_connection is overridden: every accepted socket goes straight to
# a worker thread, which sends a fortune and closes. Nothing is queued.
# Usage: threaded-fortune-server.py [--port N] [--count N] [--port-file FILE]

import argparse
import os
import random
import threading

import gi
gi.require_version('Tcp', '1')
from gi.repository import GLib, Tcp  # noqa: E402


class ThreadedFortuneServer(Tcp.Server):
    def do_incoming_connection(self, socket):
        fortune = random.choice(FORTUNES) + '\n'
        threading.Thread(target=self.serve, args=(socket, fortune)).start()

    def serve(self, socket, fortune):
        # Runs in the worker thread: a blocking stream over the socket.
        connection = socket.connection_factory_create_connection()
        connection.get_output_stream().write_all(fortune.encode(), None)
        connection.close(None)
        # Back to the main thread to count what was served.
        GLib.idle_add(self.served)

    def served(self):
        self.remaining -= 1
        if self.remaining == 0:
            self.loop.quit()
        return GLib.SOURCE_REMOVE


FORTUNES = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
]


def main():
    parser = argparse.ArgumentParser(description='Serve fortunes over TCP, one thread each.')
    parser.add_argument('--port', type=int, default=0, help='port to listen on (0: any free port)')
    parser.add_argument('--count', type=int, default=-1, help='exit after N fortunes')
    parser.add_argument('--port-file', help='write the port to FILE')
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error('the port must be between 0 and 65535')

    server = ThreadedFortuneServer()
    server.loop = GLib.MainLoop()
    server.remaining = args.count
    try:
        server.listen_on('127.0.0.1', args.port)
    except GLib.Error as e:
        raise SystemExit(f'Unable to start the server: {e.message}')

    port = server.get_server_port()
    print(f'The server is running on 127.0.0.1 port {port}.', flush=True)
    if args.port_file:
        with open(args.port_file + '.tmp', 'w') as f:
            f.write(f'{port}\n')
        os.replace(args.port_file + '.tmp', args.port_file)
    server.loop.run()


if __name__ == '__main__':
    main()

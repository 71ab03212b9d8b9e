#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# loopback.py: Qt's Loopback example on libtcp, in Python.
# A server and a client in one process: the client sends a few MiB to the
# server over 127.0.0.1, both print their progress, all on one main loop.
# Usage: loopback.py [--bytes N]

import argparse

import gi
gi.require_version('Tcp', '1')
from gi.repository import GLib, Gio, Tcp  # noqa: E402

CHUNK = 64 * 1024
PROGRESS_STEP = 1024 * 1024


class Loopback:
    def __init__(self, total):
        self.total = total
        self.sent = 0
        self.received = 0
        self.client_done = False
        self.error = None
        self.loop = GLib.MainLoop()
        self.server = Tcp.Server()
        self.server.connect('pending-connection-available', self.on_pending_connection)
        self.server.listen_on('127.0.0.1', 0)
        self.chunk = GLib.Bytes.new(b'x' * CHUNK)

    def run(self):
        port = self.server.get_server_port()
        print(f'Server listening on 127.0.0.1 port {port}', flush=True)
        Gio.SocketClient().connect_to_host_async('127.0.0.1', port, None, self.on_connected)
        self.loop.run()
        self.server.close()
        return self.error

    def fail(self, error):
        self.error = error
        self.loop.quit()

    # The server side: read until end-of-file.
    def on_pending_connection(self, server):
        connection = server.next_pending_connection()
        if connection is not None:
            self.read_more(connection)

    def read_more(self, connection):
        connection.get_input_stream().read_bytes_async(
            CHUNK, GLib.PRIORITY_DEFAULT, None, self.on_read, connection)

    def on_read(self, stream, result, connection):
        try:
            data = stream.read_bytes_finish(result)
        except GLib.Error as e:
            return self.fail(e.message)
        if data.get_size() == 0:
            print(f'Server received {self.received} bytes', flush=True)
            connection.close(None)
            return self.loop.quit()
        before = self.received
        self.received += data.get_size()
        if self.received // PROGRESS_STEP != before // PROGRESS_STEP:
            print(f'Server received {self.received} of {self.total} bytes', flush=True)
        self.read_more(connection)

    # The client side: write the whole amount, then close.
    def on_connected(self, client, result):
        try:
            self.connection = client.connect_to_host_finish(result)
        except GLib.Error as e:
            return self.fail(e.message)
        self.write_more()

    def write_more(self):
        left = self.total - self.sent
        if left == 0:
            print(f'Client sent {self.sent} bytes', flush=True)
            self.connection.close(None)
            return
        chunk = self.chunk if left >= CHUNK else GLib.Bytes.new(b'x' * left)
        self.connection.get_output_stream().write_bytes_async(
            chunk, GLib.PRIORITY_DEFAULT, None, self.on_written)

    def on_written(self, stream, result):
        try:
            written = stream.write_bytes_finish(result)
        except GLib.Error as e:
            return self.fail(e.message)
        before = self.sent
        self.sent += written
        if self.sent // PROGRESS_STEP != before // PROGRESS_STEP:
            print(f'Client sent {self.sent} of {self.total} bytes', flush=True)
        self.write_more()


def main():
    parser = argparse.ArgumentParser(description='Move bytes through a loopback connection.')
    parser.add_argument('--bytes', type=int, default=4 * 1024 * 1024,
                        help='how many bytes to send (default 4 MiB)')
    args = parser.parse_args()
    if args.bytes < 0:
        parser.error('the byte count must not be negative')

    error = Loopback(args.bytes).run()
    if error is not None:
        raise SystemExit(f'Loopback failed: {error}')


if __name__ == '__main__':
    main()

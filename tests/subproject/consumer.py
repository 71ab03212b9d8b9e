#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python through the consumer's typelib, which includes Tcp-1 from the
libtcp subproject: a server from TcpConsumer serves one line to itself."""

import sys

import gi
gi.require_version('Gio', '2.0')
gi.require_version('Tcp', '1')
gi.require_version('TcpConsumer', '0')
from gi.repository import Gio, GLib, Tcp, TcpConsumer  # noqa: E402

LINE = b'Served by a subproject to Python\n'

server = TcpConsumer.new_loopback_server()
assert isinstance(server, Tcp.Server), server
loop = GLib.MainLoop()
received = []


def serve(server):
    while (connection := server.next_pending_connection()) is not None:
        connection.get_output_stream().write_all(LINE, None)
        connection.close(None)


def on_connected(client, result):
    try:
        connection = client.connect_to_host_finish(result)
        data = Gio.DataInputStream.new(connection.get_input_stream())
        line, _ = data.read_line_utf8(None)
        received.append(line)
    finally:
        loop.quit()


server.connect('pending-connection-available', serve)
Gio.SocketClient().connect_to_host_async('127.0.0.1', server.get_server_port(), None,
                                         on_connected)
GLib.timeout_add_seconds(10, loop.quit)
loop.run()
print(f'From Python through TcpConsumer-0: {received}')
sys.exit(0 if received == [LINE.decode().rstrip('\n')] else 1)

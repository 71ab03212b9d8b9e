#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# fortune-client.py: Qt's Fortune Client example on GIO, in Python.
# Connects to a fortune server and prints what it sends until it closes.
# Usage: fortune-client.py HOST PORT

import sys

import gi
gi.require_version('Gio', '2.0')
from gi.repository import GLib, Gio  # noqa: E402


def main():
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or not 0 < int(sys.argv[2]) < 65536:
        print(f'Usage: {sys.argv[0]} HOST PORT', file=sys.stderr)
        return 2

    client = Gio.SocketClient(timeout=10)
    try:
        connection = client.connect_to_host(sys.argv[1], int(sys.argv[2]), None)
        stream = connection.get_input_stream()
        while (data := stream.read_bytes(1024, None).get_data()):
            sys.stdout.buffer.write(data)
    except GLib.Error as e:
        print(f'Could not get a fortune from {sys.argv[1]} port {sys.argv[2]}: {e.message}',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

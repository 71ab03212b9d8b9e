// SPDX-License-Identifier: LGPL-2.1-or-later
// fortune-client.vala: Qt's Fortune Client example on GIO, in Vala.
// Connects to a fortune server and prints what it sends until it closes.
// Usage: fortune-client-vala HOST PORT

int main (string[] args) {
    uint64 port = 0;
    if (args.length != 3 || !uint64.try_parse (args[2], out port) || port < 1 || port > 65535) {
        printerr ("Usage: %s HOST PORT\n", args[0]);
        return 2;
    }

    try {
        var client = new SocketClient ();
        client.timeout = 10;
        var connection = client.connect_to_host (args[1], (uint16) port, null);
        uint8 buffer[1024];
        ssize_t n;
        while ((n = connection.input_stream.read (buffer, null)) > 0)
            stdout.write (buffer[0:n]);
        stdout.flush ();
    } catch (Error e) {
        printerr ("Could not get a fortune from %s port %s: %s\n", args[1], args[2], e.message);
        return 1;
    }
    return 0;
}

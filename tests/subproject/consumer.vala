// SPDX-License-Identifier: LGPL-2.1-or-later
// consumer.vala: Vala against the tcp-1 vapi of libtcp as a meson subproject.
// Serves one line to itself over 127.0.0.1 and checks it arrived.

const string LINE = "Served by a subproject to Vala\n";

int main () {
    var loop = new MainLoop ();
    var server = new Tcp.Server ();
    string? received = null;

    server.pending_connection_available.connect (() => {
        IOStream? connection;
        while ((connection = server.next_pending_connection ()) != null) {
            try {
                connection.output_stream.write_all (LINE.data, null);
                connection.close ();
            } catch (Error e) {
                error ("Could not serve: %s", e.message);
            }
        }
    });
    try {
        server.listen_on ("127.0.0.1", 0);
    } catch (Error e) {
        error ("Could not listen: %s", e.message);
    }

    var client = new SocketClient ();
    client.connect_to_host_async.begin ("127.0.0.1", server.get_server_port (), null, (obj, res) => {
        try {
            var connection = client.connect_to_host_async.end (res);
            var input = new DataInputStream (connection.input_stream);
            received = input.read_line () + "\n";
        } catch (Error e) {
            error ("The client failed: %s", e.message);
        }
        loop.quit ();
    });
    Timeout.add_seconds (10, () => {
        error ("No line within 10 s");
    });
    loop.run ();

    print ("From Vala: %s", received);
    return received == LINE ? 0 : 1;
}

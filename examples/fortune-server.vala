// SPDX-License-Identifier: LGPL-2.1-or-later
// fortune-server.vala: Qt's Fortune Server example on libtcp, in Vala.
// Usage: fortune-server-vala [--port N] [--count N] [--port-file FILE]

// Emitted each time a connection is queued; the same works for a
// Tcp.TlsServer, which queues a connection once its handshake completes.
void on_pending_connection (Tcp.Server server) {
    IOStream? connection;
    while ((connection = server.next_pending_connection ()) != null) {
        var fortune = FORTUNES[Random.int_range (0, FORTUNES.length)] + "\n";
        try {
            connection.output_stream.write_all (fortune.data, null);
            connection.close ();
        } catch (Error e) {
            printerr ("Could not send the fortune: %s\n", e.message);
        }
    }
}

int main (string[] args) {
    if (!parse_args (ref args))
        return 2;
    var loop = new MainLoop ();
    var server = new Tcp.Server ();
    server.pending_connection_available.connect (on_pending_connection);
    try {
        server.listen_on ("127.0.0.1", (uint16) opt_port);
        print ("The server is running on 127.0.0.1 port %u.\n", server.get_server_port ());
        if (opt_port_file != null)
            FileUtils.set_contents (opt_port_file, "%u\n".printf (server.get_server_port ()));
    } catch (Error e) {
        printerr ("Unable to start the server: %s\n", e.message);
        return 1;
    }
    // Runs after on_pending_connection: quit after --count fortunes.
    server.pending_connection_available.connect (() => {
        if (opt_count > 0 && --opt_count == 0)
            loop.quit ();
    });
    loop.run ();
    return 0;
}

const string[] FORTUNES = {
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
};

int opt_port = 0;
int opt_count = -1;
string? opt_port_file = null;

const OptionEntry[] OPTIONS = {
    { "port", 'p', OptionFlags.NONE, OptionArg.INT, ref opt_port, "Port to listen on (0: any free port)", "N" },
    { "count", 'c', OptionFlags.NONE, OptionArg.INT, ref opt_count, "Exit after N fortunes", "N" },
    { "port-file", 0, OptionFlags.NONE, OptionArg.FILENAME, ref opt_port_file, "Write the port to FILE", "FILE" },
    { null }
};

bool parse_args (ref unowned string[] args) {
    var context = new OptionContext ("- serve fortunes over TCP");
    context.add_main_entries (OPTIONS, null);
    try {
        context.parse (ref args);
    } catch (OptionError e) {
        printerr ("%s\n", e.message);
        return false;
    }
    if (opt_port < 0 || opt_port > 65535) {
        printerr ("The port must be between 0 and 65535\n");
        return false;
    }
    return true;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// threaded-fortune-server.vala: Qt's Threaded Fortune Server example on libtcp.
// incoming_connection is overridden: every accepted socket goes straight to
// a worker thread, which sends a fortune and closes. Nothing is queued.
// Usage: threaded-fortune-server-vala [--port N] [--count N] [--port-file FILE]

class ThreadedFortuneServer : Tcp.Server {
    public MainLoop loop = new MainLoop ();
    public int remaining = -1;

    public override void incoming_connection (Socket socket) {
        var fortune = FORTUNES[Random.int_range (0, FORTUNES.length)] + "\n";
        new Thread<void> ("fortune", () => {
            // A blocking stream over the socket, used from this thread only.
            var connection = SocketConnection.factory_create_connection (socket);
            try {
                connection.output_stream.write_all (fortune.data, null);
                connection.close ();
            } catch (Error e) {
                printerr ("Could not send the fortune: %s\n", e.message);
            }
            // Back to the main thread to count what was served.
            Idle.add (() => {
                if (remaining > 0 && --remaining == 0)
                    loop.quit ();
                return Source.REMOVE;
            });
        });
    }
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

int main (string[] args) {
    var context = new OptionContext ("- serve fortunes over TCP, one thread each");
    context.add_main_entries (OPTIONS, null);
    try {
        context.parse (ref args);
    } catch (OptionError e) {
        printerr ("%s\n", e.message);
        return 2;
    }
    if (opt_port < 0 || opt_port > 65535) {
        printerr ("The port must be between 0 and 65535\n");
        return 2;
    }

    var server = new ThreadedFortuneServer ();
    server.remaining = opt_count;
    try {
        server.listen_on ("127.0.0.1", (uint16) opt_port);
        print ("The server is running on 127.0.0.1 port %u.\n", server.get_server_port ());
        if (opt_port_file != null)
            FileUtils.set_contents (opt_port_file, "%u\n".printf (server.get_server_port ()));
    } catch (Error e) {
        printerr ("Unable to start the server: %s\n", e.message);
        return 1;
    }
    server.loop.run ();
    return 0;
}

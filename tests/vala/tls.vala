// SPDX-License-Identifier: LGPL-2.1-or-later
// Tcp.TlsServer from Vala: a good TLS client is served, a silent one is
// dropped by the handshake timeout. Results are checked after the loop.

string cert_dir;
string events;
Error? failure;
string? line;
Error? client_error;
bool client_done;

async void run_client (uint16 port) {
    try {
        var client = new SocketClient ();
        client.enable_proxy = false;
        var connection = yield client.connect_to_host_async ("127.0.0.1", port, null);
        var tls = TlsClientConnection.new (connection, new NetworkAddress ("localhost", port));
        tls.database = TlsFileDatabase.new (Path.build_filename (cert_dir, "ca.crt"));
        yield tls.handshake_async (Priority.DEFAULT, null);
        var input = new DataInputStream (tls.input_stream);
        line = yield input.read_line_async (Priority.DEFAULT, null);
    } catch (Error e) {
        client_error = e;
    }
    client_done = true;
}

void run_until (owned SourceFunc condition, uint timeout_ms) {
    var fired = false;
    var guard = Timeout.add (timeout_ms, () => { fired = true; return Source.REMOVE; });
    while (!condition () && !fired)
        MainContext.default ().iteration (true);
    if (!fired)
        Source.remove (guard);
}

int main (string[] args) {
    try {
        cert_dir = DirUtils.make_tmp ("tcp-tls-vala-XXXXXX");
        var script = Path.build_filename (Environment.get_variable ("G_TEST_SRCDIR"),
                                          "make-test-certs.sh");
        int status;
        Process.spawn_sync (null, { "/bin/sh", script, cert_dir }, null, 0, null,
                            null, null, out status);
        Process.check_wait_status (status);

        var server = new Tcp.TlsServer.from_files (Path.build_filename (cert_dir, "server.crt"),
                                                   Path.build_filename (cert_dir, "server.key"));
        // Short, for the silent client; valgrind and the sanitizers make a
        // real handshake many times slower, and the good one must finish.
        var slow = Environment.get_variable ("TCP_TEST_UNDER_VALGRIND") != null ||
                   Environment.get_variable ("TCP_TEST_SLOW") != null;
        server.handshake_timeout = slow ? 5000 : 300;
        events = "";
        server.started_encryption_handshake.connect ((connection) => { events += "S"; });
        server.new_connection.connect (() => { events += "N"; });
        server.pending_connection_available.connect (() => {
            events += "P";
            IOStream? connection;
            while ((connection = server.next_pending_connection ()) != null) {
                try {
                    connection.output_stream.write_all ("hello\n".data, null);
                } catch (Error e) {
                    client_error = e;
                }
            }
        });
        server.handshake_failed.connect ((connection, error) => {
            events += "F";
            failure = error.copy ();
        });
        server.listen_on ("127.0.0.1", 0);
        var port = server.get_server_port ();

        run_client.begin (port);
        run_until (() => client_done, 10000);
        if (client_error != null || line != "hello" || events != "SNP") {
            stderr.printf ("good client: events %s, line %s, error %s\n", events, line,
                           client_error != null ? client_error.message : "none");
            return 1;
        }

        var silent = new SocketClient ().connect_to_host ("127.0.0.1", port, null);
        run_until (() => failure != null, 30000);
        if (events != "SNPSNF" || !(failure is IOError.TIMED_OUT)) {
            stderr.printf ("silent client: events %s, failure %s\n", events,
                           failure != null ? failure.message : "none");
            return 1;
        }
        silent.close ();
        server.close ();

        Process.spawn_sync (null, { "rm", "-rf", cert_dir }, null, SpawnFlags.SEARCH_PATH,
                            null, null, null, null);
    } catch (Error e) {
        stderr.printf ("%s\n", e.message);
        return 1;
    }
    print ("ok - Vala TLS server\n");
    return 0;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
// Tcp.Server from Vala, compiled against the generated tcp-1.vapi.

const string[] FORTUNES = {
    "You will be surprised by a loud noise.\n",
    "You might have mail.\n",
};

const uint LOOP_TIMEOUT_MS = 5000;

// Runs @loop until it quits; returns false when the timeout guard fired.
bool run_loop (MainLoop loop, uint timeout_ms = LOOP_TIMEOUT_MS) {
    bool timed_out = false;
    var id = Timeout.add (timeout_ms, () => {
        timed_out = true;
        loop.quit ();
        return Source.REMOVE;
    });
    loop.run ();
    if (!timed_out)
        Source.remove (id);
    return !timed_out;
}

SocketConnection connect_to (uint port) throws Error {
    var client = new SocketClient ();
    client.timeout = 5;
    return client.connect_to_host ("127.0.0.1", (uint16) port, null);
}

string read_all (IOStream stream) throws Error {
    var text = new StringBuilder ();
    uint8 buffer[4096];
    ssize_t n;
    while ((n = stream.input_stream.read (buffer, null)) > 0)
        text.append_len ((string) buffer, n);
    return text.str;
}

// Each accepted socket is served from a worker thread; nothing is queued.
class ThreadedFortuneServer : Tcp.Server {
    public Thread<bool>[] threads = {};
    public int n_sockets = 0;

    public override void incoming_connection (Socket socket) {
        var fortune = FORTUNES[n_sockets % FORTUNES.length];
        n_sockets++;
        threads += new Thread<bool> ("fortune", () => {
            try {
                var connection = SocketConnection.factory_create_connection (socket);
                connection.output_stream.write_all (fortune.data, null, null);
                connection.close (null);
                return true;
            } catch (Error e) {
                printerr ("worker: %s\n", e.message);
                return false;
            }
        });
    }
}

class CountingServer : Tcp.Server {
    public uint16[] peer_ports = {};

    public override void incoming_connection (Socket socket) {
        try {
            var remote = (InetSocketAddress) socket.get_remote_address ();
            uint16 port = remote.get_port ();
            peer_ports += port;
        } catch (Error e) {
            assert_not_reached ();
        }
        // The default implementation queues the connection.
        base.incoming_connection (socket);
    }
}

void test_threaded_subclass () {
    try {
        var server = new ThreadedFortuneServer ();
        server.listen_on ("127.0.0.1", 0);
        var loop = new MainLoop ();
        int new_connections = 0;
        server.new_connection.connect (() => {
            if (++new_connections == 4)
                loop.quit ();
        });

        SocketConnection[] clients = {};
        for (int i = 0; i < 4; i++)
            clients += connect_to (server.server_port);
        assert (run_loop (loop));

        foreach (var thread in server.threads)
            assert (thread.join ());
        string[] received = {};
        foreach (var client in clients)
            received += read_all (client);
        server.close ();

        assert (server.n_sockets == 4);
        assert (new_connections == 4);
        assert (!server.has_pending_connections ());
        int first = 0, second = 0;
        foreach (var text in received) {
            if (text == FORTUNES[0])
                first++;
            else if (text == FORTUNES[1])
                second++;
        }
        assert (first == 2 && second == 2);
    } catch (Error e) {
        error ("%s", e.message);
    }
}

void test_chain_up_and_exchange () {
    try {
        var server = new CountingServer ();
        server.listen_on ("127.0.0.1", 0);
        assert (server.listening);
        assert (server.server_address != null);
        assert (server.server_address.to_string () == "127.0.0.1");
        var loop = new MainLoop ();
        server.new_connection.connect (() => loop.quit ());

        var client = connect_to (server.server_port);
        client.output_stream.write_all ("ping\n".data, null, null);
        assert (run_loop (loop));

        var local = (InetSocketAddress) client.get_local_address ();
        assert (server.peer_ports.length == 1 && server.peer_ports[0] == local.get_port ());

        IOStream? connection = server.next_pending_connection ();
        assert (connection is TcpConnection);
        assert (server.next_pending_connection () == null);
        uint8 buffer[5];
        size_t n;
        connection.input_stream.read_all (buffer, out n, null);
        assert (n == 5 && Memory.cmp (buffer, "ping\n".data, 5) == 0);
        connection.output_stream.write_all ("pong\n".data, null, null);
        connection.close (null);
        assert (read_all (client) == "pong\n");
        server.close ();
        assert (!server.listening);
        assert (server.server_address == null);
    } catch (Error e) {
        error ("%s", e.message);
    }
}

void test_properties () {
    var server = new Tcp.Server ();
    assert (!server.listening);
    assert (server.server_address == null);
    assert (server.server_port == 0);
    assert (server.max_pending_connections == 30);
    assert (server.listen_backlog_size == 4096);
    assert (!server.reuse_port);
    assert (!server.paused);
    assert (server.proxy == null);
    assert (server.get_server_error () == IOError.FAILED);
    assert (server.get_error_string () == "");

    string[] notified = {};
    server.notify.connect ((pspec) => { notified += pspec.name; });
    server.max_pending_connections = 5;
    server.proxy = "socks5://127.0.0.1:1080";
    server.proxy = null;
    assert (string.joinv (",", notified) == "max-pending-connections,proxy,proxy");
}

void test_errors () {
    var server = new Tcp.Server ();
    var other = new Tcp.Server ();
    try {
        server.listen_on ("127.0.0.1", 0);
    } catch (Error e) {
        error ("%s", e.message);
    }

    try {
        other.listen_on ("127.0.0.1", server.get_server_port ());
        assert_not_reached ();
    } catch (IOError.ADDRESS_IN_USE e) {
        assert (other.get_server_error () == IOError.ADDRESS_IN_USE);
        assert (!other.listening);
    } catch (Error e) {
        error ("wrong error: %s", e.message);
    }

    bool timed_out = false;
    try {
        server.wait_for_new_connection (50, out timed_out);
        assert_not_reached ();
    } catch (IOError.TIMED_OUT e) {
        assert (timed_out);
    } catch (Error e) {
        error ("wrong error: %s", e.message);
    }

    try {
        other.set_socket_descriptor (-1);
        assert_not_reached ();
    } catch (IOError.INVALID_ARGUMENT e) {
        assert (!other.listening);
    } catch (Error e) {
        error ("wrong error: %s", e.message);
    }
    server.close ();
}

void test_wait_with_client () {
    try {
        var server = new Tcp.Server ();
        server.listen_on ("127.0.0.1", 0);
        var client = connect_to (server.server_port);
        bool timed_out = true;
        assert (server.wait_for_new_connection (5000, out timed_out));
        assert (!timed_out);
        assert (server.next_pending_connection () != null);
        client.close (null);
        server.close ();
    } catch (Error e) {
        error ("%s", e.message);
    }
}

async IOStream accept_one (Tcp.Server server) throws Error {
    return yield server.accept_async (null);
}

void test_accept_async () {
    try {
        var server = new Tcp.Server ();
        server.listen_on ("127.0.0.1", 0);
        var loop = new MainLoop ();
        IOStream? accepted = null;
        Error? failure = null;
        accept_one.begin (server, (obj, res) => {
            try {
                accepted = accept_one.end (res);
            } catch (Error e) {
                failure = e;
            }
            loop.quit ();
        });
        var client = connect_to (server.server_port);
        assert (run_loop (loop));
        assert (failure == null);
        assert (accepted is TcpConnection);
        client.close (null);
        server.close ();
    } catch (Error e) {
        error ("%s", e.message);
    }
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/Tcp/Vala/threaded-subclass", test_threaded_subclass);
    Test.add_func ("/Tcp/Vala/chain-up-and-exchange", test_chain_up_and_exchange);
    Test.add_func ("/Tcp/Vala/properties", test_properties);
    Test.add_func ("/Tcp/Vala/errors", test_errors);
    Test.add_func ("/Tcp/Vala/wait-with-client", test_wait_with_client);
    Test.add_func ("/Tcp/Vala/accept-async", test_accept_async);
    return Test.run ();
}

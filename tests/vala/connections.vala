// SPDX-License-Identifier: LGPL-2.1-or-later
// The server knows its connections, from Vala, compiled against the
// generated tcp-1.vapi: the connections model, max-connections, a denied
// peer, and shutdown_async() with yield and with a callback.
//
// The denied peer is a client bound to 127.0.5.1: all of 127.0.0.0/8 is
// loopback on Linux.

const uint LOOP_TIMEOUT_MS = 5000;

delegate bool Predicate ();

// Runs the default main context until @predicate holds; false when the
// timeout passed first.
bool run_until (Predicate predicate, uint timeout_ms = LOOP_TIMEOUT_MS) {
    var loop = new MainLoop ();
    bool met = predicate ();
    if (met)
        return true;
    var check_id = Timeout.add (5, () => {
        met = predicate ();
        if (met)
            loop.quit ();
        return Source.CONTINUE;
    });
    var guard_id = Timeout.add (timeout_ms, () => {
        loop.quit ();
        return Source.CONTINUE;
    });
    loop.run ();
    Source.remove (check_id);
    Source.remove (guard_id);
    return met;
}

void run_for (uint ms) {
    run_until (() => false, ms);
}

SocketConnection connect_from (uint16 port, string source) throws Error {
    var client = new SocketClient ();
    client.timeout = 5;
    client.local_address = new InetSocketAddress.from_string (source, 0);
    return client.connect_to_host ("127.0.0.1", port, null);
}

async uint shut_down (Tcp.Server server, int timeout_msec) throws Error {
    uint n_forced;
    yield server.shutdown_async (timeout_msec, null, out n_forced);
    return n_forced;
}

// A denied peer is refused; at max-connections nothing more is accepted
// until a connection closes; the model follows; shutdown_async() with a
// timeout forces what is still open.
void test_model_limit_refused_shutdown () {
    try {
        var server = new Tcp.Server ();
        server.listen_on ("127.0.0.1", 0);
        var port = server.get_server_port ();
        ListModel model = server.get_connections ();
        assert (model.get_item_type () == typeof (IOStream));
        assert (model.get_n_items () == 0);
        uint n_changes = 0;
        model.items_changed.connect (() => n_changes++);

        // A denied peer: refused, with its address and the reason.
        Tcp.Refusal? reason = null;
        string? refused_address = null;
        server.connection_refused.connect ((peer, why) => {
            refused_address = peer.address.to_string ();
            reason = why;
        });
        // A bad mask throws, and adds no rule: an allow rule would refuse
        // every client below.
        try {
            server.allow_peers ("127.0.0.0/33");
            assert_not_reached ();
        } catch (IOError.INVALID_ARGUMENT e) {
        }
        server.deny_peers ("127.0.5.0/24");
        var denied = connect_from (port, "127.0.5.1");
        assert (run_until (() => reason != null));
        assert (reason == Tcp.Refusal.DENIED);
        assert (refused_address == "127.0.5.1");
        try {
            uint8 buffer[1];
            denied.input_stream.read (buffer, null);
            assert_not_reached ();
        } catch (IOError.CONNECTION_CLOSED e) {
        }

        // max-connections: two of three clients get in.
        server.max_connections = 2;
        SocketConnection[] clients = {};
        for (int i = 0; i < 3; i++)
            clients += connect_from (port, "127.0.0.1");
        assert (run_until (() => server.get_n_pending_connections () == 2));
        var a = server.next_pending_connection ();
        var b = server.next_pending_connection ();
        run_for (200);
        assert (!server.has_pending_connections ());
        assert (server.n_connections == 2);
        assert (model.get_n_items () == 2);
        assert (n_changes == 2);
        assert (model.get_item (0) == a);
        assert (model.get_item (1) is TcpConnection);

        // A close leaves the model when the context runs, and makes room.
        a.close (null);
        assert (model.get_n_items () == 2);
        assert (run_until (() => server.get_n_pending_connections () == 1));
        var c = server.next_pending_connection ();
        assert (server.n_connections == 2);
        assert (model.get_item (0) == b && model.get_item (1) == c);

        // shutdown_async() with yield: b is closed in time, c is forced.
        var loop = new MainLoop ();
        uint n_forced = uint.MAX;
        Error? failure = null;
        shut_down.begin (server, 200, (obj, res) => {
            try {
                n_forced = shut_down.end (res);
            } catch (Error e) {
                failure = e;
            }
            loop.quit ();
        });
        assert (!server.listening);
        b.close (null);
        assert (run_until (() => n_forced != uint.MAX || failure != null));
        assert (failure == null);
        assert (n_forced == 1);
        assert (c.is_closed ());
        assert (server.n_connections == 0);
        assert (model.get_n_items () == 0);
        foreach (var client in clients)
            client.close (null);
    } catch (Error e) {
        error ("%s", e.message);
    }
}

// Cancelled through the GIO callback form: CANCELLED, connections open.
void test_shutdown_cancelled () {
    try {
        var server = new Tcp.Server ();
        server.listen_on ("127.0.0.1", 0);
        var client = connect_from (server.get_server_port (), "127.0.0.1");
        assert (run_until (() => server.has_pending_connections ()));
        var connection = server.next_pending_connection ();

        var cancellable = new Cancellable ();
        bool done = false;
        bool cancelled = false;
        uint n_forced = uint.MAX;
        server.shutdown_async.begin (-1, cancellable, (obj, res) => {
            try {
                server.shutdown_async.end (res, out n_forced);
            } catch (IOError.CANCELLED e) {
                cancelled = true;
            } catch (Error e) {
                printerr ("unexpected error: %s\n", e.message);
            }
            done = true;
        });
        cancellable.cancel ();
        assert (run_until (() => done));
        assert (cancelled);
        run_for (100);
        assert (!connection.is_closed ());
        assert (server.n_connections == 1);
        connection.close (null);
        client.close (null);
    } catch (Error e) {
        error ("%s", e.message);
    }
}

int main (string[] args) {
    Test.init (ref args);
    Test.add_func ("/Tcp/Vala/connections/model-limit-refused-shutdown",
                   test_model_limit_refused_shutdown);
    Test.add_func ("/Tcp/Vala/connections/shutdown-cancelled", test_shutdown_cancelled);
    return Test.run ();
}

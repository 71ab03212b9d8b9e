// SPDX-License-Identifier: LGPL-2.1-or-later
// The 1.1 ways to listen from Vala, compiled against the generated
// tcp-1.vapi: listen_range(), listen_on ("localhost"), the no_delay and
// keepalive properties, and listen_activated() without socket activation.

// The socket option names, from the system's headers.
[CCode (cname = "SOL_SOCKET", cheader_filename = "sys/socket.h")]
extern const int SOL_SOCKET;
[CCode (cname = "SO_KEEPALIVE", cheader_filename = "sys/socket.h")]
extern const int SO_KEEPALIVE;
[CCode (cname = "IPPROTO_TCP", cheader_filename = "netinet/in.h")]
extern const int IPPROTO_TCP;
[CCode (cname = "TCP_NODELAY", cheader_filename = "netinet/tcp.h")]
extern const int TCP_NODELAY;

const int WAIT_MS = 5000;

InetAddress loopback4 () {
    return new InetAddress.loopback (SocketFamily.IPV4);
}

// A socket listening on 127.0.0.1:@port, or null when the port is taken.
Socket? occupy (uint16 port) {
    try {
        var socket = new Socket (SocketFamily.IPV4, SocketType.STREAM, SocketProtocol.TCP);
        socket.bind (new InetSocketAddress (loopback4 (), port), false);
        socket.listen ();
        return socket;
    } catch (Error e) {
        return null;
    }
}

uint16 local_port (Socket socket) throws Error {
    return ((InetSocketAddress) socket.get_local_address ()).get_port ();
}

bool have_ipv6 () {
    try {
        var socket = new Socket (SocketFamily.IPV6, SocketType.STREAM, SocketProtocol.TCP);
        socket.bind (new InetSocketAddress.from_string ("::1", 0), false);
        return true;
    } catch (Error e) {
        return false;
    }
}

SocketConnection connect_to (string host, uint16 port) throws Error {
    var client = new SocketClient ();
    client.timeout = 5;
    return client.connect_to_host (host, port, null);
}

SocketConnection take_connection (Tcp.Server server) throws Error {
    bool timed_out = true;
    assert (server.wait_for_new_connection (WAIT_MS, out timed_out));
    assert (!timed_out);
    var connection = server.next_pending_connection () as SocketConnection;
    assert (connection != null);
    return connection;
}

bool get_option (Socket socket, int level, int name) throws Error {
    int value = -1;
    assert (socket.get_option (level, name, out value));
    return value != 0;
}

// Connects a client and checks the options of the socket the server accepts.
void assert_options (Tcp.Server server, bool no_delay, bool keepalive) throws Error {
    // server_port is a uint property (GParamSpec has no uint16); the getter
    // gives the uint16.
    var client = connect_to ("127.0.0.1", server.get_server_port ());
    var connection = take_connection (server);
    var socket = connection.socket;
    assert (get_option (socket, IPPROTO_TCP, TCP_NODELAY) == no_delay);
    assert (get_option (socket, SOL_SOCKET, SO_KEEPALIVE) == keepalive);
    assert (socket.get_keepalive () == keepalive);
    connection.close (null);
    client.close (null);
}

// A service takes the first free port of its range, tunes its connections
// while it listens, moves to both loopback addresses, and finds that it was
// not socket-activated.
void test_more_ways () {
    try {
        // Three free ports in a row; another process holds the first one.
        uint16 first = 0;
        Socket? taken = null;
        for (int tries = 0; tries < 50 && first == 0; tries++) {
            var probe = occupy (0);
            uint16 port = local_port (probe);
            probe.close ();
            if (port > uint16.MAX - 2)
                continue;
            taken = occupy (port);
            var next = occupy (port + 1);
            var after = occupy (port + 2);
            if (taken != null && next != null && after != null)
                first = port;
            if (next != null)
                next.close ();
            if (after != null)
                after.close ();
        }
        assert (first != 0);

        var server = new Tcp.Server ();
        assert (server.listen_range (loopback4 (), first, first + 2));
        assert (server.listening);
        assert (server.server_port == first + 1);
        assert (server.server_address.to_string () == "127.0.0.1");

        // Every port taken: ADDRESS_IN_USE, and the message names the range.
        var other = new Tcp.Server ();
        try {
            other.listen_range (loopback4 (), first, first + 1);
            assert_not_reached ();
        } catch (IOError.ADDRESS_IN_USE e) {
            assert ("from %u to %u".printf (first, first + 1) in e.message);
            assert (other.get_server_error () == IOError.ADDRESS_IN_USE);
            assert (other.get_error_string () == e.message);
            assert (!other.listening);
        }
        try {
            other.listen_range (loopback4 (), first + 1, first);
            assert_not_reached ();
        } catch (IOError.INVALID_ARGUMENT e) {
            assert (!other.listening);
        }
        taken.close ();

        // The options: the defaults, then changed while listening.
        assert (server.no_delay);
        assert (!server.keepalive);
        string[] notified = {};
        server.notify["no-delay"].connect ((s, pspec) => { notified += pspec.name; });
        server.notify["keepalive"].connect ((s, pspec) => { notified += pspec.name; });
        assert_options (server, true, false);
        server.no_delay = false;
        server.keepalive = true;
        server.keepalive = true;
        assert_options (server, false, true);
        server.set_no_delay (true);
        server.set_keepalive (false);
        assert (server.get_no_delay () && !server.get_keepalive ());
        assert_options (server, true, false);
        assert (string.joinv (",", notified) == "no-delay,keepalive,no-delay,keepalive");
        server.close ();
        assert (!server.listening);

        // Both loopback addresses, on one port, as one server.
        assert (server.listen_on ("localhost", 0));
        uint16 port = server.get_server_port ();
        assert (port != 0);
        assert (server.server_address.to_string () == "127.0.0.1");
        var client4 = connect_to ("127.0.0.1", port);
        var connection4 = take_connection (server);
        assert (((InetSocketAddress) connection4.get_remote_address ()).get_port ()
                == ((InetSocketAddress) client4.get_local_address ()).get_port ());
        bool ipv6 = have_ipv6 ();
        if (ipv6) {
            var client6 = connect_to ("::1", port);
            var connection6 = take_connection (server);
            var remote = (InetSocketAddress) connection6.get_remote_address ();
            assert (remote.get_address ().to_string () == "::1");
            var local6 = (InetSocketAddress) client6.get_local_address ();
            assert (remote.get_port () == local6.get_port ());
            connection6.close (null);
            client6.close (null);
        } else {
            Test.message ("no IPv6 loopback on this machine: ::1 not checked");
        }
        connection4.close (null);
        client4.close (null);
        server.close ();
        // close() closed both.
        string[] hosts = ipv6 ? new string[] { "127.0.0.1", "::1" } : new string[] { "127.0.0.1" };
        foreach (var host in hosts) {
            try {
                connect_to (host, port);
                assert_not_reached ();
            } catch (IOError.CONNECTION_REFUSED e) {
            }
        }

        // Not socket-activated (main() made sure): NOT_FOUND, for a name
        // and for null.
        foreach (var name in new string?[] { null, "web" }) {
            try {
                server.listen_activated (name);
                assert_not_reached ();
            } catch (IOError.NOT_FOUND e) {
                assert (!server.listening);
                assert (server.get_server_error () == IOError.NOT_FOUND);
                assert (server.get_error_string () == e.message);
            }
        }
    } catch (Error e) {
        error ("%s", e.message);
    }
}

int main (string[] args) {
    // No socket activation, whatever started the test; unset before any
    // thread runs (GIO starts some), as unsetenv() is not thread-safe.
    Environment.unset_variable ("LISTEN_PID");
    Environment.unset_variable ("LISTEN_FDS");
    Test.init (ref args);
    Test.add_func ("/Tcp/Vala/listen/more-ways", test_more_ways);
    return Test.run ();
}

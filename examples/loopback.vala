// SPDX-License-Identifier: LGPL-2.1-or-later
// loopback.vala: Qt's Loopback example on libtcp, in Vala.
// A server and a client in one process: the client sends a few MiB to the
// server over 127.0.0.1, both print their progress, all on one main loop.
// Usage: loopback-vala [--bytes N]

const size_t CHUNK = 64 * 1024;
const uint64 PROGRESS_STEP = 1024 * 1024;

bool crossed_step (uint64 before, uint64 after) {
    return before / PROGRESS_STEP != after / PROGRESS_STEP;
}

// Top-level Vala functions become C symbols of the same name: send() and
// recv() would replace libc's for the whole process, GIO included.
async uint64 server_receive (Tcp.Server server, uint64 total) throws Error {
    var connection = yield server.accept_async (null);
    uint64 received = 0;
    for (;;) {
        var bytes = yield connection.input_stream.read_bytes_async (CHUNK);
        if (bytes.get_size () == 0)
            break;
        var before = received;
        received += bytes.get_size ();
        if (crossed_step (before, received))
            print ("Server received %" + uint64.FORMAT + " of %" + uint64.FORMAT + " bytes\n",
                   received, total);
    }
    yield connection.close_async ();
    print ("Server received %" + uint64.FORMAT + " bytes\n", received);
    return received;
}

async void client_send (uint16 port, uint64 total) throws Error {
    var client = new SocketClient ();
    var connection = yield client.connect_to_host_async ("127.0.0.1", port, null);
    var chunk = new uint8[CHUNK];
    Memory.set (chunk, 'x', CHUNK);
    uint64 sent = 0;
    while (sent < total) {
        var size = (size_t) uint64.min (total - sent, CHUNK);
        var written = yield connection.output_stream.write_async (chunk[0:size]);
        var before = sent;
        sent += written;
        if (crossed_step (before, sent))
            print ("Client sent %" + uint64.FORMAT + " of %" + uint64.FORMAT + " bytes\n",
                   sent, total);
    }
    yield connection.close_async ();
    print ("Client sent %" + uint64.FORMAT + " bytes\n", sent);
}

int main (string[] args) {
    uint64 total = 4 * 1024 * 1024;
    if (args.length == 3 && args[1] == "--bytes" && uint64.try_parse (args[2], out total)) {
        // --bytes N
    } else if (args.length != 1) {
        printerr ("Usage: %s [--bytes N]\n", args[0]);
        return 2;
    }

    var loop = new MainLoop ();
    var server = new Tcp.Server ();
    int status = 0;
    int running = 2;
    SourceFunc done = () => {
        if (--running == 0)
            loop.quit ();
        return false;
    };
    try {
        server.listen_on ("127.0.0.1", 0);
    } catch (Error e) {
        printerr ("Loopback failed: %s\n", e.message);
        return 1;
    }
    print ("Server listening on 127.0.0.1 port %u\n", server.get_server_port ());

    server_receive.begin (server, total, (obj, res) => {
        try {
            server_receive.end (res);
        } catch (Error e) {
            printerr ("Loopback failed: %s\n", e.message);
            status = 1;
        }
        done ();
    });
    client_send.begin ((uint16) server.get_server_port (), total, (obj, res) => {
        try {
            client_send.end (res);
        } catch (Error e) {
            printerr ("Loopback failed: %s\n", e.message);
            status = 1;
        }
        done ();
    });
    loop.run ();
    server.close ();
    return status;
}

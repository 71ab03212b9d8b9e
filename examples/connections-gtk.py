#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# connections-gtk.py: the peers of a libtcp server in a GTK 4 list view.
# A line echo server whose window lists every connected peer: the
# Gtk.ListView shows Tcp.Server.get_connections() as it is, with no copy to
# keep in step, and a label follows the n-connections property. Closing the
# window stops listening; the application stays until the connections still
# open have ended, or SHUTDOWN_TIMEOUT_MS has passed and the server closed
# them.
# Usage: connections-gtk.py [--port N] [--self-test]
#   Try it with a few `nc 127.0.0.1 PORT` in terminals. --self-test plays
#   the clients itself, checks what the window shows, and exits 0 or 1.

import argparse
import sys

import gi
gi.require_version('Gtk', '4.0')
gi.require_version('Tcp', '1')
from gi.repository import GLib, GObject, Gio, Gtk, Tcp  # noqa: E402

SHUTDOWN_TIMEOUT_MS = 5000


def describe_peer(connection):
    """'127.0.0.1 port 41234': the remote end of an accepted connection."""
    try:
        address = connection.get_socket().get_remote_address()
    except GLib.Error:
        # Closed just now: it leaves the model when the main loop next runs.
        return '(closed)'
    return f'{address.get_address().to_string()} port {address.get_port()}'


class ConnectionsApp(Gtk.Application):
    def __init__(self, server):
        super().__init__(flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.server = server
        self.server.connect('pending-connection-available', self.on_pending)
        self.window = None
        self.list_view = None
        self.count_label = None
        self.n_forced = None    # set when the shutdown is over

    def do_activate(self):
        # One row per connection: the factory makes a label, and fills it
        # in when GTK binds the row to an item of the model.
        factory = Gtk.SignalListItemFactory()
        factory.connect('setup', lambda f, item:
                        item.set_child(Gtk.Label(xalign=0, margin_start=6)))
        factory.connect('bind', lambda f, item:
                        item.get_child().set_label(describe_peer(item.get_item())))

        # The server's model is a Gio.ListModel of Gio.IOStream: a selection
        # model over it is all a Gtk.ListView needs.
        model = Gtk.NoSelection(model=self.server.get_connections())
        self.list_view = Gtk.ListView(model=model, factory=factory, vexpand=True)

        self.count_label = Gtk.Label(xalign=0, margin_start=6, margin_top=6, margin_bottom=6)
        self.server.bind_property('n-connections', self.count_label, 'label',
                                  GObject.BindingFlags.SYNC_CREATE,
                                  lambda binding, n: f'{n} connected')

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        box.append(self.count_label)
        box.append(Gtk.ScrolledWindow(child=self.list_view, vexpand=True))
        port = self.server.get_server_port()
        self.window = Gtk.ApplicationWindow(application=self, child=box,
                                            title=f'Echo server on 127.0.0.1 port {port}',
                                            default_width=360, default_height=240)
        self.window.connect('close-request', self.on_close_request)
        self.window.present()

    # The echo server: every line a client sends comes back to it.
    def on_pending(self, server):
        while (connection := server.next_pending_connection()) is not None:
            lines = Gio.DataInputStream(base_stream=connection.get_input_stream())
            self.read_line(connection, lines)

    def read_line(self, connection, lines):
        lines.read_line_async(GLib.PRIORITY_DEFAULT, None, self.on_line, connection)

    def on_line(self, lines, result, connection):
        try:
            line, _ = lines.read_line_finish(result)
        except GLib.Error:
            line = None         # reset by the peer, or closed by the shutdown
        if line is None:
            return self.end(connection)
        self.write(connection, lines, line + b'\n')

    def write(self, connection, lines, data):
        connection.get_output_stream().write_bytes_async(
            GLib.Bytes.new(data), GLib.PRIORITY_DEFAULT, None,
            self.on_written, (connection, lines, data))

    def on_written(self, output, result, args):
        connection, lines, data = args
        try:
            written = output.write_bytes_finish(result)
        except GLib.Error:
            return self.end(connection)
        if written < len(data):
            self.write(connection, lines, data[written:])
        else:
            self.read_line(connection, lines)

    def end(self, connection):
        # The close takes the row out of the list. A shutdown that ran out
        # of time may be closing the connection already (that is why the
        # read failed): then there is nothing to do.
        if not connection.has_pending():
            connection.close(None)

    # Closing the window: stop listening at once, and keep the application
    # (without a window) until the open connections are over.
    def on_close_request(self, window):
        self.hold()
        self.server.shutdown_async(SHUTDOWN_TIMEOUT_MS, None, self.on_shutdown)
        return False            # let the window close

    def on_shutdown(self, server, result):
        ok, self.n_forced = server.shutdown_finish(result)
        print(f'Shut down; {self.n_forced} connection(s) had to be closed', flush=True)
        self.release()


def main():
    parser = argparse.ArgumentParser(description='List the peers of an echo server in GTK.')
    parser.add_argument('--port', type=int, default=0, help='port to listen on (0: any free port)')
    parser.add_argument('--self-test', action='store_true',
                        help='connect a few clients, check the list, and exit 0 or 1')
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error('the port must be between 0 and 65535')

    server = Tcp.Server()
    try:
        server.listen_on('127.0.0.1', args.port)
    except GLib.Error as e:
        raise SystemExit(f'Cannot listen: {e.message}')
    print(f'Echo server on 127.0.0.1 port {server.get_server_port()}', flush=True)

    app = ConnectionsApp(server)
    if args.self_test:
        test = SelfTest(app)
        app.connect_after('activate', lambda a: test.start())
        app.run([sys.argv[0]])
        sys.exit(test.finish())
    sys.exit(app.run([sys.argv[0]]))


# --self-test: three clients connect and echo a line; the list must show
# exactly their addresses. Two leave: the list must show the third only.
# The window is closed with the third still connected: the application must
# wait for it, and finish the shutdown without forcing anything once it
# leaves too.

class SelfTest:
    def __init__(self, app):
        self.app = app
        self.clients = []       # (connection, its address as the list shows it)
        self.echoes = 0
        self.waited = False     # the application outlived the window
        self.waiting_for = None
        self.failure = None

    def start(self):
        port = self.app.server.get_server_port()
        for _ in range(3):
            Gio.SocketClient().connect_to_host_async('127.0.0.1', port, None,
                                                     self.on_connected)
        GLib.timeout_add_seconds(20, self.timed_out)
        self.wait_until('the three clients in the list', self.all_shown, self.close_two)

    def on_connected(self, client, result):
        try:
            connection = client.connect_to_host_finish(result)
        except GLib.Error as e:
            return self.fail(f'cannot connect: {e.message}')
        local = connection.get_local_address()
        self.clients.append((connection, f'127.0.0.1 port {local.get_port()}'))
        connection.get_output_stream().write_all(b'hello\n', None)
        lines = Gio.DataInputStream(base_stream=connection.get_input_stream())
        lines.read_line_async(GLib.PRIORITY_DEFAULT, None, self.on_echo)

    def on_echo(self, lines, result):
        line, _ = lines.read_line_finish(result)
        if line == b'hello':
            self.echoes += 1

    def shown(self):
        """The rows of the list view, from its widgets: what is on screen."""
        found = set()
        pending = [self.app.list_view.get_first_child()]
        while pending:
            widget = pending.pop()
            if widget is None:
                continue
            if isinstance(widget, Gtk.Label):
                found.add(widget.get_label())
            pending += [widget.get_first_child(), widget.get_next_sibling()]
        return found

    def listed(self):
        """The rows of the list view, from its model."""
        model = self.app.list_view.get_model()
        return {describe_peer(model.get_item(i)) for i in range(model.get_n_items())}

    def shows_exactly(self, peers):
        return (self.listed() == peers and self.shown() == peers and
                self.app.count_label.get_label() == f'{len(peers)} connected')

    def all_shown(self):
        return (len(self.clients) == 3 and self.echoes == 3 and
                self.shows_exactly({peer for _, peer in self.clients}))

    def close_two(self):
        print('PASS: the list shows the three clients', flush=True)
        for connection, _ in self.clients[:2]:
            connection.close(None)
        self.wait_until('the third client alone in the list',
                        lambda: self.shows_exactly({self.clients[2][1]}), self.close_window)

    def close_window(self):
        print('PASS: the two clients that left are gone from the list', flush=True)
        self.app.window.close()
        GLib.timeout_add(300, self.close_last)

    def close_last(self):
        if self.app.n_forced is not None:
            return self.fail('the shutdown did not wait for the open connection')
        if self.app.server.props.listening:
            return self.fail('the server still listens after the window closed')
        print('PASS: the application waits for the last connection', flush=True)
        self.waited = True
        self.clients[2][0].close(None)
        return GLib.SOURCE_REMOVE

    def wait_until(self, what, predicate, then):
        def check():
            if not predicate():
                return GLib.SOURCE_CONTINUE
            then()
            return GLib.SOURCE_REMOVE
        self.waiting_for = what
        GLib.timeout_add(20, check)

    def timed_out(self):
        return self.fail(f'timed out waiting for {self.waiting_for}: the model has '
                         f'{sorted(self.listed())}, the rows show {sorted(self.shown())}, '
                         f'the label says {self.app.count_label.get_label()!r}')

    def fail(self, message):
        self.failure = self.failure or message
        self.app.quit()
        return GLib.SOURCE_REMOVE

    def finish(self):
        if self.failure is None and not self.waited:
            self.failure = 'the application quit with a connection open'
        if self.failure is None and self.app.n_forced != 0:
            self.failure = f'the shutdown forced {self.app.n_forced} connection(s)'
        if self.failure is not None:
            print(f'FAIL: {self.failure}', file=sys.stderr, flush=True)
            return 1
        print('PASS: the shutdown ended with the last connection', flush=True)
        return 0


if __name__ == '__main__':
    main()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Listening through a SOCKS5 proxy from Python: dante-server and a fake proxy.

Callbacks only record what happened and quit the loop; every assertion runs
after loop.run() returns, where a failure fails the test.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import gi

gi.require_version("Tcp", "1")
from gi.repository import Gio, GLib, Tcp  # noqa: E402

DANTED = "/usr/sbin/danted"
DANTE_USER = "tcp-socks5-test"  # created by build-aux/install-deps.sh
DANTE_PASSWORD = "socks5-test-pw"
GUARD_MS = 20000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dante:
    """danted on a free loopback port, with a generated configuration."""

    def __init__(self, socksmethod="none"):
        self.dir = tempfile.mkdtemp(prefix="tcp-dante-")
        self.port = free_port()
        config = os.path.join(self.dir, "danted.conf")
        with open(config, "w") as f:
            f.write(
                f"logoutput: {self.dir}/danted.log\n"
                f"internal: 127.0.0.1 port = {self.port}\n"
                "external: 127.0.0.1\n"
                "clientmethod: none\n"
                f"socksmethod: {socksmethod}\n"
                "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: bind bindreply }\n"
            )
        self.process = subprocess.Popen(
            [DANTED, "-f", config, "-p", os.path.join(self.dir, "danted.pid"), "-N", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + GUARD_MS / 1000
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("danted did not start")
                time.sleep(0.02)

    def uri(self, userinfo=None):
        prefix = f"{userinfo}@" if userinfo else ""
        return f"socks5://{prefix}127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class FakeProxy(threading.Thread):
    """Reads the greeting, sends @answer, then holds the connection."""

    def __init__(self, answer):
        super().__init__(daemon=True)
        self.answer = answer
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(GUARD_MS / 1000)
        self.port = self.listener.getsockname()[1]
        self.start()

    def run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(GUARD_MS / 1000)
            header = conn.recv(2)
            conn.recv(header[1])
            conn.sendall(self.answer)
            try:
                while conn.recv(1):
                    pass
            except OSError:
                pass

    def uri(self):
        return f"socks5://127.0.0.1:{self.port}"

    def stop(self):
        self.join(GUARD_MS / 1000)
        self.listener.close()


class Recorder:
    """Records a server's signals; quits the loop when @done() holds."""

    def __init__(self, server, loop, done):
        self.loop = loop
        self.done = done
        self.listening = []
        self.new_connections = 0
        self.errors = []
        server.connect("notify::listening", self.on_listening)
        server.connect("new-connection", self.on_new_connection)
        server.connect("accept-error", self.on_accept_error)

    def check(self):
        if self.done(self):
            self.loop.quit()

    def on_listening(self, server, pspec):
        self.listening.append(server.props.listening)
        self.check()

    def on_new_connection(self, server):
        self.new_connections += 1
        self.check()

    def on_accept_error(self, server, error):
        self.errors.append((error.domain, error.code, error.message))
        self.check()


def run(loop):
    timed_out = []

    def guard():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add(GUARD_MS, guard)
    loop.run()
    if not timed_out:
        GLib.source_remove(source)
    return not timed_out


def read_exactly(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.get_input_stream().read_bytes(n - len(data), None).get_data()
        if not chunk:
            break
        data += chunk
    return data


class DanteTest(unittest.TestCase):
    def test_listen_async_then_peer(self):
        dante = Dante()
        self.addCleanup(dante.stop)
        loop = GLib.MainLoop()
        server = Tcp.Server(proxy=dante.uri())
        recorder = Recorder(server, loop, lambda r: r.new_connections > 0 or r.errors)
        bound = {}

        def listened(source, result):
            try:
                bound["ok"] = source.listen_finish(result)
            except GLib.Error as e:
                bound["error"] = e.message
                loop.quit()
                return
            bound["address"] = source.props.server_address.to_string()
            bound["port"] = source.props.server_port
            bound["peer"] = socket.create_connection((bound["address"], bound["port"]))

        server.listen_async(None, 0, None, listened)
        self.assertTrue(run(loop))

        self.assertEqual(bound.get("error"), None)
        self.assertTrue(bound["ok"])
        self.assertEqual(bound["address"], "127.0.0.1")
        self.assertNotEqual(bound["port"], 0)
        self.assertEqual(recorder.errors, [])
        self.assertEqual(recorder.new_connections, 1)
        self.assertEqual(recorder.listening, [True, False])
        self.assertFalse(server.props.listening)

        peer = bound["peer"]
        self.addCleanup(peer.close)
        connection = server.next_pending_connection()
        self.assertIsInstance(connection, Gio.TcpConnection)
        peer.sendall(b"ping")
        self.assertEqual(read_exactly(connection, 4), b"ping")
        connection.get_output_stream().write_all(b"pong", None)
        self.assertEqual(peer.recv(4), b"pong")
        connection.close(None)

    @unittest.skipUnless(os.geteuid() == 0, "dante checks passwords in /etc/shadow: needs root")
    def test_username(self):
        try:
            pwd.getpwnam(DANTE_USER)
        except KeyError:
            self.skipTest(f"system user {DANTE_USER} is missing (run build-aux/install-deps.sh)")
        dante = Dante("username")
        self.addCleanup(dante.stop)

        outcomes = {}
        for name, userinfo in [
            ("good", f"{DANTE_USER}:{DANTE_PASSWORD}"),
            ("bad", f"{DANTE_USER}:nope"),
            ("none", None),
        ]:
            loop = GLib.MainLoop()
            server = Tcp.Server(proxy=dante.uri(userinfo))

            def listened(source, result, name=name, loop=loop):
                try:
                    outcomes[name] = source.listen_finish(result)
                except GLib.Error as e:
                    outcomes[name] = e.code
                loop.quit()

            server.listen_async(None, 0, None, listened)
            self.assertTrue(run(loop))
            server.close()

        self.assertEqual(outcomes["good"], True)
        self.assertEqual(outcomes["bad"], Gio.IOErrorEnum.PROXY_AUTH_FAILED)
        self.assertEqual(outcomes["none"], Gio.IOErrorEnum.PROXY_NEED_AUTH)


class FakeProxyTest(unittest.TestCase):
    def failing_listen(self, answer, timeout=None):
        """listen() blocks until the proxy fails, and raises its error."""
        fake = FakeProxy(answer)
        server = Tcp.Server(proxy=fake.uri())
        if timeout is not None:
            server.props.proxy_timeout = timeout
        recorder = Recorder(server, GLib.MainLoop(), lambda r: r.errors)
        with self.assertRaises(GLib.Error) as caught:
            server.listen(None, 0)
        server.close()
        fake.stop()
        self.assertEqual(caught.exception.domain, "g-io-error-quark")
        self.assertEqual(recorder.errors, [])
        self.assertEqual(recorder.listening, [])
        self.assertFalse(server.props.listening)
        self.assertEqual(server.get_server_error(), caught.exception.code)
        self.assertEqual(server.get_error_string(), caught.exception.message)
        return caught.exception.code, caught.exception.message

    def test_garbage(self):
        code, message = self.failing_listen(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        self.assertEqual(code, Gio.IOErrorEnum.PROXY_FAILED)
        self.assertIn("SOCKS5 proxy 127.0.0.1:", message)

    def test_method_not_offered(self):
        code, _ = self.failing_listen(b"\x05\x02")
        self.assertEqual(code, Gio.IOErrorEnum.PROXY_NEED_AUTH)

    def test_timeout(self):
        code, _ = self.failing_listen(b"", timeout=200)
        self.assertEqual(code, Gio.IOErrorEnum.TIMED_OUT)

    def test_cancel(self):
        fake = FakeProxy(b"")
        loop = GLib.MainLoop()
        server = Tcp.Server(proxy=fake.uri())
        cancellable = Gio.Cancellable()
        outcome = {}

        def listened(source, result):
            try:
                outcome["ok"] = source.listen_finish(result)
            except GLib.Error as e:
                outcome["code"] = e.code
            loop.quit()

        server.listen_async(None, 0, cancellable, listened)
        GLib.timeout_add(100, lambda: cancellable.cancel() and False)
        self.assertTrue(run(loop))
        fake.stop()
        self.assertEqual(outcome, {"code": Gio.IOErrorEnum.CANCELLED})
        self.assertFalse(server.props.listening)

    def test_unreachable(self):
        server = Tcp.Server(proxy=f"socks5://127.0.0.1:{free_port()}")
        with self.assertRaises(GLib.Error) as caught:
            server.listen(None, 0)
        self.assertEqual(caught.exception.code, Gio.IOErrorEnum.CONNECTION_REFUSED)

    def test_unreachable_async(self):
        loop = GLib.MainLoop()
        server = Tcp.Server(proxy=f"socks5://127.0.0.1:{free_port()}")
        outcome = {}

        def listened(source, result):
            try:
                outcome["ok"] = source.listen_finish(result)
            except GLib.Error as e:
                outcome["code"] = e.code
            loop.quit()

        server.listen_async(None, 0, None, listened)
        self.assertTrue(run(loop))
        self.assertEqual(outcome, {"code": Gio.IOErrorEnum.CONNECTION_REFUSED})


class NoProxyTest(unittest.TestCase):
    def test_other_scheme(self):
        server = Tcp.Server(proxy="http://127.0.0.1:3128")
        with self.assertRaises(GLib.Error) as caught:
            server.listen(None, 0)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_SUPPORTED))
        self.assertFalse(server.props.listening)

    def test_loopback_bypasses_proxy(self):
        server = Tcp.Server(proxy=f"socks5://127.0.0.1:{free_port()}")
        self.assertTrue(server.listen(Gio.InetAddress.new_loopback(Gio.SocketFamily.IPV4), 0))
        self.assertTrue(server.props.listening)
        self.assertGreaterEqual(server.get_socket_descriptor(), 0)
        server.close()

    def test_proxy_timeout_default(self):
        self.assertEqual(Tcp.Server().props.proxy_timeout, 5000)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tcp.TlsServer from Python, against Python's own ssl module as the client.
#
# Results are recorded in signal handlers and client threads and asserted
# after the main loop returns: an exception inside a PyGObject callback does
# not fail a test.

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import gi

gi.require_version("Tcp", "1")
from gi.repository import Gio, GLib, Tcp  # noqa: E402

CERTS = None
SHORT_TIMEOUT = 300


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="tcp-tls-py-")
    script = os.path.join(os.environ["G_TEST_SRCDIR"], "make-test-certs.sh")
    subprocess.run(["/bin/sh", script, CERTS], check=True)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def cert(name):
    return os.path.join(CERTS, name)


def run_until(condition, timeout_ms=10000):
    """Iterates the default context until condition() holds or time runs out."""
    context = GLib.MainContext.default()
    fired = []
    guard = GLib.timeout_add(timeout_ms, lambda: fired.append(True) or False)
    while not condition() and not fired:
        context.iteration(True)
    if not fired:
        GLib.source_remove(guard)
    return condition()


def run_for(ms):
    fired = []
    GLib.timeout_add(ms, lambda: fired.append(True) or False)
    while not fired:
        GLib.MainContext.default().iteration(True)


class Recorder:
    """What a server's signals said."""

    def __init__(self, server, greet=True):
        self.events = ""
        self.errors = []
        self.connections = []
        self.started = []
        self.max_in_flight = 0
        self.greet = greet
        server.connect("started-encryption-handshake", self.on_started)
        server.connect("new-connection", self.on_new)
        server.connect("pending-connection-available", self.on_pending)
        server.connect("handshake-failed", self.on_failed)

    def on_started(self, server, connection):
        self.events += "S"
        self.started.append(isinstance(connection, Gio.TlsServerConnection))
        self.max_in_flight = max(self.max_in_flight, server.get_n_handshakes())

    def on_new(self, server):
        self.events += "N"

    def on_pending(self, server):
        self.events += "P"
        while True:
            connection = server.next_pending_connection()
            if connection is None:
                break
            if self.greet:
                connection.get_output_stream().write_all(b"hello\n", None)
            self.connections.append(connection)

    def on_failed(self, server, connection, error):
        self.events += "F"
        self.errors.append((error.domain, error.code, error.message))


class TlsClient(threading.Thread):
    """A blocking ssl client in its own thread."""

    def __init__(self, port, certificate=None):
        super().__init__(daemon=True)
        self.port = port
        self.certificate = certificate
        self.handshake_ok = False
        self.line = None
        self.peer_subject = None
        self.error = None
        self.done = False
        self.start()

    def run(self):
        context = ssl.create_default_context(cafile=cert("ca.crt"))
        if self.certificate is not None:
            context.load_cert_chain(cert(self.certificate + ".crt"),
                                    cert(self.certificate + ".key"))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=20) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    self.handshake_ok = True
                    self.peer_subject = tls.getpeercert()["subject"]
                    self.line = tls.makefile("rb").readline()
        except (OSError, ssl.SSLError) as e:
            self.error = e
        finally:
            self.done = True
            GLib.MainContext.default().wakeup()


def connect_plain(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    return sock


def reads_closed(sock):
    """True when the server closed the connection (EOF or reset)."""
    try:
        return sock.recv(64) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class TlsServerTest(unittest.TestCase):
    def new_server(self):
        server = Tcp.TlsServer.new_from_files(cert("server.crt"), cert("server.key"))
        self.assertTrue(server.listen_on("127.0.0.1", 0))
        self.addCleanup(server.close)
        return server

    def test_properties(self):
        server = Tcp.TlsServer.new(None)
        self.assertIsInstance(server, Tcp.Server)
        self.assertIsNone(server.props.certificate)
        self.assertIsNone(server.props.database)
        self.assertEqual(server.props.authentication_mode, Gio.TlsAuthenticationMode.NONE)
        self.assertEqual(server.props.handshake_timeout, 5000)
        server.props.handshake_timeout = 250
        self.assertEqual(server.get_handshake_timeout(), 250)

    def test_accessor_methods(self):
        # The same state as test_properties, through the methods, so that
        # every accessor's GIR annotations are exercised from Python.
        certificate = Tcp.TlsServer.load_certificate(cert("server.crt"), cert("server.key"))
        self.assertIsInstance(certificate, Gio.TlsCertificate)
        server = Tcp.TlsServer.new(None)
        self.assertIsNone(server.get_certificate())
        server.set_certificate(certificate)
        self.assertTrue(server.get_certificate().is_same(certificate))

        self.assertEqual(server.get_authentication_mode(), Gio.TlsAuthenticationMode.NONE)
        server.set_authentication_mode(Gio.TlsAuthenticationMode.REQUIRED)
        self.assertEqual(server.get_authentication_mode(), Gio.TlsAuthenticationMode.REQUIRED)

        self.assertIsNone(server.get_database())
        database = Gio.TlsFileDatabase.new(cert("ca.crt"))
        server.set_database(database)
        self.assertIs(server.get_database(), database)
        server.set_database(None)
        self.assertIsNone(server.get_database())

        server.set_handshake_timeout(750)
        self.assertEqual(server.props.handshake_timeout, 750)
        self.assertEqual(server.get_n_handshakes(), 0)

        with self.assertRaises(GLib.Error) as caught:
            Tcp.TlsServer.load_certificate(cert("missing.crt"), cert("server.key"))
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND))

    def test_load_errors(self):
        with self.assertRaises(GLib.Error) as caught:
            Tcp.TlsServer.new_from_files(cert("missing.crt"), cert("server.key"))
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_FOUND))
        self.assertIn("missing.crt", caught.exception.message)

        with self.assertRaises(GLib.Error) as caught:
            Tcp.TlsServer.new_from_files(cert("server.crt"), cert("other.key"))
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.INVALID_DATA))
        self.assertIn("does not match", caught.exception.message)

    def test_listen_without_certificate(self):
        server = Tcp.TlsServer.new(None)
        with self.assertRaises(GLib.Error) as caught:
            server.listen_on("127.0.0.1", 0)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.INVALID_ARGUMENT))
        self.assertFalse(server.is_listening())

    def test_good_client(self):
        server = self.new_server()
        record = Recorder(server)
        client = TlsClient(server.get_server_port())
        self.assertTrue(run_until(lambda: client.done))

        self.assertIsNone(client.error)
        self.assertTrue(client.handshake_ok)
        self.assertEqual(client.line, b"hello\n")
        self.assertIn((("commonName", "localhost"),), client.peer_subject)
        self.assertEqual(record.events, "SNP")
        self.assertEqual(record.started, [True])
        self.assertEqual(len(record.connections), 1)
        self.assertIsInstance(record.connections[0], Gio.TlsServerConnection)
        self.assertEqual(server.get_n_handshakes(), 0)

    def test_plaintext_client(self):
        server = self.new_server()
        server.props.handshake_timeout = 20000
        record = Recorder(server)
        start = time.monotonic()
        sock = connect_plain(server.get_server_port())
        self.addCleanup(sock.close)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")

        self.assertTrue(run_until(lambda: record.errors, 15000))
        elapsed = time.monotonic() - start
        self.assertEqual(record.events, "SNF")
        self.assertEqual(record.errors[0][0], "g-tls-error-quark")
        self.assertEqual(record.errors[0][1], Gio.TlsError.NOT_TLS)
        self.assertLess(elapsed, 10)
        self.assertTrue(reads_closed(sock))
        self.assertEqual(server.get_n_handshakes(), 0)

    def test_silent_client(self):
        server = self.new_server()
        server.props.handshake_timeout = SHORT_TIMEOUT
        record = Recorder(server)
        start = time.monotonic()
        sock = connect_plain(server.get_server_port())
        self.addCleanup(sock.close)

        self.assertTrue(run_until(lambda: record.errors, 10000))
        elapsed = time.monotonic() - start
        self.assertEqual(record.events, "SNF")
        domain, code, message = record.errors[0]
        self.assertEqual(domain, "g-io-error-quark")
        self.assertEqual(code, Gio.IOErrorEnum.TIMED_OUT)
        self.assertIn("did not complete", message)
        self.assertGreaterEqual(elapsed, SHORT_TIMEOUT / 1000)
        self.assertTrue(reads_closed(sock))

    def test_slowloris(self):
        server = self.new_server()
        server.props.handshake_timeout = SHORT_TIMEOUT
        server.props.max_pending_connections = 5
        record = Recorder(server)
        port = server.get_server_port()

        start = time.monotonic()
        silent = [connect_plain(port) for _ in range(8)]
        for sock in silent:
            self.addCleanup(sock.close)
        good = TlsClient(port)

        self.assertTrue(run_until(lambda: good.done, 20000))
        served_after = time.monotonic() - start
        self.assertTrue(run_until(lambda: len(record.errors) == 8, 20000))

        self.assertIsNone(good.error)
        self.assertEqual(good.line, b"hello\n")
        self.assertGreaterEqual(served_after, SHORT_TIMEOUT / 1000)
        self.assertEqual(record.max_in_flight, 5)
        self.assertEqual(record.events.count("S"), 9)
        self.assertEqual(record.events.count("P"), 1)
        self.assertTrue(all(e[1] == Gio.IOErrorEnum.TIMED_OUT for e in record.errors))
        self.assertTrue(all(reads_closed(sock) for sock in silent))

    def client_certificate(self, which):
        server = self.new_server()
        server.props.authentication_mode = Gio.TlsAuthenticationMode.REQUIRED
        self.database = Gio.TlsFileDatabase.new(cert("ca.crt"))
        server.props.database = self.database
        record = Recorder(server)
        client = TlsClient(server.get_server_port(), which)
        self.assertTrue(run_until(lambda: client.done))
        if record.events != "SNP":
            run_until(lambda: record.errors, 5000)
        return record, client

    def test_client_certificate_valid(self):
        record, client = self.client_certificate("client")
        self.assertIsNone(client.error)
        self.assertEqual(client.line, b"hello\n")
        self.assertEqual(record.events, "SNP")
        peer = record.connections[0].get_peer_certificate()
        self.assertIsNotNone(peer)
        expected = Gio.TlsCertificate.new_from_file(cert("client.crt"))
        self.assertTrue(peer.is_same(expected))

    def test_client_certificate_missing(self):
        record, client = self.client_certificate(None)
        self.assertFalse(client.line)
        self.assertEqual(record.events, "SNF")
        self.assertEqual(record.errors[0][0], "g-tls-error-quark")

    def test_client_certificate_untrusted(self):
        record, client = self.client_certificate("rogue")
        self.assertFalse(client.line)
        self.assertEqual(record.events, "SNF")

    def test_close_during_handshakes(self):
        server = self.new_server()
        server.props.handshake_timeout = SHORT_TIMEOUT
        record = Recorder(server)
        port = server.get_server_port()
        silent = [connect_plain(port) for _ in range(3)]
        for sock in silent:
            self.addCleanup(sock.close)

        self.assertTrue(run_until(lambda: server.get_n_handshakes() == 3, 5000))
        server.close()
        in_flight_after_close = server.get_n_handshakes()
        run_for(2 * SHORT_TIMEOUT)

        self.assertEqual(in_flight_after_close, 0)
        self.assertEqual(record.events, "SNSNSN")
        self.assertEqual(record.errors, [])
        self.assertTrue(all(reads_closed(sock) for sock in silent))

    def test_wait_for_new_connection(self):
        server = self.new_server()
        client = TlsClient(server.get_server_port())
        # Blocks without a main loop: the handshake still has to complete.
        ok, timed_out = server.wait_for_new_connection(10000)
        self.assertTrue(ok)
        self.assertFalse(timed_out)
        connection = server.next_pending_connection()
        self.assertIsInstance(connection, Gio.TlsServerConnection)
        connection.get_output_stream().write_all(b"hello\n", None)
        self.assertTrue(run_until(lambda: client.done))
        self.assertEqual(client.line, b"hello\n")

    def no_backend(self, env):
        code = (
            "import gi\n"
            "gi.require_version('Tcp', '1')\n"
            "from gi.repository import Gio, GLib, Tcp\n"
            "server = Tcp.TlsServer.new(None)\n"
            "try:\n"
            "    server.listen_on('127.0.0.1', 0)\n"
            "except GLib.Error as e:\n"
            "    assert e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_SUPPORTED)\n"
            "    print(e.message)\n"
            "else:\n"
            "    raise SystemExit('listen() succeeded without a TLS backend')\n"
        )
        result = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env),
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("glib-networking", result.stdout)

    def test_no_backend_dummy(self):
        self.no_backend({"GIO_USE_TLS": "dummy"})

    def test_no_backend_empty_module_dir(self):
        with tempfile.TemporaryDirectory() as empty:
            self.no_backend({"GIO_MODULE_DIR": empty, "GIO_EXTRA_MODULES": ""})


if __name__ == "__main__":
    unittest.main(verbosity=2)

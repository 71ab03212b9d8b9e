# SPDX-License-Identifier: LGPL-2.1-or-later
# listen_activated() from Python, as systemd socket activation runs it.
#
# Each test starts activation_child.py as a child process with real
# listening descriptors from 3 on and the LISTEN_PID, LISTEN_FDS and
# LISTEN_FDNAMES variables systemd sets. LISTEN_PID is the child's own pid:
# a shell sets it to $$ and then execs Python, which keeps that pid. The
# test then connects to what the child says it listens on and checks who
# answers.

import os
import select
import socket
import sys
import time

import pytest
from gi.repository import GLib, Gio

from conftest import LoopRunner, is_io_error

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'activation_child.py')
CHILD_TIMEOUT_S = 10
IO_ERROR = 'g-io-error-quark'


def make_socket(kind):
    """A socket to pass: 'tcp' listens, 'bound' is a TCP socket that does
    not, 'udp' is a bound UDP socket."""
    if kind == 'udp':
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    if kind == 'tcp':
        sock.listen()
    return sock


class Child:
    """activation_child.py with @passed ((name, kind) pairs) as descriptors
    3, 4, ... and @args as its arguments. @listen_pid: None for the child's
    own pid, or a value for LISTEN_PID."""

    def __init__(self, passed, args, listen_pid=None):
        sockets = [make_socket(kind) for _, kind in passed]
        self.ports = [s.getsockname()[1] for s in sockets]
        self.names = ':'.join(name for name, _ in passed)

        launcher = Gio.SubprocessLauncher.new(Gio.SubprocessFlags.STDOUT_PIPE)
        for i, sock in enumerate(sockets):
            # The launcher owns the copy and closes it after the spawn.
            launcher.take_fd(os.dup(sock.fileno()), 3 + i)
        launcher.setenv('LISTEN_FDS', str(len(passed)), True)
        launcher.setenv('LISTEN_FDNAMES', self.names, True)
        launcher.unsetenv('LISTEN_PID')
        if listen_pid is None:
            # $$ is the shell's pid, which exec keeps for Python.
            script = 'LISTEN_PID=$$ exec "$0" "$@"'
        else:
            launcher.setenv('TCP_TEST_LISTEN_PID', str(listen_pid), True)
            script = 'LISTEN_PID="$TCP_TEST_LISTEN_PID" exec "$0" "$@"'
        argv = ['/bin/sh', '-c', script, sys.executable, '-B', CHILD, *args]
        self.process = launcher.spawnv(argv)
        launcher.close()
        # Only the child holds the sockets now: whoever answers is the child.
        for sock in sockets:
            sock.close()

        self.pid = int(self.process.get_identifier())
        self.stdout = self.process.get_stdout_pipe()
        self.buffer = b''
        self.deadline = time.monotonic() + CHILD_TIMEOUT_S

    def read_line(self):
        fd = self.stdout.get_fd()
        while b'\n' not in self.buffer:
            left = self.deadline - time.monotonic()
            assert left > 0, 'the child did not answer in time'
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                data = os.read(fd, 4096)
                assert data, f'the child closed its output; read so far: {self.buffer!r}'
                self.buffer += data
        line, self.buffer = self.buffer.split(b'\n', 1)
        return line.decode()

    def read_result(self, name):
        """The outcome of listen_activated(@name) in the child: the port, or
        (domain, code)."""
        fields = self.read_line().split(' ', 4)
        assert fields[0] == name, fields
        if fields[1] == 'ok':
            return int(fields[2])
        assert fields[1] == 'error', fields
        return fields[2], int(fields[3])

    def read_env(self):
        """(the child's pid, LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) after the
        calls, then waits for 'ready'."""
        fields = self.read_line().split(' ')
        assert fields[0] == 'env' and len(fields) == 5, fields
        assert self.read_line() == 'ready'
        return int(fields[1]), fields[2], fields[3], fields[4]

    def answer(self, port):
        """Connects to the child's server on @port; returns what it writes."""
        with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
            chunks = []
            while True:
                data = sock.recv(4096)
                if not data:
                    return b''.join(chunks).decode()
                chunks.append(data)

    def wait(self, timeout_ms=CHILD_TIMEOUT_S * 1000):
        """Waits for the child to exit; returns None on success, or why not."""
        loop = LoopRunner()
        outcome = {}

        def done(process, result):
            try:
                outcome['ok'] = process.wait_check_finish(result)
            except GLib.Error as e:
                outcome['error'] = e.message
            loop.quit()

        self.process.wait_check_async(None, done)
        if not loop.run(timeout_ms):
            return 'the child did not exit in time'
        return outcome.get('error')

    def kill(self):
        # Race-free: a child that has exited and been reaped is not signalled.
        self.process.force_exit()
        self.wait(5000)


@pytest.fixture
def spawn():
    children = []

    def start(*args, **kwargs):
        child = Child(*args, **kwargs)
        children.append(child)
        return child

    yield start
    # A test that failed half-way leaves no child behind.
    for child in children:
        child.kill()


def test_names(spawn):
    """By name, the same name twice, None for the first TCP listening socket
    nobody took; a UDP socket, one that does not listen and an unknown name
    fail clearly. The environment is left alone."""
    passed = [
        ('web', 'tcp'),      # fd 3
        ('dns', 'udp'),      # fd 4
        ('admin', 'tcp'),    # fd 5
        ('web', 'tcp'),      # fd 6: a second "web"
        ('idle', 'bound'),   # fd 7: bound, not listening
        ('spare', 'tcp'),    # fd 8
    ]
    child = spawn(passed, ['admin', 'web', 'web', 'dns', 'idle', 'nosuch', '-', '-'])

    assert child.read_result('admin') == child.ports[2]
    assert child.read_result('web') == child.ports[0]
    assert child.read_result('web') == child.ports[3]
    assert child.read_result('dns') == (IO_ERROR, Gio.IOErrorEnum.NOT_SUPPORTED)
    assert child.read_result('idle') == (IO_ERROR, Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert child.read_result('nosuch') == (IO_ERROR, Gio.IOErrorEnum.NOT_FOUND)
    # None: the first TCP listening socket nobody took, then none is left.
    assert child.read_result('-') == child.ports[5]
    assert child.read_result('-') == (IO_ERROR, Gio.IOErrorEnum.NOT_FOUND)

    pid, listen_pid, listen_fds, listen_fdnames = child.read_env()
    assert pid == child.pid
    assert listen_pid == str(child.pid)
    assert listen_fds == '6'
    assert listen_fdnames == 'web:dns:admin:web:idle:spare'

    # The child's servers answer on the passed sockets, each in its name.
    assert child.answer(child.ports[2]) == f'admin {child.pid}'
    assert child.answer(child.ports[0]) == f'web {child.pid}'
    assert child.answer(child.ports[3]) == f'web {child.pid}'
    assert child.answer(child.ports[5]) == f'- {child.pid}'
    assert child.wait() is None


def test_none_takes_the_next_listening_socket(spawn):
    """None first takes fd 3; a name then takes the first of its sockets
    left; None again skips the UDP socket and what was taken."""
    passed = [('web', 'tcp'), ('dns', 'udp'), ('admin', 'tcp'), ('web', 'tcp')]
    child = spawn(passed, ['-', 'web', '-', '-'])

    assert child.read_result('-') == child.ports[0]
    assert child.read_result('web') == child.ports[3]
    assert child.read_result('-') == child.ports[2]
    assert child.read_result('-') == (IO_ERROR, Gio.IOErrorEnum.NOT_FOUND)
    pid, listen_pid, listen_fds, listen_fdnames = child.read_env()
    assert (listen_pid, listen_fds, listen_fdnames) == (str(pid), '4', 'web:dns:admin:web')

    assert child.answer(child.ports[0]) == f'- {child.pid}'
    assert child.answer(child.ports[3]) == f'web {child.pid}'
    assert child.answer(child.ports[2]) == f'- {child.pid}'
    assert child.wait() is None


def test_other_pid(spawn):
    """Descriptors meant for another process (here: this one, the parent)
    are not the child's."""
    child = spawn([('web', 'tcp')], ['web', '-'], listen_pid=os.getpid())

    assert child.read_result('web') == (IO_ERROR, Gio.IOErrorEnum.NOT_FOUND)
    assert child.read_result('-') == (IO_ERROR, Gio.IOErrorEnum.NOT_FOUND)
    pid, listen_pid, listen_fds, listen_fdnames = child.read_env()
    assert pid == child.pid
    assert (listen_pid, listen_fds, listen_fdnames) == (str(os.getpid()), '1', 'web')
    assert child.wait() is None


def test_name_shared_with_a_udp_socket(spawn):
    """systemd names every socket of a unit alike (the unit's name, or its
    FileDescriptorName=): a unit with ListenDatagram= before ListenStream=
    passes a UDP socket and a TCP one under one name. The TCP one is "the
    listening socket that LISTEN_FDNAMES names" that name, so
    listen_activated() by name takes it, as None does."""
    child = spawn([('dns', 'udp'), ('dns', 'tcp')], ['dns'])

    result = child.read_result('dns')
    child.read_env()
    assert result == child.ports[1]
    assert child.answer(child.ports[1]) == f'dns {child.pid}'
    assert child.wait() is None


@pytest.fixture
def no_activation():
    """This process, with LISTEN_PID and LISTEN_FDS as the test sets them in
    the C environment (which the library reads), restored afterwards."""
    # setenv() and unsetenv() are not thread-safe and GLib runs threads of
    # its own: touch the environment only when there is something to change.
    saved = {name: GLib.getenv(name) for name in ('LISTEN_PID', 'LISTEN_FDS')}
    for name, value in saved.items():
        if value is not None:
            GLib.unsetenv(name)
    yield
    for name, value in saved.items():
        if GLib.getenv(name) == value:
            continue
        if value is None:
            GLib.unsetenv(name)
        else:
            GLib.setenv(name, value, True)


@pytest.mark.parametrize('name', [None, 'web'])
def test_not_activated(server, no_activation, name):
    with pytest.raises(GLib.Error) as info:
        server.listen_activated(name)
    assert is_io_error(info.value, Gio.IOErrorEnum.NOT_FOUND)
    assert not server.props.listening
    assert server.get_server_error() == Gio.IOErrorEnum.NOT_FOUND
    assert server.get_error_string() == info.value.message


def test_activated_with_no_descriptors(server, no_activation):
    # Meant for this process, but LISTEN_FDS=0: nothing to take. (No
    # descriptor number is given, so the test's own fd 3 is never looked at.)
    GLib.setenv('LISTEN_PID', str(os.getpid()), True)
    GLib.setenv('LISTEN_FDS', '0', True)
    with pytest.raises(GLib.Error) as info:
        server.listen_activated(None)
    assert is_io_error(info.value, Gio.IOErrorEnum.NOT_FOUND)
    assert not server.props.listening
    assert GLib.getenv('LISTEN_PID') == str(os.getpid())
    assert GLib.getenv('LISTEN_FDS') == '0'


def test_a_listening_server_does_not_look(server):
    server.listen_on('127.0.0.1', 0)
    with pytest.raises(GLib.Error) as info:
        server.listen_activated(None)
    assert is_io_error(info.value, Gio.IOErrorEnum.FAILED)
    assert 'already listening' in info.value.message
    assert server.props.listening

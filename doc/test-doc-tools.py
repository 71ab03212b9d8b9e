#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests the documentation tools: each must catch what it exists to catch."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def run(tool, *args):
    return subprocess.run([sys.executable, os.path.join(HERE, tool), *args],
                          capture_output=True, text=True, timeout=60)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(textwrap.dedent(text))


FORTUNE = {
    'a.c': '''\
        /* SPDX-License-Identifier: LGPL-2.1-or-later */
        server = tcp_server_new ();
        g_signal_connect (server, "pending-connection-available", G_CALLBACK (cb), NULL);
        tcp_server_listen_on (server, "127.0.0.1", 0, &error);
        while ((c = tcp_server_next_pending_connection (server)))
          g_output_stream_write_all (out, "x | y", 5, NULL, NULL, NULL);
        g_main_loop_run (loop);
        ''',
    'b.py': '''\
        # server = Tcp.Server() in a comment is not the step
        server = Tcp.Server()
        server.connect("pending-connection-available", on_pending_connection)
        server.listen_on("127.0.0.1", 0)
        connection = server.next_pending_connection()
        connection.get_output_stream().write_all(b"`x`", None)
        GLib.MainLoop().run()
        ''',
}


class SpliceExamples(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        for name, text in FORTUNE.items():
            write(os.path.join(self.dir, 'examples', name), text)
        self.template = os.path.join(self.dir, 'page.md.in')
        self.output = os.path.join(self.dir, 'page.md')

    def tearDown(self):
        self.tmp.cleanup()

    def splice(self, template):
        write(self.template, template)
        return run('splice-examples.py', '--examples-dir', os.path.join(self.dir, 'examples'),
                   self.template, self.output)

    def test_example_is_spliced_whole(self):
        result = self.splice('Title: T\n\nBefore\n@example a.c@\nAfter\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.output, encoding='utf-8') as f:
            text = f.read()
        with open(os.path.join(self.dir, 'examples', 'a.c'), encoding='utf-8') as f:
            program = f.read()
        self.assertIn('Before\n```c\n' + program.rstrip() + '\n```\nAfter\n', text)

    def test_steps_table_quotes_the_programs(self):
        result = self.splice('@steps a.c b.py@\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.output, encoding='utf-8') as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], '| Step | C | Python |')
        self.assertEqual(len(lines), 2 + 6)
        self.assertIn('| Create a server | `server = tcp_server_new ();` | '
                      '`server = Tcp.Server()` |', lines)
        # A line holding backticks gets a longer code-span delimiter.
        self.assertIn('`` connection.get_output_stream().write_all(b"`x`", None) ``', lines[6])

    def test_missing_example_fails_clearly(self):
        result = self.splice('@example fortune-server.vala@\n')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('page.md.in needs examples/fortune-server.vala, which does not exist',
                      result.stderr)
        self.assertFalse(os.path.exists(self.output))

    def test_missing_step_fails_clearly(self):
        write(os.path.join(self.dir, 'examples', 'c.js'), 'const server = new Tcp.Server();\n')
        result = self.splice('@steps a.c c.js@\n')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('examples/c.js has no line matching', result.stderr)

    def test_step_on_another_variable_fails_clearly(self):
        # The JavaScript cell of the Listen row once read `tcpServer.listen_on`
        # under a Create row that made `server`.
        write(os.path.join(self.dir, 'examples', 'c.js'), textwrap.dedent('''\
            const server = new Tcp.Server();
            server.connect('pending-connection-available', serve);
            tcpServer.listen_on('127.0.0.1', 0);
            while ((c = server.next_pending_connection()) !== null)
                c.get_output_stream().write_all(bytes, null);
            loop.run();
            '''))
        result = self.splice('@steps a.c c.js@\n')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('the "Listen on 127.0.0.1, any free port" line does not use `server`',
                      result.stderr)

    def test_handler_is_not_the_create_step(self):
        # A handler that takes a Tcp.Server parameter comes first in the
        # Vala program; the Create row must show the constructor.
        write(os.path.join(self.dir, 'examples', 'd.vala'), textwrap.dedent('''\
            void serve (Tcp.Server server) {
                while ((c = server.next_pending_connection ()) != null)
                    c.output_stream.write_all (data, null);
            }
            var server = new Tcp.Server ();
            server.pending_connection_available.connect (serve);
            server.listen_on ("127.0.0.1", 0);
            loop.run ();
            '''))
        result = self.splice('@steps d.vala@\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.output, encoding='utf-8') as f:
            self.assertIn('| Create a server | `var server = new Tcp.Server ();` |', f.read())

    def test_list(self):
        write(self.template, '@steps a.c b.py@\n@example a.c@\n@example d.vala@\n')
        result = run('splice-examples.py', '--list', self.template)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), ['a.c', 'b.py', 'd.vala'])


GIR = '''\
    <?xml version="1.0"?>
    <repository version="1.2" xmlns="http://www.gtk.org/introspection/core/1.0"
                xmlns:glib="http://www.gtk.org/introspection/glib/1.0">
      <namespace name="Tcp" version="1">
        <class name="Server" version="1.0">
          <doc>A server.</doc>
          <virtual-method name="incoming_connection" VFUNC_VERSION>
            VFUNC_DOC
            <return-value><type name="none"/></return-value>
            <parameters>
              <instance-parameter name="self"><doc>a server</doc></instance-parameter>
              <parameter name="socket"><doc>a socket</doc></parameter>
            </parameters>
          </virtual-method>
          <glib:signal name="new-connection" version="1.0"><doc>Emitted.</doc>
            <return-value><type name="none"/></return-value>
          </glib:signal>
        </class>
      </namespace>
    </repository>
    '''


class CheckGirDocs(unittest.TestCase):
    def check(self, version='version="1.0"', doc='<doc>Called.</doc>'):
        with tempfile.TemporaryDirectory() as tmp:
            gir = os.path.join(tmp, 'Tcp-1.gir')
            write(gir, GIR.replace('VFUNC_VERSION', version).replace('VFUNC_DOC', doc))
            return run('check-gir-docs.py', '--max-version', '1.0', gir)

    def test_documented(self):
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('3 symbols checked, 0 problems', result.stdout)

    def test_vfunc_without_since(self):
        result = self.check(version='')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('Tcp.Server.vfunc.incoming_connection: no "Since:" line', result.stderr)

    def test_vfunc_without_doc(self):
        result = self.check(doc='')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('Tcp.Server.vfunc.incoming_connection: not documented', result.stderr)

    def test_since_newer_than_release(self):
        result = self.check(version='version="1.2"')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('"Since: 1.2" is newer than this release', result.stderr)


PAGE = '''\
    <!DOCTYPE html>
    <html><head>
    <link rel="stylesheet" href="style.css">
    <script src="main.js"></script>
    HEAD
    </head><body>
    <h2 id="methods">Methods</h2>
    <a href="other.html#top">other</a> <a href="#methods">here</a>
    <a href="https://docs.gtk.org/gio/">Gio</a>
    <a href="javascript:void(0)" data-namespace="Gio" data-link="class.Socket.html"
       class="external">GSocket</a>
    BODY
    </body></html>
    '''


class CheckHtml(unittest.TestCase):
    def check(self, head='', body='', css='body { color: red; }', *args):
        with tempfile.TemporaryDirectory() as tmp:
            write(os.path.join(tmp, 'index.html'),
                  PAGE.replace('HEAD', head).replace('BODY', body))
            write(os.path.join(tmp, 'other.html'), '<html><body id="top"></body></html>\n')
            write(os.path.join(tmp, 'style.css'), css)
            write(os.path.join(tmp, 'main.js'), '\n')
            write(os.path.join(tmp, 'urlmap.js'), "baseURLs = [ ['Gio', 'https://x/'], ]\n")
            return run('check-html.py', *args, tmp)

    def test_clean(self):
        result = self.check('', '', 'body { color: red; }', '--index-link', 'other.html')
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_dangling_link(self):
        result = self.check(body='<a href="method.Server.lisen.html">listen</a>')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('method.Server.lisen.html does not exist', result.stderr)

    def test_dangling_fragment(self):
        result = self.check(body='<a href="other.html#nowhere">x</a>')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('no id "nowhere" in other.html', result.stderr)

    def test_missing_image(self):
        result = self.check(body='<img src="logo.png">')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('logo.png does not exist', result.stderr)

    def test_network_stylesheet(self):
        result = self.check(head='<link rel="stylesheet" href="https://fonts.example.org/a.css">')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('loads from outside the reference', result.stderr)

    def test_network_script(self):
        result = self.check(head='<script src="//cdn.example.org/a.js"></script>')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('loads from outside the reference', result.stderr)

    def test_network_font_in_css(self):
        result = self.check(css='@font-face { src: url("https://fonts.example.org/a.woff2"); }')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('loads from outside the reference', result.stderr)

    def test_unmapped_namespace(self):
        result = self.check(body='<a href="javascript:void(0)" data-namespace="GLib" '
                                 'data-link="struct.Error.html" class="external">GError</a>')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('links into the GLib namespace, which urlmap.js does not map',
                      result.stderr)

    def test_guide_not_linked_from_index(self):
        result = self.check('', '', 'body { color: red; }', '--index-link', 'tls.html')
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('index.html does not link to tls.html', result.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)

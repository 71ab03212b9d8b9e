/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-activation.c: listen_activated(), as systemd socket activation runs it
 *
 * Copyright 2026 The libtcp authors
 *
 * Each test starts tests/activation-helper as a child with real listening
 * descriptors from 3 on and the LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
 * variables systemd sets (LISTEN_PID is the child's own pid, set by a shell
 * that then execs the helper), then checks what the helper's servers took
 * by connecting to them.
 */

#include "config.h"

#include <string.h>

#include "tcp-test-util.h"

typedef struct
{
  const gchar *name;   /* in LISTEN_FDNAMES */
  gboolean     udp;
  gboolean     listening;
} Passed;

/* A socket for the child, and, for a listening TCP one, its port. */
static GSocket *
make_socket (const Passed *passed,
             guint16      *port)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4,
                         passed->udp ? G_SOCKET_TYPE_DATAGRAM : G_SOCKET_TYPE_STREAM,
                         passed->udp ? G_SOCKET_PROTOCOL_UDP : G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_no_error (error);
  if (passed->listening)
    {
      g_assert_true (g_socket_listen (socket, &error));
      g_assert_no_error (error);
    }
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  return g_steal_pointer (&socket);
}

typedef struct
{
  GSubprocess *process;
  GDataInputStream *out;
  guint16 ports[8];     /* of the passed sockets, in order */
  guint n_passed;
} Child;

/* Starts the helper with @passed as descriptors 3, 4, ... and @args as its
 * arguments. @listen_pid: "self" for the child's own pid, or a value. */
static Child *
child_start (const Passed *passed,
             guint         n_passed,
             const gchar  *listen_pid,
             const gchar  *const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GString) names = g_string_new (NULL);
  g_autofree gchar *helper = NULL;
  g_autofree gchar *n_text = g_strdup_printf ("%u", n_passed);
  g_autoptr(GError) error = NULL;
  Child *child = g_new0 (Child, 1);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  child->n_passed = n_passed;
  for (guint i = 0; i < n_passed; i++)
    {
      g_autoptr(GSocket) socket = make_socket (&passed[i], &child->ports[i]);

      /* The launcher closes its copy after the fork. */
      g_subprocess_launcher_take_fd (launcher, dup (g_socket_get_fd (socket)), 3 + i);
      g_string_append_printf (names, "%s%s", i > 0 ? ":" : "", passed[i].name);
    }

  g_subprocess_launcher_setenv (launcher, "LISTEN_FDS", n_text, TRUE);
  g_subprocess_launcher_setenv (launcher, "LISTEN_FDNAMES", names->str, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_PID");

  helper = g_test_build_filename (G_TEST_BUILT, "activation-helper", NULL);
  g_ptr_array_add (argv, (gpointer) "/bin/sh");
  g_ptr_array_add (argv, (gpointer) "-c");
  /* $$ is the shell's pid, which exec keeps for the helper. */
  g_ptr_array_add (argv, (gpointer) (g_strcmp0 (listen_pid, "self") == 0 ?
                                     "LISTEN_PID=$$ exec \"$0\" \"$@\"" :
                                     "LISTEN_PID=\"$TCP_TEST_LISTEN_PID\" exec \"$0\" \"$@\""));
  g_subprocess_launcher_setenv (launcher, "TCP_TEST_LISTEN_PID", listen_pid, TRUE);
  g_ptr_array_add (argv, helper);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  child->process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata,
                                                 &error);
  g_assert_no_error (error);
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));

  return child;
}

static gchar *
child_read_line (Child *child)
{
  g_autoptr(GError) error = NULL;
  gchar *line = g_data_input_stream_read_line_utf8 (child->out, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (line);
  return line;
}

/* Reads one result line for @name; returns the port (0 for an error, whose
 * code goes to @code). */
static guint16
child_read_result (Child       *child,
                   const gchar *name,
                   gint        *code)
{
  g_autofree gchar *line = child_read_line (child);
  g_auto(GStrv) fields = g_strsplit (line, " ", 4);

  g_test_message ("helper: %s", line);
  g_assert_cmpstr (fields[0], ==, name);
  if (g_strcmp0 (fields[1], "ok") == 0)
    return (guint16) g_ascii_strtoull (fields[2], NULL, 10);

  g_assert_cmpstr (fields[1], ==, "error");
  *code = (gint) g_ascii_strtoll (fields[2], NULL, 10);
  return 0;
}

/* Connects to the helper's server on @port and reads the name it writes. */
static void
assert_serves (guint16      port,
               const gchar *name)
{
  g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_autoptr(GError) error = NULL;
  gchar buf[64] = { 0 };
  gssize n;

  g_socket_set_blocking (client, TRUE);
  g_socket_set_timeout (client, 10);
  n = g_socket_receive (client, buf, sizeof buf - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, strlen (name));
  g_assert_cmpstr (buf, ==, name);
}

static void
child_finish (Child *child)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_wait_check (child->process, NULL, &error));
  g_assert_no_error (error);
  g_object_unref (child->out);
  g_object_unref (child->process);
  g_free (child);
}

/* Servers take their sockets by name, the same name twice takes two
 * sockets, NULL takes the first TCP listening socket left, and a UDP
 * socket, a socket that does not listen and an unknown name fail clearly.
 * The environment is left alone. */
static void
test_names (void)
{
  static const Passed passed[] = {
    { "web", FALSE, TRUE },      /* fd 3 */
    { "dns", TRUE, FALSE },      /* fd 4: UDP */
    { "admin", FALSE, TRUE },    /* fd 5 */
    { "web", FALSE, TRUE },      /* fd 6: a second "web" */
    { "idle", FALSE, FALSE },    /* fd 7: bound, not listening */
    { "spare", FALSE, TRUE },    /* fd 8 */
  };
  static const gchar *const args[] = { "admin", "web", "web", "dns", "idle", "nosuch", "-", "-",
                                       NULL };
  Child *child = child_start (passed, G_N_ELEMENTS (passed), "self", args);
  g_autofree gchar *env = NULL;
  g_autofree gchar *ready = NULL;
  guint16 admin, web1, web2, spare;
  gint code = 0;

  admin = child_read_result (child, "admin", &code);
  g_assert_cmpuint (admin, ==, child->ports[2]);
  web1 = child_read_result (child, "web", &code);
  g_assert_cmpuint (web1, ==, child->ports[0]);
  web2 = child_read_result (child, "web", &code);
  g_assert_cmpuint (web2, ==, child->ports[3]);
  g_assert_cmpuint (child_read_result (child, "dns", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_cmpuint (child_read_result (child, "idle", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (child_read_result (child, "nosuch", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_NOT_FOUND);
  /* NULL: the first TCP listening socket nobody took. */
  spare = child_read_result (child, "-", &code);
  g_assert_cmpuint (spare, ==, child->ports[5]);
  g_assert_cmpuint (child_read_result (child, "-", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_NOT_FOUND);

  env = child_read_line (child);
  g_assert_cmpstr (env, ==, "env 6 web:dns:admin:web:idle:spare");
  ready = child_read_line (child);
  g_assert_cmpstr (ready, ==, "ready");

  assert_serves (admin, "admin");
  assert_serves (web1, "web");
  assert_serves (web2, "web");
  assert_serves (spare, "-");
  child_finish (child);
}

/* Descriptors meant for another process are not ours. */
static void
test_other_pid (void)
{
  static const Passed passed[] = { { "web", FALSE, TRUE } };
  static const gchar *const args[] = { "web", "-", NULL };
  Child *child = child_start (passed, G_N_ELEMENTS (passed), "1", args);
  g_autofree gchar *env = NULL;
  gint code = 0;

  g_assert_cmpuint (child_read_result (child, "web", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpuint (child_read_result (child, "-", &code), ==, 0);
  g_assert_cmpint (code, ==, G_IO_ERROR_NOT_FOUND);
  env = child_read_line (child);
  g_free (child_read_line (child));
  child_finish (child);
}

/* Without LISTEN_PID (no socket activation at all): NOT_FOUND, in-process. */
static void
test_not_activated (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_assert_false (tcp_server_listen_activated (server, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_NOT_FOUND);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Activation/names", test_names);
  g_test_add_func ("/Tcp/Activation/other-pid", test_other_pid);
  g_test_add_func ("/Tcp/Activation/not-activated", test_not_activated);

  return g_test_run ();
}

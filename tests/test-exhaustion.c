/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-exhaustion.c: accepting when the process runs out of descriptors
 *
 * Copyright 2026 The libtcp authors
 *
 * RLIMIT_NOFILE is lowered to the lowest free descriptor, so that accept4()
 * fails with EMFILE while clients wait in the kernel queue. The main scenario
 * runs in a child process (g_test_trap_subprocess) because it measures CPU
 * time; the re-entrancy cases run in-process so that valgrind sees them.
 *
 * Under valgrind the limit is emulated: valgrind lets the kernel accept and
 * then closes the descriptor and reports EMFILE, so clients queued during an
 * exhaustion are lost there. The in-process cases connect their client after
 * the limit is restored for that reason.
 */

#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <tcp.h>

#include "tcp-test-util.h"

#define N_CLIENTS 3

typedef struct
{
  guint   n_errors;
  gint    error_code;
  gchar  *error_message;
  guint   n_new;
} Counts;

static void
accept_error_cb (TcpServer    *server,
                 const GError *error,
                 Counts       *counts)
{
  counts->n_errors++;
  counts->error_code = error->domain == G_IO_ERROR ? error->code : -1;
  g_free (counts->error_message);
  counts->error_message = g_strdup (error->message);
}

static void
new_connection_cb (TcpServer *server,
                   Counts    *counts)
{
  counts->n_new++;
}

/* Lowers the soft RLIMIT_NOFILE to the lowest free descriptor: every
 * descriptor below it is in use, so the next one fails with EMFILE. */
static void
exhaust_fds (struct rlimit *saved)
{
  struct rlimit limit;
  int lowest_free;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, saved), ==, 0);

  lowest_free = dup (STDIN_FILENO);
  g_assert_cmpint (lowest_free, >=, 0);
  close (lowest_free);

  limit = *saved;
  limit.rlim_cur = lowest_free;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  g_assert_cmpint (dup (STDIN_FILENO), ==, -1);
}

static void
restore_fds (const struct rlimit *saved)
{
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, saved), ==, 0);
}

static gint64
cpu_time_us (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return (gint64) usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec +
         (gint64) usage.ru_stime.tv_sec * G_USEC_PER_SEC + usage.ru_stime.tv_usec;
}

/* The main scenario, in the child: accept-error fires once with
 * G_IO_ERROR_TOO_MANY_OPEN_FILES, the CPU stays idle while the process is
 * exhausted, and once descriptors are free again the queued clients are
 * accepted with no call from the application. */
static void
recovers_child (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  GSocket *clients[N_CLIENTS];
  Counts counts = { 0, };
  struct rlimit saved;
  gint64 wall_start, cpu_start, wall_us, cpu_us;
  guint16 port;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = tcp_server_get_server_port (server);
  g_signal_connect (server, "accept-error", G_CALLBACK (accept_error_cb), &counts);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &counts);

  /* Client sockets need descriptors too: open them first. */
  for (guint i = 0; i < N_CLIENTS; i++)
    clients[i] = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);

  exhaust_fds (&saved);

  g_assert_true (tcp_test_run_until_uint (NULL, &counts.n_errors, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (counts.error_code, ==, G_IO_ERROR_TOO_MANY_OPEN_FILES);
  g_assert_nonnull (strstr (counts.error_message, "accept"));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_TOO_MANY_OPEN_FILES);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, counts.error_message);
  g_assert_cmpuint (counts.n_new, ==, 0);
  g_assert_true (tcp_server_is_listening (server));

  /* A second of exhaustion costs next to no CPU: no busy loop on a
   * readable listening socket. */
  wall_start = g_get_monotonic_time ();
  cpu_start = cpu_time_us ();
  tcp_test_run_for (NULL, 1000);
  cpu_us = cpu_time_us () - cpu_start;
  wall_us = g_get_monotonic_time () - wall_start;
  g_test_message ("CPU while exhausted: %" G_GINT64_FORMAT " us over %" G_GINT64_FORMAT " us",
                  cpu_us, wall_us);
  g_assert_cmpint (cpu_us * 10, <, wall_us);

  /* Reported once per episode, and still nothing accepted. */
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_cmpuint (counts.n_new, ==, 0);

  /* Descriptors free again: the server picks the clients up by itself. */
  restore_fds (&saved);
  g_assert_true (tcp_test_run_until_uint (NULL, &counts.n_new, N_CLIENTS, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, N_CLIENTS);
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_false (tcp_server_is_paused (server));

  /* And a later client goes through at once. */
  g_clear_object (&clients[0]);
  clients[0] = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &counts.n_new, N_CLIENTS + 1,
                                          TCP_TEST_TIMEOUT_MS));

  for (guint i = 0; i < N_CLIENTS; i++)
    g_clear_object (&clients[i]);
  g_free (counts.error_message);
}

static void
test_exhaustion_recovers (void)
{
  if (g_test_subprocess ())
    {
      recovers_child ();
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* wait_for_new_connection() while exhausted: accept-error is emitted with
 * no main loop, the wait sleeps through the back-off instead of spinning,
 * times out, and succeeds once descriptors are free. */
static void
wait_child (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  Counts counts = { 0, };
  struct rlimit saved;
  gboolean timed_out = FALSE;
  gint64 wall_start, cpu_start, wall_us, cpu_us;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_signal_connect (server, "accept-error", G_CALLBACK (accept_error_cb), &counts);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &counts);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  exhaust_fds (&saved);

  wall_start = g_get_monotonic_time ();
  cpu_start = cpu_time_us ();
  g_assert_false (tcp_server_wait_for_new_connection (server, 700, &timed_out, &error));
  cpu_us = cpu_time_us () - cpu_start;
  wall_us = g_get_monotonic_time () - wall_start;
  g_test_message ("CPU while waiting exhausted: %" G_GINT64_FORMAT " us over %"
                  G_GINT64_FORMAT " us", cpu_us, wall_us);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_cmpint (counts.error_code, ==, G_IO_ERROR_TOO_MANY_OPEN_FILES);
  g_assert_cmpuint (counts.n_new, ==, 0);
  g_assert_cmpint (cpu_us * 10, <, wall_us);
  g_clear_error (&error);

  restore_fds (&saved);
  g_assert_true (tcp_server_wait_for_new_connection (server, TCP_TEST_TIMEOUT_MS,
                                                     &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (counts.n_new, ==, 1);
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_free (counts.error_message);
}

static void
test_exhaustion_wait (void)
{
  if (g_test_subprocess ())
    {
      wait_child ();
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* close() from the accept-error handler: no retry is left behind. */

static void
close_on_error_cb (TcpServer    *server,
                   const GError *error,
                   Counts       *counts)
{
  counts->n_errors++;
  tcp_server_close (server);
}

static void
test_exhaustion_close_in_accept_error (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  Counts counts = { 0, };
  struct rlimit saved;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_signal_connect (server, "accept-error", G_CALLBACK (close_on_error_cb), &counts);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &counts);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  exhaust_fds (&saved);
  tcp_test_run_until_uint (NULL, &counts.n_errors, 1, TCP_TEST_TIMEOUT_MS);
  restore_fds (&saved);

  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_false (tcp_server_is_listening (server));
  tcp_test_run_for (NULL, 300);
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_cmpuint (counts.n_new, ==, 0);
  g_assert_false (g_main_context_pending (NULL));
}

/* Dropping the last reference from the accept-error handler. */

static void
unref_on_error_cb (TcpServer    *server,
                   const GError *error,
                   gpointer      user_data)
{
  TcpServer **owner = user_data;

  g_clear_object (owner);
}

static gboolean
pointer_is_null (gpointer user_data)
{
  return *(gpointer *) user_data == NULL;
}

static void
test_exhaustion_unref_in_accept_error (void)
{
  TcpServer *server = tcp_server_new ();
  TcpServer *weak = server;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit saved;

  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &weak);
  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_signal_connect (server, "accept-error", G_CALLBACK (unref_on_error_cb), &server);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  exhaust_fds (&saved);
  tcp_test_run_until (NULL, pointer_is_null, &weak, TCP_TEST_TIMEOUT_MS);
  restore_fds (&saved);

  g_assert_null (server);
  g_assert_null (weak);
  tcp_test_run_for (NULL, 100);
  g_assert_false (g_main_context_pending (NULL));
}

/* Dropping the last reference from new-connection when the back-off timer,
 * not the socket source, runs the accept. */

typedef struct
{
  TcpServer *server;
  TcpServer *weak;
  Counts     counts;
} UnrefOnRetry;

static void
unref_on_new_cb (TcpServer    *server,
                 UnrefOnRetry *test)
{
  test->counts.n_new++;
  g_clear_object (&test->server);
}

static void
test_exhaustion_unref_on_retry (void)
{
  UnrefOnRetry test = { 0, };
  g_autoptr(GSocket) early = NULL;
  g_autoptr(GSocket) late = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit saved;
  guint16 port;

  test.server = tcp_server_new ();
  test.weak = test.server;
  g_object_add_weak_pointer (G_OBJECT (test.server), (gpointer *) &test.weak);
  g_assert_true (tcp_server_listen_on (test.server, "127.0.0.1", 0, &error));
  port = tcp_server_get_server_port (test.server);
  g_signal_connect (test.server, "accept-error", G_CALLBACK (accept_error_cb), &test.counts);
  g_signal_connect (test.server, "new-connection", G_CALLBACK (unref_on_new_cb), &test);
  early = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);

  exhaust_fds (&saved);
  g_assert_true (tcp_test_run_until_uint (NULL, &test.counts.n_errors, 1, TCP_TEST_TIMEOUT_MS));
  restore_fds (&saved);

  /* The retry timer is armed and the socket is not polled: the next accept
   * runs from the timer. */
  late = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &test.counts.n_new, 1, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, 100);

  g_assert_cmpuint (test.counts.n_new, ==, 1);
  g_assert_null (test.server);
  g_assert_null (test.weak);
  g_free (test.counts.error_message);
}

/* An errno other than exhaustion (here EINVAL from a listening socket that
 * was shut down under the server) is reported and backed off the same way:
 * one accept-error, no busy loop although the socket polls as hung up. */
static void
test_accept_error_unexpected (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  Counts counts = { 0, };
  guint n_dispatches;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_signal_connect (server, "accept-error", G_CALLBACK (accept_error_cb), &counts);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &counts);

  g_assert_cmpint (shutdown (tcp_server_get_socket_descriptor (server), SHUT_RDWR), ==, 0);

  g_assert_true (tcp_test_run_until_uint (NULL, &counts.n_errors, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (counts.error_code, ==, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_INVALID_ARGUMENT);

  /* Half a second holds a few back-off retries (10, 20, 40, ... ms), not a
   * loop on the hung-up socket. */
  n_dispatches = tcp_test_count_dispatches (NULL, 500);
  g_test_message ("%u dispatches in 500 ms", n_dispatches);
  g_assert_cmpuint (n_dispatches, <, 20);
  g_assert_cmpuint (counts.n_errors, ==, 1);
  g_assert_cmpuint (counts.n_new, ==, 0);
  g_assert_true (tcp_server_is_listening (server));

  g_free (counts.error_message);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Server/exhaustion/recovers", test_exhaustion_recovers);
  g_test_add_func ("/Tcp/Server/exhaustion/wait", test_exhaustion_wait);
  g_test_add_func ("/Tcp/Server/exhaustion/close-in-accept-error",
                   test_exhaustion_close_in_accept_error);
  g_test_add_func ("/Tcp/Server/exhaustion/unref-in-accept-error",
                   test_exhaustion_unref_in_accept_error);
  g_test_add_func ("/Tcp/Server/exhaustion/unref-on-retry", test_exhaustion_unref_on_retry);
  g_test_add_func ("/Tcp/Server/accept-error/unexpected-errno", test_accept_error_unexpected);

  return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-wait.c: wait_for_new_connection() in the corners
 *
 * Copyright 2026 The libtcp authors
 *
 * The plain cases are in test-server.c. Here: a timeout becomes the
 * server's error (Qt's SocketTimeoutError); a new-connection handler that
 * waits for more connections drains the queue without nesting; and a
 * thread that cannot own the server's context (another thread runs it, or
 * holds it without running it) sleeps instead of spinning, and touches
 * nothing it does not own.
 */

#include "config.h"

#include <string.h>
#include <time.h>

#include <tcp.h>

#include "tcp-server-private.h"
#include "tcp-test-util.h"

/* A timeout is the server's error until the next one. */
static void
test_timeout_is_server_error (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  gboolean timed_out = FALSE;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_FAILED);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, "");

  g_assert_false (tcp_server_wait_for_new_connection (server, 20, &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
  g_assert_nonnull (strstr (error->message, "20 ms"));
}

/* Draining from a handler */

typedef struct
{
  guint      depth;
  guint      max_depth;
  guint      n_handled;
  guint      n_clients;
  GPtrArray *taken;
} Drain;

static void
drain_new_connection_cb (TcpServer *server,
                         Drain     *drain)
{
  drain->depth++;
  drain->max_depth = MAX (drain->max_depth, drain->depth);
  drain->n_handled++;

  /* Each handler takes its client and asks for the next one; that one's
   * signal must come after this handler has returned, not inside it. The
   * last client stays queued, for the first wait to find. */
  if (drain->n_handled < drain->n_clients)
    {
      g_ptr_array_add (drain->taken, tcp_server_next_pending_connection (server));
      g_assert_true (tcp_server_wait_for_new_connection (server, 5000, NULL, NULL));
    }

  drain->depth--;
}

static void
test_from_handler_does_not_nest (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func (g_object_unref);
  Drain drain = { .n_clients = 200, .taken = taken };

  tcp_server_set_max_pending_connections (server, drain.n_clients);
  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_signal_connect (server, "new-connection", G_CALLBACK (drain_new_connection_cb), &drain);
  for (guint i = 0; i < drain.n_clients; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                tcp_server_get_server_port (server)));

  g_assert_true (tcp_server_wait_for_new_connection (server, 5000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drain.n_handled, ==, drain.n_clients);
  g_assert_cmpuint (drain.max_depth, ==, 1);
  g_assert_cmpuint (taken->len, ==, drain.n_clients - 1);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
  for (guint i = 0; i < taken->len; i++)
    g_assert_true (G_IS_TCP_CONNECTION (g_ptr_array_index (taken, i)));
}

/* Another thread owns the server's context */

static void
listen_cb (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tcp_server_listen_on (data, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
}

static void
close_cb (gpointer data)
{
  tcp_server_close (data);
}

static void
reserve_all_cb (gpointer data)
{
  TcpServer *server = data;

  for (gint i = 0; i < tcp_server_get_max_pending_connections (server); i++)
    _tcp_server_reserve_slot (server);
}

static gboolean
release_all_cb (gpointer user_data)
{
  TcpServer *server = user_data;

  while (_tcp_server_get_n_reserved (server) > 0)
    _tcp_server_release_slot (server);
  return G_SOURCE_REMOVE;
}

/* Waits @msec in this thread and returns the share of it spent on the CPU. */
static gdouble
timed_wait_cpu_share (TcpServer *server,
                      guint      msec)
{
  g_autoptr(GError) error = NULL;
  gboolean timed_out = FALSE;
  gint64 cpu = tcp_test_thread_cpu_us ();
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;

  g_assert_false (tcp_server_wait_for_new_connection (server, msec, &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  elapsed = g_get_monotonic_time () - start;
  g_assert_cmpint (elapsed, >=, (gint64) msec * 1000);

  return (gdouble) (tcp_test_thread_cpu_us () - cpu) / elapsed;
}

/* Every slot held by work in flight, clients waiting in the kernel (so the
 * listening socket is readable), another thread running the context: this
 * thread sleeps. Once that thread frees the slots and queues a client, the
 * wait ends at once. */
static void
test_other_thread_runs_context (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  TcpTestOwner *owner;
  g_autoptr(GSocket) client1 = NULL;
  g_autoptr(GSocket) client2 = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;
  gdouble share;

  tcp_server_set_max_pending_connections (server, 2);
  owner = tcp_test_owner_start (TRUE, listen_cb, close_cb, server);
  tcp_test_owner_invoke_sync (owner, reserve_all_cb, server);
  client1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  share = timed_wait_cpu_share (server, tcp_test_under_valgrind () ? 1000 : 300);
  g_test_message ("CPU while waiting: %.1f%%", share * 100);
  g_assert_cmpfloat (share, <, 0.25);

  start = g_get_monotonic_time ();
  g_main_context_invoke (tcp_test_owner_get_context (owner), release_all_cb, server);
  g_assert_true (tcp_server_wait_for_new_connection (server, TCP_TEST_TIMEOUT_MS, NULL,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, TCP_TEST_TIMEOUT_MS * 1000 / 2);

  tcp_test_owner_stop (owner);
}

/* The context pushed by a thread that does not run it: the waiting thread
 * cannot own it, sleeps, and raises no critical (G_DEBUG=fatal-criticals
 * would end the test). */
static void
test_other_thread_holds_context (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  TcpTestOwner *owner = tcp_test_owner_start (FALSE, listen_cb, close_cb, server);
  g_autoptr(GSocket) client = NULL;
  gdouble share;

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  share = timed_wait_cpu_share (server, tcp_test_under_valgrind () ? 1000 : 300);
  g_test_message ("CPU while waiting: %.1f%%", share * 100);
  g_assert_cmpfloat (share, <, 0.25);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);

  tcp_test_owner_stop (owner);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Wait/timeout-is-server-error", test_timeout_is_server_error);
  g_test_add_func ("/Tcp/Wait/from-handler-does-not-nest", test_from_handler_does_not_nest);
  g_test_add_func ("/Tcp/Wait/other-thread-runs-context", test_other_thread_runs_context);
  g_test_add_func ("/Tcp/Wait/other-thread-holds-context", test_other_thread_holds_context);

  return g_test_run ();
}

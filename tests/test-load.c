/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-load.c: TcpServer under load: 10,000 concurrent connections, and a
 * soak of 100,000 sequential ones
 *
 * Copyright 2026 The libtcp authors
 *
 * The 'slow' suite: build-aux/run-tests.sh runs it plainly and under
 * AddressSanitizer, not under valgrind.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include "tcp-fault-util.h"

/* 10,000 concurrent connections ----------------------------------------- */

/* 10,000; fewer if someone runs this suite under valgrind, which
 * build-aux/run-tests.sh does not. */
static guint n_concurrent;

typedef struct
{
  GPtrArray *taken;
  pid_t      child;
  gboolean   child_died;
} Load;

static void
load_new_connection_cb (TcpServer *server,
                        Load      *load)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    g_ptr_array_add (load->taken, connection);
}

static gboolean
load_all_taken (gpointer user_data)
{
  Load *load = user_data;
  int status;

  if (!load->child_died && waitpid (load->child, &status, WNOHANG) == load->child)
    load->child_died = TRUE;

  return load->taken->len >= n_concurrent || load->child_died;
}

static gssize
full_read (int      fd,
           gpointer buf,
           gsize    size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = read (fd, (gchar *) buf + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n;
      done += n;
    }

  return done;
}

/* The client side, in a child process so that each side has its own
 * descriptor table (10,000 each). Only async-signal-safe calls: the parent
 * has threads. Exit status 0 when every connection was made; it reports how
 * many ended with a clean end-of-file. */
G_GNUC_NORETURN static void
run_clients (guint16  port,
             int     *fds,
             int      to_parent,
             int      from_parent)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  guint32 clean = 0;
  char go;

  sin.sin_port = htons (port);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  for (guint i = 0; i < n_concurrent; i++)
    {
      fds[i] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fds[i] < 0 || connect (fds[i], (struct sockaddr *) &sin, sizeof sin) != 0)
        _exit (2);
    }
  if (write (to_parent, "c", 1) != 1)
    _exit (3);

  /* The parent has accepted every connection and closed them all. */
  if (read (from_parent, &go, 1) != 1)
    _exit (4);
  for (guint i = 0; i < n_concurrent; i++)
    {
      char byte;

      if (read (fds[i], &byte, 1) == 0)
        clean++;
      close (fds[i]);
    }
  if (write (to_parent, &clean, sizeof clean) != sizeof clean)
    _exit (5);

  _exit (0);
}

static void
test_concurrent (void)
{
  guint limit = tcp_fault_raise_fd_limit ();
  guint n_fds = tcp_fault_count_fds ();
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GHashTable) ports = g_hash_table_new (NULL, NULL);
  g_autofree int *fds = NULL;
  int to_child[2], from_child[2];
  Load load = { 0 };
  guint32 clean = 0;
  gint64 start;
  int status;
  char ready;

  if (limit < n_concurrent + 64)
    {
      g_test_skip_printf ("RLIMIT_NOFILE hard limit is %u: %u connections need %u descriptors "
                          "per process", limit, n_concurrent, n_concurrent + 64);
      return;
    }

  server = tcp_fault_server_new_listening ();
  tcp_server_set_max_pending_connections (server, n_concurrent);
  load.taken = g_ptr_array_new_full (n_concurrent, g_object_unref);
  g_signal_connect (server, "new-connection", G_CALLBACK (load_new_connection_cb), &load);

  fds = g_new (int, n_concurrent);
  g_assert_cmpint (pipe2 (to_child, O_CLOEXEC), ==, 0);
  g_assert_cmpint (pipe2 (from_child, O_CLOEXEC), ==, 0);

  start = g_get_monotonic_time ();
  load.child = fork ();
  g_assert_cmpint (load.child, >=, 0);
  if (load.child == 0)
    {
      close (to_child[1]);
      close (from_child[0]);
      run_clients (tcp_server_get_server_port (server), fds, from_child[1], to_child[0]);
    }
  close (to_child[0]);
  close (from_child[1]);

  g_assert_true (tcp_test_run_until (NULL, load_all_taken, &load, 120000));
  g_assert_false (load.child_died);
  g_assert_cmpuint (load.taken->len, ==, n_concurrent);
  g_assert_cmpint (full_read (from_child[0], &ready, 1), ==, 1);
  g_test_message ("%u concurrent connections accepted in %.2f s, %u descriptors open",
                  n_concurrent, (g_get_monotonic_time () - start) / 1e6, tcp_fault_count_fds ());

  /* All of them held at once: connected, and each a distinct client. */
  for (guint i = 0; i < load.taken->len; i++)
    {
      GSocketConnection *connection = load.taken->pdata[i];

      g_assert_true (g_socket_is_connected (g_socket_connection_get_socket (connection)));
      g_hash_table_add (ports, GUINT_TO_POINTER (tcp_fault_remote_port (load.taken->pdata[i])));
    }
  g_assert_cmpuint (g_hash_table_size (ports), ==, n_concurrent);

  /* Closed cleanly: every client reads end-of-file, not a reset. */
  for (guint i = 0; i < load.taken->len; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (g_io_stream_close (load.taken->pdata[i], NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (write (to_child[1], "g", 1), ==, 1);
  g_assert_cmpint (full_read (from_child[0], &clean, sizeof clean), ==, sizeof clean);
  g_assert_cmpint (waitpid (load.child, &status, 0), ==, load.child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_cmpuint (clean, ==, n_concurrent);

  close (to_child[1]);
  close (from_child[0]);
  g_clear_pointer (&load.taken, g_ptr_array_unref);
  g_clear_object (&server);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* A soak of sequential connections -------------------------------------- */

#define SOAK_SAMPLES 10
/* Growth allowed between the first and the last sample. */
#define SOAK_HEAP_SLACK (256 * 1024)
#define SOAK_RSS_SLACK_KIB 2048

static gboolean
has_pending (gpointer user_data)
{
  return tcp_server_has_pending_connections (user_data);
}

static void
test_soak (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  guint16 port = tcp_server_get_server_port (server);
  guint n_fds = tcp_fault_count_fds ();
  guint n = tcp_fault_scale (100000, 5000);
  guint every = n / SOAK_SAMPLES;
  gsize heap[SOAK_SAMPLES], rss[SOAK_SAMPLES];
  guint fds[SOAK_SAMPLES];
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GIOStream) connection = NULL;
      int client = tcp_fault_connect (port);
      gchar eof;

      if (!tcp_test_run_until (NULL, has_pending, server, 10000))
        g_error ("connection %u never arrived", i);
      connection = tcp_server_next_pending_connection (server);
      g_io_stream_close (connection, NULL, NULL);
      /* The server closes first: the client reads end-of-file and its port
       * is free again at once (no TIME_WAIT on the client side). */
      g_assert_cmpint (read (client, &eof, 1), ==, 0);
      close (client);

      if ((i + 1) % every == 0)
        {
          guint s = i / every;

          fds[s] = tcp_fault_count_fds ();
          rss[s] = tcp_fault_rss_kib ();
          heap[s] = tcp_fault_heap_bytes ();
          g_test_message ("%6u connections: %u fds, RSS %zu KiB, heap %zu bytes, %.1f s",
                          i + 1, fds[s], rss[s], heap[s], (g_get_monotonic_time () - start) / 1e6);
        }
    }

  /* Flat: not one descriptor more, and memory after the first 10,000 (caches
   * warmed up) does not grow with the count. */
  for (guint s = 0; s < G_N_ELEMENTS (fds); s++)
    g_assert_cmpuint (fds[s], ==, n_fds);
  g_assert_cmpint ((gssize) heap[G_N_ELEMENTS (heap) - 1] - (gssize) heap[0], <, SOAK_HEAP_SLACK);
#ifdef __SANITIZE_ADDRESS__
  /* ASan's quarantine keeps freed memory resident on purpose, so RSS climbs
   * until the quarantine is full; the allocator's live-bytes count above is
   * the measure there. */
  g_test_message ("RSS not asserted under AddressSanitizer (quarantine)");
#else
  /* Valgrind's queue of freed blocks does the same. */
  if (tcp_test_under_valgrind ())
    g_test_message ("RSS not asserted under valgrind (freed-block queue)");
  else
    g_assert_cmpint ((gssize) rss[G_N_ELEMENTS (rss) - 1] - (gssize) rss[0], <,
                     SOAK_RSS_SLACK_KIB);
#endif
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  tcp_fault_warm_up ();

  /* A client that vanishes must not kill the test with SIGPIPE. */
  signal (SIGPIPE, SIG_IGN);

  n_concurrent = tcp_fault_scale (10000, 1000);
  g_test_add_func ("/Tcp/Load/concurrent-10000", test_concurrent);
  g_test_add_func ("/Tcp/Load/soak-100000", test_soak);

  return g_test_run ();
}

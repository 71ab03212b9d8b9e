/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-faults.c: TcpServer under faults: exhausted descriptors, peers that
 * reset, floods, re-entrant calls from every callback, several threads
 *
 * Copyright 2026 The libtcp authors
 *
 * Every test checks that the server keeps accepting afterwards and that no
 * file descriptor is lost (the count of /proc/self/fd entries is the same
 * before and after); memory is checked by running this file under valgrind
 * and under AddressSanitizer. Counts shrink under valgrind
 * (TCP_TEST_UNDER_VALGRIND), assertions do not.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tcp-fault-util.h"

/* Error injection ------------------------------------------------------- */

/* The library's accept4() calls come here (see accept4_wrap_dep in
 * meson.build). When armed, calls number fail_at .. fail_at + n_failures - 1
 * (counted from arming) fail with errsv without touching the kernel queue,
 * the way a real failure leaves the connection queued. */
int __real_accept4 (int fd, struct sockaddr *addr, socklen_t *len, int flags);
int __wrap_accept4 (int fd, struct sockaddr *addr, socklen_t *len, int flags);

static struct
{
  gint armed;        /* atomic */
  gint fail_at;
  gint n_failures;
  int  errsv;
  gint n_calls;
  gint n_injected;
} injection;

int
__wrap_accept4 (int              fd,
                struct sockaddr *addr,
                socklen_t       *len,
                int              flags)
{
  if (g_atomic_int_get (&injection.armed))
    {
      gint call = injection.n_calls++;

      if (call >= injection.fail_at && call < injection.fail_at + injection.n_failures)
        {
          injection.n_injected++;
          errno = injection.errsv;
          return -1;
        }
    }

  return __real_accept4 (fd, addr, len, flags);
}

static void
inject_accept_errors (gint fail_at,
                      gint n_failures,
                      int  errsv)
{
  injection.fail_at = fail_at;
  injection.n_failures = n_failures;
  injection.errsv = errsv;
  injection.n_calls = 0;
  injection.n_injected = 0;
  g_atomic_int_set (&injection.armed, TRUE);
}

static gint
disarm_injection (void)
{
  g_atomic_int_set (&injection.armed, FALSE);
  return injection.n_injected;
}

/* A server and what the application has seen of it ---------------------- */

typedef struct
{
  TcpServer *server;
  GPtrArray *taken;          /* GIOStream *, taken in new-connection */
  gboolean   take;           /* take connections as they come */
  guint      n_new;
  guint      n_errors;
  GError    *last_error;
  guint      max_pending_seen;
} Harness;

static void
harness_new_connection_cb (TcpServer *server,
                           Harness   *h)
{
  GIOStream *connection;

  h->n_new++;
  h->max_pending_seen = MAX (h->max_pending_seen, tcp_server_get_n_pending_connections (server));
  while (h->take && (connection = tcp_server_next_pending_connection (server)) != NULL)
    g_ptr_array_add (h->taken, connection);
}

static void
harness_accept_error_cb (TcpServer    *server,
                         const GError *error,
                         Harness      *h)
{
  h->n_errors++;
  g_clear_error (&h->last_error);
  h->last_error = g_error_copy (error);
}

static void
harness_init (Harness *h)
{
  memset (h, 0, sizeof *h);
  h->server = tcp_fault_server_new_listening ();
  h->taken = g_ptr_array_new_with_free_func (g_object_unref);
  h->take = TRUE;
  g_signal_connect (h->server, "new-connection", G_CALLBACK (harness_new_connection_cb), h);
  g_signal_connect (h->server, "accept-error", G_CALLBACK (harness_accept_error_cb), h);
}

static void
harness_clear (Harness *h)
{
  for (guint i = 0; i < h->taken->len; i++)
    g_io_stream_close (h->taken->pdata[i], NULL, NULL);
  g_clear_pointer (&h->taken, g_ptr_array_unref);
  g_clear_object (&h->server);
  g_clear_error (&h->last_error);
}

typedef struct
{
  Harness *h;
  guint    n;
} TakenAtLeast;

static gboolean
taken_at_least (gpointer user_data)
{
  TakenAtLeast *t = user_data;

  return t->h->taken->len >= t->n;
}

static gboolean
harness_wait_taken (Harness *h,
                    guint    n,
                    guint    timeout_ms)
{
  TakenAtLeast t = { h, n };

  return tcp_test_run_until (NULL, taken_at_least, &t, timeout_ms);
}

/* Connects a client, checks the server hands it over, and closes both. */
static void
assert_still_accepting (Harness *h)
{
  guint before = h->taken->len;
  int client = tcp_fault_connect (tcp_server_get_server_port (h->server));

  g_assert_true (harness_wait_taken (h, before + 1, 10000));
  g_assert_cmpuint (tcp_fault_remote_port (h->taken->pdata[before]), ==,
                    tcp_fault_local_port (client));
  g_io_stream_close (h->taken->pdata[before], NULL, NULL);
  close (client);
}

static GMainContext *
push_new_context (void)
{
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  return context;
}

static void
pop_context (GMainContext *context)
{
  g_main_context_pop_thread_default (context);
  /* Let sources destroyed meanwhile go. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_unref (context);
}

/* File descriptor exhaustion -------------------------------------------- */

static int
highest_fd (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const gchar *name;
  int highest = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    highest = MAX (highest, atoi (name));

  return highest;
}

/* Lowers RLIMIT_NOFILE to just above the highest open descriptor and fills
 * every free slot below it, so that the next accept4() fails with EMFILE. */
static GArray *
exhaust_fds (struct rlimit *saved)
{
  GArray *fillers = g_array_new (FALSE, FALSE, sizeof (int));
  struct rlimit low;
  int fd;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, saved), ==, 0);
  low.rlim_cur = highest_fd () + 8;
  low.rlim_max = saved->rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  while ((fd = open ("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
    g_array_append_val (fillers, fd);
  g_assert_cmpint (errno, ==, EMFILE);

  return fillers;
}

static void
release_fds (GArray        *fillers,
             struct rlimit *saved)
{
  for (guint i = 0; i < fillers->len; i++)
    close (g_array_index (fillers, int, i));
  g_array_unref (fillers);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, saved), ==, 0);
}

/* How long the test stays exhausted per episode. */
#define EXHAUSTED_MS 1500
#define CLIENTS_PER_EPISODE 3

static void
fd_exhaustion_child (void)
{
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  Harness h;
  guint16 port;

  harness_init (&h);
  port = tcp_server_get_server_port (h.server);

  assert_still_accepting (&h);

  for (guint episode = 1; episode <= 2; episode++)
    {
      int clients[CLIENTS_PER_EPISODE];
      guint taken_before = h.taken->len;
      struct rlimit saved;
      GArray *fillers;
      guint n_fillers;
      gint64 cpu, wall, recovery;

      /* The clients wait in the kernel's queue: connect() completes without
       * the server's help. */
      for (guint i = 0; i < CLIENTS_PER_EPISODE; i++)
        clients[i] = tcp_fault_connect (port);

      fillers = exhaust_fds (&saved);
      cpu = tcp_fault_cpu_time_us ();
      wall = g_get_monotonic_time ();
      tcp_test_run_for (context, EXHAUSTED_MS);
      cpu = tcp_fault_cpu_time_us () - cpu;
      wall = g_get_monotonic_time () - wall;

      /* Nothing accepted, one report for the whole episode, no spinning. */
      g_assert_cmpuint (h.taken->len, ==, taken_before);
      g_assert_cmpuint (h.n_errors, ==, episode);
      g_assert_error (h.last_error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
      g_assert_cmpint (tcp_server_get_server_error (h.server), ==,
                       G_IO_ERROR_TOO_MANY_OPEN_FILES);
      g_assert_true (tcp_server_is_listening (h.server));
      g_assert_cmpint (cpu * 100, <, wall * 5);

      /* Descriptors come back: the server recovers by itself. */
      n_fillers = fillers->len;
      release_fds (fillers, &saved);
      recovery = g_get_monotonic_time ();
      g_assert_true (harness_wait_taken (&h, taken_before + CLIENTS_PER_EPISODE, 10000));
      recovery = g_get_monotonic_time () - recovery;
      g_assert_cmpuint (h.n_errors, ==, episode);

      /* g_test_message() is silent in a subprocess: write to stderr, which
       * the parent passes on. */
      g_printerr ("# episode %u: %u fillers, CPU %.1f ms in %.0f ms exhausted (%.2f%%), "
                  "%u accept-error so far, recovered in %.0f ms\n",
                  episode, n_fillers, cpu / 1000.0, wall / 1000.0,
                  100.0 * cpu / wall, h.n_errors, recovery / 1000.0);

      for (guint i = 0; i < CLIENTS_PER_EPISODE; i++)
        {
          GIOStream *connection = h.taken->pdata[taken_before + i];

          g_assert_cmpuint (tcp_fault_remote_port (connection), ==,
                            tcp_fault_local_port (clients[i]));
          g_io_stream_close (connection, NULL, NULL);
          close (clients[i]);
        }
    }

  assert_still_accepting (&h);
  g_assert_cmpuint (h.n_errors, ==, 2);

  harness_clear (&h);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

static void
test_fd_exhaustion (void)
{
  if (g_test_subprocess ())
    {
      fd_exhaustion_child ();
      return;
    }

  /* In a child: lowering RLIMIT_NOFILE must not disturb the other tests. */
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Injected accept errors -------------------------------------------------- */

typedef struct
{
  const gchar *name;
  int          errsv;
  gboolean     reported;   /* FALSE: transient, skipped silently */
} ErrnoCase;

static const ErrnoCase errno_cases[] = {
  { "ECONNABORTED", ECONNABORTED, FALSE },
  { "EPROTO", EPROTO, FALSE },
  { "EINTR", EINTR, FALSE },
  { "EPERM", EPERM, FALSE },
  { "ENETDOWN", ENETDOWN, FALSE },
  { "EHOSTUNREACH", EHOSTUNREACH, FALSE },
  { "EMFILE", EMFILE, TRUE },
  { "ENFILE", ENFILE, TRUE },
  { "ENOBUFS", ENOBUFS, TRUE },
  { "ENOMEM", ENOMEM, TRUE },
  { "EINVAL", EINVAL, TRUE },
};

#define N_INJECTED 5

static void
test_injected_errno (gconstpointer data)
{
  const ErrnoCase *c = data;
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  gint64 cpu = tcp_fault_cpu_time_us ();
  gint64 wall = g_get_monotonic_time ();
  Harness h;
  int client;

  harness_init (&h);
  client = tcp_fault_connect (tcp_server_get_server_port (h.server));
  inject_accept_errors (0, N_INJECTED, c->errsv);
  g_assert_true (harness_wait_taken (&h, 1, 10000));
  g_assert_cmpint (disarm_injection (), ==, N_INJECTED);

  cpu = tcp_fault_cpu_time_us () - cpu;
  wall = g_get_monotonic_time () - wall;

  g_assert_cmpuint (tcp_fault_remote_port (h.taken->pdata[0]), ==, tcp_fault_local_port (client));
  if (c->reported)
    {
      /* One report for the episode; five failures took 10+20+40+80 ms of
       * back-off before the sixth call succeeded. */
      g_assert_cmpuint (h.n_errors, ==, 1);
      g_assert_error (h.last_error, G_IO_ERROR, g_io_error_from_errno (c->errsv));
      g_assert_nonnull (strstr (h.last_error->message, g_strerror (c->errsv)));
      g_assert_cmpint (wall, >=, 150 * 1000);
    }
  else
    {
      g_assert_cmpuint (h.n_errors, ==, 0);
      g_assert_null (h.last_error);
    }
  g_test_message ("%s: %u accept-error, %.1f ms CPU in %.0f ms", c->name, h.n_errors,
                  cpu / 1000.0, wall / 1000.0);

  close (client);
  assert_still_accepting (&h);
  harness_clear (&h);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* The blocking and the async ways to take a connection ride out an
 * exhaustion episode too. */
static void
test_exhaustion_wait (void)
{
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) connection = NULL;
  gint64 wall = g_get_monotonic_time ();
  gboolean timed_out = TRUE;
  Harness h;
  int client;

  harness_init (&h);
  h.take = FALSE;
  client = tcp_fault_connect (tcp_server_get_server_port (h.server));
  inject_accept_errors (0, 3, EMFILE);
  g_assert_true (tcp_server_wait_for_new_connection (h.server, 10000, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpint (disarm_injection (), ==, 3);
  g_assert_cmpuint (h.n_errors, ==, 1);
  /* Slept through the back-off (10 + 20 ms), did not spin through it. */
  g_assert_cmpint (g_get_monotonic_time () - wall, >=, 30 * 1000);
  connection = tcp_server_next_pending_connection (h.server);
  g_assert_cmpuint (tcp_fault_remote_port (connection), ==, tcp_fault_local_port (client));
  g_io_stream_close (connection, NULL, NULL);
  close (client);

  h.take = TRUE;
  assert_still_accepting (&h);
  g_assert_cmpuint (h.n_errors, ==, 1);
  harness_clear (&h);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

static void
test_exhaustion_accept_async (void)
{
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  TcpTestAcceptResult a = { 0 };
  Harness h;
  int client;

  harness_init (&h);
  h.take = FALSE;
  tcp_server_accept_async (h.server, NULL, tcp_test_accept_result_cb, &a);
  inject_accept_errors (0, 4, ENFILE);
  client = tcp_fault_connect (tcp_server_get_server_port (h.server));
  g_assert_true (tcp_test_run_until_uint (context, &a.n_done, 1, 10000));
  g_assert_cmpint (disarm_injection (), ==, 4);
  g_assert_no_error (a.error);
  g_assert_cmpuint (h.n_errors, ==, 1);
  g_assert_error (h.last_error, G_IO_ERROR, g_io_error_from_errno (ENFILE));
  g_assert_cmpuint (tcp_fault_remote_port (a.connection), ==, tcp_fault_local_port (client));
  g_io_stream_close (a.connection, NULL, NULL);
  g_clear_object (&a.connection);
  close (client);

  h.take = TRUE;
  assert_still_accepting (&h);
  harness_clear (&h);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* Clients that reset before they are accepted --------------------------- */

#define N_RESETS_EACH 5

static void
test_reset_before_accept (void)
{
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  int good[2];
  guint n_good = 0, n_reset_seen = 0;
  guint16 port;
  Harness h;

  harness_init (&h);
  port = tcp_server_get_server_port (h.server);

  /* Resets, a good client, resets, a good client: all in the kernel queue
   * before the server looks. */
  tcp_server_pause_accepting (h.server);
  for (guint round = 0; round < 2; round++)
    {
      for (guint i = 0; i < N_RESETS_EACH; i++)
        {
          int fd = tcp_fault_connect (port);

          tcp_fault_set_linger_zero (fd);
          close (fd);   /* RST */
        }
      good[round] = tcp_fault_connect (port);
      g_assert_cmpint (write (good[round], "good", 4), ==, 4);
    }
  tcp_test_run_for (context, 20);
  g_assert_cmpuint (h.taken->len, ==, 0);
  tcp_server_resume_accepting (h.server);

  /* Linux hands reset connections out (reading them fails or ends at once);
   * other systems fail accept() with ECONNABORTED, which the engine skips.
   * Either way the good clients come through and nothing is reported. */
  for (guint spins = 0; n_good < 2 && spins < 1000; spins++)
    {
      g_main_context_iteration (context, TRUE);
      n_good = 0;
      for (guint i = 0; i < h.taken->len; i++)
        {
          guint16 remote = tcp_fault_remote_port (h.taken->pdata[i]);

          if (remote == tcp_fault_local_port (good[0]) || remote == tcp_fault_local_port (good[1]))
            n_good++;
        }
    }
  tcp_test_run_for (context, 20);
  g_assert_cmpuint (n_good, ==, 2);
  g_assert_cmpuint (h.n_errors, ==, 0);
  g_assert_cmpuint (h.taken->len, <=, 2 * N_RESETS_EACH + 2);

  for (guint i = 0; i < h.taken->len; i++)
    {
      GIOStream *connection = h.taken->pdata[i];
      GInputStream *in = g_io_stream_get_input_stream (connection);
      g_autoptr(GError) error = NULL;
      gchar buf[8] = { 0 };
      gsize n_read = 0;

      if (tcp_fault_remote_port (connection) == tcp_fault_local_port (good[0]) ||
          tcp_fault_remote_port (connection) == tcp_fault_local_port (good[1]))
        {
          g_assert_true (g_input_stream_read_all (in, buf, 4, &n_read, NULL, &error));
          g_assert_no_error (error);
          g_assert_cmpstr (buf, ==, "good");
        }
      else
        {
          /* A reset peer: an error or end-of-file, never a hang. */
          if (g_input_stream_read_all (in, buf, sizeof buf, &n_read, NULL, &error))
            g_assert_cmpuint (n_read, ==, 0);
          n_reset_seen++;
        }
    }
  g_test_message ("%u of %u reset connections reached the application",
                  n_reset_seen, 2 * N_RESETS_EACH);

  close (good[0]);
  close (good[1]);
  assert_still_accepting (&h);
  harness_clear (&h);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* A burst against a small queue that drains slowly ---------------------- */

#define BURST_MAX_PENDING 10

typedef struct
{
  TcpServer  *server;
  GHashTable *port_to_index;   /* client port → index + 1 */
  gboolean   *delivered;
  int        *fds;
  gboolean   *refused;
  guint       n;
  guint       n_delivered;
  guint       n_refused;
  guint       n_duplicates;
  guint       n_unknown;
  guint       max_pending_seen;
  guint       n_full_ticks;
} Burst;

static void
burst_pending_cb (TcpServer *server,
                  Burst     *b)
{
  b->max_pending_seen = MAX (b->max_pending_seen, tcp_server_get_n_pending_connections (server));
}

/* The slow application: five connections every two milliseconds. */
static gboolean
burst_drain_cb (gpointer user_data)
{
  Burst *b = user_data;
  guint pending = tcp_server_get_n_pending_connections (b->server);

  b->max_pending_seen = MAX (b->max_pending_seen, pending);
  if (pending == BURST_MAX_PENDING)
    b->n_full_ticks++;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GIOStream) connection = tcp_server_next_pending_connection (b->server);
      guint index;

      if (connection == NULL)
        break;

      index = GPOINTER_TO_UINT (g_hash_table_lookup (b->port_to_index,
                                                     GUINT_TO_POINTER (tcp_fault_remote_port (connection))));
      if (index == 0)
        b->n_unknown++;
      else if (b->delivered[index - 1])
        b->n_duplicates++;
      else
        {
          b->delivered[index - 1] = TRUE;
          b->n_delivered++;
        }
      g_io_stream_close (connection, NULL, NULL);
    }

  return G_SOURCE_CONTINUE;
}

/* Clients whose connect() failed for good: what the kernel refused. */
static gboolean
burst_check_refused_cb (gpointer user_data)
{
  Burst *b = user_data;

  for (guint i = 0; i < b->n; i++)
    {
      struct pollfd pfd = { .fd = b->fds[i], .events = POLLOUT };
      int err = 0;
      socklen_t len = sizeof err;

      if (b->delivered[i] || b->refused[i])
        continue;
      if (poll (&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)) &&
          getsockopt (b->fds[i], SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        {
          b->refused[i] = TRUE;
          b->n_refused++;
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
burst_done (gpointer user_data)
{
  Burst *b = user_data;

  return b->n_delivered + b->n_refused >= b->n;
}

static void
test_burst (void)
{
  guint limit = tcp_fault_raise_fd_limit ();
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  g_autoptr(GSource) drain = NULL;
  g_autoptr(GSource) check = NULL;
  g_autofree gchar *somaxconn = NULL;
  gint64 start;
  Burst b = { 0 };

  /* The kernel queue's real length, for the log: with a small one, more
   * SYNs are dropped and retried, and the burst takes longer. */
  g_file_get_contents ("/proc/sys/net/core/somaxconn", &somaxconn, NULL, NULL);

  b.n = tcp_fault_scale (5000, 1000);
  g_assert_cmpuint (limit, >, 512);
  if (limit < b.n + 256)
    {
      g_test_message ("RLIMIT_NOFILE hard limit %u: burst shrunk to %u", limit, limit - 256);
      b.n = limit - 256;
    }

  b.server = tcp_fault_server_new_listening ();
  tcp_server_set_max_pending_connections (b.server, BURST_MAX_PENDING);
  g_signal_connect (b.server, "pending-connection-available", G_CALLBACK (burst_pending_cb), &b);
  b.port_to_index = g_hash_table_new (NULL, NULL);
  b.delivered = g_new0 (gboolean, b.n);
  b.refused = g_new0 (gboolean, b.n);
  b.fds = g_new (int, b.n);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < b.n; i++)
    {
      b.fds[i] = tcp_fault_connect_nonblock (tcp_server_get_server_port (b.server));
      g_assert_cmpint (b.fds[i], >=, 0);
      g_hash_table_insert (b.port_to_index,
                           GUINT_TO_POINTER (tcp_fault_local_port (b.fds[i])),
                           GUINT_TO_POINTER (i + 1));
    }
  g_assert_cmpuint (g_hash_table_size (b.port_to_index), ==, b.n);

  drain = g_timeout_source_new (2);
  g_source_set_callback (drain, burst_drain_cb, &b, NULL);
  g_source_attach (drain, context);
  check = g_timeout_source_new (100);
  g_source_set_callback (check, burst_check_refused_cb, &b, NULL);
  g_source_attach (check, context);

  g_assert_true (tcp_test_run_until (context, burst_done, &b, 90000));
  g_source_destroy (drain);
  g_source_destroy (check);

  g_test_message ("burst of %u: %u delivered, %u refused by the kernel, queue peaked at %u "
                  "(full at %u drain ticks), %.2f s; net.core.somaxconn %s",
                  b.n, b.n_delivered, b.n_refused, b.max_pending_seen, b.n_full_ticks,
                  (g_get_monotonic_time () - start) / 1e6, somaxconn ? g_strstrip (somaxconn) : "?");

  /* Everything the kernel let through was delivered, once; the queue never
   * outgrew its bound. */
  g_assert_cmpuint (b.n_duplicates, ==, 0);
  g_assert_cmpuint (b.n_unknown, ==, 0);
  g_assert_cmpuint (b.n_delivered, ==, b.n - b.n_refused);
  g_assert_cmpuint (b.max_pending_seen, <=, BURST_MAX_PENDING);
  g_assert_cmpuint (b.max_pending_seen, ==, BURST_MAX_PENDING);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (b.server), ==, 0);

  for (guint i = 0; i < b.n; i++)
    close (b.fds[i]);
  g_free (b.fds);
  g_free (b.delivered);
  g_free (b.refused);
  g_hash_table_unref (b.port_to_index);

  {
    Harness h;

    /* A fresh look at the same server: it still accepts. */
    memset (&h, 0, sizeof h);
    h.server = b.server;
    h.taken = g_ptr_array_new_with_free_func (g_object_unref);
    h.take = TRUE;
    g_signal_connect (h.server, "new-connection", G_CALLBACK (harness_new_connection_cb), &h);
    assert_still_accepting (&h);
    harness_clear (&h);
  }

  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* Re-entrant calls from every callback at every point of a batch -------- */

typedef enum
{
  ACTION_CLOSE,
  ACTION_UNREF,
  ACTION_PAUSE,
  ACTION_LISTEN,         /* listen() while listening: refused */
  ACTION_CLOSE_LISTEN,   /* close(), then listen() on a new port */
  N_ACTIONS
} Action;

typedef enum
{
  HOOK_INCOMING,
  HOOK_NEW_CONNECTION,
  HOOK_PENDING_AVAILABLE,
  HOOK_ACCEPT_ERROR,
  N_HOOKS
} Hook;

static const gchar *action_names[] = { "close", "unref", "pause", "listen", "close-listen" };
static const gchar *hook_names[] = {
  "incoming-connection", "new-connection", "pending-connection-available", "accept-error",
};

#define BATCH 5
static const guint positions[] = { 0, BATCH / 2, BATCH - 1 };
static const gchar *position_names[] = { "first", "middle", "last" };

typedef struct
{
  Action     action;
  Hook       hook;
  guint      position;

  TcpServer *server;        /* weak */
  guint      hook_calls;
  gboolean   acted;
  guint      n_incoming;
  guint      n_new;
  guint      n_pending_available;
  guint      n_errors;
  gboolean   listen_ok;
  GError    *listen_error;
} Reentry;

/* A subclass, to hook incoming_connection. */
#define TEST_TYPE_SERVER (test_server_get_type ())
G_DECLARE_FINAL_TYPE (TestServer, test_server, TEST, SERVER, TcpServer)

struct _TestServer
{
  TcpServer  parent_instance;
  Reentry   *reentry;
};

G_DEFINE_FINAL_TYPE (TestServer, test_server, TCP_TYPE_SERVER)

static void
reentry_act (Reentry *r,
             Hook     hook)
{
  TcpServer *server = r->server;
  guint call;

  if (hook != r->hook || r->acted)
    return;

  /* accept-error comes once: where it comes in the batch is set by the
   * injected failure, not by counting calls. */
  call = r->hook_calls++;
  if (hook != HOOK_ACCEPT_ERROR && call != r->position)
    return;

  r->acted = TRUE;
  switch (r->action)
    {
    case ACTION_CLOSE:
      tcp_server_close (server);
      break;
    case ACTION_UNREF:
      g_object_unref (server);
      break;
    case ACTION_PAUSE:
      tcp_server_pause_accepting (server);
      break;
    case ACTION_LISTEN:
      r->listen_ok = tcp_server_listen_on (server, "127.0.0.1", 0, &r->listen_error);
      break;
    case ACTION_CLOSE_LISTEN:
      tcp_server_close (server);
      r->listen_ok = tcp_server_listen_on (server, "127.0.0.1", 0, &r->listen_error);
      break;
    case N_ACTIONS:
    default:
      g_assert_not_reached ();
    }
}

static void
test_server_incoming_connection (TcpServer *server,
                                 GSocket   *socket)
{
  Reentry *r = TEST_SERVER (server)->reentry;

  r->n_incoming++;
  reentry_act (r, HOOK_INCOMING);
  TCP_SERVER_CLASS (test_server_parent_class)->incoming_connection (server, socket);
}

static void
test_server_class_init (TestServerClass *klass)
{
  TCP_SERVER_CLASS (klass)->incoming_connection = test_server_incoming_connection;
}

static void
test_server_init (TestServer *self)
{
}

static void
reentry_new_connection_cb (TcpServer *server,
                           Reentry   *r)
{
  r->n_new++;
  reentry_act (r, HOOK_NEW_CONNECTION);
}

static void
reentry_pending_available_cb (TcpServer *server,
                              Reentry   *r)
{
  r->n_pending_available++;
  reentry_act (r, HOOK_PENDING_AVAILABLE);
}

static void
reentry_accept_error_cb (TcpServer    *server,
                         const GError *error,
                         Reentry      *r)
{
  r->n_errors++;
  reentry_act (r, HOOK_ACCEPT_ERROR);
}

static gboolean
reentry_incoming_at_least (gpointer user_data)
{
  Reentry *r = user_data;

  return r->n_incoming >= BATCH;
}

/* The batch is over: all of it handled, or stopped by the action. */
static gboolean
reentry_settled (gpointer user_data)
{
  Reentry *r = user_data;

  if (r->n_incoming >= BATCH)
    return TRUE;

  return r->acted && r->action != ACTION_LISTEN;
}

/* Reads what a client gets once the server side is gone: end-of-file or a
 * reset, within a bound, never a hang. */
static void
assert_client_ends (int fd)
{
  struct timeval timeout = { .tv_sec = 5 };
  gchar buf[16];
  gssize n;

  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), ==, 0);
  n = tcp_fault_read_to_eof (fd, buf, sizeof buf);
  if (n < 0)
    g_assert_cmpint (errno, ==, ECONNRESET);
  else
    g_assert_cmpint (n, ==, 0);
  close (fd);
}

static void
test_reentry (gconstpointer data)
{
  const Reentry *template = data;
  guint n_fds = tcp_fault_count_fds ();
  GMainContext *context = push_new_context ();
  g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  GIOStream *connection;
  int clients[BATCH];
  guint expected;
  guint16 port;
  Reentry r = *template;
  TestServer *test_server;

  test_server = g_object_new (TEST_TYPE_SERVER, NULL);
  test_server->reentry = &r;
  r.server = TCP_SERVER (test_server);
  g_object_add_weak_pointer (G_OBJECT (r.server), (gpointer *) &r.server);
  g_signal_connect (r.server, "new-connection", G_CALLBACK (reentry_new_connection_cb), &r);
  g_signal_connect (r.server, "pending-connection-available",
                    G_CALLBACK (reentry_pending_available_cb), &r);
  g_signal_connect (r.server, "accept-error", G_CALLBACK (reentry_accept_error_cb), &r);
  g_assert_true (tcp_server_listen_on (r.server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = tcp_server_get_server_port (r.server);

  /* The whole batch waits in the kernel queue, then comes in one wakeup. */
  tcp_server_pause_accepting (r.server);
  for (guint i = 0; i < BATCH; i++)
    clients[i] = tcp_fault_connect (port);
  if (r.hook == HOOK_ACCEPT_ERROR)
    inject_accept_errors (r.position, 1, EMFILE);
  tcp_server_resume_accepting (r.server);

  g_assert_true (tcp_test_run_until (context, reentry_settled, &r, 5000));
  /* Let retries and late callbacks run: they must not come. */
  tcp_test_run_for (context, 50);
  if (r.hook == HOOK_ACCEPT_ERROR)
    {
      g_assert_cmpint (disarm_injection (), ==, 1);
      g_assert_cmpuint (r.n_errors, ==, 1);
    }
  g_assert_true (r.acted);

  /* Connections handled before the call; the one in whose callback it came
   * is handled too, except for a failed accept which has none. */
  expected = r.hook == HOOK_ACCEPT_ERROR ? r.position : r.position + 1;
  switch (r.action)
    {
    case ACTION_CLOSE:
    case ACTION_UNREF:
    case ACTION_CLOSE_LISTEN:
      g_assert_cmpuint (r.n_incoming, ==, expected);
      g_assert_cmpuint (r.n_new, ==, expected);
      g_assert_cmpuint (r.n_pending_available, ==, expected);
      break;
    case ACTION_PAUSE:
      /* Nothing more while paused, then the rest of the batch. */
      g_assert_cmpuint (r.n_incoming, ==, expected);
      g_assert_true (tcp_server_is_paused (r.server));
      tcp_server_resume_accepting (r.server);
      g_assert_true (tcp_test_run_until (context, reentry_incoming_at_least, &r, 5000));
      G_GNUC_FALLTHROUGH;
    case ACTION_LISTEN:
      g_assert_cmpuint (r.n_incoming, ==, BATCH);
      g_assert_cmpuint (r.n_new, ==, BATCH);
      g_assert_cmpuint (r.n_pending_available, ==, BATCH);
      break;
    case N_ACTIONS:
    default:
      g_assert_not_reached ();
    }

  switch (r.action)
    {
    case ACTION_UNREF:
      g_assert_null (r.server);
      break;
    case ACTION_CLOSE:
      g_assert_false (tcp_server_is_listening (r.server));
      break;
    case ACTION_LISTEN:
      g_assert_false (r.listen_ok);
      g_assert_error (r.listen_error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_assert_cmpuint (tcp_server_get_server_port (r.server), ==, port);
      break;
    case ACTION_CLOSE_LISTEN:
      g_assert_true (r.listen_ok);
      g_assert_no_error (r.listen_error);
      g_assert_true (tcp_server_is_listening (r.server));
      break;
    case ACTION_PAUSE:
      g_assert_true (tcp_server_is_listening (r.server));
      break;
    case N_ACTIONS:
    default:
      g_assert_not_reached ();
    }

  /* Whatever the server still holds is the application's to take. */
  if (r.server != NULL)
    while ((connection = tcp_server_next_pending_connection (r.server)) != NULL)
      g_ptr_array_add (taken, connection);
  for (guint i = 0; i < taken->len; i++)
    g_io_stream_close (taken->pdata[i], NULL, NULL);
  g_ptr_array_set_size (taken, 0);

  /* Every client ends cleanly: end-of-file or reset, no hang. */
  for (guint i = 0; i < BATCH; i++)
    assert_client_ends (clients[i]);

  /* The server keeps accepting (after close: once listening again). A
   * dropped server released its port. */
  if (r.server == NULL)
    {
      g_autoptr(TcpServer) again = tcp_server_new ();
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

      g_assert_true (tcp_server_listen (again, loopback, port, &error));
      g_assert_no_error (error);
    }
  else
    {
      guint before = r.n_incoming;
      int client;

      if (!tcp_server_is_listening (r.server))
        {
          g_assert_true (tcp_server_listen_on (r.server, "127.0.0.1", 0, &error));
          g_assert_no_error (error);
        }
      r.position = G_MAXUINT;   /* no more actions */
      client = tcp_fault_connect (tcp_server_get_server_port (r.server));
      g_assert_true (tcp_server_wait_for_new_connection (r.server, 5000, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (r.n_incoming, ==, before + 1);
      connection = tcp_server_next_pending_connection (r.server);
      g_assert_cmpuint (tcp_fault_remote_port (connection), ==, tcp_fault_local_port (client));
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);
      close (client);

      g_object_remove_weak_pointer (G_OBJECT (r.server), (gpointer *) &r.server);
      g_object_unref (r.server);
    }

  g_clear_error (&r.listen_error);
  pop_context (context);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* Two threads, two contexts, two servers -------------------------------- */

typedef struct
{
  guint     id;
  guint     n;
  GThread  *thread;
  guint     n_ok;
  guint     n_crosstalk;
  guint     n_wrong_thread;
  guint     n_signals;
  guint     n_errors;
} Worker;

static void
worker_new_connection_cb (TcpServer *server,
                          Worker    *w)
{
  w->n_signals++;
  if (g_thread_self () != w->thread)
    w->n_wrong_thread++;
}

static void
worker_accept_error_cb (TcpServer    *server,
                        const GError *error,
                        Worker       *w)
{
  w->n_errors++;
}

static gboolean
has_pending (gpointer user_data)
{
  return tcp_server_has_pending_connections (user_data);
}

static gpointer
worker_thread (gpointer user_data)
{
  Worker *w = user_data;
  GMainContext *context = push_new_context ();
  TcpServer *server = tcp_fault_server_new_listening ();
  guint16 port = tcp_server_get_server_port (server);

  w->thread = g_thread_self ();
  g_signal_connect (server, "new-connection", G_CALLBACK (worker_new_connection_cb), w);
  g_signal_connect (server, "accept-error", G_CALLBACK (worker_accept_error_cb), w);

  for (guint i = 0; i < w->n; i++)
    {
      guint32 token[2] = { w->id, i };
      guint32 got[2] = { G_MAXUINT32, G_MAXUINT32 };
      g_autoptr(GIOStream) connection = NULL;
      gsize n_read = 0;
      gchar eof;
      int client = tcp_fault_connect (port);

      g_assert_cmpint (write (client, token, sizeof token), ==, sizeof token);
      if (!tcp_test_run_until (context, has_pending, server, 10000))
        g_error ("worker %u: connection %u never arrived", w->id, i);
      connection = tcp_server_next_pending_connection (server);
      g_input_stream_read_all (g_io_stream_get_input_stream (connection), got, sizeof got,
                               &n_read, NULL, NULL);
      if (n_read == sizeof got && got[0] == w->id && got[1] == i)
        w->n_ok++;
      else
        w->n_crosstalk++;
      /* The server closes first, so the client's port is free at once. */
      g_io_stream_close (connection, NULL, NULL);
      g_assert_cmpint (read (client, &eof, 1), ==, 0);
      close (client);
    }

  g_object_unref (server);
  pop_context (context);

  return NULL;
}

static void
test_threads (void)
{
  guint n_fds = tcp_fault_count_fds ();
  Worker workers[2] = { { 0 }, { 0 } };
  GThread *threads[2];
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      workers[i].id = i + 1;
      workers[i].n = tcp_fault_scale (10000, 2000);
      threads[i] = g_thread_new ("tcp-test-worker", worker_thread, &workers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    g_thread_join (threads[i]);

  g_test_message ("2 threads x %u connections in %.2f s", workers[0].n,
                  (g_get_monotonic_time () - start) / 1e6);
  for (guint i = 0; i < G_N_ELEMENTS (workers); i++)
    {
      g_assert_cmpuint (workers[i].n_ok, ==, workers[i].n);
      g_assert_cmpuint (workers[i].n_crosstalk, ==, 0);
      g_assert_cmpuint (workers[i].n_signals, ==, workers[i].n);
      g_assert_cmpuint (workers[i].n_wrong_thread, ==, 0);
      g_assert_cmpuint (workers[i].n_errors, ==, 0);
    }
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

static Reentry reentry_cases[N_HOOKS * N_ACTIONS * G_N_ELEMENTS (positions)];

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  tcp_fault_warm_up ();

  g_test_add_func ("/Tcp/Faults/fd-exhaustion", test_fd_exhaustion);
  for (guint i = 0; i < G_N_ELEMENTS (errno_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/Tcp/Faults/accept-errno/%s", errno_cases[i].name);

      g_test_add_data_func (path, &errno_cases[i], test_injected_errno);
    }
  g_test_add_func ("/Tcp/Faults/exhaustion/wait-for-new-connection", test_exhaustion_wait);
  g_test_add_func ("/Tcp/Faults/exhaustion/accept-async", test_exhaustion_accept_async);
  g_test_add_func ("/Tcp/Faults/reset-before-accept", test_reset_before_accept);
  g_test_add_func ("/Tcp/Faults/burst", test_burst);

  for (guint k = 0; k < N_HOOKS; k++)
    for (guint a = 0; a < N_ACTIONS; a++)
      for (guint p = 0; p < G_N_ELEMENTS (positions); p++)
        {
          g_autofree gchar *path = g_strdup_printf ("/Tcp/Faults/reentry/%s/%s/%s",
                                                    hook_names[k], action_names[a],
                                                    position_names[p]);
          Reentry *r = &reentry_cases[(k * N_ACTIONS + a) * G_N_ELEMENTS (positions) + p];

          r->action = a;
          r->hook = k;
          r->position = positions[p];
          g_test_add_data_func (path, r, test_reentry);
        }

  g_test_add_func ("/Tcp/Faults/threads", test_threads);

  return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pending-mem.c: what a connection costs while it waits in the pending queue
 *
 * Copyright 2026 The libtcp authors
 *
 *   pending-mem [-n 10000]
 *
 * A child process opens N connections to a TcpServer whose
 * max-pending-connections is N and holds them open; the parent accepts them
 * all (nobody takes any) and compares the user-space heap (mallinfo2) before
 * the first and after the last. RLIMIT_NOFILE is raised to its hard limit in
 * both. Run with G_SLICE=always-malloc to count GLib 2.74's slices at their
 * real size instead of whole magazine chunks.
 */

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <tcp.h>

static size_t
heap_in_use (void)
{
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks + mi.hblkhd;
}

static void
raise_nofile (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* The child: N blocking connects, then wait for the parent to say done. */
static int
run_clients (guint16 port,
             int     n,
             int     ready_fd,
             int     done_fd)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  char c = 'x';

  sin.sin_port = htons (port);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  for (int i = 0; i < n; i++)
    {
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

      if (fd < 0 || connect (fd, (struct sockaddr *) &sin, sizeof sin) != 0)
        {
          perror ("client connect");
          return 1;
        }
    }
  if (write (ready_fd, &c, 1) != 1 || read (done_fd, &c, 1) < 0)
    return 1;
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GError) error = NULL;
  int n = 10000;
  int ready[2], done[2];
  size_t before, after;
  struct rlimit rl;
  pid_t child;
  char c;
  int opt;

  while ((opt = getopt (argc, argv, "n:")) != -1)
    {
      if (opt != 'n')
        {
          fprintf (stderr, "usage: %s [-n N]\n", argv[0]);
          return 2;
        }
      n = atoi (optarg);
    }

  raise_nofile ();
  getrlimit (RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t) n + 64)
    {
      fprintf (stderr, "RLIMIT_NOFILE hard limit %lu is below %d + 64\n",
               (unsigned long) rl.rlim_cur, n);
      return 1;
    }

  server = tcp_server_new ();
  tcp_server_set_max_pending_connections (server, n);
  if (!tcp_server_listen_on (server, "127.0.0.1", 0, &error))
    {
      fprintf (stderr, "listen: %s\n", error->message);
      return 1;
    }

  if (pipe (ready) != 0 || pipe (done) != 0)
    return 1;

  /* Warm up: types, classes and one-time allocations are not per connection. */
  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) out = NULL;
    g_autoptr(GIOStream) in = NULL;

    g_socket_client_set_enable_proxy (client, FALSE);
    out = g_socket_client_connect_to_host (client, "127.0.0.1",
                                           tcp_server_get_server_port (server), NULL, &error);
    if (out == NULL || !tcp_server_wait_for_new_connection (server, 5000, NULL, &error))
      {
        fprintf (stderr, "warm-up: %s\n", error->message);
        return 1;
      }
    in = tcp_server_next_pending_connection (server);
    g_io_stream_close (in, NULL, NULL);
  }
  while (g_main_context_iteration (NULL, FALSE))
    ;

  malloc_trim (0);
  before = heap_in_use ();

  child = fork ();
  if (child == 0)
    _exit (run_clients (tcp_server_get_server_port (server), n, ready[1], done[0]));

  while ((gint) tcp_server_get_n_pending_connections (server) < n)
    g_main_context_iteration (NULL, TRUE);

  after = heap_in_use ();

  if (read (ready[0], &c, 1) != 1)
    return 1;
  c = 'x';
  if (write (done[1], &c, 1) != 1)
    return 1;
  waitpid (child, NULL, 0);

  printf ("pending=%u heap_before=%zu heap_after=%zu bytes_per_conn=%.0f\n",
          tcp_server_get_n_pending_connections (server), before, after,
          (double) (after - before) / n);
  tcp_server_close (server);
  return 0;
}

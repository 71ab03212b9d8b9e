/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-floor.c: the least any server can spend while handing out what
 * libtcp's API promises
 *
 * Copyright 2026 The libtcp authors
 *
 * Not a server anyone would write: it exists to measure a floor. Per
 * connection it does only what a TcpServer application cannot avoid,
 * whatever the library's design:
 *
 * - accept4() in a loop after epoll_wait(), as raw epoll does;
 * - the GSocket that the incoming_connection vfunc receives, built the
 *   cheapest way libtcp knows (its private TcpAcceptedSocket, linked from
 *   the library's own objects, one getsockopt());
 * - the GTcpConnection that next_pending_connection() returns;
 * - the application's fortune: g_output_stream_write_all() on the
 *   connection's output stream, g_io_stream_close(), g_object_unref().
 *
 * There is no GMainContext, no signal, no queue and no server object: what
 * srv-libtcp spends beyond this is what libtcp itself adds. Fortune mode
 * only.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <gio/gio.h>

#include "bench-common.h"
#include "tcp-accepted-socket-private.h"

static GSocket *
open_listener (const BenchArgs  *args,
               int              *port)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, args->port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GError) error = NULL;

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                           G_SOCKET_PROTOCOL_TCP, &error);
  if (listener != NULL)
    g_socket_set_listen_backlog (listener, args->backlog > 0 ? args->backlog : BENCH_DEFAULT_BACKLOG);
  if (listener == NULL ||
      !g_socket_bind (listener, address, TRUE, &error) ||
      !g_socket_listen (listener, &error) ||
      (effective = g_socket_get_local_address (listener, &error)) == NULL)
    {
      g_printerr ("listen: %s\n", error->message);
      exit (1);
    }

  /* As libtcp does (no-delay, on by default): set once on the listener,
   * inherited by every connection. */
  g_socket_set_option (listener, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  return g_steal_pointer (&listener);
}

/* What the library must make of @fd, then what the application does. */
static void
serve_fortune (int fd)
{
  static const TcpSocketOptions inherited = { .no_delay = TRUE, .keepalive = FALSE };
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GIOStream) connection = NULL;

  socket = tcp_accepted_socket_new (fd, G_SOCKET_FAMILY_IPV4, &inherited, NULL);
  if (socket == NULL)
    return;   /* the peer reset; the fd is closed */

  connection = g_object_new (G_TYPE_TCP_CONNECTION, "socket", socket, NULL);
  g_output_stream_write_all (g_io_stream_get_output_stream (connection),
                             BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
  g_io_stream_close (connection, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  struct epoll_event ev = { .events = EPOLLIN };
  g_autoptr(GSocket) listener = NULL;
  BenchArgs args;
  int ep, fd, lfd, port;

  bench_parse_args (argc, argv, &args);
  if (args.echo)
    {
      g_printerr ("%s: fortune mode only\n", argv[0]);
      return 2;
    }
  if (!tcp_accepted_socket_is_supported ())
    {
      g_printerr ("%s: TcpAcceptedSocket is not used with this GLib\n", argv[0]);
      return 1;
    }

  listener = open_listener (&args, &port);
  lfd = g_socket_get_fd (listener);
  ep = epoll_create1 (EPOLL_CLOEXEC);
  if (ep < 0 || epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
    {
      perror ("epoll");
      return 1;
    }
  bench_write_port (&args, port);

  for (;;)
    {
      if (epoll_wait (ep, &ev, 1, -1) < 0 && errno != EINTR)
        {
          perror ("epoll_wait");
          return 1;
        }

      while ((fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        serve_fortune (fd);
    }
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-libtcp.c: libtcp's TcpServer used exactly as an application would
 *
 * Copyright 2026 The libtcp authors
 *
 * A new-connection handler drains next_pending_connection(), writes through
 * the GIO output stream and closes. Default settings unless -b is given.
 *
 * refuse mode: every peer is refused, by a deny rule for 127.0.0.0/8, or
 * with -x peer-limit by max-connections-per-peer = 1 while the server holds
 * one connection of its own to itself. No handler for connection-refused.
 *
 * -x track: get_connections() is called once, so the server keeps its model
 * of connections up to date. -x deny=MASK: peers in MASK are refused (the
 * good peer and the flood of bench/run-flood.sh).
 */

#include <tcp.h>

#define BENCH_HAS_REFUSE 1
#include "bench-common.h"
#include "gio-echo.h"

/* Peer-limit refusals: the one connection the server holds to itself. */
static GSocketConnection *self_client;
static GIOStream *self_served;

static void
new_connection_cb (TcpServer *server,
                   gpointer   user_data)
{
  const BenchArgs *args = user_data;
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      if (self_client != NULL && self_served == NULL)
        {
          self_served = connection;
          continue;
        }

      if (args->echo)
        {
          bench_echo_start (connection);
        }
      else
        {
          g_output_stream_write_all (g_io_stream_get_output_stream (connection),
                                     BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
          g_io_stream_close (connection, NULL, NULL);
        }
      g_object_unref (connection);
    }
}

static void
deny (TcpServer  *server,
      const char *mask)
{
  g_autoptr(GError) error = NULL;

  if (!tcp_server_deny_peers (server, mask, &error))
    {
      g_printerr ("deny %s: %s\n", mask, error->message);
      exit (2);
    }
}

static void
apply_options (TcpServer       *server,
               const BenchArgs *args)
{
  g_autofree char *mask = NULL;

  if (args->refuse && bench_has_option (args, "peer-limit", NULL))
    tcp_server_set_max_connections_per_peer (server, 1);
  else if (args->refuse)
    deny (server, "127.0.0.0/8");
  if (bench_has_option (args, "deny", &mask))
    deny (server, mask);
  if (bench_has_option (args, "track", NULL))
    tcp_server_get_connections (server);
}

/* Connects to the server before anyone else can, so that its first
 * accepted connection, held for ever, is this one. */
static void
hold_one_connection (TcpServer *server)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;

  self_client = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                 tcp_server_get_server_port (server),
                                                 NULL, &error);
  if (self_client == NULL)
    {
      g_printerr ("connect to self: %s\n", error->message);
      exit (1);
    }
  while (self_served == NULL)
    g_main_context_iteration (NULL, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BenchArgs args;

  bench_parse_args (argc, argv, &args);

  server = tcp_server_new ();
  if (args.backlog > 0)
    tcp_server_set_listen_backlog_size (server, args.backlog);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &args);
  apply_options (server, &args);

  if (!tcp_server_listen_on (server, "127.0.0.1", args.port, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }
  if (args.refuse && bench_has_option (&args, "peer-limit", NULL))
    hold_one_connection (server);
  bench_write_port (&args, tcp_server_get_server_port (server));

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-libtcp.c: libtcp's TcpServer used exactly as an application would
 *
 * Copyright 2026 The libtcp authors
 *
 * A new-connection handler drains next_pending_connection(), writes through
 * the GIO output stream and closes. Default settings unless -b is given.
 */

#include <tcp.h>

#include "bench-common.h"
#include "gio-echo.h"

static void
new_connection_cb (TcpServer *server,
                   gpointer   user_data)
{
  const BenchArgs *args = user_data;
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
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

  if (!tcp_server_listen_on (server, "127.0.0.1", args.port, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }
  bench_write_port (&args, tcp_server_get_server_port (server));

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}

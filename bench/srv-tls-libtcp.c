/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-tls-libtcp.c: libtcp's TcpTlsServer used exactly as an application would
 *
 * Copyright 2026 The libtcp authors
 *
 * A pending-connection-available handler drains next_pending_connection()
 * (each connection has finished its handshake), writes the fortune through
 * the TLS connection's output stream and closes it. Default settings unless
 * -b is given: the database, authentication mode and socket options are
 * whatever the library does, so that this peer measures the library
 * build it is linked with (run-tls.sh -X compares builds).
 */

#include <tcp.h>

#include "bench-common.h"

static void
pending_connection_available_cb (TcpServer *server,
                                 gpointer   user_data)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      g_output_stream_write_all (g_io_stream_get_output_stream (connection),
                                 BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TcpTlsServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BenchArgs args;

  bench_parse_args (argc, argv, &args);
  bench_require_tls (&args, argv[0]);

  server = tcp_tls_server_new_from_files (args.cert_file, args.key_file, &error);
  if (server == NULL)
    {
      g_printerr ("certificate: %s\n", error->message);
      return 1;
    }
  if (args.backlog > 0)
    tcp_server_set_listen_backlog_size (TCP_SERVER (server), args.backlog);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (pending_connection_available_cb), NULL);

  if (!tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", args.port, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }
  bench_write_port (&args, tcp_server_get_server_port (TCP_SERVER (server)));

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}

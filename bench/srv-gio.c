/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-gio.c: GIO's own GSocketService, used the way its docs suggest
 *
 * Copyright 2026 The libtcp authors
 */

#include <gio/gio.h>

#include "bench-common.h"
#include "gio-echo.h"

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  const BenchArgs *args = user_data;
  GIOStream *stream = G_IO_STREAM (connection);

  if (args->echo)
    {
      bench_echo_start (stream);
      return TRUE;
    }

  g_output_stream_write_all (g_io_stream_get_output_stream (stream),
                             BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
  g_io_stream_close (stream, NULL, NULL);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  BenchArgs args;

  bench_parse_args (argc, argv, &args);

  service = g_socket_service_new ();
  if (args.backlog > 0)
    g_socket_listener_set_backlog (G_SOCKET_LISTENER (service), args.backlog);

  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, args.port);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }

  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), &args);
  g_socket_service_start (service);
  bench_write_port (&args, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-tls-gio.c: a TLS fortune server on GIO alone, as its docs suggest
 *
 * Copyright 2026 The libtcp authors
 *
 * GSocketService's incoming handler wraps each connection in
 * g_tls_server_connection_new() and starts g_tls_connection_handshake_async();
 * once the handshake is done it writes the fortune through the TLS
 * connection's output stream and closes it. Everything at GIO's defaults:
 * the default TLS database, authentication-mode NONE, no TCP_NODELAY.
 *
 * For analysis only, two environment variables change that (run-tls.sh
 * never sets them; bench/RESULTS.md says what they showed):
 *
 * - BENCH_TLS_DATABASE=none makes each connection with its database
 *   property set to NULL at construction, so that glib-networking never
 *   builds the default database's trust list for it;
 * - BENCH_TLS_NODELAY=1 sets TCP_NODELAY on each accepted socket;
 * - BENCH_TLS_SYNC=1 does each handshake with the blocking
 *   g_tls_connection_handshake() in the incoming handler, in the main
 *   thread, one connection at a time: no hop to a worker thread, which
 *   measures what that hop costs (a server nobody should write).
 */

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <gio/gio.h>

#include "bench-common.h"

static GTlsCertificate *certificate;
static gboolean no_database;
static gboolean nodelay;
static gboolean sync_handshake;

static void
handshake_done_cb (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GIOStream *tls = G_IO_STREAM (source_object);

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (tls), result, NULL))
    g_output_stream_write_all (g_io_stream_get_output_stream (tls),
                               BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
  g_io_stream_close (tls, NULL, NULL);
  g_object_unref (tls);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  GIOStream *tls;

  if (nodelay)
    g_socket_set_option (g_socket_connection_get_socket (connection),
                         IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  /* The database must be NULL from construction on: glib-networking sets up
   * a connection's credentials, trust list included, in its init. */
  if (no_database)
    tls = g_initable_new (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()),
                          NULL, NULL,
                          "base-io-stream", connection,
                          "certificate", certificate,
                          "database", NULL,
                          NULL);
  else
    tls = g_tls_server_connection_new (G_IO_STREAM (connection), certificate, NULL);
  if (tls == NULL)
    return TRUE;

  if (sync_handshake)
    {
      if (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL))
        g_output_stream_write_all (g_io_stream_get_output_stream (tls),
                                   BENCH_FORTUNE, BENCH_FORTUNE_LEN, NULL, NULL, NULL);
      g_io_stream_close (tls, NULL, NULL);
      g_object_unref (tls);
      return TRUE;
    }

  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    handshake_done_cb, NULL);
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
  bench_require_tls (&args, argv[0]);
  no_database = g_strcmp0 (g_getenv ("BENCH_TLS_DATABASE"), "none") == 0;
  nodelay = g_strcmp0 (g_getenv ("BENCH_TLS_NODELAY"), "1") == 0;
  sync_handshake = g_strcmp0 (g_getenv ("BENCH_TLS_SYNC"), "1") == 0;

  certificate = g_tls_certificate_new_from_files (args.cert_file, args.key_file, &error);
  if (certificate == NULL)
    {
      g_printerr ("certificate: %s\n", error->message);
      return 1;
    }

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

  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), NULL);
  g_socket_service_start (service);
  bench_write_port (&args, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fortune-client.c: Qt's Fortune Client example on GIO
 *
 * Copyright 2026 The libtcp authors
 *
 * Connects to a fortune server, prints what it sends until it closes.
 *
 *   fortune-client HOST PORT
 */

#include <stdio.h>

#include <gio/gio.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GInputStream *in;
  gchar buffer[1024];
  gssize n;
  guint64 port;

  if (argc != 3 || !g_ascii_string_to_unsigned (argv[2], 10, 1, 65535, &port, NULL))
    {
      g_printerr ("Usage: %s HOST PORT\n", argv[0]);
      return 2;
    }

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, 10);
  connection = g_socket_client_connect_to_host (client, argv[1], port, NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("Could not connect to %s port %s: %s\n", argv[1], argv[2], error->message);
      return 1;
    }

  in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error)) > 0)
    fwrite (buffer, 1, n, stdout);

  if (n < 0)
    {
      g_printerr ("Could not read the fortune: %s\n", error->message);
      return 1;
    }

  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket-activated-fortune-server.c: the fortune server, started by systemd
 *
 * Copyright 2026 The libtcp authors
 *
 * Under systemd socket activation the listening socket is already open when
 * the program starts, and the environment says so (LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES). tcp_server_listen_activated() finds it and adopts it.
 * Started by hand, with no socket passed, the program listens on 127.0.0.1
 * by itself.
 *
 *   socket-activated-fortune-server [--port N] [--count N]
 */

#include <string.h>

#include <tcp.h>

static void
pending_connection_available_cb (TcpServer *server,
                                 gint      *remaining)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      const gchar *fortune = "You will be surprised by a loud noise.\n";
      GOutputStream *out = g_io_stream_get_output_stream (connection);

      g_output_stream_write_all (out, fortune, strlen (fortune), NULL, NULL, NULL);
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);

      if (*remaining > 0)
        --*remaining;
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GError) error = NULL;
  gint remaining = -1;
  gint port = 0;
  gboolean activated;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port when not socket-activated", "N" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &remaining, "Exit after N fortunes", "N" },
    { NULL }
  };

  options = g_option_context_new ("- serve fortunes on a socket from systemd");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || port < 0 || port > 65535)
    {
      g_printerr ("%s\n", error ? error->message : "The port must be between 0 and 65535");
      return 2;
    }

  server = tcp_server_new ();
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (pending_connection_available_cb), &remaining);

  /* The first TCP socket systemd passed, checked as set_socket_descriptor()
   * checks it: a UDP socket, or one that is not listening, fails with a
   * clear message. NOT_FOUND means none was passed. */
  activated = tcp_server_listen_activated (server, NULL, &error);
  if (!activated && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_printerr ("Unable to use the socket from systemd: %s\n", error->message);
      return 1;
    }
  g_clear_error (&error);

  if (!activated && !tcp_server_listen_on (server, "127.0.0.1", port, &error))
    {
      g_printerr ("Unable to start the server: %s\n", error->message);
      return 1;
    }

  g_print ("Serving fortunes on port %u (%s).\n", tcp_server_get_server_port (server),
           activated ? "socket from systemd" : "socket of our own");

  while (remaining != 0)
    g_main_context_iteration (NULL, TRUE);

  return 0;
}

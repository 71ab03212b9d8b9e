/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tls-fortune-server.c: the fortune server over TLS, with TcpTlsServer
 *
 * Copyright 2026 The libtcp authors
 *
 * Listens on 127.0.0.1 and sends every client that completes a TLS handshake
 * a random fortune, then closes the connection. Clients that fail their
 * handshake (plaintext, silent for longer than the timeout, bad certificate)
 * are reported and dropped.
 *
 *   tls-fortune-server --cert FILE --key FILE [--port N] [--count N]
 *                      [--port-file FILE] [--handshake-timeout MS]
 */

#include <stdio.h>
#include <string.h>

#include <tcp.h>

static const gchar * const fortunes[] = {
  "You've been leading a dog's life. Stay off the furniture.",
  "You've got to think about tomorrow.",
  "You will be surprised by a loud noise.",
  "You will feel hungry again in another hour.",
  "You might have mail.",
  "You cannot kill time without injuring eternity.",
  "Computers are not intelligent. They only think they are.",
};

typedef struct
{
  GMainLoop *loop;
  gint       remaining;   /* connections left to serve; -1 = forever */
} FortuneServer;

static void
send_fortune (GIOStream *connection)
{
  const gchar *fortune = fortunes[g_random_int_range (0, G_N_ELEMENTS (fortunes))];
  g_autofree gchar *line = g_strconcat (fortune, "\n", NULL);
  GOutputStream *out = g_io_stream_get_output_stream (connection);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &error))
    g_printerr ("Could not send the fortune: %s\n", error->message);
  /* Closing a TLS connection sends close_notify before closing the socket. */
  g_io_stream_close (connection, NULL, NULL);
}

/* Emitted once a connection has completed its handshake: new-connection
 * comes earlier, when the TCP connection is accepted, with nothing to take
 * yet. */
static void
pending_connection_available_cb (TcpServer     *server,
                                 FortuneServer *fortune)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      send_fortune (connection);
      g_object_unref (connection);

      if (fortune->remaining > 0 && --fortune->remaining == 0)
        g_main_loop_quit (fortune->loop);
    }
}

static void
handshake_failed_cb (TcpTlsServer *server,
                     GIOStream    *connection,
                     const GError *error,
                     gpointer      user_data)
{
  g_printerr ("Dropped a client: %s\n", error->message);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(TcpTlsServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port_file = NULL;
  g_autofree gchar *cert_file = NULL;
  g_autofree gchar *key_file = NULL;
  FortuneServer fortune = { NULL, -1 };
  gint port = 0;
  gint timeout = 5000;
  GOptionEntry entries[] = {
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert_file, "PEM certificate", "FILE" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key_file, "PEM private key", "FILE" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port to listen on (0: any free port)", "N" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &fortune.remaining, "Exit after N fortunes", "N" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "Write the port to FILE", "FILE" },
    { "handshake-timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      "Drop clients whose handshake takes longer (ms)", "MS" },
    { NULL }
  };

  context = g_option_context_new ("- serve fortunes over TLS");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (cert_file == NULL || key_file == NULL || port < 0 || port > 65535 || timeout < 0)
    {
      g_printerr ("Usage: %s --cert FILE --key FILE [--port N] [--count N]\n", argv[0]);
      return 2;
    }

  server = tcp_tls_server_new_from_files (cert_file, key_file, &error);
  if (server == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  tcp_tls_server_set_handshake_timeout (server, (guint) timeout);

  loop = g_main_loop_new (NULL, FALSE);
  fortune.loop = loop;
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (pending_connection_available_cb), &fortune);
  g_signal_connect (server, "handshake-failed", G_CALLBACK (handshake_failed_cb), NULL);

  if (!tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", port, &error))
    {
      g_printerr ("Unable to start the server: %s\n", error->message);
      return 1;
    }

  g_print ("The TLS server is running on 127.0.0.1 port %u.\n",
           tcp_server_get_server_port (TCP_SERVER (server)));
  if (port_file != NULL)
    {
      g_autofree gchar *text = g_strdup_printf ("%u\n",
                                                tcp_server_get_server_port (TCP_SERVER (server)));

      if (!g_file_set_contents (port_file, text, -1, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  g_main_loop_run (loop);
  return 0;
}

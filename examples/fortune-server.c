/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fortune-server.c: Qt's Fortune Server example on libtcp
 *
 * Copyright 2026 The libtcp authors
 *
 * Listens on 127.0.0.1 and sends every client a random fortune, then closes
 * the connection.
 *
 *   fortune-server [--port N] [--count N] [--port-file FILE]
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
  g_io_stream_close (connection, NULL, NULL);
}

/* Emitted each time a connection is queued. Draining here rather than on
 * new-connection works the same for a TcpTlsServer, whose connections are
 * queued only once their handshake completes. */
static void
serve_cb (TcpServer     *server,
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

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port_file = NULL;
  FortuneServer fortune = { NULL, -1 };
  gint port = 0;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port to listen on (0: any free port)", "N" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &fortune.remaining, "Exit after N fortunes", "N" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "Write the port to FILE", "FILE" },
    { NULL }
  };

  context = g_option_context_new ("- serve fortunes over TCP");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || port < 0 || port > 65535)
    {
      g_printerr ("%s\n", error ? error->message : "The port must be between 0 and 65535");
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  fortune.loop = loop;
  server = tcp_server_new ();
  g_signal_connect (server, "pending-connection-available", G_CALLBACK (serve_cb), &fortune);

  if (!tcp_server_listen_on (server, "127.0.0.1", port, &error))
    {
      g_printerr ("Unable to start the server: %s\n", error->message);
      return 1;
    }

  g_print ("The server is running on 127.0.0.1 port %u.\n", tcp_server_get_server_port (server));
  if (port_file != NULL)
    {
      g_autofree gchar *text = g_strdup_printf ("%u\n", tcp_server_get_server_port (server));

      if (!g_file_set_contents (port_file, text, -1, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  g_main_loop_run (loop);
  return 0;
}

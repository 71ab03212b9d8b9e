/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* threaded-fortune-server.c: Qt's Threaded Fortune Server example on libtcp
 *
 * Copyright 2026 The libtcp authors
 *
 * incoming_connection is overridden: every accepted socket goes straight to
 * a worker thread, which sends a fortune and closes. Nothing is queued.
 *
 *   threaded-fortune-server [--port N] [--count N] [--port-file FILE]
 */

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

#define FORTUNE_TYPE_SERVER (fortune_server_get_type ())
G_DECLARE_FINAL_TYPE (FortuneServer, fortune_server, FORTUNE, SERVER, TcpServer)

struct _FortuneServer
{
  TcpServer  parent_instance;
  GMainLoop *loop;
  gint       remaining;   /* connections left to serve; -1 = forever */
};

G_DEFINE_FINAL_TYPE (FortuneServer, fortune_server, TCP_TYPE_SERVER)

/* Back on the main thread: count what was served. */
static gboolean
served_cb (gpointer user_data)
{
  FortuneServer *self = user_data;

  if (self->remaining > 0 && --self->remaining == 0)
    g_main_loop_quit (self->loop);

  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* What a worker thread needs; it owns both references. */
typedef struct
{
  FortuneServer *server;
  GSocket       *socket;
} Job;

/* Runs in a worker thread: a blocking stream over the socket, used from
 * this thread only. */
static gpointer
serve_thread (gpointer data)
{
  Job *job = data;
  g_autoptr(GSocketConnection) connection = g_socket_connection_factory_create_connection (job->socket);
  const gchar *fortune = fortunes[g_random_int_range (0, G_N_ELEMENTS (fortunes))];
  g_autofree gchar *line = g_strconcat (fortune, "\n", NULL);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &error))
    g_printerr ("Could not send the fortune: %s\n", error->message);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  /* served_cb drops the server reference on the main thread. */
  g_main_context_invoke (NULL, served_cb, job->server);
  g_object_unref (job->socket);
  g_free (job);
  return NULL;
}

static void
fortune_server_incoming_connection (TcpServer *server,
                                    GSocket   *socket)
{
  Job *job = g_new0 (Job, 1);

  job->server = g_object_ref (FORTUNE_SERVER (server));
  job->socket = g_object_ref (socket);
  g_thread_unref (g_thread_new ("fortune", serve_thread, job));
}

static void
fortune_server_class_init (FortuneServerClass *klass)
{
  TCP_SERVER_CLASS (klass)->incoming_connection = fortune_server_incoming_connection;
}

static void
fortune_server_init (FortuneServer *self)
{
  self->remaining = -1;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(FortuneServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *port_file = NULL;
  gint count = -1;
  gint port = 0;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Port to listen on (0: any free port)", "N" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &count, "Exit after N fortunes", "N" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "Write the port to FILE", "FILE" },
    { NULL }
  };

  context = g_option_context_new ("- serve fortunes over TCP, one thread each");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || port < 0 || port > 65535)
    {
      g_printerr ("%s\n", error ? error->message : "The port must be between 0 and 65535");
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  server = g_object_new (FORTUNE_TYPE_SERVER, NULL);
  server->loop = loop;
  server->remaining = count;

  if (!tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", port, &error))
    {
      g_printerr ("Unable to start the server: %s\n", error->message);
      return 1;
    }

  port = tcp_server_get_server_port (TCP_SERVER (server));
  g_print ("The server is running on 127.0.0.1 port %d.\n", port);
  if (port_file != NULL)
    {
      g_autofree gchar *text = g_strdup_printf ("%d\n", port);

      if (!g_file_set_contents (port_file, text, -1, &error))
        {
          g_printerr ("%s\n", error->message);
          return 1;
        }
    }

  g_main_loop_run (loop);
  tcp_server_close (TCP_SERVER (server));
  return 0;
}

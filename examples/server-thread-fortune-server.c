/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* server-thread-fortune-server.c: a server thread of its own, and a worker pool
 *
 * Copyright 2026 The libtcp authors
 *
 * The server listens and accepts in a thread of its own, on a main context of
 * its own. Every connection it accepts goes to a pool of worker threads, which
 * send the fortune with blocking writes: a slow client holds up one worker,
 * never the accept loop.
 *
 *   server-thread-fortune-server [--port N] [--count N] [--threads N] [--port-file FILE]
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

typedef struct
{
  /* Set up by main() before the threads start, read-only afterwards. */
  GMainContext *context;      /* the server thread's context */
  GMainLoop    *loop;         /* runs on context */
  GThreadPool  *workers;
  gint          port;
  gint          count;        /* fortunes to serve before exiting; -1: forever */
  gchar        *port_file;

  /* Used in the server thread only. */
  TcpServer    *server;
  GError       *error;        /* why the server could not start */

  /* Shared by the workers. */
  gint          served;       /* atomic */
} FortuneServer;

/* Runs in the server thread, by way of g_main_context_invoke(). */
static gboolean
stop_cb (gpointer user_data)
{
  FortuneServer *fortune = user_data;

  tcp_server_close (fortune->server);
  g_main_loop_quit (fortune->loop);
  return G_SOURCE_REMOVE;
}

/* Runs in a worker thread, which owns @data, a connection, from now on. */
static void
send_fortune_cb (gpointer data,
                 gpointer user_data)
{
  g_autoptr(GIOStream) connection = data;
  FortuneServer *fortune = user_data;
  const gchar *text = fortunes[g_random_int_range (0, G_N_ELEMENTS (fortunes))];
  g_autofree gchar *line = g_strconcat (text, "\n", NULL);
  GOutputStream *out = g_io_stream_get_output_stream (connection);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &error))
    g_printerr ("Could not send the fortune: %s\n", error->message);
  g_io_stream_close (connection, NULL, NULL);

  /* The server belongs to the server thread: ask that thread to stop it. */
  if (g_atomic_int_add (&fortune->served, 1) + 1 == fortune->count)
    g_main_context_invoke (fortune->context, stop_cb, fortune);
}

/* Runs in the server thread: its context was the thread-default one when
 * tcp_server_listen_on() was called, so every signal arrives there. */
static void
pending_connection_available_cb (TcpServer     *server,
                                 FortuneServer *fortune)
{
  GIOStream *connection;

  g_assert (g_main_context_is_owner (fortune->context));

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    g_thread_pool_push (fortune->workers, connection, NULL);
}

static gboolean
report_port (FortuneServer  *fortune,
             GError        **error)
{
  guint port = tcp_server_get_server_port (fortune->server);
  g_autofree gchar *text = g_strdup_printf ("%u\n", port);

  g_print ("The server is running on 127.0.0.1 port %u.\n", port);
  return fortune->port_file == NULL ||
         g_file_set_contents (fortune->port_file, text, -1, error);
}

static gpointer
server_thread (gpointer data)
{
  FortuneServer *fortune = data;

  /* Everything the server attaches from here on goes to fortune->context. */
  g_main_context_push_thread_default (fortune->context);

  fortune->server = tcp_server_new ();
  g_signal_connect (fortune->server, "pending-connection-available",
                    G_CALLBACK (pending_connection_available_cb), fortune);

  if (tcp_server_listen_on (fortune->server, "127.0.0.1", fortune->port, &fortune->error) &&
      report_port (fortune, &fortune->error))
    g_main_loop_run (fortune->loop);

  g_clear_object (&fortune->server);
  g_main_context_pop_thread_default (fortune->context);
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) options = NULL;
  g_autoptr(GError) error = NULL;
  FortuneServer fortune = { .count = -1 };
  gint n_threads = 4;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_INT, &fortune.port, "Port to listen on (0: any free port)", "N" },
    { "count", 'c', 0, G_OPTION_ARG_INT, &fortune.count, "Exit after N fortunes", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &n_threads, "Worker threads (default: 4)", "N" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &fortune.port_file, "Write the port to FILE", "FILE" },
    { NULL }
  };
  GThread *thread;
  int status = 0;

  options = g_option_context_new ("- serve fortunes over TCP from a thread pool");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) ||
      fortune.port < 0 || fortune.port > 65535 || n_threads < 1)
    {
      g_printerr ("%s\n", error ? error->message
                                : "The port must be between 0 and 65535, the threads at least 1");
      return 2;
    }

  fortune.workers = g_thread_pool_new (send_fortune_cb, &fortune, n_threads, FALSE, NULL);
  fortune.context = g_main_context_new ();
  fortune.loop = g_main_loop_new (fortune.context, FALSE);

  thread = g_thread_new ("fortune-server", server_thread, &fortune);
  g_thread_join (thread);

  /* Lets the workers finish the connections they hold. */
  g_thread_pool_free (fortune.workers, FALSE, TRUE);

  if (fortune.error != NULL)
    {
      g_printerr ("Unable to start the server: %s\n", fortune.error->message);
      g_clear_error (&fortune.error);
      status = 1;
    }

  g_main_loop_unref (fortune.loop);
  g_main_context_unref (fortune.context);
  g_free (fortune.port_file);
  return status;
}

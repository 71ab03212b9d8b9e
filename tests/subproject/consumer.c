/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* consumer.c: a program built against libtcp as a meson subproject
 *
 * Copyright 2026 The libtcp authors
 *
 * Serves one line to itself over 127.0.0.1 and checks it arrived.
 */

#include <string.h>

#include <tcp.h>

#define LINE "Served by a subproject\n"

static void
serve_cb (TcpServer *server,
          gpointer   user_data)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      g_output_stream_write_all (g_io_stream_get_output_stream (connection),
                                 LINE, strlen (LINE), NULL, NULL, NULL);
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);
    }
}

typedef struct
{
  GMainLoop *loop;
  guint16    port;
  gchar     *received;
} Check;

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

/* A blocking client in a thread of its own; the main loop serves it. */
static gpointer
client_thread (gpointer data)
{
  Check *check = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gchar buffer[64] = { 0 };
  gsize n = 0;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", check->port, NULL, &error);
  if (connection == NULL ||
      !g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                buffer, sizeof buffer - 1, &n, NULL, &error))
    g_error ("The client failed: %s", error->message);

  check->received = g_strndup (buffer, n);
  g_idle_add (quit_cb, check->loop);
  return NULL;
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("No line within 10 s");
  return G_SOURCE_REMOVE;
}

int
main (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  Check check = { loop, 0, NULL };
  GThread *client;
  gboolean ok;

  g_signal_connect (server, "pending-connection-available", G_CALLBACK (serve_cb), NULL);
  if (!tcp_server_listen_on (server, "127.0.0.1", 0, &error))
    g_error ("%s", error->message);

  check.port = tcp_server_get_server_port (server);
  g_timeout_add_seconds (10, timeout_cb, NULL);
  client = g_thread_new ("client", client_thread, &check);
  g_main_loop_run (loop);
  g_thread_join (client);

  g_print ("libtcp %s from a subproject: %s", TCP_VERSION_S, check.received);
  ok = g_strcmp0 (check.received, LINE) == 0;
  g_free (check.received);
  return ok ? 0 : 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loopback.c: Qt's Loopback example on libtcp
 *
 * Copyright 2026 The libtcp authors
 *
 * A server and a client in one process: the client sends a few MiB to the
 * server over 127.0.0.1, both print their progress, all on one main loop.
 *
 *   loopback [--bytes N]
 */

#include <string.h>

#include <tcp.h>

#define CHUNK         (64 * 1024)
#define PROGRESS_STEP (1024 * 1024)

typedef struct
{
  GMainLoop         *loop;
  guint64            total;
  guint64            sent;
  guint64            received;
  guint              running;      /* sides not finished yet */
  gboolean           failed;
  GIOStream         *server_side;
  GSocketConnection *client_side;
  guint8             chunk[CHUNK];
  guint8             buffer[CHUNK];
} Loopback;

static void write_more (Loopback *self);
static void read_more (Loopback *self);

static gboolean
crossed_step (guint64 before,
              guint64 after)
{
  return before / PROGRESS_STEP != after / PROGRESS_STEP;
}

static void
side_done (Loopback     *self,
           const GError *error)
{
  if (error != NULL)
    {
      g_printerr ("Loopback failed: %s\n", error->message);
      self->failed = TRUE;
      g_main_loop_quit (self->loop);
      return;
    }

  if (--self->running == 0)
    g_main_loop_quit (self->loop);
}

/* The server side: read until end-of-file. */

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Loopback *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  guint64 before = self->received;

  if (n < 0)
    {
      side_done (self, error);
      return;
    }

  if (n == 0)
    {
      g_print ("Server received %" G_GUINT64_FORMAT " bytes\n", self->received);
      g_io_stream_close (self->server_side, NULL, NULL);
      side_done (self, NULL);
      return;
    }

  self->received += n;
  if (crossed_step (before, self->received))
    g_print ("Server received %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes\n",
             self->received, self->total);
  read_more (self);
}

static void
read_more (Loopback *self)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (self->server_side),
                             self->buffer, sizeof self->buffer, G_PRIORITY_DEFAULT,
                             NULL, read_cb, self);
}

static void
accept_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Loopback *self = user_data;
  g_autoptr(GError) error = NULL;

  self->server_side = tcp_server_accept_finish (TCP_SERVER (source), result, &error);
  if (self->server_side == NULL)
    {
      side_done (self, error);
      return;
    }

  read_more (self);
}

/* The client side: write the whole amount, then close. */

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Loopback *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_output_stream_write_finish (G_OUTPUT_STREAM (source), result, &error);
  guint64 before = self->sent;

  if (n < 0)
    {
      side_done (self, error);
      return;
    }

  self->sent += n;
  if (crossed_step (before, self->sent))
    g_print ("Client sent %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes\n",
             self->sent, self->total);
  write_more (self);
}

static void
write_more (Loopback *self)
{
  guint64 left = self->total - self->sent;

  if (left == 0)
    {
      g_print ("Client sent %" G_GUINT64_FORMAT " bytes\n", self->sent);
      g_io_stream_close (G_IO_STREAM (self->client_side), NULL, NULL);
      side_done (self, NULL);
      return;
    }

  g_output_stream_write_async (g_io_stream_get_output_stream (G_IO_STREAM (self->client_side)),
                               self->chunk, MIN (left, sizeof self->chunk),
                               G_PRIORITY_DEFAULT, NULL, write_cb, self);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Loopback *self = user_data;
  g_autoptr(GError) error = NULL;

  self->client_side = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                              result, &error);
  if (self->client_side == NULL)
    {
      side_done (self, error);
      return;
    }

  write_more (self);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree Loopback *self = g_new0 (Loopback, 1);
  gint64 total = 4 * 1024 * 1024;
  GOptionEntry entries[] = {
    { "bytes", 'b', 0, G_OPTION_ARG_INT64, &total, "How many bytes to send (default 4 MiB)", "N" },
    { NULL }
  };

  context = g_option_context_new ("- move bytes through a loopback connection");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || total < 0)
    {
      g_printerr ("%s\n", error ? error->message : "The byte count must not be negative");
      return 2;
    }

  self->loop = g_main_loop_new (NULL, FALSE);
  self->total = total;
  self->running = 2;
  memset (self->chunk, 'x', sizeof self->chunk);

  server = tcp_server_new ();
  if (!tcp_server_listen_on (server, "127.0.0.1", 0, &error))
    {
      g_printerr ("Loopback failed: %s\n", error->message);
      return 1;
    }
  g_print ("Server listening on 127.0.0.1 port %u\n", tcp_server_get_server_port (server));

  tcp_server_accept_async (server, NULL, accept_cb, self);
  client = g_socket_client_new ();
  g_socket_client_connect_to_host_async (client, "127.0.0.1",
                                         tcp_server_get_server_port (server),
                                         NULL, connect_cb, self);
  g_main_loop_run (self->loop);

  tcp_server_close (server);
  g_clear_object (&self->server_side);
  g_clear_object (&self->client_side);
  g_main_loop_unref (self->loop);
  return self->failed ? 1 : 0;
}

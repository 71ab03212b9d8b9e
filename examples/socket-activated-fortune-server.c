/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* socket-activated-fortune-server.c: the fortune server, started by systemd
 *
 * Copyright 2026 The libtcp authors
 *
 * Under systemd socket activation the listening socket is already open when
 * the program starts: it is file descriptor 3, and the environment says so
 * with LISTEN_PID (our process ID) and LISTEN_FDS (how many sockets, from 3
 * on). The server adopts it with tcp_server_set_socket_descriptor(). Started
 * by hand, with no socket passed, it listens on 127.0.0.1 by itself.
 *
 *   socket-activated-fortune-server [--port N] [--count N]
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tcp.h>

/* The first descriptor systemd passes; sd_listen_fds(3) calls it
 * SD_LISTEN_FDS_START. */
#define LISTEN_FDS_START 3

/* Returns how many sockets were passed (0 when none), without libsystemd.
 * Like sd_listen_fds (TRUE), it clears the variables so that child
 * processes do not think the sockets are theirs. */
static gint
listen_fds (GError **error)
{
  const gchar *pid_text = g_getenv ("LISTEN_PID");
  const gchar *fds_text = g_getenv ("LISTEN_FDS");
  guint64 pid, n_fds;
  gint result = -1;

  if (pid_text == NULL || fds_text == NULL)
    result = 0;
  else if (!g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "LISTEN_PID=%s is not a process ID", pid_text);
  else if (pid != (guint64) getpid ())
    result = 0;   /* meant for another process, our parent maybe */
  else if (!g_ascii_string_to_unsigned (fds_text, 10, 0, G_MAXINT - LISTEN_FDS_START,
                                        &n_fds, NULL))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "LISTEN_FDS=%s is not a number of sockets", fds_text);
  else
    result = (gint) n_fds;

  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  return result;
}

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
  gint n_fds;
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

  n_fds = listen_fds (&error);
  if (n_fds < 0)
    {
      g_printerr ("Bad socket activation environment: %s\n", error->message);
      return 1;
    }
  if (n_fds > 1)
    {
      g_printerr ("Expected one socket from systemd, got %d\n", n_fds);
      return 1;
    }

  if (n_fds == 1)
    {
      /* The server validates the descriptor: a UDP socket, or one that is
       * not listening, fails here with a clear message. */
      if (!tcp_server_set_socket_descriptor (server, LISTEN_FDS_START, &error))
        {
          g_printerr ("Unable to use the socket from systemd: %s\n", error->message);
          return 1;
        }
    }
  else if (!tcp_server_listen_on (server, "127.0.0.1", port, &error))
    {
      g_printerr ("Unable to start the server: %s\n", error->message);
      return 1;
    }

  g_print ("Serving fortunes on port %u (%s).\n", tcp_server_get_server_port (server),
           n_fds == 1 ? "socket from systemd" : "socket of our own");

  while (remaining != 0)
    g_main_context_iteration (NULL, TRUE);

  return 0;
}

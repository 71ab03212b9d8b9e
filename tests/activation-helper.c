/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* activation-helper.c: a socket-activated process, for test-activation
 *
 * Copyright 2026 The libtcp authors
 *
 * Started by test-activation with descriptors from 3 on and the LISTEN_*
 * variables systemd would set. For each argument it makes a TcpServer and
 * calls listen_activated() with that name ("-" for NULL), printing one line:
 *
 *   NAME ok PORT
 *   NAME error CODE MESSAGE
 *
 * then "env LISTEN_FDS LISTEN_FDNAMES" (to show they were left alone) and
 * "ready". Then each listening server, in order, takes one connection and
 * writes its NAME to it.
 */

#include <stdio.h>
#include <string.h>

#include <tcp.h>

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) servers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(TcpServer) server = tcp_server_new ();
      g_autoptr(GError) error = NULL;
      const gchar *name = g_strcmp0 (argv[i], "-") == 0 ? NULL : argv[i];

      if (tcp_server_listen_activated (server, name, &error))
        {
          printf ("%s ok %u\n", argv[i], tcp_server_get_server_port (server));
          g_ptr_array_add (servers, g_steal_pointer (&server));
          g_ptr_array_add (names, argv[i]);
        }
      else
        {
          printf ("%s error %d %s\n", argv[i], error->code, error->message);
        }
    }

  printf ("env %s %s\n", g_getenv ("LISTEN_FDS"), g_getenv ("LISTEN_FDNAMES"));
  printf ("ready\n");
  fflush (stdout);

  for (guint i = 0; i < servers->len; i++)
    {
      TcpServer *server = g_ptr_array_index (servers, i);
      g_autoptr(GIOStream) connection = NULL;
      g_autoptr(GError) error = NULL;
      const gchar *name = g_ptr_array_index (names, i);

      if (!tcp_server_wait_for_new_connection (server, 10000, NULL, &error))
        g_error ("%s: %s", name, error->message);
      connection = tcp_server_next_pending_connection (server);
      g_output_stream_write_all (g_io_stream_get_output_stream (connection), name,
                                 strlen (name), NULL, NULL, NULL);
      g_io_stream_close (connection, NULL, NULL);
    }

  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-consumer.c: a library whose API uses libtcp's types, so that its GIR
 * includes Tcp-1
 *
 * Copyright 2026 The libtcp authors
 */

#include "tcp-consumer.h"

/**
 * tcp_consumer_new_loopback_server:
 * @error: return location for a #GError
 *
 * Makes a server listening on 127.0.0.1, on a port the system picks.
 *
 * Returns: (transfer full) (nullable): the listening server, or %NULL
 */
TcpServer *
tcp_consumer_new_loopback_server (GError **error)
{
  g_autoptr(TcpServer) server = tcp_server_new ();

  if (!tcp_server_listen_on (server, "127.0.0.1", 0, error))
    return NULL;
  return g_steal_pointer (&server);
}

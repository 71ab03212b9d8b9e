/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-listener-private.h: listening on kernel sockets
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include "tcp-listener-private.h"

G_BEGIN_DECLS

#define TCP_TYPE_SOCKET_LISTENER (tcp_socket_listener_get_type ())

G_DECLARE_FINAL_TYPE (TcpSocketListener, tcp_socket_listener, TCP, SOCKET_LISTENER, TcpListener)

/* Where to bind, and how. */
typedef struct
{
  GInetAddress *address;      /* NULL: any, dual-stack */
  guint32       scope_id;     /* a link-local address's interface, or 0 */
  gint          backlog;
  gboolean      reuse_port;
} TcpBindOptions;

TcpListener *tcp_socket_listener_new_bound     (const TcpBindOptions  *bind,
                                                guint16                port,
                                                GError               **error);
TcpListener *tcp_socket_listener_new_range     (const TcpBindOptions  *bind,
                                                guint16                first_port,
                                                guint16                last_port,
                                                GError               **error);
TcpListener *tcp_socket_listener_new_localhost (const TcpBindOptions  *bind,
                                                guint16                port,
                                                GError               **error);
TcpListener *tcp_socket_listener_new_adopted   (gint                   fd,
                                                GError               **error);
TcpListener *tcp_socket_listener_new_activated (const gchar           *name,
                                                GError               **error);

G_END_DECLS

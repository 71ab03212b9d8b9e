/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accepted-socket-private.h: a GSocket for a socket fresh from accept4()
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <gio/gio.h>

#include "tcp-connection-tracker-private.h"

G_BEGIN_DECLS

#define TCP_TYPE_ACCEPTED_SOCKET (tcp_accepted_socket_get_type ())

G_DECLARE_FINAL_TYPE (TcpAcceptedSocket, tcp_accepted_socket, TCP, ACCEPTED_SOCKET, GSocket)

/* The two per-connection options a server decides, as a descriptor has them. */
typedef struct
{
  gboolean no_delay;    /* TCP_NODELAY */
  gboolean keepalive;   /* SO_KEEPALIVE */
} TcpSocketOptions;

gboolean  tcp_accepted_socket_is_supported      (void);
gboolean  tcp_accepted_socket_gsocket_sets_no_delay (void);
GSocket  *tcp_accepted_socket_new               (gint                     fd,
                                                 GSocketFamily            family,
                                                 const TcpSocketOptions  *options,
                                                 GError                 **error);
TcpTrackedRecord *tcp_accepted_socket_get_record (TcpAcceptedSocket     *self);
TcpTrackedRecord *tcp_accepted_socket_record_of  (GSocket               *socket);

G_END_DECLS

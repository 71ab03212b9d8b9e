/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accepted-socket-private.h: a GSocket for a socket fresh from accept4()
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TCP_TYPE_ACCEPTED_SOCKET (tcp_accepted_socket_get_type ())

G_DECLARE_FINAL_TYPE (TcpAcceptedSocket, tcp_accepted_socket, TCP, ACCEPTED_SOCKET, GSocket)

gboolean  tcp_accepted_socket_is_supported (void);
GSocket  *tcp_accepted_socket_new          (gint            fd,
                                            GSocketFamily   family,
                                            gboolean        keepalive,
                                            GError        **error);

G_END_DECLS

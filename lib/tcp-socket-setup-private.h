/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-setup-private.h: creating, validating and wrapping sockets
 *
 * Copyright 2026 The libtcp authors
 *
 * Everything here is plain socket plumbing: no signals, no server state.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GSocket *tcp_socket_open_listener  (GInetAddress  *address,
                                    guint16        port,
                                    gint           backlog,
                                    gboolean       reuse_port,
                                    GError       **error);
GSocket *tcp_socket_adopt_listener (gint           fd,
                                    GError       **error);
GSocket *tcp_socket_wrap_accepted_from (GSocket   *listener,
                                        gint       fd,
                                        GError   **error);
gchar   *tcp_socket_describe       (GInetAddress  *address,
                                    guint16        port);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-setup-private.h: creating, validating and wrapping sockets
 *
 * Copyright 2026 The libtcp authors
 *
 * Everything here is plain socket plumbing: no signals, no server state.
 */

#pragma once

#include <gio/gio.h>

#include "tcp-accepted-socket-private.h"

G_BEGIN_DECLS

GSocket      *tcp_socket_open_listener        (GInetAddress            *address,
                                               guint32                  scope_id,
                                               guint16                  port,
                                               gint                     backlog,
                                               gboolean                 reuse_port,
                                               GError                 **error);
gboolean      tcp_socket_open_localhost       (guint16                  port,
                                               gint                     backlog,
                                               gboolean                 reuse_port,
                                               GSocket                **v4,
                                               GSocket                **v6,
                                               GError                 **error);
GSocket      *tcp_socket_adopt_listener       (gint                     fd,
                                               GError                 **error);
gboolean      tcp_socket_is_listening_tcp     (gint                     fd);
GArray       *tcp_socket_get_activated_fds    (GStrv                   *names,
                                               GError                 **error);
GInetAddress *tcp_socket_parse_address        (const gchar             *host,
                                               guint32                 *scope_id);
guint         tcp_socket_set_listener_options (GSocket                 *listener,
                                               const TcpSocketOptions  *options);
void          tcp_socket_set_options          (GSocket                 *socket,
                                               const TcpSocketOptions  *options);
GSocket      *tcp_socket_wrap_accepted        (gint                     fd,
                                               GSocketFamily            family,
                                               const TcpSocketOptions  *wanted,
                                               const TcpSocketOptions  *inherited,
                                               GError                 **error);
gchar        *tcp_socket_describe             (GInetAddress            *address,
                                               guint16                  port);

G_END_DECLS

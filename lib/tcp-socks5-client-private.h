/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-client-private.h: a non-blocking SOCKS5 BIND exchange
 *
 * Copyright 2026 The libtcp authors
 *
 * The client owns one control connection to a SOCKS5 proxy and drives it on
 * a GMainContext, never blocking: it resolves the proxy's host, connects,
 * offers no authentication (and RFC 1929 username/password when the URI
 * carries credentials), sends a BIND request, and reports the two replies.
 * It knows nothing about TcpServer: @bound gets the proxy-side address
 * peers must dial, @connected gets the control socket once a peer has
 * connected (it now carries the peer's bytes and belongs to the callee),
 * and @failed gets every error. Exactly one of @connected and @failed ends
 * an exchange, unless the owner stops it first; after tcp_socks5_client_stop()
 * no callback runs. Callbacks may stop and unref the client.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef void (*TcpSocks5BoundFunc)     (GInetAddress *address,
                                        guint16       port,
                                        gpointer      user_data);
typedef void (*TcpSocks5ConnectedFunc) (GSocket      *socket,
                                        gpointer      user_data);
typedef void (*TcpSocks5FailedFunc)    (const GError *error,
                                        gpointer      user_data);

typedef struct _TcpSocks5Client TcpSocks5Client;

TcpSocks5Client *tcp_socks5_client_new      (const gchar             *uri,
                                             GError                 **error);
TcpSocks5Client *tcp_socks5_client_ref      (TcpSocks5Client         *self);
void             tcp_socks5_client_unref    (TcpSocks5Client         *self);
void             tcp_socks5_client_bind     (TcpSocks5Client         *self,
                                             GInetAddress            *address,
                                             guint16                  port,
                                             guint                    timeout_ms,
                                             GMainContext            *context,
                                             TcpSocks5BoundFunc       bound,
                                             TcpSocks5ConnectedFunc   connected,
                                             TcpSocks5FailedFunc      failed,
                                             gpointer                 user_data);
void             tcp_socks5_client_stop     (TcpSocks5Client         *self);
gboolean         tcp_socks5_client_wait     (TcpSocks5Client         *self,
                                             gint64                   timeout_us);
GSource         *tcp_socks5_client_create_wake_source (TcpSocks5Client *self);
void             tcp_socks5_client_set_held (TcpSocks5Client         *self,
                                             gboolean                 held);
void             tcp_socks5_client_set_context (TcpSocks5Client      *self,
                                                GMainContext         *context);
const gchar     *tcp_socks5_client_get_name (TcpSocks5Client         *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TcpSocks5Client, tcp_socks5_client_unref)

G_END_DECLS

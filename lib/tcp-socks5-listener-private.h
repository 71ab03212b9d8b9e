/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-listener-private.h: listening through a SOCKS5 proxy's BIND
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include "tcp-listener-private.h"

G_BEGIN_DECLS

#define TCP_TYPE_SOCKS5_LISTENER (tcp_socks5_listener_get_type ())

G_DECLARE_FINAL_TYPE (TcpSocks5Listener, tcp_socks5_listener, TCP, SOCKS5_LISTENER, TcpListener)

TcpListener *tcp_socks5_listener_new (const gchar   *uri,
                                      GInetAddress  *address,
                                      guint16        port,
                                      guint          timeout_ms,
                                      GError       **error);

G_END_DECLS

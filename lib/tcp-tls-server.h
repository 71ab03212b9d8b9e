/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-server.h: a TLS server, Qt's QSslServer the GIO way
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#if !defined(TCP_INSIDE) && !defined(TCP_COMPILATION)
# error "Only <tcp.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tcp-server.h"
#include "tcp-version-macros.h"

G_BEGIN_DECLS

#define TCP_TYPE_TLS_SERVER (tcp_tls_server_get_type ())

TCP_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (TcpTlsServer, tcp_tls_server, TCP, TLS_SERVER, TcpServer)

/**
 * TcpTlsServerClass:
 *
 * The class structure of [class@Tcp.TlsServer]. The type is final: to decide
 * what becomes of each connection, subclass [class@Tcp.Server] instead.
 *
 * Since: 1.0
 */

TCP_AVAILABLE_IN_ALL
TcpTlsServer           *tcp_tls_server_new                     (GTlsCertificate         *certificate);
TCP_AVAILABLE_IN_ALL
TcpTlsServer           *tcp_tls_server_new_from_files          (const gchar             *cert_file,
                                                                const gchar             *key_file,
                                                                GError                 **error);
TCP_AVAILABLE_IN_ALL
GTlsCertificate        *tcp_tls_server_load_certificate        (const gchar             *cert_file,
                                                                const gchar             *key_file,
                                                                GError                 **error);
TCP_AVAILABLE_IN_ALL
GTlsCertificate        *tcp_tls_server_get_certificate         (TcpTlsServer            *self);
TCP_AVAILABLE_IN_ALL
void                    tcp_tls_server_set_certificate         (TcpTlsServer            *self,
                                                                GTlsCertificate         *certificate);
TCP_AVAILABLE_IN_ALL
GTlsAuthenticationMode  tcp_tls_server_get_authentication_mode (TcpTlsServer            *self);
TCP_AVAILABLE_IN_ALL
void                    tcp_tls_server_set_authentication_mode (TcpTlsServer            *self,
                                                                GTlsAuthenticationMode   mode);
TCP_AVAILABLE_IN_ALL
GTlsDatabase           *tcp_tls_server_get_database            (TcpTlsServer            *self);
TCP_AVAILABLE_IN_ALL
void                    tcp_tls_server_set_database            (TcpTlsServer            *self,
                                                                GTlsDatabase            *database);
TCP_AVAILABLE_IN_ALL
guint                   tcp_tls_server_get_handshake_timeout   (TcpTlsServer            *self);
TCP_AVAILABLE_IN_ALL
void                    tcp_tls_server_set_handshake_timeout   (TcpTlsServer            *self,
                                                                guint                    msec);
TCP_AVAILABLE_IN_ALL
guint                   tcp_tls_server_get_n_handshakes        (TcpTlsServer            *self);

G_END_DECLS

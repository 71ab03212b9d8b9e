/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-handshake-private.h: one TLS connection, from accept to queue
 *
 * Copyright 2026 The libtcp authors
 *
 * A handshake has two stages. First the client's first TLS record must
 * arrive whole: until then the connection costs a socket watch and a
 * timer on the server's context, no thread and no GIO handshake, and a
 * first byte that is not a TLS handshake record ends it at once. Then GIO
 * (glib-networking) runs the handshake in a worker thread, reporting on
 * the handshake context. The whole is bounded by a timeout from accept.
 *
 * The done callback ends every handshake, exactly once, and the handshake
 * is freed after it. An abandoned handshake (tcp_tls_handshake_abandon())
 * closes its connection and reports with @abandoned set: at once in its
 * first stage, its socket closed there and then; in GIO's hands, cancelled
 * and shut down at once (the peer sees the end), when GIO returns on the
 * handshake context.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _TcpTlsHandshake TcpTlsHandshake;

/* @error is %NULL on success. The handshake is freed after the call, and
 * with it its reference to the connection. */
typedef void (*TcpTlsHandshakeDone) (TcpTlsHandshake *handshake,
                                     GIOStream       *connection,
                                     const GError    *error,
                                     gboolean         abandoned,
                                     gpointer         user_data);

/* The size limit of a TLS record's payload (RFC 8446, 5.1). */
#define TCP_TLS_RECORD_MAX 16384

TcpTlsHandshake *tcp_tls_handshake_new         (GIOStream            *connection,
                                                GSocket              *socket,
                                                const gchar          *peer,
                                                guint                 timeout_ms,
                                                TcpTlsHandshakeDone   done,
                                                gpointer              user_data);
void             tcp_tls_handshake_start       (TcpTlsHandshake      *self,
                                                GMainContext         *context,
                                                GMainContext         *handshake_context);
void             tcp_tls_handshake_abandon     (TcpTlsHandshake      *self);
GList           *tcp_tls_handshake_get_link    (TcpTlsHandshake      *self);

G_END_DECLS

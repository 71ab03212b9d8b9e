/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accept-engine-private.h: the non-blocking accept loop
 *
 * Copyright 2026 The libtcp authors
 *
 * The engine owns the main-loop side of one listening descriptor: one GSource
 * that polls it, a batch of accept4() calls per wakeup, the classification of
 * each errno, and the back-off timer used when the process runs out of file
 * descriptors or memory. It deals in descriptors only: no GObject, no signal,
 * no queue. Every accepted descriptor goes to @accepted with the peer's
 * address (which accept4() gives for free), every real failure to @failed.
 */

#pragma once

#include <gio/gio.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* Takes @fd (connected, non-blocking, close-on-exec). Returns whether the
 * engine may go on accepting in this batch. */
typedef gboolean (*TcpAcceptedFunc) (gint                   fd,
                                     const struct sockaddr *peer,
                                     socklen_t              peer_len,
                                     gpointer               user_data);
typedef void     (*TcpAcceptFailedFunc) (const GError *error,
                                         gpointer      user_data);

typedef struct _TcpAcceptEngine TcpAcceptEngine;

/* Accepts handled per main-loop wakeup before yielding to other sources. */
#define TCP_ACCEPT_ENGINE_BATCH_MAX 64
/* Back-off after a failed accept: first delay and ceiling, in ms. */
#define TCP_ACCEPT_ENGINE_BACKOFF_MIN_MS 10
#define TCP_ACCEPT_ENGINE_BACKOFF_MAX_MS 1000

TcpAcceptEngine *tcp_accept_engine_new            (gint                 fd,
                                                   GMainContext        *context,
                                                   TcpAcceptedFunc      accepted,
                                                   TcpAcceptFailedFunc  failed,
                                                   gpointer             user_data);
TcpAcceptEngine *tcp_accept_engine_ref            (TcpAcceptEngine     *self);
void             tcp_accept_engine_unref          (TcpAcceptEngine     *self);
void             tcp_accept_engine_stop           (TcpAcceptEngine     *self);
void             tcp_accept_engine_set_wanted     (TcpAcceptEngine     *self,
                                                   gboolean             wanted);
guint            tcp_accept_engine_accept         (TcpAcceptEngine     *self,
                                                   guint                max);
guint            tcp_accept_engine_get_backoff_ms (TcpAcceptEngine     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TcpAcceptEngine, tcp_accept_engine_unref)

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-context-bridge-private.h: a private main context, run from another
 *
 * Copyright 2026 The libtcp authors
 *
 * A GMainContext of our own ("inner") whose sources are dispatched by a
 * source on another context ("outer"), in the outer context's thread, as
 * if they were attached to it; and which can also be run on its own, to
 * wait for just its sources. TcpTlsServer gives GIO's TLS handshakes the
 * inner context, so that their completions and accept-certificate run in
 * the server's thread as before, yet close() can wait for the handshakes it
 * cancelled without running anything else of the application's, and
 * without the server's context running ever again.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TcpContextBridge TcpContextBridge;

TcpContextBridge *tcp_context_bridge_new         (void);
void              tcp_context_bridge_free        (TcpContextBridge *self);
GMainContext     *tcp_context_bridge_get_context (TcpContextBridge *self);
void              tcp_context_bridge_attach      (TcpContextBridge *self,
                                                  GMainContext     *outer);
void              tcp_context_bridge_detach      (TcpContextBridge *self);
gboolean          tcp_context_bridge_iterate     (TcpContextBridge *self,
                                                  gint64            timeout_us);

G_END_DECLS

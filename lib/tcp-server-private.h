/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-private.h: what subclasses inside libtcp may use
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include "tcp-server.h"

G_BEGIN_DECLS

/* A slot counts toward max-pending-connections without being in the queue
 * yet (a TLS handshake in flight). Releasing one may resume accepting. */
void          _tcp_server_reserve_slot   (TcpServer    *self);
void          _tcp_server_release_slot   (TcpServer    *self);
guint         _tcp_server_get_n_reserved (TcpServer    *self);

/* The main context the server listens on (NULL when it never listened or
 * was closed). */
GMainContext *_tcp_server_get_context    (TcpServer    *self);

/* Private virtual functions of a subclass inside libtcp, set once from its
 * class_init: they belong to the class (its GType), not to instances. */
typedef struct
{
  /* Called by every way of listening before anything is opened:
   * returning FALSE with @error refuses to listen. */
  gboolean (*check_listen) (TcpServer  *self,
                            GError    **error);
  /* Called whenever the server is closed (close(), dispose), before any
   * user code runs, so that work in flight can be abandoned. */
  void     (*stopped)      (TcpServer  *self);
} TcpServerHooks;

void          _tcp_server_class_set_hooks (TcpServerClass       *klass,
                                           const TcpServerHooks *hooks);

G_END_DECLS

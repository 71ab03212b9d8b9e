/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-connection-list-private.h: the server's connections as a GListModel
 *
 * Copyright 2026 The libtcp authors
 *
 * What tcp_server_get_connections() returns: a GListModel of GIOStream
 * whose items are held by weak references, so that the model never keeps a
 * connection alive. The connection tracker adds items and marks them gone
 * under its own lock; the list only changes, and only emits items-changed,
 * in the server's thread.
 */

#pragma once

#include <gio/gio.h>


G_BEGIN_DECLS

#define TCP_TYPE_CONNECTION_LIST (tcp_connection_list_get_type ())

G_DECLARE_FINAL_TYPE (TcpConnectionList, tcp_connection_list, TCP, CONNECTION_LIST, GObject)

typedef struct _TcpListNode TcpListNode;

/* A run of removed items, for items-changed. */
typedef struct
{
  guint position;
  guint removed;
} TcpListRemoval;

/* Called once, from the list's finalize, in whatever thread drops it. */
typedef void (*TcpConnectionListGone) (gpointer           owner,
                                       TcpConnectionList *list);

TcpConnectionList *tcp_connection_list_new        (TcpConnectionListGone gone,
                                                   gpointer              owner);
TcpListNode       *tcp_connection_list_push       (TcpConnectionList *self,
                                                   GIOStream         *item);
void               tcp_list_node_mark_gone        (TcpListNode       *node);
void               tcp_connection_list_find_gone  (TcpConnectionList *self,
                                                   GArray            *removals);
void               tcp_connection_list_remove     (TcpConnectionList *self,
                                                   GArray            *removals);
void               tcp_connection_list_announce_appended (TcpConnectionList *self,
                                                          guint              n_added);

G_END_DECLS

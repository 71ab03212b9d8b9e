/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-peer-table-private.h: what the server knows about each peer address
 *
 * Copyright 2026 The libtcp authors
 *
 * A bounded table of peer IP addresses, for per-peer admission: how many
 * live connections each has, its rate-limit bucket, and the verdict of the
 * allow/deny rules for it. IPv4-mapped IPv6 addresses are the IPv4 address.
 * Plain data, no locking, no GObject: the connection tracker owns it and
 * locks around it.
 *
 * Memory is bounded: a peer with live connections is always kept (those
 * are bounded by descriptors), and at most TCP_PEER_TABLE_DEFAULT_IDLE_MAX
 * peers without one; past that the least recently seen idle peer is
 * forgotten. A forgotten peer loses only rate-limit state that is less than
 * a second old, and a cached rule verdict.
 */

#pragma once

#include <glib.h>
#include <sys/socket.h>

G_BEGIN_DECLS

#define TCP_PEER_TABLE_DEFAULT_IDLE_MAX 4096

/* An IP address as 16 bytes: IPv6 as it is, IPv4 as ::ffff:a.b.c.d. */
typedef struct
{
  guint8 bytes[16];
} TcpPeerKey;

typedef struct _TcpPeer TcpPeer;

struct _TcpPeer
{
  TcpPeerKey  key;
  guint       n_live;          /* connections accepted and not yet gone */
  gdouble     tokens;          /* rate-limit bucket */
  gint64      last_refill_us;  /* monotonic */
  guint       rules_serial;    /* of the rules the verdict was made with; 0: none */
  gint        verdict;         /* TcpPeerTableVerdict */
  GList       idle_link;       /* in the idle list while n_live == 0 */
};

typedef struct _TcpPeerTable TcpPeerTable;

gboolean      tcp_peer_key_from_sockaddr   (TcpPeerKey            *key,
                                            const struct sockaddr *address,
                                            socklen_t              length);
gboolean      tcp_peer_key_is_ipv4         (const TcpPeerKey      *key);

TcpPeerTable *tcp_peer_table_new           (void);
void          tcp_peer_table_free          (TcpPeerTable          *self);
TcpPeer      *tcp_peer_table_get           (TcpPeerTable          *self,
                                            const TcpPeerKey      *key);
void          tcp_peer_table_hold          (TcpPeerTable          *self,
                                            TcpPeer               *peer);
void          tcp_peer_table_release       (TcpPeerTable          *self,
                                            TcpPeer               *peer);
gboolean      tcp_peer_table_take_token    (TcpPeer               *peer,
                                            guint                  rate,
                                            gint64                 now_us);
void          tcp_peer_table_set_idle_max  (TcpPeerTable          *self,
                                            guint                  idle_max);
guint         tcp_peer_table_get_size      (TcpPeerTable          *self);

G_END_DECLS

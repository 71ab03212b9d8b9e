/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-connection-tracker-private.h: the connections a server has accepted
 *
 * Copyright 2026 The libtcp authors
 *
 * The tracker knows every connection its server accepted that is still
 * alive, from accept until it is closed or finalized, in whatever thread
 * that happens; it counts them (in all, per peer address), admits or
 * refuses new peers by the server's limits and rules, and keeps the list
 * of connections that reached the queue (the server's connections model).
 *
 * Each connection's record is embedded in its TcpAcceptedSocket: tracking
 * costs no allocation. Records change state under the tracker's lock;
 * changes reach the server at a flush, made in the server's thread: by the
 * server itself once an accepted connection's signals have returned, or
 * by the tracker's flush source on the server's context (woken up only by
 * changes from other threads), so that items-changed and notify are only
 * ever emitted there. A connection opened and closed between two flushes
 * never enters the model. The tracker lives as long as its server, a
 * record, or the connections model does.
 *
 *   ACCEPTED ──list()──► LISTED ──close or finalize──► GONE
 *       └──────────────close or finalize───────────────┘
 */

#pragma once

#include <gio/gio.h>

#include "tcp-peer-table-private.h"

G_BEGIN_DECLS

typedef struct _TcpConnectionTracker TcpConnectionTracker;
typedef struct _TcpConnectionList    TcpConnectionList;

typedef enum
{
  TCP_RECORD_UNTRACKED,
  TCP_RECORD_ACCEPTED,
  TCP_RECORD_LISTED,
  TCP_RECORD_GONE,
} TcpRecordState;

/* One connection, inside its TcpAcceptedSocket. Only the tracker touches
 * it, under its lock. */
typedef struct
{
  TcpConnectionTracker *tracker;   /* a reference, while tracked */
  GList                 link;      /* in the tracker's alive list */
  GList                 add_link;  /* in its list of connections to add to the model */
  TcpRecordState        state;
  gboolean              has_peer;
  gboolean              counted;   /* in the peer table's live count */
  TcpPeerKey            peer;
  GIOStream            *item;      /* while LISTED: the queued stream, unowned */
  GIOStream            *pending_item; /* a reference, until the model has it */
  gpointer              node;      /* while LISTED, in a materialized model */
} TcpTrackedRecord;

/* Why a peer is refused; the values of the public TcpRefusal + 1. */
typedef enum
{
  TCP_ADMIT = 0,
  TCP_REFUSE_DENIED,
  TCP_REFUSE_PEER_LIMIT,
  TCP_REFUSE_RATE_LIMIT,
} TcpAdmission;

/* The server's admission settings, read at each accept. */
typedef struct
{
  GPtrArray *allow;                /* GInetAddressMask *, may be empty */
  GPtrArray *deny;
  guint      rules_serial;         /* changes whenever the rules do */
  guint      max_per_peer;         /* 0: no limit */
  guint      rate_per_peer;        /* 0: no limit */
} TcpAdmissionRules;

typedef void (*TcpTrackerFlushed) (gpointer data);

TcpConnectionTracker *tcp_connection_tracker_new        (void);
TcpConnectionTracker *tcp_connection_tracker_ref        (TcpConnectionTracker     *self);
void                  tcp_connection_tracker_unref      (TcpConnectionTracker     *self);

/* The server's side (its context's thread). */
void                  tcp_connection_tracker_set_context (TcpConnectionTracker   *self,
                                                          GMainContext           *context);
void                  tcp_connection_tracker_set_flushed (TcpConnectionTracker   *self,
                                                          TcpTrackerFlushed       flushed,
                                                          gpointer                data);
TcpAdmission          tcp_connection_tracker_admit      (TcpConnectionTracker     *self,
                                                         const TcpPeerKey         *peer,
                                                         const TcpAdmissionRules  *rules);
void                  tcp_connection_tracker_add        (TcpConnectionTracker     *self,
                                                         TcpTrackedRecord         *record,
                                                         const TcpPeerKey         *peer);
void                  tcp_connection_tracker_list       (TcpConnectionTracker     *self,
                                                         TcpTrackedRecord         *record,
                                                         GIOStream                *item);
guint                 tcp_connection_tracker_get_n_alive  (TcpConnectionTracker   *self);
guint                 tcp_connection_tracker_get_n_listed (TcpConnectionTracker   *self);
GPtrArray            *tcp_connection_tracker_ref_listed (TcpConnectionTracker     *self);
TcpConnectionList    *tcp_connection_tracker_ensure_list (TcpConnectionTracker    *self);
void                  tcp_connection_tracker_flush      (TcpConnectionTracker     *self);
gboolean              tcp_connection_tracker_is_dirty   (TcpConnectionTracker     *self);
void                  tcp_connection_tracker_count_peers (TcpConnectionTracker    *self);
guint                 tcp_connection_tracker_get_n_peers (TcpConnectionTracker    *self);
void                  tcp_connection_tracker_set_peer_idle_max (TcpConnectionTracker *self,
                                                                guint                 idle_max);

/* Any thread. */
void                  tcp_tracked_record_gone           (TcpTrackedRecord         *record);
void                  tcp_tracked_record_clear          (TcpTrackedRecord         *record);

G_END_DECLS

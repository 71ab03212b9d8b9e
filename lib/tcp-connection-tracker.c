/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-connection-tracker.c: the connections a server has accepted
 *
 * Copyright 2026 The libtcp authors
 *
 * See tcp-connection-tracker-private.h. One mutex guards the records, the
 * counts and the peer table: the server's thread takes it at each accept
 * and when a connection is queued, and whichever thread closes or
 * finalizes a connection takes it once. The tracker outlives its server as
 * long as a record refers to it: connections handed out may outlive the
 * server.
 */

#include "config.h"

#include "tcp-connection-tracker-private.h"
#include "tcp-connection-list-private.h"

typedef enum
{
  VERDICT_UNKNOWN,
  VERDICT_ALLOWED,
  VERDICT_DENIED,
} Verdict;

struct _TcpConnectionTracker
{
  gatomicrefcount    ref_count;
  GMutex             lock;

  GQueue             alive;        /* TcpTrackedRecord *, ACCEPTED or LISTED, oldest first */
  gint               n_alive;      /* atomic: read without the lock */
  guint              n_listed;
  TcpPeerTable      *peers;
  TcpConnectionList *list;         /* NULL until asked for; it holds us, not we it */
  GSource           *flush;        /* on the server's context */
  TcpTrackerFlushed  flushed;      /* the server's, until it is gone */
  gpointer           flushed_data;
};

TcpConnectionTracker *
tcp_connection_tracker_new (void)
{
  TcpConnectionTracker *self = g_new0 (TcpConnectionTracker, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  g_queue_init (&self->alive);
  self->peers = tcp_peer_table_new ();

  return self;
}

TcpConnectionTracker *
tcp_connection_tracker_ref (TcpConnectionTracker *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/* The flush source knows its tracker only while it lives: a connection
 * finalized in another thread may drop the last reference while the
 * server's thread is about to dispatch the source. */
typedef struct
{
  GSource               source;
  TcpConnectionTracker *tracker;   /* under flush_sources; NULL once it died */
} FlushSource;

G_LOCK_DEFINE_STATIC (flush_sources);

/* A reference, unless the last one is already being dropped. */
static TcpConnectionTracker *
try_ref (TcpConnectionTracker *self)
{
  gint old;

  do
    {
      old = g_atomic_int_get ((gint *) &self->ref_count);
      if (old <= 0)
        return NULL;
    }
  while (!g_atomic_int_compare_and_exchange ((gint *) &self->ref_count, old, old + 1));

  return self;
}

static void
detach_flush_source (TcpConnectionTracker *self)
{
  if (self->flush == NULL)
    return;

  G_LOCK (flush_sources);
  ((FlushSource *) self->flush)->tracker = NULL;
  G_UNLOCK (flush_sources);
  g_source_destroy (self->flush);
  g_clear_pointer (&self->flush, g_source_unref);
}

void
tcp_connection_tracker_unref (TcpConnectionTracker *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->alive.length == 0);
  g_assert (self->list == NULL);
  detach_flush_source (self);
  tcp_peer_table_free (self->peers);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* Applies the changes, then tells the server (if it is still there). */
static void
flush_and_tell (TcpConnectionTracker *self)
{
  TcpTrackerFlushed flushed;
  gpointer flushed_data;

  tcp_connection_tracker_flush (self);

  g_mutex_lock (&self->lock);
  flushed = self->flushed;
  flushed_data = self->flushed_data;
  g_mutex_unlock (&self->lock);
  if (flushed != NULL)
    flushed (flushed_data);
}

static gboolean
flush_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  TcpConnectionTracker *tracker;

  g_source_set_ready_time (source, -1);

  G_LOCK (flush_sources);
  tracker = ((FlushSource *) source)->tracker;
  if (tracker != NULL)
    tracker = try_ref (tracker);
  G_UNLOCK (flush_sources);

  if (tracker != NULL)
    {
      flush_and_tell (tracker);
      tcp_connection_tracker_unref (tracker);
    }

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_source_funcs = {
  .dispatch = flush_dispatch,
};

/* Flushes on @context from now on: the context the server listens on. The
 * flush source belongs to the tracker, so that a connections model that
 * outlives its server still follows its connections there. */
void
tcp_connection_tracker_set_context (TcpConnectionTracker *self,
                                    GMainContext         *context)
{
  GSource *source;

  if (self->flush != NULL && g_source_get_context (self->flush) == context)
    return;

  source = g_source_new (&flush_source_funcs, sizeof (FlushSource));
  ((FlushSource *) source)->tracker = self;
  g_source_set_static_name (source, "[tcp] connections changed");
  g_source_attach (source, context);

  g_mutex_lock (&self->lock);
  detach_flush_source (self);
  self->flush = source;
  g_mutex_unlock (&self->lock);
}

/* @flushed runs after every flush, until it is set to %NULL. */
void
tcp_connection_tracker_set_flushed (TcpConnectionTracker *self,
                                    TcpTrackerFlushed     flushed,
                                    gpointer              data)
{
  g_mutex_lock (&self->lock);
  self->flushed = flushed;
  self->flushed_data = data;
  g_mutex_unlock (&self->lock);
}

/* Called with the lock held. */
static void
schedule_flush (TcpConnectionTracker *self)
{
  /* Thread-safe, and wakes the context; several calls before the flush
   * runs cost one dispatch. */
  if (self->flush != NULL)
    g_source_set_ready_time (self->flush, 0);
}

/* Admission */

static GInetAddress *
address_of (const TcpPeerKey *key)
{
  /* IPv4-mapped IPv6 is the IPv4 address, for every rule. */
  if (tcp_peer_key_is_ipv4 (key))
    return g_inet_address_new_from_bytes (key->bytes + 12, G_SOCKET_FAMILY_IPV4);
  return g_inet_address_new_from_bytes (key->bytes, G_SOCKET_FAMILY_IPV6);
}

static gboolean
any_mask_matches (GPtrArray    *masks,
                  GInetAddress *address)
{
  for (guint i = 0; i < masks->len; i++)
    {
      if (g_inet_address_mask_matches (g_ptr_array_index (masks, i), address))
        return TRUE;
    }
  return FALSE;
}

/* The rules' verdict on @peer, matched by GIO's GInetAddressMask once per
 * peer and set of rules, then remembered: a flood from one address costs a
 * table lookup per connection, no object. */
static Verdict
judge (TcpPeer                 *peer,
       const TcpAdmissionRules *rules)
{
  g_autoptr(GInetAddress) address = NULL;

  if (rules->deny->len == 0 && rules->allow->len == 0)
    return VERDICT_ALLOWED;
  if (peer->rules_serial == rules->rules_serial)
    return peer->verdict;

  address = address_of (&peer->key);
  if (any_mask_matches (rules->deny, address))
    peer->verdict = VERDICT_DENIED;
  else if (rules->allow->len > 0 && !any_mask_matches (rules->allow, address))
    peer->verdict = VERDICT_DENIED;
  else
    peer->verdict = VERDICT_ALLOWED;
  peer->rules_serial = rules->rules_serial;

  return peer->verdict;
}

/* Decides a new connection from @peer by @rules: deny wins over allow, then
 * the live connections of the peer, then its rate. */
TcpAdmission
tcp_connection_tracker_admit (TcpConnectionTracker    *self,
                              const TcpPeerKey        *key,
                              const TcpAdmissionRules *rules)
{
  TcpAdmission admission = TCP_ADMIT;
  TcpPeer *peer;

  g_mutex_lock (&self->lock);
  peer = tcp_peer_table_get (self->peers, key);

  if (judge (peer, rules) == VERDICT_DENIED)
    admission = TCP_REFUSE_DENIED;
  else if (rules->max_per_peer > 0 && peer->n_live >= rules->max_per_peer)
    admission = TCP_REFUSE_PEER_LIMIT;
  else if (rules->rate_per_peer > 0 &&
           !tcp_peer_table_take_token (peer, rules->rate_per_peer, g_get_monotonic_time ()))
    admission = TCP_REFUSE_RATE_LIMIT;

  g_mutex_unlock (&self->lock);
  return admission;
}

/* Records */

/* Starts tracking @record, a connection just accepted from @peer (%NULL:
 * per-peer accounting is off). */
void
tcp_connection_tracker_add (TcpConnectionTracker *self,
                            TcpTrackedRecord     *record,
                            const TcpPeerKey     *peer)
{
  g_assert (record->state == TCP_RECORD_UNTRACKED);

  record->tracker = tcp_connection_tracker_ref (self);
  record->link.data = record;
  record->has_peer = peer != NULL;
  if (peer != NULL)
    record->peer = *peer;

  g_mutex_lock (&self->lock);
  record->state = TCP_RECORD_ACCEPTED;
  g_queue_push_tail_link (&self->alive, &record->link);
  g_atomic_int_inc (&self->n_alive);
  if (peer != NULL)
    tcp_peer_table_hold (self->peers, tcp_peer_table_get (self->peers, peer));
  g_mutex_unlock (&self->lock);
}

/* @record's connection reached the queue as @item. Returns FALSE if it is
 * gone already. Announces @item in the list, if there is one. */
gboolean
tcp_connection_tracker_list (TcpConnectionTracker *self,
                             TcpTrackedRecord     *record,
                             GIOStream            *item)
{
  gboolean listed = FALSE;
  gboolean announce = FALSE;

  g_mutex_lock (&self->lock);
  if (record->state == TCP_RECORD_ACCEPTED)
    {
      record->state = TCP_RECORD_LISTED;
      record->item = item;
      self->n_listed++;
      if (self->list != NULL)
        {
          record->node = tcp_connection_list_push (self->list, item);
          announce = TRUE;
        }
      listed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (announce)
    tcp_connection_list_announce_last (self->list);

  return listed;
}

/* @record's connection was closed or finalized, in any thread. */
void
tcp_tracked_record_gone (TcpTrackedRecord *record)
{
  TcpConnectionTracker *self = record->tracker;

  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  if (record->state == TCP_RECORD_GONE)
    {
      g_mutex_unlock (&self->lock);
      return;
    }

  if (record->state == TCP_RECORD_LISTED)
    {
      self->n_listed--;
      record->item = NULL;
      if (record->node != NULL)
        tcp_list_node_mark_gone (g_steal_pointer (&record->node));
    }
  if (record->has_peer)
    tcp_peer_table_release (self->peers, tcp_peer_table_get (self->peers, &record->peer));

  record->state = TCP_RECORD_GONE;
  g_queue_unlink (&self->alive, &record->link);
  g_atomic_int_dec_and_test (&self->n_alive);
  schedule_flush (self);
  g_mutex_unlock (&self->lock);
}

/* @record's socket is being finalized: the record goes, and lets go of its
 * tracker. Only here, so that a close racing in another thread never finds
 * the tracker freed under it. */
void
tcp_tracked_record_clear (TcpTrackedRecord *record)
{
  if (record->tracker == NULL)
    return;

  tcp_tracked_record_gone (record);
  g_clear_pointer (&record->tracker, tcp_connection_tracker_unref);
}

guint
tcp_connection_tracker_get_n_alive (TcpConnectionTracker *self)
{
  return (guint) g_atomic_int_get (&self->n_alive);
}

guint
tcp_connection_tracker_get_n_listed (TcpConnectionTracker *self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = self->n_listed;
  g_mutex_unlock (&self->lock);

  return n;
}

/* The queued streams still alive, each with a reference (for a forced
 * shutdown). A stream being finalized in another thread when this runs is
 * kept alive by that reference, which GObject allows. */
GPtrArray *
tcp_connection_tracker_ref_listed (TcpConnectionTracker *self)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_object_unref);

  g_mutex_lock (&self->lock);
  for (GList *l = self->alive.head; l != NULL; l = l->next)
    {
      TcpTrackedRecord *record = l->data;

      if (record->state == TCP_RECORD_LISTED)
        g_ptr_array_add (items, g_object_ref (record->item));
    }
  g_mutex_unlock (&self->lock);

  return items;
}

/* The list of queued connections, made on first use from every record
 * that reached the queue, oldest first. Returns a new reference: the list
 * keeps the tracker, the tracker only knows the list while it lives. */
TcpConnectionList *
tcp_connection_tracker_ensure_list (TcpConnectionTracker *self)
{
  TcpConnectionList *list;

  g_mutex_lock (&self->lock);
  if (self->list == NULL)
    {
      self->list = tcp_connection_list_new (self);
      for (GList *l = self->alive.head; l != NULL; l = l->next)
        {
          TcpTrackedRecord *record = l->data;

          if (record->state == TCP_RECORD_LISTED)
            record->node = tcp_connection_list_push (self->list, record->item);
        }
      list = self->list;
    }
  else
    {
      list = g_object_ref (self->list);
    }
  g_mutex_unlock (&self->lock);

  return list;
}

/* The list is being finalized (in any thread): forget it and its nodes. */
void
tcp_connection_tracker_forget_list (TcpConnectionTracker *self,
                                    TcpConnectionList    *list)
{
  g_mutex_lock (&self->lock);
  if (self->list == list)
    {
      self->list = NULL;
      for (GList *l = self->alive.head; l != NULL; l = l->next)
        ((TcpTrackedRecord *) l->data)->node = NULL;
    }
  g_mutex_unlock (&self->lock);
}

/* In the server's thread: applies what other threads changed since the
 * last flush to the list, announcing each removal. Returns whether the
 * list changed. */
gboolean
tcp_connection_tracker_flush (TcpConnectionTracker *self)
{
  g_autoptr(GArray) removals = g_array_new (FALSE, FALSE, sizeof (TcpListRemoval));
  g_autoptr(TcpConnectionList) list = NULL;

  g_mutex_lock (&self->lock);
  if (self->list != NULL)
    {
      list = g_object_ref (self->list);
      tcp_connection_list_find_gone (list, removals);
    }
  g_mutex_unlock (&self->lock);

  if (list != NULL)
    tcp_connection_list_remove (list, removals);

  return removals->len > 0;
}

guint
tcp_connection_tracker_get_n_peers (TcpConnectionTracker *self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = tcp_peer_table_get_size (self->peers);
  g_mutex_unlock (&self->lock);

  return n;
}

void
tcp_connection_tracker_set_peer_idle_max (TcpConnectionTracker *self,
                                          guint                 idle_max)
{
  g_mutex_lock (&self->lock);
  tcp_peer_table_set_idle_max (self->peers, MAX (idle_max, 1));
  g_mutex_unlock (&self->lock);
}

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
  gint               n_listed;     /* atomic: read without the lock */
  TcpPeerTable      *peers;
  TcpConnectionList *list;         /* NULL until asked for; it holds us, not we it */
  GQueue             to_add;       /* records listed since the last flush, for the list */
  gboolean           count_peers;  /* live connections are counted per peer */
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
  gint                  dirty;     /* atomic: a change waits for a flush */
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

/* Ready while a change waits: no timer, no file descriptor. A change made
 * in the server's own thread costs no wakeup (the next iteration sees it);
 * another thread wakes the context (schedule_flush()). */
static gboolean
flush_prepare (GSource *source,
               gint    *timeout)
{
  *timeout = -1;
  return g_atomic_int_get (&((FlushSource *) source)->dirty);
}

static gboolean
flush_check (GSource *source)
{
  return g_atomic_int_get (&((FlushSource *) source)->dirty);
}

static gboolean
flush_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  TcpConnectionTracker *tracker;

  g_atomic_int_set (&((FlushSource *) source)->dirty, 0);

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
  .prepare = flush_prepare,
  .check = flush_check,
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
  ((FlushSource *) source)->dirty = 1;   /* whatever the old one still owed */
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

/* Called with the lock held. Several changes before the flush cost one
 * flush; only a change from another thread than the one running the
 * server's context wakes it up. */
static void
schedule_flush (TcpConnectionTracker *self)
{
  GMainContext *context;

  if (self->flush == NULL ||
      !g_atomic_int_compare_and_exchange (&((FlushSource *) self->flush)->dirty, 0, 1))
    return;

  context = g_source_get_context (self->flush);
  if (!g_main_context_is_owner (context))
    g_main_context_wakeup (context);
}

/* Whether a change waits for a flush. */
gboolean
tcp_connection_tracker_is_dirty (TcpConnectionTracker *self)
{
  return self->flush != NULL && g_atomic_int_get (&((FlushSource *) self->flush)->dirty);
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

/* Called with the lock held. */
static void
count_peer (TcpConnectionTracker *self,
            TcpTrackedRecord     *record)
{
  tcp_peer_table_hold (self->peers, tcp_peer_table_get (self->peers, &record->peer));
  record->counted = TRUE;
}

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
  if (peer != NULL && self->count_peers)
    count_peer (self, record);
  g_mutex_unlock (&self->lock);
}

/* From now on, the live connections of each peer are counted (for
 * max-connections-per-peer), those alive already included. Until a limit
 * asks for it, accepting costs no peer table lookup. */
void
tcp_connection_tracker_count_peers (TcpConnectionTracker *self)
{
  g_mutex_lock (&self->lock);
  if (!self->count_peers)
    {
      self->count_peers = TRUE;
      for (GList *l = self->alive.head; l != NULL; l = l->next)
        {
          TcpTrackedRecord *record = l->data;

          if (record->has_peer)
            count_peer (self, record);
        }
    }
  g_mutex_unlock (&self->lock);
}

/* @record's connection reached the queue as @item (in the server's
 * thread). It enters the list at the next flush, which the server makes
 * once the signals that hand it out have returned: a connection that is
 * closed by then never costs the list anything. Until that flush the
 * tracker holds @item, so that it cannot be finalized in another thread
 * before the list has its weak reference. */
void
tcp_connection_tracker_list (TcpConnectionTracker *self,
                             TcpTrackedRecord     *record,
                             GIOStream            *item)
{
  g_mutex_lock (&self->lock);
  if (record->state == TCP_RECORD_ACCEPTED)
    {
      record->state = TCP_RECORD_LISTED;
      record->item = item;
      g_atomic_int_inc (&self->n_listed);
      if (self->list != NULL)
        {
          record->pending_item = g_object_ref (item);
          record->add_link.data = record;
          g_queue_push_tail_link (&self->to_add, &record->add_link);
        }
      schedule_flush (self);
    }
  g_mutex_unlock (&self->lock);
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
      g_atomic_int_add (&self->n_listed, -1);
      record->item = NULL;
      if (record->node != NULL)
        tcp_list_node_mark_gone (g_steal_pointer (&record->node));
    }
  if (record->counted)
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
  return (guint) g_atomic_int_get (&self->n_listed);
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

/* The list is being finalized (in any thread): forget it and its nodes. */
static void
forget_list (TcpConnectionTracker *self,
             TcpConnectionList    *list)
{
  g_mutex_lock (&self->lock);
  if (self->list == list)
    {
      self->list = NULL;
      for (GList *l = self->alive.head; l != NULL; l = l->next)
        ((TcpTrackedRecord *) l->data)->node = NULL;
      if (self->to_add.length > 0)
        schedule_flush (self);   /* to let go of the items held for it */
    }
  g_mutex_unlock (&self->lock);
}

/* The list is being finalized (in any thread): the tracker forgets it,
 * and lets go of the reference the list held. */
static void
list_gone (gpointer           owner,
           TcpConnectionList *list)
{
  TcpConnectionTracker *self = owner;

  forget_list (self, list);
  tcp_connection_tracker_unref (self);
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
      self->list = tcp_connection_list_new (list_gone, tcp_connection_tracker_ref (self));
      for (GList *l = self->alive.head; l != NULL; l = l->next)
        {
          TcpTrackedRecord *record = l->data;

          if (record->state == TCP_RECORD_LISTED && record->node == NULL)
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


/* Removes what is gone from @list, announcing each run. */
static void
remove_gone (TcpConnectionTracker *self,
             TcpConnectionList    *list)
{
  g_autoptr(GArray) removals = g_array_new (FALSE, FALSE, sizeof (TcpListRemoval));

  g_mutex_lock (&self->lock);
  tcp_connection_list_find_gone (list, removals);
  g_mutex_unlock (&self->lock);

  tcp_connection_list_remove (list, removals);
}

/* Appends to @list (NULL: it is gone) the connections listed since the
 * last flush that are still alive, and lets go of the tracker's hold on
 * each. Returns how many it appended. */
static guint
add_listed (TcpConnectionTracker *self,
            TcpConnectionList    *list)
{
  guint n_added = 0;

  for (;;)
    {
      TcpTrackedRecord *record;
      GIOStream *item;
      GList *link;

      g_mutex_lock (&self->lock);
      link = g_queue_pop_head_link (&self->to_add);
      if (link == NULL)
        {
          g_mutex_unlock (&self->lock);
          break;
        }
      record = link->data;
      item = g_steal_pointer (&record->pending_item);
      /* Held by us alone, it goes with our reference: dropped without a
       * close by the handler that took it, it never enters the list. */
      if (list != NULL && self->list == list &&
          record->state == TCP_RECORD_LISTED && record->node == NULL &&
          g_atomic_int_get (&((GObject *) item)->ref_count) > 1)
        {
          record->node = tcp_connection_list_push (list, item);
          n_added++;
        }
      g_mutex_unlock (&self->lock);

      /* May finalize it, and mark its node gone for the next flush. */
      g_object_unref (item);
    }

  return n_added;
}

/* In the server's thread: applies to the list what changed since the last
 * flush, in whatever thread: the connections gone leave it, those listed
 * enter it; each change is announced. */
void
tcp_connection_tracker_flush (TcpConnectionTracker *self)
{
  g_autoptr(TcpConnectionList) list = NULL;
  guint n_added;

  if (self->flush != NULL)
    g_atomic_int_set (&((FlushSource *) self->flush)->dirty, 0);

  /* No model: nothing to apply (only this thread adds to to_add, and only
   * while there is a list). */
  if (g_atomic_pointer_get (&self->list) == NULL && self->to_add.length == 0)
    return;

  g_mutex_lock (&self->lock);
  if (self->list != NULL)
    list = g_object_ref (self->list);
  g_mutex_unlock (&self->lock);

  if (list != NULL)
    remove_gone (self, list);
  n_added = add_listed (self, list);
  if (n_added > 0)
    tcp_connection_list_announce_appended (list, n_added);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-peer-table.c: what the server knows about each peer address
 *
 * Copyright 2026 The libtcp authors
 *
 * See tcp-peer-table-private.h. A hash table of TcpPeer by address, and
 * the list of idle peers (no live connection), most recently seen first,
 * from whose tail the table forgets when it holds too many.
 */

#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "tcp-peer-table-private.h"

struct _TcpPeerTable
{
  GHashTable *peers;      /* TcpPeerKey * → TcpPeer *, owned */
  GQueue      idle;       /* TcpPeer *, most recently seen first */
  guint       idle_max;
};

static const guint8 ipv4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The peer of @address, IPv4-mapped IPv6 folded into IPv4. Returns FALSE
 * for an address that is neither IPv4 nor IPv6. */
gboolean
tcp_peer_key_from_sockaddr (TcpPeerKey            *key,
                            const struct sockaddr *address,
                            socklen_t              length)
{
  if (address->sa_family == AF_INET && length >= sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *in4 = (const struct sockaddr_in *) address;

      memcpy (key->bytes, ipv4_mapped_prefix, sizeof ipv4_mapped_prefix);
      memcpy (key->bytes + 12, &in4->sin_addr, 4);
      return TRUE;
    }

  if (address->sa_family == AF_INET6 && length >= sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;

      memcpy (key->bytes, &in6->sin6_addr, 16);
      return TRUE;
    }

  return FALSE;
}

gboolean
tcp_peer_key_is_ipv4 (const TcpPeerKey *key)
{
  return memcmp (key->bytes, ipv4_mapped_prefix, sizeof ipv4_mapped_prefix) == 0;
}

static guint
peer_key_hash (gconstpointer data)
{
  const TcpPeerKey *key = data;
  guint32 words[4];
  guint hash = 2166136261u;

  memcpy (words, key->bytes, sizeof words);
  for (guint i = 0; i < 4; i++)
    hash = (hash ^ words[i]) * 16777619u;
  return hash;
}

static gboolean
peer_key_equal (gconstpointer a,
                gconstpointer b)
{
  return memcmp (a, b, sizeof (TcpPeerKey)) == 0;
}

TcpPeerTable *
tcp_peer_table_new (void)
{
  TcpPeerTable *self = g_new0 (TcpPeerTable, 1);

  /* The key lives inside the value: one free for both. */
  self->peers = g_hash_table_new_full (peer_key_hash, peer_key_equal, NULL, g_free);
  g_queue_init (&self->idle);
  self->idle_max = TCP_PEER_TABLE_DEFAULT_IDLE_MAX;

  return self;
}

void
tcp_peer_table_free (TcpPeerTable *self)
{
  /* The links live inside the peers, which the table frees. */
  g_queue_init (&self->idle);
  g_hash_table_unref (self->peers);
  g_free (self);
}

/* Forgets idle peers, least recently seen first, down to the bound. */
static void
trim (TcpPeerTable *self)
{
  while (self->idle.length > self->idle_max)
    {
      TcpPeer *oldest = g_queue_peek_tail (&self->idle);

      g_queue_unlink (&self->idle, &oldest->idle_link);
      g_hash_table_remove (self->peers, &oldest->key);
    }
}

/* The peer of @key, made (idle, with a full bucket) if it was unknown. A
 * peer that is idle moves to the front of the idle list. */
TcpPeer *
tcp_peer_table_get (TcpPeerTable     *self,
                    const TcpPeerKey *key)
{
  TcpPeer *peer = g_hash_table_lookup (self->peers, key);

  if (peer == NULL)
    {
      peer = g_new0 (TcpPeer, 1);
      peer->key = *key;
      peer->tokens = -1;   /* full, whatever the rate: see take_token() */
      peer->idle_link.data = peer;
      g_hash_table_insert (self->peers, &peer->key, peer);
      g_queue_push_head_link (&self->idle, &peer->idle_link);
      trim (self);
      return peer;
    }

  if (peer->n_live == 0)
    {
      g_queue_unlink (&self->idle, &peer->idle_link);
      g_queue_push_head_link (&self->idle, &peer->idle_link);
    }

  return peer;
}

/* A connection from @peer is live: the peer is kept until it is released. */
void
tcp_peer_table_hold (TcpPeerTable *self,
                     TcpPeer      *peer)
{
  if (peer->n_live++ == 0)
    g_queue_unlink (&self->idle, &peer->idle_link);
}

void
tcp_peer_table_release (TcpPeerTable *self,
                        TcpPeer      *peer)
{
  g_assert (peer->n_live > 0);

  if (--peer->n_live == 0)
    {
      g_queue_push_head_link (&self->idle, &peer->idle_link);
      trim (self);
    }
}

/* A token bucket of @rate tokens, refilled at @rate a second: bursts of up
 * to @rate connections pass, then one every 1/@rate s. Takes a token if
 * there is one. */
gboolean
tcp_peer_table_take_token (TcpPeer *peer,
                           guint    rate,
                           gint64   now_us)
{
  if (peer->tokens < 0)
    {
      peer->tokens = rate;
    }
  else
    {
      gdouble elapsed = (now_us - peer->last_refill_us) / (gdouble) G_USEC_PER_SEC;

      peer->tokens = MIN ((gdouble) rate, peer->tokens + elapsed * rate);
    }
  peer->last_refill_us = now_us;

  if (peer->tokens < 1)
    return FALSE;

  peer->tokens -= 1;
  return TRUE;
}

void
tcp_peer_table_set_idle_max (TcpPeerTable *self,
                             guint         idle_max)
{
  self->idle_max = idle_max;
  trim (self);
}

guint
tcp_peer_table_get_size (TcpPeerTable *self)
{
  return g_hash_table_size (self->peers);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-connections.c: the server knows its connections
 *
 * Copyright 2026 The libtcp authors
 *
 * TcpServer's side of connection tracking (tcp-connection-tracker.c): the
 * connections model and n-connections, the global and per-peer limits,
 * the allow and deny rules, connection-refused, and the flush source that
 * brings changes made in other threads (a connection closed or finalized
 * there) back to the server's context. Graceful shutdown, which builds on
 * all of it, is in tcp-server-shutdown.c.
 *
 * Admission runs on the raw descriptor's peer address, right after
 * accept4(), before any object exists for the connection; with no rule and
 * no per-peer limit it is not even called.
 */

#include "config.h"

#include <string.h>

#include "tcp-server.h"
#include "tcp-server-impl-private.h"
#include "tcp-accepted-socket-private.h"
#include "tcp-connection-list-private.h"
#include "tcp-tracked-connection-private.h"

#define properties _tcp_server_properties
#define signals _tcp_server_signals

G_DEFINE_ENUM_TYPE (TcpRefusal, tcp_refusal,
  G_DEFINE_ENUM_VALUE (TCP_REFUSAL_DENIED, "denied"),
  G_DEFINE_ENUM_VALUE (TCP_REFUSAL_PEER_LIMIT, "peer-limit"),
  G_DEFINE_ENUM_VALUE (TCP_REFUSAL_RATE_LIMIT, "rate-limit"))

/* ------------------------------------------------------------------ */
/* Flushing                                                           */

/* Announces a new number of connections, once it has changed. */
static void
announce_count (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  guint n = tcp_connection_tracker_get_n_listed (priv->tracker);

  if (n == priv->n_connections)
    return;

  priv->n_connections = n;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECTIONS]);
}

/* Applies at once what the tracker has not flushed yet: after closes this
 * thread made itself, before anything looks at the count. */
void
_tcp_server_connections_flush (TcpServer *self)
{
  tcp_connection_tracker_flush (_tcp_server_get_private (self)->tracker);
  announce_count (self);
}

/* After each flush of the tracker: the limits that may let the listener
 * accept again, a shutdown that may be over, the count. */
static void
flushed_cb (gpointer user_data)
{
  TcpServer *self = g_object_ref (user_data);

  announce_count (self);
  _tcp_server_update_accepting (self);
  _tcp_server_check_shutdowns (self);
  g_object_unref (self);
}

/* Once the signals that handed out a connection have returned: what they
 * changed (the connection queued, and often already closed) reaches the
 * model and the count now, without a wakeup or another iteration. In the
 * accept path (@in_accept_path) the listener learns whether to go on
 * accepting from the accept callback's result instead. */
void
_tcp_server_connections_settle (TcpServer *self,
                                gboolean   in_accept_path)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  if (!tcp_connection_tracker_is_dirty (priv->tracker))
    return;

  tcp_connection_tracker_flush (priv->tracker);
  if (!in_accept_path)
    {
      flushed_cb (self);
      return;
    }

  announce_count (self);
  if (priv->shutdowns.length > 0)
    _tcp_server_check_shutdowns (self);
}

/* The tracker flushes on the context the server listens on. */
void
_tcp_server_connections_set_context (TcpServer    *self,
                                     GMainContext *context)
{
  tcp_connection_tracker_set_context (_tcp_server_get_private (self)->tracker, context);
}

/* ------------------------------------------------------------------ */
/* From accept to queue                                               */

static gboolean
admission_wanted (TcpServerPrivate *priv)
{
  return priv->rules.allow->len > 0 || priv->rules.deny->len > 0 ||
         priv->rules.max_per_peer > 0 || priv->rules.rate_per_peer > 0;
}

TcpListenerAdmission
_tcp_server_admit (TcpServer             *self,
                   const struct sockaddr *peer,
                   socklen_t              peer_len)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  TcpPeerKey key;

  if (!admission_wanted (priv) || !tcp_peer_key_from_sockaddr (&key, peer, peer_len))
    return TCP_LISTENER_ADMIT;

  return tcp_connection_tracker_admit (priv->tracker, &key, &priv->rules);
}

/* connection-refused, once the refused connection is closed. Its address
 * is made only for a handler that will see it. */
void
_tcp_server_refused (TcpServer             *self,
                     const struct sockaddr *peer,
                     socklen_t              peer_len,
                     TcpListenerAdmission   reason)
{
  g_autoptr(GSocketAddress) address = NULL;

  if (!g_signal_has_handler_pending (self, signals[SIGNAL_CONNECTION_REFUSED], 0, FALSE))
    return;

  address = g_socket_address_new_from_native ((gpointer) peer, peer_len);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return;

  g_signal_emit (self, signals[SIGNAL_CONNECTION_REFUSED], 0, address,
                 (TcpRefusal) (reason - TCP_REFUSE_DENIED));
}

/* Every accepted connection is tracked from here on, with its peer for
 * the per-peer counts. */
void
_tcp_server_track_accepted (TcpServer             *self,
                            GSocket               *socket,
                            const struct sockaddr *peer,
                            socklen_t              peer_len)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  TcpTrackedRecord *record = tcp_accepted_socket_record_of (socket);
  TcpPeerKey key;
  gboolean has_peer;

  if (record == NULL)
    return;

  has_peer = peer != NULL && tcp_peer_key_from_sockaddr (&key, peer, peer_len);
  tcp_connection_tracker_add (priv->tracker, record, has_peer ? &key : NULL);
}

/* The record of the socket under @connection, if it is one of ours:
 * @connection is the default incoming_connection's (checked first, by
 * type alone: the accept path), another GSocketConnection, or a TLS
 * connection over one. */
static TcpTrackedRecord *
record_of (GIOStream *connection)
{
  g_autoptr(GIOStream) base = NULL;
  TcpTrackedRecord *record = tcp_tracked_connection_record_of (connection);

  if (record != NULL)
    return record;

  if (G_IS_TLS_CONNECTION (connection))
    g_object_get (connection, "base-io-stream", &base, NULL);
  else
    base = g_object_ref (connection);

  if (!G_IS_SOCKET_CONNECTION (base))
    return NULL;

  return tcp_accepted_socket_record_of (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
}

/* @connection reached the queue: it enters the model, if the server
 * accepted it. */
void
_tcp_server_track_queued (TcpServer *self,
                          GIOStream *connection)
{
  TcpTrackedRecord *record = record_of (connection);

  if (record != NULL)
    tcp_connection_tracker_list (_tcp_server_get_private (self)->tracker, record, connection);
}

gboolean
_tcp_server_below_max_connections (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  return priv->max_connections == 0 ||
         tcp_connection_tracker_get_n_alive (priv->tracker) < priv->max_connections;
}

/* ------------------------------------------------------------------ */
/* Class                                                              */

void
_tcp_server_connections_class_init (TcpServerClass *klass)
{
  /**
   * TcpServer:n-connections: (getter get_n_connections)
   *
   * How many connections the server accepted that are still alive, queued
   * or handed out: the length of [method@Tcp.Server.get_connections].
   * Notified on the server's context when it changes.
   *
   * Since: 1.1
   */
  properties[PROP_N_CONNECTIONS] =
    g_param_spec_uint ("n-connections", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:max-connections:
   *
   * How many connections the server may have at once: live connections
   * (queued or handed out, until they are closed or finalized) plus TLS
   * handshakes in flight. At the limit the server stops accepting, as with
   * a full queue: newcomers wait in the kernel's listen queue, and nothing
   * spins. It resumes by itself when a connection closes. 0 (the default)
   * means no limit.
   *
   * Since: 1.1
   */
  properties[PROP_MAX_CONNECTIONS] =
    g_param_spec_uint ("max-connections", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:max-connections-per-peer:
   *
   * How many live connections one peer IP address may have (TLS
   * handshakes in flight included). One more is refused: closed at once,
   * and reported by [signal@Tcp.Server::connection-refused] with
   * %TCP_REFUSAL_PEER_LIMIT. An IPv4-mapped IPv6 peer counts as its IPv4
   * address. 0 (the default) means no limit.
   *
   * Since: 1.1
   */
  properties[PROP_MAX_CONNECTIONS_PER_PEER] =
    g_param_spec_uint ("max-connections-per-peer", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:max-connection-rate-per-peer:
   *
   * How many new connections one peer IP address may open a second. A
   * burst of up to that many passes; beyond it, one more every 1/n second.
   * Faster ones are refused: closed at once, and reported by
   * [signal@Tcp.Server::connection-refused] with %TCP_REFUSAL_RATE_LIMIT.
   * A peer that pauses gets its allowance back. 0 (the default) means no
   * limit.
   *
   * Since: 1.1
   */
  properties[PROP_MAX_CONNECTION_RATE_PER_PEER] =
    g_param_spec_uint ("max-connection-rate-per-peer", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer::connection-refused:
   * @self: the server
   * @peer: the address the refused connection came from
   * @reason: why it was refused
   *
   * Emitted once for each connection the server refused by its rules
   * ([method@Tcp.Server.deny_peers], [method@Tcp.Server.allow_peers]) or
   * per-peer limits, after the connection was closed. The decision is made
   * right after the connection is accepted, before any object exists for
   * it (for a [class@Tcp.TlsServer], before any handshake), and the
   * connection is closed with a reset, which leaves no `TIME_WAIT` behind on
   * the server. @peer is only made when a handler is connected.
   *
   * Since: 1.1
   */
  signals[SIGNAL_CONNECTION_REFUSED] =
    g_signal_new ("connection-refused",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INET_SOCKET_ADDRESS, TCP_TYPE_REFUSAL);
}

void
_tcp_server_connections_init (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  priv->tracker = tcp_connection_tracker_new ();
  tcp_connection_tracker_set_flushed (priv->tracker, flushed_cb, self);
  priv->rules.allow = g_ptr_array_new_with_free_func (g_object_unref);
  priv->rules.deny = g_ptr_array_new_with_free_func (g_object_unref);
  priv->rules.rules_serial = 1;
  g_queue_init (&priv->shutdowns);
}

void
_tcp_server_connections_dispose (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  /* The model, if an application still holds it, goes on following the
   * connections that outlive the server; the server hears no more. The
   * flush lets go of connections held for the model. */
  tcp_connection_tracker_set_flushed (priv->tracker, NULL, NULL);
  tcp_connection_tracker_flush (priv->tracker);
  g_clear_object (&priv->connections);
}

void
_tcp_server_connections_finalize (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  /* Connections handed out may outlive the server: they keep the tracker. */
  g_clear_pointer (&priv->tracker, tcp_connection_tracker_unref);
  g_clear_pointer (&priv->rules.allow, g_ptr_array_unref);
  g_clear_pointer (&priv->rules.deny, g_ptr_array_unref);
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */

/**
 * tcp_server_get_connections:
 * @self: a [class@Tcp.Server]
 *
 * Gets the connections the server accepted that are still alive, queued or
 * handed out, oldest first, as a [iface@Gio.ListModel] of
 * [class@Gio.IOStream] that a GTK list view can show directly. A connection
 * enters once it has reached the pending queue (for [class@Tcp.TlsServer],
 * when its handshake completes) and the signals that announce it
 * ([signal@Tcp.Server::pending-connection-available],
 * [signal@Tcp.Server::new-connection]) have returned; it leaves when it is
 * closed (`g_io_stream_close()` or `g_io_stream_close_async()`) or
 * finalized. A connection those handlers already closed or dropped never
 * enters: a server that answers and closes in its handler pays nothing for
 * the model, and a list view bound to it does not flicker.
 * [property@Tcp.Server:n-connections] counts the same way.
 *
 * The model never keeps a connection alive: one the application drops
 * leaves it (one dropped inside those handlers is finalized as they
 * return). [signal@Gio.ListModel::items-changed] is emitted on the
 * server's [struct@GLib.MainContext] only, when it runs, never inside
 * `g_io_stream_close()` or a last `g_object_unref()`, which may happen in
 * any thread. So between a connection's end and the next iteration of that
 * context, the model still lists it; if it was finalized meanwhile,
 * [method@Gio.ListModel.get_item] returns a closed, empty stream in its
 * place (a list model never returns %NULL below its length).
 *
 * The model goes on following the connections it lists when the server is
 * gone and the application still holds the model.
 *
 * Connections that an override of [vfunc@Tcp.Server.incoming_connection]
 * wraps itself, without chaining up, count toward
 * [property@Tcp.Server:max-connections] until their socket is finalized,
 * but do not appear here.
 *
 * Returns: (transfer none): the connections model, the same object every
 *   time
 *
 * Since: 1.1
 */
GListModel *
tcp_server_get_connections (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  priv = _tcp_server_get_private (self);
  if (priv->connections == NULL)
    priv->connections = G_OBJECT (tcp_connection_tracker_ensure_list (priv->tracker));

  return G_LIST_MODEL (priv->connections);
}

/**
 * tcp_server_get_n_connections:
 * @self: a [class@Tcp.Server]
 *
 * Counts the connections of [method@Tcp.Server.get_connections].
 *
 * Returns: the value of [property@Tcp.Server:n-connections]
 *
 * Since: 1.1
 */
guint
tcp_server_get_n_connections (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  return _tcp_server_get_private (self)->n_connections;
}

/**
 * tcp_server_get_max_connections:
 * @self: a [class@Tcp.Server]
 *
 * Gets how many connections the server may have at once.
 *
 * Returns: the value of [property@Tcp.Server:max-connections]
 *
 * Since: 1.1
 */
guint
tcp_server_get_max_connections (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  return _tcp_server_get_private (self)->max_connections;
}

/**
 * tcp_server_set_max_connections:
 * @self: a [class@Tcp.Server]
 * @n: the largest number of connections, or 0 for no limit
 *
 * Sets [property@Tcp.Server:max-connections]. Takes effect at once:
 * lowering it below the number of connections stops accepting until
 * enough have closed; raising it resumes accepting.
 *
 * Since: 1.1
 */
void
tcp_server_set_max_connections (TcpServer *self,
                                guint      n)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = _tcp_server_get_private (self);
  if (priv->max_connections == n)
    return;

  priv->max_connections = n;
  _tcp_server_update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONNECTIONS]);
}

/**
 * tcp_server_get_max_connections_per_peer:
 * @self: a [class@Tcp.Server]
 *
 * Gets how many live connections one peer address may have.
 *
 * Returns: the value of [property@Tcp.Server:max-connections-per-peer]
 *
 * Since: 1.1
 */
guint
tcp_server_get_max_connections_per_peer (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  return _tcp_server_get_private (self)->rules.max_per_peer;
}

/**
 * tcp_server_set_max_connections_per_peer:
 * @self: a [class@Tcp.Server]
 * @n: the largest number of live connections per peer address, or 0 for
 *   no limit
 *
 * Sets [property@Tcp.Server:max-connections-per-peer]. It applies to the
 * next connection; connections already open stay open.
 *
 * Since: 1.1
 */
void
tcp_server_set_max_connections_per_peer (TcpServer *self,
                                         guint      n)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = _tcp_server_get_private (self);
  if (priv->rules.max_per_peer == n)
    return;

  priv->rules.max_per_peer = n;
  if (n > 0)
    tcp_connection_tracker_count_peers (priv->tracker);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONNECTIONS_PER_PEER]);
}

/**
 * tcp_server_get_max_connection_rate_per_peer:
 * @self: a [class@Tcp.Server]
 *
 * Gets how many new connections one peer address may open a second.
 *
 * Returns: the value of [property@Tcp.Server:max-connection-rate-per-peer]
 *
 * Since: 1.1
 */
guint
tcp_server_get_max_connection_rate_per_peer (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  return _tcp_server_get_private (self)->rules.rate_per_peer;
}

/**
 * tcp_server_set_max_connection_rate_per_peer:
 * @self: a [class@Tcp.Server]
 * @per_second: the largest number of new connections per peer address and
 *   second, or 0 for no limit
 *
 * Sets [property@Tcp.Server:max-connection-rate-per-peer]. It applies to
 * the next connection.
 *
 * Since: 1.1
 */
void
tcp_server_set_max_connection_rate_per_peer (TcpServer *self,
                                             guint      per_second)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = _tcp_server_get_private (self);
  if (priv->rules.rate_per_peer == per_second)
    return;

  priv->rules.rate_per_peer = per_second;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_CONNECTION_RATE_PER_PEER]);
}

/* Whether the prefix length after the "/" of @mask, if any, is one GIO
 * can take: GLib 2.74 warns about a GObject property out of range for one
 * over 128 (or a negative one, read as a huge number) before it fails. */
static gboolean
prefix_length_is_sane (const gchar *mask)
{
  const gchar *slash = strchr (mask, '/');

  return slash == NULL ||
         g_ascii_string_to_unsigned (slash + 1, 10, 0, 128, NULL, NULL);
}

/* Parses @mask with GIO, or fails with a message naming it. */
static GInetAddressMask *
parse_mask (const gchar  *mask,
            GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree gchar *printable = NULL;
  GInetAddressMask *parsed = NULL;

  if (prefix_length_is_sane (mask))
    parsed = g_inet_address_mask_new_from_string (mask, &local_error);
  if (parsed != NULL)
    return parsed;

  printable = g_utf8_make_valid (mask, -1);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "“%s” is not an address or an address/prefix-length mask (such as "
               "“10.0.0.0/8” or “::1”)", printable);
  return NULL;
}

static gboolean
add_rule (TcpServer    *self,
          GPtrArray    *rules,
          const gchar  *mask,
          GError      **error)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  GInetAddressMask *parsed = parse_mask (mask, error);

  if (parsed == NULL)
    return FALSE;

  g_ptr_array_add (rules, parsed);
  priv->rules.rules_serial++;
  return TRUE;
}

/**
 * tcp_server_allow_peers:
 * @self: a [class@Tcp.Server]
 * @mask: an address, or an address and prefix length, as
 *   [ctor@Gio.InetAddressMask.new_from_string] reads it (`"10.0.0.0/8"`,
 *   `"192.168.1.7"`, `"fe80::/10"`)
 * @error: return location for a [struct@GLib.Error]
 *
 * Adds an allow rule. Once any allow rule exists, a connection from a peer
 * that matches none is refused ([signal@Tcp.Server::connection-refused],
 * %TCP_REFUSAL_DENIED); a deny rule wins over an allow rule. An
 * IPv4-mapped IPv6 peer (`::ffff:a.b.c.d`, on a dual-stack server) matches
 * as its IPv4 address. Rules apply to connections accepted from now on.
 *
 * A @mask that is not an address mask fails with
 * %G_IO_ERROR_INVALID_ARGUMENT and changes no rule.
 *
 * Returns: %TRUE if the rule was added
 *
 * Since: 1.1
 */
gboolean
tcp_server_allow_peers (TcpServer    *self,
                        const gchar  *mask,
                        GError      **error)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (mask != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_rule (self, _tcp_server_get_private (self)->rules.allow, mask, error);
}

/**
 * tcp_server_deny_peers:
 * @self: a [class@Tcp.Server]
 * @mask: an address, or an address and prefix length, as
 *   [ctor@Gio.InetAddressMask.new_from_string] reads it
 * @error: return location for a [struct@GLib.Error]
 *
 * Adds a deny rule: a connection from a matching peer is refused
 * ([signal@Tcp.Server::connection-refused], %TCP_REFUSAL_DENIED), whatever
 * the allow rules say. Matching and errors are as for
 * [method@Tcp.Server.allow_peers].
 *
 * Returns: %TRUE if the rule was added
 *
 * Since: 1.1
 */
gboolean
tcp_server_deny_peers (TcpServer    *self,
                       const gchar  *mask,
                       GError      **error)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (mask != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_rule (self, _tcp_server_get_private (self)->rules.deny, mask, error);
}

/**
 * tcp_server_clear_peer_rules:
 * @self: a [class@Tcp.Server]
 *
 * Drops every allow and deny rule: every peer is admitted again, within the
 * per-peer limits.
 *
 * Since: 1.1
 */
void
tcp_server_clear_peer_rules (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = _tcp_server_get_private (self);
  g_ptr_array_set_size (priv->rules.allow, 0);
  g_ptr_array_set_size (priv->rules.deny, 0);
  priv->rules.rules_serial++;
}

/* For tests: the peers the server remembers, and their bound. */
guint
_tcp_server_get_n_peers (TcpServer *self)
{
  return tcp_connection_tracker_get_n_peers (_tcp_server_get_private (self)->tracker);
}

void
_tcp_server_set_peer_idle_max (TcpServer *self,
                               guint      idle_max)
{
  tcp_connection_tracker_set_peer_idle_max (_tcp_server_get_private (self)->tracker, idle_max);
}

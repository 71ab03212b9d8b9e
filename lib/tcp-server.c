/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server.c: a TCP server on GSocket, Qt's QTcpServer the GLib way
 *
 * Copyright 2026 The libtcp authors
 *
 * The class users see: its state, properties and signals, the pending queue
 * and accept_async(), and the callbacks of the listener it holds. How it
 * starts listening is in tcp-server-listen.c, how it waits without a main
 * loop in tcp-server-wait.c; what it listens on is a TcpListener
 * (tcp-listener-private.h), whatever its kind. Data flows one way:
 * listener → incoming_connection → queue → user.
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-private.h"
#include "tcp-server-impl-private.h"

/**
 * TcpServer:
 *
 * A TCP server: it listens on an address and port, accepts connections on a
 * [struct@GLib.MainContext], and keeps them in a bounded queue until the
 * application takes them.
 *
 * It is Qt's `QTcpServer` rebuilt on [class@Gio.Socket]: call
 * [method@Tcp.Server.listen], wait for
 * [signal@Tcp.Server::pending-connection-available] (or call
 * [method@Tcp.Server.accept_async], or block in
 * [method@Tcp.Server.wait_for_new_connection]), and take each connection
 * with [method@Tcp.Server.next_pending_connection]. Every connection is a
 * [class@Gio.IOStream]: a [class@Gio.TcpConnection] for plain TCP.
 *
 * ```c
 * static void
 * connection_available_cb (TcpServer *server,
 *                          gpointer   user_data)
 * {
 *   g_autoptr(GIOStream) connection = NULL;
 *
 *   while ((connection = tcp_server_next_pending_connection (server)))
 *     {
 *       GOutputStream *out = g_io_stream_get_output_stream (connection);
 *
 *       g_output_stream_write_all (out, "Hello\n", 6, NULL, NULL, NULL);
 *       g_io_stream_close (connection, NULL, NULL);
 *       g_clear_object (&connection);
 *     }
 * }
 * ```
 *
 * ## The pending queue
 *
 * Accepted connections wait in a queue of at most
 * [property@Tcp.Server:max-pending-connections] entries. When it is full the
 * server stops polling the listening socket, so new clients wait in the
 * kernel's listen queue (sized by
 * [property@Tcp.Server:listen-backlog-size]) instead of costing memory;
 * taking a connection resumes accepting by itself.
 *
 * ## Ways to listen
 *
 * [method@Tcp.Server.listen] binds an address and port;
 * [method@Tcp.Server.listen_on] takes the address as a string (and
 * `"localhost"` for both loopback addresses); [method@Tcp.Server.listen_range]
 * takes the first free port of a range; [method@Tcp.Server.set_socket_descriptor]
 * and [method@Tcp.Server.listen_activated] adopt a socket that is already
 * listening (systemd socket activation). Every accepted connection gets
 * `TCP_NODELAY` ([property@Tcp.Server:no-delay]) and, if asked,
 * `SO_KEEPALIVE` ([property@Tcp.Server:keepalive]).
 *
 * ## Errors and exhaustion
 *
 * When the process runs out of file descriptors or memory, the server emits
 * [signal@Tcp.Server::accept-error] once, stops polling, and retries on a
 * timer that starts at 10 ms and doubles up to one second. It never spins the
 * CPU and never stops for good: accepting resumes as soon as descriptors are
 * free again.
 *
 * ## Threads and main contexts
 *
 * A server is used from one thread. Its sources, and so every signal it
 * emits, run on the [struct@GLib.MainContext] that was the thread-default
 * context when [method@Tcp.Server.listen] (or another way to listen) was
 * called. Several servers may run in several threads, each with its own
 * context.
 *
 * ## Listening through a SOCKS5 proxy
 *
 * With [property@Tcp.Server:proxy] set to `socks5://[user:password@]host:port`,
 * listening on an address that is not loopback goes through the proxy's
 * BIND command instead of a local socket. [method@Tcp.Server.listen] blocks
 * until the proxy has answered (at most
 * [property@Tcp.Server:proxy-timeout]), as `g_socket_client_connect()` does,
 * and returns the real outcome: then [property@Tcp.Server:server-address]
 * and [property@Tcp.Server:server-port] are the address and port on the
 * proxy that peers must dial. [method@Tcp.Server.listen_async] does the same
 * without blocking. One BIND serves one connection: once a peer has
 * connected the server stops listening. See the "Listening through a SOCKS5
 * proxy" guide.
 *
 * Since: 1.0
 */

GParamSpec *_tcp_server_properties[N_PROPS];
guint _tcp_server_signals[N_SIGNALS];
#define properties _tcp_server_properties
#define signals _tcp_server_signals

G_DEFINE_TYPE_WITH_PRIVATE (TcpServer, tcp_server, G_TYPE_OBJECT)

static GQuark hooks_quark;

/* ------------------------------------------------------------------ */
/* State                                                              */

gint _tcp_server_private_offset;

void
_tcp_server_set_error (TcpServer    *self,
                       const GError *error)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_assert (error != NULL);

  priv->error_code = error->domain == G_IO_ERROR ? error->code : G_IO_ERROR_FAILED;
  priv->n_errors++;
  g_free (priv->error_string);
  priv->error_string = g_strdup (error->message);
}

gboolean
_tcp_server_fail (TcpServer  *self,
                  GError    **error,
                  GError     *local_error)
{
  _tcp_server_set_error (self, local_error);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* The hooks of the most derived class inside libtcp that set any. */
const TcpServerHooks *
_tcp_server_get_hooks (TcpServer *self)
{
  for (GType type = G_OBJECT_TYPE (self); type != TCP_TYPE_SERVER; type = g_type_parent (type))
    {
      const TcpServerHooks *hooks = g_type_get_qdata (type, hooks_quark);

      if (hooks != NULL)
        return hooks;
    }

  return NULL;
}

void
_tcp_server_notify_listening_state (TcpServer *self)
{
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_ADDRESS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_PORT]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* ------------------------------------------------------------------ */
/* Listening                                                          */

/* new-connection is emitted after every incoming_connection, but never
 * inside one of its own handlers: a handler that accepts more (by
 * wait_for_new_connection()) gets the signal for those after it returns,
 * one after the other, instead of once per queued client deeper on the
 * stack. */
static void
emit_new_connection (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  if (priv->in_new_connection)
    {
      priv->n_deferred_new_connection++;
      return;
    }

  priv->in_new_connection = TRUE;
  g_signal_emit (self, signals[SIGNAL_NEW_CONNECTION], 0);
  while (priv->n_deferred_new_connection > 0)
    {
      priv->n_deferred_new_connection--;
      g_signal_emit (self, signals[SIGNAL_NEW_CONNECTION], 0);
    }
  priv->in_new_connection = FALSE;
}

static void
listener_bound_cb (TcpListener *listener,
                   gpointer     user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autoptr(GTask) task = g_steal_pointer (&priv->listen_task);

  g_object_ref (self);
  _tcp_server_notify_listening_state (self);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
  g_object_unref (self);
}

static TcpListenerAdmission
listener_admit_cb (TcpListener           *listener,
                   const struct sockaddr *peer,
                   socklen_t              peer_len,
                   gpointer               user_data)
{
  return _tcp_server_admit (user_data, peer, peer_len);
}

static void
listener_refused_cb (TcpListener           *listener,
                     const struct sockaddr *peer,
                     socklen_t              peer_len,
                     TcpListenerAdmission   reason,
                     gpointer               user_data)
{
  TcpServer *self = g_object_ref (user_data);

  _tcp_server_refused (self, peer, peer_len, reason);
  g_object_unref (self);
}

static gboolean
listener_accepted_cb (TcpListener           *listener,
                      GSocket               *socket,
                      const struct sockaddr *peer,
                      socklen_t              peer_len,
                      gpointer               user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  gboolean more;

  /* Handlers may drop the last reference or close the server. */
  g_object_ref (self);
  priv->accept_depth++;
  _tcp_server_track_accepted (self, socket, peer, peer_len);
  TCP_SERVER_GET_CLASS (self)->incoming_connection (self, socket);
  emit_new_connection (self);
  priv->accept_depth--;
  _tcp_server_connections_settle (self, TRUE);
  more = priv->listener == listener && _tcp_server_accepting_wanted (self);
  g_object_unref (self);

  return more;
}

static void
listener_accept_error_cb (TcpListener  *listener,
                          const GError *error,
                          gpointer      user_data)
{
  TcpServer *self = user_data;

  _tcp_server_set_error (self, error);
  g_signal_emit (self, signals[SIGNAL_ACCEPT_ERROR], 0, error);
}

/* The listener gave up (a proxy that failed or dropped the BIND): the
 * server stops listening, as by close(). */
static void
listener_failed_cb (TcpListener  *listener,
                    const GError *error,
                    gpointer      user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autoptr(GTask) task = g_steal_pointer (&priv->listen_task);
  gboolean was_listening = _tcp_server_is_bound (priv);
  GQueue waiters;

  g_object_ref (self);

  _tcp_server_set_error (self, error);
  waiters = _tcp_server_stop_listening (self);
  if (was_listening)
    _tcp_server_notify_listening_state (self);

  if (task != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_signal_emit (self, signals[SIGNAL_ACCEPT_ERROR], 0, error);

  _tcp_server_fail_waiters_with (&waiters, error);
  g_object_unref (self);
}

/* The listener served its last connection (one SOCKS5 BIND, one peer). The
 * server stops listening but keeps its queue and its work in flight. */
static void
listener_finished_cb (TcpListener *listener,
                      gpointer     user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_object_ref (self);
  g_clear_object (&priv->listener);
  _tcp_server_notify_listening_state (self);
  _tcp_server_tell_waiting_threads (self);
  _tcp_server_fail_hopeless_waiters (self);
  g_object_unref (self);
}

const TcpListenerCallbacks _tcp_server_listener_callbacks = {
  .bound = listener_bound_cb,
  .admit = listener_admit_cb,
  .refused = listener_refused_cb,
  .accepted = listener_accepted_cb,
  .accept_error = listener_accept_error_cb,
  .failed = listener_failed_cb,
  .finished = listener_finished_cb,
};

/* ------------------------------------------------------------------ */
/* GObject                                                            */

static void
tcp_server_dispose (GObject *object)
{
  TcpServer *self = TCP_SERVER (object);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GQueue waiters = _tcp_server_stop_listening (self);

  /* Every waiter's GTask holds a reference, so there are none by now. */
  g_assert (waiters.length == 0);
  g_assert (priv->listen_task == NULL);
  g_assert (priv->pending.length == 0);
  g_assert (priv->shutdowns.length == 0);

  _tcp_server_connections_dispose (self);

  G_OBJECT_CLASS (tcp_server_parent_class)->dispose (object);
}

static void
tcp_server_finalize (GObject *object)
{
  TcpServer *self = TCP_SERVER (object);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_clear_pointer (&priv->error_string, g_free);
  g_clear_pointer (&priv->proxy, g_free);
  g_mutex_clear (&priv->news_mutex);
  g_cond_clear (&priv->news_cond);
  _tcp_server_connections_finalize (self);

  G_OBJECT_CLASS (tcp_server_parent_class)->finalize (object);
}

static void
tcp_server_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  TcpServer *self = TCP_SERVER (object);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_LISTENING:
      g_value_set_boolean (value, _tcp_server_is_bound (priv));
      break;

    case PROP_SERVER_ADDRESS:
      g_value_set_object (value, _tcp_server_is_bound (priv) ?
                                 tcp_listener_get_address (priv->listener) : NULL);
      break;

    case PROP_SERVER_PORT:
      g_value_set_uint (value, _tcp_server_is_bound (priv) ?
                               tcp_listener_get_port (priv->listener) : 0);
      break;

    case PROP_MAX_PENDING_CONNECTIONS:
      g_value_set_int (value, tcp_server_get_max_pending_connections (self));
      break;

    case PROP_LISTEN_BACKLOG_SIZE:
      g_value_set_int (value, tcp_server_get_listen_backlog_size (self));
      break;

    case PROP_REUSE_PORT:
      g_value_set_boolean (value, tcp_server_get_reuse_port (self));
      break;

    case PROP_PAUSED:
      g_value_set_boolean (value, tcp_server_is_paused (self));
      break;

    case PROP_PROXY:
      g_value_set_string (value, tcp_server_get_proxy (self));
      break;

    case PROP_PROXY_TIMEOUT:
      g_value_set_uint (value, tcp_server_get_proxy_timeout (self));
      break;

    case PROP_NO_DELAY:
      g_value_set_boolean (value, tcp_server_get_no_delay (self));
      break;

    case PROP_KEEPALIVE:
      g_value_set_boolean (value, tcp_server_get_keepalive (self));
      break;

    case PROP_N_CONNECTIONS:
      g_value_set_uint (value, tcp_server_get_n_connections (self));
      break;

    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, tcp_server_get_max_connections (self));
      break;

    case PROP_MAX_CONNECTIONS_PER_PEER:
      g_value_set_uint (value, tcp_server_get_max_connections_per_peer (self));
      break;

    case PROP_MAX_CONNECTION_RATE_PER_PEER:
      g_value_set_uint (value, tcp_server_get_max_connection_rate_per_peer (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tcp_server_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  TcpServer *self = TCP_SERVER (object);

  switch (prop_id)
    {
    case PROP_MAX_PENDING_CONNECTIONS:
      tcp_server_set_max_pending_connections (self, g_value_get_int (value));
      break;

    case PROP_LISTEN_BACKLOG_SIZE:
      tcp_server_set_listen_backlog_size (self, g_value_get_int (value));
      break;

    case PROP_REUSE_PORT:
      tcp_server_set_reuse_port (self, g_value_get_boolean (value));
      break;

    case PROP_PROXY:
      tcp_server_set_proxy (self, g_value_get_string (value));
      break;

    case PROP_PROXY_TIMEOUT:
      tcp_server_set_proxy_timeout (self, g_value_get_uint (value));
      break;

    case PROP_NO_DELAY:
      tcp_server_set_no_delay (self, g_value_get_boolean (value));
      break;

    case PROP_KEEPALIVE:
      tcp_server_set_keepalive (self, g_value_get_boolean (value));
      break;

    case PROP_MAX_CONNECTIONS:
      tcp_server_set_max_connections (self, g_value_get_uint (value));
      break;

    case PROP_MAX_CONNECTIONS_PER_PEER:
      tcp_server_set_max_connections_per_peer (self, g_value_get_uint (value));
      break;

    case PROP_MAX_CONNECTION_RATE_PER_PEER:
      tcp_server_set_max_connection_rate_per_peer (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tcp_server_class_init (TcpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _tcp_server_private_offset = TcpServer_private_offset;

  object_class->dispose = tcp_server_dispose;
  object_class->finalize = tcp_server_finalize;
  object_class->get_property = tcp_server_get_property;
  object_class->set_property = tcp_server_set_property;

  _tcp_server_queue_class_init (klass);

  hooks_quark = g_quark_from_static_string ("tcp-server-hooks");

  /**
   * TcpServer:listening: (getter is_listening)
   *
   * Whether the server is listening for connections.
   *
   * Since: 1.0
   */
  properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:server-address:
   *
   * The address the server listens on, or %NULL when it is not listening.
   *
   * Listening with a %NULL address (dual-stack) reports `::`; listening on
   * `"localhost"` reports `127.0.0.1`. Listening through a SOCKS5 proxy
   * ([property@Tcp.Server:proxy]) reports the address on the proxy that
   * peers must dial, from the proxy's first BIND reply; when the proxy says
   * it bound every interface, the address the proxy was reached on.
   *
   * Since: 1.0
   */
  properties[PROP_SERVER_ADDRESS] =
    g_param_spec_object ("server-address", NULL, NULL,
                         G_TYPE_INET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:server-port:
   *
   * The port the server listens on (the one the system picked when
   * [method@Tcp.Server.listen] was given 0), or 0 when it is not listening.
   * Through a SOCKS5 proxy, the port on the proxy that peers must dial.
   *
   * Since: 1.0
   */
  properties[PROP_SERVER_PORT] =
    g_param_spec_uint ("server-port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:max-pending-connections:
   *
   * How many accepted connections may wait in the pending queue. When the
   * queue is full the server stops accepting; clients then wait in the
   * kernel's listen queue. It resumes by itself once the application takes
   * a connection.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_PENDING_CONNECTIONS] =
    g_param_spec_int ("max-pending-connections", NULL, NULL,
                      1, G_MAXINT, TCP_SERVER_DEFAULT_MAX_PENDING,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:listen-backlog-size:
   *
   * The length of the kernel's queue of connections not yet accepted, passed
   * to `listen(2)` by the next [method@Tcp.Server.listen].
   *
   * The default, 4096, is far above Qt's 50 and GIO's 10: a burst of 64
   * clients overflows a queue of 50, and every overflowed client waits a
   * one-second SYN retransmission. The kernel silently caps the value at
   * `net.core.somaxconn` (4096 on current Linux).
   *
   * Since: 1.0
   */
  properties[PROP_LISTEN_BACKLOG_SIZE] =
    g_param_spec_int ("listen-backlog-size", NULL, NULL,
                      1, G_MAXINT, TCP_SERVER_DEFAULT_BACKLOG,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:reuse-port:
   *
   * Whether the next [method@Tcp.Server.listen] sets `SO_REUSEPORT`, so that
   * several sockets (in several processes or threads) share one port and the
   * kernel spreads connections among them. Off by default: with it, a second
   * server on the same port succeeds instead of failing with
   * %G_IO_ERROR_ADDRESS_IN_USE.
   *
   * Since: 1.0
   */
  properties[PROP_REUSE_PORT] =
    g_param_spec_boolean ("reuse-port", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:paused: (getter is_paused)
   *
   * Whether [method@Tcp.Server.pause_accepting] is in force.
   *
   * Since: 1.0
   */
  properties[PROP_PAUSED] =
    g_param_spec_boolean ("paused", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:proxy:
   *
   * The proxy to listen through, as a URI: `socks5://[user:password@]host:port`
   * listens through a SOCKS5 proxy's BIND command (RFC 1928), offering no
   * authentication and, when the URI carries a user name, username/password
   * authentication (RFC 1929). The port defaults to 1080. %NULL (the
   * default) or an empty string listens directly. Loopback addresses
   * (`::ffff:127.0.0.1` included) never use the proxy.
   *
   * It applies at the next [method@Tcp.Server.listen], which then blocks
   * until the proxy has answered; [method@Tcp.Server.listen_async] does not.
   *
   * Since: 1.0
   */
  properties[PROP_PROXY] =
    g_param_spec_string ("proxy", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:proxy-timeout:
   *
   * How long, in milliseconds, the proxy may take from the start of
   * [method@Tcp.Server.listen] until it announces its side of the BIND
   * (connecting, authenticating and the first reply together). 0 waits
   * forever. Waiting for a peer to connect afterwards has no time limit.
   *
   * Since: 1.0
   */
  properties[PROP_PROXY_TIMEOUT] =
    g_param_spec_uint ("proxy-timeout", NULL, NULL,
                       0, G_MAXUINT, TCP_SERVER_DEFAULT_PROXY_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:no-delay:
   *
   * Whether accepted connections have `TCP_NODELAY` (Nagle's algorithm
   * off), so that a small write goes out at once instead of waiting for
   * the peer's acknowledgement of the previous one (a delayed ACK stalls it
   * for up to 40 ms). On by default, on every GLib version (GLib 2.80 and
   * later set it on every stream [class@Gio.Socket]; 2.74 does not).
   *
   * It is set on the listening socket, whose connections inherit it, so it
   * costs nothing per connection; a change applies to every connection
   * accepted afterwards.
   *
   * Since: 1.1
   */
  properties[PROP_NO_DELAY] =
    g_param_spec_boolean ("no-delay", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpServer:keepalive:
   *
   * Whether accepted connections have `SO_KEEPALIVE`, so that the system
   * probes a connection that has been idle for long (two hours by default,
   * `net.ipv4.tcp_keepalive_time`) and closes it when the peer is gone. Off
   * by default. Like [property@Tcp.Server:no-delay], it applies to every
   * connection accepted after it is set.
   *
   * Since: 1.1
   */
  properties[PROP_KEEPALIVE] =
    g_param_spec_boolean ("keepalive", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  _tcp_server_connections_class_init (klass);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TcpServer::new-connection:
   * @self: the server
   *
   * Emitted after every accepted connection has been through
   * [vfunc@Tcp.Server.incoming_connection], whether or not that queued
   * anything. With the default implementation a connection is waiting in
   * the queue: take it with [method@Tcp.Server.next_pending_connection].
   *
   * For [class@Tcp.TlsServer] it is emitted when the TCP connection is
   * accepted, before its TLS handshake: nothing is queued yet. Code that
   * drains the queue should connect to
   * [signal@Tcp.Server::pending-connection-available] instead, which works
   * for both classes.
   *
   * It is never emitted inside one of its own handlers: when a handler
   * accepts more connections (by [method@Tcp.Server.wait_for_new_connection]),
   * their signals follow once it has returned.
   *
   * Since: 1.0
   */
  signals[SIGNAL_NEW_CONNECTION] =
    g_signal_new ("new-connection",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * TcpServer::pending-connection-available:
   * @self: the server
   *
   * Emitted each time [method@Tcp.Server.add_pending_connection] queues a
   * connection: the signal to drain the queue on. For [class@Tcp.TlsServer]
   * this is when the handshake has completed, later than
   * [signal@Tcp.Server::new-connection].
   *
   * Since: 1.0
   */
  signals[SIGNAL_PENDING_CONNECTION_AVAILABLE] =
    g_signal_new ("pending-connection-available",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * TcpServer::accept-error:
   * @self: the server
   * @error: what went wrong
   *
   * Emitted when accepting fails for a reason other than a transient one
   * (a client that reset before it was accepted is not an error).
   *
   * Through a SOCKS5 proxy ([property@Tcp.Server:proxy]) it reports the
   * proxy's failures too: before the proxy bound a port when listening was
   * started by [method@Tcp.Server.listen_async] without a callback that
   * takes the error (never for [method@Tcp.Server.listen], whose return
   * value carries it), and afterwards when the proxy drops the BIND. The
   * server is then not listening.
   *
   * On file-descriptor or memory exhaustion (`EMFILE`, `ENFILE`, `ENOBUFS`,
   * `ENOMEM`) it is emitted once per episode; the server then retries by
   * itself on a back-off timer, without spinning, until accepting works.
   *
   * Since: 1.0
   */
  signals[SIGNAL_ACCEPT_ERROR] =
    g_signal_new ("accept-error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
tcp_server_init (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  priv->max_pending = TCP_SERVER_DEFAULT_MAX_PENDING;
  priv->backlog = TCP_SERVER_DEFAULT_BACKLOG;
  priv->error_code = G_IO_ERROR_FAILED;
  priv->proxy_timeout = TCP_SERVER_DEFAULT_PROXY_TIMEOUT;
  priv->options.no_delay = TRUE;
  g_mutex_init (&priv->news_mutex);
  g_cond_init (&priv->news_cond);
  _tcp_server_connections_init (self);
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */

/**
 * tcp_server_new:
 *
 * Creates a server that is not listening yet.
 *
 * Returns: (transfer full): a new [class@Tcp.Server]
 *
 * Since: 1.0
 */
TcpServer *
tcp_server_new (void)
{
  return g_object_new (TCP_TYPE_SERVER, NULL);
}

/**
 * tcp_server_get_server_error:
 * @self: a [class@Tcp.Server]
 *
 * The code of the last error of the server: a failed listen, accept,
 * adoption of a descriptor, proxy exchange, or a
 * [method@Tcp.Server.wait_for_new_connection] that timed out
 * (%G_IO_ERROR_TIMED_OUT, Qt's `SocketTimeoutError`). Before any error it
 * is %G_IO_ERROR_FAILED, like Qt's `UnknownSocketError`.
 *
 * Returns: a [error@Gio.IOErrorEnum]
 *
 * Since: 1.0
 */
GIOErrorEnum
tcp_server_get_server_error (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), G_IO_ERROR_FAILED);

  priv = tcp_server_get_instance_private (self);

  return priv->error_code;
}

/**
 * tcp_server_get_error_string:
 * @self: a [class@Tcp.Server]
 *
 * Gets the human-readable message of the server's last error, Qt's
 * `errorString()`. It says what was attempted on what, for example
 * “Could not listen on 127.0.0.1:8080: Address already in use”.
 *
 * Returns: the message of the last error (see
 *   [method@Tcp.Server.get_server_error]), or `""` before any error
 *
 * Since: 1.0
 */
const gchar *
tcp_server_get_error_string (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), "");

  priv = tcp_server_get_instance_private (self);

  return priv->error_string != NULL ? priv->error_string : "";
}

/* ------------------------------------------------------------------ */
/* Private API for subclasses inside libtcp                           */

void
_tcp_server_class_set_hooks (TcpServerClass       *klass,
                             const TcpServerHooks *hooks)
{
  g_type_set_qdata (G_TYPE_FROM_CLASS (klass), hooks_quark, (gpointer) hooks);
}

GMainContext *
_tcp_server_get_context (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  return priv->context;
}

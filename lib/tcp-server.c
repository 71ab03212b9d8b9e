/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server.c: a TCP server on GSocket, Qt's QTcpServer the GLib way
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-private.h"
#include "tcp-accept-engine-private.h"
#include "tcp-socket-setup-private.h"
#include "tcp-socks5-client-private.h"

/**
 * TcpServer:
 *
 * A TCP server: it listens on an address and port, accepts connections on a
 * [struct@GLib.MainContext], and keeps them in a bounded queue until the
 * application takes them.
 *
 * It is Qt's `QTcpServer` rebuilt on [class@Gio.Socket]: call
 * [method@Tcp.Server.listen], wait for [signal@Tcp.Server::new-connection]
 * (or call [method@Tcp.Server.accept_async], or block in
 * [method@Tcp.Server.wait_for_new_connection]), and take each connection
 * with [method@Tcp.Server.next_pending_connection]. Every connection is a
 * [class@Gio.IOStream]: a [class@Gio.TcpConnection] for plain TCP.
 *
 * ```c
 * static void
 * new_connection_cb (TcpServer *server,
 *                    gpointer   user_data)
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
 * context when [method@Tcp.Server.listen] (or
 * [method@Tcp.Server.set_socket_descriptor]) was called. Several servers may
 * run in several threads, each with its own context.
 *
 * ## Listening through a SOCKS5 proxy
 *
 * With [property@Tcp.Server:proxy] set to `socks5://[user:password@]host:port`,
 * listening on an address that is not loopback goes through the proxy's
 * BIND command instead of a local socket. The exchange with the proxy never
 * blocks: [method@Tcp.Server.listen] only starts it, and the server becomes
 * listening (with [property@Tcp.Server:server-address] and
 * [property@Tcp.Server:server-port] set to the address and port on the
 * proxy that peers must dial) once the proxy has answered; a failure is
 * reported by [signal@Tcp.Server::accept-error]. Use
 * [method@Tcp.Server.listen_async] to learn the outcome in a callback. One
 * BIND serves one connection: once a peer has connected the server stops
 * listening. See the "Listening through a SOCKS5 proxy" guide.
 *
 * Since: 1.0
 */

typedef struct
{
  GMainContext    *context;        /* thread-default at listen() */
  GSocket         *listener;
  TcpAcceptEngine *engine;
  GInetAddress    *server_address;
  guint16          server_port;

  GQueue           pending;        /* GIOStream *, oldest first */
  guint            n_reserved;     /* slots held by subclasses */
  GQueue           waiters;        /* GTask * from accept_async() */

  gint             max_pending;
  gint             backlog;
  gboolean         reuse_port;
  gboolean         paused;

  GIOErrorEnum     error_code;
  gchar           *error_string;
  gchar           *proxy;
  guint            proxy_timeout;  /* ms, 0: none */
  TcpSocks5Client *socks5;         /* listening through the proxy */
  GTask           *listen_task;    /* listen_async() waiting for the proxy */

  const TcpServerHooks *hooks;     /* from a subclass inside libtcp */
} TcpServerPrivate;

enum {
  PROP_0,
  PROP_LISTENING,
  PROP_SERVER_ADDRESS,
  PROP_SERVER_PORT,
  PROP_MAX_PENDING_CONNECTIONS,
  PROP_LISTEN_BACKLOG_SIZE,
  PROP_REUSE_PORT,
  PROP_PAUSED,
  PROP_PROXY,
  PROP_PROXY_TIMEOUT,
  N_PROPS
};

enum {
  SIGNAL_NEW_CONNECTION,
  SIGNAL_PENDING_CONNECTION_AVAILABLE,
  SIGNAL_ACCEPT_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_TYPE_WITH_PRIVATE (TcpServer, tcp_server, G_TYPE_OBJECT)

#define DEFAULT_MAX_PENDING   30
#define DEFAULT_BACKLOG     4096
#define DEFAULT_PROXY_TIMEOUT 5000

static void
set_error (TcpServer    *self,
           const GError *error)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_assert (error != NULL);

  priv->error_code = error->domain == G_IO_ERROR ? error->code : G_IO_ERROR_FAILED;
  g_free (priv->error_string);
  priv->error_string = g_strdup (error->message);
}

/* Records the error and hands it on to the caller. */
static gboolean
fail (TcpServer  *self,
      GError    **error,
      GError     *local_error)
{
  set_error (self, local_error);
  g_propagate_error (error, local_error);
  return FALSE;
}

static guint
n_occupied (TcpServerPrivate *priv)
{
  return priv->pending.length + priv->n_reserved;
}

static gboolean
accepting_wanted (TcpServerPrivate *priv)
{
  return priv->engine != NULL &&
         !priv->paused &&
         n_occupied (priv) < (guint) priv->max_pending;
}

static void
update_accepting (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  if (priv->engine != NULL)
    tcp_accept_engine_set_wanted (priv->engine, accepting_wanted (priv));
}

static gboolean
engine_accepted_cb (GSocket  *socket,
                    gpointer  user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  gboolean more;

  /* Handlers may drop the last reference or close the server. */
  g_object_ref (self);
  TCP_SERVER_GET_CLASS (self)->incoming_connection (self, socket);
  g_signal_emit (self, signals[SIGNAL_NEW_CONNECTION], 0);
  more = accepting_wanted (priv);
  g_object_unref (self);

  return more;
}

static void
engine_failed_cb (const GError *error,
                  gpointer      user_data)
{
  TcpServer *self = user_data;

  set_error (self, error);
  g_signal_emit (self, signals[SIGNAL_ACCEPT_ERROR], 0, error);
}

static void
notify_listening_state (TcpServer *self)
{
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_ADDRESS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_PORT]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Takes ownership of @listener and starts accepting on the thread-default
 * main context. */
static void
start_listening (TcpServer *self,
                 GSocket   *listener)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autoptr(GSocketAddress) local = NULL;

  g_assert (priv->listener == NULL);
  g_assert (priv->engine == NULL);

  priv->listener = listener;
  priv->context = g_main_context_ref_thread_default ();

  local = g_socket_get_local_address (listener, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (local);

      priv->server_address = g_object_ref (g_inet_socket_address_get_address (inet));
      priv->server_port = g_inet_socket_address_get_port (inet);
    }

  priv->engine = tcp_accept_engine_new (listener, priv->context,
                                        engine_accepted_cb, engine_failed_cb, self);
  update_accepting (self);
}

/* Drops the listening socket and the queue. Returns the accept_async()
 * waiters, which the caller fails once the server is in a consistent state. */
static GQueue
stop_listening (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GQueue waiters = priv->waiters;
  GIOStream *connection;

  g_queue_init (&priv->waiters);

  if (priv->engine != NULL)
    {
      tcp_accept_engine_stop (priv->engine);
      g_clear_pointer (&priv->engine, tcp_accept_engine_unref);
    }

  if (priv->hooks != NULL && priv->hooks->stopped != NULL)
    priv->hooks->stopped (self);

  if (priv->listener != NULL)
    {
      g_socket_close (priv->listener, NULL);
      g_clear_object (&priv->listener);
    }

  if (priv->socks5 != NULL)
    {
      tcp_socks5_client_stop (priv->socks5);
      g_clear_pointer (&priv->socks5, tcp_socks5_client_unref);
    }

  g_clear_object (&priv->server_address);
  priv->server_port = 0;
  g_clear_pointer (&priv->context, g_main_context_unref);

  /* Connections never taken are closed: their clients see EOF. */
  while ((connection = g_queue_pop_head (&priv->pending)))
    {
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);
    }

  return waiters;
}

/* Fails accept_async() waiters with @error. */
static void
fail_waiters_with (GQueue       *waiters,
                   const GError *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (waiters)))
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
}

static void
fail_waiters (GQueue *waiters)
{
  GTask *task;

  while ((task = g_queue_pop_head (waiters)))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "The server was closed while waiting for a connection");
      g_object_unref (task);
    }
}

/* Hands queued connections to accept_async() callers, oldest first. */
static void
serve_waiters (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  while (priv->waiters.length > 0 && tcp_server_has_pending_connections (self))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&priv->waiters);
      GSource *cancel_source = g_task_get_task_data (task);

      if (cancel_source != NULL)
        g_source_destroy (cancel_source);
      g_task_return_pointer (task, tcp_server_next_pending_connection (self), g_object_unref);
    }
}

static void
tcp_server_real_incoming_connection (TcpServer *self,
                                     GSocket   *socket)
{
  g_autoptr(GSocketConnection) connection = NULL;

  /* GTcpConnection directly: the factory's type lookup buys nothing here. */
  connection = g_object_new (G_TYPE_TCP_CONNECTION, "socket", socket, NULL);
  tcp_server_add_pending_connection (self, G_IO_STREAM (connection));
}

static gboolean
tcp_server_real_has_pending_connections (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  return priv->pending.length > 0;
}

static GIOStream *
tcp_server_real_next_pending_connection (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GIOStream *connection = g_queue_pop_head (&priv->pending);

  if (connection != NULL)
    update_accepting (self);

  return connection;
}

static void
tcp_server_dispose (GObject *object)
{
  TcpServer *self = TCP_SERVER (object);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GQueue waiters = stop_listening (self);

  /* Every waiter's GTask holds a reference, so there are none by now. */
  g_assert (waiters.length == 0);
  g_assert (priv->listen_task == NULL);
  g_assert (priv->pending.length == 0);

  G_OBJECT_CLASS (tcp_server_parent_class)->dispose (object);
}

static void
tcp_server_finalize (GObject *object)
{
  TcpServer *self = TCP_SERVER (object);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_clear_pointer (&priv->error_string, g_free);
  g_clear_pointer (&priv->proxy, g_free);

  G_OBJECT_CLASS (tcp_server_parent_class)->finalize (object);
}

static void
tcp_server_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  TcpServer *self = TCP_SERVER (object);

  switch (prop_id)
    {
    case PROP_LISTENING:
      g_value_set_boolean (value, tcp_server_is_listening (self));
      break;

    case PROP_SERVER_ADDRESS:
      g_value_set_object (value, tcp_server_get_server_address (self));
      break;

    case PROP_SERVER_PORT:
      g_value_set_uint (value, tcp_server_get_server_port (self));
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

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tcp_server_class_init (TcpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tcp_server_dispose;
  object_class->finalize = tcp_server_finalize;
  object_class->get_property = tcp_server_get_property;
  object_class->set_property = tcp_server_set_property;

  klass->incoming_connection = tcp_server_real_incoming_connection;
  klass->has_pending_connections = tcp_server_real_has_pending_connections;
  klass->next_pending_connection = tcp_server_real_next_pending_connection;

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
   * Listening with a %NULL address (dual-stack) reports `::`. Listening
   * through a SOCKS5 proxy ([property@Tcp.Server:proxy]) reports the
   * address on the proxy that peers must dial, from the proxy's first BIND
   * reply; when the proxy says it bound every interface, the address the
   * proxy was reached on.
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
                      1, G_MAXINT, DEFAULT_MAX_PENDING,
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
                      1, G_MAXINT, DEFAULT_BACKLOG,
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
   * default) or an empty string listens directly. Loopback addresses never
   * use the proxy.
   *
   * It applies at the next [method@Tcp.Server.listen], which then only
   * starts the exchange with the proxy: see [method@Tcp.Server.listen_async].
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
                       0, G_MAXUINT, DEFAULT_PROXY_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

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
   * connection. For [class@Tcp.TlsServer] this is when the handshake has
   * completed, later than [signal@Tcp.Server::new-connection].
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
   * started by [method@Tcp.Server.listen] (not by
   * [method@Tcp.Server.listen_async], whose result carries the error), and
   * afterwards when the proxy drops the BIND. The server is then not
   * listening.
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

  priv->max_pending = DEFAULT_MAX_PENDING;
  priv->backlog = DEFAULT_BACKLOG;
  priv->error_code = G_IO_ERROR_FAILED;
  priv->proxy_timeout = DEFAULT_PROXY_TIMEOUT;
}

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

static gboolean
check_not_listening (TcpServer  *self,
                     GError    **error)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autofree gchar *where = NULL;

  if (priv->socks5 != NULL)
    return fail (self, error,
                 g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                              "The server is already listening through SOCKS5 proxy %s; "
                              "close it first", tcp_socks5_client_get_name (priv->socks5)));

  if (priv->listener == NULL)
    return TRUE;

  where = tcp_socket_describe (priv->server_address, priv->server_port);
  return fail (self, error,
               g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                            "The server is already listening on %s; close it first", where));
}

/* Lets a subclass refuse to listen (TcpTlsServer without a TLS backend). */
static gboolean
check_hooks (TcpServer  *self,
             GError    **error)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GError *local_error = NULL;

  if (priv->hooks == NULL || priv->hooks->check_listen == NULL)
    return TRUE;
  if (priv->hooks->check_listen (self, &local_error))
    return TRUE;

  return fail (self, error, local_error);
}

/* Whether listening on @address goes through the proxy. */
static gboolean
uses_proxy (TcpServer    *self,
            GInetAddress *address)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  if (priv->proxy == NULL || priv->proxy[0] == '\0')
    return FALSE;

  return address == NULL || !g_inet_address_get_is_loopback (address);
}

static void
proxy_bound_cb (GInetAddress *address,
                guint16       port,
                gpointer      user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autoptr(GTask) task = g_steal_pointer (&priv->listen_task);

  g_set_object (&priv->server_address, address);
  priv->server_port = port;

  g_object_ref (self);
  notify_listening_state (self);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
  g_object_unref (self);
}

/* One BIND, one connection: the control connection is the peer's now, and
 * the server stops listening. */
static void
proxy_connected_cb (GSocket  *socket,
                    gpointer  user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  TcpSocks5Client *socks5 = priv->socks5;
  GQueue waiters = G_QUEUE_INIT;

  g_object_ref (self);

  /* Still listening here, as for a direct accept: an override may need
   * the context (a TLS handshake does). */
  TCP_SERVER_GET_CLASS (self)->incoming_connection (self, socket);

  /* Unless the override closed the server, this BIND is over. */
  if (priv->socks5 == socks5 && socks5 != NULL)
    {
      g_clear_pointer (&priv->socks5, tcp_socks5_client_unref);
      g_clear_object (&priv->server_address);
      priv->server_port = 0;
      g_clear_pointer (&priv->context, g_main_context_unref);
      waiters = priv->waiters;
      g_queue_init (&priv->waiters);
      notify_listening_state (self);
    }

  g_signal_emit (self, signals[SIGNAL_NEW_CONNECTION], 0);
  if (waiters.length > 0)
    {
      g_autoptr(GError) error =
        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                             "The proxy's BIND has served its one connection; listen again "
                             "for another");

      fail_waiters_with (&waiters, error);
    }
  g_object_unref (self);
}

static void
proxy_failed_cb (const GError *error,
                 gpointer      user_data)
{
  TcpServer *self = user_data;
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  g_autoptr(TcpSocks5Client) socks5 = g_steal_pointer (&priv->socks5);
  g_autoptr(GTask) task = g_steal_pointer (&priv->listen_task);
  gboolean was_listening = priv->server_address != NULL;
  GQueue waiters;

  g_object_ref (self);

  set_error (self, error);
  waiters = stop_listening (self);
  if (was_listening)
    notify_listening_state (self);

  if (task != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_signal_emit (self, signals[SIGNAL_ACCEPT_ERROR], 0, error);

  fail_waiters_with (&waiters, error);
  g_object_unref (self);
}

/* Starts a BIND on the proxy; @task (nullable) learns how it went. */
static gboolean
listen_through_proxy (TcpServer     *self,
                      GInetAddress  *address,
                      guint16        port,
                      GTask         *task,
                      GError       **error)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GError *local_error = NULL;
  TcpSocks5Client *socks5;

  socks5 = tcp_socks5_client_new (priv->proxy, &local_error);
  if (socks5 == NULL)
    return fail (self, error, local_error);

  g_assert (priv->context == NULL);
  priv->socks5 = socks5;
  priv->context = g_main_context_ref_thread_default ();
  priv->listen_task = task != NULL ? g_object_ref (task) : NULL;

  tcp_socks5_client_bind (socks5, address, port, priv->proxy_timeout, priv->context,
                          proxy_bound_cb, proxy_connected_cb, proxy_failed_cb, self);

  return TRUE;
}

/**
 * tcp_server_listen:
 * @self: a [class@Tcp.Server]
 * @address: (nullable): the address to listen on, or %NULL for any address
 * @port: the port to listen on, or 0 to let the system pick one
 * @error: return location for a [struct@GLib.Error]
 *
 * Starts listening for connections on @address and @port.
 *
 * With %NULL the server listens on every address, IPv4 and IPv6, through one
 * dual-stack socket (IPv4 only where the system has no IPv6). `0.0.0.0`
 * listens on IPv4 only, `::` on IPv6 only (`IPV6_V6ONLY`). `SO_REUSEADDR` is
 * always set, so a restarted server can bind a port that still has
 * connections in `TIME_WAIT`; `SO_REUSEPORT` only with
 * [property@Tcp.Server:reuse-port].
 *
 * Connections are accepted on the thread-default [struct@GLib.MainContext]
 * of the calling thread, where every signal of the server is emitted.
 *
 * On failure (for example %G_IO_ERROR_ADDRESS_IN_USE) the server is left as
 * it was, and the error is also recorded for
 * [method@Tcp.Server.get_server_error]. Listening again while listening
 * fails with %G_IO_ERROR_FAILED and leaves the first listener intact.
 *
 * With [property@Tcp.Server:proxy] set and an address that is not loopback,
 * this does not block on the proxy: it checks the proxy URI (a scheme other
 * than `socks5` fails with %G_IO_ERROR_NOT_SUPPORTED, a malformed one with
 * %G_IO_ERROR_INVALID_ARGUMENT), starts the exchange on the thread-default
 * main context and returns %TRUE. The server becomes listening, with
 * [property@Tcp.Server:listening], [property@Tcp.Server:server-address] and
 * [property@Tcp.Server:server-port] notified, once the proxy has bound a
 * port for it. If the proxy fails first (unreachable, refusing, timing out
 * after [property@Tcp.Server:proxy-timeout], or answering nonsense), the
 * server stays not listening and emits [signal@Tcp.Server::accept-error]
 * with an error from the %G_IO_ERROR_PROXY_FAILED family,
 * %G_IO_ERROR_CONNECTION_REFUSED or %G_IO_ERROR_TIMED_OUT. To get that
 * outcome as a result instead, call [method@Tcp.Server.listen_async].
 *
 * Returns: %TRUE if the server is now listening, or (through a proxy) has
 *   started asking the proxy to listen
 *
 * Since: 1.0
 */
gboolean
tcp_server_listen (TcpServer     *self,
                   GInetAddress  *address,
                   guint16        port,
                   GError       **error)
{
  TcpServerPrivate *priv;
  GError *local_error = NULL;
  GSocket *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = tcp_server_get_instance_private (self);

  if (!check_not_listening (self, error))
    return FALSE;
  if (!check_hooks (self, error))
    return FALSE;

  if (uses_proxy (self, address))
    return listen_through_proxy (self, address, port, NULL, error);

  listener = tcp_socket_open_listener (address, port, priv->backlog, priv->reuse_port,
                                       &local_error);
  if (listener == NULL)
    return fail (self, error, local_error);

  start_listening (self, listener);
  notify_listening_state (self);

  return TRUE;
}

/**
 * tcp_server_listen_on:
 * @self: a [class@Tcp.Server]
 * @host: (nullable): a numeric IPv4 or IPv6 address such as `"127.0.0.1"` or
 *   `"::1"`, or %NULL for any address
 * @port: the port to listen on, or 0 to let the system pick one
 * @error: return location for a [struct@GLib.Error]
 *
 * Like [method@Tcp.Server.listen], with the address as a string. Host names
 * are not resolved (that would block): a string that is not a numeric
 * address fails with %G_IO_ERROR_INVALID_ARGUMENT.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.0
 */
gboolean
tcp_server_listen_on (TcpServer    *self,
                      const gchar  *host,
                      guint16       port,
                      GError      **error)
{
  g_autoptr(GInetAddress) address = NULL;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (host == NULL)
    return tcp_server_listen (self, NULL, port, error);

  address = g_inet_address_new_from_string (host);
  if (address == NULL)
    {
      /* Error messages are UTF-8 (bindings decode them): a host that is not
       * shows up with replacement characters. */
      g_autofree gchar *printable = g_utf8_make_valid (host, -1);

      return fail (self, error,
                   g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                "Could not listen on “%s”: not a numeric IPv4 or IPv6 address",
                                printable));
    }

  return tcp_server_listen (self, address, port, error);
}

/**
 * tcp_server_close:
 * @self: a [class@Tcp.Server]
 *
 * Stops listening. Connections still in the pending queue are closed (their
 * clients see end-of-file) and dropped; connections already taken from the
 * queue are not touched. Pending [method@Tcp.Server.accept_async] calls fail
 * with %G_IO_ERROR_CLOSED. An exchange with a SOCKS5 proxy in progress is
 * abandoned (its connection closed), and a pending
 * [method@Tcp.Server.listen_async] fails with %G_IO_ERROR_CANCELLED.
 *
 * Safe to call on a server that never listened, and from inside any signal
 * handler or virtual function of the server.
 *
 * Since: 1.0
 */
void
tcp_server_close (TcpServer *self)
{
  TcpServerPrivate *priv;
  g_autoptr(GTask) listen_task = NULL;
  gboolean was_listening;
  GQueue waiters;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  was_listening = tcp_server_is_listening (self);
  listen_task = g_steal_pointer (&priv->listen_task);
  waiters = stop_listening (self);

  /* The server is consistent again: now let user code run. */
  g_object_ref (self);
  if (was_listening)
    notify_listening_state (self);
  if (listen_task != NULL)
    g_task_return_new_error (listen_task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The server was closed before the proxy bound a port");
  fail_waiters (&waiters);
  g_object_unref (self);
}

/**
 * tcp_server_is_listening:
 * @self: a [class@Tcp.Server]
 *
 * Checks whether the server is listening, after a successful
 * [method@Tcp.Server.listen] or [method@Tcp.Server.set_socket_descriptor]
 * and until [method@Tcp.Server.close].
 *
 * Through a SOCKS5 proxy the server is listening from the proxy's first
 * BIND reply until a peer connects (or the proxy fails).
 *
 * Returns: whether the server is listening
 *
 * Since: 1.0
 */
gboolean
tcp_server_is_listening (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  priv = tcp_server_get_instance_private (self);

  /* Through a proxy, the address is set from the first reply on. */
  return priv->listener != NULL ||
         (priv->socks5 != NULL && priv->server_address != NULL);
}

/**
 * tcp_server_get_server_address:
 * @self: a [class@Tcp.Server]
 *
 * Gets the local address of the listening socket. After listening with a
 * %NULL (dual-stack) address this is `::`.
 *
 * Returns: (transfer none) (nullable): the address the server listens on, or
 *   %NULL when it is not listening
 *
 * Since: 1.0
 */
GInetAddress *
tcp_server_get_server_address (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  priv = tcp_server_get_instance_private (self);

  return priv->server_address;
}

/**
 * tcp_server_get_server_port:
 * @self: a [class@Tcp.Server]
 *
 * Gets the local port of the listening socket: the one the system picked
 * when [method@Tcp.Server.listen] was given port 0.
 *
 * Returns: the port the server listens on, or 0 when it is not listening
 *
 * Since: 1.0
 */
guint16
tcp_server_get_server_port (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  priv = tcp_server_get_instance_private (self);

  return priv->server_port;
}

/**
 * tcp_server_get_max_pending_connections:
 * @self: a [class@Tcp.Server]
 *
 * Gets how many accepted connections may wait in the pending queue before
 * the server stops accepting.
 *
 * Returns: the value of [property@Tcp.Server:max-pending-connections]
 *
 * Since: 1.0
 */
gint
tcp_server_get_max_pending_connections (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), DEFAULT_MAX_PENDING);

  priv = tcp_server_get_instance_private (self);

  return priv->max_pending;
}

/**
 * tcp_server_set_max_pending_connections:
 * @self: a [class@Tcp.Server]
 * @n: the largest number of connections the queue may hold, at least 1
 *
 * Sets [property@Tcp.Server:max-pending-connections]. Takes effect at once:
 * lowering it below the queue's length stops accepting until the queue is
 * drained below @n; raising it resumes accepting.
 *
 * Since: 1.0
 */
void
tcp_server_set_max_pending_connections (TcpServer *self,
                                        gint       n)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (n >= 1);

  priv = tcp_server_get_instance_private (self);

  if (priv->max_pending == n)
    return;

  priv->max_pending = n;
  update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PENDING_CONNECTIONS]);
}

/**
 * tcp_server_get_listen_backlog_size:
 * @self: a [class@Tcp.Server]
 *
 * Gets the length of the kernel's listen queue that the next
 * [method@Tcp.Server.listen] asks for.
 *
 * Returns: the value of [property@Tcp.Server:listen-backlog-size]
 *
 * Since: 1.0
 */
gint
tcp_server_get_listen_backlog_size (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), DEFAULT_BACKLOG);

  priv = tcp_server_get_instance_private (self);

  return priv->backlog;
}

/**
 * tcp_server_set_listen_backlog_size:
 * @self: a [class@Tcp.Server]
 * @size: the kernel listen queue length, at least 1
 *
 * Sets [property@Tcp.Server:listen-backlog-size]. It applies at the next
 * [method@Tcp.Server.listen].
 *
 * Since: 1.0
 */
void
tcp_server_set_listen_backlog_size (TcpServer *self,
                                    gint       size)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (size >= 1);

  priv = tcp_server_get_instance_private (self);

  if (priv->backlog == size)
    return;

  priv->backlog = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_BACKLOG_SIZE]);
}

/**
 * tcp_server_get_reuse_port:
 * @self: a [class@Tcp.Server]
 *
 * Gets whether the next [method@Tcp.Server.listen] sets `SO_REUSEPORT`.
 *
 * Returns: the value of [property@Tcp.Server:reuse-port]
 *
 * Since: 1.0
 */
gboolean
tcp_server_get_reuse_port (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  priv = tcp_server_get_instance_private (self);

  return priv->reuse_port;
}

/**
 * tcp_server_set_reuse_port:
 * @self: a [class@Tcp.Server]
 * @reuse_port: whether to set `SO_REUSEPORT` at the next listen
 *
 * Sets [property@Tcp.Server:reuse-port].
 *
 * Since: 1.0
 */
void
tcp_server_set_reuse_port (TcpServer *self,
                           gboolean   reuse_port)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  reuse_port = !!reuse_port;
  if (priv->reuse_port == reuse_port)
    return;

  priv->reuse_port = reuse_port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REUSE_PORT]);
}

/**
 * tcp_server_has_pending_connections: (virtual has_pending_connections)
 * @self: a [class@Tcp.Server]
 *
 * Checks whether a connection waits in the pending queue. A subclass that
 * keeps connections elsewhere overrides this together with
 * [vfunc@Tcp.Server.next_pending_connection].
 *
 * Returns: whether a connection is waiting in the pending queue
 *
 * Since: 1.0
 */
gboolean
tcp_server_has_pending_connections (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  return TCP_SERVER_GET_CLASS (self)->has_pending_connections (self);
}

/**
 * tcp_server_next_pending_connection: (virtual next_pending_connection)
 * @self: a [class@Tcp.Server]
 *
 * Takes the oldest connection from the pending queue. Taking one from a
 * full queue resumes accepting.
 *
 * The connection is a [class@Gio.TcpConnection] for a plain server and a
 * [iface@Gio.TlsServerConnection] for [class@Tcp.TlsServer]. It belongs to
 * the caller: the server never touches it again, and closing or dropping
 * the server leaves it open.
 *
 * Returns: (transfer full) (nullable): the next connection, or %NULL when
 *   the queue is empty
 *
 * Since: 1.0
 */
GIOStream *
tcp_server_next_pending_connection (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  return TCP_SERVER_GET_CLASS (self)->next_pending_connection (self);
}

/**
 * tcp_server_get_n_pending_connections:
 * @self: a [class@Tcp.Server]
 *
 * Counts the connections waiting in the pending queue, taken by neither
 * [method@Tcp.Server.next_pending_connection] nor
 * [method@Tcp.Server.accept_async] yet.
 *
 * Returns: how many connections wait in the pending queue
 *
 * Since: 1.0
 */
guint
tcp_server_get_n_pending_connections (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), 0);

  priv = tcp_server_get_instance_private (self);

  return priv->pending.length;
}

/**
 * tcp_server_add_pending_connection:
 * @self: a [class@Tcp.Server]
 * @connection: the connection to queue
 *
 * Appends @connection to the pending queue and emits
 * [signal@Tcp.Server::pending-connection-available]. This is what the
 * default [vfunc@Tcp.Server.incoming_connection] does with every accepted
 * socket; an override calls it to queue what it made of the socket. It also
 * works on a server that is not listening.
 *
 * Since: 1.0
 */
void
tcp_server_add_pending_connection (TcpServer *self,
                                   GIOStream *connection)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (G_IS_IO_STREAM (connection));

  priv = tcp_server_get_instance_private (self);

  g_queue_push_tail (&priv->pending, g_object_ref (connection));
  update_accepting (self);

  /* A handler or an accept_async() callback may drop the last reference;
   * outside the accept batch (a subclass queueing after a TLS handshake)
   * nobody else holds one for us. */
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_PENDING_CONNECTION_AVAILABLE], 0);
  serve_waiters (self);
  g_object_unref (self);
}

/**
 * tcp_server_pause_accepting:
 * @self: a [class@Tcp.Server]
 *
 * Stops accepting new connections; clients wait in the kernel's listen
 * queue. The pause holds until [method@Tcp.Server.resume_accepting],
 * whatever happens to the pending queue meanwhile.
 *
 * Since: 1.0
 */
void
tcp_server_pause_accepting (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  if (priv->paused)
    return;

  priv->paused = TRUE;
  update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAUSED]);
}

/**
 * tcp_server_resume_accepting:
 * @self: a [class@Tcp.Server]
 *
 * Ends a pause started by [method@Tcp.Server.pause_accepting].
 *
 * Since: 1.0
 */
void
tcp_server_resume_accepting (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  if (!priv->paused)
    return;

  priv->paused = FALSE;
  update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAUSED]);
}

/**
 * tcp_server_is_paused:
 * @self: a [class@Tcp.Server]
 *
 * Checks whether accepting is paused by
 * [method@Tcp.Server.pause_accepting].
 *
 * Returns: whether [method@Tcp.Server.pause_accepting] is in force
 *
 * Since: 1.0
 */
gboolean
tcp_server_is_paused (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  priv = tcp_server_get_instance_private (self);

  return priv->paused;
}

/**
 * tcp_server_get_socket_descriptor:
 * @self: a [class@Tcp.Server]
 *
 * Gets the file descriptor of the listening socket, Qt's
 * `socketDescriptor()`.
 *
 * Returns: the listening socket's file descriptor, or -1 when not listening
 *   (or listening through a SOCKS5 proxy, which has no local listening socket)
 *
 * Since: 1.0
 */
gint
tcp_server_get_socket_descriptor (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), -1);

  priv = tcp_server_get_instance_private (self);

  return priv->listener != NULL ? g_socket_get_fd (priv->listener) : -1;
}

/**
 * tcp_server_set_socket_descriptor:
 * @self: a [class@Tcp.Server]
 * @fd: a listening TCP socket
 * @error: return location for a [struct@GLib.Error]
 *
 * Adopts @fd, a socket that is already bound and listening (from systemd
 * socket activation, say, or passed by a parent process), and starts
 * accepting on it on the thread-default [struct@GLib.MainContext].
 *
 * On success the server owns @fd: it makes it non-blocking and
 * close-on-exec, and closes it in [method@Tcp.Server.close]. A negative or
 * closed descriptor, something that is not a socket, a socket that is not
 * TCP (UDP, Unix) or not listening, or a server that is already listening,
 * fails with a [struct@GLib.Error] and changes nothing: @fd stays the
 * caller's, untouched.
 *
 * Returns: %TRUE if the server now listens on @fd
 *
 * Since: 1.0
 */
gboolean
tcp_server_set_socket_descriptor (TcpServer  *self,
                                  gint        fd,
                                  GError    **error)
{
  GError *local_error = NULL;
  GSocket *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_not_listening (self, error) || !check_hooks (self, error))
    return FALSE;

  listener = tcp_socket_adopt_listener (fd, &local_error);
  if (listener == NULL)
    return fail (self, error, local_error);

  start_listening (self, listener);
  notify_listening_state (self);

  return TRUE;
}

/**
 * tcp_server_get_socket:
 * @self: a [class@Tcp.Server]
 *
 * Gets the listening [class@Gio.Socket], for socket options libtcp has no
 * API for. Do not close it or accept on it: the server does both.
 *
 * Returns: (transfer none) (nullable): the listening socket, or %NULL when
 *   not listening
 *
 * Since: 1.0
 */
GSocket *
tcp_server_get_socket (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  priv = tcp_server_get_instance_private (self);

  return priv->listener;
}

/* Blocks until the listening socket is readable, the back-off delay has
 * passed, or @timeout_us (-1: forever) runs out. */
static void
wait_for_listener (TcpServer *self,
                   gint64     timeout_us)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  guint backoff_ms = tcp_accept_engine_get_backoff_ms (priv->engine);

  if (backoff_ms > 0)
    {
      gint64 delay_us = (gint64) backoff_ms * 1000;

      g_usleep (timeout_us >= 0 ? MIN (delay_us, timeout_us) : delay_us);
      return;
    }

  g_socket_condition_timed_wait (priv->listener, G_IO_IN, timeout_us, NULL, NULL);
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
listener_readable_cb (GSocket      *socket,
                      GIOCondition  condition,
                      gpointer      user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs one iteration of the server's context (which the caller holds),
 * waking up when the listening socket is readable or @timeout_us (-1:
 * forever) runs out. */
static void
iterate_context (TcpServer    *self,
                 GMainContext *context,
                 gint64        timeout_us)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  guint backoff_ms = tcp_accept_engine_get_backoff_ms (priv->engine);
  g_autoptr(GSource) timer = NULL;
  g_autoptr(GSource) readable = NULL;

  if (backoff_ms > 0)
    {
      gint64 delay_us = (gint64) backoff_ms * 1000;

      timeout_us = timeout_us >= 0 ? MIN (timeout_us, delay_us) : delay_us;
    }
  else if (n_occupied (priv) < (guint) priv->max_pending)
    {
      readable = g_socket_create_source (priv->listener, G_IO_IN, NULL);
      g_source_set_callback (readable, G_SOURCE_FUNC (listener_readable_cb), NULL, NULL);
      g_source_set_static_name (readable, "[tcp] wait for a connection");
      g_source_attach (readable, context);
    }

  if (timeout_us >= 0)
    {
      timer = g_timeout_source_new ((guint) MIN ((timeout_us + 999) / 1000, G_MAXUINT));
      g_source_set_callback (timer, wake_cb, NULL, NULL);
      g_source_set_static_name (timer, "[tcp] wait timeout");
      g_source_attach (timer, context);
    }

  g_main_context_iteration (context, TRUE);

  if (readable != NULL)
    g_source_destroy (readable);
  if (timer != NULL)
    g_source_destroy (timer);
}

/**
 * tcp_server_wait_for_new_connection:
 * @self: a [class@Tcp.Server]
 * @msec: how long to wait, in milliseconds, or -1 to wait forever
 * @timed_out: (out) (optional): set to %TRUE when @msec passed first
 * @error: return location for a [struct@GLib.Error]
 *
 * Blocks, without a main loop, until a connection is in the pending queue or
 * @msec milliseconds have passed. Accepted sockets go through
 * [vfunc@Tcp.Server.incoming_connection] and the server's signals are
 * emitted, as when a main loop runs. It accepts even while
 * [method@Tcp.Server.pause_accepting] is in force: the caller asked for a
 * connection.
 *
 * While a subclass has work in flight on the server's context (the TLS
 * handshakes of a [class@Tcp.TlsServer]), it iterates that context, if the
 * calling thread can acquire it, so that the work completes: other sources
 * attached to that context may then be dispatched too.
 *
 * This blocks the calling thread: in an application with a main loop,
 * use [signal@Tcp.Server::new-connection] or
 * [method@Tcp.Server.accept_async] instead.
 *
 * Through a SOCKS5 proxy it drives the exchange with the proxy itself,
 * and fails with the proxy's error if the proxy gives up.
 *
 * Returns: %TRUE when a connection is pending. On timeout %FALSE, with
 *   @timed_out set and %G_IO_ERROR_TIMED_OUT; on a server that is not
 *   listening %FALSE with %G_IO_ERROR_NOT_CONNECTED.
 *
 * Since: 1.0
 */
gboolean
tcp_server_wait_for_new_connection (TcpServer  *self,
                                    gint        msec,
                                    gboolean   *timed_out,
                                    GError    **error)
{
  TcpServerPrivate *priv;
  gint64 deadline;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = tcp_server_get_instance_private (self);

  if (timed_out != NULL)
    *timed_out = FALSE;

  if (tcp_server_has_pending_connections (self))
    return TRUE;

  deadline = msec < 0 ? -1 : g_get_monotonic_time () + (gint64) msec * 1000;

  for (;;)
    {
      g_autoptr(TcpAcceptEngine) engine = NULL;
      gint64 remaining = -1;

      if (priv->engine == NULL && priv->socks5 == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "Cannot wait for a connection: the server is not listening");
          return FALSE;
        }

      /* Past the deadline the socket is still polled once, without
       * blocking: with 0 ms a client already waiting is taken. */
      if (deadline >= 0)
        remaining = MAX (deadline - g_get_monotonic_time (), 0);

      if (priv->socks5 != NULL)
        {
          g_autoptr(TcpSocks5Client) socks5 = tcp_socks5_client_ref (priv->socks5);

          tcp_socks5_client_wait (socks5, remaining);
          if (tcp_server_has_pending_connections (self))
            return TRUE;
          if (priv->socks5 == NULL && priv->engine == NULL)
            {
              /* The proxy failed: that is the error, not "not listening". */
              g_set_error_literal (error, G_IO_ERROR, priv->error_code,
                                   tcp_server_get_error_string (self));
              return FALSE;
            }
          if (remaining == 0)
            break;
          continue;
        }

      if (priv->n_reserved > 0 && g_main_context_acquire (priv->context))
        {
          /* Reserved slots are work in flight on the server's context (TLS
           * handshakes): nothing completes unless that context runs. */
          g_autoptr(GMainContext) context = g_main_context_ref (priv->context);

          iterate_context (self, context, remaining);
          g_main_context_release (context);
          if (priv->engine == NULL)
            continue;
        }
      else if (priv->n_reserved > 0)
        {
          /* Another thread runs the context: check back now and then. */
          wait_for_listener (self, remaining >= 0 ? MIN (remaining, 50000) : 50000);
        }
      else
        {
          wait_for_listener (self, remaining);
        }

      /* Reserved slots count toward the limit even here. */
      engine = tcp_accept_engine_ref (priv->engine);
      if (n_occupied (priv) < (guint) priv->max_pending)
        tcp_accept_engine_accept (engine, 1);

      if (tcp_server_has_pending_connections (self))
        return TRUE;

      if (remaining == 0)
        break;
    }

  if (timed_out != NULL)
    *timed_out = TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "No connection arrived within %d ms", msec);
  return FALSE;
}

/**
 * tcp_server_get_server_error:
 * @self: a [class@Tcp.Server]
 *
 * The code of the last error of the server: a failed listen, accept,
 * adoption of a descriptor, or proxy exchange. Before any error it is
 * %G_IO_ERROR_FAILED, like Qt's `UnknownSocketError`.
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

/**
 * tcp_server_get_proxy:
 * @self: a [class@Tcp.Server]
 *
 * Gets the URI of the proxy the server listens through.
 *
 * Returns: (nullable): the value of [property@Tcp.Server:proxy]
 *
 * Since: 1.0
 */
const gchar *
tcp_server_get_proxy (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  priv = tcp_server_get_instance_private (self);

  return priv->proxy;
}

/**
 * tcp_server_set_proxy:
 * @self: a [class@Tcp.Server]
 * @uri: (nullable): a `socks5://[user:password@]host:port` URI, or %NULL to
 *   listen directly
 *
 * Sets [property@Tcp.Server:proxy]. It applies at the next
 * [method@Tcp.Server.listen]; a scheme other than `socks5` makes that fail
 * with %G_IO_ERROR_NOT_SUPPORTED.
 *
 * Since: 1.0
 */
void
tcp_server_set_proxy (TcpServer   *self,
                      const gchar *uri)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  if (g_strcmp0 (priv->proxy, uri) == 0)
    return;

  g_free (priv->proxy);
  priv->proxy = g_strdup (uri);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROXY]);
}

/**
 * tcp_server_get_proxy_timeout:
 * @self: a [class@Tcp.Server]
 *
 * Gets how long [method@Tcp.Server.listen] waits for a SOCKS5 proxy's first
 * reply.
 *
 * Returns: the value of [property@Tcp.Server:proxy-timeout], in milliseconds
 *
 * Since: 1.0
 */
guint
tcp_server_get_proxy_timeout (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_val_if_fail (TCP_IS_SERVER (self), DEFAULT_PROXY_TIMEOUT);

  priv = tcp_server_get_instance_private (self);

  return priv->proxy_timeout;
}

/**
 * tcp_server_set_proxy_timeout:
 * @self: a [class@Tcp.Server]
 * @msec: how long the proxy may take to bind a port, in milliseconds, or 0
 *   to wait forever
 *
 * Sets [property@Tcp.Server:proxy-timeout]. It applies at the next
 * [method@Tcp.Server.listen].
 *
 * Since: 1.0
 */
void
tcp_server_set_proxy_timeout (TcpServer *self,
                              guint      msec)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = tcp_server_get_instance_private (self);

  if (priv->proxy_timeout == msec)
    return;

  priv->proxy_timeout = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROXY_TIMEOUT]);
}

static void
destroy_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

static gboolean
accept_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TcpServer *self = g_task_get_source_object (task);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  if (g_queue_remove (&priv->waiters, task))
    {
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }

  return G_SOURCE_REMOVE;
}

/**
 * tcp_server_accept_async:
 * @self: a [class@Tcp.Server]
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when a connection is available
 * @user_data: data for @callback
 *
 * Takes the next pending connection, waiting for one if the queue is empty.
 * Several calls may wait at once; they are served in order. Finish with
 * [method@Tcp.Server.accept_finish].
 *
 * It fails with %G_IO_ERROR_NOT_CONNECTED on a server that is neither
 * listening nor holding a pending connection, with %G_IO_ERROR_CLOSED when
 * [method@Tcp.Server.close] is called while waiting, and with
 * %G_IO_ERROR_CANCELLED when @cancellable is cancelled.
 *
 * Since: 1.0
 */
void
tcp_server_accept_async (TcpServer           *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  TcpServerPrivate *priv;
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  priv = tcp_server_get_instance_private (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tcp_server_accept_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (tcp_server_has_pending_connections (self))
    {
      g_task_return_pointer (task, tcp_server_next_pending_connection (self), g_object_unref);
      return;
    }

  if (priv->listener == NULL && priv->socks5 == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "Cannot accept a connection: the server is not listening");
      return;
    }

  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (accept_cancelled_cb), task, NULL);
      g_source_set_static_name (source, "[tcp] accept cancelled");
      g_source_attach (source, g_task_get_context (task));
      g_task_set_task_data (task, source, destroy_source);
    }

  g_queue_push_tail (&priv->waiters, g_steal_pointer (&task));
}

/**
 * tcp_server_accept_finish:
 * @self: a [class@Tcp.Server]
 * @result: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error]
 *
 * Finishes [method@Tcp.Server.accept_async].
 *
 * Returns: (transfer full): the connection
 *
 * Since: 1.0
 */
GIOStream *
tcp_server_accept_finish (TcpServer     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tcp_server_accept_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Private API for subclasses inside libtcp. */

void
_tcp_server_reserve_slot (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  priv->n_reserved++;
  update_accepting (self);
}

void
_tcp_server_release_slot (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  g_return_if_fail (priv->n_reserved > 0);

  priv->n_reserved--;
  update_accepting (self);
}

guint
_tcp_server_get_n_reserved (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  return priv->n_reserved;
}

GMainContext *
_tcp_server_get_context (TcpServer *self)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  return priv->context;
}

void
_tcp_server_set_error (TcpServer    *self,
                       const GError *error)
{
  set_error (self, error);
}

static gboolean
listen_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TcpServer *self = g_task_get_source_object (task);
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);
  GQueue waiters;

  if (priv->listen_task != task)
    return G_SOURCE_REMOVE;

  priv->listen_task = NULL;
  waiters = stop_listening (self);
  g_task_return_error_if_cancelled (task);
  g_object_unref (task);
  fail_waiters (&waiters);

  return G_SOURCE_REMOVE;
}

/**
 * tcp_server_listen_async:
 * @self: a [class@Tcp.Server]
 * @address: (nullable): the address to listen on, or %NULL for any address
 * @port: the port to listen on, or 0 to let the system (or the proxy) pick one
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called once the server listens, or failed to
 * @user_data: data for @callback
 *
 * Like [method@Tcp.Server.listen], but reports the outcome to @callback;
 * finish with [method@Tcp.Server.listen_finish].
 *
 * This matters when listening through a SOCKS5 proxy
 * ([property@Tcp.Server:proxy]): @callback runs once the proxy has bound a
 * port, when [property@Tcp.Server:server-address] and
 * [property@Tcp.Server:server-port] tell peers where to connect, or with the
 * proxy's error, which then is not emitted as
 * [signal@Tcp.Server::accept-error]. Cancelling @cancellable, or calling
 * [method@Tcp.Server.close], before that abandons the exchange with
 * %G_IO_ERROR_CANCELLED. Listening directly completes at once.
 *
 * Since: 1.0
 */
void
tcp_server_listen_async (TcpServer           *self,
                         GInetAddress        *address,
                         guint16              port,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  TcpServerPrivate *priv;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (address == NULL || G_IS_INET_ADDRESS (address));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  priv = tcp_server_get_instance_private (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tcp_server_listen_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (!check_not_listening (self, &error) || !check_hooks (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (!uses_proxy (self, address))
    {
      if (tcp_server_listen (self, address, port, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, error);
      return;
    }

  if (!listen_through_proxy (self, address, port, task, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (cancellable != NULL)
    {
      GSource *source = g_cancellable_source_new (cancellable);

      g_source_set_callback (source, G_SOURCE_FUNC (listen_cancelled_cb), task, NULL);
      g_source_set_static_name (source, "[tcp] listen cancelled");
      g_source_attach (source, priv->context);
      g_task_set_task_data (task, source, destroy_source);
    }
}

/**
 * tcp_server_listen_finish:
 * @self: a [class@Tcp.Server]
 * @result: the [iface@Gio.AsyncResult] passed to the callback
 * @error: return location for a [struct@GLib.Error]
 *
 * Finishes [method@Tcp.Server.listen_async].
 *
 * Returns: %TRUE if the server is listening
 *
 * Since: 1.0
 */
gboolean
tcp_server_listen_finish (TcpServer     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tcp_server_listen_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
_tcp_server_set_hooks (TcpServer            *self,
                       const TcpServerHooks *hooks)
{
  TcpServerPrivate *priv = tcp_server_get_instance_private (self);

  priv->hooks = hooks;
}

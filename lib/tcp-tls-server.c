/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-server.c: a TLS server, Qt's QSslServer the GIO way
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include "tcp-tls-server.h"
#include "tcp-server-private.h"
#include "tcp-socket-setup-private.h"
#include "tcp-tracked-connection-private.h"
#include "tcp-tls-handshake-private.h"
#include "tcp-context-bridge-private.h"

/**
 * TcpTlsServer:
 *
 * A [class@Tcp.Server] that speaks TLS: every accepted socket goes through a
 * TLS handshake, run by GIO's TLS backend (glib-networking), and only a
 * connection whose handshake completed reaches the pending queue, as a
 * [iface@Gio.TlsServerConnection].
 *
 * It is Qt's `QSslServer`. The certificate, the client-certificate policy
 * ([property@Tcp.TlsServer:authentication-mode] and
 * [property@Tcp.TlsServer:database]) and
 * [property@Tcp.TlsServer:handshake-timeout] apply to every connection
 * accepted after they are set.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(TcpTlsServer) server = NULL;
 *
 * server = tcp_tls_server_new_from_files ("server.crt", "server.key", &error);
 * if (server == NULL)
 *   g_error ("%s", error->message);
 * g_signal_connect (server, "pending-connection-available",
 *                   G_CALLBACK (connection_ready_cb), NULL);
 * tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 4433, &error);
 * ```
 *
 * ## When the signals fire
 *
 * [signal@Tcp.Server::new-connection] is emitted when the TCP connection is
 * accepted, right after the handshake has started and
 * [signal@Tcp.TlsServer::started-encryption-handshake] was emitted; at that
 * point nothing is in the queue yet. Wait for
 * [signal@Tcp.Server::pending-connection-available] (or use
 * [method@Tcp.Server.accept_async] or
 * [method@Tcp.Server.wait_for_new_connection]), which is emitted once the
 * handshake has completed and the connection is queued. A handshake that
 * fails emits [signal@Tcp.TlsServer::handshake-failed] and its connection is
 * closed.
 *
 * ## Slow and hostile clients
 *
 * A connection in handshake holds one of the
 * [property@Tcp.Server:max-pending-connections] slots, so clients that never
 * finish their handshake cannot make the server hold more than that many
 * sockets: once the slots are taken the server stops accepting until a
 * handshake ends. [property@Tcp.TlsServer:handshake-timeout] bounds the time
 * from accept to the end of the handshake.
 *
 * A handshake reaches GIO (and one of GLib's worker threads) only once the
 * client's first TLS record has arrived whole: a client that says nothing,
 * or part of its first record, holds no thread and under a kilobyte of
 * memory. A client whose first bytes are not TLS is dropped at once. With
 * [property@Tcp.TlsServer:authentication-mode] %G_TLS_AUTHENTICATION_NONE
 * connections get no TLS database, so an established connection costs
 * about 14 KiB instead of the 3.6 MB of GIO's default database (the system's
 * trust store). See the TLS guide for the figures.
 *
 * [method@Tcp.Server.close], and dropping the last reference to the server,
 * cancel every handshake in flight and release their sockets at once, even
 * if the server's main context never runs again; no signal is emitted for
 * them.
 *
 * ## The TLS backend
 *
 * The handshakes are done by glib-networking (GnuTLS), a run-time
 * dependency. Without a TLS backend [method@Tcp.Server.listen] fails with
 * %G_IO_ERROR_NOT_SUPPORTED.
 *
 * Since: 1.0
 */

struct _TcpTlsServer
{
  TcpServer               parent_instance;

  GTlsCertificate        *certificate;
  GTlsAuthenticationMode  authentication_mode;
  GTlsDatabase           *database;
  guint                   handshake_timeout;

  GQueue                  handshakes;    /* TcpTlsHandshake *, in flight, holding slots */
  GQueue                  abandoned;     /* TcpTlsHandshake *, cancelled, in GIO's hands */
  guint                   n_closes;      /* how often the server abandoned them all */
  TcpContextBridge       *bridge;        /* GIO's handshakes report there */
};

enum {
  PROP_0,
  PROP_CERTIFICATE,
  PROP_AUTHENTICATION_MODE,
  PROP_DATABASE,
  PROP_HANDSHAKE_TIMEOUT,
  N_PROPS
};

enum {
  SIGNAL_STARTED_ENCRYPTION_HANDSHAKE,
  SIGNAL_HANDSHAKE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (TcpTlsServer, tcp_tls_server, TCP_TYPE_SERVER)

#define DEFAULT_HANDSHAKE_TIMEOUT 5000

/* How long close() waits for GIO to give back the handshakes it cancelled,
 * which it does within milliseconds: they are cancelled and their sockets
 * shut down. */
#define DRAIN_TIMEOUT_US (2 * G_USEC_PER_SEC)

static gchar *
describe_peer (GSocket *socket)
{
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (remote);

      return tcp_socket_describe (g_inet_socket_address_get_address (inet),
                                  g_inet_socket_address_get_port (inet));
    }

  return g_strdup ("an unknown peer");
}

static void
handshake_done_cb (TcpTlsHandshake *handshake,
                   GIOStream       *connection,
                   const GError    *error,
                   gboolean         abandoned,
                   gpointer         user_data)
{
  TcpTlsServer *self = user_data;

  if (abandoned)
    {
      /* Its slot went when the server abandoned it. */
      g_queue_unlink (&self->abandoned, tcp_tls_handshake_get_link (handshake));
      return;
    }

  /* Handlers may close the server or drop the last reference to it. */
  g_object_ref (self);
  g_queue_unlink (&self->handshakes, tcp_tls_handshake_get_link (handshake));
  _tcp_server_release_slot (TCP_SERVER (self));

  if (error == NULL)
    tcp_server_add_pending_connection (TCP_SERVER (self), connection);
  else
    g_signal_emit (self, signals[SIGNAL_HANDSHAKE_FAILED], 0, connection, error);

  g_object_unref (self);
}

/* Waits, for a while, for GIO to give back the handshakes it was running
 * when they were abandoned, so that their sockets are closed now and
 * nothing is left for a context that may never run again. */
static void
drain_abandoned (TcpTlsServer *self)
{
  gint64 deadline = g_get_monotonic_time () + DRAIN_TIMEOUT_US;

  while (self->abandoned.length > 0)
    {
      gint64 left = deadline - g_get_monotonic_time ();

      if (left <= 0 || !tcp_context_bridge_iterate (self->bridge, left))
        break;
    }
}

/* Abandons every handshake in flight, without a signal, and closes their
 * connections. */
static void
abandon_handshakes (TcpTlsServer *self)
{
  GList *link;

  self->n_closes++;

  while ((link = self->handshakes.head) != NULL)
    {
      g_queue_unlink (&self->handshakes, link);
      g_queue_push_tail_link (&self->abandoned, link);
      _tcp_server_release_slot (TCP_SERVER (self));
      /* In its first stage it reports (and leaves the list) right away. */
      tcp_tls_handshake_abandon (link->data);
    }

  drain_abandoned (self);
}

/* On the server side GIO asks accept-certificate about every client
 * certificate, even one the database validated, and rejects it unless a
 * handler says yes. This handler runs after the application's. */
static gboolean
accept_valid_certificate_cb (GTlsConnection       *connection,
                             GTlsCertificate      *peer_certificate,
                             GTlsCertificateFlags  errors,
                             gpointer              user_data)
{
  return errors == 0;
}

/* The TLS side of @base. With authentication-mode NONE no client
 * certificate is ever checked, so the connection gets no database: GIO's
 * default one costs every connection a parse of the system's trust store
 * (about 3.6 MB of memory and 6 ms of CPU each, in glib-networking 2.74).
 * It is given at construction, where glib-networking builds its
 * credentials; setting it afterwards would come too late. */
static GIOStream *
new_tls_connection (TcpTlsServer  *self,
                    GIOStream     *base,
                    GError       **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  const gchar *names[] = { "base-io-stream", "certificate", "authentication-mode", "database" };
  GValue values[G_N_ELEMENTS (names)] = { G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT };
  guint n_properties = 3;
  GObject *connection;

  g_value_init (&values[0], G_TYPE_IO_STREAM);
  g_value_set_object (&values[0], base);
  g_value_init (&values[1], G_TYPE_TLS_CERTIFICATE);
  g_value_set_object (&values[1], self->certificate);
  g_value_init (&values[2], G_TYPE_TLS_AUTHENTICATION_MODE);
  g_value_set_enum (&values[2], self->authentication_mode);
  if (self->authentication_mode == G_TLS_AUTHENTICATION_NONE || self->database != NULL)
    {
      g_value_init (&values[3], G_TYPE_TLS_DATABASE);
      if (self->authentication_mode != G_TLS_AUTHENTICATION_NONE)
        g_value_set_object (&values[3], self->database);
      n_properties = 4;
    }

  connection = g_object_new_with_properties (g_tls_backend_get_server_connection_type (backend),
                                             n_properties, names, values);
  for (guint i = 0; i < n_properties; i++)
    g_value_unset (&values[i]);

  if (!g_initable_init (G_INITABLE (connection), NULL, error))
    {
      g_object_unref (connection);
      return NULL;
    }

  g_signal_connect_after (connection, "accept-certificate",
                          G_CALLBACK (accept_valid_certificate_cb), NULL);
  return G_IO_STREAM (connection);
}

static void
tcp_tls_server_incoming_connection (TcpServer *server,
                                    GSocket   *socket)
{
  TcpTlsServer *self = TCP_TLS_SERVER (server);
  g_autofree gchar *peer = describe_peer (socket);
  g_autoptr(GIOStream) base = tcp_tracked_connection_new (socket);
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  GMainContext *context = _tcp_server_get_context (server);
  TcpTlsHandshake *handshake;
  guint n_closes = self->n_closes;

  connection = new_tls_connection (self, base, &error);
  if (connection == NULL)
    {
      g_autoptr(GError) reported = NULL;

      reported = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                              "Could not start a TLS handshake with %s: %s",
                              peer, error->message);
      g_io_stream_close (base, NULL, NULL);
      g_signal_emit (self, signals[SIGNAL_HANDSHAKE_FAILED], 0, base, reported);
      return;
    }

  /* In flight, holding a slot, from now: a handler's nested main loop must
   * not accept past the limit. */
  handshake = tcp_tls_handshake_new (connection, socket, peer, self->handshake_timeout,
                                     handshake_done_cb, self);
  g_queue_push_tail_link (&self->handshakes, tcp_tls_handshake_get_link (handshake));
  _tcp_server_reserve_slot (server);

  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_STARTED_ENCRYPTION_HANDSHAKE], 0, connection);

  if (self->n_closes != n_closes)
    {
      /* A handler closed the server, which abandoned (and freed) the
       * handshake and closed its connection, silently. */
      g_object_unref (self);
      return;
    }

  if (context == NULL)
    context = g_main_context_get_thread_default ();
  if (context == NULL)
    context = g_main_context_default ();
  tcp_context_bridge_attach (self->bridge, context);
  tcp_tls_handshake_start (handshake, context, tcp_context_bridge_get_context (self->bridge));

  g_object_unref (self);
}

static gboolean
check_listen (TcpServer  *server,
              GError    **error)
{
  TcpTlsServer *self = TCP_TLS_SERVER (server);
  g_autoptr(GByteArray) key = NULL;
  g_autofree gchar *pkcs11_key = NULL;

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "Could not listen for TLS connections: no TLS backend is "
                           "available (is glib-networking installed?)");
      return FALSE;
    }

  if (self->certificate == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "Could not listen for TLS connections: no certificate is set");
      return FALSE;
    }

  g_object_get (self->certificate,
                "private-key", &key,
                "private-key-pkcs11-uri", &pkcs11_key,
                NULL);
  if ((key == NULL || key->len == 0) && pkcs11_key == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "Could not listen for TLS connections: the certificate has no "
                           "private key");
      return FALSE;
    }

  return TRUE;
}

static void
stopped (TcpServer *server)
{
  abandon_handshakes (TCP_TLS_SERVER (server));
}

static const TcpServerHooks hooks = {
  .check_listen = check_listen,
  .stopped = stopped,
};

static void
tcp_tls_server_dispose (GObject *object)
{
  TcpTlsServer *self = TCP_TLS_SERVER (object);

  abandon_handshakes (self);
  tcp_context_bridge_detach (self->bridge);
  g_clear_object (&self->certificate);
  g_clear_object (&self->database);

  G_OBJECT_CLASS (tcp_tls_server_parent_class)->dispose (object);
}

static void
tcp_tls_server_finalize (GObject *object)
{
  TcpTlsServer *self = TCP_TLS_SERVER (object);

  g_clear_pointer (&self->bridge, tcp_context_bridge_free);

  G_OBJECT_CLASS (tcp_tls_server_parent_class)->finalize (object);
}

static void
tcp_tls_server_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TcpTlsServer *self = TCP_TLS_SERVER (object);

  switch (prop_id)
    {
    case PROP_CERTIFICATE:
      g_value_set_object (value, self->certificate);
      break;

    case PROP_AUTHENTICATION_MODE:
      g_value_set_enum (value, self->authentication_mode);
      break;

    case PROP_DATABASE:
      g_value_set_object (value, self->database);
      break;

    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_uint (value, self->handshake_timeout);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tcp_tls_server_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TcpTlsServer *self = TCP_TLS_SERVER (object);

  switch (prop_id)
    {
    case PROP_CERTIFICATE:
      tcp_tls_server_set_certificate (self, g_value_get_object (value));
      break;

    case PROP_AUTHENTICATION_MODE:
      tcp_tls_server_set_authentication_mode (self, g_value_get_enum (value));
      break;

    case PROP_DATABASE:
      tcp_tls_server_set_database (self, g_value_get_object (value));
      break;

    case PROP_HANDSHAKE_TIMEOUT:
      tcp_tls_server_set_handshake_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tcp_tls_server_class_init (TcpTlsServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TcpServerClass *server_class = TCP_SERVER_CLASS (klass);

  object_class->dispose = tcp_tls_server_dispose;
  object_class->finalize = tcp_tls_server_finalize;
  object_class->get_property = tcp_tls_server_get_property;
  object_class->set_property = tcp_tls_server_set_property;

  server_class->incoming_connection = tcp_tls_server_incoming_connection;
  _tcp_server_class_set_hooks (server_class, &hooks);

  /**
   * TcpTlsServer:certificate:
   *
   * The certificate, with its private key, the server presents to its
   * clients. [method@Tcp.Server.listen] fails with
   * %G_IO_ERROR_INVALID_ARGUMENT while it is %NULL or has no private key.
   *
   * Since: 1.0
   */
  properties[PROP_CERTIFICATE] =
    g_param_spec_object ("certificate", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpTlsServer:authentication-mode:
   *
   * Whether clients are asked for a certificate. With
   * %G_TLS_AUTHENTICATION_REQUIRED a client without a certificate that
   * [property@Tcp.TlsServer:database] validates fails the handshake; the
   * certificate of an accepted client is
   * [method@Gio.TlsConnection.get_peer_certificate] of its connection.
   *
   * A client certificate is accepted when the database validates it. To
   * accept others too, connect to [signal@Gio.TlsConnection::accept-certificate]
   * of the connection in [signal@Tcp.TlsServer::started-encryption-handshake]
   * and return %TRUE: the application's handlers run first.
   *
   * Since: 1.0
   */
  properties[PROP_AUTHENTICATION_MODE] =
    g_param_spec_enum ("authentication-mode", NULL, NULL,
                       G_TYPE_TLS_AUTHENTICATION_MODE,
                       G_TLS_AUTHENTICATION_NONE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpTlsServer:database:
   *
   * The database that validates client certificates, such as a
   * [iface@Gio.TlsFileDatabase] holding the certificate authorities that
   * sign them. %NULL (the default) leaves the TLS backend's default
   * database, the system's trust store, in place, which costs every
   * connection about 3.6 MB and 6 ms of CPU with glib-networking: set a small
   * database when [property@Tcp.TlsServer:authentication-mode] asks for
   * client certificates. With %G_TLS_AUTHENTICATION_NONE no database is
   * used.
   *
   * Since: 1.0
   */
  properties[PROP_DATABASE] =
    g_param_spec_object ("database", NULL, NULL,
                         G_TYPE_TLS_DATABASE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TcpTlsServer:handshake-timeout:
   *
   * How long, in milliseconds, a client has from the moment it is accepted
   * until its TLS handshake completes. A client that takes longer is
   * dropped with [signal@Tcp.TlsServer::handshake-failed] and
   * %G_IO_ERROR_TIMED_OUT. 0 means no limit, which lets silent clients hold
   * their slots for ever.
   *
   * Since: 1.0
   */
  properties[PROP_HANDSHAKE_TIMEOUT] =
    g_param_spec_uint ("handshake-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_HANDSHAKE_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TcpTlsServer::started-encryption-handshake:
   * @self: the server
   * @connection: the connection about to start its handshake
   *
   * Emitted for every accepted socket, before its TLS handshake starts and
   * before [signal@Tcp.Server::new-connection]. A handler may set up
   * @connection further (connect to
   * [signal@Gio.TlsConnection::accept-certificate], say). Calling
   * [method@Tcp.Server.close] here drops @connection without
   * [signal@Tcp.TlsServer::handshake-failed].
   *
   * Since: 1.0
   */
  signals[SIGNAL_STARTED_ENCRYPTION_HANDSHAKE] =
    g_signal_new ("started-encryption-handshake",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_TLS_SERVER_CONNECTION);

  /**
   * TcpTlsServer::handshake-failed:
   * @self: the server
   * @connection: the connection whose handshake failed
   * @error: why it failed
   *
   * Emitted when a connection is dropped before it reached the queue: its
   * handshake timed out (%G_IO_ERROR_TIMED_OUT), or it failed: the client's
   * first byte or first record was not TLS (%G_TLS_ERROR_NOT_TLS, at once),
   * it left before its first record was whole
   * (%G_IO_ERROR_CONNECTION_CLOSED), it sent no acceptable certificate
   * (%G_TLS_ERROR_CERTIFICATE_REQUIRED, %G_TLS_ERROR_BAD_CERTIFICATE) or
   * broke the protocol otherwise (a [error@Gio.TlsError] or
   * [error@Gio.IOErrorEnum]). The message always names the client's address.
   * @connection is already closed.
   *
   * It is not emitted for handshakes cancelled by [method@Tcp.Server.close]
   * or by the end of the server.
   *
   * Since: 1.0
   */
  signals[SIGNAL_HANDSHAKE_FAILED] =
    g_signal_new ("handshake-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_IO_STREAM, G_TYPE_ERROR);
}

static void
tcp_tls_server_init (TcpTlsServer *self)
{
  self->authentication_mode = G_TLS_AUTHENTICATION_NONE;
  self->handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
  self->bridge = tcp_context_bridge_new ();
}

/**
 * tcp_tls_server_new:
 * @certificate: (nullable): the server's certificate, with its private key
 *
 * Creates a TLS server that is not listening yet.
 *
 * Returns: (transfer full): a new [class@Tcp.TlsServer]
 *
 * Since: 1.0
 */
TcpTlsServer *
tcp_tls_server_new (GTlsCertificate *certificate)
{
  g_return_val_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate), NULL);

  return g_object_new (TCP_TYPE_TLS_SERVER, "certificate", certificate, NULL);
}

/**
 * tcp_tls_server_new_from_files:
 * @cert_file: (type filename): a PEM file holding the certificate (and
 *   optionally its chain)
 * @key_file: (type filename): a PEM file holding the matching private key
 * @error: return location for a [struct@GLib.Error]
 *
 * Creates a TLS server with the certificate loaded by
 * [func@Tcp.TlsServer.load_certificate].
 *
 * Returns: (transfer full) (nullable): a new [class@Tcp.TlsServer], or %NULL
 *   with @error set
 *
 * Since: 1.0
 */
TcpTlsServer *
tcp_tls_server_new_from_files (const gchar  *cert_file,
                               const gchar  *key_file,
                               GError      **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (cert_file != NULL, NULL);
  g_return_val_if_fail (key_file != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  certificate = tcp_tls_server_load_certificate (cert_file, key_file, error);
  if (certificate == NULL)
    return NULL;

  return tcp_tls_server_new (certificate);
}

/**
 * tcp_tls_server_get_certificate:
 * @self: a [class@Tcp.TlsServer]
 *
 * Gets the certificate the server presents to its clients.
 *
 * Returns: (transfer none) (nullable): the value of
 *   [property@Tcp.TlsServer:certificate]
 *
 * Since: 1.0
 */
GTlsCertificate *
tcp_tls_server_get_certificate (TcpTlsServer *self)
{
  g_return_val_if_fail (TCP_IS_TLS_SERVER (self), NULL);

  return self->certificate;
}

/**
 * tcp_tls_server_set_certificate:
 * @self: a [class@Tcp.TlsServer]
 * @certificate: (nullable): the server's certificate, with its private key
 *
 * Sets [property@Tcp.TlsServer:certificate]. Handshakes already started
 * keep the certificate they started with.
 *
 * Since: 1.0
 */
void
tcp_tls_server_set_certificate (TcpTlsServer    *self,
                                GTlsCertificate *certificate)
{
  g_return_if_fail (TCP_IS_TLS_SERVER (self));
  g_return_if_fail (certificate == NULL || G_IS_TLS_CERTIFICATE (certificate));

  if (g_set_object (&self->certificate, certificate))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CERTIFICATE]);
}

/**
 * tcp_tls_server_get_authentication_mode:
 * @self: a [class@Tcp.TlsServer]
 *
 * Gets whether the server asks clients for a certificate.
 *
 * Returns: the value of [property@Tcp.TlsServer:authentication-mode]
 *
 * Since: 1.0
 */
GTlsAuthenticationMode
tcp_tls_server_get_authentication_mode (TcpTlsServer *self)
{
  g_return_val_if_fail (TCP_IS_TLS_SERVER (self), G_TLS_AUTHENTICATION_NONE);

  return self->authentication_mode;
}

/**
 * tcp_tls_server_set_authentication_mode:
 * @self: a [class@Tcp.TlsServer]
 * @mode: whether to ask clients for a certificate
 *
 * Sets [property@Tcp.TlsServer:authentication-mode].
 *
 * Since: 1.0
 */
void
tcp_tls_server_set_authentication_mode (TcpTlsServer           *self,
                                        GTlsAuthenticationMode  mode)
{
  g_return_if_fail (TCP_IS_TLS_SERVER (self));
  g_return_if_fail (mode == G_TLS_AUTHENTICATION_NONE ||
                    mode == G_TLS_AUTHENTICATION_REQUESTED ||
                    mode == G_TLS_AUTHENTICATION_REQUIRED);

  if (self->authentication_mode == mode)
    return;

  self->authentication_mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTHENTICATION_MODE]);
}

/**
 * tcp_tls_server_get_database:
 * @self: a [class@Tcp.TlsServer]
 *
 * Gets the database that validates client certificates.
 *
 * Returns: (transfer none) (nullable): the value of
 *   [property@Tcp.TlsServer:database]
 *
 * Since: 1.0
 */
GTlsDatabase *
tcp_tls_server_get_database (TcpTlsServer *self)
{
  g_return_val_if_fail (TCP_IS_TLS_SERVER (self), NULL);

  return self->database;
}

/**
 * tcp_tls_server_set_database:
 * @self: a [class@Tcp.TlsServer]
 * @database: (nullable): the database that validates client certificates
 *
 * Sets [property@Tcp.TlsServer:database].
 *
 * Since: 1.0
 */
void
tcp_tls_server_set_database (TcpTlsServer *self,
                             GTlsDatabase *database)
{
  g_return_if_fail (TCP_IS_TLS_SERVER (self));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  if (g_set_object (&self->database, database))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATABASE]);
}

/**
 * tcp_tls_server_get_handshake_timeout:
 * @self: a [class@Tcp.TlsServer]
 *
 * Gets how long a client has to complete its handshake.
 *
 * Returns: the value of [property@Tcp.TlsServer:handshake-timeout], in
 *   milliseconds
 *
 * Since: 1.0
 */
guint
tcp_tls_server_get_handshake_timeout (TcpTlsServer *self)
{
  g_return_val_if_fail (TCP_IS_TLS_SERVER (self), DEFAULT_HANDSHAKE_TIMEOUT);

  return self->handshake_timeout;
}

/**
 * tcp_tls_server_set_handshake_timeout:
 * @self: a [class@Tcp.TlsServer]
 * @msec: the time from accept to the end of the handshake, in
 *   milliseconds, or 0 for no limit
 *
 * Sets [property@Tcp.TlsServer:handshake-timeout]. It applies to
 * connections accepted from now on.
 *
 * Since: 1.0
 */
void
tcp_tls_server_set_handshake_timeout (TcpTlsServer *self,
                                      guint         msec)
{
  g_return_if_fail (TCP_IS_TLS_SERVER (self));

  if (self->handshake_timeout == msec)
    return;

  self->handshake_timeout = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HANDSHAKE_TIMEOUT]);
}

/**
 * tcp_tls_server_get_n_handshakes:
 * @self: a [class@Tcp.TlsServer]
 *
 * Gets the number of handshakes in flight.
 *
 * Returns: how many accepted connections are in their TLS handshake (each
 *   holds a slot of [property@Tcp.Server:max-pending-connections])
 *
 * Since: 1.0
 */
guint
tcp_tls_server_get_n_handshakes (TcpTlsServer *self)
{
  g_return_val_if_fail (TCP_IS_TLS_SERVER (self), 0);

  return self->handshakes.length;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-server.c: a TLS server, Qt's QSslServer the GIO way
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp-tls-server.h"
#include "tcp-server-private.h"
#include "tcp-socket-setup-private.h"

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
 * from accept to the end of the handshake; a client that sends something
 * other than TLS fails at once.
 *
 * [method@Tcp.Server.close], and dropping the last reference to the server,
 * cancel every handshake in flight; no signal is emitted for them afterwards
 * and their sockets are closed.
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

  GQueue                  handshakes;    /* Handshake *, in flight */
};

/* One connection in handshake. It belongs to the handshake_async() call
 * until its callback runs; the server's list only borrows it, and forgets
 * it (setting @self to NULL) when the server stops listening. */
typedef struct
{
  TcpTlsServer *self;
  GList         link;
  GIOStream    *connection;
  GSocket      *socket;
  GCancellable *cancellable;
  GSource      *timeout_source;
  gchar        *peer;
  guint         timeout_ms;
  gboolean      timed_out;
} Handshake;

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
close_quietly (GIOStream *connection)
{
  /* A connection whose handshake failed has nothing to flush. */
  g_io_stream_close (connection, NULL, NULL);
}

static void
handshake_free (Handshake *handshake)
{
  g_assert (handshake->self == NULL);
  g_assert (handshake->timeout_source == NULL);

  g_clear_object (&handshake->connection);
  g_clear_object (&handshake->socket);
  g_clear_object (&handshake->cancellable);
  g_free (handshake->peer);
  g_free (handshake);
}

/* Takes @handshake off the server's list and gives its slot back. */
static void
handshake_detach (Handshake *handshake)
{
  TcpTlsServer *self = handshake->self;

  g_assert (self != NULL);

  g_queue_unlink (&self->handshakes, &handshake->link);
  handshake->self = NULL;

  if (handshake->timeout_source != NULL)
    {
      g_source_destroy (handshake->timeout_source);
      g_clear_pointer (&handshake->timeout_source, g_source_unref);
    }

  _tcp_server_release_slot (TCP_SERVER (self));
}

/* Cancels every handshake in flight without a signal: their callbacks
 * close the connections when they run. */
static void
abandon_handshakes (TcpTlsServer *self)
{
  GList *link;

  while ((link = self->handshakes.head) != NULL)
    {
      Handshake *handshake = link->data;

      handshake_detach (handshake);
      g_cancellable_cancel (handshake->cancellable);
      /* The handshake thread may still poll the socket, so it is closed
       * only once the handshake returns; shutdown() tells the client now. */
      g_socket_shutdown (handshake->socket, TRUE, TRUE, NULL);
    }
}

static gboolean
handshake_timeout_cb (gpointer user_data)
{
  Handshake *handshake = user_data;

  handshake->timed_out = TRUE;
  g_clear_pointer (&handshake->timeout_source, g_source_unref);
  g_cancellable_cancel (handshake->cancellable);

  return G_SOURCE_REMOVE;
}

static void
handshake_done_cb (GObject      *source_object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Handshake *handshake = user_data;
  TcpTlsServer *self = handshake->self;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source_object), result, &error);

  if (self == NULL)
    {
      /* The server stopped listening meanwhile: it wants no more news. */
      close_quietly (handshake->connection);
      handshake_free (handshake);
      return;
    }

  /* Handlers may close the server or drop the last reference to it. */
  g_object_ref (self);
  handshake_detach (handshake);

  if (ok)
    {
      tcp_server_add_pending_connection (TCP_SERVER (self), handshake->connection);
    }
  else
    {
      g_autoptr(GError) reported = NULL;

      if (handshake->timed_out)
        reported = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                "The TLS handshake with %s did not complete within %u ms",
                                handshake->peer, handshake->timeout_ms);
      else
        reported = g_error_new (error->domain, error->code,
                                "The TLS handshake with %s failed: %s",
                                handshake->peer, error->message);

      g_signal_emit (self, signals[SIGNAL_HANDSHAKE_FAILED], 0, handshake->connection, reported);
      close_quietly (handshake->connection);
    }

  handshake_free (handshake);
  g_object_unref (self);
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

static void
tcp_tls_server_incoming_connection (TcpServer *server,
                                    GSocket   *socket)
{
  TcpTlsServer *self = TCP_TLS_SERVER (server);
  g_autoptr(GSocketConnection) base = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Handshake *handshake;

  base = g_object_new (G_TYPE_TCP_CONNECTION, "socket", socket, NULL);
  connection = g_tls_server_connection_new (G_IO_STREAM (base), self->certificate, &error);
  if (connection == NULL)
    {
      g_autofree gchar *peer = describe_peer (socket);
      g_autoptr(GError) reported = NULL;

      reported = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                              "Could not start a TLS handshake with %s: %s",
                              peer, error->message);
      g_signal_emit (self, signals[SIGNAL_HANDSHAKE_FAILED], 0, base, reported);
      close_quietly (G_IO_STREAM (base));
      return;
    }

  g_object_set (connection, "authentication-mode", self->authentication_mode, NULL);
  if (self->database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), self->database);
  g_signal_connect_after (connection, "accept-certificate",
                          G_CALLBACK (accept_valid_certificate_cb), NULL);

  handshake = g_new0 (Handshake, 1);
  handshake->self = self;
  handshake->link.data = handshake;
  handshake->connection = g_object_ref (connection);
  handshake->socket = g_object_ref (socket);
  handshake->cancellable = g_cancellable_new ();
  handshake->peer = describe_peer (socket);
  handshake->timeout_ms = self->handshake_timeout;

  g_queue_push_tail_link (&self->handshakes, &handshake->link);
  _tcp_server_reserve_slot (server);

  /* The handshake and its timer run on the context the server listens on. */
  if (_tcp_server_get_context (server) != NULL)
    context = g_main_context_ref (_tcp_server_get_context (server));
  else
    context = g_main_context_ref_thread_default ();

  if (handshake->timeout_ms > 0)
    {
      handshake->timeout_source = g_timeout_source_new (handshake->timeout_ms);
      g_source_set_callback (handshake->timeout_source, handshake_timeout_cb, handshake, NULL);
      g_source_set_static_name (handshake->timeout_source, "[tcp] TLS handshake timeout");
      g_source_attach (handshake->timeout_source, context);
    }

  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_STARTED_ENCRYPTION_HANDSHAKE], 0, connection);

  if (handshake->self == NULL)
    {
      /* A handler closed the server: drop the connection silently. */
      close_quietly (connection);
      handshake_free (handshake);
    }
  else
    {
      g_main_context_push_thread_default (context);
      g_tls_connection_handshake_async (G_TLS_CONNECTION (connection), G_PRIORITY_DEFAULT,
                                        handshake->cancellable, handshake_done_cb, handshake);
      g_main_context_pop_thread_default (context);
    }

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
  g_clear_object (&self->certificate);
  g_clear_object (&self->database);

  G_OBJECT_CLASS (tcp_tls_server_parent_class)->dispose (object);
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
   * database, the system's trust store, in place.
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
   * handshake timed out (%G_IO_ERROR_TIMED_OUT), or it failed: the client
   * did not speak TLS (with GnuTLS, %G_TLS_ERROR_MISC "An unexpected TLS
   * packet was received"), sent no acceptable certificate
   * (%G_TLS_ERROR_CERTIFICATE_REQUIRED, %G_TLS_ERROR_BAD_CERTIFICATE) or
   * broke the protocol otherwise (a [error@Gio.TlsError] or
   * [error@Gio.IOErrorEnum]). The message names the client's address. @connection is closed right after the
   * handshake.
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

typedef struct
{
  GIOStream *base;
  GIOStream *connection;
  GError    *error;
} KeyCheck;

static gpointer
key_check_server_thread (gpointer data)
{
  KeyCheck *check = data;

  if (!g_tls_connection_handshake (G_TLS_CONNECTION (check->connection), NULL, &check->error))
    g_io_stream_close (check->base, NULL, NULL);   /* unblocks the client side */
  return NULL;
}

static gboolean
accept_any_certificate_cb (GTlsConnection       *connection,
                           GTlsCertificate      *peer_certificate,
                           GTlsCertificateFlags  errors,
                           gpointer              user_data)
{
  return TRUE;
}

static GIOStream *
connection_from_fd (int      fd,
                    GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }

  /* Bounds the check if one side stalls. */
  g_socket_set_timeout (socket, 10);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* GIO loads a certificate and an unrelated key without complaint, and the
 * server would fail every handshake later. A handshake with itself, over a
 * socket pair, proves that the key signs for the certificate. */
static gboolean
check_key_matches (GTlsCertificate  *certificate,
                   GError          **error)
{
  g_autoptr(GIOStream) server_base = NULL;
  g_autoptr(GIOStream) client_base = NULL;
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GError) client_error = NULL;
  KeyCheck check = { NULL, NULL, NULL };
  GThread *thread;
  int fds[2];
  gboolean ok;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not check the private key: socketpair() failed: %s",
                   g_strerror (errsv));
      return FALSE;
    }

  server_base = connection_from_fd (fds[0], error);
  if (server_base == NULL)
    {
      close (fds[1]);
      return FALSE;
    }
  client_base = connection_from_fd (fds[1], error);
  if (client_base == NULL)
    return FALSE;

  check.base = server_base;
  check.connection = g_tls_server_connection_new (server_base, certificate, error);
  if (check.connection == NULL)
    return FALSE;
  client = g_tls_client_connection_new (client_base, NULL, error);
  if (client == NULL)
    {
      g_object_unref (check.connection);
      return FALSE;
    }

  /* Only the key is on trial, not who signed the certificate. */
  g_tls_connection_set_database (G_TLS_CONNECTION (client), NULL);
  g_signal_connect (client, "accept-certificate", G_CALLBACK (accept_any_certificate_cb), NULL);

  thread = g_thread_new ("tcp-key-check", key_check_server_thread, &check);
  ok = g_tls_connection_handshake (G_TLS_CONNECTION (client), NULL, &client_error);
  if (!ok)
    g_io_stream_close (client_base, NULL, NULL);   /* unblocks the server side */
  g_thread_join (thread);

  /* Which side failed first cannot be told reliably (each one's failure
   * makes the other fail), so the message carries both. */
  if (!ok || check.error != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "the private key does not match the certificate, or TLS cannot use "
                 "them (a test handshake failed: %s%s%s)",
                 client_error != NULL ? client_error->message : "",
                 client_error != NULL && check.error != NULL ? "; " : "",
                 check.error != NULL ? check.error->message : "");
  ok = ok && check.error == NULL;

  g_io_stream_close (client, NULL, NULL);
  g_io_stream_close (check.connection, NULL, NULL);
  g_clear_error (&check.error);
  g_object_unref (check.connection);

  return ok;
}

/**
 * tcp_tls_server_load_certificate:
 * @cert_file: (type filename): a PEM file holding the certificate (and
 *   optionally its chain)
 * @key_file: (type filename): a PEM file holding the matching private key
 * @error: return location for a [struct@GLib.Error]
 *
 * Loads a certificate and its private key from PEM files, and checks that
 * the key belongs to the certificate (GIO itself does not, and a server with
 * a foreign key would fail every handshake). The check is a TLS handshake
 * with itself over a socket pair, some tens of milliseconds: load once, at
 * start-up.
 *
 * A missing or unreadable file fails with the matching
 * [error@Gio.IOErrorEnum] code (%G_IO_ERROR_NOT_FOUND, …), a file that holds
 * no certificate or no key, or a key that does not match, with
 * %G_IO_ERROR_INVALID_DATA; a system without a TLS backend fails with
 * %G_IO_ERROR_NOT_SUPPORTED. Every message names the files.
 *
 * Returns: (transfer full) (nullable): the certificate, or %NULL with
 *   @error set
 *
 * Since: 1.0
 */
GTlsCertificate *
tcp_tls_server_load_certificate (const gchar  *cert_file,
                                 const gchar  *key_file,
                                 GError      **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree gchar *cert_name = NULL;
  g_autofree gchar *key_name = NULL;

  g_return_val_if_fail (cert_file != NULL, NULL);
  g_return_val_if_fail (key_file != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Error messages are UTF-8 (bindings decode them); file names need not be. */
  cert_name = g_filename_display_name (cert_file);
  key_name = g_filename_display_name (key_file);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not load the TLS certificate “%s” with the key “%s”: no TLS "
                   "backend is available (is glib-networking installed?)",
                   cert_name, key_name);
      return NULL;
    }

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local_error);
  if (certificate != NULL)
    check_key_matches (certificate, &local_error);

  if (local_error != NULL)
    {
      gint code = G_IO_ERROR_INVALID_DATA;

      if (local_error->domain == G_FILE_ERROR)
        code = g_io_error_from_file_error (local_error->code);
      else if (local_error->domain == G_IO_ERROR)
        code = local_error->code;

      g_set_error (error, G_IO_ERROR, code,
                   "Could not load the TLS certificate “%s” with the key “%s”: %s",
                   cert_name, key_name, local_error->message);
      return NULL;
    }

  return g_steal_pointer (&certificate);
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

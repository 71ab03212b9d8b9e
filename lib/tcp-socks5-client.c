/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-client.c: a non-blocking SOCKS5 BIND exchange
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <string.h>

#include "tcp-socks5-client-private.h"
#include "tcp-socks5-parser-private.h"

#define DEFAULT_SOCKS5_PORT 1080

typedef enum
{
  STATE_IDLE,
  STATE_RESOLVING,
  STATE_CONNECTING,
  STATE_SEND_GREETING,
  STATE_READ_METHOD,
  STATE_SEND_AUTH,
  STATE_READ_AUTH,
  STATE_SEND_BIND,
  STATE_READ_FIRST_REPLY,
  STATE_READ_SECOND_REPLY,
  STATE_DONE,
} State;

struct _TcpSocks5Client
{
  gint                    ref_count;

  gchar                  *name;         /* host:port, for messages */
  gchar                  *host;
  guint16                 port;
  gchar                  *username;     /* NULL: offer no authentication only */
  gchar                  *password;

  State                   state;
  GMainContext           *context;
  GCancellable           *cancellable;  /* the host name lookup */
  GList                  *addresses;    /* GInetAddress *, still to try */
  GError                 *connect_error;
  GSocket                *socket;
  GSource                *io_source;
  GIOCondition            io_condition;
  GSource                *timeout_source;
  GSource                *start_source;
  guint                   timeout_ms;
  gint64                  deadline;     /* monotonic µs, -1: none */

  GByteArray             *out;
  gsize                   out_pos;
  GByteArray             *in;

  GInetAddress           *bind_address;
  guint16                 bind_port;
  gboolean                held;         /* the owner takes no peer now */
  gboolean                just_bound;   /* back to the main loop before the peer */

  TcpSocks5BoundFunc      bound;
  TcpSocks5ConnectedFunc  connected;
  TcpSocks5FailedFunc     failed;
  gpointer                user_data;
};

static void step (TcpSocks5Client *self);

static gboolean
is_running (TcpSocks5Client *self)
{
  return self->state != STATE_IDLE && self->state != STATE_DONE;
}

/* Drops every source and the socket; no callback runs afterwards. */
static void
finish (TcpSocks5Client *self)
{
  self->state = STATE_DONE;
  self->bound = NULL;
  self->connected = NULL;
  self->failed = NULL;

  g_cancellable_cancel (self->cancellable);
  if (self->io_source != NULL)
    {
      g_source_destroy (self->io_source);
      g_clear_pointer (&self->io_source, g_source_unref);
    }
  self->io_condition = 0;
  if (self->timeout_source != NULL)
    {
      g_source_destroy (self->timeout_source);
      g_clear_pointer (&self->timeout_source, g_source_unref);
    }
  if (self->start_source != NULL)
    {
      g_source_destroy (self->start_source);
      g_clear_pointer (&self->start_source, g_source_unref);
    }
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
  g_list_free_full (g_steal_pointer (&self->addresses), g_object_unref);
  g_clear_error (&self->connect_error);
}

static void
fail (TcpSocks5Client *self,
      GError          *error)
{
  TcpSocks5FailedFunc failed = self->failed;
  gpointer user_data = self->user_data;

  if (self->state == STATE_READ_SECOND_REPLY)
    g_prefix_error (&error, "Lost the BIND on SOCKS5 proxy %s: ", self->name);
  else
    g_prefix_error (&error, "Could not listen through SOCKS5 proxy %s: ", self->name);

  finish (self);
  if (failed != NULL)
    failed (error, user_data);
  g_error_free (error);
}

static gboolean
io_ready_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  TcpSocks5Client *self = tcp_socks5_client_ref (user_data);

  step (self);
  tcp_socks5_client_unref (self);

  return G_SOURCE_CONTINUE;
}

/* Polls the socket for @condition (0: not at all). */
static void
watch (TcpSocks5Client *self,
       GIOCondition     condition)
{
  if (self->io_condition == condition)
    return;

  if (self->io_source != NULL)
    {
      g_source_destroy (self->io_source);
      g_clear_pointer (&self->io_source, g_source_unref);
    }

  self->io_condition = condition;
  if (condition == 0)
    return;

  self->io_source = g_socket_create_source (self->socket, condition, NULL);
  g_source_set_callback (self->io_source, G_SOURCE_FUNC (io_ready_cb), self, NULL);
  g_source_set_static_name (self->io_source, "[tcp] SOCKS5 control connection");
  g_source_attach (self->io_source, self->context);
}

static void
time_out (TcpSocks5Client *self)
{
  fail (self, g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "No answer within %u ms", self->timeout_ms));
}

static gboolean
timeout_cb (gpointer user_data)
{
  TcpSocks5Client *self = tcp_socks5_client_ref (user_data);

  time_out (self);
  tcp_socks5_client_unref (self);

  return G_SOURCE_REMOVE;
}

static void
start_sending (TcpSocks5Client *self,
               State            state)
{
  self->state = state;
  self->out_pos = 0;
}

static void
send_greeting (TcpSocks5Client *self)
{
  tcp_socks5_build_greeting (self->out, self->username != NULL);
  start_sending (self, STATE_SEND_GREETING);
}

static void
connect_next (TcpSocks5Client *self)
{
  while (self->addresses != NULL)
    {
      g_autoptr(GInetAddress) address = self->addresses->data;
      g_autoptr(GSocketAddress) target = NULL;
      g_autoptr(GError) error = NULL;

      self->addresses = g_list_delete_link (self->addresses, self->addresses);

      self->socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, &error);
      if (self->socket != NULL)
        {
          g_socket_set_blocking (self->socket, FALSE);
          target = g_inet_socket_address_new (address, self->port);
          if (g_socket_connect (self->socket, target, NULL, &error))
            {
              send_greeting (self);
              return;
            }
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
            {
              self->state = STATE_CONNECTING;
              return;
            }
          g_socket_close (self->socket, NULL);
          g_clear_object (&self->socket);
        }

      g_clear_error (&self->connect_error);
      self->connect_error = g_steal_pointer (&error);
    }

  if (self->connect_error == NULL)
    self->connect_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND,
                                               "The host name has no address");
  fail (self, g_steal_pointer (&self->connect_error));
}

/* Connects to the addresses found; the first step of the exchange. */
static void
connect_addresses (TcpSocks5Client *self,
                   GList           *addresses)
{
  self->addresses = addresses;
  self->state = STATE_CONNECTING;
  connect_next (self);
  if (is_running (self))
    step (self);
}

static gboolean
start_cb (gpointer user_data)
{
  TcpSocks5Client *self = tcp_socks5_client_ref (user_data);
  GInetAddress *address = g_inet_address_new_from_string (self->host);

  g_clear_pointer (&self->start_source, g_source_unref);
  connect_addresses (self, g_list_prepend (NULL, address));
  tcp_socks5_client_unref (self);

  return G_SOURCE_REMOVE;
}

static void
resolved_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  TcpSocks5Client *self = user_data;
  g_autoptr(GError) error = NULL;
  GList *addresses;

  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &error);
  if (self->state == STATE_RESOLVING)
    {
      /* Keep to the G_IO_ERROR domain, as everything else here does. */
      if (addresses == NULL && error->domain == G_RESOLVER_ERROR)
        {
          GError *io_error = g_error_new_literal (G_IO_ERROR,
                                                  error->code == G_RESOLVER_ERROR_INTERNAL ?
                                                  G_IO_ERROR_FAILED :
                                                  G_IO_ERROR_HOST_NOT_FOUND,
                                                  error->message);

          fail (self, io_error);
        }
      else if (addresses == NULL)
        fail (self, g_steal_pointer (&error));
      else
        connect_addresses (self, g_steal_pointer (&addresses));
    }

  g_resolver_free_addresses (addresses);
  tcp_socks5_client_unref (self);
}

/* Sends what remains of the output buffer; returns TRUE when all is sent. */
static gboolean
send_pending (TcpSocks5Client  *self,
              GError          **error)
{
  while (self->out_pos < self->out->len)
    {
      gssize n = g_socket_send (self->socket, (const gchar *) self->out->data + self->out_pos,
                                self->out->len - self->out_pos, NULL, error);
      if (n < 0)
        return FALSE;
      self->out_pos += n;
    }

  g_byte_array_set_size (self->out, 0);
  self->out_pos = 0;
  return TRUE;
}

/* Reads up to the @needed bytes of the current reply, never past it. */
static gboolean
receive_pending (TcpSocks5Client  *self,
                 gsize             needed,
                 GError          **error)
{
  gsize have = self->in->len;
  gssize n;

  g_assert (needed > have);

  g_byte_array_set_size (self->in, needed);
  n = g_socket_receive (self->socket, (gchar *) self->in->data + have, needed - have,
                        NULL, error);
  g_byte_array_set_size (self->in, have + MAX (n, 0));
  if (n < 0)
    return FALSE;
  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   self->state == STATE_READ_SECOND_REPLY ?
                   "The proxy closed the connection before a peer connected" :
                   have > 0 ?
                   "The proxy closed the connection in the middle of a reply" :
                   "The proxy closed the connection without replying");
      return FALSE;
    }

  return TRUE;
}

static void
send_bind (TcpSocks5Client *self)
{
  tcp_socks5_build_bind (self->out, self->bind_address, self->bind_port);
  start_sending (self, STATE_SEND_BIND);
}

/* Handles a complete reply in the input buffer. Returns FALSE with @error
 * when the exchange failed. */
static gboolean
handle_message (TcpSocks5Client  *self,
                guint8            method,
                TcpSocks5Reply   *reply,
                GError          **error)
{
  switch (self->state)
    {
    case STATE_READ_METHOD:
      if (!tcp_socks5_check_method (method, self->username != NULL, error))
        return FALSE;
      if (method == TCP_SOCKS5_METHOD_USERNAME)
        {
          if (!tcp_socks5_build_auth (self->out, self->username, self->password, error))
            return FALSE;
          start_sending (self, STATE_SEND_AUTH);
        }
      else
        send_bind (self);
      return TRUE;

    case STATE_READ_AUTH:
      send_bind (self);
      return TRUE;

    case STATE_READ_FIRST_REPLY:
      {
        g_autoptr(GInetAddress) address = NULL;
        TcpSocks5BoundFunc bound = self->bound;

        if (!tcp_socks5_check_reply (reply, error))
          return FALSE;

        address = tcp_socks5_reply_get_address (reply);
        if (address == NULL)
          {
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                                 "The proxy announced a host name instead of an address");
            return FALSE;
          }

        /* A proxy that binds every interface says so; peers dial the
         * address the proxy was reached on. */
        if (g_inet_address_get_is_any (address))
          {
            g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (self->socket, NULL);

            if (G_IS_INET_SOCKET_ADDRESS (remote))
              g_set_object (&address,
                            g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
          }

        if (self->timeout_source != NULL)
          {
            g_source_destroy (self->timeout_source);
            g_clear_pointer (&self->timeout_source, g_source_unref);
          }
        self->deadline = -1;
        self->state = STATE_READ_SECOND_REPLY;
        self->just_bound = TRUE;

        if (bound != NULL)
          bound (address, reply->port, self->user_data);
        return TRUE;
      }

    case STATE_READ_SECOND_REPLY:
      {
        TcpSocks5ConnectedFunc connected = self->connected;
        gpointer user_data = self->user_data;
        g_autoptr(GSocket) socket = NULL;

        if (!tcp_socks5_check_reply (reply, error))
          return FALSE;

        /* The control connection now carries the peer's bytes. */
        watch (self, 0);
        socket = g_steal_pointer (&self->socket);
        finish (self);
        if (connected != NULL)
          connected (socket, user_data);
        return TRUE;
      }

    case STATE_IDLE:
    case STATE_RESOLVING:
    case STATE_CONNECTING:
    case STATE_SEND_GREETING:
    case STATE_SEND_AUTH:
    case STATE_SEND_BIND:
    case STATE_DONE:
    default:
      g_assert_not_reached ();
    }
}

/* Parses the input buffer for the current state. */
static TcpSocks5ParseResult
parse (TcpSocks5Client  *self,
       gsize            *needed,
       guint8           *method,
       TcpSocks5Reply   *reply,
       GError          **error)
{
  switch (self->state)
    {
    case STATE_READ_METHOD:
      return tcp_socks5_parse_method_reply (self->in->data, self->in->len, needed, method, error);

    case STATE_READ_AUTH:
      return tcp_socks5_parse_auth_reply (self->in->data, self->in->len, needed, error);

    case STATE_READ_FIRST_REPLY:
    case STATE_READ_SECOND_REPLY:
      return tcp_socks5_parse_reply (self->in->data, self->in->len, needed, reply, error);

    case STATE_IDLE:
    case STATE_RESOLVING:
    case STATE_CONNECTING:
    case STATE_SEND_GREETING:
    case STATE_SEND_AUTH:
    case STATE_SEND_BIND:
    case STATE_DONE:
    default:
      g_assert_not_reached ();
    }
}

/* Makes as much progress as the socket allows without blocking. The caller
 * holds a reference: callbacks may stop the client. */
static void
step (TcpSocks5Client *self)
{
  while (is_running (self))
    {
      g_autoptr(GError) error = NULL;
      TcpSocks5Reply reply;
      guint8 method = 0;
      gsize needed = 0;

      switch (self->state)
        {
        case STATE_RESOLVING:
          return;

        case STATE_CONNECTING:
          if (!g_socket_condition_check (self->socket, G_IO_OUT))
            {
              watch (self, G_IO_OUT);
              return;
            }
          watch (self, 0);
          if (!g_socket_check_connect_result (self->socket, &error))
            {
              g_socket_close (self->socket, NULL);
              g_clear_object (&self->socket);
              g_clear_error (&self->connect_error);
              self->connect_error = g_steal_pointer (&error);
              connect_next (self);
              break;
            }
          send_greeting (self);
          break;

        case STATE_SEND_GREETING:
        case STATE_SEND_AUTH:
        case STATE_SEND_BIND:
          if (!send_pending (self, &error))
            {
              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                {
                  watch (self, G_IO_OUT);
                  return;
                }
              fail (self, g_steal_pointer (&error));
              return;
            }
          self->state = self->state == STATE_SEND_GREETING ? STATE_READ_METHOD :
                        self->state == STATE_SEND_AUTH ? STATE_READ_AUTH :
                        STATE_READ_FIRST_REPLY;
          g_byte_array_set_size (self->in, 0);
          break;

        case STATE_READ_SECOND_REPLY:
          /* The first reply ends a blocking listen(): the peer is taken on
           * the owner's context, and only while the owner wants one. */
          if (self->just_bound || self->held)
            {
              self->just_bound = FALSE;
              watch (self, self->held ? 0 : G_IO_IN);
              return;
            }
          G_GNUC_FALLTHROUGH;

        case STATE_READ_METHOD:
        case STATE_READ_AUTH:
        case STATE_READ_FIRST_REPLY:
          switch (parse (self, &needed, &method, &reply, &error))
            {
            case TCP_SOCKS5_PARSE_ERROR:
              fail (self, g_steal_pointer (&error));
              return;

            case TCP_SOCKS5_PARSE_OK:
              g_byte_array_set_size (self->in, 0);
              if (!handle_message (self, method, &reply, &error))
                {
                  fail (self, g_steal_pointer (&error));
                  return;
                }
              break;

            case TCP_SOCKS5_PARSE_NEED_MORE:
            default:
              if (!receive_pending (self, needed, &error))
                {
                  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                    {
                      watch (self, G_IO_IN);
                      return;
                    }
                  fail (self, g_steal_pointer (&error));
                  return;
                }
              break;
            }
          break;

        case STATE_IDLE:
        case STATE_DONE:
        default:
          g_assert_not_reached ();
        }
    }
}

/* Whether @host can be looked up: a numeric address, or a name made of
 * letters, digits, hyphens, underscores and dots once in ASCII (IDNA). A
 * URI parser lets spaces and control characters through. */
static gboolean
is_valid_host (const gchar *host)
{
  g_autofree gchar *ascii = NULL;

  if (g_hostname_is_ip_address (host))
    return TRUE;

  ascii = g_hostname_to_ascii (host);
  if (ascii == NULL || ascii[0] == '\0')
    return FALSE;

  for (const gchar *p = ascii; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
        return FALSE;
    }

  return TRUE;
}

/* Parses `socks5://[user[:password]@]host[:port]`. */
TcpSocks5Client *
tcp_socks5_client_new (const gchar  *uri,
                       GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GUri) parsed = NULL;
  const gchar *scheme;
  TcpSocks5Client *self;
  const gchar *host;
  gint port;

  g_return_val_if_fail (uri != NULL, NULL);

  scheme = g_uri_peek_scheme (uri);
  if (g_strcmp0 (scheme, "socks5") != 0)
    {
      /* Not the whole URI: it may hold a password. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not listen through the proxy: %s%s%s is not supported, only "
                   "socks5:// proxies are",
                   scheme != NULL ? "the scheme “" : "a URI without a scheme",
                   scheme != NULL ? scheme : "", scheme != NULL ? "”" : "");
      return NULL;
    }

  parsed = g_uri_parse (uri, G_URI_FLAGS_HAS_PASSWORD, &local_error);
  host = parsed != NULL ? g_uri_get_host (parsed) : NULL;
  if (host == NULL || host[0] == '\0' || !is_valid_host (host))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "Could not listen through the proxy: its URI is not of the form "
                           "socks5://[user:password@]host:port");
      return NULL;
    }

  port = g_uri_get_port (parsed);
  if (port == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "Could not listen through the proxy: its URI has port 0");
      return NULL;
    }

  self = g_new0 (TcpSocks5Client, 1);
  self->ref_count = 1;
  self->host = g_strdup (host);
  self->port = port > 0 ? port : DEFAULT_SOCKS5_PORT;
  self->name = strchr (host, ':') != NULL ?
               g_strdup_printf ("[%s]:%u", host, self->port) :
               g_strdup_printf ("%s:%u", host, self->port);
  if (g_uri_get_user (parsed) != NULL)
    {
      self->username = g_strdup (g_uri_get_user (parsed));
      self->password = g_strdup (g_uri_get_password (parsed) != NULL ?
                                 g_uri_get_password (parsed) : "");
    }
  self->cancellable = g_cancellable_new ();
  self->out = g_byte_array_new ();
  self->in = g_byte_array_new ();
  self->deadline = -1;

  /* Check the credentials now, when listen() can still say no. */
  if (self->username != NULL &&
      !tcp_socks5_build_auth (self->out, self->username, self->password, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "Could not listen through SOCKS5 proxy %s: ", self->name);
      tcp_socks5_client_unref (self);
      return NULL;
    }
  g_byte_array_set_size (self->out, 0);

  return self;
}

TcpSocks5Client *
tcp_socks5_client_ref (TcpSocks5Client *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
tcp_socks5_client_unref (TcpSocks5Client *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  finish (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->bind_address);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_byte_array_unref (self->out);
  g_byte_array_unref (self->in);
  g_free (self->name);
  g_free (self->host);
  g_free (self->username);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self);
}

/* Starts the exchange on @context: a BIND for @address (%NULL: any) and
 * @port. @timeout_ms (0: none) bounds everything up to the first reply. */
void
tcp_socks5_client_bind (TcpSocks5Client        *self,
                        GInetAddress           *address,
                        guint16                 port,
                        guint                   timeout_ms,
                        GMainContext           *context,
                        TcpSocks5BoundFunc      bound,
                        TcpSocks5ConnectedFunc  connected,
                        TcpSocks5FailedFunc     failed,
                        gpointer                user_data)
{
  g_autoptr(GInetAddress) numeric = NULL;

  g_return_if_fail (self->state == STATE_IDLE);

  self->bind_address = address != NULL ? g_object_ref (address) : NULL;
  self->bind_port = port;
  self->context = g_main_context_ref (context);
  self->bound = bound;
  self->connected = connected;
  self->failed = failed;
  self->user_data = user_data;
  self->timeout_ms = timeout_ms;

  if (timeout_ms > 0)
    {
      self->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
      self->timeout_source = g_timeout_source_new (timeout_ms);
      g_source_set_callback (self->timeout_source, timeout_cb, self, NULL);
      g_source_set_static_name (self->timeout_source, "[tcp] SOCKS5 timeout");
      g_source_attach (self->timeout_source, context);
    }

  /* Progress happens in callbacks on @context, never in the caller, so
   * that even an immediate failure reaches @failed. */
  self->state = STATE_RESOLVING;
  numeric = g_inet_address_new_from_string (self->host);
  if (numeric != NULL)
    {
      self->start_source = g_idle_source_new ();
      g_source_set_callback (self->start_source, start_cb, self, NULL);
      g_source_set_static_name (self->start_source, "[tcp] SOCKS5 start");
      g_source_attach (self->start_source, context);
    }
  else
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();

      g_main_context_push_thread_default (context);
      g_resolver_lookup_by_name_async (resolver, self->host, self->cancellable,
                                       resolved_cb, tcp_socks5_client_ref (self));
      g_main_context_pop_thread_default (context);
    }
}

/* Ends the exchange: closes the control connection, runs no callback. */
void
tcp_socks5_client_stop (TcpSocks5Client *self)
{
  finish (self);
}

/* Blocks until the control connection makes progress or @timeout_us (-1:
 * forever) passes, then takes that progress, running callbacks in the
 * calling thread; a held client takes its peer too. Returns FALSE at once
 * when progress can only come through the client's context (the proxy's
 * host name is being looked up there). */
gboolean
tcp_socks5_client_wait (TcpSocks5Client *self,
                        gint64           timeout_us)
{
  g_autoptr(TcpSocks5Client) hold = tcp_socks5_client_ref (self);
  GIOCondition condition;

  if (!is_running (self))
    return TRUE;
  if (self->socket == NULL)
    return FALSE;

  if (self->deadline >= 0)
    {
      gint64 left = self->deadline - g_get_monotonic_time ();

      if (left <= 0)
        {
          time_out (self);
          return TRUE;
        }
      timeout_us = timeout_us < 0 ? left : MIN (timeout_us, left);
    }

  condition = self->state == STATE_READ_SECOND_REPLY ? G_IO_IN : self->io_condition;
  if (condition != 0 &&
      !g_socket_condition_timed_wait (self->socket, condition, timeout_us, NULL, NULL))
    return TRUE;

  if (is_running (self))
    {
      gboolean held = self->held;

      self->held = FALSE;
      self->just_bound = FALSE;
      step (self);
      self->held = held;
    }

  return TRUE;
}

/* A source that wakes @self's context when the control connection can make
 * progress, or %NULL when it has no connection yet. */
GSource *
tcp_socks5_client_create_wake_source (TcpSocks5Client *self)
{
  GIOCondition condition;

  if (!is_running (self) || self->socket == NULL)
    return NULL;

  condition = self->state == STATE_READ_SECOND_REPLY ? G_IO_IN : self->io_condition;
  if (condition == 0)
    return NULL;

  return g_socket_create_source (self->socket, condition, NULL);
}

/* While held, a peer that connects through the proxy waits there: the
 * second reply is not read. */
void
tcp_socks5_client_set_held (TcpSocks5Client *self,
                            gboolean         held)
{
  self->held = !!held;
  if (self->state == STATE_READ_SECOND_REPLY)
    watch (self, held ? 0 : G_IO_IN);
}

/* Moves the exchange to @context: what runs from now on (the watch on the
 * control connection, the timeout) runs there. Only between steps, once the
 * host name is known. */
void
tcp_socks5_client_set_context (TcpSocks5Client *self,
                               GMainContext    *context)
{
  GIOCondition condition = self->io_condition;

  g_return_if_fail (self->state != STATE_RESOLVING && self->start_source == NULL);

  g_main_context_ref (context);
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = context;

  watch (self, 0);
  watch (self, condition);

  if (self->timeout_source != NULL)
    {
      g_source_destroy (self->timeout_source);
      g_clear_pointer (&self->timeout_source, g_source_unref);
      self->timeout_source = g_timeout_source_new (MAX (self->deadline - g_get_monotonic_time (),
                                                        0) / 1000);
      g_source_set_callback (self->timeout_source, timeout_cb, self, NULL);
      g_source_set_static_name (self->timeout_source, "[tcp] SOCKS5 timeout");
      g_source_attach (self->timeout_source, context);
    }
}

const gchar *
tcp_socks5_client_get_name (TcpSocks5Client *self)
{
  return self->name;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-listener.c: listening through a SOCKS5 proxy's BIND
 *
 * Copyright 2026 The libtcp authors
 *
 * The TcpListener for a SOCKS5 BIND (RFC 1928): the proxy listens for us,
 * announces the address peers must dial in its first reply, and hands over
 * the control connection, now carrying the peer, in its second. One BIND
 * serves one peer, as in Qt; then the listener has finished.
 *
 * The exchange itself is the SOCKS5 client's (tcp-socks5-client.c). What
 * this file adds is the listener's side of it: a blocking start that drives
 * the exchange on a private context up to the first reply and then moves
 * it to the server's context (GIO's rule: the synchronous call returns the
 * real outcome, as g_socket_client_connect() does through a proxy), and
 * admission and options for the peer.
 */

#include "config.h"

#include "tcp-socks5-listener-private.h"
#include "tcp-socks5-client-private.h"
#include "tcp-socket-setup-private.h"

struct _TcpSocks5Listener
{
  TcpListener      parent_instance;

  TcpSocks5Client *client;
  GInetAddress    *address;     /* asked of the proxy; NULL: any */
  guint16          port;
  guint            timeout_ms;
  gboolean         accepting;

  /* The outcome of a blocking start. */
  gboolean         start_done;
  GError          *start_error;
};

G_DEFINE_FINAL_TYPE (TcpSocks5Listener, tcp_socks5_listener, TCP_TYPE_LISTENER)

static void
client_bound_cb (GInetAddress *address,
                 guint16       port,
                 gpointer      user_data)
{
  TcpSocks5Listener *self = user_data;

  self->start_done = TRUE;
  _tcp_listener_set_bound (TCP_LISTENER (self), address, port);
}

/* The control connection carries the peer now; the BIND is over. */
static void
client_connected_cb (GSocket  *socket,
                     gpointer  user_data)
{
  TcpSocks5Listener *self = g_object_ref (user_data);
  TcpListener *listener = TCP_LISTENER (self);
  g_autoptr(GSocketAddress) peer = g_socket_get_remote_address (socket, NULL);
  struct sockaddr_storage native;
  gsize native_len;

  native_len = peer != NULL ? g_socket_address_get_native_size (peer) : 0;
  if (peer != NULL && g_socket_address_to_native (peer, &native, sizeof native, NULL) &&
      _tcp_listener_admit (listener, (struct sockaddr *) &native, native_len) ==
      TCP_LISTENER_REFUSE)
    {
      g_socket_close (socket, NULL);
    }
  else
    {
      tcp_socket_set_options (socket, tcp_listener_get_options (listener));
      _tcp_listener_accepted (listener, socket);
    }

  _tcp_listener_finished (listener);
  g_object_unref (self);
}

static void
client_failed_cb (const GError *error,
                  gpointer      user_data)
{
  TcpSocks5Listener *self = user_data;

  if (!self->start_done)
    {
      /* Before the first reply of a blocking start: that is its result. */
      self->start_done = TRUE;
      self->start_error = g_error_copy (error);
      return;
    }

  _tcp_listener_failed (TCP_LISTENER (self), error);
}

/* Runs the exchange on a context of its own until the proxy's first reply
 * or a failure; the proxy timeout bounds it. */
static gboolean
start_blocking (TcpSocks5Listener  *self,
                GError            **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();

  tcp_socks5_client_bind (self->client, self->address, self->port, self->timeout_ms, context,
                          client_bound_cb, client_connected_cb, client_failed_cb, self);
  while (!self->start_done)
    g_main_context_iteration (context, TRUE);

  if (self->start_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->start_error));
      return FALSE;
    }

  tcp_socks5_client_set_context (self->client, tcp_listener_get_context (TCP_LISTENER (self)));
  return TRUE;
}

static gboolean
tcp_socks5_listener_start (TcpListener  *listener,
                           gboolean      blocking,
                           GError      **error)
{
  TcpSocks5Listener *self = TCP_SOCKS5_LISTENER (listener);

  tcp_socks5_client_set_held (self->client, !self->accepting);

  if (blocking)
    return start_blocking (self, error);

  /* Failures before the first reply go to the owner's failed callback. */
  self->start_done = TRUE;
  tcp_socks5_client_bind (self->client, self->address, self->port, self->timeout_ms,
                          tcp_listener_get_context (listener),
                          client_bound_cb, client_connected_cb, client_failed_cb, self);
  return TRUE;
}

static void
tcp_socks5_listener_set_accepting (TcpListener *listener,
                                   gboolean     accepting)
{
  TcpSocks5Listener *self = TCP_SOCKS5_LISTENER (listener);

  self->accepting = accepting;
  tcp_socks5_client_set_held (self->client, !accepting);
}

static gboolean
tcp_socks5_listener_wait (TcpListener *listener,
                          gint64       timeout_us)
{
  TcpSocks5Listener *self = TCP_SOCKS5_LISTENER (listener);
  g_autoptr(TcpSocks5Client) client = tcp_socks5_client_ref (self->client);

  return tcp_socks5_client_wait (client, timeout_us);
}

static GSource *
tcp_socks5_listener_create_wake_source (TcpListener *listener)
{
  return tcp_socks5_client_create_wake_source (TCP_SOCKS5_LISTENER (listener)->client);
}

static void
tcp_socks5_listener_stop (TcpListener *listener)
{
  tcp_socks5_client_stop (TCP_SOCKS5_LISTENER (listener)->client);
}

static void
tcp_socks5_listener_options_changed (TcpListener *listener)
{
  /* Applied to the peer's connection when it arrives. */
}

static GSocket *
tcp_socks5_listener_get_socket (TcpListener *listener)
{
  return NULL;   /* the proxy listens, not us */
}

static gchar *
tcp_socks5_listener_describe (TcpListener *listener)
{
  TcpSocks5Listener *self = TCP_SOCKS5_LISTENER (listener);
  const gchar *proxy = tcp_socks5_client_get_name (self->client);
  g_autofree gchar *where = NULL;

  if (!tcp_listener_is_bound (listener))
    return g_strdup_printf ("through SOCKS5 proxy %s", proxy);

  where = TCP_LISTENER_CLASS (tcp_socks5_listener_parent_class)->describe (listener);
  return g_strdup_printf ("%s through SOCKS5 proxy %s", where, proxy);
}

static void
tcp_socks5_listener_finalize (GObject *object)
{
  TcpSocks5Listener *self = TCP_SOCKS5_LISTENER (object);

  g_clear_pointer (&self->client, tcp_socks5_client_unref);
  g_clear_object (&self->address);
  g_clear_error (&self->start_error);

  G_OBJECT_CLASS (tcp_socks5_listener_parent_class)->finalize (object);
}

static void
tcp_socks5_listener_class_init (TcpSocks5ListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TcpListenerClass *listener_class = TCP_LISTENER_CLASS (klass);

  object_class->finalize = tcp_socks5_listener_finalize;

  listener_class->start = tcp_socks5_listener_start;
  listener_class->set_accepting = tcp_socks5_listener_set_accepting;
  listener_class->wait = tcp_socks5_listener_wait;
  listener_class->create_wake_source = tcp_socks5_listener_create_wake_source;
  listener_class->stop = tcp_socks5_listener_stop;
  listener_class->options_changed = tcp_socks5_listener_options_changed;
  listener_class->get_socket = tcp_socks5_listener_get_socket;
  listener_class->describe = tcp_socks5_listener_describe;
}

static void
tcp_socks5_listener_init (TcpSocks5Listener *self)
{
  self->accepting = TRUE;
}

/* A listener that asks the proxy at @uri to listen on @address (%NULL:
 * any) and @port (0: the proxy picks). Fails with the URI's error only;
 * the proxy is not contacted before the listener starts. */
TcpListener *
tcp_socks5_listener_new (const gchar   *uri,
                         GInetAddress  *address,
                         guint16        port,
                         guint          timeout_ms,
                         GError       **error)
{
  TcpSocks5Client *client = tcp_socks5_client_new (uri, error);
  TcpSocks5Listener *self;

  if (client == NULL)
    return NULL;

  self = g_object_new (TCP_TYPE_SOCKS5_LISTENER, NULL);
  self->client = client;
  self->address = address != NULL ? g_object_ref (address) : NULL;
  self->port = port;
  self->timeout_ms = timeout_ms;

  return TCP_LISTENER (self);
}

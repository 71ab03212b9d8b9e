/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-listener.c: how a TcpServer listens, whatever it listens on
 *
 * Copyright 2026 The libtcp authors
 *
 * The abstract base of the listeners (see tcp-listener-private.h). It owns
 * what every kind shares: the context, the owner's callbacks, the bound
 * address and port, the per-connection options, and the rule that a
 * stopped listener calls back no more.
 */

#include "config.h"

#include "tcp-listener-private.h"
#include "tcp-socket-setup-private.h"

typedef struct
{
  GMainContext               *context;
  const TcpListenerCallbacks *callbacks;   /* NULL before start and after stop */
  gpointer                    user_data;
  GInetAddress               *address;
  guint16                     port;
  TcpSocketOptions            options;
  gboolean                    started;
  gboolean                    blocking;    /* inside a blocking start */
} TcpListenerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (TcpListener, tcp_listener, G_TYPE_OBJECT)

static void
tcp_listener_dispose (GObject *object)
{
  TcpListener *self = TCP_LISTENER (object);
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  tcp_listener_stop (self);
  g_clear_object (&priv->address);
  g_clear_pointer (&priv->context, g_main_context_unref);

  G_OBJECT_CLASS (tcp_listener_parent_class)->dispose (object);
}

static gchar *
tcp_listener_real_describe (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);
  g_autofree gchar *where = tcp_socket_describe (priv->address, priv->port);

  return g_strconcat ("on ", where, NULL);
}

static void
tcp_listener_class_init (TcpListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tcp_listener_dispose;

  klass->describe = tcp_listener_real_describe;
}

static void
tcp_listener_init (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  priv->options.no_delay = TRUE;
}

/* Starts the listener on @context, reporting to @callbacks (which must
 * outlive it). See TcpListenerClass.start for @blocking. */
gboolean
tcp_listener_start (TcpListener                *self,
                    GMainContext               *context,
                    const TcpListenerCallbacks *callbacks,
                    gpointer                    user_data,
                    gboolean                    blocking,
                    GError                    **error)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);
  gboolean ok;

  g_return_val_if_fail (TCP_IS_LISTENER (self), FALSE);
  g_return_val_if_fail (!priv->started, FALSE);

  priv->started = TRUE;
  priv->context = g_main_context_ref (context);
  priv->callbacks = callbacks;
  priv->user_data = user_data;

  priv->blocking = blocking;
  ok = TCP_LISTENER_GET_CLASS (self)->start (self, blocking, error);
  priv->blocking = FALSE;

  if (!ok)
    tcp_listener_stop (self);

  return ok;
}

void
tcp_listener_set_accepting (TcpListener *self,
                            gboolean     accepting)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks != NULL)
    TCP_LISTENER_GET_CLASS (self)->set_accepting (self, accepting);
}

gboolean
tcp_listener_wait (TcpListener *self,
                   gint64       timeout_us)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks == NULL)
    return TRUE;

  return TCP_LISTENER_GET_CLASS (self)->wait (self, timeout_us);
}

GSource *
tcp_listener_create_wake_source (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks == NULL)
    return NULL;

  return TCP_LISTENER_GET_CLASS (self)->create_wake_source (self);
}

/* Stops for good; safe from inside any callback, and more than once. */
void
tcp_listener_stop (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks == NULL)
    return;

  priv->callbacks = NULL;
  priv->user_data = NULL;
  TCP_LISTENER_GET_CLASS (self)->stop (self);
}

/* The options every connection this listener accepts gets from now on. */
void
tcp_listener_set_options (TcpListener            *self,
                          const TcpSocketOptions *options)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->options.no_delay == options->no_delay &&
      priv->options.keepalive == options->keepalive)
    return;

  priv->options = *options;
  if (priv->callbacks != NULL)
    TCP_LISTENER_GET_CLASS (self)->options_changed (self);
}

const TcpSocketOptions *
tcp_listener_get_options (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  return &priv->options;
}

gboolean
tcp_listener_is_bound (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  return priv->address != NULL;
}

GInetAddress *
tcp_listener_get_address (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  return priv->address;
}

guint16
tcp_listener_get_port (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  return priv->port;
}

/* Where it listens, for messages: "on 127.0.0.1:8080". */
gchar *
tcp_listener_describe (TcpListener *self)
{
  return TCP_LISTENER_GET_CLASS (self)->describe (self);
}

/* The listening socket, for a listener that has one. */
GSocket *
tcp_listener_get_socket (TcpListener *self)
{
  return TCP_LISTENER_GET_CLASS (self)->get_socket (self);
}

GMainContext *
tcp_listener_get_context (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  return priv->context;
}

/* Records the address peers dial. Outside a blocking start, the owner
 * hears of it through the bound callback. */
void
_tcp_listener_set_bound (TcpListener  *self,
                         GInetAddress *address,
                         guint16       port)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  g_set_object (&priv->address, address);
  priv->port = port;

  if (priv->callbacks != NULL && priv->started && !priv->blocking &&
      priv->callbacks->bound != NULL)
    priv->callbacks->bound (self, priv->user_data);
}

TcpListenerAdmission
_tcp_listener_admit (TcpListener           *self,
                     const struct sockaddr *peer,
                     socklen_t              peer_len)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks == NULL || priv->callbacks->admit == NULL)
    return TCP_LISTENER_ADMIT;

  return priv->callbacks->admit (self, peer, peer_len, priv->user_data);
}

gboolean
_tcp_listener_accepted (TcpListener *self,
                        GSocket     *socket)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks == NULL)
    return FALSE;

  return priv->callbacks->accepted (self, socket, priv->user_data);
}

void
_tcp_listener_accept_error (TcpListener  *self,
                            const GError *error)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);

  if (priv->callbacks != NULL)
    priv->callbacks->accept_error (self, error, priv->user_data);
}

/* Stops the listener, then tells the owner why. */
void
_tcp_listener_failed (TcpListener  *self,
                      const GError *error)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);
  const TcpListenerCallbacks *callbacks = priv->callbacks;
  gpointer user_data = priv->user_data;

  if (callbacks == NULL)
    return;

  g_object_ref (self);
  tcp_listener_stop (self);
  callbacks->failed (self, error, user_data);
  g_object_unref (self);
}

/* Stops the listener, then tells the owner it is done. */
void
_tcp_listener_finished (TcpListener *self)
{
  TcpListenerPrivate *priv = tcp_listener_get_instance_private (self);
  const TcpListenerCallbacks *callbacks = priv->callbacks;
  gpointer user_data = priv->user_data;

  if (callbacks == NULL)
    return;

  g_object_ref (self);
  tcp_listener_stop (self);
  callbacks->finished (self, user_data);
  g_object_unref (self);
}

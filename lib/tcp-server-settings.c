/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-settings.c: how a TcpServer listens, and what each connection gets
 *
 * Copyright 2026 The libtcp authors
 *
 * The accessors of the settings that shape TcpServer's listeners: the
 * kernel backlog and SO_REUSEPORT (read at the next listen), the SOCKS5
 * proxy and its timeout, and the per-connection options no-delay and
 * keepalive (applied to the listener at once).
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-impl-private.h"

#define properties _tcp_server_properties

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
  g_return_val_if_fail (TCP_IS_SERVER (self), TCP_SERVER_DEFAULT_BACKLOG);

  return _tcp_server_get_private (self)->backlog;
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

  priv = _tcp_server_get_private (self);
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
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  return _tcp_server_get_private (self)->reuse_port;
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

  priv = _tcp_server_get_private (self);
  reuse_port = !!reuse_port;
  if (priv->reuse_port == reuse_port)
    return;

  priv->reuse_port = reuse_port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REUSE_PORT]);
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
  g_return_val_if_fail (TCP_IS_SERVER (self), NULL);

  return _tcp_server_get_private (self)->proxy;
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

  priv = _tcp_server_get_private (self);
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
  g_return_val_if_fail (TCP_IS_SERVER (self), TCP_SERVER_DEFAULT_PROXY_TIMEOUT);

  return _tcp_server_get_private (self)->proxy_timeout;
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

  priv = _tcp_server_get_private (self);
  if (priv->proxy_timeout == msec)
    return;

  priv->proxy_timeout = msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROXY_TIMEOUT]);
}

static void
set_options (TcpServer              *self,
             const TcpSocketOptions *options,
             guint                   prop_id)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  priv->options = *options;
  if (priv->listener != NULL)
    tcp_listener_set_options (priv->listener, options);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

/**
 * tcp_server_get_no_delay:
 * @self: a [class@Tcp.Server]
 *
 * Gets whether accepted connections have `TCP_NODELAY`.
 *
 * Returns: the value of [property@Tcp.Server:no-delay]
 *
 * Since: 1.1
 */
gboolean
tcp_server_get_no_delay (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), TRUE);

  return _tcp_server_get_private (self)->options.no_delay;
}

/**
 * tcp_server_set_no_delay:
 * @self: a [class@Tcp.Server]
 * @no_delay: whether accepted connections get `TCP_NODELAY`
 *
 * Sets [property@Tcp.Server:no-delay]. It applies to every connection
 * accepted from now on.
 *
 * Since: 1.1
 */
void
tcp_server_set_no_delay (TcpServer *self,
                         gboolean   no_delay)
{
  TcpSocketOptions options;

  g_return_if_fail (TCP_IS_SERVER (self));

  options = _tcp_server_get_private (self)->options;
  if (options.no_delay == !!no_delay)
    return;

  options.no_delay = !!no_delay;
  set_options (self, &options, PROP_NO_DELAY);
}

/**
 * tcp_server_get_keepalive:
 * @self: a [class@Tcp.Server]
 *
 * Gets whether accepted connections have `SO_KEEPALIVE`.
 *
 * Returns: the value of [property@Tcp.Server:keepalive]
 *
 * Since: 1.1
 */
gboolean
tcp_server_get_keepalive (TcpServer *self)
{
  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);

  return _tcp_server_get_private (self)->options.keepalive;
}

/**
 * tcp_server_set_keepalive:
 * @self: a [class@Tcp.Server]
 * @keepalive: whether accepted connections get `SO_KEEPALIVE`
 *
 * Sets [property@Tcp.Server:keepalive]. It applies to every connection
 * accepted from now on.
 *
 * Since: 1.1
 */
void
tcp_server_set_keepalive (TcpServer *self,
                          gboolean   keepalive)
{
  TcpSocketOptions options;

  g_return_if_fail (TCP_IS_SERVER (self));

  options = _tcp_server_get_private (self)->options;
  if (options.keepalive == !!keepalive)
    return;

  options.keepalive = !!keepalive;
  set_options (self, &options, PROP_KEEPALIVE);
}

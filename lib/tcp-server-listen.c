/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-listen.c: the ways a TcpServer starts listening
 *
 * Copyright 2026 The libtcp authors
 *
 * Every public way to listen (an address, a string, a range of ports,
 * localhost, an adopted descriptor, socket activation, a SOCKS5 proxy, and
 * the asynchronous form) comes down to the same two steps here: make the
 * right TcpListener, then hand it to _tcp_server_start_listener(). The
 * accessors of what the server listens on (address, port, socket) are here
 * too; the settings that shape listeners are in tcp-server-settings.c.
 */

#include "config.h"

#include <string.h>

#include "tcp-server.h"
#include "tcp-server-impl-private.h"
#include "tcp-socket-listener-private.h"
#include "tcp-socket-setup-private.h"
#include "tcp-socks5-listener-private.h"

#include "tcp-server-private.h"


gboolean
_tcp_server_check_can_listen (TcpServer  *self,
                              GError    **error)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  const TcpServerHooks *hooks = _tcp_server_get_hooks (self);
  GError *local_error = NULL;

  if (priv->listener != NULL)
    {
      g_autofree gchar *where = tcp_listener_describe (priv->listener);

      return _tcp_server_fail (self, error,
                               g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                            "The server is already listening %s; close it "
                                            "first", where));
    }

  if (hooks != NULL && hooks->check_listen != NULL && !hooks->check_listen (self, &local_error))
    return _tcp_server_fail (self, error, local_error);

  return TRUE;
}

gboolean
_tcp_server_start_listener (TcpServer    *self,
                            TcpListener  *listener,
                            GTask        *task,
                            GError      **error)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  GError *local_error = NULL;

  g_assert (priv->listener == NULL);

  /* A server whose SOCKS5 BIND has finished may still have TLS handshakes
   * in flight on its old context: they keep theirs. */
  g_clear_pointer (&priv->context, g_main_context_unref);
  priv->context = g_main_context_ref_thread_default ();
  priv->listener = listener;
  priv->listen_task = task != NULL ? g_object_ref (task) : NULL;

  tcp_listener_set_options (listener, &priv->options);
  if (!tcp_listener_start (listener, priv->context, &_tcp_server_listener_callbacks, self, task == NULL,
                           &local_error))
    {
      g_clear_object (&priv->listener);
      g_clear_object (&priv->listen_task);
      return _tcp_server_fail (self, error, local_error);
    }

  _tcp_server_update_accepting (self);

  if (tcp_listener_is_bound (listener))
    {
      g_autoptr(GTask) bound_task = g_steal_pointer (&priv->listen_task);

      _tcp_server_notify_listening_state (self);
      if (bound_task != NULL)
        g_task_return_boolean (bound_task, TRUE);
    }

  return TRUE;
}

static TcpBindOptions
bind_options (TcpServer    *self,
              GInetAddress *address,
              guint32       scope_id)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  TcpBindOptions bind = {
    .address = address,
    .scope_id = scope_id,
    .backlog = priv->backlog,
    .reuse_port = priv->reuse_port,
  };

  return bind;
}

static gboolean
is_loopback (GInetAddress *address)
{
  static const guint8 mapped_loopback[13] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127 };

  if (g_inet_address_get_is_loopback (address))
    return TRUE;

  /* ::ffff:127.x.y.z is IPv4's loopback; GIO does not count it. */
  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
         memcmp (g_inet_address_to_bytes (address), mapped_loopback,
                 sizeof mapped_loopback) == 0;
}

/* Whether listening on @address goes through the proxy. */
static gboolean
uses_proxy (TcpServer    *self,
            GInetAddress *address)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  if (priv->proxy == NULL || priv->proxy[0] == '\0')
    return FALSE;

  return address == NULL || !is_loopback (address);
}

/* The listener for @address and @port: through the proxy, or bound here. */
static TcpListener *
make_listener (TcpServer     *self,
               GInetAddress  *address,
               guint32        scope_id,
               guint16        port,
               GError       **error)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  TcpBindOptions bind = bind_options (self, address, scope_id);

  if (uses_proxy (self, address))
    return tcp_socks5_listener_new (priv->proxy, address, port, priv->proxy_timeout, error);

  return tcp_socket_listener_new_bound (&bind, port, error);
}

/* Listens through @listener, blocking until it has bound; %NULL means it
 * could not be made, and @local_error says why. */
static gboolean
listen_with (TcpServer    *self,
             TcpListener  *listener,
             GError       *local_error,
             GError      **error)
{
  if (listener == NULL)
    return _tcp_server_fail (self, error, local_error);

  return _tcp_server_start_listener (self, listener, NULL, error);
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
 * the proxy listens instead, and this blocks until it has answered, as
 * `g_socket_client_connect()` does through a proxy: it returns %TRUE once
 * the proxy has bound a port ([property@Tcp.Server:server-address] and
 * [property@Tcp.Server:server-port] then say where peers must connect), or
 * fails with the proxy's error: a scheme other than `socks5` with
 * %G_IO_ERROR_NOT_SUPPORTED, a malformed URI with
 * %G_IO_ERROR_INVALID_ARGUMENT, a proxy that is unreachable, refuses or
 * answers nonsense with an error of the %G_IO_ERROR_PROXY_FAILED family or
 * %G_IO_ERROR_CONNECTION_REFUSED, and one that does not answer within
 * [property@Tcp.Server:proxy-timeout] with %G_IO_ERROR_TIMED_OUT. To listen
 * through a proxy without blocking, call [method@Tcp.Server.listen_async].
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.0
 */
gboolean
tcp_server_listen (TcpServer     *self,
                   GInetAddress  *address,
                   guint16        port,
                   GError       **error)
{
  GError *local_error = NULL;
  TcpListener *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_tcp_server_check_can_listen (self, error))
    return FALSE;

  listener = make_listener (self, address, 0, port, &local_error);
  return listen_with (self, listener, local_error, error);
}

/**
 * tcp_server_listen_on:
 * @self: a [class@Tcp.Server]
 * @host: (nullable): `"localhost"`, a numeric IPv4 or IPv6 address such as
 *   `"127.0.0.1"`, `"::1"` or `"fe80::1%eth0"`, or %NULL for any address
 * @port: the port to listen on, or 0 to let the system pick one
 * @error: return location for a [struct@GLib.Error]
 *
 * Like [method@Tcp.Server.listen], with the address as a string.
 *
 * `"localhost"` listens on both loopback addresses, 127.0.0.1 and (where
 * the system has IPv6) ::1, on one port, as one server; with port 0 the
 * system picks a port free on both. [property@Tcp.Server:server-address]
 * is then 127.0.0.1, and the proxy is never used.
 *
 * A link-local IPv6 address carries its interface after a `%`, by name or
 * index (`"fe80::1%eth0"`, `"fe80::1%2"`).
 *
 * Other host names are not resolved (that would block): a string that is
 * none of the above fails with %G_IO_ERROR_INVALID_ARGUMENT.
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
  GError *local_error = NULL;
  TcpListener *listener;
  guint32 scope_id = 0;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (host == NULL)
    return tcp_server_listen (self, NULL, port, error);

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    {
      TcpBindOptions bind = bind_options (self, NULL, 0);

      if (!_tcp_server_check_can_listen (self, error))
        return FALSE;

      listener = tcp_socket_listener_new_localhost (&bind, port, &local_error);
      return listen_with (self, listener, local_error, error);
    }

  address = tcp_socket_parse_address (host, &scope_id);
  if (address == NULL)
    {
      /* Error messages are UTF-8 (bindings decode them): a host that is not
       * shows up with replacement characters. */
      g_autofree gchar *printable = g_utf8_make_valid (host, -1);

      return _tcp_server_fail (self, error,
                               g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                            "Could not listen on “%s”: not “localhost” nor a "
                                            "numeric IPv4 or IPv6 address", printable));
    }

  if (!_tcp_server_check_can_listen (self, error))
    return FALSE;

  listener = make_listener (self, address, scope_id, port, &local_error);
  return listen_with (self, listener, local_error, error);
}

/**
 * tcp_server_listen_range:
 * @self: a [class@Tcp.Server]
 * @address: (nullable): the address to listen on, or %NULL for any address
 * @first_port: the first port to try, at least 1
 * @last_port: the last port to try, at least @first_port
 * @error: return location for a [struct@GLib.Error]
 *
 * Like [method@Tcp.Server.listen], on the first port from @first_port to
 * @last_port that is free, tried in order: for a service that has a range
 * of ports to itself, or several instances of one that each take the next
 * free port. [property@Tcp.Server:server-port] tells which.
 *
 * When every port is taken it fails with %G_IO_ERROR_ADDRESS_IN_USE, whose
 * message names the range; any other error (the address is not this
 * machine's, say) ends the search at once. A range that is empty or starts
 * at 0 fails with %G_IO_ERROR_INVALID_ARGUMENT, and so does a range through
 * a proxy ([property@Tcp.Server:proxy]), which picks its own port.
 *
 * Returns: %TRUE if the server is now listening
 *
 * Since: 1.1
 */
gboolean
tcp_server_listen_range (TcpServer     *self,
                         GInetAddress  *address,
                         guint16        first_port,
                         guint16        last_port,
                         GError       **error)
{
  TcpBindOptions bind;
  GError *local_error = NULL;
  TcpListener *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_tcp_server_check_can_listen (self, error))
    return FALSE;

  if (uses_proxy (self, address))
    return _tcp_server_fail (self, error,
                             g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                                  "Could not listen on a range of ports "
                                                  "through a proxy: the proxy picks the port"));

  bind = bind_options (self, address, 0);
  listener = tcp_socket_listener_new_range (&bind, first_port, last_port, &local_error);
  return listen_with (self, listener, local_error, error);
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
 * close-on-exec, sets its options ([property@Tcp.Server:no-delay],
 * [property@Tcp.Server:keepalive]; connections that were already waiting
 * get them too), and closes it in [method@Tcp.Server.close]. A negative or
 * closed descriptor, something that is not a socket, a socket that is not
 * TCP (UDP, Unix) or not listening, or a server that is already listening,
 * fails with a [struct@GLib.Error] and changes nothing: @fd stays the
 * caller's, untouched. A descriptor another [class@Tcp.Server] of this
 * process listens on fails with %G_IO_ERROR_BUSY.
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
  TcpListener *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_tcp_server_check_can_listen (self, error))
    return FALSE;

  listener = tcp_socket_listener_new_adopted (fd, &local_error);
  return listen_with (self, listener, local_error, error);
}

/**
 * tcp_server_listen_activated:
 * @self: a [class@Tcp.Server]
 * @name: (nullable): the socket's name in `LISTEN_FDNAMES` (systemd's
 *   `FileDescriptorName=`), or %NULL for the first TCP listening socket
 * @error: return location for a [struct@GLib.Error]
 *
 * Listens on a socket passed to this process by systemd socket activation
 * (see `sd_listen_fds(3)`): the one that `LISTEN_FDNAMES` names @name, or
 * with %NULL the first TCP socket in listening state. Only descriptors
 * meant for this process count (`LISTEN_PID` is its pid), and none that
 * another [class@Tcp.Server] of this process already took, so several
 * servers in one process can each take their own socket, by name or one
 * after the other. The environment is left as it is.
 *
 * The socket is checked and adopted as [method@Tcp.Server.set_socket_descriptor]
 * does, with the same errors. When no such socket was passed it fails with
 * %G_IO_ERROR_NOT_FOUND.
 *
 * Returns: %TRUE if the server now listens on the activated socket
 *
 * Since: 1.1
 */
gboolean
tcp_server_listen_activated (TcpServer    *self,
                             const gchar  *name,
                             GError      **error)
{
  GError *local_error = NULL;
  TcpListener *listener;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_tcp_server_check_can_listen (self, error))
    return FALSE;

  listener = tcp_socket_listener_new_activated (name, &local_error);
  return listen_with (self, listener, local_error, error);
}

static gboolean
listen_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TcpServer *self = g_task_get_source_object (task);
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  if (priv->listen_task != task)
    return G_SOURCE_REMOVE;

  /* close() fails the task with G_IO_ERROR_CANCELLED, as cancelling does. */
  tcp_server_close (self);

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
 * Like [method@Tcp.Server.listen], without blocking; finish with
 * [method@Tcp.Server.listen_finish].
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
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  TcpListener *listener;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (address == NULL || G_IS_INET_ADDRESS (address));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tcp_server_listen_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (!_tcp_server_check_can_listen (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  listener = make_listener (self, address, 0, port, &error);
  if (listener == NULL)
    {
      _tcp_server_set_error (self, error);
      g_task_return_error (task, error);
      return;
    }

  if (!_tcp_server_start_listener (self, listener, task, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (cancellable != NULL && _tcp_server_get_private (self)->listen_task == task)
    _tcp_server_watch_cancellable (task, cancellable, G_SOURCE_FUNC (listen_cancelled_cb),
                                   _tcp_server_get_private (self)->context,
                                   "[tcp] listen cancelled");
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
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* What the server listens on                                         */

/**
 * tcp_server_is_listening:
 * @self: a [class@Tcp.Server]
 *
 * Checks whether the server is listening, after a successful
 * [method@Tcp.Server.listen] (or another way to listen) and until
 * [method@Tcp.Server.close].
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

  priv = _tcp_server_get_private (self);

  return _tcp_server_is_bound (priv);
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

  priv = _tcp_server_get_private (self);

  return priv->listener != NULL ? tcp_listener_get_address (priv->listener) : NULL;
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

  priv = _tcp_server_get_private (self);

  return priv->listener != NULL ? tcp_listener_get_port (priv->listener) : 0;
}

/**
 * tcp_server_get_socket_descriptor:
 * @self: a [class@Tcp.Server]
 *
 * Gets the file descriptor of the listening socket, Qt's
 * `socketDescriptor()`. A server listening on `"localhost"` has two: this
 * is the one on 127.0.0.1.
 *
 * Returns: the listening socket's file descriptor, or -1 when not listening
 *   (or listening through a SOCKS5 proxy, which has no local listening socket)
 *
 * Since: 1.0
 */
gint
tcp_server_get_socket_descriptor (TcpServer *self)
{
  GSocket *socket;

  g_return_val_if_fail (TCP_IS_SERVER (self), -1);

  socket = tcp_server_get_socket (self);
  return socket != NULL ? g_socket_get_fd (socket) : -1;
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

  priv = _tcp_server_get_private (self);

  return priv->listener != NULL ? tcp_listener_get_socket (priv->listener) : NULL;
}

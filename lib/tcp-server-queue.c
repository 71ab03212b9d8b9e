/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-queue.c: TcpServer's pending queue, the user's end of it
 *
 * Copyright 2026 The libtcp authors
 *
 * Where connections wait until the application takes them: the queue and
 * its limit (max-pending-connections), the slots held by work in flight
 * (TLS handshakes), pausing, the decision whether the listener should
 * accept more, accept_async(), and the waking of a thread that waits in
 * wait_for_new_connection().
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-private.h"
#include "tcp-server-impl-private.h"
#include "tcp-tracked-connection-private.h"

static guint
n_occupied (TcpServerPrivate *priv)
{
  return priv->pending.length + priv->n_reserved;
}

gboolean
_tcp_server_has_room (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  return n_occupied (priv) < (guint) priv->max_pending &&
         _tcp_server_below_max_connections (self);
}

gboolean
_tcp_server_accepting_wanted (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  return priv->listener != NULL &&
         !priv->paused &&
         n_occupied (priv) < (guint) priv->max_pending &&
         (priv->max_connections == 0 || _tcp_server_below_max_connections (self));
}

void
_tcp_server_update_accepting (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  if (priv->listener != NULL)
    tcp_listener_set_accepting (priv->listener, _tcp_server_accepting_wanted (self));
}

/* Wakes wait_for_new_connection() in a thread that cannot run the server's
 * context. Costs an atomic read when nobody waits there. */
void
_tcp_server_tell_waiting_threads (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  if (g_atomic_int_get (&priv->n_news_waiters) == 0)
    return;

  g_mutex_lock (&priv->news_mutex);
  priv->news_serial++;
  g_cond_broadcast (&priv->news_cond);
  g_mutex_unlock (&priv->news_mutex);
}


/* ------------------------------------------------------------------ */
/* accept_async() waiters                                             */

void
_tcp_server_fail_waiters_with (GQueue       *waiters,
                   const GError *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (waiters)))
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
}

void
_tcp_server_fail_waiters (GQueue *waiters,
              gint    code,
              const gchar *message)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, code, message);

  _tcp_server_fail_waiters_with (waiters, error);
}

/* Hands queued connections to accept_async() callers, oldest first. */
static void
serve_waiters (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  while (priv->waiters.length > 0 && tcp_server_has_pending_connections (self))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&priv->waiters);
      GSource *cancel_source = g_task_get_task_data (task);

      if (cancel_source != NULL)
        g_source_destroy (cancel_source);
      g_task_return_pointer (task, tcp_server_next_pending_connection (self), g_object_unref);
    }
}

/* With no listener and nothing in flight, no connection can come: the
 * waiters learn it. */
void
_tcp_server_fail_hopeless_waiters (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  GQueue waiters;

  if (priv->listener != NULL || priv->n_reserved > 0 || priv->waiters.length == 0)
    return;

  waiters = priv->waiters;
  g_queue_init (&priv->waiters);
  _tcp_server_fail_waiters (&waiters, G_IO_ERROR_NOT_CONNECTED,
                "The server stopped listening after its last connection (a SOCKS5 BIND "
                "serves one); listen again for another");
}


static void
tcp_server_real_incoming_connection (TcpServer *self,
                                     GSocket   *socket)
{
  g_autoptr(GIOStream) connection = NULL;

  /* A GTcpConnection whose close the server sees (no factory lookup). */
  connection = tcp_tracked_connection_new (socket);
  tcp_server_add_pending_connection (self, connection);
}

static gboolean
tcp_server_real_has_pending_connections (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  return priv->pending.length > 0;
}

static GIOStream *
tcp_server_real_next_pending_connection (TcpServer *self);

void
_tcp_server_queue_class_init (TcpServerClass *klass)
{
  klass->incoming_connection = tcp_server_real_incoming_connection;
  klass->has_pending_connections = tcp_server_real_has_pending_connections;
  klass->next_pending_connection = tcp_server_real_next_pending_connection;
}

static GIOStream *
tcp_server_real_next_pending_connection (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  GIOStream *connection = g_queue_pop_head (&priv->pending);

  if (connection != NULL)
    _tcp_server_update_accepting (self);

  return connection;
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

  g_return_val_if_fail (TCP_IS_SERVER (self), TCP_SERVER_DEFAULT_MAX_PENDING);

  priv = _tcp_server_get_private (self);

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

  priv = _tcp_server_get_private (self);

  if (priv->max_pending == n)
    return;

  priv->max_pending = n;
  _tcp_server_update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), _tcp_server_properties[PROP_MAX_PENDING_CONNECTIONS]);
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

  priv = _tcp_server_get_private (self);

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

  priv = _tcp_server_get_private (self);

  g_queue_push_tail (&priv->pending, g_object_ref (connection));
  _tcp_server_track_queued (self, connection);
  _tcp_server_update_accepting (self);
  _tcp_server_tell_waiting_threads (self);

  /* A handler or an accept_async() callback may drop the last reference;
   * outside the accept batch (a subclass queueing after a TLS handshake)
   * nobody else holds one for us. */
  g_object_ref (self);
  g_signal_emit (self, _tcp_server_signals[SIGNAL_PENDING_CONNECTION_AVAILABLE], 0);
  serve_waiters (self);
  /* Accepted here, the server settles once new-connection has returned. */
  if (priv->accept_depth == 0)
    _tcp_server_connections_settle (self, FALSE);
  g_object_unref (self);
}

/**
 * tcp_server_pause_accepting:
 * @self: a [class@Tcp.Server]
 *
 * Stops accepting new connections; clients wait in the kernel's listen
 * queue (through a SOCKS5 proxy, at the proxy). The pause holds until
 * [method@Tcp.Server.resume_accepting], whatever happens to the pending
 * queue meanwhile.
 *
 * Since: 1.0
 */
void
tcp_server_pause_accepting (TcpServer *self)
{
  TcpServerPrivate *priv;

  g_return_if_fail (TCP_IS_SERVER (self));

  priv = _tcp_server_get_private (self);

  if (priv->paused)
    return;

  priv->paused = TRUE;
  _tcp_server_update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), _tcp_server_properties[PROP_PAUSED]);
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

  priv = _tcp_server_get_private (self);

  if (!priv->paused)
    return;

  priv->paused = FALSE;
  _tcp_server_update_accepting (self);
  g_object_notify_by_pspec (G_OBJECT (self), _tcp_server_properties[PROP_PAUSED]);
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

  priv = _tcp_server_get_private (self);

  return priv->paused;
}


static void
destroy_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

/* Calls @callback with @task on @context when @cancellable is cancelled,
 * until @task is done. */
void
_tcp_server_watch_cancellable (GTask        *task,
                               GCancellable *cancellable,
                               GSourceFunc   callback,
                               GMainContext *context,
                               const gchar  *name)
{
  GSource *source = g_cancellable_source_new (cancellable);

  g_source_set_callback (source, callback, task, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, context);
  g_task_set_task_data (task, source, destroy_source);
}

static gboolean
accept_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TcpServer *self = g_task_get_source_object (task);
  TcpServerPrivate *priv = _tcp_server_get_private (self);

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
 * listening nor holding a pending connection (or a TLS handshake in
 * flight), with %G_IO_ERROR_CLOSED when [method@Tcp.Server.close] is called
 * while waiting, and with %G_IO_ERROR_CANCELLED when @cancellable is
 * cancelled.
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

  priv = _tcp_server_get_private (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tcp_server_accept_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (tcp_server_has_pending_connections (self))
    {
      g_task_return_pointer (task, tcp_server_next_pending_connection (self), g_object_unref);
      return;
    }

  if (priv->listener == NULL && priv->n_reserved == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "Cannot accept a connection: the server is not listening");
      return;
    }

  if (cancellable != NULL)
    _tcp_server_watch_cancellable (task, cancellable, G_SOURCE_FUNC (accept_cancelled_cb),
                                   g_task_get_context (task), "[tcp] accept cancelled");

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
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}


void
_tcp_server_reserve_slot (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  priv->n_reserved++;
  _tcp_server_update_accepting (self);
}

void
_tcp_server_release_slot (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  g_return_if_fail (priv->n_reserved > 0);

  priv->n_reserved--;
  _tcp_server_update_accepting (self);
  _tcp_server_tell_waiting_threads (self);
  _tcp_server_fail_hopeless_waiters (self);
}

guint
_tcp_server_get_n_reserved (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);

  return priv->n_reserved;
}


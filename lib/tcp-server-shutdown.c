/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-shutdown.c: a graceful end
 *
 * Copyright 2026 The libtcp authors
 *
 * shutdown_async(): stop listening at once, as close() does, then wait
 * until the connections handed out have closed; after a timeout, close the
 * rest, and say how many. The wait ends in the connection tracker's flush
 * (tcp-server-connections.c), which runs whenever a connection goes.
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-impl-private.h"

typedef struct
{
  TcpServer *self;      /* unowned: the task holds it */
  GSource   *timer;
  GSource   *cancel;
  guint      n_forced;
} Shutdown;

static void
shutdown_free (Shutdown *shutdown)
{
  if (shutdown->timer != NULL)
    g_source_destroy (shutdown->timer);
  g_clear_pointer (&shutdown->timer, g_source_unref);
  if (shutdown->cancel != NULL)
    g_source_destroy (shutdown->cancel);
  g_clear_pointer (&shutdown->cancel, g_source_unref);
  g_free (shutdown);
}

/* Ends @task's wait (which must be in the server's list) with @error, or
 * successfully. */
static void
finish (GTask  *task,
        GError *error)
{
  Shutdown *shutdown = g_task_get_task_data (task);
  TcpServerPrivate *priv = _tcp_server_get_private (shutdown->self);

  /* Neither may fire once the task has returned. */
  if (shutdown->timer != NULL)
    g_source_destroy (shutdown->timer);
  g_clear_pointer (&shutdown->timer, g_source_unref);
  if (shutdown->cancel != NULL)
    g_source_destroy (shutdown->cancel);
  g_clear_pointer (&shutdown->cancel, g_source_unref);

  g_queue_remove (&priv->shutdowns, task);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Closes every connection still alive. The socket is shut down first, so
 * that nothing can wait on the peer (a TLS close_notify on a full window,
 * say): the close that follows returns at once, and leaves the stream with
 * no operation pending, for the application's own close to find. */
static void
force_close (Shutdown *shutdown)
{
  TcpServerPrivate *priv = _tcp_server_get_private (shutdown->self);
  g_autoptr(GPtrArray) items = tcp_connection_tracker_ref_listed (priv->tracker);

  for (guint i = 0; i < items->len; i++)
    {
      GIOStream *item = g_ptr_array_index (items, i);
      g_autoptr(GIOStream) base = NULL;

      if (G_IS_TLS_CONNECTION (item))
        g_object_get (item, "base-io-stream", &base, NULL);
      else
        base = g_object_ref (item);
      if (G_IS_SOCKET_CONNECTION (base))
        g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)), TRUE,
                           TRUE, NULL);

      g_io_stream_close (item, NULL, NULL);
    }

  shutdown->n_forced += items->len;
  _tcp_server_connections_flush (shutdown->self);
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  Shutdown *shutdown = g_task_get_task_data (task);

  g_clear_pointer (&shutdown->timer, g_source_unref);
  force_close (shutdown);
  _tcp_server_check_shutdowns (shutdown->self);
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  Shutdown *shutdown = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_pointer (&shutdown->cancel, g_source_unref);
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    finish (task, error);
  return G_SOURCE_REMOVE;
}

/* Ends every wait once no connection is left. */
void
_tcp_server_check_shutdowns (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  GList *done = NULL;
  GList *l;

  if (priv->shutdowns.length == 0 ||
      tcp_connection_tracker_get_n_listed (priv->tracker) > 0)
    return;

  /* Collected first: a callback may start or cancel another shutdown. */
  for (l = priv->shutdowns.head; l != NULL; l = l->next)
    done = g_list_append (done, g_object_ref (l->data));

  g_object_ref (self);
  for (l = done; l != NULL; l = l->next)
    {
      if (g_queue_find (&priv->shutdowns, l->data) != NULL)
        finish (l->data, NULL);
    }
  g_list_free_full (done, g_object_unref);
  g_object_unref (self);
}

/**
 * tcp_server_shutdown_async:
 * @self: a [class@Tcp.Server]
 * @timeout_msec: how long to wait for the connections to close, in
 *   milliseconds: 0 closes them at once, -1 waits as long as it takes
 * @cancellable: (nullable): a [class@Gio.Cancellable]
 * @callback: (scope async): called when no connection is left
 * @user_data: data for @callback
 *
 * Shuts the server down gracefully: it stops listening at once, as
 * [method@Tcp.Server.close] does (connections still queued are closed, TLS
 * handshakes in flight abandoned), then waits until
 * [property@Tcp.Server:n-connections] is 0, that is until the application
 * has closed every connection it took. Once @timeout_msec has passed it
 * closes every connection still open itself (their sockets are shut down,
 * so that nothing waits on a silent peer) and
 * [method@Tcp.Server.shutdown_finish] says how many.
 *
 * Cancelling @cancellable ends the wait with %G_IO_ERROR_CANCELLED and
 * leaves the connections open. Safe from inside any signal handler.
 *
 * Since: 1.1
 */
void
tcp_server_shutdown_async (TcpServer           *self,
                           gint                 timeout_msec,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  TcpServerPrivate *priv;
  Shutdown *shutdown;
  GTask *task;

  g_return_if_fail (TCP_IS_SERVER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  priv = _tcp_server_get_private (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tcp_server_shutdown_async);
  shutdown = g_new0 (Shutdown, 1);
  shutdown->self = self;
  g_task_set_task_data (task, shutdown, (GDestroyNotify) shutdown_free);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  tcp_server_close (self);
  g_queue_push_tail (&priv->shutdowns, task);

  if (timeout_msec == 0)
    {
      force_close (shutdown);
    }
  else if (timeout_msec > 0)
    {
      shutdown->timer = g_timeout_source_new ((guint) timeout_msec);
      g_source_set_callback (shutdown->timer, timeout_cb, task, NULL);
      g_source_set_static_name (shutdown->timer, "[tcp] shutdown timeout");
      g_source_attach (shutdown->timer, g_task_get_context (task));
    }

  if (cancellable != NULL)
    {
      shutdown->cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (shutdown->cancel, G_SOURCE_FUNC (cancelled_cb), task, NULL);
      g_source_set_static_name (shutdown->cancel, "[tcp] shutdown cancelled");
      g_source_attach (shutdown->cancel, g_task_get_context (task));
    }

  _tcp_server_check_shutdowns (self);
}

/**
 * tcp_server_shutdown_finish:
 * @self: a [class@Tcp.Server]
 * @result: the [iface@Gio.AsyncResult] passed to the callback
 * @n_forced: (out) (optional): how many connections the server closed
 *   itself when the timeout passed
 * @error: return location for a [struct@GLib.Error]
 *
 * Finishes [method@Tcp.Server.shutdown_async].
 *
 * Returns: %TRUE once no connection is left; %FALSE with
 *   %G_IO_ERROR_CANCELLED if the wait was cancelled
 *
 * Since: 1.1
 */
gboolean
tcp_server_shutdown_finish (TcpServer     *self,
                            GAsyncResult  *result,
                            guint         *n_forced,
                            GError       **error)
{
  Shutdown *shutdown;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tcp_server_shutdown_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  shutdown = g_task_get_task_data (G_TASK (result));
  if (n_forced != NULL)
    *n_forced = shutdown->n_forced;

  return g_task_propagate_boolean (G_TASK (result), error);
}

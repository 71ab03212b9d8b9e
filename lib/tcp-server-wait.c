/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-wait.c: waiting for a connection without a main loop
 *
 * Copyright 2026 The libtcp authors
 *
 * Qt's waitForNewConnection(). The calling thread works for the server only
 * if it can own the server's context (as a thread without a main loop
 * does): then it asks the listener to wait once, or, while work is in
 * flight on that context (TLS handshakes) or only the context can make
 * progress (a SOCKS5 proxy's host name being looked up), runs one
 * iteration of the context. A thread that cannot own the context, because
 * another thread runs it, accepts nothing itself: it sleeps until that
 * thread has news (a connection queued, a slot released, the listener
 * gone). Neither way spins, and neither touches a context another thread
 * owns.
 */

#include "config.h"

#include "tcp-server.h"
#include "tcp-server-impl-private.h"

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* One iteration of the server's context (which the caller owns), woken by
 * the listener when it may accept, or when @timeout_us (-1: forever) runs
 * out. Then, if there is room, one connection is taken even if the server
 * is paused: the caller asked for one. */
static void
iterate_context (TcpServer *self,
                 gint64     timeout_us)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  g_autoptr(GMainContext) context = g_main_context_ref (priv->context);
  g_autoptr(TcpListener) listener = NULL;
  g_autoptr(GSource) wake = NULL;
  g_autoptr(GSource) timer = NULL;

  if (priv->listener != NULL && _tcp_server_has_room (self))
    {
      listener = g_object_ref (priv->listener);
      wake = tcp_listener_create_wake_source (listener);
    }
  if (wake != NULL)
    g_source_attach (wake, context);

  if (timeout_us >= 0)
    {
      timer = g_timeout_source_new ((guint) MIN ((timeout_us + 999) / 1000, G_MAXUINT));
      g_source_set_callback (timer, wake_cb, NULL, NULL);
      g_source_set_static_name (timer, "[tcp] wait timeout");
      g_source_attach (timer, context);
    }

  g_main_context_iteration (context, TRUE);

  if (wake != NULL)
    g_source_destroy (wake);
  if (timer != NULL)
    g_source_destroy (timer);

  if (listener != NULL && priv->listener == listener && _tcp_server_has_room (self) &&
      !tcp_server_has_pending_connections (self))
    tcp_listener_wait (listener, 0);
}

/* Sleeps until the thread that runs the server's context has news, or
 * @timeout_us (-1: forever) passes. @seen is the news serial the caller
 * read before it last looked at the server. */
static void
wait_for_news (TcpServer *self,
               guint      seen,
               gint64     timeout_us)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  gint64 end = timeout_us < 0 ? G_MAXINT64 : g_get_monotonic_time () + timeout_us;

  g_mutex_lock (&priv->news_mutex);
  while (priv->news_serial == seen)
    {
      if (!g_cond_wait_until (&priv->news_cond, &priv->news_mutex, end))
        break;
    }
  g_mutex_unlock (&priv->news_mutex);
}

static guint
read_news_serial (TcpServer *self)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  guint serial;

  g_mutex_lock (&priv->news_mutex);
  serial = priv->news_serial;
  g_mutex_unlock (&priv->news_mutex);

  return serial;
}

/* Makes what progress this thread can make within @timeout_us. */
static void
wait_once (TcpServer *self,
           guint      seen,
           gint64     timeout_us)
{
  TcpServerPrivate *priv = _tcp_server_get_private (self);
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(TcpListener) listener = NULL;

  if (priv->context == NULL || !g_main_context_acquire (priv->context))
    {
      wait_for_news (self, seen, timeout_us);
      return;
    }

  context = g_main_context_ref (priv->context);

  /* Nothing in flight: the listener alone can bring a connection. */
  if (priv->n_reserved == 0 && priv->listener != NULL && _tcp_server_has_room (self))
    listener = g_object_ref (priv->listener);
  if (listener == NULL || !tcp_listener_wait (listener, timeout_us))
    iterate_context (self, timeout_us);

  g_main_context_release (context);
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
 * handshakes of a [class@Tcp.TlsServer]), it runs that context, if the
 * calling thread can own it, so that the work completes: other sources
 * attached to that context may then be dispatched too. If another thread
 * runs the server's context, this one accepts nothing itself and sleeps
 * until that thread has queued a connection (or freed a slot).
 *
 * Called from a handler of [signal@Tcp.Server::new-connection], the
 * signals of the connections it accepts follow once that handler has
 * returned, so that draining a long queue this way does not nest.
 *
 * This blocks the calling thread: in an application with a main loop,
 * use [signal@Tcp.Server::pending-connection-available] or
 * [method@Tcp.Server.accept_async] instead.
 *
 * Through a SOCKS5 proxy it drives the exchange with the proxy itself,
 * and fails with the proxy's error if the proxy gives up.
 *
 * Returns: %TRUE when a connection is pending. On timeout %FALSE, with
 *   @timed_out set and %G_IO_ERROR_TIMED_OUT, which also becomes the
 *   server's error ([method@Tcp.Server.get_server_error], Qt's
 *   `SocketTimeoutError`); on a server that is not listening %FALSE with
 *   %G_IO_ERROR_NOT_CONNECTED.
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
  g_autoptr(GError) local_error = NULL;
  gboolean found = FALSE;
  gint64 deadline;
  guint n_errors;

  g_return_val_if_fail (TCP_IS_SERVER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  priv = _tcp_server_get_private (self);

  if (timed_out != NULL)
    *timed_out = FALSE;

  if (tcp_server_has_pending_connections (self))
    return TRUE;

  /* Handlers run in here, and may drop their reference to the server. */
  g_object_ref (self);
  g_atomic_int_inc (&priv->n_news_waiters);
  n_errors = priv->n_errors;

  deadline = msec < 0 ? -1 : g_get_monotonic_time () + (gint64) msec * 1000;

  for (;;)
    {
      guint seen = read_news_serial (self);
      gint64 remaining = -1;

      if (tcp_server_has_pending_connections (self))
        {
          found = TRUE;
          break;
        }

      if (priv->listener == NULL && priv->n_reserved == 0)
        {
          /* A proxy that gave up while we waited: that is the error. */
          if (priv->n_errors != n_errors)
            local_error = g_error_new_literal (G_IO_ERROR, priv->error_code,
                                               priv->error_string);
          else
            local_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                                               "Cannot wait for a connection: the server is "
                                               "not listening");
          break;
        }

      /* Past the deadline the server is still polled once, without
       * blocking: with 0 ms a client already waiting is taken. */
      if (deadline >= 0)
        remaining = MAX (deadline - g_get_monotonic_time (), 0);

      wait_once (self, seen, remaining);

      if (tcp_server_has_pending_connections (self))
        {
          found = TRUE;
          break;
        }

      if (remaining == 0)
        {
          if (timed_out != NULL)
            *timed_out = TRUE;
          local_error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                     "No connection arrived within %d ms", msec);
          _tcp_server_set_error (self, local_error);
          break;
        }
    }

  g_atomic_int_dec_and_test (&priv->n_news_waiters);
  g_object_unref (self);

  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return found;
}

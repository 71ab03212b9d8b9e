/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-handshake.c: one TLS connection, from accept to queue
 *
 * Copyright 2026 The libtcp authors
 *
 * See tcp-tls-handshake-private.h. The first stage waits for the client's
 * first record without reading it: it peeks at the 5-byte record header,
 * then lets the kernel wake it only once the whole record is there
 * (SO_RCVLOWAT), so that a slow or silent client costs no wakeup while it
 * says nothing. SO_RCVLOWAT is set back to 1 before GIO reads, or GIO's
 * own poll would wait for that many bytes too.
 */

#include "config.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "tcp-tls-handshake-private.h"

/* The first byte of a TLS handshake record (RFC 8446, 5.1: handshake(22)). */
#define TLS_CONTENT_HANDSHAKE 0x16
#define TLS_RECORD_HEADER     5

struct _TcpTlsHandshake
{
  GList                link;          /* the owner's */
  GIOStream           *connection;    /* the GTlsServerConnection */
  GSocket             *socket;
  gchar               *peer;
  guint                timeout_ms;
  GCancellable        *cancellable;
  GSource             *watch;         /* first stage */
  GSource             *timer;
  GMainContext        *handshake_context;
  gint                 low_water;     /* SO_RCVLOWAT as we set it */
  gboolean             in_gio;
  gboolean             timed_out;
  gboolean             abandoned;
  TcpTlsHandshakeDone  done;
  gpointer             user_data;
};

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
handshake_free (TcpTlsHandshake *self)
{
  clear_source (&self->watch);
  clear_source (&self->timer);
  g_clear_object (&self->connection);
  g_clear_object (&self->socket);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->handshake_context, g_main_context_unref);
  g_free (self->peer);
  g_free (self);
}

/* Reports, then frees. */
static void
finish (TcpTlsHandshake *self,
        const GError    *error)
{
  clear_source (&self->watch);
  clear_source (&self->timer);
  self->done (self, self->connection, error, self->abandoned, self->user_data);
  handshake_free (self);
}

/* A connection whose handshake never happened has nothing to flush: GIO
 * closes the base stream, and so the socket, at once. */
static void
close_connection (TcpTlsHandshake *self)
{
  g_io_stream_close (self->connection, NULL, NULL);
}

static void
fail (TcpTlsHandshake *self,
      GError          *error)
{
  close_connection (self);
  finish (self, error);
  g_error_free (error);
}

static void
set_low_water (TcpTlsHandshake *self,
               gint             bytes)
{
  if (self->low_water == bytes)
    return;

  self->low_water = bytes;
  setsockopt (g_socket_get_fd (self->socket), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

/* Second stage */

static void
gio_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  TcpTlsHandshake *self = user_data;
  g_autoptr(GError) error = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, &error))
    {
      if (self->abandoned)
        close_connection (self);
      finish (self, NULL);
      return;
    }

  if (self->timed_out)
    {
      g_clear_error (&error);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The TLS handshake with %s did not complete within %u ms",
                           self->peer, self->timeout_ms);
    }
  else
    {
      g_prefix_error (&error, "The TLS handshake with %s failed: ", self->peer);
    }

  close_connection (self);
  finish (self, error);
}

static void
hand_to_gio (TcpTlsHandshake *self)
{
  clear_source (&self->watch);
  set_low_water (self, 1);
  self->in_gio = TRUE;

  /* GIO reports, and asks accept-certificate, on the thread-default
   * context of this call. */
  g_main_context_push_thread_default (self->handshake_context);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (self->connection), G_PRIORITY_DEFAULT,
                                    self->cancellable, gio_done_cb, self);
  g_main_context_pop_thread_default (self->handshake_context);
}

/* First stage */

static gboolean
closed_mid_record (TcpTlsHandshake  *self,
                   GError          **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
               "%s closed the connection in the middle of its first TLS record", self->peer);
  return FALSE;
}

/* What the client sent so far, without taking it: enough of a first TLS
 * record to hand on (returns TRUE), not enough yet (FALSE, @error unset),
 * or something else (FALSE, @error set).
 *
 * With SO_RCVLOWAT at n, Linux reports the socket readable once n bytes are
 * there, or early when the peer has shut its side down (or on an error): a
 * wakeup with fewer bytes than asked for means the peer is gone. Without
 * that rule a half-closed client would make the socket readable forever. */
static gboolean
first_record_arrived (TcpTlsHandshake  *self,
                      GIOCondition      condition,
                      GError          **error)
{
  int fd = g_socket_get_fd (self->socket);
  gint waited_for = self->low_water;
  gboolean hung_up = (condition & (G_IO_HUP | G_IO_ERR)) != 0;
  guint8 header[TLS_RECORD_HEADER];
  guint length, needed;
  int available = 0;
  gssize n;

  n = recv (fd, header, sizeof header, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0)
    {
      int errsv = errno;

      if (errsv == EAGAIN || errsv == EWOULDBLOCK || errsv == EINTR)
        return FALSE;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "The TLS handshake with %s failed: %s", self->peer, g_strerror (errsv));
      return FALSE;
    }

  if (n == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                   "%s closed the connection without starting a TLS handshake", self->peer);
      return FALSE;
    }

  if (header[0] != TLS_CONTENT_HANDSHAKE)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS,
                   "%s did not start a TLS handshake: its first byte is 0x%02x, not a TLS "
                   "handshake record (a client speaking plain text?)", self->peer, header[0]);
      return FALSE;
    }

  if (n < TLS_RECORD_HEADER)
    {
      if (hung_up || waited_for >= TLS_RECORD_HEADER)
        return closed_mid_record (self, error);
      set_low_water (self, TLS_RECORD_HEADER);
      return FALSE;
    }

  length = ((guint) header[3] << 8) | header[4];
  if (header[1] != 3 || length == 0 || length > TCP_TLS_RECORD_MAX)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS,
                   "%s did not start a TLS handshake: its first record is not TLS "
                   "(version %u.%u, %u bytes)", self->peer, header[1], header[2], length);
      return FALSE;
    }

  needed = TLS_RECORD_HEADER + length;
  if (ioctl (fd, FIONREAD, &available) == 0 && (guint) available >= needed)
    return TRUE;

  if (hung_up || waited_for >= (gint) needed)
    return closed_mid_record (self, error);

  /* Wake up only once the rest of the record is there. */
  set_low_water (self, needed);
  return FALSE;
}

static gboolean
readable_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  TcpTlsHandshake *self = user_data;
  GError *error = NULL;

  if (first_record_arrived (self, condition, &error))
    hand_to_gio (self);
  else if (error != NULL)
    fail (self, error);

  return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  TcpTlsHandshake *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  self->timed_out = TRUE;

  /* In GIO's hands: it reports the cancellation, as a timeout. */
  if (self->in_gio)
    {
      g_cancellable_cancel (self->cancellable);
      return G_SOURCE_REMOVE;
    }

  fail (self, g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The TLS handshake with %s did not complete within %u ms "
                           "(the client never sent its first TLS record whole)",
                           self->peer, self->timeout_ms));
  return G_SOURCE_REMOVE;
}

/* @connection, a GTlsServerConnection over @socket, reporting to @done.
 * @timeout_ms (0: none) runs from now. */
TcpTlsHandshake *
tcp_tls_handshake_new (GIOStream           *connection,
                       GSocket             *socket,
                       const gchar         *peer,
                       guint                timeout_ms,
                       TcpTlsHandshakeDone  done,
                       gpointer             user_data)
{
  TcpTlsHandshake *self = g_new0 (TcpTlsHandshake, 1);

  self->link.data = self;
  self->connection = g_object_ref (connection);
  self->socket = g_object_ref (socket);
  self->peer = g_strdup (peer);
  self->timeout_ms = timeout_ms;
  self->cancellable = g_cancellable_new ();
  self->low_water = 1;
  self->done = done;
  self->user_data = user_data;

  return self;
}

/* Waits for the first record on @context; GIO's handshake reports on
 * @handshake_context. */
void
tcp_tls_handshake_start (TcpTlsHandshake *self,
                         GMainContext    *context,
                         GMainContext    *handshake_context)
{
  self->handshake_context = g_main_context_ref (handshake_context);

  if (self->timeout_ms > 0)
    {
      self->timer = g_timeout_source_new (self->timeout_ms);
      g_source_set_callback (self->timer, timeout_cb, self, NULL);
      g_source_set_static_name (self->timer, "[tcp] TLS handshake timeout");
      g_source_attach (self->timer, context);
    }

  self->watch = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_set_static_name (self->watch, "[tcp] TLS first record");
  g_source_attach (self->watch, context);
}

/* Ends the handshake without a word: see tcp-tls-handshake-private.h. */
void
tcp_tls_handshake_abandon (TcpTlsHandshake *self)
{
  if (self->abandoned)
    return;

  self->abandoned = TRUE;
  clear_source (&self->timer);

  if (!self->in_gio)
    {
      close_connection (self);
      finish (self, NULL);
      return;
    }

  /* GIO's worker may still be in a poll() on the socket: the descriptor
   * must stay valid until it returns, but the peer learns now. */
  g_cancellable_cancel (self->cancellable);
  g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
}

GList *
tcp_tls_handshake_get_link (TcpTlsHandshake *self)
{
  return &self->link;
}

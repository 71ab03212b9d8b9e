/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tracked-connection.c: a GTcpConnection the server sees close
 *
 * Copyright 2026 The libtcp authors
 *
 * GIO has no signal for a stream that closes. The connections the server
 * makes (the default incoming_connection, and the base stream under every
 * TLS connection) are of this subclass, whose close tells the server's
 * connection tracker: g_io_stream_close(), g_io_stream_close_async()
 * (GSocketConnection's calls the same close_fn) and the close GIOStream
 * does in dispose all pass here, in whatever thread. It is a plain
 * GTcpConnection otherwise, and applications see it as one.
 */

#include "config.h"

#include "tcp-tracked-connection-private.h"
#include "tcp-accepted-socket-private.h"

struct _TcpTrackedConnection
{
  GTcpConnection    parent_instance;

  TcpTrackedRecord *record;   /* its socket's, if the socket is one of ours */
};

G_DEFINE_FINAL_TYPE (TcpTrackedConnection, tcp_tracked_connection, G_TYPE_TCP_CONNECTION)

/* The type, once its class exists, for an exact check without g_once. */
static GType tracked_connection_type;

/* GTcpConnection's close, kept at class_init: no class cast per close. */
static gboolean (*parent_close_fn) (GIOStream     *stream,
                                    GCancellable  *cancellable,
                                    GError       **error);

static gboolean
tcp_tracked_connection_close (GIOStream     *stream,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TcpTrackedRecord *record = ((TcpTrackedConnection *) stream)->record;
  gboolean ok;

  ok = parent_close_fn (stream, cancellable, error);
  if (record != NULL)
    tcp_tracked_record_gone (record);

  return ok;
}

static void
tcp_tracked_connection_class_init (TcpTrackedConnectionClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  tracked_connection_type = G_TYPE_FROM_CLASS (klass);
  parent_close_fn = stream_class->close_fn;
  stream_class->close_fn = tcp_tracked_connection_close;
}

static void
tcp_tracked_connection_init (TcpTrackedConnection *self)
{
}

/* The connection for @socket: what the default incoming_connection queues,
 * and what TcpTlsServer puts under its TLS connections. */
GIOStream *
tcp_tracked_connection_new (GSocket *socket)
{
  TcpTrackedConnection *self = g_object_new (TCP_TYPE_TRACKED_CONNECTION, "socket", socket, NULL);

  /* The connection holds its socket, so the record lives as long. */
  self->record = tcp_accepted_socket_record_of (socket);
  return G_IO_STREAM (self);
}

/* The record of @stream's socket if @stream is a TcpTrackedConnection
 * over one of our sockets, else %NULL. */
TcpTrackedRecord *
tcp_tracked_connection_record_of (GIOStream *stream)
{
  if (G_TYPE_FROM_INSTANCE (stream) != tracked_connection_type)
    return NULL;

  return ((TcpTrackedConnection *) stream)->record;
}

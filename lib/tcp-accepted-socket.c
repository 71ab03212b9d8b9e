/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accepted-socket.c: a GSocket for a socket fresh from accept4()
 *
 * Copyright 2026 The libtcp authors
 *
 * This file owns one thing: building, for a descriptor the accept engine has
 * just made, the GSocket that g_socket_new_from_fd() would build, without the
 * system calls g_socket_new_from_fd() spends finding out what is already
 * known.
 *
 * g_socket_new_from_fd() learns everything about the fd from the kernel:
 * getsockopt (SO_TYPE), getsockname(), getpeername(), getsockopt
 * (SO_KEEPALIVE), then fcntl (F_GETFL) and fcntl (F_SETFL, O_NONBLOCK). That
 * is six system calls per connection, and for a socket that accept4
 * (SOCK_NONBLOCK | SOCK_CLOEXEC) has just made on a listener we know, every
 * answer is known in advance:
 *
 * - type: a stream, protocol: TCP (the listener is a TCP listener);
 * - family: the listener's (a dual-stack IPv6 listener hands out IPv6
 *   sockets, IPv4 peers appearing as mapped addresses);
 * - keepalive: inherited from the listener by the kernel, so the caller
 *   knows it;
 * - non-blocking: asked of accept4();
 * - connected: yes, which g_socket_check_connect_result() records through
 *   public API for the price of one getsockopt (SO_ERROR). A peer that reset
 *   in the meantime shows up there, and the connection is dropped like one
 *   that reset before accept().
 *
 * So this subclass takes those as construct properties, and its
 * `constructed` does not chain up to GSocket's, doing instead what GSocket's
 * does beyond the probing. It touches no private GLib data: everything is
 * set through GSocket's properties and public API. It is only used with the
 * GLib versions whose g_socket_constructed() it was checked against, read in
 * GLib's own source (gio/gsocket.c) at each release:
 *
 * - 2.74.0–2.74.7 and 2.76.0–2.76.6: g_socket_details_from_fd() (the probing
 *   above), then g_unix_set_fd_nonblocking(); on Linux nothing else
 *   (SO_NOSIGPIPE does not exist there).
 * - 2.78.0–2.78.6: the same calls, the non-blocking step renamed
 *   socket_set_nonblock().
 * - 2.80.0–2.86.5: the same, then, for every stream socket,
 *   setsockopt (IPPROTO_TCP, TCP_NODELAY, 1). This file does that too
 *   (tcp_accepted_socket_gsocket_sets_no_delay()), unless the descriptor
 *   already has TCP_NODELAY from its listener, so that the result is the
 *   same socket at no cost in the common case.
 *
 * Outside 2.74–2.86 its constructed chains up, and GSocket probes the
 * descriptor as g_socket_new_from_fd() does (see
 * tcp_accepted_socket_is_supported()). tests/test-accepted-socket.c compares
 * the public state of both, TCP_NODELAY and SO_KEEPALIVE included, on the
 * GLib it runs on.
 *
 * It also carries the server's record of the connection (see
 * tcp-connection-tracker.c), which goes when the socket is finalized.
 */

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tcp-accepted-socket-private.h"

struct _TcpAcceptedSocket
{
  GSocket          parent_instance;

  /* The server's record of this connection (tcp-connection-tracker.c). */
  TcpTrackedRecord record;
};

G_DEFINE_FINAL_TYPE (TcpAcceptedSocket, tcp_accepted_socket, G_TYPE_SOCKET)

/* The type, once its class exists (before any instance can), for the
 * accept path's exact type checks without g_once. */
static GType accepted_socket_type;

static void
tcp_accepted_socket_constructed (GObject *object)
{
  GObjectClass *object_class = g_type_class_peek_static (G_TYPE_OBJECT);

  /* Outside the GLib versions checked, GSocket probes the descriptor as
   * g_socket_new_from_fd() does. */
  if (!tcp_accepted_socket_is_supported ())
    {
      G_OBJECT_CLASS (tcp_accepted_socket_parent_class)->constructed (object);
      return;
    }

  /* Skips GSocket's constructed (the probing described above) on purpose:
   * the construct properties already hold its results, and
   * tcp_accepted_socket_new() does the rest. GObject's own constructed still
   * runs. */
  object_class->constructed (object);
}

static void
tcp_accepted_socket_finalize (GObject *object)
{
  TcpAcceptedSocket *self = (TcpAcceptedSocket *) object;

  tcp_tracked_record_clear (&self->record);

  ((GObjectClass *) tcp_accepted_socket_parent_class)->finalize (object);
}

static void
tcp_accepted_socket_class_init (TcpAcceptedSocketClass *klass)
{
  accepted_socket_type = G_TYPE_FROM_CLASS (klass);

  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tcp_accepted_socket_constructed;
  object_class->finalize = tcp_accepted_socket_finalize;
}

static void
tcp_accepted_socket_init (TcpAcceptedSocket *self)
{
}

/* Whether the running GLib's GSocket constructed is one of those described
 * at the top of this file. Outside that range callers use
 * g_socket_new_from_fd(). */
gboolean
tcp_accepted_socket_is_supported (void)
{
  return glib_major_version == 2 && glib_minor_version >= 74 && glib_minor_version <= 86;
}

/* Whether the running GLib's g_socket_new_from_fd() turns TCP_NODELAY on
 * (2.80 and later). */
gboolean
tcp_accepted_socket_gsocket_sets_no_delay (void)
{
  return glib_check_version (2, 80, 0) == NULL;
}

/* @fd must be a connected TCP socket of @family, fresh from accept4
 * (SOCK_NONBLOCK) on a listener or otherwise non-blocking; @options are the
 * options @fd has now (inherited from the listener). The result equals
 * g_socket_new_from_fd (@fd). Takes @fd: on failure it is closed. */
GSocket *
tcp_accepted_socket_new (gint                     fd,
                         GSocketFamily            family,
                         const TcpSocketOptions  *options,
                         GError                 **error)
{
  g_autoptr(GSocket) socket = NULL;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6, NULL);
  g_return_val_if_fail (options != NULL, NULL);

  /* "type" is left at its default, G_SOCKET_TYPE_STREAM: every property
   * named here costs two name lookups (this class, then GSocket). */
  socket = g_object_new (TCP_TYPE_ACCEPTED_SOCKET,
                         "fd", fd,
                         "family", family,
                         "protocol", G_SOCKET_PROTOCOL_TCP,
                         NULL);

  if (!g_initable_init (G_INITABLE (socket), NULL, error) ||
      !g_socket_check_connect_result (socket, error))
    return NULL;

  /* Only records what the kernel already did; costs a setsockopt() only on
   * listeners that have SO_KEEPALIVE. */
  if (options->keepalive)
    g_socket_set_keepalive (socket, TRUE);

  /* What g_socket_constructed() adds from 2.80 on (itself, outside the
   * versions checked). */
  if (!options->no_delay && tcp_accepted_socket_gsocket_sets_no_delay () &&
      tcp_accepted_socket_is_supported ())
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);

  return g_steal_pointer (&socket);
}

/* The server's record of @self's connection. */
TcpTrackedRecord *
tcp_accepted_socket_get_record (TcpAcceptedSocket *self)
{
  return &self->record;
}

/* The record of @socket's connection if it is one of ours, else %NULL. The
 * type is final, so comparing it is the whole check, and costs less than
 * a checked cast on the accept path. */
TcpTrackedRecord *
tcp_accepted_socket_record_of (GSocket *socket)
{
  if (socket == NULL || G_TYPE_FROM_INSTANCE (socket) != accepted_socket_type)
    return NULL;

  return &((TcpAcceptedSocket *) socket)->record;
}

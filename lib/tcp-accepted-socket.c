/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accepted-socket.c: a GSocket for a socket fresh from accept4()
 *
 * Copyright 2026 The libtcp authors
 *
 * g_socket_new_from_fd() learns everything about the fd from the kernel:
 * getsockopt (SO_TYPE), getsockname(), getpeername(), getsockopt
 * (SO_KEEPALIVE), then fcntl (F_GETFL) and fcntl (F_SETFL, O_NONBLOCK). That
 * is six system calls per connection, and for a socket the accept engine has
 * just made with accept4 (SOCK_NONBLOCK | SOCK_CLOEXEC) on a listener it
 * knows, every answer is known in advance:
 *
 * - type: a stream, protocol: TCP (the listener is a TCP listener);
 * - family: the listener's (a dual-stack IPv6 listener hands out IPv6
 *   sockets, IPv4 peers appearing as mapped addresses);
 * - keepalive: inherited from the listener by the kernel;
 * - non-blocking: asked of accept4();
 * - connected: yes, which g_socket_check_connect_result() records through
 *   public API for the price of one getsockopt (SO_ERROR). A peer that reset
 *   in the meantime shows up there, and the connection is dropped like one
 *   that reset before accept().
 *
 * So this subclass takes those as construct properties, and its
 * `constructed` does not chain up to GSocket's, which in GLib 2.74 does
 * nothing but the probing above (GLib's development source does the same on
 * Linux; SO_NOSIGPIPE does not exist there). Addresses are still looked up
 * by GSocket when somebody asks for them. It touches no private GLib data:
 * everything is set through GSocket's properties and public API. It is only
 * used with the GLib versions it was checked against
 * (tcp_accepted_socket_is_supported()); tests/test-accepted-socket.c
 * compares its public state with g_socket_new_from_fd()'s.
 */

#include "config.h"

#include "tcp-accepted-socket-private.h"

struct _TcpAcceptedSocket
{
  GSocket parent_instance;
};

G_DEFINE_FINAL_TYPE (TcpAcceptedSocket, tcp_accepted_socket, G_TYPE_SOCKET)

static void
tcp_accepted_socket_constructed (GObject *object)
{
  GObjectClass *object_class = g_type_class_peek_static (G_TYPE_OBJECT);

  /* Skips GSocket's constructed (the probing described above) on purpose:
   * the construct properties already hold its results. GObject's own
   * constructed still runs. */
  object_class->constructed (object);
}

static void
tcp_accepted_socket_class_init (TcpAcceptedSocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tcp_accepted_socket_constructed;
}

static void
tcp_accepted_socket_init (TcpAcceptedSocket *self)
{
}

/* Whether the running GLib's GSocket constructed is the one described at the
 * top of this file. Outside that range callers use g_socket_new_from_fd(). */
gboolean
tcp_accepted_socket_is_supported (void)
{
  return glib_major_version == 2 && glib_minor_version >= 74 && glib_minor_version <= 86;
}

/* @fd must come from accept4 (SOCK_NONBLOCK) on a TCP listener of @family
 * whose SO_KEEPALIVE is @keepalive. Takes @fd: on failure it is closed. */
GSocket *
tcp_accepted_socket_new (gint            fd,
                         GSocketFamily   family,
                         gboolean        keepalive,
                         GError        **error)
{
  g_autoptr(GSocket) socket = NULL;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6, NULL);

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
  if (keepalive)
    g_socket_set_keepalive (socket, TRUE);

  return g_steal_pointer (&socket);
}

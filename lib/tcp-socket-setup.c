/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-setup.c: creating, validating and wrapping sockets
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp-socket-setup-private.h"
#include "tcp-accepted-socket-private.h"

/* "127.0.0.1:8080", "[::1]:8080", "*:8080" (dual-stack) */
gchar *
tcp_socket_describe (GInetAddress *address,
                     guint16       port)
{
  g_autofree gchar *host = NULL;

  if (address == NULL)
    return g_strdup_printf ("*:%u", port);

  host = g_inet_address_to_string (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* ::ffff:a.b.c.d is an IPv4 address in IPv6 clothing: Linux refuses to bind
 * it on an IPv6-only socket, and the peers that reach it speak IPv4. */
static gboolean
is_ipv4_mapped (GInetAddress *address)
{
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 &&
         memcmp (g_inet_address_to_bytes (address), prefix, sizeof prefix) == 0;
}

static void
set_listen_error (GError       **error,
                  int            errsv,
                  GInetAddress  *address,
                  guint16        port,
                  const gchar   *step)
{
  g_autofree gchar *where = tcp_socket_describe (address, port);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "Could not listen on %s: %s%s%s",
               where, step ? step : "", step ? ": " : "", g_strerror (errsv));
}

static gboolean
set_int_option (int fd,
                int level,
                int option,
                int value)
{
  return setsockopt (fd, level, option, &value, sizeof value) == 0;
}

/* Creates, configures, binds and listens a socket of @family. Returns the fd,
 * or -1 with errno set and *step naming what failed. */
static int
open_bound_fd (GSocketFamily  family,
               gboolean       v6only,
               GInetAddress  *bind_address,
               guint16        port,
               gint           backlog,
               gboolean       reuse_port,
               const gchar  **step)
{
  g_autoptr(GSocketAddress) sockaddr = NULL;
  struct sockaddr_storage storage;
  gsize len;
  int fd;
  int errsv;

  *step = NULL;
  fd = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0)
    return -1;

  if (!set_int_option (fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
      (reuse_port && !set_int_option (fd, SOL_SOCKET, SO_REUSEPORT, 1)) ||
      (family == G_SOCKET_FAMILY_IPV6 &&
       !set_int_option (fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? 1 : 0)))
    {
      *step = "setting socket options";
      goto fail;
    }

  sockaddr = g_inet_socket_address_new (bind_address, port);
  len = g_socket_address_get_native_size (sockaddr);
  if (!g_socket_address_to_native (sockaddr, &storage, sizeof storage, NULL))
    {
      errno = EINVAL;
      goto fail;
    }

  if (bind (fd, (struct sockaddr *) &storage, len) != 0)
    goto fail;

  if (listen (fd, backlog) != 0)
    goto fail;

  return fd;

fail:
  errsv = errno;
  close (fd);
  errno = errsv;
  return -1;
}

GSocket *
tcp_socket_open_listener (GInetAddress  *address,
                          guint16        port,
                          gint           backlog,
                          gboolean       reuse_port,
                          GError       **error)
{
  g_autoptr(GInetAddress) any6 = NULL;
  g_autoptr(GInetAddress) any4 = NULL;
  const gchar *step = NULL;
  int fd;

  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), NULL);

  if (address != NULL)
    {
      GSocketFamily family = g_inet_address_get_family (address);

      /* An explicit IPv6 address (including "::") means IPv6 only, but for
       * an IPv4-mapped one. */
      fd = open_bound_fd (family, !is_ipv4_mapped (address), address, port, backlog,
                          reuse_port, &step);
      if (fd < 0)
        {
          set_listen_error (error, errno, address, port, step);
          return NULL;
        }
      return g_socket_new_from_fd (fd, error);
    }

  /* No address: one dual-stack IPv6 socket, IPv4 where IPv6 is missing. */
  any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  fd = open_bound_fd (G_SOCKET_FAMILY_IPV6, FALSE, any6, port, backlog, reuse_port, &step);
  if (fd >= 0)
    return g_socket_new_from_fd (fd, error);

  if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL && errno != EPROTONOSUPPORT)
    {
      set_listen_error (error, errno, NULL, port, step);
      return NULL;
    }

  any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  fd = open_bound_fd (G_SOCKET_FAMILY_IPV4, FALSE, any4, port, backlog, reuse_port, &step);
  if (fd < 0)
    {
      set_listen_error (error, errno, NULL, port, step);
      return NULL;
    }
  return g_socket_new_from_fd (fd, error);
}

static gboolean
get_int_option (int  fd,
                int  option,
                int *value)
{
  socklen_t len = sizeof *value;

  return getsockopt (fd, SOL_SOCKET, option, value, &len) == 0;
}

static gboolean
adopt_error (GError **error,
             gint     code,
             gint     fd,
             const gchar *why)
{
  g_set_error (error, G_IO_ERROR, code,
               "Could not adopt socket descriptor %d: %s", fd, why);
  return FALSE;
}

/* Checks, without changing anything, that @fd is a listening TCP socket. */
static gboolean
validate_listening_tcp_fd (gint     fd,
                           GError **error)
{
  int type, domain, protocol, accepting;

  if (fd < 0)
    return adopt_error (error, G_IO_ERROR_INVALID_ARGUMENT, fd,
                        "not a valid file descriptor");

  if (fcntl (fd, F_GETFD) < 0)
    return adopt_error (error, G_IO_ERROR_INVALID_ARGUMENT, fd, g_strerror (errno));

  if (!get_int_option (fd, SO_TYPE, &type))
    {
      int errsv = errno;

      if (errsv == ENOTSOCK)
        return adopt_error (error, G_IO_ERROR_INVALID_ARGUMENT, fd, "not a socket");
      return adopt_error (error, g_io_error_from_errno (errsv), fd, g_strerror (errsv));
    }

  if (!get_int_option (fd, SO_DOMAIN, &domain) ||
      !get_int_option (fd, SO_PROTOCOL, &protocol) ||
      !get_int_option (fd, SO_ACCEPTCONN, &accepting))
    return adopt_error (error, g_io_error_from_errno (errno), fd, g_strerror (errno));

  if (domain != AF_INET && domain != AF_INET6)
    return adopt_error (error, G_IO_ERROR_NOT_SUPPORTED, fd,
                        "not an IPv4 or IPv6 socket");

  if (type != SOCK_STREAM || protocol != IPPROTO_TCP)
    return adopt_error (error, G_IO_ERROR_NOT_SUPPORTED, fd,
                        type == SOCK_DGRAM ? "a datagram (UDP) socket, not TCP"
                                           : "not a TCP socket");

  if (!accepting)
    return adopt_error (error, G_IO_ERROR_INVALID_ARGUMENT, fd,
                        "the socket is not listening (call listen() on it first)");

  return TRUE;
}

GSocket *
tcp_socket_adopt_listener (gint     fd,
                           GError **error)
{
  int flags;

  if (!validate_listening_tcp_fd (fd, error))
    return NULL;

  flags = fcntl (fd, F_GETFL);
  if (flags < 0 || ((flags & O_NONBLOCK) == 0 && fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0))
    {
      adopt_error (error, g_io_error_from_errno (errno), fd, g_strerror (errno));
      return NULL;
    }

  /* The fd is ours from here on: keep it out of children we never meant to
   * give it to. */
  fcntl (fd, F_SETFD, FD_CLOEXEC);

  /* The fd was validated above, so this cannot fail in practice; if it did,
   * GSocket's finalize would close the fd. */
  return g_socket_new_from_fd (fd, error);
}

/* For an fd that accept4 (SOCK_NONBLOCK) just returned from @listener: the
 * GSocket is built from what @listener already knows instead of asking the
 * kernel six questions (see tcp-accepted-socket.c). Takes @fd; it is closed
 * on failure (the peer reset in the meantime). */
GSocket *
tcp_socket_wrap_accepted_from (GSocket  *listener,
                               gint      fd,
                               GError  **error)
{
  g_return_val_if_fail (G_IS_SOCKET (listener), NULL);

  if (!tcp_accepted_socket_is_supported ())
    return g_socket_new_from_fd (fd, error);

  return tcp_accepted_socket_new (fd,
                                  g_socket_get_family (listener),
                                  g_socket_get_keepalive (listener),
                                  error);
}

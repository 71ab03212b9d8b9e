/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-setup.c: creating, validating and wrapping sockets
 *
 * Copyright 2026 The libtcp authors
 *
 * Plain socket plumbing, no server state and no main loop: opening a bound
 * listening socket (dual-stack, IPV6_V6ONLY, scoped link-local addresses),
 * checking a descriptor someone hands us (set_socket_descriptor(), systemd
 * socket activation), reading the activation environment, the per-connection
 * options (TCP_NODELAY, SO_KEEPALIVE), and wrapping an accepted descriptor
 * in a GSocket with those options.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
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
               guint32        scope_id,
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

  sockaddr = g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                           "address", bind_address,
                           "port", port,
                           "scope-id", scope_id,
                           NULL);
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

/* Opens a socket listening on @address (%NULL: any, dual-stack) and @port.
 * @scope_id is the interface of a link-local IPv6 address, 0 otherwise. */
GSocket *
tcp_socket_open_listener (GInetAddress  *address,
                          guint32        scope_id,
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
      fd = open_bound_fd (family, !is_ipv4_mapped (address), address, scope_id, port,
                          backlog, reuse_port, &step);
      if (fd < 0)
        {
          set_listen_error (error, errno, address, port, step);
          return NULL;
        }
      return g_socket_new_from_fd (fd, error);
    }

  /* No address: one dual-stack IPv6 socket, IPv4 where IPv6 is missing. */
  any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  fd = open_bound_fd (G_SOCKET_FAMILY_IPV6, FALSE, any6, 0, port, backlog, reuse_port, &step);
  if (fd >= 0)
    return g_socket_new_from_fd (fd, error);

  if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL && errno != EPROTONOSUPPORT)
    {
      set_listen_error (error, errno, NULL, port, step);
      return NULL;
    }

  any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  fd = open_bound_fd (G_SOCKET_FAMILY_IPV4, FALSE, any4, 0, port, backlog, reuse_port, &step);
  if (fd < 0)
    {
      set_listen_error (error, errno, NULL, port, step);
      return NULL;
    }
  return g_socket_new_from_fd (fd, error);
}

/* How often listening on both loopback addresses retries with a new port
 * when the port the system picked for 127.0.0.1 is taken on ::1. */
#define LOCALHOST_PORT_TRIES 16

static guint16
local_port (int fd)
{
  struct sockaddr_storage storage;
  socklen_t len = sizeof storage;

  if (getsockname (fd, (struct sockaddr *) &storage, &len) != 0)
    return 0;
  if (storage.ss_family == AF_INET)
    return g_ntohs (((struct sockaddr_in *) &storage)->sin_port);
  return g_ntohs (((struct sockaddr_in6 *) &storage)->sin6_port);
}

/* Opens 127.0.0.1 and, where the system has IPv6, ::1 (*@v6 %NULL
 * otherwise) on one @port. With port 0 the system picks 127.0.0.1's port,
 * which may be taken on ::1: then both are tried again with a new one. */
gboolean
tcp_socket_open_localhost (guint16    port,
                           gint       backlog,
                           gboolean   reuse_port,
                           GSocket  **v4,
                           GSocket  **v6,
                           GError   **error)
{
  g_autoptr(GInetAddress) loopback4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) loopback6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);

  for (guint try = 0; try < LOCALHOST_PORT_TRIES; try++)
    {
      const gchar *step = NULL;
      int fd4, fd6, errsv;
      guint16 port4;

      fd4 = open_bound_fd (G_SOCKET_FAMILY_IPV4, FALSE, loopback4, 0, port, backlog,
                           reuse_port, &step);
      if (fd4 < 0)
        {
          set_listen_error (error, errno, loopback4, port, step);
          return FALSE;
        }

      port4 = local_port (fd4);
      fd6 = open_bound_fd (G_SOCKET_FAMILY_IPV6, TRUE, loopback6, 0, port4, backlog,
                           reuse_port, &step);
      errsv = errno;
      if (fd6 >= 0 || errsv == EAFNOSUPPORT || errsv == EADDRNOTAVAIL ||
          errsv == EPROTONOSUPPORT)
        {
          /* Without IPv6, 127.0.0.1 alone is localhost. */
          *v4 = g_socket_new_from_fd (fd4, NULL);
          *v6 = fd6 >= 0 ? g_socket_new_from_fd (fd6, NULL) : NULL;
          return TRUE;
        }

      close (fd4);
      if (port != 0 || errsv != EADDRINUSE)
        {
          set_listen_error (error, errsv, loopback6, port4, step);
          return FALSE;
        }
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
               "Could not listen on localhost: no port the system picked for 127.0.0.1 "
               "was free on ::1 in %u tries", LOCALHOST_PORT_TRIES);
  return FALSE;
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

/* Parses a numeric IPv4 or IPv6 address, an IPv6 one possibly scoped to an
 * interface ("fe80::1%lo", "fe80::1%2"), which inet_pton() and so
 * g_inet_address_new_from_string() refuse. Returns %NULL when @host is none
 * of those; *@scope_id is 0 for an unscoped address. */
GInetAddress *
tcp_socket_parse_address (const gchar *host,
                          guint32     *scope_id)
{
  g_autofree gchar *bare = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const gchar *percent;
  const gchar *zone;
  guint64 index;

  *scope_id = 0;

  percent = strchr (host, '%');
  if (percent == NULL)
    return g_inet_address_new_from_string (host);

  bare = g_strndup (host, percent - host);
  zone = percent + 1;
  address = g_inet_address_new_from_string (bare);
  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6 ||
      zone[0] == '\0')
    return NULL;

  if (g_ascii_string_to_unsigned (zone, 10, 1, G_MAXUINT32, &index, NULL))
    *scope_id = index;
  else
    *scope_id = if_nametoindex (zone);

  return *scope_id != 0 ? g_steal_pointer (&address) : NULL;
}

static gboolean
set_options (int                     fd,
             const TcpSocketOptions *options)
{
  return set_int_option (fd, IPPROTO_TCP, TCP_NODELAY, options->no_delay ? 1 : 0) &&
         set_int_option (fd, SOL_SOCKET, SO_KEEPALIVE, options->keepalive ? 1 : 0);
}

/* Sets TCP_NODELAY and SO_KEEPALIVE on a listening socket, whose future
 * connections inherit both from it (Linux copies the listener's socket into
 * each connection when the handshake completes). Returns how many
 * connections were already complete in the kernel's queue, and so did not
 * inherit them: TCP_INFO reports the accept queue's length as tcpi_unacked
 * on a listening socket. If it cannot tell, it returns G_MAXUINT: every
 * connection then gets its options one by one. */
guint
tcp_socket_set_listener_options (GSocket                *listener,
                                 const TcpSocketOptions *options)
{
  struct tcp_info info;
  socklen_t len = sizeof info;
  int fd = g_socket_get_fd (listener);

  /* Both options exist on every TCP socket: this fails only on a socket
   * that is not TCP, which the callers have ruled out. */
  set_options (fd, options);

  memset (&info, 0, sizeof info);
  if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < G_STRUCT_OFFSET (struct tcp_info, tcpi_unacked) + sizeof info.tcpi_unacked)
    return G_MAXUINT;

  return info.tcpi_unacked;
}

static gboolean
no_delay_is_on (int fd)
{
  int value = 0;
  socklen_t len = sizeof value;

  return getsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &value, &len) == 0 && value != 0;
}

/* A GSocket for @fd, fresh from accept4 (SOCK_NONBLOCK | SOCK_CLOEXEC) on a
 * TCP listener of @family, with the options @wanted. @inherited are the
 * options @fd got from its listener, or %NULL when they are not known (it
 * was in the kernel's queue before they were set): then both are set here.
 * Takes @fd; on failure (the peer reset in the meantime) it is closed. With
 * @wanted equal to @inherited, the common case, this makes no system call
 * beyond the one getsockopt (SO_ERROR) of tcp_accepted_socket_new(). */
GSocket *
tcp_socket_wrap_accepted (gint                     fd,
                          GSocketFamily            family,
                          const TcpSocketOptions  *wanted,
                          const TcpSocketOptions  *inherited,
                          GError                 **error)
{
  g_autoptr(GSocket) socket = NULL;
  gboolean no_delay;

  if (inherited == NULL)
    {
      set_options (fd, wanted);
      inherited = wanted;
    }

  if (tcp_accepted_socket_is_supported ())
    socket = tcp_accepted_socket_new (fd, family, inherited, error);
  else
    socket = g_socket_new_from_fd (fd, error);
  if (socket == NULL)
    return NULL;

  /* GLib 2.80 and later turn TCP_NODELAY on in every stream GSocket;
   * libtcp's no-delay property has the last word. */
  no_delay = inherited->no_delay || tcp_accepted_socket_gsocket_sets_no_delay ();
  if (!tcp_accepted_socket_is_supported ())
    no_delay = no_delay_is_on (fd);
  if (no_delay != wanted->no_delay)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, wanted->no_delay, NULL);

  return g_steal_pointer (&socket);
}

/* Sets the options of a socket that did not come from a listener of ours
 * (a SOCKS5 control connection that now carries a peer). */
void
tcp_socket_set_options (GSocket                *socket,
                        const TcpSocketOptions *options)
{
  set_options (g_socket_get_fd (socket), options);
  g_socket_set_keepalive (socket, options->keepalive);
}

/* systemd's sd_listen_fds(3) protocol: descriptors from 3 on, LISTEN_FDS of
 * them, named by LISTEN_FDNAMES (colon-separated), for the process whose
 * pid is LISTEN_PID. The environment is left as it is, so that several
 * servers in one process can each find their own socket. */
#define LISTEN_FDS_START 3

/* Returns the descriptors passed to this process by socket activation, in
 * order, and their names (systemd names unnamed ones "unknown"), or %NULL
 * with @error set when none were passed to this process. */
GArray *
tcp_socket_get_activated_fds (GStrv   *names,
                              GError **error)
{
  const gchar *pid_text = g_getenv ("LISTEN_PID");
  const gchar *fds_text = g_getenv ("LISTEN_FDS");
  const gchar *names_text = g_getenv ("LISTEN_FDNAMES");
  g_auto(GStrv) split = NULL;
  GArray *fds;
  guint64 pid, n;

  *names = NULL;

  if (pid_text == NULL || fds_text == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "No socket was passed to this process by socket activation "
                           "(LISTEN_PID or LISTEN_FDS is not set)");
      return NULL;
    }

  if (!g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL) ||
      (pid_t) pid != getpid ())
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "No socket was passed to this process by socket activation "
                           "(LISTEN_PID names another process)");
      return NULL;
    }

  if (!g_ascii_string_to_unsigned (fds_text, 10, 0, G_MAXINT - LISTEN_FDS_START, &n, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "No socket was passed to this process by socket activation "
                           "(LISTEN_FDS is not a number)");
      return NULL;
    }

  split = names_text != NULL ? g_strsplit (names_text, ":", -1) : NULL;
  *names = g_new0 (gchar *, n + 1);
  fds = g_array_sized_new (FALSE, FALSE, sizeof (gint), n);
  for (guint i = 0; i < n; i++)
    {
      gint fd = LISTEN_FDS_START + i;

      g_array_append_val (fds, fd);
      (*names)[i] = g_strdup (split != NULL && i < g_strv_length (split) ? split[i] : "unknown");
    }

  return fds;
}

/* Whether @fd is a TCP socket in listening state, asked without changing it
 * or reporting why not. */
gboolean
tcp_socket_is_listening_tcp (gint fd)
{
  return validate_listening_tcp_fd (fd, NULL);
}

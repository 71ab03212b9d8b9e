/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-accepted-socket.c: the accept engine's GSocket without the probing
 *
 * Copyright 2026 The libtcp authors
 *
 * tcp_accepted_socket_new() builds a GSocket for a fresh accept4() fd from
 * what the listener knows. Everything a user can see through public API,
 * TCP_NODELAY and SO_KEEPALIVE included, must be what g_socket_new_from_fd()
 * gives on the GLib the test runs on (which sets TCP_NODELAY from 2.80 on).
 * tcp_socket_wrap_accepted() then gives every connection the options the
 * server wants, whatever it inherited.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp-accepted-socket-private.h"
#include "tcp-socket-setup-private.h"

typedef struct
{
  GSocket *listener;
  GSocket *client;
} Pair;

static GSocket *
connect_client (GSocket       *listener,
                GSocketFamily  family)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (listener, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (family);
  g_autoptr(GSocketAddress) target = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;

  target = g_inet_socket_address_new (loopback,
                                      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  client = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (client, target, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&client);
}

static int
accept_fd (GSocket *listener)
{
  g_autoptr(GError) error = NULL;
  int fd;

  g_assert_true (g_socket_condition_timed_wait (listener, G_IO_IN, 5 * G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);
  fd = accept4 (g_socket_get_fd (listener), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static gboolean
get_option (GSocket *socket,
            int      level,
            int      option)
{
  g_autoptr(GError) error = NULL;
  gint value = -1;

  g_assert_true (g_socket_get_option (socket, level, option, &value, &error));
  g_assert_no_error (error);
  return value != 0;
}

static gboolean
get_no_delay (GSocket *socket)
{
  return get_option (socket, IPPROTO_TCP, TCP_NODELAY);
}

static gboolean
get_keepalive_option (GSocket *socket)
{
  return get_option (socket, SOL_SOCKET, SO_KEEPALIVE);
}

static void
assert_same_address (GSocketAddress *a,
                     GSocketAddress *b)
{
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (a));
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (b));
  g_assert_true (g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                       g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b))));
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b)));
}

/* Both sockets belong to connections from the same client host to the same
 * listener: everything but the peer's port must match. */
static void
assert_equivalent (GSocket *fast,
                   GSocket *probed,
                   GSocket *fast_client)
{
  g_autoptr(GSocketAddress) fast_local = NULL;
  g_autoptr(GSocketAddress) probed_local = NULL;
  g_autoptr(GSocketAddress) fast_remote = NULL;
  g_autoptr(GSocketAddress) client_local = NULL;
  g_autoptr(GError) error = NULL;
  int flags;

  g_assert_cmpint (g_socket_get_family (fast), ==, g_socket_get_family (probed));
  g_assert_cmpint (g_socket_get_socket_type (fast), ==, g_socket_get_socket_type (probed));
  g_assert_cmpint (g_socket_get_socket_type (fast), ==, G_SOCKET_TYPE_STREAM);
  g_assert_cmpint (g_socket_get_protocol (fast), ==, g_socket_get_protocol (probed));
  g_assert_cmpint (g_socket_get_protocol (fast), ==, G_SOCKET_PROTOCOL_TCP);
  g_assert_cmpint (g_socket_is_connected (fast), ==, g_socket_is_connected (probed));
  g_assert_true (g_socket_is_connected (fast));
  g_assert_cmpint (g_socket_get_keepalive (fast), ==, g_socket_get_keepalive (probed));
  g_assert_cmpint (get_keepalive_option (fast), ==, get_keepalive_option (probed));
  g_assert_cmpint (get_no_delay (fast), ==, get_no_delay (probed));
  g_assert_cmpint (g_socket_get_blocking (fast), ==, g_socket_get_blocking (probed));
  g_assert_cmpuint (g_socket_get_timeout (fast), ==, g_socket_get_timeout (probed));
  g_assert_false (g_socket_is_closed (fast));

  flags = fcntl (g_socket_get_fd (fast), F_GETFL);
  g_assert_cmpint (flags & O_NONBLOCK, !=, 0);
  g_assert_cmpint (fcntl (g_socket_get_fd (fast), F_GETFD) & FD_CLOEXEC, !=, 0);

  fast_local = g_socket_get_local_address (fast, &error);
  g_assert_no_error (error);
  probed_local = g_socket_get_local_address (probed, &error);
  g_assert_no_error (error);
  assert_same_address (fast_local, probed_local);

  /* The peer is the client socket this one was accepted from. */
  fast_remote = g_socket_get_remote_address (fast, &error);
  g_assert_no_error (error);
  client_local = g_socket_get_local_address (fast_client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (fast_remote)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (client_local)));
}

/* The socket works as a GTcpConnection: both directions, then EOF. */
static void
assert_usable (GSocket *fast,
               GSocket *client)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gchar buf[16] = { 0 };
  gssize n;

  connection = g_object_new (G_TYPE_TCP_CONNECTION, "socket", fast, NULL);
  g_assert_true (g_socket_connection_is_connected (connection));

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                            "ping", 4, NULL, NULL, &error));
  g_assert_no_error (error);
  n = g_socket_receive (client, buf, sizeof buf, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpstr (buf, ==, "ping");

  g_assert_cmpint (g_socket_send (client, "pong", 4, NULL, &error), ==, 4);
  g_assert_no_error (error);
  memset (buf, 0, sizeof buf);
  /* GSocket's blocking emulation waits for the data on the non-blocking fd. */
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                           buf, sizeof buf, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpstr (buf, ==, "pong");

  g_assert_true (g_io_stream_close (G_IO_STREAM (connection), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_is_closed (fast));
  n = g_socket_receive (client, buf, sizeof buf, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
}

static GSocket *
open_listener (GInetAddress            *address,
               const TcpSocketOptions  *options)
{
  g_autoptr(GError) error = NULL;
  GSocket *listener = tcp_socket_open_listener (address, 0, 0, 16, FALSE, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (tcp_socket_set_listener_options (listener, options), ==, 0);
  return listener;
}

/* The fast GSocket equals g_socket_new_from_fd()'s for a listener with
 * @options. */
static void
check_listener (GInetAddress  *address,
                GSocketFamily  client_family,
                gboolean       no_delay,
                gboolean       keepalive)
{
  TcpSocketOptions options = { .no_delay = no_delay, .keepalive = keepalive };
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) client1 = NULL;
  g_autoptr(GSocket) client2 = NULL;
  g_autoptr(GSocket) fast = NULL;
  g_autoptr(GSocket) probed = NULL;
  g_autoptr(GError) error = NULL;

  if (!tcp_accepted_socket_is_supported ())
    {
      g_test_skip ("this GLib takes the g_socket_new_from_fd() path");
      return;
    }

  listener = open_listener (address, &options);

  client1 = connect_client (listener, client_family);
  fast = tcp_accepted_socket_new (accept_fd (listener), g_socket_get_family (listener),
                                  &options, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fast);

  client2 = connect_client (listener, client_family);
  probed = g_socket_new_from_fd (accept_fd (listener), &error);
  g_assert_no_error (error);

  assert_equivalent (fast, probed, client1);
  g_assert_cmpint (g_socket_get_keepalive (fast), ==, keepalive);
  g_assert_cmpint (get_no_delay (fast), ==,
                   no_delay || tcp_accepted_socket_gsocket_sets_no_delay ());
  assert_usable (fast, client1);
}

/* What the server hands out has the options it wants, on every GLib, with
 * the options inherited from the listener or (for connections queued before
 * the listener had them) set one by one. */
static void
check_wrapped (gboolean wanted_no_delay,
               gboolean wanted_keepalive,
               gboolean inherited)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  TcpSocketOptions wanted = { .no_delay = wanted_no_delay, .keepalive = wanted_keepalive };
  TcpSocketOptions opposite = { .no_delay = !wanted_no_delay, .keepalive = !wanted_keepalive };
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  /* Not inherited: the listener had the opposite options when the
   * connection completed. */
  listener = open_listener (loopback, inherited ? &wanted : &opposite);
  client = connect_client (listener, G_SOCKET_FAMILY_IPV4);
  socket = tcp_socket_wrap_accepted (accept_fd (listener), G_SOCKET_FAMILY_IPV4, &wanted,
                                     inherited ? &wanted : NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (get_no_delay (socket), ==, wanted_no_delay);
  g_assert_cmpint (get_keepalive_option (socket), ==, wanted_keepalive);
  g_assert_cmpint (g_socket_get_keepalive (socket), ==, wanted_keepalive);
  assert_usable (socket, client);
}

static void
test_wrapped (void)
{
  for (guint i = 0; i < 8; i++)
    check_wrapped (i & 1, (i >> 1) & 1, (i >> 2) & 1);
}

/* A listener whose options are set while connections wait in its queue:
 * the count of those that did not inherit them is right. */
static void
test_queued_before_options (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  TcpSocketOptions none = { FALSE, FALSE };
  TcpSocketOptions both = { TRUE, TRUE };
  g_autoptr(GSocket) listener = open_listener (loopback, &none);
  g_autoptr(GSocket) client1 = connect_client (listener, G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocket) client2 = connect_client (listener, G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocket) client3 = NULL;
  int fd;

  /* The handshakes complete in the kernel before connect() returns. */
  g_assert_cmpuint (tcp_socket_set_listener_options (listener, &both), ==, 2);
  client3 = connect_client (listener, G_SOCKET_FAMILY_IPV4);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GSocket) socket = NULL;

      fd = accept_fd (listener);
      socket = g_socket_new_from_fd (fd, NULL);
      g_assert_cmpint (get_keepalive_option (socket), ==, i == 2);
    }
}

static void
test_ipv4 (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  check_listener (loopback, G_SOCKET_FAMILY_IPV4, FALSE, FALSE);
}

/* Every combination of the listener's options, as the server sets them. */
static void
test_listener_options (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  for (guint i = 0; i < 4; i++)
    check_listener (loopback, G_SOCKET_FAMILY_IPV4, i & 1, (i >> 1) & 1);
}

static void
test_ipv6 (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);

  if (probe == NULL)
    {
      g_test_skip ("no IPv6 on this machine");
      return;
    }
  check_listener (loopback, G_SOCKET_FAMILY_IPV6, TRUE, FALSE);
}

/* A dual-stack listener hands out IPv6 sockets, even to IPv4 peers. */
static void
test_dual_stack_ipv4_peer (void)
{
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);

  if (probe == NULL)
    {
      g_test_skip ("no IPv6 on this machine");
      return;
    }
  check_listener (NULL, G_SOCKET_FAMILY_IPV4, TRUE, FALSE);
}

/* Accepted sockets inherit SO_KEEPALIVE; the GSocket must say so. */
static void
test_keepalive (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  check_listener (loopback, G_SOCKET_FAMILY_IPV4, FALSE, TRUE);
}

/* A peer that reset between accept4() and the wrapping is dropped with an
 * error, and its fd closed. */
static void
test_peer_reset (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSocket) fast = NULL;
  g_autoptr(GError) error = NULL;
  TcpSocketOptions options = { .no_delay = TRUE, .keepalive = FALSE };
  struct linger abortive = { 1, 0 };
  struct pollfd pfd = { .events = POLLIN };
  int fd;

  if (!tcp_accepted_socket_is_supported ())
    {
      g_test_skip ("this GLib takes the g_socket_new_from_fd() path");
      return;
    }

  listener = tcp_socket_open_listener (loopback, 0, 0, 16, FALSE, &error);
  g_assert_no_error (error);
  client = connect_client (listener, G_SOCKET_FAMILY_IPV4);
  fd = accept_fd (listener);
  pfd.fd = fd;

  /* SO_LINGER 0: close() sends RST. Wait until it has arrived, with poll():
   * reading would consume the pending error. */
  g_assert_cmpint (setsockopt (g_socket_get_fd (client), SOL_SOCKET, SO_LINGER,
                               &abortive, sizeof abortive), ==, 0);
  g_socket_close (client, NULL);
  g_assert_cmpint (poll (&pfd, 1, 5000), ==, 1);
  g_assert_cmpint (pfd.revents & POLLERR, !=, 0);

  fast = tcp_socket_wrap_accepted (fd, G_SOCKET_FAMILY_IPV4, &options, &options, &error);
  g_assert_null (fast);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, -1);
  g_assert_cmpint (errno, ==, EBADF);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/AcceptedSocket/ipv4", test_ipv4);
  g_test_add_func ("/Tcp/AcceptedSocket/ipv6", test_ipv6);
  g_test_add_func ("/Tcp/AcceptedSocket/dual-stack-ipv4-peer", test_dual_stack_ipv4_peer);
  g_test_add_func ("/Tcp/AcceptedSocket/keepalive", test_keepalive);
  g_test_add_func ("/Tcp/AcceptedSocket/listener-options", test_listener_options);
  g_test_add_func ("/Tcp/AcceptedSocket/wrapped-options", test_wrapped);
  g_test_add_func ("/Tcp/AcceptedSocket/queued-before-options", test_queued_before_options);
  g_test_add_func ("/Tcp/AcceptedSocket/peer-reset", test_peer_reset);

  return g_test_run ();
}

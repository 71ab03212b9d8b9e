/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-listen.c: the ways to listen, and what each connection gets
 *
 * Copyright 2026 The libtcp authors
 *
 * listen_range(), listen_on ("localhost"), a scoped link-local address,
 * the no-delay and keepalive options (on a bound listener, after a change,
 * and on an adopted listener whose peers were already waiting), and a
 * descriptor another server already owns. Socket activation has its own
 * file (test-activation.c).
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcp.h>

#include "tcp-test-util.h"

/* Helpers */

static GInetAddress *
loopback4 (void)
{
  return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
}

/* A socket listening on 127.0.0.1:@port (0: any), to take a port. */
static GSocket *
occupy (guint16 port)
{
  g_autoptr(GInetAddress) loopback = loopback4 ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  if (!g_socket_bind (socket, address, FALSE, &error) || !g_socket_listen (socket, &error))
    return NULL;
  return g_steal_pointer (&socket);
}

static guint16
local_port (GSocket *socket)
{
  return tcp_test_socket_local_port (socket);
}

/* Takes the next queued connection, waiting for it. */
static GIOStream *
take_connection (TcpServer *server)
{
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  return tcp_server_next_pending_connection (server);
}

static GSocket *
socket_of (GIOStream *connection)
{
  return g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection));
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

static void
assert_options (GIOStream *connection,
                gboolean   no_delay,
                gboolean   keepalive)
{
  GSocket *socket = socket_of (connection);

  g_assert_cmpint (get_option (socket, IPPROTO_TCP, TCP_NODELAY), ==, no_delay);
  g_assert_cmpint (get_option (socket, SOL_SOCKET, SO_KEEPALIVE), ==, keepalive);
  g_assert_cmpint (g_socket_get_keepalive (socket), ==, keepalive);
}

/* listen_range() */

/* Three ports in a row, the first two taken: the server gets the third. */
static void
test_range_first_free (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = loopback4 ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GIOStream) connection = NULL;
  guint16 first = 0;

  /* Find three free ports in a row, taking the first two. */
  for (guint tries = 0; tries < 50 && first == 0; tries++)
    {
      g_autoptr(GSocket) probe = occupy (0);
      guint16 port = local_port (probe);

      if (port > G_MAXUINT16 - 3)
        continue;
      g_clear_object (&probe);
      a = occupy (port);
      b = a != NULL ? occupy (port + 1) : NULL;
      if (a != NULL && b != NULL)
        first = port;
      else
        {
          g_clear_object (&a);
          g_clear_object (&b);
        }
    }
  g_assert_cmpuint (first, !=, 0);

  g_assert_true (tcp_server_listen_range (server, loopback, first, first + 2, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, first + 2);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, first + 2);
  connection = take_connection (server);
  g_assert_cmpuint (tcp_test_stream_remote_port (connection), ==, local_port (client));
}

/* Every port taken: ADDRESS_IN_USE naming the range; nothing changes. */
static void
test_range_all_taken (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = loopback4 ();
  g_autoptr(GSocket) taken = occupy (0);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *range = NULL;
  guint16 port = local_port (taken);

  g_assert_false (tcp_server_listen_range (server, loopback, port, port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  range = g_strdup_printf ("from %u to %u", port, port);
  g_assert_nonnull (strstr (error->message, range));
  g_assert_nonnull (strstr (error->message, "127.0.0.1"));
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
}

/* An empty range, one from port 0, one through a proxy: INVALID_ARGUMENT.
 * An address that is not this machine's ends the search at once. */
static void
test_range_bad (void)
{
  g_autoptr(GInetAddress) loopback = loopback4 ();
  g_autoptr(GInetAddress) remote = g_inet_address_new_from_string ("192.0.2.1");
  const guint16 ranges[][2] = { { 2000, 1999 }, { 0, 10 }, { 0, 0 } };

  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_autoptr(TcpServer) server = tcp_server_new ();
      g_autoptr(GError) error = NULL;

      g_assert_false (tcp_server_listen_range (server, loopback, ranges[i][0], ranges[i][1],
                                               &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_false (tcp_server_is_listening (server));
    }

  {
    g_autoptr(TcpServer) server = tcp_server_new ();
    g_autoptr(GError) error = NULL;

    tcp_server_set_proxy (server, "socks5://127.0.0.1:1");
    g_assert_false (tcp_server_listen_range (server, NULL, 40000, 40010, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "proxy"));
  }

  {
    g_autoptr(TcpServer) server = tcp_server_new ();
    g_autoptr(GError) error = NULL;

    g_assert_false (tcp_server_listen_range (server, remote, 40000, 40010, &error));
    g_assert_nonnull (error);
    g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE));
    g_assert_nonnull (strstr (error->message, "192.0.2.1:40000"));
  }
}

/* listen_on ("localhost") */

/* Both loopback addresses on one port, as one server; server-address is
 * 127.0.0.1; close() closes both. */
static void
test_localhost (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) client4 = NULL;
  g_autoptr(GSocket) client6 = NULL;
  g_autoptr(GIOStream) connection4 = NULL;
  g_autoptr(GIOStream) connection6 = NULL;
  g_autofree gchar *address = NULL;
  guint16 port;

  g_assert_true (tcp_server_listen_on (server, "localhost", 0, &error));
  g_assert_no_error (error);
  port = tcp_server_get_server_port (server);
  address = g_inet_address_to_string (tcp_server_get_server_address (server));
  g_assert_cmpstr (address, ==, "127.0.0.1");
  g_assert_cmpint (g_socket_get_family (tcp_server_get_socket (server)), ==,
                   G_SOCKET_FAMILY_IPV4);

  client4 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  connection4 = take_connection (server);
  g_assert_cmpuint (tcp_test_stream_remote_port (connection4), ==, local_port (client4));

  if (tcp_test_have_ipv6 ())
    {
      g_autoptr(GSocketAddress) remote = NULL;

      client6 = tcp_test_connect (G_SOCKET_FAMILY_IPV6, port);
      connection6 = take_connection (server);
      remote = g_socket_get_remote_address (socket_of (connection6), &error);
      g_assert_no_error (error);
      g_assert_true (g_inet_address_get_is_loopback (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))));
      g_assert_cmpint (g_socket_get_family (socket_of (connection6)), ==,
                       G_SOCKET_FAMILY_IPV6);
    }

  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
  g_clear_error (&error);
  g_assert_null (tcp_test_try_connect (G_SOCKET_FAMILY_IPV4, port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  if (tcp_test_have_ipv6 ())
    {
      g_clear_error (&error);
      g_assert_null (tcp_test_try_connect (G_SOCKET_FAMILY_IPV6, port, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
    }
}

/* A fixed port taken on 127.0.0.1: ADDRESS_IN_USE, nothing left open. */
static void
test_localhost_port_taken (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) taken = occupy (0);
  g_autoptr(GError) error = NULL;

  g_assert_false (tcp_server_listen_on (server, "localhost", local_port (taken), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
}

/* A proxy is never used for localhost. */
static void
test_localhost_bypasses_proxy (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  tcp_server_set_proxy (server, "socks5://127.0.0.1:1");
  g_assert_true (tcp_server_listen_on (server, "LOCALHOST", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), >=, 0);
}

/* ::ffff:127.0.0.1 is loopback too: no proxy. */
static void
test_mapped_loopback_bypasses_proxy (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  if (tcp_test_skip_without_ipv6 ())
    return;

  tcp_server_set_proxy (server, "socks5://127.0.0.1:1");
  g_assert_true (tcp_server_listen_on (server, "::ffff:127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), >=, 0);
}

/* A scoped link-local address */

/* Brings lo up and gives it fe80::1, in this process's own network
 * namespace. */
static void
give_loopback_link_local (void)
{
  struct in6_ifreq {
    struct in6_addr ifr6_addr;
    guint32         ifr6_prefixlen;
    int             ifr6_ifindex;
  } req6 = { .ifr6_prefixlen = 64 };
  struct ifreq req;
  int fd4, fd6;

  g_assert_cmpint (unshare (CLONE_NEWNET), ==, 0);
  fd4 = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  fd6 = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd4, >=, 0);
  g_assert_cmpint (fd6, >=, 0);

  memset (&req, 0, sizeof req);
  g_strlcpy (req.ifr_name, "lo", sizeof req.ifr_name);
  g_assert_cmpint (ioctl (fd4, SIOCGIFFLAGS, &req), ==, 0);
  req.ifr_flags |= IFF_UP;
  g_assert_cmpint (ioctl (fd4, SIOCSIFFLAGS, &req), ==, 0);

  g_assert_cmpint (inet_pton (AF_INET6, "fe80::1", &req6.ifr6_addr), ==, 1);
  req6.ifr6_ifindex = if_nametoindex ("lo");
  g_assert_cmpint (ioctl (fd6, SIOCSIFADDR, &req6), ==, 0);

  close (fd4);
  close (fd6);

  /* The kernel makes a new address usable a moment later (its duplicate
   * address detection is skipped on loopback, but done on a work queue). */
  for (guint i = 0; i < 200; i++)
    {
      struct sockaddr_in6 probe = {
        .sin6_family = AF_INET6,
        .sin6_addr = req6.ifr6_addr,
        .sin6_scope_id = req6.ifr6_ifindex,
      };
      int fd = socket (AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int ok = bind (fd, (struct sockaddr *) &probe, sizeof probe);

      close (fd);
      if (ok == 0)
        return;
      g_usleep (10000);
    }
  g_error ("fe80::1 never became usable on lo");
}

static void
check_scoped (const gchar *host)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) target = g_inet_address_new_from_string ("fe80::1");
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autofree gchar *bound = NULL;

  g_assert_true (tcp_server_listen_on (server, host, 0, &error));
  g_assert_no_error (error);
  bound = g_inet_address_to_string (tcp_server_get_server_address (server));
  g_assert_cmpstr (bound, ==, "fe80::1");

  address = g_object_new (G_TYPE_INET_SOCKET_ADDRESS, "address", target,
                          "port", tcp_server_get_server_port (server),
                          "scope-id", if_nametoindex ("lo"), NULL);
  client = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (client, address, NULL, &error));
  g_assert_no_error (error);
  connection = take_connection (server);
  g_assert_cmpuint (tcp_test_stream_remote_port (connection), ==, local_port (client));
}

/* listen_on ("fe80::1%lo") and by index: loopback has no link-local
 * address, so a child process gives it one in a network namespace of its
 * own (which takes root). */
static void
test_scoped_link_local (void)
{
  if (g_test_subprocess ())
    {
      g_autofree gchar *by_index = NULL;

      give_loopback_link_local ();
      check_scoped ("fe80::1%lo");
      by_index = g_strdup_printf ("fe80::1%%%u", if_nametoindex ("lo"));
      check_scoped (by_index);
      return;
    }

  if (geteuid () != 0)
    {
      g_test_skip ("a network namespace of its own takes root");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* no-delay and keepalive */

/* By default every connection has TCP_NODELAY and no SO_KEEPALIVE, on
 * every GLib. */
static void
test_options_default (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GIOStream) connection = NULL;

  g_assert_true (tcp_server_get_no_delay (server));
  g_assert_false (tcp_server_get_keepalive (server));
  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));
  connection = take_connection (server);
  assert_options (connection, TRUE, FALSE);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

/* Every combination, set before listen() or while listening: each applies
 * to the next connection. Setters notify only on change. */
static void
test_options_set (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  guint notified = 0;

  g_signal_connect (server, "notify::no-delay", G_CALLBACK (count_notify_cb), &notified);
  g_signal_connect (server, "notify::keepalive", G_CALLBACK (count_notify_cb), &notified);
  tcp_server_set_no_delay (server, FALSE);
  tcp_server_set_no_delay (server, FALSE);
  g_object_set (server, "keepalive", TRUE, NULL);
  g_assert_cmpuint (notified, ==, 2);

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  for (guint i = 0; i < 5; i++)
    {
      gboolean no_delay = (i + 2) & 1;   /* FALSE first, as set above */
      gboolean keepalive = !((i >> 1) & 1);
      g_autoptr(GSocket) client = NULL;
      g_autoptr(GIOStream) connection = NULL;

      tcp_server_set_no_delay (server, no_delay);
      tcp_server_set_keepalive (server, keepalive);
      client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));
      connection = take_connection (server);
      g_test_message ("no-delay %d, keepalive %d", no_delay, keepalive);
      assert_options (connection, no_delay, keepalive);
    }
}

/* Clients that were already waiting in an adopted listener's queue get the
 * server's options too, and so do later ones. */
static void
test_options_adopted_queue (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) listener = occupy (0);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  int fd;

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, local_port (listener)));

  fd = dup (g_socket_get_fd (listener));
  tcp_server_set_keepalive (server, TRUE);
  g_assert_true (tcp_server_set_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, local_port (listener)));

  for (guint i = 0; i < clients->len; i++)
    {
      g_autoptr(GIOStream) connection = take_connection (server);

      assert_options (connection, TRUE, TRUE);
    }
}

/* Adopting a descriptor another server owns */

/* BUSY, and nothing changes on either server: the owner still accepts, and
 * closing the second server does not close the owner's socket. */
static void
test_adopt_owned (void)
{
  g_autoptr(TcpServer) owner = tcp_server_new ();
  g_autoptr(TcpServer) second = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GIOStream) connection = NULL;
  gint fd;

  g_assert_true (tcp_server_listen_on (owner, "127.0.0.1", 0, &error));
  fd = tcp_server_get_socket_descriptor (owner);

  g_assert_false (tcp_server_set_socket_descriptor (second, fd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_false (tcp_server_is_listening (second));
  g_assert_cmpint (tcp_server_get_server_error (second), ==, G_IO_ERROR_BUSY);
  tcp_server_close (second);

  g_assert_cmpint (tcp_server_get_socket_descriptor (owner), ==, fd);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (owner));
  connection = take_connection (owner);
  g_assert_nonnull (connection);

  /* Once the owner has closed it, the number is free for anyone. */
  tcp_server_close (owner);
  g_clear_error (&error);
  g_assert_false (tcp_server_set_socket_descriptor (second, fd, &error));
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Listen/range/first-free", test_range_first_free);
  g_test_add_func ("/Tcp/Listen/range/all-taken", test_range_all_taken);
  g_test_add_func ("/Tcp/Listen/range/bad", test_range_bad);
  g_test_add_func ("/Tcp/Listen/localhost/both", test_localhost);
  g_test_add_func ("/Tcp/Listen/localhost/port-taken", test_localhost_port_taken);
  g_test_add_func ("/Tcp/Listen/localhost/bypasses-proxy", test_localhost_bypasses_proxy);
  g_test_add_func ("/Tcp/Listen/mapped-loopback/bypasses-proxy",
                   test_mapped_loopback_bypasses_proxy);
  g_test_add_func ("/Tcp/Listen/scoped-link-local", test_scoped_link_local);
  g_test_add_func ("/Tcp/Listen/options/default", test_options_default);
  g_test_add_func ("/Tcp/Listen/options/set", test_options_set);
  g_test_add_func ("/Tcp/Listen/options/adopted-queue", test_options_adopted_queue);
  g_test_add_func ("/Tcp/Listen/adopt/owned-by-another-server", test_adopt_owned);

  return g_test_run ();
}

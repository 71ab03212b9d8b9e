/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-server.c: TcpServer behaviour
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include <tcp.h>

#include "tcp-server-private.h"
#include "tcp-test-util.h"

/* How long a test watches for something that must NOT happen. */
#define QUIET_MS 300

/* A subclass that overrides incoming_connection and records what it got. */

#define TEST_TYPE_SERVER (test_server_get_type ())
G_DECLARE_FINAL_TYPE (TestServer, test_server, TEST, SERVER, TcpServer)

struct _TestServer
{
  TcpServer      parent_instance;

  gboolean       chain_up;
  guint          n_incoming;
  gboolean       all_nonblocking;
  gboolean       all_cloexec;
  gboolean       all_connected;
  GSocketFamily  family;
  guint16        remote_port;   /* of the last socket */
  GString       *log;           /* nullable: "I" per call */
};

G_DEFINE_TYPE (TestServer, test_server, TCP_TYPE_SERVER)

static void
test_server_incoming_connection (TcpServer *server,
                                 GSocket   *socket)
{
  TestServer *self = TEST_SERVER (server);
  g_autoptr(GSocketAddress) remote = NULL;
  int fd = g_socket_get_fd (socket);
  int fl = fcntl (fd, F_GETFL);
  int fdfl = fcntl (fd, F_GETFD);

  self->n_incoming++;
  if (self->log != NULL)
    g_string_append_c (self->log, 'I');

  self->all_nonblocking &= fl >= 0 && (fl & O_NONBLOCK) != 0;
  self->all_cloexec &= fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0;
  self->all_connected &= g_socket_is_connected (socket);
  self->family = g_socket_get_family (socket);

  remote = g_socket_get_remote_address (socket, NULL);
  self->remote_port = G_IS_INET_SOCKET_ADDRESS (remote)
                      ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote))
                      : 0;

  if (self->chain_up)
    TCP_SERVER_CLASS (test_server_parent_class)->incoming_connection (server, socket);
}

static void
test_server_class_init (TestServerClass *klass)
{
  TCP_SERVER_CLASS (klass)->incoming_connection = test_server_incoming_connection;
}

static void
test_server_init (TestServer *self)
{
  self->all_nonblocking = TRUE;
  self->all_cloexec = TRUE;
  self->all_connected = TRUE;
}

/* Helpers */

static guint16
listen_loopback (TcpServer     *server,
                 GSocketFamily  family)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (family);
  g_autoptr(GError) error = NULL;

  g_assert_true (tcp_server_listen (server, loopback, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, 0);
  return tcp_server_get_server_port (server);
}

/* Connects a @family client, runs the loop until the server queued it, and
 * checks that the queued connection is that client's. */
static void
assert_client_accepted (TcpServer     *server,
                        GSocketFamily  family)
{
  g_autoptr(GSocket) client = tcp_test_connect (family, tcp_server_get_server_port (server));
  g_autoptr(GIOStream) connection = NULL;

  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  connection = tcp_server_next_pending_connection (server);
  g_assert_true (G_IS_TCP_CONNECTION (connection));
  g_assert_cmpuint (tcp_test_stream_remote_port (connection), ==,
                    tcp_test_socket_local_port (client));
}

static void
assert_client_refused (GSocketFamily family,
                       guint16       port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) client = tcp_test_try_connect (family, port, &error);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (client);
}

static int
get_v6only (TcpServer *server)
{
  int value = -1;
  socklen_t len = sizeof value;

  g_assert_cmpint (getsockopt (tcp_server_get_socket_descriptor (server),
                               IPPROTO_IPV6, IPV6_V6ONLY, &value, &len), ==, 0);
  return value;
}

static void
notify_log_cb (GObject    *object,
               GParamSpec *pspec,
               GString    *log)
{
  g_string_append_printf (log, "%s;", pspec->name);
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const gchar * const *) a, *(const gchar * const *) b);
}

/* The notifications in @log, sorted: the order of notifications thawed
 * together is GObject's business, not the API's. */
static gchar *
sorted_notifications (GString *log)
{
  g_auto(GStrv) names = g_strsplit (log->str, ";", -1);
  guint n = g_strv_length (names);

  /* The string ends in ';': drop the empty last element. */
  if (n > 0 && names[n - 1][0] == '\0')
    g_clear_pointer (&names[--n], g_free);
  qsort (names, n, sizeof (gchar *), compare_strings);
  return g_strjoinv (";", names);
}

#define LISTEN_NOTIFICATIONS "listening;server-address;server-port"

#define assert_notified(log, expected) \
  G_STMT_START { \
    g_autofree gchar *_sorted = sorted_notifications (log); \
    g_assert_cmpstr (_sorted, ==, (expected)); \
  } G_STMT_END

/* Default state */

static void
test_default_state (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) notified = g_string_new ("");
  g_autoptr(GInetAddress) address = NULL;
  g_autofree gchar *proxy = NULL;
  gboolean listening = TRUE, reuse_port = TRUE, paused = TRUE;
  guint port = 1;
  gint max_pending = 0, backlog = 0;

  g_assert_false (tcp_server_is_listening (server));
  g_assert_null (tcp_server_get_server_address (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 0);
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 30);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 4096);
  g_assert_false (tcp_server_get_reuse_port (server));
  g_assert_false (tcp_server_is_paused (server));
  g_assert_false (tcp_server_has_pending_connections (server));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  g_assert_null (tcp_server_next_pending_connection (server));
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
  g_assert_null (tcp_server_get_socket (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_FAILED);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, "");
  g_assert_null (tcp_server_get_proxy (server));

  g_object_get (server,
                "listening", &listening,
                "server-address", &address,
                "server-port", &port,
                "max-pending-connections", &max_pending,
                "listen-backlog-size", &backlog,
                "reuse-port", &reuse_port,
                "paused", &paused,
                "proxy", &proxy,
                NULL);
  g_assert_false (listening);
  g_assert_null (address);
  g_assert_cmpuint (port, ==, 0);
  g_assert_cmpint (max_pending, ==, 30);
  g_assert_cmpint (backlog, ==, 4096);
  g_assert_false (reuse_port);
  g_assert_false (paused);
  g_assert_null (proxy);

  /* close() on a server that never listened is a no-op: no notifications,
   * no error recorded, and it can be repeated. */
  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);
  tcp_server_close (server);
  tcp_server_close (server);
  g_assert_cmpstr (notified->str, ==, "");
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_FAILED);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, "");
}

/* Listening on IPv4, IPv6 and both */

static void
test_listen_ipv4 (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  guint prop_port = 0;

  g_assert_true (tcp_server_is_listening (server));
  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), loopback));
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), >=, 0);
  g_assert_true (G_IS_SOCKET (tcp_server_get_socket (server)));
  g_assert_cmpint (g_socket_get_fd (tcp_server_get_socket (server)), ==,
                   tcp_server_get_socket_descriptor (server));
  g_assert_cmpint (g_socket_get_family (tcp_server_get_socket (server)), ==,
                   G_SOCKET_FAMILY_IPV4);

  /* Port 0 reads back the port the kernel picked. */
  g_assert_cmpuint (tcp_test_socket_local_port (tcp_server_get_socket (server)), ==, port);
  g_object_get (server, "server-port", &prop_port, NULL);
  g_assert_cmpuint (prop_port, ==, port);

  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
  if (tcp_test_have_ipv6 ())
    assert_client_refused (G_SOCKET_FAMILY_IPV6, port);

  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_null (tcp_server_get_server_address (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 0);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
  assert_client_refused (G_SOCKET_FAMILY_IPV4, port);
}

static void
test_listen_ipv6_loopback (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  guint16 port;

  if (tcp_test_skip_without_ipv6 ())
    return;

  port = listen_loopback (server, G_SOCKET_FAMILY_IPV6);

  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), loopback));
  g_assert_cmpint (get_v6only (server), ==, 1);

  assert_client_accepted (server, G_SOCKET_FAMILY_IPV6);
  assert_client_refused (G_SOCKET_FAMILY_IPV4, port);
}

static void
test_listen_ipv6_any (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GError) error = NULL;

  if (tcp_test_skip_without_ipv6 ())
    return;

  g_assert_true (tcp_server_listen (server, any, 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), any));
  g_assert_cmpint (get_v6only (server), ==, 1);

  assert_client_accepted (server, G_SOCKET_FAMILY_IPV6);
  assert_client_refused (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));
}

static void
test_listen_dual_stack (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GError) error = NULL;

  if (tcp_test_skip_without_ipv6 ())
    return;

  g_assert_true (tcp_server_listen (server, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, 0);
  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), any));
  g_assert_cmpint (get_v6only (server), ==, 0);

  /* Both families reach the same socket on the same port. */
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV6);
}

static void
test_listen_on_string (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_inet_address_get_family (tcp_server_get_server_address (server)), ==,
                   G_SOCKET_FAMILY_IPV4);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
  tcp_server_close (server);

  if (tcp_test_skip_without_ipv6 ())
    return;

  g_assert_true (tcp_server_listen_on (server, "::1", 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_inet_address_get_is_loopback (tcp_server_get_server_address (server)));
  g_assert_cmpint (g_inet_address_get_family (tcp_server_get_server_address (server)), ==,
                   G_SOCKET_FAMILY_IPV6);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV6);
  tcp_server_close (server);

  /* NULL is dual-stack, as with listen(). */
  g_assert_true (tcp_server_listen_on (server, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (get_v6only (server), ==, 0);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
}

/* An IPv4-mapped IPv6 address cannot be bound IPv6-only; IPv4 peers reach it. */
static void
test_listen_on_ipv4_mapped (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  if (tcp_test_skip_without_ipv6 ())
    return;

  g_assert_true (tcp_server_listen_on (server, "::ffff:127.0.0.1", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpint (get_v6only (server), ==, 0);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
}

static void
test_listen_on_garbage (void)
{
  const gchar *bad[] = { "not an address", "localhost.example", "999.1.1.1", "", "::1::2",
                         "127.0.0.1:80", "127.0.0.1%lo", "fe80::1%", "fe80::1%no-such-if0",
                         "fe80::1%0" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TcpServer) server = tcp_server_new ();
      g_autoptr(GError) error = NULL;

      g_assert_false (tcp_server_listen_on (server, bad[i], 0, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_false (tcp_server_is_listening (server));
      g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
      g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
    }
}

static void
test_listen_address_in_use (void)
{
  g_autoptr(TcpServer) first = tcp_server_new ();
  g_autoptr(TcpServer) second = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GString) notified = g_string_new ("");
  g_autoptr(GError) error = NULL;
  g_autofree gchar *where = NULL;
  guint16 port = listen_loopback (first, G_SOCKET_FAMILY_IPV4);

  g_signal_connect (second, "notify", G_CALLBACK (notify_log_cb), notified);
  g_assert_false (tcp_server_listen (second, loopback, port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);

  /* The message says what was attempted on what. */
  where = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_nonnull (strstr (error->message, where));

  g_assert_cmpint (tcp_server_get_server_error (second), ==, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_cmpstr (tcp_server_get_error_string (second), ==, error->message);
  g_assert_false (tcp_server_is_listening (second));
  g_assert_null (tcp_server_get_server_address (second));
  g_assert_cmpuint (tcp_server_get_server_port (second), ==, 0);
  g_assert_cmpint (tcp_server_get_socket_descriptor (second), ==, -1);
  g_assert_cmpstr (notified->str, ==, "");

  /* The first server is not disturbed. */
  g_assert_cmpint (tcp_server_get_server_error (first), ==, G_IO_ERROR_FAILED);
  assert_client_accepted (first, G_SOCKET_FAMILY_IPV4);

  /* The failed server can listen elsewhere afterwards. */
  g_clear_error (&error);
  g_assert_true (tcp_server_listen (second, loopback, 0, &error));
  g_assert_no_error (error);
  assert_client_accepted (second, G_SOCKET_FAMILY_IPV4);
}

static int
get_reuse_port (TcpServer *server)
{
  int value = -1;
  socklen_t len = sizeof value;

  g_assert_cmpint (getsockopt (tcp_server_get_socket_descriptor (server),
                               SOL_SOCKET, SO_REUSEPORT, &value, &len), ==, 0);
  return value;
}

static void
test_listen_reuse_port (void)
{
  g_autoptr(TcpServer) plain = tcp_server_new ();
  g_autoptr(TcpServer) first = tcp_server_new ();
  g_autoptr(TcpServer) second = tcp_server_new ();
  g_autoptr(TcpServer) plain_late = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GError) error = NULL;
  guint16 port;

  /* Never SO_REUSEPORT unless asked. */
  listen_loopback (plain, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (get_reuse_port (plain), ==, 0);

  tcp_server_set_reuse_port (first, TRUE);
  g_object_set (second, "reuse-port", TRUE, NULL);
  port = listen_loopback (first, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (get_reuse_port (first), ==, 1);

  g_assert_true (tcp_server_listen (second, loopback, port, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (second), ==, port);
  g_assert_cmpint (get_reuse_port (second), ==, 1);

  /* A server without the option still cannot join them. */
  g_assert_false (tcp_server_listen (plain_late, loopback, port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
}

static void
test_listen_twice (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GString) notified = g_string_new ("");
  g_autoptr(GError) error = NULL;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  gint fd = tcp_server_get_socket_descriptor (server);
  g_autofree gchar *where = g_strdup_printf ("127.0.0.1:%u", port);

  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);

  g_assert_false (tcp_server_listen (server, loopback, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, where));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_FAILED);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
  g_clear_error (&error);

  g_assert_false (tcp_server_listen (server, NULL, port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);

  g_assert_false (tcp_server_listen_on (server, "::1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);

  /* The first listener is intact and still accepts. */
  g_assert_cmpstr (notified->str, ==, "");
  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, port);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, fd);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
}

/* Properties */

static void
test_properties_notify_listen_close (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) notified = g_string_new ("");

  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);

  listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  assert_notified (notified, LISTEN_NOTIFICATIONS);

  g_string_truncate (notified, 0);
  tcp_server_close (server);
  assert_notified (notified, LISTEN_NOTIFICATIONS);

  g_string_truncate (notified, 0);
  tcp_server_close (server);
  g_assert_cmpstr (notified->str, ==, "");
}

typedef struct
{
  gboolean listening;
  guint    port;
  gboolean address_set;
} ListeningSeen;

static void
notify_listening_cb (GObject       *object,
                     GParamSpec    *pspec,
                     ListeningSeen *seen)
{
  g_autoptr(GInetAddress) address = NULL;

  g_object_get (object,
                "listening", &seen->listening,
                "server-port", &seen->port,
                "server-address", &address,
                NULL);
  seen->address_set = address != NULL;
}

/* A notify::listening handler already sees the new port and address. */
static void
test_properties_notify_consistent (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  ListeningSeen seen = { 0, };
  guint16 port;

  g_signal_connect (server, "notify::listening", G_CALLBACK (notify_listening_cb), &seen);

  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_assert_true (seen.listening);
  g_assert_cmpuint (seen.port, ==, port);
  g_assert_true (seen.address_set);

  tcp_server_close (server);
  g_assert_false (seen.listening);
  g_assert_cmpuint (seen.port, ==, 0);
  g_assert_false (seen.address_set);
}

static void
test_properties_setters_notify (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) notified = g_string_new ("");

  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);

  /* Same value: no notification. */
  tcp_server_set_max_pending_connections (server, 30);
  tcp_server_set_listen_backlog_size (server, 4096);
  tcp_server_set_reuse_port (server, FALSE);
  tcp_server_set_proxy (server, NULL);
  tcp_server_resume_accepting (server);
  g_object_set (server,
                "max-pending-connections", 30,
                "listen-backlog-size", 4096,
                "reuse-port", FALSE,
                "proxy", NULL,
                NULL);
  g_assert_cmpstr (notified->str, ==, "");

  /* Each change notifies once. */
  tcp_server_set_max_pending_connections (server, 5);
  tcp_server_set_max_pending_connections (server, 5);
  g_assert_cmpstr (notified->str, ==, "max-pending-connections;");
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 5);

  g_string_truncate (notified, 0);
  tcp_server_set_listen_backlog_size (server, 16);
  tcp_server_set_listen_backlog_size (server, 16);
  g_assert_cmpstr (notified->str, ==, "listen-backlog-size;");
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 16);

  g_string_truncate (notified, 0);
  tcp_server_set_reuse_port (server, TRUE);
  tcp_server_set_reuse_port (server, 2);   /* still TRUE */
  g_assert_cmpstr (notified->str, ==, "reuse-port;");
  g_assert_true (tcp_server_get_reuse_port (server));

  g_string_truncate (notified, 0);
  tcp_server_set_proxy (server, "socks5://127.0.0.1:1080");
  tcp_server_set_proxy (server, "socks5://127.0.0.1:1080");
  g_assert_cmpstr (notified->str, ==, "proxy;");
  g_assert_cmpstr (tcp_server_get_proxy (server), ==, "socks5://127.0.0.1:1080");

  g_string_truncate (notified, 0);
  tcp_server_pause_accepting (server);
  tcp_server_pause_accepting (server);
  g_assert_cmpstr (notified->str, ==, "paused;");
  g_assert_true (tcp_server_is_paused (server));
  tcp_server_resume_accepting (server);
  tcp_server_resume_accepting (server);
  g_assert_cmpstr (notified->str, ==, "paused;paused;");
  g_assert_false (tcp_server_is_paused (server));

  g_string_truncate (notified, 0);
  g_object_set (server,
                "max-pending-connections", 7,
                "listen-backlog-size", 8,
                "reuse-port", FALSE,
                "proxy", NULL,
                NULL);
  assert_notified (notified, "listen-backlog-size;max-pending-connections;proxy;reuse-port");
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 7);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 8);
  g_assert_false (tcp_server_get_reuse_port (server));
  g_assert_null (tcp_server_get_proxy (server));
}

static void
test_properties_bad_values (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) notified = g_string_new ("");
  const gint bad[] = { 0, -1, G_MININT };

  tcp_server_set_max_pending_connections (server, 3);
  tcp_server_set_listen_backlog_size (server, 9);
  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_expect_message ("Tcp", G_LOG_LEVEL_CRITICAL, "*n >= 1*");
      tcp_server_set_max_pending_connections (server, bad[i]);
      g_test_assert_expected_messages ();

      g_test_expect_message ("Tcp", G_LOG_LEVEL_CRITICAL, "*size >= 1*");
      tcp_server_set_listen_backlog_size (server, bad[i]);
      g_test_assert_expected_messages ();
    }

  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 3);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 9);
  g_assert_cmpstr (notified->str, ==, "");

  /* The smallest good values are taken. */
  tcp_server_set_max_pending_connections (server, 1);
  tcp_server_set_listen_backlog_size (server, 1);
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 1);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 1);
}

/* The backlog set before listen() reaches listen(2): with a backlog of 1 and
 * nothing accepting, the kernel queue holds at most backlog + 1 clients. This
 * only checks that a small value is accepted and the server still works. */
static void
test_properties_backlog_applies (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();

  tcp_server_set_listen_backlog_size (server, 1);
  listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 1);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
}

/* close() */

static void
test_close_queued_connections (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocket) c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_autoptr(GSocket) c2 = NULL;
  g_autoptr(GSocket) c3 = NULL;
  g_autoptr(GIOStream) taken = NULL;
  g_autoptr(GError) error = NULL;
  gchar buffer[16];
  gssize n;
  gsize written;

  /* Queue c1 first so that it is the one taken. */
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c3 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));

  taken = tcp_server_next_pending_connection (server);
  g_assert_cmpuint (tcp_test_stream_remote_port (taken), ==, tcp_test_socket_local_port (c1));

  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  g_assert_false (tcp_server_has_pending_connections (server));

  /* The clients whose connections were still queued read end-of-file. */
  n = tcp_test_read_some (c2, buffer, sizeof buffer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  n = tcp_test_read_some (c3, buffer, sizeof buffer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);

  /* The connection already taken still works both ways. */
  g_assert_false (g_io_stream_is_closed (taken));
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (taken),
                                            "ping", 4, &written, NULL, &error));
  g_assert_no_error (error);
  n = tcp_test_read_some (c1, buffer, sizeof buffer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpmem (buffer, 4, "ping", 4);

  g_assert_cmpint (g_socket_send (c1, "pong", 4, NULL, &error), ==, 4);
  g_assert_no_error (error);
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (taken),
                                          buffer, 4, &written, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, 4);
  g_assert_cmpmem (buffer, 4, "pong", 4);
}

/* Max pending */

static void
test_max_pending (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) taken = NULL;
  guint n_new = 0;
  guint16 port;

  tcp_server_set_max_pending_connections (server, 2);
  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, port));

  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 2);
  g_assert_cmpuint (n_new, ==, 2);

  /* Taking one makes room: the third is accepted without any other call. */
  taken = tcp_server_next_pending_connection (server);
  g_assert_nonnull (taken);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 2);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GIOStream) connection = tcp_server_next_pending_connection (server);
      g_assert_nonnull (connection);
    }
  g_assert_null (tcp_server_next_pending_connection (server));
}

/* Lowering the limit below the queue length stops accepting; raising it
 * resumes. */
static void
test_max_pending_change (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  g_autoptr(GSocket) c3 = NULL;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));

  tcp_server_set_max_pending_connections (server, 1);
  c3 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 2);

  tcp_server_set_max_pending_connections (server, 3);
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));
}

/* Slots a subclass reserves (a TLS handshake in flight) count toward the
 * limit; releasing one resumes accepting by itself. */
static void
test_max_pending_reserved_slots (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  guint n_new = 0;
  guint16 port;

  tcp_server_set_max_pending_connections (server, 2);
  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);

  _tcp_server_reserve_slot (server);
  g_assert_cmpuint (_tcp_server_get_n_reserved (server), ==, 1);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (n_new, ==, 1);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);

  _tcp_server_release_slot (server);
  g_assert_cmpuint (_tcp_server_get_n_reserved (server), ==, 0);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (n_new, ==, 2);
}

/* Pause and resume */

static void
test_pause_idle (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  guint n_new = 0;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);

  tcp_server_pause_accepting (server);
  g_assert_true (tcp_server_is_paused (server));
  g_assert_true (tcp_server_is_listening (server));

  /* Clients complete their handshake in the kernel queue but are not
   * accepted. */
  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (n_new, ==, 0);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);

  tcp_server_resume_accepting (server);
  g_assert_false (tcp_server_is_paused (server));
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (n_new, ==, 2);
}

/* The pause holds when the queue drains (which would otherwise re-arm
 * accepting), and holds across close() and listen(). */
static void
test_pause_queue_drained (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  g_autoptr(GSocket) c3 = NULL;
  g_autoptr(GIOStream) taken = NULL;
  guint n_new = 0;
  guint16 port;

  tcp_server_set_max_pending_connections (server, 1);
  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c3 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));

  tcp_server_pause_accepting (server);
  taken = tcp_server_next_pending_connection (server);
  g_assert_nonnull (taken);
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  g_assert_cmpuint (n_new, ==, 1);

  /* Raising the limit does not lift the pause either. */
  tcp_server_set_max_pending_connections (server, 30);
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (n_new, ==, 1);

  tcp_server_resume_accepting (server);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 2);
}

static void
test_pause_before_listen (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  guint n_new = 0;
  guint16 port;

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  tcp_server_pause_accepting (server);
  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  g_assert_true (tcp_server_is_paused (server));

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  tcp_test_run_for (NULL, QUIET_MS);
  g_assert_cmpuint (n_new, ==, 0);

  tcp_server_resume_accepting (server);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 1, TCP_TEST_TIMEOUT_MS));
}

static gboolean
pause_idle_cb (gpointer user_data)
{
  tcp_server_pause_accepting (user_data);
  return G_SOURCE_REMOVE;
}

/* A pause from a source dispatched earlier in the same main-loop iteration
 * as the (already readable) listening socket holds: nothing is accepted. */
static void
test_pause_same_iteration (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GSource) idle = g_idle_source_new ();
  guint n_new = 0;
  guint16 port;

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);

  /* Attached before the server's source at the same priority, so it is
   * dispatched first in the iteration that finds the socket readable. */
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, pause_idle_cb, server, NULL);
  g_source_attach (idle, NULL);

  port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);

  g_main_context_iteration (NULL, TRUE);
  g_assert_true (tcp_server_is_paused (server));
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (n_new, ==, 0);

  tcp_server_resume_accepting (server);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 1, TCP_TEST_TIMEOUT_MS));
}

/* incoming_connection */

static void
test_incoming_override_chain_up (void)
{
  g_autoptr(TestServer) server = g_object_new (TEST_TYPE_SERVER, NULL);
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  g_autoptr(GIOStream) connection = NULL;
  guint n_new = 0, n_available = 0;
  guint16 port;

  server->chain_up = TRUE;
  port = listen_loopback (TCP_SERVER (server), G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 2, TCP_TEST_TIMEOUT_MS));

  g_assert_cmpuint (server->n_incoming, ==, 2);
  g_assert_true (server->all_nonblocking);
  g_assert_true (server->all_cloexec);
  g_assert_true (server->all_connected);
  g_assert_cmpint (server->family, ==, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpuint (server->remote_port, ==, tcp_test_socket_local_port (c2));
  g_assert_cmpuint (n_available, ==, 2);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (TCP_SERVER (server)), ==, 2);

  connection = tcp_server_next_pending_connection (TCP_SERVER (server));
  g_assert_true (G_IS_TCP_CONNECTION (connection));
  g_assert_cmpuint (tcp_test_stream_remote_port (connection), ==,
                    tcp_test_socket_local_port (c1));
}

static void
test_incoming_override_no_chain (void)
{
  g_autoptr(TestServer) server = g_object_new (TEST_TYPE_SERVER, NULL);
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  guint n_new = 0, n_available = 0;
  guint16 port;
  gchar byte;

  server->chain_up = FALSE;
  port = listen_loopback (TCP_SERVER (server), G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 1, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS);

  g_assert_cmpuint (server->n_incoming, ==, 1);
  g_assert_cmpuint (n_new, ==, 1);
  g_assert_cmpuint (n_available, ==, 0);
  g_assert_false (tcp_server_has_pending_connections (TCP_SERVER (server)));
  g_assert_null (tcp_server_next_pending_connection (TCP_SERVER (server)));
  g_assert_true (server->all_nonblocking);
  g_assert_true (server->all_cloexec);

  /* The override kept no reference: the socket is closed and the client
   * sees end-of-file. */
  g_assert_cmpint (tcp_test_read_some (client, &byte, 1, &error), ==, 0);
  g_assert_no_error (error);
}

/* Signals: pending-connection-available vs new-connection */

static void
log_new_cb (TcpServer *server,
            GString   *log)
{
  g_string_append_c (log, 'N');
}

static void
log_available_cb (TcpServer *server,
                  GString   *log)
{
  g_string_append_c (log, 'P');
}

/* With the default incoming_connection every accepted connection emits
 * pending-connection-available, then new-connection. */
static void
test_signals_counts (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) log = g_string_new ("");
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_new = 0, n_available = 0;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);
  g_signal_connect (server, "new-connection", G_CALLBACK (log_new_cb), log);
  g_signal_connect (server, "pending-connection-available", G_CALLBACK (log_available_cb), log);

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, port));
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 3, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS / 3);

  g_assert_cmpuint (n_new, ==, 3);
  g_assert_cmpuint (n_available, ==, 3);
  g_assert_cmpstr (log->str, ==, "PNPNPN");
}

/* Each accepted connection goes incoming_connection, then (from the default
 * implementation) pending-connection-available, then new-connection. */
static void
test_signals_sequence (void)
{
  g_autoptr(TestServer) server = g_object_new (TEST_TYPE_SERVER, NULL);
  g_autoptr(GString) log = g_string_new ("");
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_new = 0;
  guint16 port;

  server->chain_up = TRUE;
  server->log = log;
  port = listen_loopback (TCP_SERVER (server), G_SOCKET_FAMILY_IPV4);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "new-connection", G_CALLBACK (log_new_cb), log);
  g_signal_connect (server, "pending-connection-available", G_CALLBACK (log_available_cb), log);

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, port));
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 3, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS / 3);

  g_assert_cmpstr (log->str, ==, "IPNIPNIPN");
  server->log = NULL;
}

/* add_pending_connection() emits pending-connection-available but not
 * new-connection, and works on a server that is not listening. */
static void
test_add_pending_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocketConnection) ca = NULL;
  g_autoptr(GSocketConnection) cb = NULL;
  g_autoptr(GIOStream) out1 = NULL;
  g_autoptr(GIOStream) out2 = NULL;
  guint n_new = 0, n_available = 0;
  int fds[2];

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  b = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  ca = g_socket_connection_factory_create_connection (a);
  cb = g_socket_connection_factory_create_connection (b);

  tcp_server_add_pending_connection (server, G_IO_STREAM (ca));
  g_assert_cmpuint (n_available, ==, 1);
  tcp_server_add_pending_connection (server, G_IO_STREAM (cb));
  g_assert_cmpuint (n_available, ==, 2);
  g_assert_cmpuint (n_new, ==, 0);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_true (tcp_server_has_pending_connections (server));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 2);

  /* Oldest first, the very objects that were added. */
  out1 = tcp_server_next_pending_connection (server);
  out2 = tcp_server_next_pending_connection (server);
  g_assert_true (out1 == G_IO_STREAM (ca));
  g_assert_true (out2 == G_IO_STREAM (cb));
  g_assert_false (tcp_server_has_pending_connections (server));
  g_assert_null (tcp_server_next_pending_connection (server));
}

/* close() on a server that never listened still drops what was added. */
static void
test_add_pending_then_close (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocketConnection) ca = NULL;
  int fds[2];
  gchar byte;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  b = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  g_socket_set_timeout (b, TCP_TEST_TIMEOUT_MS / 1000);
  ca = g_socket_connection_factory_create_connection (a);

  tcp_server_add_pending_connection (server, G_IO_STREAM (ca));
  tcp_server_close (server);
  g_assert_false (tcp_server_has_pending_connections (server));
  g_assert_true (g_io_stream_is_closed (G_IO_STREAM (ca)));
  g_assert_cmpint (g_socket_receive (b, &byte, 1, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* wait_for_new_connection(): no main loop runs in these tests. */

static void
test_wait_with_client (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;
  guint n_new = 0, n_available = 0;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_server_wait_for_new_connection (server, TCP_TEST_TIMEOUT_MS,
                                                     &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (n_new, ==, 1);
  g_assert_cmpuint (n_available, ==, 1);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);

  /* With a connection already queued it returns at once, even with 0 ms. */
  timed_out = TRUE;
  g_assert_true (tcp_server_wait_for_new_connection (server, 0, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);

  connection = tcp_server_next_pending_connection (server);
  g_assert_cmpuint (tcp_test_stream_remote_port (connection), ==,
                    tcp_test_socket_local_port (client));
  g_assert_false (g_main_context_pending (NULL));
}

/* A client that connects while the caller is blocked is picked up. */
static gpointer
connect_later_thread (gpointer data)
{
  guint16 port = GPOINTER_TO_UINT (data);

  g_usleep (100 * 1000);
  return tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
}

static void
test_wait_client_arrives (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  GThread *thread;

  thread = g_thread_new ("connect-later", connect_later_thread, GUINT_TO_POINTER (port));
  g_assert_true (tcp_server_wait_for_new_connection (server, -1, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  client = g_thread_join (thread);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
}

static void
test_wait_timeout (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  gboolean timed_out = FALSE;
  gint64 start, elapsed_ms;
  const gint msec = 250;
  const gint slack_ms = tcp_test_under_valgrind () ? 5000 : 1000;

  listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  start = g_get_monotonic_time ();
  g_assert_false (tcp_server_wait_for_new_connection (server, msec, &timed_out, &error));
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  g_assert_cmpint (elapsed_ms, >=, msec);
  g_assert_cmpint (elapsed_ms, <, msec + slack_ms);
  g_assert_true (tcp_server_is_listening (server));
  g_clear_error (&error);

  /* timed_out is optional; 0 ms with nobody waiting times out at once. */
  g_assert_false (tcp_server_wait_for_new_connection (server, 0, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* With 0 ms the listening socket is still polled once: a client already
 * waiting in the kernel queue is taken, as Qt's waitForNewConnection(0)
 * does. */
static void
test_wait_zero_client_waiting (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_server_wait_for_new_connection (server, 0, &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
}

static void
test_wait_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;

  g_assert_false (tcp_server_wait_for_new_connection (server, 100, &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_false (timed_out);
  g_clear_error (&error);

  /* Also after a close(), and without waiting for the timeout. */
  listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  tcp_server_close (server);
  g_assert_false (tcp_server_wait_for_new_connection (server, -1, &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_false (timed_out);
}

static void
test_wait_paused (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  tcp_server_pause_accepting (server);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_server_wait_for_new_connection (server, TCP_TEST_TIMEOUT_MS, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_paused (server));
}

/* set_socket_descriptor() */

static int
make_tcp_socket (int      family,
                 gboolean do_listen)
{
  int fd = socket (family, SOCK_STREAM, IPPROTO_TCP);
  struct sockaddr_in sin = { 0, };
  struct sockaddr_in6 sin6 = { 0, };

  g_assert_cmpint (fd, >=, 0);
  if (family == AF_INET)
    {
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
    }
  else
    {
      sin6.sin6_family = AF_INET6;
      sin6.sin6_addr = in6addr_loopback;
      g_assert_cmpint (bind (fd, (struct sockaddr *) &sin6, sizeof sin6), ==, 0);
    }
  if (do_listen)
    g_assert_cmpint (listen (fd, 16), ==, 0);
  return fd;
}

static void
test_adopt_good (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) notified = g_string_new ("");
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  int fd = make_tcp_socket (AF_INET, TRUE);
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;

  g_assert_cmpint (fcntl (fd, F_GETFL) & O_NONBLOCK, ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);

  g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);
  g_assert_true (tcp_server_set_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  assert_notified (notified, LISTEN_NOTIFICATIONS);

  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, fd);
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, ntohs (sin.sin_port));
  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), loopback));
  g_assert_cmpint (fcntl (fd, F_GETFL) & O_NONBLOCK, ==, O_NONBLOCK);
  g_assert_cmpint (fcntl (fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);

  /* The server owns the fd now: close() closes it. */
  tcp_server_close (server);
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, -1);
  g_assert_cmpint (errno, ==, EBADF);
}

static void
test_adopt_good_ipv6 (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  int fd;

  if (tcp_test_skip_without_ipv6 ())
    return;

  fd = make_tcp_socket (AF_INET6, TRUE);

  g_assert_true (tcp_server_set_socket_descriptor (server, fd, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_inet_address_get_family (tcp_server_get_server_address (server)), ==,
                   G_SOCKET_FAMILY_IPV6);
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV6);
}

/* Adopting @fd must fail with @code, record the error, leave the server as
 * it was and @fd open with its flags untouched. */
static void
assert_adopt_fails (TcpServer *server,
                    int        fd,
                    gint       code)
{
  g_autoptr(GString) notified = g_string_new ("");
  g_autoptr(GError) error = NULL;
  g_autofree gchar *what = g_strdup_printf ("descriptor %d", fd);
  gboolean was_listening = tcp_server_is_listening (server);
  gint old_fd = tcp_server_get_socket_descriptor (server);
  int fl = fd >= 0 ? fcntl (fd, F_GETFL) : -1;
  int fdfl = fd >= 0 ? fcntl (fd, F_GETFD) : -1;
  gulong id;

  id = g_signal_connect (server, "notify", G_CALLBACK (notify_log_cb), notified);
  g_assert_false (tcp_server_set_socket_descriptor (server, fd, &error));
  g_signal_handler_disconnect (server, id);

  g_assert_error (error, G_IO_ERROR, code);
  g_test_message ("adopting fd %d: %s", fd, error->message);
  if (!was_listening)
    g_assert_nonnull (strstr (error->message, what));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, code);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
  g_assert_cmpstr (notified->str, ==, "");
  g_assert_cmpint (tcp_server_is_listening (server), ==, was_listening);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, old_fd);

  if (fd >= 0)
    {
      g_assert_cmpint (fcntl (fd, F_GETFL), ==, fl);
      g_assert_cmpint (fcntl (fd, F_GETFD), ==, fdfl);
    }
}

static void
test_adopt_bad_negative (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();

  assert_adopt_fails (server, -1, G_IO_ERROR_INVALID_ARGUMENT);
  assert_adopt_fails (server, -42, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_adopt_bad_closed (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  int fd = make_tcp_socket (AF_INET, TRUE);
  /* A high number that nothing else in the process is likely to reuse. */
  int high = fcntl (fd, F_DUPFD_CLOEXEC, 900);

  g_assert_cmpint (high, >=, 900);
  close (fd);
  close (high);
  assert_adopt_fails (server, high, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (fcntl (high, F_GETFD), ==, -1);
}

static void
test_adopt_bad_pipe (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  assert_adopt_fails (server, fds[0], G_IO_ERROR_INVALID_ARGUMENT);
  assert_adopt_fails (server, fds[1], G_IO_ERROR_INVALID_ARGUMENT);
  close (fds[0]);
  close (fds[1]);
}

static void
test_adopt_bad_regular_file (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autofree gchar *path = NULL;
  int fd = g_file_open_tmp ("tcp-test-XXXXXX", &path, &error);

  g_assert_no_error (error);
  assert_adopt_fails (server, fd, G_IO_ERROR_INVALID_ARGUMENT);
  close (fd);
  g_unlink (path);
}

static void
test_adopt_bad_udp (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  int fd = socket (AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  struct sockaddr_in sin = { .sin_family = AF_INET };

  g_assert_cmpint (fd, >=, 0);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  assert_adopt_fails (server, fd, G_IO_ERROR_NOT_SUPPORTED);
  close (fd);
}

static void
test_adopt_bad_unix (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autofree gchar *dir = g_dir_make_tmp ("tcp-test-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "sock", NULL);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);

  g_assert_nonnull (dir);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (strlen (path), <, sizeof sun.sun_path);
  strcpy (sun.sun_path, path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sun, sizeof sun), ==, 0);
  g_assert_cmpint (listen (fd, 4), ==, 0);

  /* A listening stream socket, but not TCP. */
  assert_adopt_fails (server, fd, G_IO_ERROR_NOT_SUPPORTED);
  close (fd);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_adopt_bad_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  int bound = make_tcp_socket (AF_INET, FALSE);
  int fresh = socket (AF_INET, SOCK_STREAM, IPPROTO_TCP);

  g_assert_cmpint (fresh, >=, 0);
  assert_adopt_fails (server, bound, G_IO_ERROR_INVALID_ARGUMENT);
  assert_adopt_fails (server, fresh, G_IO_ERROR_INVALID_ARGUMENT);

  /* The caller can still make it listen and adopt it then. */
  g_assert_cmpint (listen (bound, 4), ==, 0);
  g_assert_true (tcp_server_set_socket_descriptor (server, bound, NULL));
  close (fresh);
}

static void
test_adopt_bad_already_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  int fd = make_tcp_socket (AF_INET, TRUE);

  listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  assert_adopt_fails (server, fd, G_IO_ERROR_FAILED);

  /* The first listener still works. */
  assert_client_accepted (server, G_SOCKET_FAMILY_IPV4);
  close (fd);
}

/* accept_async() */

static void
test_accept_async_queued (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  TcpTestAcceptResult res = { 0, };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));

  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_no_error (res.error);
  g_assert_true (G_IS_TCP_CONNECTION (res.connection));
  g_assert_cmpuint (tcp_test_stream_remote_port (res.connection), ==,
                    tcp_test_socket_local_port (client));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  tcp_test_accept_result_clear (&res);
}

static void
test_accept_async_later (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  TcpTestAcceptResult res = { 0, };
  guint n_available = 0;
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (tcp_test_count_cb), &n_available);

  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &res);
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (res.n_done, ==, 0);

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_no_error (res.error);
  g_assert_true (G_IS_TCP_CONNECTION (res.connection));
  g_assert_cmpuint (tcp_test_stream_remote_port (res.connection), ==,
                    tcp_test_socket_local_port (client));
  g_assert_cmpuint (n_available, ==, 1);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  tcp_test_accept_result_clear (&res);
}

static void
test_accept_async_two_waiters (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) order = g_string_new ("");
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  TcpTestAcceptResult a = { .order = order, .tag = 'a' };
  TcpTestAcceptResult b = { .order = order, .tag = 'b' };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &a);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &b);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &a.n_done, 1, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (b.n_done, ==, 0);

  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &b.n_done, 1, TCP_TEST_TIMEOUT_MS));

  g_assert_cmpstr (order->str, ==, "ab");
  g_assert_no_error (a.error);
  g_assert_no_error (b.error);
  g_assert_cmpuint (tcp_test_stream_remote_port (a.connection), ==,
                    tcp_test_socket_local_port (c1));
  g_assert_cmpuint (tcp_test_stream_remote_port (b.connection), ==,
                    tcp_test_socket_local_port (c2));
  tcp_test_accept_result_clear (&a);
  tcp_test_accept_result_clear (&b);
}

/* Two waiters and two clients arriving in one accept batch. */
static void
test_accept_async_two_waiters_batch (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GString) order = g_string_new ("");
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  TcpTestAcceptResult a = { .order = order, .tag = 'a' };
  TcpTestAcceptResult b = { .order = order, .tag = 'b' };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &a);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &b);
  g_assert_true (tcp_test_run_until_uint (NULL, &b.n_done, 1, TCP_TEST_TIMEOUT_MS));

  g_assert_cmpstr (order->str, ==, "ab");
  g_assert_cmpuint (tcp_test_stream_remote_port (a.connection), ==,
                    tcp_test_socket_local_port (c1));
  g_assert_cmpuint (tcp_test_stream_remote_port (b.connection), ==,
                    tcp_test_socket_local_port (c2));
  tcp_test_accept_result_clear (&a);
  tcp_test_accept_result_clear (&b);
}

static void
test_accept_async_cancel (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSocket) client = NULL;
  TcpTestAcceptResult res = { 0, };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  tcp_server_accept_async (server, cancellable, tcp_test_accept_result_cb, &res);
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (res.n_done, ==, 0);

  g_cancellable_cancel (cancellable);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (res.connection);

  /* The cancelled waiter takes nothing: a later client stays queued. */
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (res.n_done, ==, 1);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
  tcp_test_accept_result_clear (&res);
}

static void
test_accept_async_cancel_before (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSocket) client = NULL;
  TcpTestAcceptResult res = { 0, };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  /* Even with a connection queued, an already cancelled call fails. */
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));

  g_cancellable_cancel (cancellable);
  tcp_server_accept_async (server, cancellable, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
  tcp_test_accept_result_clear (&res);
}

/* Cancelling one of two waiters passes the connection to the other. */
static void
test_accept_async_cancel_first_of_two (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GString) order = g_string_new ("");
  g_autoptr(GSocket) client = NULL;
  TcpTestAcceptResult a = { .order = order, .tag = 'a' };
  TcpTestAcceptResult b = { .order = order, .tag = 'b' };
  guint16 port = listen_loopback (server, G_SOCKET_FAMILY_IPV4);

  tcp_server_accept_async (server, cancellable, tcp_test_accept_result_cb, &a);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &b);
  g_cancellable_cancel (cancellable);
  g_assert_true (tcp_test_run_until_uint (NULL, &a.n_done, 1, TCP_TEST_TIMEOUT_MS));

  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &b.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpstr (order->str, ==, "ab");
  g_assert_error (a.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_no_error (b.error);
  g_assert_true (G_IS_TCP_CONNECTION (b.connection));
  tcp_test_accept_result_clear (&a);
  tcp_test_accept_result_clear (&b);
}

static void
test_accept_async_close (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TcpTestAcceptResult a = { 0, };
  TcpTestAcceptResult b = { 0, };

  listen_loopback (server, G_SOCKET_FAMILY_IPV4);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &a);
  tcp_server_accept_async (server, cancellable, tcp_test_accept_result_cb, &b);
  tcp_test_run_for (NULL, QUIET_MS / 3);

  tcp_server_close (server);
  g_assert_true (tcp_test_run_until_uint (NULL, &b.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (a.n_done, ==, 1);
  g_assert_error (a.error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_error (b.error, G_IO_ERROR, G_IO_ERROR_CLOSED);

  /* Cancelling afterwards changes nothing. */
  g_cancellable_cancel (cancellable);
  tcp_test_run_for (NULL, QUIET_MS / 3);
  g_assert_cmpuint (b.n_done, ==, 1);
  tcp_test_accept_result_clear (&a);
  tcp_test_accept_result_clear (&b);
}

static void
test_accept_async_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  TcpTestAcceptResult res = { 0, };

  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_null (res.connection);
  tcp_test_accept_result_clear (&res);
}

/* A server that is not listening but holds an added connection hands it
 * out. */
static void
test_accept_async_not_listening_pending (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GSocketConnection) ca = NULL;
  TcpTestAcceptResult res = { 0, };
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], NULL);
  close (fds[1]);
  ca = g_socket_connection_factory_create_connection (a);
  tcp_server_add_pending_connection (server, G_IO_STREAM (ca));

  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_no_error (res.error);
  g_assert_true (res.connection == G_IO_STREAM (ca));
  tcp_test_accept_result_clear (&res);
}

/* A server in a worker thread with its own main context */

typedef struct
{
  guint16       port;
  GMutex        mutex;
  GCond         cond;
  gboolean      listening;
  gboolean      connected;

  GThread      *worker;
  GThread      *new_connection_thread;
  GThread      *available_thread;
  GThread      *accept_thread;
  guint         n_new;
  guint         n_accepted;
  gboolean      ok;
} ThreadTest;

static void
thread_new_connection_cb (TcpServer  *server,
                          ThreadTest *test)
{
  test->new_connection_thread = g_thread_self ();
  test->n_new++;
}

static void
thread_available_cb (TcpServer  *server,
                     ThreadTest *test)
{
  test->available_thread = g_thread_self ();
}

static void
thread_accept_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ThreadTest *test = user_data;
  g_autoptr(GIOStream) connection = NULL;

  connection = tcp_server_accept_finish (TCP_SERVER (object), result, NULL);
  test->accept_thread = g_thread_self ();
  if (connection != NULL)
    test->n_accepted++;
}

static gpointer
server_thread (gpointer data)
{
  ThreadTest *test = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TcpServer) server = tcp_server_new ();

  test->worker = g_thread_self ();
  g_main_context_push_thread_default (context);

  g_signal_connect (server, "new-connection", G_CALLBACK (thread_new_connection_cb), test);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (thread_available_cb), test);
  test->ok = tcp_server_listen_on (server, "127.0.0.1", 0, NULL);
  tcp_server_accept_async (server, NULL, thread_accept_cb, test);

  g_mutex_lock (&test->mutex);
  test->port = tcp_server_get_server_port (server);
  test->listening = TRUE;
  g_cond_signal (&test->cond);
  while (!test->connected)
    g_cond_wait (&test->cond, &test->mutex);
  g_mutex_unlock (&test->mutex);

  tcp_test_run_until_uint (context, &test->n_accepted, 1, TCP_TEST_TIMEOUT_MS);

  tcp_server_close (server);
  g_clear_object (&server);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_thread_context (void)
{
  ThreadTest test = { 0, };
  g_autoptr(GSocket) client = NULL;
  GThread *thread;

  g_mutex_init (&test.mutex);
  g_cond_init (&test.cond);

  thread = g_thread_new ("tcp-server", server_thread, &test);
  g_mutex_lock (&test.mutex);
  while (!test.listening)
    g_cond_wait (&test.cond, &test.mutex);
  g_mutex_unlock (&test.mutex);

  g_assert_true (test.ok);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, test.port);

  g_mutex_lock (&test.mutex);
  test.connected = TRUE;
  g_cond_signal (&test.cond);
  g_mutex_unlock (&test.mutex);

  g_thread_join (thread);

  g_assert_cmpuint (test.n_new, ==, 1);
  g_assert_cmpuint (test.n_accepted, ==, 1);
  g_assert_true (test.new_connection_thread == test.worker);
  g_assert_true (test.available_thread == test.worker);
  g_assert_true (test.accept_thread == test.worker);
  g_assert_false (test.worker == g_thread_self ());

  /* Nothing of the server's was ever attached to the global default
   * context: there is nothing to dispatch on it. */
  g_assert_false (g_main_context_pending (NULL));

  g_mutex_clear (&test.mutex);
  g_cond_clear (&test.cond);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Server/default-state", test_default_state);

  g_test_add_func ("/Tcp/Server/listen/ipv4", test_listen_ipv4);
  g_test_add_func ("/Tcp/Server/listen/ipv6-loopback", test_listen_ipv6_loopback);
  g_test_add_func ("/Tcp/Server/listen/ipv6-any", test_listen_ipv6_any);
  g_test_add_func ("/Tcp/Server/listen/dual-stack", test_listen_dual_stack);
  g_test_add_func ("/Tcp/Server/listen/address-in-use", test_listen_address_in_use);
  g_test_add_func ("/Tcp/Server/listen/reuse-port", test_listen_reuse_port);
  g_test_add_func ("/Tcp/Server/listen/twice", test_listen_twice);
  g_test_add_func ("/Tcp/Server/listen-on/string", test_listen_on_string);
  g_test_add_func ("/Tcp/Server/listen-on/ipv4-mapped", test_listen_on_ipv4_mapped);
  g_test_add_func ("/Tcp/Server/listen-on/garbage", test_listen_on_garbage);

  g_test_add_func ("/Tcp/Server/properties/notify-listen-close",
                   test_properties_notify_listen_close);
  g_test_add_func ("/Tcp/Server/properties/notify-consistent", test_properties_notify_consistent);
  g_test_add_func ("/Tcp/Server/properties/setters-notify", test_properties_setters_notify);
  g_test_add_func ("/Tcp/Server/properties/bad-values", test_properties_bad_values);
  g_test_add_func ("/Tcp/Server/properties/backlog-applies", test_properties_backlog_applies);

  g_test_add_func ("/Tcp/Server/close/queued-connections", test_close_queued_connections);

  g_test_add_func ("/Tcp/Server/max-pending/limit", test_max_pending);
  g_test_add_func ("/Tcp/Server/max-pending/change", test_max_pending_change);
  g_test_add_func ("/Tcp/Server/max-pending/reserved-slots", test_max_pending_reserved_slots);

  g_test_add_func ("/Tcp/Server/pause/idle", test_pause_idle);
  g_test_add_func ("/Tcp/Server/pause/queue-drained", test_pause_queue_drained);
  g_test_add_func ("/Tcp/Server/pause/before-listen", test_pause_before_listen);
  g_test_add_func ("/Tcp/Server/pause/same-iteration", test_pause_same_iteration);

  g_test_add_func ("/Tcp/Server/incoming-connection/chain-up", test_incoming_override_chain_up);
  g_test_add_func ("/Tcp/Server/incoming-connection/no-chain-up",
                   test_incoming_override_no_chain);

  g_test_add_func ("/Tcp/Server/signals/counts", test_signals_counts);
  g_test_add_func ("/Tcp/Server/signals/sequence", test_signals_sequence);
  g_test_add_func ("/Tcp/Server/add-pending/not-listening", test_add_pending_not_listening);
  g_test_add_func ("/Tcp/Server/add-pending/close", test_add_pending_then_close);

  g_test_add_func ("/Tcp/Server/wait/with-client", test_wait_with_client);
  g_test_add_func ("/Tcp/Server/wait/client-arrives", test_wait_client_arrives);
  g_test_add_func ("/Tcp/Server/wait/timeout", test_wait_timeout);
  g_test_add_func ("/Tcp/Server/wait/zero-client-waiting", test_wait_zero_client_waiting);
  g_test_add_func ("/Tcp/Server/wait/not-listening", test_wait_not_listening);
  g_test_add_func ("/Tcp/Server/wait/paused", test_wait_paused);

  g_test_add_func ("/Tcp/Server/adopt/good", test_adopt_good);
  g_test_add_func ("/Tcp/Server/adopt/good-ipv6", test_adopt_good_ipv6);
  g_test_add_func ("/Tcp/Server/adopt/bad/negative", test_adopt_bad_negative);
  g_test_add_func ("/Tcp/Server/adopt/bad/closed", test_adopt_bad_closed);
  g_test_add_func ("/Tcp/Server/adopt/bad/pipe", test_adopt_bad_pipe);
  g_test_add_func ("/Tcp/Server/adopt/bad/regular-file", test_adopt_bad_regular_file);
  g_test_add_func ("/Tcp/Server/adopt/bad/udp", test_adopt_bad_udp);
  g_test_add_func ("/Tcp/Server/adopt/bad/unix", test_adopt_bad_unix);
  g_test_add_func ("/Tcp/Server/adopt/bad/not-listening", test_adopt_bad_not_listening);
  g_test_add_func ("/Tcp/Server/adopt/bad/already-listening", test_adopt_bad_already_listening);

  g_test_add_func ("/Tcp/Server/accept-async/queued", test_accept_async_queued);
  g_test_add_func ("/Tcp/Server/accept-async/later", test_accept_async_later);
  g_test_add_func ("/Tcp/Server/accept-async/two-waiters", test_accept_async_two_waiters);
  g_test_add_func ("/Tcp/Server/accept-async/two-waiters-batch",
                   test_accept_async_two_waiters_batch);
  g_test_add_func ("/Tcp/Server/accept-async/cancel", test_accept_async_cancel);
  g_test_add_func ("/Tcp/Server/accept-async/cancel-before", test_accept_async_cancel_before);
  g_test_add_func ("/Tcp/Server/accept-async/cancel-first-of-two",
                   test_accept_async_cancel_first_of_two);
  g_test_add_func ("/Tcp/Server/accept-async/close", test_accept_async_close);
  g_test_add_func ("/Tcp/Server/accept-async/not-listening", test_accept_async_not_listening);
  g_test_add_func ("/Tcp/Server/accept-async/not-listening-pending",
                   test_accept_async_not_listening_pending);

  g_test_add_func ("/Tcp/Server/thread/own-context", test_thread_context);

  return g_test_run ();
}

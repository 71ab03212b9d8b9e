/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-bad-input.c: every public TcpServer entry point fed bad input
 *
 * Copyright 2026 The libtcp authors
 *
 * One test per row of doc/bad-input.md. Each feeds a bad value or a call in
 * the wrong state, checks what the caller gets (a GError with the documented
 * code, or a g_return_if_fail critical caught with g_test_expect_message),
 * and then checks that the server is exactly as it was before the call, and
 * that no file descriptor appeared or vanished.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tcp-fault-util.h"

/* Everything observable about a server, except the recorded last error. */
typedef struct
{
  gboolean      listening;
  GInetAddress *address;
  guint16       port;
  gint          fd;
  GSocket      *socket;
  gint          max_pending;
  gint          backlog;
  gboolean      reuse_port;
  gboolean      paused;
  gchar        *proxy;
  guint         n_pending;
  gboolean      has_pending;
  guint         n_fds;
} Snapshot;

typedef struct
{
  Snapshot     state;
  GIOErrorEnum error_code;
  gchar       *error_string;
} FullSnapshot;

static void
snapshot_take (Snapshot  *snap,
               TcpServer *server)
{
  GInetAddress *address = tcp_server_get_server_address (server);

  snap->listening = tcp_server_is_listening (server);
  snap->address = address != NULL ? g_object_ref (address) : NULL;
  snap->port = tcp_server_get_server_port (server);
  snap->fd = tcp_server_get_socket_descriptor (server);
  snap->socket = tcp_server_get_socket (server);
  snap->max_pending = tcp_server_get_max_pending_connections (server);
  snap->backlog = tcp_server_get_listen_backlog_size (server);
  snap->reuse_port = tcp_server_get_reuse_port (server);
  snap->paused = tcp_server_is_paused (server);
  snap->proxy = g_strdup (tcp_server_get_proxy (server));
  snap->n_pending = tcp_server_get_n_pending_connections (server);
  snap->has_pending = tcp_server_has_pending_connections (server);
  snap->n_fds = tcp_fault_count_fds ();
}

static void
snapshot_clear (Snapshot *snap)
{
  g_clear_object (&snap->address);
  g_clear_pointer (&snap->proxy, g_free);
}

static void
snapshot_assert_equal (const Snapshot *a,
                       const Snapshot *b)
{
  g_assert_cmpint (a->listening, ==, b->listening);
  g_assert_true ((a->address == NULL) == (b->address == NULL));
  if (a->address != NULL)
    g_assert_true (g_inet_address_equal (a->address, b->address));
  g_assert_cmpuint (a->port, ==, b->port);
  g_assert_cmpint (a->fd, ==, b->fd);
  g_assert_true (a->socket == b->socket);
  g_assert_cmpint (a->max_pending, ==, b->max_pending);
  g_assert_cmpint (a->backlog, ==, b->backlog);
  g_assert_cmpint (a->reuse_port, ==, b->reuse_port);
  g_assert_cmpint (a->paused, ==, b->paused);
  g_assert_cmpstr (a->proxy, ==, b->proxy);
  g_assert_cmpuint (a->n_pending, ==, b->n_pending);
  g_assert_cmpint (a->has_pending, ==, b->has_pending);
  g_assert_cmpuint (a->n_fds, ==, b->n_fds);
}

/* The state before a rejected call. */
static void
before (FullSnapshot *snap,
        TcpServer    *server)
{
  snapshot_take (&snap->state, server);
  snap->error_code = tcp_server_get_server_error (server);
  snap->error_string = g_strdup (tcp_server_get_error_string (server));
}

/* After a call rejected by g_return_if_fail: nothing changed at all, not
 * even the recorded error. */
static void
assert_unchanged (FullSnapshot *snap,
                  TcpServer    *server)
{
  Snapshot now;

  snapshot_take (&now, server);
  snapshot_assert_equal (&snap->state, &now);
  snapshot_clear (&now);
  g_assert_cmpint (tcp_server_get_server_error (server), ==, snap->error_code);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, snap->error_string);

  snapshot_clear (&snap->state);
  g_clear_pointer (&snap->error_string, g_free);
}

/* After a call rejected with a GError: nothing changed but the recorded last
 * error, which is now @error. */
static void
assert_unchanged_but_error (FullSnapshot *snap,
                            TcpServer    *server,
                            const GError *error)
{
  Snapshot now;

  g_assert_nonnull (error);
  snapshot_take (&now, server);
  snapshot_assert_equal (&snap->state, &now);
  snapshot_clear (&now);
  g_assert_cmpint (tcp_server_get_server_error (server), ==, error->code);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);

  snapshot_clear (&snap->state);
  g_clear_pointer (&snap->error_string, g_free);
}

#define EXPECT_CRITICAL(pattern) \
  g_test_expect_message ("Tcp", G_LOG_LEVEL_CRITICAL, pattern)

/* A plain GObject passed where a TcpServer belongs. */
static TcpServer *
not_a_server (void)
{
  static GObject *object;

  if (object == NULL)
    object = g_object_new (G_TYPE_OBJECT, NULL);

  return (TcpServer *) object;
}

/* The expectations above are what keeps those criticals from aborting: one
 * nobody expects is fatal (GTest makes criticals fatal, and so does
 * G_DEBUG=fatal-criticals from tests/meson.build). */
static void
test_unexpected_critical_is_fatal (void)
{
  if (g_test_subprocess ())
    {
      tcp_server_close (NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*tcp_server_close*TCP_IS_SERVER (self)*");
}

/* Every entry point with NULL and with a non-TcpServer as self: a critical
 * and the documented fallback value, nothing else. */
static void
test_self_null_or_wrong_type (void)
{
  TcpServer *bad[] = { NULL, not_a_server () };
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  FullSnapshot snap;

  before (&snap, server);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      TcpServer *self = bad[i];
      g_autoptr(GError) error = NULL;
      gboolean timed_out = TRUE;

      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_listen (self, NULL, 0, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_listen_on (self, "127.0.0.1", 0, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_close (self);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_is_listening (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_get_server_address (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_server_port (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpint (tcp_server_get_max_pending_connections (self), ==, 30);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_max_pending_connections (self, 5);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpint (tcp_server_get_listen_backlog_size (self), ==, 4096);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_listen_backlog_size (self, 5);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_get_reuse_port (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_reuse_port (self, TRUE);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_has_pending_connections (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_next_pending_connection (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_n_pending_connections (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_pause_accepting (self);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_resume_accepting (self);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_is_paused (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpint (tcp_server_get_socket_descriptor (self), ==, -1);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_set_socket_descriptor (self, 0, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_get_socket (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_wait_for_new_connection (self, 0, &timed_out, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpint (tcp_server_get_server_error (self), ==, G_IO_ERROR_FAILED);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpstr (tcp_server_get_error_string (self), ==, "");
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_get_proxy (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_proxy (self, "socks5://127.0.0.1:1080");
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_accept_async (self, NULL, NULL, NULL);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_accept_finish (self, NULL, &error));
      g_test_assert_expected_messages ();

      g_assert_no_error (error);
      g_assert_true (timed_out);   /* untouched */
    }

  assert_unchanged (&snap, server);
}

/* An out-of-range count or size: a critical, the old value stays. */
static void
test_max_pending_out_of_range (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  gint bad[] = { 0, -1, G_MININT };
  FullSnapshot snap;

  tcp_server_set_max_pending_connections (server, 7);
  before (&snap, server);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ("*n >= 1*");
      tcp_server_set_max_pending_connections (server, bad[i]);
      g_test_assert_expected_messages ();
    }
  assert_unchanged (&snap, server);

  /* The largest value is valid. */
  tcp_server_set_max_pending_connections (server, G_MAXINT);
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, G_MAXINT);
}

static void
test_backlog_out_of_range (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  gint bad[] = { 0, -1, G_MININT };
  FullSnapshot snap;

  tcp_server_set_listen_backlog_size (server, 64);
  before (&snap, server);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ("*size >= 1*");
      tcp_server_set_listen_backlog_size (server, bad[i]);
      g_test_assert_expected_messages ();
    }
  assert_unchanged (&snap, server);

  /* A huge backlog is accepted; the kernel caps it at somaxconn. */
  tcp_server_set_listen_backlog_size (server, G_MAXINT);
  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
}

/* Properties through GObject: out-of-range and wrong-type values are
 * refused by GObject's own checks, read-only ones cannot be set. */
static void
test_property_bad_values (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_auto(GValue) string_value = G_VALUE_INIT;
  g_auto(GValue) object_value = G_VALUE_INIT;
  FullSnapshot snap;

  before (&snap, server);

  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*value \"0\" of type 'gint' is invalid or out of range*"
                         "max-pending-connections*");
  g_object_set (server, "max-pending-connections", 0, NULL);
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*value \"-5\" of type 'gint' is invalid or out of range*"
                         "listen-backlog-size*");
  g_object_set (server, "listen-backlog-size", -5, NULL);

  g_value_init (&string_value, G_TYPE_STRING);
  g_value_set_static_string (&string_value, "12");
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*unable to set property 'max-pending-connections' of type 'gint' "
                         "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "max-pending-connections", &string_value);

  g_value_init (&object_value, G_TYPE_OBJECT);
  g_value_take_object (&object_value, g_object_new (G_TYPE_OBJECT, NULL));
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*unable to set property 'proxy' of type 'gchararray' "
                         "from value of type 'GObject'*");
  g_object_set_property (G_OBJECT (server), "proxy", &object_value);

  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*property 'listening' of object class 'TcpServer' is not writable*");
  g_object_set (server, "listening", FALSE, NULL);
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*property 'server-port' of object class 'TcpServer' is not writable*");
  g_object_set (server, "server-port", 1, NULL);
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING,
                         "*object class 'TcpServer' has no property named 'no-such-thing'*");
  g_object_set (server, "no-such-thing", 1, NULL);
  g_test_assert_expected_messages ();

  assert_unchanged (&snap, server);
}

/* reuse-port is a boolean: any non-zero value means TRUE and reads back as
 * TRUE (not as the raw value). */
static void
test_reuse_port_non_boolean (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();

  tcp_server_set_reuse_port (server, 42);
  g_assert_cmpint (tcp_server_get_reuse_port (server), ==, TRUE);
  tcp_server_set_reuse_port (server, -1);
  g_assert_cmpint (tcp_server_get_reuse_port (server), ==, TRUE);
  tcp_server_set_reuse_port (server, 0);
  g_assert_cmpint (tcp_server_get_reuse_port (server), ==, FALSE);
}

static void
test_listen_wrong_address_type (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(GError) error = NULL;
  FullSnapshot snap;

  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_INET_ADDRESS (address)*");
  g_assert_false (tcp_server_listen (server, (GInetAddress *) wrong, 0, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  assert_unchanged (&snap, server);
}

/* A GError that is already set is a programming error in the caller. */
static void
test_error_already_set (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY, "earlier");
  FullSnapshot snap;

  before (&snap, server);
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tcp_server_listen (server, NULL, 0, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tcp_server_set_socket_descriptor (server, 0, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tcp_server_wait_for_new_connection (server, 0, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "earlier");
  assert_unchanged (&snap, server);
}

static void
test_listen_twice (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint16 port = tcp_server_get_server_port (server);
  FullSnapshot snap;

  /* Same port, another port, any address, via the string form. */
  guint16 ports[] = { port, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error2 = NULL;
      g_autoptr(GError) error3 = NULL;

      before (&snap, server);
      g_assert_false (tcp_server_listen (server, loopback, ports[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "already listening"));
      assert_unchanged_but_error (&snap, server, error);

      before (&snap, server);
      g_assert_false (tcp_server_listen (server, NULL, ports[i], &error2));
      g_assert_error (error2, G_IO_ERROR, G_IO_ERROR_FAILED);
      assert_unchanged_but_error (&snap, server, error2);

      before (&snap, server);
      g_assert_false (tcp_server_listen_on (server, "::1", ports[i], &error3));
      g_assert_error (error3, G_IO_ERROR, G_IO_ERROR_FAILED);
      assert_unchanged_but_error (&snap, server, error3);
    }

  /* The first listener still works. */
  {
    int client = tcp_fault_connect (port);
    g_autoptr(GError) error = NULL;
    g_autoptr(GIOStream) connection = NULL;

    g_assert_true (tcp_server_wait_for_new_connection (server, 5000, NULL, &error));
    g_assert_no_error (error);
    connection = tcp_server_next_pending_connection (server);
    g_assert_cmpuint (tcp_fault_remote_port (connection), ==, tcp_fault_local_port (client));
    close (client);
  }
}

/* An address this host does not have, a port in use: the listen() error,
 * and the server stays closed. */
static void
test_listen_unavailable (void)
{
  g_autoptr(TcpServer) first = tcp_fault_server_new_listening ();
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GInetAddress) remote = g_inet_address_new_from_string ("192.0.2.1");
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  FullSnapshot snap;

  before (&snap, server);
  g_assert_false (tcp_server_listen (server, remote, 0, &error));
  g_assert_error (error, G_IO_ERROR, g_io_error_from_errno (EADDRNOTAVAIL));
  g_assert_nonnull (strstr (error->message, "192.0.2.1"));
  assert_unchanged_but_error (&snap, server, error);

  before (&snap, server);
  g_assert_false (tcp_server_listen (server, loopback, tcp_server_get_server_port (first),
                                     &error2));
  g_assert_error (error2, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_nonnull (strstr (error2->message, "127.0.0.1"));
  assert_unchanged_but_error (&snap, server, error2);
}

/* Host strings that are not numeric addresses: no name lookup, an error. */
static void
test_listen_on_bad_host (void)
{
  const gchar *bad[] = {
    "", "localhost", "not an address", "127.0.0.1:80", "[::1]", "256.0.0.1",
    "127.0.0.1 ", "::1%nosuchif", "\xff\xfe",
  };
  g_autoptr(TcpServer) server = tcp_server_new ();
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      before (&snap, server);
      g_assert_false (tcp_server_listen_on (server, bad[i], 0, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      /* Valid UTF-8 even when the host is not: bindings decode messages. */
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      assert_unchanged_but_error (&snap, server, error);
    }
}

/* Proxy URIs other than socks5:// make listen() fail with NOT_SUPPORTED. */
static void
test_proxy_unsupported (void)
{
  const gchar *bad[] = {
    "http://127.0.0.1:3128", "socks4://127.0.0.1:1080", "garbage", "://", "socks5",
  };
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TcpServer) server = tcp_server_new ();
      g_autoptr(GError) error = NULL;
      FullSnapshot snap;

      tcp_server_set_proxy (server, bad[i]);
      g_assert_cmpstr (tcp_server_get_proxy (server), ==, bad[i]);
      before (&snap, server);
      g_assert_false (tcp_server_listen (server, any, 0, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
      /* The message names the scheme, never the whole URI: it may hold a
       * password. */
      g_assert_nonnull (strstr (error->message, "only socks5:// proxies"));
      assert_unchanged_but_error (&snap, server, error);
    }
}

/* The adoption cases: each fd is checked to be left exactly as it was. */
typedef struct
{
  const gchar  *name;
  int         (*make) (void);
  GIOErrorEnum  code;
  const gchar  *message_part;
} AdoptCase;

static int make_negative (void) { return -1; }
static int make_very_negative (void) { return G_MININT; }
static int make_huge (void) { return G_MAXINT; }

static int
make_closed (void)
{
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  close (fd);
  return fd;
}

static int
make_file (void)
{
  return open ("/dev/null", O_RDONLY | O_CLOEXEC);
}

static int
make_pipe (void)
{
  int fds[2];

  g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
  close (fds[1]);
  return fds[0];
}

static int
make_udp (void)
{
  return socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static int
make_unix_listening (void)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };

  /* An abstract address: nothing to clean up on disk. */
  g_snprintf (sun.sun_path + 1, sizeof sun.sun_path - 1, "libtcp-test-%d", (int) getpid ());
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sun, sizeof sun), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);
  return fd;
}

static int
make_tcp_unbound (void)
{
  return socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int
make_tcp_bound_not_listening (void)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };

  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  return fd;
}

static int
make_tcp_connected (void)
{
  g_autoptr(TcpServer) peer = tcp_fault_server_new_listening ();

  /* The connection stays established in the kernel after the server
   * object goes. */
  return tcp_fault_connect (tcp_server_get_server_port (peer));
}

static const AdoptCase adopt_cases[] = {
  { "negative", make_negative, G_IO_ERROR_INVALID_ARGUMENT, "not a valid file descriptor" },
  { "minint", make_very_negative, G_IO_ERROR_INVALID_ARGUMENT, "not a valid file descriptor" },
  { "huge", make_huge, G_IO_ERROR_INVALID_ARGUMENT, "Bad file descriptor" },
  { "closed", make_closed, G_IO_ERROR_INVALID_ARGUMENT, "Bad file descriptor" },
  { "file", make_file, G_IO_ERROR_INVALID_ARGUMENT, "not a socket" },
  { "pipe", make_pipe, G_IO_ERROR_INVALID_ARGUMENT, "not a socket" },
  { "udp", make_udp, G_IO_ERROR_NOT_SUPPORTED, "datagram" },
  { "unix", make_unix_listening, G_IO_ERROR_NOT_SUPPORTED, "not an IPv4 or IPv6 socket" },
  { "tcp-unbound", make_tcp_unbound, G_IO_ERROR_INVALID_ARGUMENT, "not listening" },
  { "tcp-bound", make_tcp_bound_not_listening, G_IO_ERROR_INVALID_ARGUMENT, "not listening" },
  { "tcp-connected", make_tcp_connected, G_IO_ERROR_INVALID_ARGUMENT, "not listening" },
};

static void
test_adopt_bad_fd (gconstpointer data)
{
  const AdoptCase *c = data;
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  int fd = c->make ();
  int fd_flags = fd >= 0 ? fcntl (fd, F_GETFD) : -1;
  int fl_flags = fd >= 0 ? fcntl (fd, F_GETFL) : -1;
  FullSnapshot snap;

  before (&snap, server);
  g_assert_false (tcp_server_set_socket_descriptor (server, fd, &error));
  g_assert_error (error, G_IO_ERROR, c->code);
  g_assert_nonnull (strstr (error->message, c->message_part));
  g_assert_nonnull (strstr (error->message, "adopt socket descriptor"));
  assert_unchanged_but_error (&snap, server, error);

  /* The descriptor is the caller's, untouched (blocking mode included). */
  if (fd_flags >= 0)
    {
      g_assert_cmpint (fcntl (fd, F_GETFD), ==, fd_flags);
      g_assert_cmpint (fcntl (fd, F_GETFL), ==, fl_flags);
      close (fd);
    }
}

/* Adopting while listening fails, and neither socket changes hands. */
static void
test_adopt_while_listening (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(TcpServer) other = tcp_fault_server_new_listening ();
  g_autoptr(GError) error = NULL;
  int fd = dup (tcp_server_get_socket_descriptor (other));
  int fd_flags = fcntl (fd, F_GETFD);
  FullSnapshot snap;

  before (&snap, server);
  g_assert_false (tcp_server_set_socket_descriptor (server, fd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "already listening"));
  assert_unchanged_but_error (&snap, server, error);
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, fd_flags);
  close (fd);

  /* Its own descriptor is no better. */
  {
    g_autoptr(GError) error2 = NULL;

    before (&snap, server);
    g_assert_false (tcp_server_set_socket_descriptor (server,
                                                       tcp_server_get_socket_descriptor (server),
                                                       &error2));
    g_assert_error (error2, G_IO_ERROR, G_IO_ERROR_FAILED);
    assert_unchanged_but_error (&snap, server, error2);
  }
}

static void
test_wait_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  gint msecs[] = { 0, 10, -1, G_MININT, G_MAXINT };
  FullSnapshot snap;

  before (&snap, server);
  for (guint i = 0; i < G_N_ELEMENTS (msecs); i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean timed_out = TRUE;

      g_assert_false (tcp_server_wait_for_new_connection (server, msecs[i], &timed_out, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
      g_assert_false (timed_out);
    }
  /* Not a server error: nothing was attempted on a socket. */
  assert_unchanged (&snap, server);

  /* After close() too. */
  {
    g_autoptr(TcpServer) closed = tcp_fault_server_new_listening ();
    g_autoptr(GError) error = NULL;

    tcp_server_close (closed);
    g_assert_false (tcp_server_wait_for_new_connection (closed, -1, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  }
}

/* 0 ms polls once and times out; any negative value waits like -1. */
static void
test_wait_odd_timeouts (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autoptr(GIOStream) connection = NULL;
  gboolean timed_out = FALSE;
  FullSnapshot snap;
  int client;

  before (&snap, server);
  g_assert_false (tcp_server_wait_for_new_connection (server, 0, &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  assert_unchanged (&snap, server);

  client = tcp_fault_connect (tcp_server_get_server_port (server));
  g_assert_true (tcp_server_wait_for_new_connection (server, G_MININT, &timed_out, &error2));
  g_assert_no_error (error2);
  g_assert_false (timed_out);
  connection = tcp_server_next_pending_connection (server);
  g_assert_cmpuint (tcp_fault_remote_port (connection), ==, tcp_fault_local_port (client));
  close (client);
}

typedef struct
{
  GIOStream *connection;
  GError    *error;
  gboolean   done;
} AcceptResult;

static void
accept_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  AcceptResult *res = user_data;

  res->connection = tcp_server_accept_finish (TCP_SERVER (object), result, &res->error);
  res->done = TRUE;
}

static gboolean
accept_done (gpointer user_data)
{
  return ((AcceptResult *) user_data)->done;
}

static void
test_accept_async_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  AcceptResult res = { 0 };
  FullSnapshot snap;

  before (&snap, server);
  tcp_server_accept_async (server, NULL, accept_done_cb, &res);
  g_assert_true (tcp_fault_iterate_until (NULL, accept_done, &res, 5000));
  g_assert_null (res.connection);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&res.error);
  assert_unchanged (&snap, server);
}

static void
test_accept_async_cancelled (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AcceptResult res = { 0 };
  FullSnapshot snap;

  g_cancellable_cancel (cancellable);
  before (&snap, server);
  tcp_server_accept_async (server, cancellable, accept_done_cb, &res);
  g_assert_true (tcp_fault_iterate_until (NULL, accept_done, &res, 5000));
  g_assert_null (res.connection);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&res.error);
  assert_unchanged (&snap, server);
}

static void
test_accept_async_bad_cancellable (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  AcceptResult res = { 0 };
  FullSnapshot snap;

  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_CANCELLABLE (cancellable)*");
  tcp_server_accept_async (server, (GCancellable *) wrong, accept_done_cb, &res);
  g_test_assert_expected_messages ();
  tcp_fault_iterate_for (NULL, 20);
  g_assert_false (res.done);
  assert_unchanged (&snap, server);
}

static gboolean
pointer_set (gpointer user_data)
{
  return *(gpointer *) user_data != NULL;
}

static void
dummy_ready_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* accept_finish() with no result, another object's result or another
 * function's result: a critical, and the real result is still there. */
static void
test_accept_finish_bad_result (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(TcpServer) other = tcp_server_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GTask) foreign = NULL;
  g_autoptr(GError) error = NULL;
  FullSnapshot snap;

  tcp_server_accept_async (other, NULL, dummy_ready_cb, &result);
  tcp_fault_iterate_until (NULL, pointer_set, &result, 5000);
  g_assert_nonnull (result);

  foreign = g_task_new (server, NULL, NULL, NULL);
  g_task_set_source_tag (foreign, test_accept_finish_bad_result);
  g_task_return_pointer (foreign, NULL, NULL);

  before (&snap, server);
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_null (tcp_server_accept_finish (server, NULL, &error));
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_null (tcp_server_accept_finish (server, result, &error));
  EXPECT_CRITICAL ("*source_tag*");
  g_assert_null (tcp_server_accept_finish (server, G_ASYNC_RESULT (foreign), &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  assert_unchanged (&snap, server);

  /* The right owner still gets its error out of the result. */
  g_assert_null (tcp_server_accept_finish (other, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
}

static void
count_cb (TcpServer *server,
          gpointer   user_data)
{
  (*(guint *) user_data)++;
}

static void
test_add_pending_bad_connection (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  FullSnapshot snap;
  guint emitted = 0;

  g_signal_connect (server, "pending-connection-available", G_CALLBACK (count_cb), &emitted);
  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_IO_STREAM (connection)*");
  tcp_server_add_pending_connection (server, NULL);
  EXPECT_CRITICAL ("*G_IS_IO_STREAM (connection)*");
  tcp_server_add_pending_connection (server, (GIOStream *) wrong);
  g_test_assert_expected_messages ();
  assert_unchanged (&snap, server);
  g_assert_cmpuint (emitted, ==, 0);
}

/* Calls that are harmless in the "wrong" state: they do nothing, say
 * nothing, and change nothing. */
static void
test_harmless_wrong_state (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(TcpServer) listening = tcp_fault_server_new_listening ();
  FullSnapshot snap;

  before (&snap, server);
  tcp_server_close (server);
  tcp_server_close (server);
  tcp_server_resume_accepting (server);
  g_assert_null (tcp_server_next_pending_connection (server));
  g_assert_false (tcp_server_has_pending_connections (server));
  assert_unchanged (&snap, server);

  before (&snap, listening);
  tcp_server_resume_accepting (listening);
  g_assert_null (tcp_server_next_pending_connection (listening));
  tcp_server_set_proxy (listening, tcp_server_get_proxy (listening));
  tcp_server_set_max_pending_connections (listening,
                                          tcp_server_get_max_pending_connections (listening));
  assert_unchanged (&snap, listening);

  /* Paused twice, resumed once: not paused. */
  tcp_server_pause_accepting (listening);
  tcp_server_pause_accepting (listening);
  g_assert_true (tcp_server_is_paused (listening));
  tcp_server_resume_accepting (listening);
  g_assert_false (tcp_server_is_paused (listening));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  tcp_fault_warm_up ();

  g_test_add_func ("/Tcp/BadInput/unexpected-critical-is-fatal", test_unexpected_critical_is_fatal);
  g_test_add_func ("/Tcp/BadInput/self", test_self_null_or_wrong_type);
  g_test_add_func ("/Tcp/BadInput/max-pending", test_max_pending_out_of_range);
  g_test_add_func ("/Tcp/BadInput/backlog", test_backlog_out_of_range);
  g_test_add_func ("/Tcp/BadInput/properties", test_property_bad_values);
  g_test_add_func ("/Tcp/BadInput/reuse-port", test_reuse_port_non_boolean);
  g_test_add_func ("/Tcp/BadInput/listen/address-type", test_listen_wrong_address_type);
  g_test_add_func ("/Tcp/BadInput/error-already-set", test_error_already_set);
  g_test_add_func ("/Tcp/BadInput/listen/twice", test_listen_twice);
  g_test_add_func ("/Tcp/BadInput/listen/unavailable", test_listen_unavailable);
  g_test_add_func ("/Tcp/BadInput/listen-on/host", test_listen_on_bad_host);
  g_test_add_func ("/Tcp/BadInput/listen/proxy", test_proxy_unsupported);
  for (guint i = 0; i < G_N_ELEMENTS (adopt_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/Tcp/BadInput/adopt/%s", adopt_cases[i].name);

      g_test_add_data_func (path, &adopt_cases[i], test_adopt_bad_fd);
    }
  g_test_add_func ("/Tcp/BadInput/adopt/while-listening", test_adopt_while_listening);
  g_test_add_func ("/Tcp/BadInput/wait/not-listening", test_wait_not_listening);
  g_test_add_func ("/Tcp/BadInput/wait/timeouts", test_wait_odd_timeouts);
  g_test_add_func ("/Tcp/BadInput/accept-async/not-listening", test_accept_async_not_listening);
  g_test_add_func ("/Tcp/BadInput/accept-async/cancelled", test_accept_async_cancelled);
  g_test_add_func ("/Tcp/BadInput/accept-async/bad-cancellable", test_accept_async_bad_cancellable);
  g_test_add_func ("/Tcp/BadInput/accept-finish/bad-result", test_accept_finish_bad_result);
  g_test_add_func ("/Tcp/BadInput/add-pending", test_add_pending_bad_connection);
  g_test_add_func ("/Tcp/BadInput/wrong-state", test_harmless_wrong_state);

  return g_test_run ();
}

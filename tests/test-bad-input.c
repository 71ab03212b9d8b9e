/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-bad-input.c: every public TcpServer and TcpTlsServer entry point fed bad input
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

#include <glib/gstdio.h>

#include "tcp-fault-util.h"
#include "tcp-test-util.h"

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
  guint         proxy_timeout;
  guint         n_pending;
  gboolean      has_pending;
  guint         n_fds;
  gboolean      no_delay;
  gboolean      keepalive;
  guint         n_connections;
  guint         max_connections;
  guint         max_per_peer;
  guint         rate_per_peer;
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
  snap->proxy_timeout = tcp_server_get_proxy_timeout (server);
  snap->n_pending = tcp_server_get_n_pending_connections (server);
  snap->has_pending = tcp_server_has_pending_connections (server);
  snap->n_fds = tcp_fault_count_fds ();
  snap->no_delay = tcp_server_get_no_delay (server);
  snap->keepalive = tcp_server_get_keepalive (server);
  snap->n_connections = tcp_server_get_n_connections (server);
  snap->max_connections = tcp_server_get_max_connections (server);
  snap->max_per_peer = tcp_server_get_max_connections_per_peer (server);
  snap->rate_per_peer = tcp_server_get_max_connection_rate_per_peer (server);
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
  g_assert_cmpuint (a->proxy_timeout, ==, b->proxy_timeout);
  g_assert_cmpuint (a->n_pending, ==, b->n_pending);
  g_assert_cmpint (a->has_pending, ==, b->has_pending);
  g_assert_cmpuint (a->n_fds, ==, b->n_fds);
  g_assert_cmpint (a->no_delay, ==, b->no_delay);
  g_assert_cmpint (a->keepalive, ==, b->keepalive);
  g_assert_cmpuint (a->n_connections, ==, b->n_connections);
  g_assert_cmpuint (a->max_connections, ==, b->max_connections);
  g_assert_cmpuint (a->max_per_peer, ==, b->max_per_peer);
  g_assert_cmpuint (a->rate_per_peer, ==, b->rate_per_peer);
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

/* GObject's own refusals of a property value (out of range, of the wrong
 * type, read-only, no such property) are WARNINGs in GLib 2.74 and
 * CRITICALs from 2.75.0 on (GLib commit 0ffe86a1, "Replace most GObject
 * warnings with criticals"). The level is asked of the GLib the test runs
 * against, not the one it was built with. */
static GLogLevelFlags
gobject_refusal_level (void)
{
  return glib_check_version (2, 75, 0) == NULL ? G_LOG_LEVEL_CRITICAL : G_LOG_LEVEL_WARNING;
}

#define EXPECT_GOBJECT_REFUSAL(pattern) \
  g_test_expect_message ("GLib-GObject", gobject_refusal_level (), pattern)

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
      g_assert_cmpuint (tcp_server_get_proxy_timeout (self), ==, 5000);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_proxy_timeout (self, 1);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_listen_async (self, NULL, 0, NULL, NULL, NULL);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_listen_finish (self, NULL, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_accept_async (self, NULL, NULL, NULL);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_accept_finish (self, NULL, &error));
      /* 1.1 */
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_listen_range (self, NULL, 1, 2, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_listen_activated (self, NULL, &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_true (tcp_server_get_no_delay (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_no_delay (self, FALSE);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_get_keepalive (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_keepalive (self, TRUE);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_null (tcp_server_get_connections (self));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_n_connections (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_max_connections (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_max_connections (self, 1);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_max_connections_per_peer (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_max_connections_per_peer (self, 1);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_cmpuint (tcp_server_get_max_connection_rate_per_peer (self), ==, 0);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_set_max_connection_rate_per_peer (self, 1);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_allow_peers (self, "10.0.0.0/8", &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_deny_peers (self, "10.0.0.0/8", &error));
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_clear_peer_rules (self);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      tcp_server_shutdown_async (self, 0, NULL, NULL, NULL);
      EXPECT_CRITICAL ("*TCP_IS_SERVER*");
      g_assert_false (tcp_server_shutdown_finish (self, NULL, NULL, &error));
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

  EXPECT_GOBJECT_REFUSAL ("*value \"0\" of type 'gint' is invalid or out of range*"
                          "max-pending-connections*");
  g_object_set (server, "max-pending-connections", 0, NULL);
  EXPECT_GOBJECT_REFUSAL ("*value \"-5\" of type 'gint' is invalid or out of range*"
                          "listen-backlog-size*");
  g_object_set (server, "listen-backlog-size", -5, NULL);

  g_value_init (&string_value, G_TYPE_STRING);
  g_value_set_static_string (&string_value, "12");
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'max-pending-connections' of type 'gint' "
                          "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "max-pending-connections", &string_value);

  g_value_init (&object_value, G_TYPE_OBJECT);
  g_value_take_object (&object_value, g_object_new (G_TYPE_OBJECT, NULL));
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'proxy' of type 'gchararray' "
                          "from value of type 'GObject'*");
  g_object_set_property (G_OBJECT (server), "proxy", &object_value);

  EXPECT_GOBJECT_REFUSAL ("*property 'listening' of object class 'TcpServer' is not writable*");
  g_object_set (server, "listening", FALSE, NULL);
  EXPECT_GOBJECT_REFUSAL ("*property 'server-port' of object class 'TcpServer' is not writable*");
  g_object_set (server, "server-port", 1, NULL);
  EXPECT_GOBJECT_REFUSAL ("*object class 'TcpServer' has no property named 'no-such-thing'*");
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
    "", "localhost.localdomain", "not an address", "127.0.0.1:80", "[::1]", "256.0.0.1",
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

/* 0 ms polls once and times out, which becomes the server's error (Qt's
 * SocketTimeoutError); any negative value waits like -1. */
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
  assert_unchanged_but_error (&snap, server, error);

  client = tcp_fault_connect (tcp_server_get_server_port (server));
  g_assert_true (tcp_server_wait_for_new_connection (server, G_MININT, &timed_out, &error2));
  g_assert_no_error (error2);
  g_assert_false (timed_out);
  connection = tcp_server_next_pending_connection (server);
  g_assert_cmpuint (tcp_fault_remote_port (connection), ==, tcp_fault_local_port (client));
  close (client);
}

static void
test_accept_async_not_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  TcpTestAcceptResult res = { 0 };
  FullSnapshot snap;

  before (&snap, server);
  tcp_server_accept_async (server, NULL, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, 5000));
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
  TcpTestAcceptResult res = { 0 };
  FullSnapshot snap;

  g_cancellable_cancel (cancellable);
  before (&snap, server);
  tcp_server_accept_async (server, cancellable, tcp_test_accept_result_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 1, 5000));
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
  TcpTestAcceptResult res = { 0 };
  FullSnapshot snap;

  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_CANCELLABLE (cancellable)*");
  tcp_server_accept_async (server, (GCancellable *) wrong, tcp_test_accept_result_cb, &res);
  g_test_assert_expected_messages ();
  tcp_test_run_for (NULL, 20);
  g_assert_cmpuint (res.n_done, ==, 0);
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
  tcp_test_run_until (NULL, pointer_set, &result, 5000);
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

/* Proxy listening: listen_async(), listen_finish(), proxy-timeout and
 * malformed socks5:// URIs. */

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} ListenResult;

static void
listen_done_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  ListenResult *res = user_data;

  res->ok = tcp_server_listen_finish (TCP_SERVER (object), result, &res->error);
  res->done = TRUE;
}

static gboolean
listen_done (gpointer user_data)
{
  return ((ListenResult *) user_data)->done;
}

static gchar *
make_proxy_uri (const gchar *user,
                const gchar *password)
{
  return g_strdup_printf ("socks5://%s:%s@127.0.0.1:1080", user, password);
}

typedef enum
{
  THROUGH_LISTEN,
  THROUGH_LISTEN_ON,
  THROUGH_LISTEN_ASYNC,
  N_THROUGH
} Through;

/* Listens on 0.0.0.0 (not loopback, so through the proxy) in one of the
 * three ways; returns what the caller gets. */
static gboolean
listen_any_through (TcpServer  *server,
                    Through     through,
                    GError    **error)
{
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  ListenResult res = { 0 };

  switch (through)
    {
    case THROUGH_LISTEN:
      return tcp_server_listen (server, any, 0, error);
    case THROUGH_LISTEN_ON:
      return tcp_server_listen_on (server, "0.0.0.0", 0, error);
    case THROUGH_LISTEN_ASYNC:
    case N_THROUGH:
    default:
      tcp_server_listen_async (server, any, 0, NULL, listen_done_cb, &res);
      g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
      g_assert_true (res.ok == (res.error == NULL));
      g_propagate_error (error, res.error);
      return res.ok;
    }
}

#define CREDENTIALS "SOCKS5 user names must have 1 to 255 bytes and passwords at most 255"

/* A socks5:// URI the server cannot use: INVALID_ARGUMENT from listen(),
 * listen_on() and listen_async() alike, before anything is opened, and the
 * message never quotes the URI (it may hold a password). */
static void
test_proxy_malformed (void)
{
  g_autofree gchar *long_user = g_strnfill (256, 'u');
  g_autofree gchar *long_password = g_strnfill (256, 'p');
  g_autofree gchar *max_user = g_strnfill (255, 'u');
  g_autofree gchar *uri_long_user = make_proxy_uri (long_user, "pw");
  g_autofree gchar *uri_long_password = make_proxy_uri ("alice", long_password);
  g_autofree gchar *uri_both_long = make_proxy_uri (long_user, long_password);
  g_autofree gchar *uri_max_user = make_proxy_uri (max_user, long_password);
  const struct {
    const gchar *uri;
    const gchar *message_part;
  } cases[] = {
    { "socks5://", "not of the form" },
    { "socks5://:1080", "not of the form" },
    { "socks5:///1080", "not of the form" },
    { "socks5://user:pw@:1080", "not of the form" },
    { "socks5://127.0.0.1:0", "port 0" },
    { "socks5://127.0.0.1:65536", "not of the form" },
    { "socks5://127.0.0.1:99999999999", "not of the form" },
    { "socks5://127.0.0.1:-1", "not of the form" },
    { "socks5://127.0.0.1:http", "not of the form" },
    { "socks5://[::1:1080", "not of the form" },
    { "socks5://proxy host:1080", "not of the form" },
    { "socks5://:pw@127.0.0.1:1080", CREDENTIALS },
    { uri_long_user, CREDENTIALS },
    { uri_long_password, CREDENTIALS },
    { uri_both_long, CREDENTIALS },
    { uri_max_user, CREDENTIALS },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      for (Through through = 0; through < N_THROUGH; through++)
        {
          g_autoptr(TcpServer) server = tcp_server_new ();
          g_autoptr(GError) error = NULL;
          FullSnapshot snap;

          g_test_message ("proxy %s, way %d", cases[i].uri, through);
          tcp_server_set_proxy (server, cases[i].uri);
          tcp_server_set_proxy_timeout (server, 100);
          before (&snap, server);
          g_assert_false (listen_any_through (server, through, &error));
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_true (g_str_has_prefix (error->message, "Could not listen through"));
          g_assert_nonnull (strstr (error->message, cases[i].message_part));
          g_assert_null (strstr (error->message, "pw"));
          g_assert_null (strstr (error->message, "ppppp"));
          g_assert_null (strstr (error->message, "uuuuu"));
          assert_unchanged_but_error (&snap, server, error);
        }
    }
}

/* Any proxy-timeout is a valid one: 0 waits for ever, G_MAXUINT (what -1
 * becomes) waits 49 days. Neither is checked against anything. */
static void
test_proxy_timeout_values (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_auto(GValue) string_value = G_VALUE_INIT;
  guint values[] = { 0, 1, G_MAXUINT, (guint) -1 };
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      guint through_property;

      tcp_server_set_proxy_timeout (server, values[i]);
      g_assert_cmpuint (tcp_server_get_proxy_timeout (server), ==, values[i]);
      g_object_set (server, "proxy-timeout", 7, NULL);
      g_object_set (server, "proxy-timeout", values[i], NULL);
      g_object_get (server, "proxy-timeout", &through_property, NULL);
      g_assert_cmpuint (through_property, ==, values[i]);
    }

  /* A value of the wrong type is GObject's to refuse. */
  tcp_server_set_proxy_timeout (server, 250);
  g_value_init (&string_value, G_TYPE_STRING);
  g_value_set_static_string (&string_value, "100");
  before (&snap, server);
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'proxy-timeout' of type 'guint' "
                          "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "proxy-timeout", &string_value);
  g_test_assert_expected_messages ();
  assert_unchanged (&snap, server);
  g_assert_cmpuint (tcp_server_get_proxy_timeout (server), ==, 250);
}

/* A proxy that takes connections into its backlog and never answers: an
 * exchange with it stays in progress until the server closes. */
static GSocket *
silent_proxy_new (guint16 *port)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  return g_steal_pointer (&socket);
}

static gboolean
no_connections (gpointer user_data)
{
  return tcp_server_get_n_connections (user_data) == 0;
}

/* listen_async() while listening (directly, or with an exchange with the
 * proxy in progress): the callback gets FAILED, recorded as the last error,
 * and the first listener is untouched. */
static void
test_listen_async_twice (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  g_autoptr(TcpServer) proxied = tcp_server_new ();
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocket) proxy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *uri = NULL;
  GInetAddress *addresses[] = { NULL, any, loopback };
  ListenResult first = { 0 };
  guint16 proxy_port;
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      guint16 port = tcp_server_get_server_port (server);
      ListenResult res = { 0 };
      int client;

      before (&snap, server);
      tcp_server_listen_async (server, addresses[i], i == 2 ? port : 0, NULL,
                               listen_done_cb, &res);
      g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
      g_assert_false (res.ok);
      g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_assert_nonnull (strstr (res.error->message, "already listening on 127.0.0.1:"));
      assert_unchanged_but_error (&snap, server, res.error);
      g_clear_error (&res.error);

      /* The first listener still accepts. */
      client = tcp_fault_connect (port);
      g_assert_cmpint (client, >=, 0);
      g_assert_true (tcp_server_wait_for_new_connection (server, 5000, NULL, &error));
      g_assert_no_error (error);
      g_object_unref (tcp_server_next_pending_connection (server));
      close (client);
      /* The connection's end reaches n-connections when the context runs:
       * let it, before the next snapshot. */
      g_assert_true (tcp_test_run_until (NULL, no_connections, server, 5000));
    }

  /* Through a proxy, before it has answered. */
  proxy = silent_proxy_new (&proxy_port);
  uri = g_strdup_printf ("socks5://127.0.0.1:%u", proxy_port);
  tcp_server_set_proxy (proxied, uri);
  tcp_server_set_proxy_timeout (proxied, 0);
  tcp_server_listen_async (proxied, any, 0, NULL, listen_done_cb, &first);
  g_assert_false (tcp_server_is_listening (proxied));

  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      ListenResult res = { 0 };
      GError *recorded;

      /* Compared before the loop runs: the exchange itself opens a socket. */
      before (&snap, proxied);
      tcp_server_listen_async (proxied, addresses[i], 0, NULL, listen_done_cb, &res);
      recorded = g_error_new_literal (G_IO_ERROR, tcp_server_get_server_error (proxied),
                                      tcp_server_get_error_string (proxied));
      assert_unchanged_but_error (&snap, proxied, recorded);
      g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
      g_assert_false (res.ok);
      g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_assert_cmpstr (res.error->message, ==, recorded->message);
      g_assert_nonnull (strstr (res.error->message, "already listening through SOCKS5 proxy"));
      g_clear_error (&res.error);
      g_clear_error (&recorded);
    }

  /* The exchange is still in progress (the proxy never answers), and
   * close() ends it. */
  g_assert_false (tcp_server_is_listening (proxied));
  g_assert_cmpuint (tcp_server_get_server_port (proxied), ==, 0);
  g_assert_false (listen_done (&first));
  tcp_server_close (proxied);
  g_assert_true (tcp_test_run_until (NULL, listen_done, &first, 5000));
  g_assert_error (first.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&first.error);
}

/* A cancellable already cancelled: CANCELLED, and nothing at all happens
 * (no socket, no recorded error). */
static void
test_listen_async_cancelled (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(TcpServer) proxied = tcp_server_new ();
  g_autoptr(TcpServer) listening = tcp_fault_server_new_listening ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  TcpServer *servers[] = { server, proxied, listening };

  tcp_server_set_proxy (proxied, "socks5://127.0.0.1:1");
  g_cancellable_cancel (cancellable);

  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    {
      ListenResult res = { 0 };
      FullSnapshot snap;

      before (&snap, servers[i]);
      tcp_server_listen_async (servers[i], any, 0, cancellable, listen_done_cb, &res);
      g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
      g_assert_false (res.ok);
      g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&res.error);
      assert_unchanged (&snap, servers[i]);
    }
}

/* An address or cancellable of the wrong type: a critical, and the
 * callback never runs. */
static void
test_listen_async_bad_arguments (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  ListenResult res = { 0 };
  FullSnapshot snap;

  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_INET_ADDRESS (address)*");
  tcp_server_listen_async (server, (GInetAddress *) wrong, 0, NULL, listen_done_cb, &res);
  EXPECT_CRITICAL ("*G_IS_CANCELLABLE (cancellable)*");
  tcp_server_listen_async (server, NULL, 0, (GCancellable *) wrong, listen_done_cb, &res);
  g_test_assert_expected_messages ();
  tcp_test_run_for (NULL, 20);
  g_assert_false (res.done);
  assert_unchanged (&snap, server);
}

static void
result_ready_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
result_set (gpointer user_data)
{
  return *(GAsyncResult **) user_data != NULL;
}

/* listen_finish() with no result, another server's result, or another
 * function's result: a critical, and the owner can still finish it. */
static void
test_listen_finish_bad_result (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(TcpServer) other = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) others = NULL;
  g_autoptr(GAsyncResult) accept_result = NULL;
  g_autoptr(GTask) foreign = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) connection = NULL;
  FullSnapshot snap;

  g_cancellable_cancel (cancellable);
  tcp_server_listen_async (other, NULL, 0, cancellable, result_ready_cb, &others);
  g_assert_true (tcp_test_run_until (NULL, result_set, &others, 5000));
  tcp_server_accept_async (server, NULL, result_ready_cb, &accept_result);
  g_assert_true (tcp_test_run_until (NULL, result_set, &accept_result, 5000));

  foreign = g_task_new (server, NULL, NULL, NULL);
  g_task_set_source_tag (foreign, test_listen_finish_bad_result);
  g_task_return_boolean (foreign, TRUE);

  before (&snap, server);
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_false (tcp_server_listen_finish (server, NULL, &error));
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_false (tcp_server_listen_finish (server, others, &error));
  EXPECT_CRITICAL ("*source_tag*");
  g_assert_false (tcp_server_listen_finish (server, G_ASYNC_RESULT (foreign), &error));
  EXPECT_CRITICAL ("*source_tag*");
  g_assert_false (tcp_server_listen_finish (server, accept_result, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  assert_unchanged (&snap, server);

  /* The right owners still get their errors out of the results. */
  g_assert_false (tcp_server_listen_finish (other, others, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  connection = tcp_server_accept_finish (server, accept_result, &error);
  g_assert_null (connection);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
}

/* listen_finish() and accept_finish() with *error already set: a critical,
 * the old error untouched, and the result can still be finished. */
static void
test_finish_error_already_set (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) listen_result = NULL;
  g_autoptr(GAsyncResult) accept_result = NULL;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY, "earlier");
  g_autoptr(GError) fresh = NULL;
  FullSnapshot snap;

  g_cancellable_cancel (cancellable);
  tcp_server_listen_async (server, NULL, 0, cancellable, result_ready_cb, &listen_result);
  g_assert_true (tcp_test_run_until (NULL, result_set, &listen_result, 5000));
  tcp_server_accept_async (server, NULL, result_ready_cb, &accept_result);
  g_assert_true (tcp_test_run_until (NULL, result_set, &accept_result, 5000));

  before (&snap, server);
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_false (tcp_server_listen_finish (server, listen_result, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_null (tcp_server_accept_finish (server, accept_result, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "earlier");
  assert_unchanged (&snap, server);

  g_assert_false (tcp_server_listen_finish (server, listen_result, &fresh));
  g_assert_error (fresh, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&fresh);
  g_assert_null (tcp_server_accept_finish (server, accept_result, &fresh));
  g_assert_error (fresh, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
}

/* TcpTlsServer. The certificates come fresh from make-test-certs.sh. */

static gchar *cert_dir;

static gchar *
cert_path (const gchar *name)
{
  return g_build_filename (cert_dir, name, NULL);
}

/* Everything observable about a TLS server on top of the TcpServer part. */
typedef struct
{
  FullSnapshot            server;
  GTlsCertificate        *certificate;
  GTlsAuthenticationMode  authentication_mode;
  GTlsDatabase           *database;
  guint                   handshake_timeout;
  guint                   n_handshakes;
} TlsSnapshot;

static void
tls_before (TlsSnapshot  *snap,
            TcpTlsServer *server)
{
  before (&snap->server, TCP_SERVER (server));
  snap->certificate = tcp_tls_server_get_certificate (server);
  snap->authentication_mode = tcp_tls_server_get_authentication_mode (server);
  snap->database = tcp_tls_server_get_database (server);
  snap->handshake_timeout = tcp_tls_server_get_handshake_timeout (server);
  snap->n_handshakes = tcp_tls_server_get_n_handshakes (server);
}

static void
tls_assert_same_tls_state (const TlsSnapshot *snap,
                           TcpTlsServer      *server)
{
  g_assert_true (tcp_tls_server_get_certificate (server) == snap->certificate);
  g_assert_cmpint (tcp_tls_server_get_authentication_mode (server), ==,
                   snap->authentication_mode);
  g_assert_true (tcp_tls_server_get_database (server) == snap->database);
  g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (server), ==,
                    snap->handshake_timeout);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, snap->n_handshakes);
}

static void
tls_assert_unchanged (TlsSnapshot  *snap,
                      TcpTlsServer *server)
{
  tls_assert_same_tls_state (snap, server);
  assert_unchanged (&snap->server, TCP_SERVER (server));
}

static void
tls_assert_unchanged_but_error (TlsSnapshot  *snap,
                                TcpTlsServer *server,
                                const GError *error)
{
  tls_assert_same_tls_state (snap, server);
  assert_unchanged_but_error (&snap->server, TCP_SERVER (server), error);
}

/* A server with the test certificate and a few non-default settings, so
 * that a change back to a default would show. */
static TcpTlsServer *
tls_server_new (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autofree gchar *key = cert_path ("server.key");
  g_autofree gchar *ca = cert_path ("ca.crt");
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  TcpTlsServer *server;

  certificate = g_tls_certificate_new_from_files (crt, key, &error);
  g_assert_no_error (error);
  database = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);

  server = tcp_tls_server_new (certificate);
  tcp_tls_server_set_database (server, database);
  tcp_tls_server_set_authentication_mode (server, G_TLS_AUTHENTICATION_REQUESTED);
  tcp_tls_server_set_handshake_timeout (server, 1234);

  return server;
}

/* Every tcp_tls_server_* method with NULL, a plain TcpServer and a plain
 * GObject as self: a critical and the fallback value. */
static void
test_tls_self (void)
{
  g_autoptr(TcpServer) plain = tcp_server_new ();
  g_autoptr(TcpTlsServer) server = tls_server_new ();
  g_autoptr(GTlsCertificate) certificate = NULL;
  TcpTlsServer *bad[] = {
    NULL, (TcpTlsServer *) plain, (TcpTlsServer *) not_a_server (),
  };
  FullSnapshot plain_snap;
  TlsSnapshot snap;

  certificate = g_object_ref (tcp_tls_server_get_certificate (server));
  before (&plain_snap, plain);
  tls_before (&snap, server);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      TcpTlsServer *self = bad[i];

      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      g_assert_null (tcp_tls_server_get_certificate (self));
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      tcp_tls_server_set_certificate (self, certificate);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      g_assert_cmpint (tcp_tls_server_get_authentication_mode (self), ==,
                       G_TLS_AUTHENTICATION_NONE);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      tcp_tls_server_set_authentication_mode (self, G_TLS_AUTHENTICATION_REQUIRED);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      g_assert_null (tcp_tls_server_get_database (self));
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      tcp_tls_server_set_database (self, NULL);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (self), ==, 5000);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      tcp_tls_server_set_handshake_timeout (self, 1);
      EXPECT_CRITICAL ("*TCP_IS_TLS_SERVER (self)*");
      g_assert_cmpuint (tcp_tls_server_get_n_handshakes (self), ==, 0);
      g_test_assert_expected_messages ();
    }

  tls_assert_unchanged (&snap, server);
  assert_unchanged (&plain_snap, plain);
}

/* The constructors and the loader with NULL file names, a GError already
 * set or a certificate of the wrong type: a critical and NULL. */
static void
test_tls_constructors (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autofree gchar *key = cert_path ("server.key");
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) earlier = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY, "earlier");
  guint n_fds = tcp_fault_count_fds ();

  EXPECT_CRITICAL ("*certificate == NULL || G_IS_TLS_CERTIFICATE (certificate)*");
  g_assert_null (tcp_tls_server_new ((GTlsCertificate *) wrong));

  EXPECT_CRITICAL ("*cert_file != NULL*");
  g_assert_null (tcp_tls_server_new_from_files (NULL, key, &error));
  EXPECT_CRITICAL ("*key_file != NULL*");
  g_assert_null (tcp_tls_server_new_from_files (crt, NULL, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_null (tcp_tls_server_new_from_files (crt, key, &earlier));

  EXPECT_CRITICAL ("*cert_file != NULL*");
  g_assert_null (tcp_tls_server_load_certificate (NULL, key, &error));
  EXPECT_CRITICAL ("*key_file != NULL*");
  g_assert_null (tcp_tls_server_load_certificate (crt, NULL, &error));
  EXPECT_CRITICAL ("*error == NULL || *error == NULL*");
  g_assert_null (tcp_tls_server_load_certificate (crt, key, &earlier));
  g_test_assert_expected_messages ();

  g_assert_no_error (error);
  g_assert_error (earlier, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (earlier->message, ==, "earlier");
  g_assert_cmpuint (tcp_fault_count_fds (), ==, n_fds);
}

/* The key check's handshake runs in threads of the TLS backend, which free
 * their main contexts (an eventfd each) a moment after the handshake has
 * returned: wait for the count to come back, which a leak never does. */
static void
assert_fd_count_settles (guint expected)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (tcp_fault_count_fds () != expected && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (tcp_fault_count_fds (), ==, expected);
}

static gchar *
write_temp_file (const gchar *name,
                 const gchar *contents)
{
  gchar *path = cert_path (name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Files that do not hold a usable certificate and key: a GError naming
 * both files, from load_certificate() and new_from_files() alike, and no
 * descriptor left open. */
static void
test_tls_load_bad_files (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autofree gchar *key = cert_path ("server.key");
  g_autofree gchar *ca = cert_path ("ca.crt");
  g_autofree gchar *client_key = cert_path ("client.key");
  g_autofree gchar *other_key = cert_path ("other.key");
  g_autofree gchar *missing = cert_path ("missing.pem");
  g_autofree gchar *non_utf8 = cert_path ("missing-\xff\xfe.pem");
  g_autofree gchar *empty = write_temp_file ("empty.pem", "");
  g_autofree gchar *garbage = write_temp_file ("garbage.pem", "not PEM at all\n");
  g_autofree gchar *truncated = NULL;
  g_autofree gchar *crt_contents = NULL;
  const struct {
    const gchar  *cert_file;
    const gchar  *key_file;
    GIOErrorEnum  code;
    const gchar  *message_part;
  } cases[] = {
    { missing, key, G_IO_ERROR_NOT_FOUND, NULL },
    { crt, missing, G_IO_ERROR_NOT_FOUND, NULL },
    { "", key, G_IO_ERROR_NOT_FOUND, NULL },
    { crt, "", G_IO_ERROR_NOT_FOUND, NULL },
    { non_utf8, key, G_IO_ERROR_NOT_FOUND, NULL },
    { cert_dir, key, G_IO_ERROR_IS_DIRECTORY, NULL },
    { empty, key, G_IO_ERROR_INVALID_DATA, NULL },
    { crt, empty, G_IO_ERROR_INVALID_DATA, NULL },
    { garbage, key, G_IO_ERROR_INVALID_DATA, NULL },
    { crt, garbage, G_IO_ERROR_INVALID_DATA, NULL },
    { key, crt, G_IO_ERROR_INVALID_DATA, NULL },
    { crt, crt, G_IO_ERROR_INVALID_DATA, NULL },
    { key, key, G_IO_ERROR_INVALID_DATA, NULL },
    { crt, ca, G_IO_ERROR_INVALID_DATA, NULL },
    { crt, other_key, G_IO_ERROR_INVALID_DATA, "does not match" },
    { crt, client_key, G_IO_ERROR_INVALID_DATA, "does not match" },
  };

  /* A certificate cut in half. */
  g_assert_true (g_file_get_contents (crt, &crt_contents, NULL, NULL));
  crt_contents[strlen (crt_contents) / 2] = '\0';
  truncated = write_temp_file ("truncated.crt", crt_contents);

  for (guint i = 0; i <= G_N_ELEMENTS (cases); i++)
    {
      const gchar *cert_file = i < G_N_ELEMENTS (cases) ? cases[i].cert_file : truncated;
      const gchar *key_file = i < G_N_ELEMENTS (cases) ? cases[i].key_file : key;
      GIOErrorEnum code = i < G_N_ELEMENTS (cases) ? cases[i].code : G_IO_ERROR_INVALID_DATA;
      const gchar *message_part = i < G_N_ELEMENTS (cases) ? cases[i].message_part : NULL;
      g_autofree gchar *cert_name = g_filename_display_name (cert_file);
      g_autofree gchar *key_name = g_filename_display_name (key_file);
      g_autofree gchar *prefix = g_strdup_printf ("Could not load the TLS certificate “%s” "
                                                  "with the key “%s”: ",
                                                  cert_name, key_name);
      guint n_fds = tcp_fault_count_fds ();

      for (guint way = 0; way < 2; way++)
        {
          g_autoptr(GTlsCertificate) certificate = NULL;
          g_autoptr(TcpTlsServer) server = NULL;
          g_autoptr(GError) error = NULL;

          g_test_message ("“%s” with “%s”, way %u", cert_name, key_name, way);
          if (way == 0)
            {
              certificate = tcp_tls_server_load_certificate (cert_file, key_file, &error);
              g_assert_null (certificate);
            }
          else
            {
              server = tcp_tls_server_new_from_files (cert_file, key_file, &error);
              g_assert_null (server);
            }
          g_test_message ("%s", error != NULL ? error->message : "(no error)");
          g_assert_error (error, G_IO_ERROR, code);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          g_assert_true (g_str_has_prefix (error->message, prefix));
          if (message_part != NULL)
            g_assert_nonnull (strstr (error->message, message_part));
          assert_fd_count_settles (n_fds);
        }
    }
}

/* Setters with values of the wrong type or out of range: a critical, and
 * the old value stays. */
static void
test_tls_setters (void)
{
  g_autoptr(TcpTlsServer) server = tls_server_new ();
  g_autoptr(GObject) wrong = g_object_new (G_TYPE_OBJECT, NULL);
  gint bad_modes[] = { -1, G_TLS_AUTHENTICATION_REQUIRED + 1, 42, G_MININT, G_MAXINT };
  TlsSnapshot snap;

  tls_before (&snap, server);
  EXPECT_CRITICAL ("*certificate == NULL || G_IS_TLS_CERTIFICATE (certificate)*");
  tcp_tls_server_set_certificate (server, (GTlsCertificate *) wrong);
  EXPECT_CRITICAL ("*database == NULL || G_IS_TLS_DATABASE (database)*");
  tcp_tls_server_set_database (server, (GTlsDatabase *) wrong);
  /* A certificate is an object, but not a database. */
  EXPECT_CRITICAL ("*database == NULL || G_IS_TLS_DATABASE (database)*");
  tcp_tls_server_set_database (server, (GTlsDatabase *) tcp_tls_server_get_certificate (server));
  for (guint i = 0; i < G_N_ELEMENTS (bad_modes); i++)
    {
      EXPECT_CRITICAL ("*mode == G_TLS_AUTHENTICATION_NONE*");
      tcp_tls_server_set_authentication_mode (server, (GTlsAuthenticationMode) bad_modes[i]);
    }
  g_test_assert_expected_messages ();
  tls_assert_unchanged (&snap, server);

  /* Every handshake timeout is valid: 0 is no limit, G_MAXUINT (what -1
   * becomes) 49 days. */
  tcp_tls_server_set_handshake_timeout (server, 0);
  g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (server), ==, 0);
  tcp_tls_server_set_handshake_timeout (server, (guint) -1);
  g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (server), ==, G_MAXUINT);
}

/* The TLS properties through GObject: GObject's own checks refuse them
 * before libtcp sees them. */
static void
test_tls_properties (void)
{
  g_autoptr(TcpTlsServer) server = tls_server_new ();
  g_auto(GValue) string_value = G_VALUE_INIT;
  g_auto(GValue) object_value = G_VALUE_INIT;
  g_auto(GValue) int_value = G_VALUE_INIT;
  TlsSnapshot snap;

  tls_before (&snap, server);

  EXPECT_GOBJECT_REFUSAL ("*value \"((GTlsAuthenticationMode) 7)\" of type "
                          "'GTlsAuthenticationMode' is invalid or out of range*"
                          "authentication-mode*");
  g_object_set (server, "authentication-mode", 7, NULL);

  g_value_init (&string_value, G_TYPE_STRING);
  g_value_set_static_string (&string_value, "100");
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'certificate' of type 'GTlsCertificate' "
                          "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "certificate", &string_value);
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'database' of type 'GTlsDatabase' "
                          "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "database", &string_value);
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'handshake-timeout' of type 'guint' "
                          "from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "handshake-timeout", &string_value);
  EXPECT_GOBJECT_REFUSAL ("*unable to set property 'authentication-mode' of type "
                          "'GTlsAuthenticationMode' from value of type 'gchararray'*");
  g_object_set_property (G_OBJECT (server), "authentication-mode", &string_value);
  EXPECT_GOBJECT_REFUSAL ("*object class 'TcpTlsServer' has no property named 'private-key'*");
  g_object_set (server, "private-key", NULL, NULL);
  g_test_assert_expected_messages ();

  tls_assert_unchanged (&snap, server);

  /* An object of another class in a GValue of type GObject: GObject
   * converts it to NULL without a word, which unsets the certificate or the
   * database (GObject's doing; libtcp only sees NULL). */
  g_value_init (&object_value, G_TYPE_OBJECT);
  g_value_take_object (&object_value, g_object_new (G_TYPE_OBJECT, NULL));
  g_object_set_property (G_OBJECT (server), "certificate", &object_value);
  g_assert_null (tcp_tls_server_get_certificate (server));
  g_object_set_property (G_OBJECT (server), "database", &object_value);
  g_assert_null (tcp_tls_server_get_database (server));

  /* A negative int converts to a huge guint, which is valid. */
  g_value_init (&int_value, G_TYPE_INT);
  g_value_set_int (&int_value, -1);
  g_object_set_property (G_OBJECT (server), "handshake-timeout", &int_value);
  g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (server), ==, G_MAXUINT);
}

/* Listening without a certificate, or with one that has no private key:
 * INVALID_ARGUMENT from every way of listening, recorded as the last error;
 * an adopted descriptor stays the caller's. */
static void
test_tls_listen_without_key (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autoptr(GTlsCertificate) bare = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TcpServer) donor = tcp_fault_server_new_listening ();

  bare = g_tls_certificate_new_from_file (crt, &error);
  g_assert_no_error (error);

  for (guint with_cert = 0; with_cert < 2; with_cert++)
    {
      const gchar *message = with_cert ? "the certificate has no private key"
                                       : "no certificate is set";

      for (guint way = 0; way < 4; way++)
        {
          g_autoptr(TcpTlsServer) server = tls_server_new ();
          g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
          int fd = -1;
          TlsSnapshot snap;
          gboolean ok;

          tcp_tls_server_set_certificate (server, with_cert ? bare : NULL);
          if (way == 3)
            {
              fd = dup (tcp_server_get_socket_descriptor (donor));
              g_assert_cmpint (fd, >=, 0);
            }

          tls_before (&snap, server);
          if (way == 0)
            {
              ok = tcp_server_listen (TCP_SERVER (server), loopback, 0, &error);
            }
          else if (way == 1)
            {
              ok = tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error);
            }
          else if (way == 2)
            {
              ListenResult res = { 0 };

              tcp_server_listen_async (TCP_SERVER (server), loopback, 0, NULL,
                                       listen_done_cb, &res);
              g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
              ok = res.ok;
              error = res.error;
            }
          else
            {
              ok = tcp_server_set_socket_descriptor (TCP_SERVER (server), fd, &error);
            }

          g_assert_false (ok);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_cmpstr (error->message, ==,
                           (with_cert ? "Could not listen for TLS connections: the "
                                        "certificate has no private key"
                                      : "Could not listen for TLS connections: no "
                                        "certificate is set"));
          g_assert_nonnull (strstr (error->message, message));
          tls_assert_unchanged_but_error (&snap, server, error);
          g_clear_error (&error);

          if (fd >= 0)
            {
              /* Still open, still the caller's. */
              g_assert_cmpint (fcntl (fd, F_GETFD), >=, 0);
              g_assert_cmpint (close (fd), ==, 0);
            }
        }
    }
}

/* A TLS client in a thread: one handshake against @port. */
typedef struct
{
  guint16       port;
  GTlsDatabase *ca;
  gboolean      handshake_ok;
  GError       *error;
  gint          done;
} HandshakeClient;

static gpointer
handshake_client_thread (gpointer data)
{
  HandshakeClient *client = data;
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("localhost", client->port);
  g_autoptr(GSocketConnection) base = NULL;
  g_autoptr(GIOStream) connection = NULL;

  g_socket_client_set_timeout (socket_client, 10);
  base = g_socket_client_connect_to_host (socket_client, "127.0.0.1", client->port, NULL,
                                          &client->error);
  if (base != NULL)
    connection = g_tls_client_connection_new (G_IO_STREAM (base), identity, &client->error);
  if (connection != NULL)
    {
      g_tls_connection_set_database (G_TLS_CONNECTION (connection), client->ca);
      client->handshake_ok = g_tls_connection_handshake (G_TLS_CONNECTION (connection), NULL,
                                                         &client->error);
      g_io_stream_close (connection, NULL, NULL);
    }

  g_atomic_int_set (&client->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

typedef struct
{
  guint   n_failed;
  GError *failure;
  guint   n_available;
} TlsEvents;

static void
handshake_failed_cb (TcpTlsServer *server,
                     GIOStream    *connection,
                     const GError *error,
                     TlsEvents    *events)
{
  events->n_failed++;
  g_clear_error (&events->failure);
  events->failure = g_error_copy (error);
}

static void
available_cb (TcpServer *server,
              TlsEvents *events)
{
  events->n_available++;
}

typedef struct
{
  HandshakeClient *client;
  TlsEvents       *events;
  guint            n_seen_before;
} HandshakeWait;

static gboolean
handshake_over (gpointer user_data)
{
  HandshakeWait *wait = user_data;

  /* The counts are cumulative over the test: wait for this client's own
   * outcome, not one a previous client left behind. */
  return g_atomic_int_get (&wait->client->done) &&
         wait->events->n_failed + wait->events->n_available > wait->n_seen_before;
}

/* Runs one client handshake against @server; returns whether the client's
 * handshake succeeded, with what the server reported in @events. */
static gboolean
run_handshake (TcpTlsServer *server,
               TlsEvents    *events)
{
  g_autofree gchar *ca_path = cert_path ("ca.crt");
  g_autoptr(GError) error = NULL;
  HandshakeClient client = { 0 };
  HandshakeWait wait = { &client, events, events->n_failed + events->n_available };
  GThread *thread;

  client.port = tcp_server_get_server_port (TCP_SERVER (server));
  client.ca = g_tls_file_database_new (ca_path, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("tls-client", handshake_client_thread, &client);
  g_assert_true (tcp_test_run_until (NULL, handshake_over, &wait, 30000));
  g_thread_join (thread);
  g_clear_object (&client.ca);
  g_clear_error (&client.error);

  return client.handshake_ok;
}

/* Unsetting the certificate while listening is allowed (the next listen()
 * would refuse it): each new client's handshake then fails, the server
 * says so with handshake-failed and keeps listening, and a certificate set
 * again serves the next client. */
static void
test_tls_certificate_unset_while_listening (void)
{
  g_autoptr(TcpTlsServer) server = tls_server_new ();
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  TlsEvents events = { 0 };
  guint16 port;

  tcp_tls_server_set_authentication_mode (server, G_TLS_AUTHENTICATION_NONE);
  g_assert_true (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  port = tcp_server_get_server_port (TCP_SERVER (server));
  g_signal_connect (server, "handshake-failed", G_CALLBACK (handshake_failed_cb), &events);
  g_signal_connect (server, "pending-connection-available", G_CALLBACK (available_cb), &events);

  certificate = g_object_ref (tcp_tls_server_get_certificate (server));
  tcp_tls_server_set_certificate (server, NULL);

  g_assert_false (run_handshake (server, &events));
  g_assert_cmpuint (events.n_failed, ==, 1);
  g_assert_cmpuint (events.n_available, ==, 0);
  /* GnuTLS finds no cipher suite it can use without a certificate. */
  g_assert_error (events.failure, G_TLS_ERROR, G_TLS_ERROR_MISC);
  g_assert_true (g_str_has_prefix (events.failure->message, "The TLS handshake with 127.0.0.1:"));
  g_assert_true (tcp_server_is_listening (TCP_SERVER (server)));
  g_assert_cmpuint (tcp_server_get_server_port (TCP_SERVER (server)), ==, port);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_false (tcp_server_has_pending_connections (TCP_SERVER (server)));

  tcp_tls_server_set_certificate (server, certificate);
  g_assert_true (run_handshake (server, &events));
  g_assert_cmpuint (events.n_failed, ==, 1);
  g_assert_cmpuint (events.n_available, ==, 1);
  connection = tcp_server_next_pending_connection (TCP_SERVER (server));
  g_assert_true (G_IS_TLS_SERVER_CONNECTION (connection));
  g_clear_error (&events.failure);
}

/* Runs in a child whose GIO has no TLS backend. */
static void
check_no_tls_backend (void)
{
  g_autoptr(TcpTlsServer) server = tcp_tls_server_new (NULL);
  g_autoptr(TcpServer) donor = tcp_fault_server_new_listening ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  ListenResult res = { 0 };
  GError *error = NULL;
  TlsSnapshot snap;
  int fd;

  g_assert_false (g_tls_backend_supports_tls (g_tls_backend_get_default ()));

  tls_before (&snap, server);
  g_assert_false (tcp_server_listen (TCP_SERVER (server), loopback, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "no TLS backend"));
  tls_assert_unchanged_but_error (&snap, server, error);
  g_clear_error (&error);

  tls_before (&snap, server);
  g_assert_false (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  tls_assert_unchanged_but_error (&snap, server, error);
  g_clear_error (&error);

  tls_before (&snap, server);
  tcp_server_listen_async (TCP_SERVER (server), loopback, 0, NULL, listen_done_cb, &res);
  g_assert_true (tcp_test_run_until (NULL, listen_done, &res, 5000));
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  tls_assert_unchanged_but_error (&snap, server, res.error);
  g_clear_error (&res.error);

  fd = dup (tcp_server_get_socket_descriptor (donor));
  g_assert_cmpint (fd, >=, 0);
  tls_before (&snap, server);
  g_assert_false (tcp_server_set_socket_descriptor (TCP_SERVER (server), fd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  tls_assert_unchanged_but_error (&snap, server, error);
  g_clear_error (&error);
  g_assert_cmpint (close (fd), ==, 0);

  g_assert_null (tcp_tls_server_load_certificate ("server.crt", "server.key", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, "Could not load the TLS certificate "
                                                   "“server.crt” with the key “server.key”"));
  g_clear_error (&error);
  g_assert_null (tcp_tls_server_new_from_files ("server.crt", "server.key", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
}

static void
test_tls_no_backend (void)
{
  if (g_test_subprocess ())
    {
      /* GIO's dummy backend, chosen before anything asks for one. */
      g_setenv ("GIO_USE_TLS", "dummy", TRUE);
      check_no_tls_backend ();
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}


/* ------------------------------------------------------------------ */
/* 1.1: more ways to listen                                           */

/* listen_range(): an empty range, one from port 0, one through a proxy:
 * INVALID_ARGUMENT; every port taken: ADDRESS_IN_USE naming the range. */
static void
test_listen_range_bad (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(TcpServer) taken = tcp_fault_server_new_listening ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  guint16 port = tcp_server_get_server_port (taken);
  const guint16 ranges[][2] = { { 10, 9 }, { 0, 0 }, { 0, 65535 }, { 65535, 1 } };
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    {
      g_autoptr(GError) error = NULL;

      before (&snap, server);
      g_assert_false (tcp_server_listen_range (server, loopback, ranges[i][0], ranges[i][1],
                                               &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "not a range of ports"));
      assert_unchanged_but_error (&snap, server, error);
    }

  {
    g_autoptr(GError) error = NULL;

    before (&snap, server);
    g_assert_false (tcp_server_listen_range (server, loopback, port, port, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
    g_assert_nonnull (strstr (error->message, "every port from"));
    assert_unchanged_but_error (&snap, server, error);
  }

  {
    g_autoptr(GError) error = NULL;

    tcp_server_set_proxy (server, "socks5://127.0.0.1:1");
    before (&snap, server);
    g_assert_false (tcp_server_listen_range (server, NULL, 2000, 2010, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    assert_unchanged_but_error (&snap, server, error);
  }

  {
    g_autoptr(GError) error = NULL;

    before (&snap, server);
    EXPECT_CRITICAL ("*G_IS_INET_ADDRESS*");
    g_assert_false (tcp_server_listen_range (server, (GInetAddress *) server, 1, 2, &error));
    g_test_assert_expected_messages ();
    g_assert_no_error (error);
    assert_unchanged (&snap, server);
  }
}

/* listen_activated() outside socket activation, or with a broken
 * environment: NOT_FOUND, and the environment left as it was. */
static void
test_listen_activated_bad (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autofree gchar *self_pid = g_strdup_printf ("%d", (int) getpid ());
  const struct { const gchar *pid; const gchar *fds; const gchar *part; } cases[] = {
    { NULL, NULL, "not set" },
    { "1", "1", "another process" },
    { "not a pid", "1", "another process" },
    { self_pid, "many", "not a number" },
    { self_pid, "-1", "not a number" },
    { self_pid, "0", "No listening TCP socket" },
  };
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      if (cases[i].pid != NULL)
        g_setenv ("LISTEN_PID", cases[i].pid, TRUE);
      else
        g_unsetenv ("LISTEN_PID");
      if (cases[i].fds != NULL)
        g_setenv ("LISTEN_FDS", cases[i].fds, TRUE);
      else
        g_unsetenv ("LISTEN_FDS");

      before (&snap, server);
      g_assert_false (tcp_server_listen_activated (server, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, cases[i].part));
      assert_unchanged_but_error (&snap, server, error);
      g_assert_cmpstr (g_getenv ("LISTEN_PID"), ==, cases[i].pid);
      g_assert_cmpstr (g_getenv ("LISTEN_FDS"), ==, cases[i].fds);
    }

  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
}

/* A descriptor another server owns: BUSY, both servers unchanged. */
static void
test_adopt_owned (void)
{
  g_autoptr(TcpServer) owner = tcp_fault_server_new_listening ();
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  FullSnapshot snap, owner_snap;

  before (&snap, server);
  before (&owner_snap, owner);
  g_assert_false (tcp_server_set_socket_descriptor (server,
                                                    tcp_server_get_socket_descriptor (owner),
                                                    &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  assert_unchanged_but_error (&snap, server, error);
  assert_unchanged (&owner_snap, owner);
}

/* ------------------------------------------------------------------ */
/* 1.1: limits, rules, shutdown                                       */

/* Masks GIO cannot read: INVALID_ARGUMENT naming the mask, rules
 * unchanged; a NULL mask is a programming error. Limits take any value. */
static void
test_peer_rules_bad (void)
{
  g_autoptr(TcpServer) server = tcp_fault_server_new_listening ();
  const gchar *bad[] = { "", " ", "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/8", "::1/129",
                         "::/4294967296", "10.0.0.0/-1", "localhost", "10.0.0.0/8/8",
                         "\xff\xfe" };
  FullSnapshot snap;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error2 = NULL;

      before (&snap, server);
      g_assert_false (tcp_server_allow_peers (server, bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_false (tcp_server_deny_peers (server, bad[i], &error2));
      g_assert_error (error2, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      /* Not a server error: no socket was involved. */
      assert_unchanged (&snap, server);
    }

  before (&snap, server);
  EXPECT_CRITICAL ("*mask != NULL*");
  g_assert_false (tcp_server_allow_peers (server, NULL, NULL));
  EXPECT_CRITICAL ("*mask != NULL*");
  g_assert_false (tcp_server_deny_peers (server, NULL, NULL));
  g_test_assert_expected_messages ();
  assert_unchanged (&snap, server);

  /* Every value of a limit is valid: 0 is none. */
  tcp_server_set_max_connections (server, G_MAXUINT);
  tcp_server_set_max_connections_per_peer (server, G_MAXUINT);
  tcp_server_set_max_connection_rate_per_peer (server, G_MAXUINT);
  g_assert_cmpuint (tcp_server_get_max_connections (server), ==, G_MAXUINT);
  g_assert_cmpuint (tcp_server_get_max_connections_per_peer (server), ==, G_MAXUINT);
  g_assert_cmpuint (tcp_server_get_max_connection_rate_per_peer (server), ==, G_MAXUINT);
}

typedef struct
{
  guint    n_done;
  gboolean ok;
  guint    n_forced;
  GError  *error;
} ShutdownResult;

static void
shutdown_done_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ShutdownResult *res = user_data;

  g_clear_error (&res->error);
  res->ok = tcp_server_shutdown_finish (TCP_SERVER (object), result, &res->n_forced,
                                        &res->error);
  res->n_done++;
}

/* shutdown on a server that never listened, twice at once, with a
 * cancellable already cancelled, and with a bad cancellable or result. */
static void
test_shutdown_bad (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  ShutdownResult res = { 0 };
  FullSnapshot snap;

  tcp_server_shutdown_async (server, -1, NULL, shutdown_done_cb, &res);
  tcp_server_shutdown_async (server, 100, NULL, shutdown_done_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_true (res.ok);
  g_assert_cmpuint (res.n_forced, ==, 0);

  g_cancellable_cancel (cancelled);
  tcp_server_shutdown_async (server, -1, cancelled, shutdown_done_cb, &res);
  g_assert_true (tcp_test_run_until_uint (NULL, &res.n_done, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_false (res.ok);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&res.error);

  before (&snap, server);
  EXPECT_CRITICAL ("*G_IS_CANCELLABLE*");
  tcp_server_shutdown_async (server, -1, (GCancellable *) server, shutdown_done_cb, &res);
  EXPECT_CRITICAL ("*g_task_is_valid*");
  g_assert_false (tcp_server_shutdown_finish (server, (GAsyncResult *) server, NULL, NULL));
  g_test_assert_expected_messages ();
  tcp_test_run_for (NULL, 20);
  g_assert_cmpuint (res.n_done, ==, 3);
  assert_unchanged (&snap, server);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

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
  g_test_add_func ("/Tcp/BadInput/error-already-set/finish", test_finish_error_already_set);

  g_test_add_func ("/Tcp/BadInput/proxy/malformed", test_proxy_malformed);
  g_test_add_func ("/Tcp/BadInput/proxy/timeout", test_proxy_timeout_values);
  g_test_add_func ("/Tcp/BadInput/listen-async/twice", test_listen_async_twice);
  g_test_add_func ("/Tcp/BadInput/listen-async/cancelled", test_listen_async_cancelled);
  g_test_add_func ("/Tcp/BadInput/listen-async/bad-arguments", test_listen_async_bad_arguments);
  g_test_add_func ("/Tcp/BadInput/listen-finish/bad-result", test_listen_finish_bad_result);
  g_test_add_func ("/Tcp/BadInput/listen-range", test_listen_range_bad);
  g_test_add_func ("/Tcp/BadInput/listen-activated", test_listen_activated_bad);
  g_test_add_func ("/Tcp/BadInput/adopt/owned", test_adopt_owned);
  g_test_add_func ("/Tcp/BadInput/peer-rules", test_peer_rules_bad);
  g_test_add_func ("/Tcp/BadInput/shutdown", test_shutdown_bad);

  g_test_add_func ("/Tcp/BadInput/tls/no-backend", test_tls_no_backend);

  /* A child process runs one test that needs no certificates. */
  if (g_test_subprocess ())
    return g_test_run ();

  cert_dir = tcp_test_make_certificates ("tcp-bad-input-XXXXXX");

  g_test_add_func ("/Tcp/BadInput/tls/self", test_tls_self);
  g_test_add_func ("/Tcp/BadInput/tls/constructors", test_tls_constructors);
  g_test_add_func ("/Tcp/BadInput/tls/load", test_tls_load_bad_files);
  g_test_add_func ("/Tcp/BadInput/tls/setters", test_tls_setters);
  g_test_add_func ("/Tcp/BadInput/tls/properties", test_tls_properties);
  g_test_add_func ("/Tcp/BadInput/tls/listen/no-key", test_tls_listen_without_key);
  g_test_add_func ("/Tcp/BadInput/tls/certificate-unset-while-listening",
                   test_tls_certificate_unset_while_listening);

  status = g_test_run ();

  tcp_test_remove_certificates (cert_dir);
  g_free (cert_dir);
  return status;
}

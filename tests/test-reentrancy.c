/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-reentrancy.c: close(), unref and listen() again from inside the
 * server's own signal handlers, vfunc and accept_async() callback
 *
 * Copyright 2026 The libtcp authors
 *
 * Every case queues several clients in the kernel before the main context
 * runs, so the first wakeup starts a batch of accept4() calls and the action
 * happens in the middle of it. Run under valgrind, these catch use-after-free
 * and leaks; plainly, they check that the batch stops (or goes on) as it
 * should.
 */

#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include <tcp.h>

#include "tcp-test-util.h"

#define N_CLIENTS 4

typedef enum
{
  WHERE_NEW_CONNECTION,
  WHERE_PENDING_AVAILABLE,
  WHERE_INCOMING_CONNECTION,
  WHERE_ACCEPT_ASYNC,
} Where;

typedef enum
{
  ACTION_CLOSE,
  ACTION_UNREF,
  ACTION_RELISTEN,
} Action;

typedef struct
{
  const gchar *path;
  Where        where;
  Action       action;
} Case;

typedef struct _Fixture Fixture;

/* A server whose incoming_connection may act before chaining up. */

#define TEST_TYPE_REENTRANT_SERVER (test_reentrant_server_get_type ())
G_DECLARE_FINAL_TYPE (TestReentrantServer, test_reentrant_server, TEST, REENTRANT_SERVER, TcpServer)

struct _TestReentrantServer
{
  TcpServer  parent_instance;
  Fixture   *fixture;
};

struct _Fixture
{
  const Case *tc;
  TcpServer  *server;         /* the test's reference; NULL once dropped */
  TcpServer  *weak;           /* weak pointer: NULL once finalized */
  guint16     port;
  GSocket    *clients[N_CLIENTS];

  guint       n_incoming;
  guint       n_new;
  guint       n_available;
  guint       n_accepted;
  gboolean    acted;
  gboolean    relisten_ok;
  GError     *relisten_error;
};

G_DEFINE_TYPE (TestReentrantServer, test_reentrant_server, TCP_TYPE_SERVER)

static void
act (Fixture   *fixture,
     TcpServer *server,
     Where      where)
{
  g_autoptr(GInetAddress) loopback = NULL;

  if (fixture->acted || fixture->tc->where != where)
    return;
  fixture->acted = TRUE;

  switch (fixture->tc->action)
    {
    case ACTION_CLOSE:
      tcp_server_close (server);
      break;

    case ACTION_UNREF:
      /* Drops the last reference the application holds. */
      g_assert_true (fixture->server == server);
      g_clear_object (&fixture->server);
      break;

    case ACTION_RELISTEN:
      tcp_server_close (server);
      loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      fixture->relisten_ok = tcp_server_listen (server, loopback, fixture->port,
                                                &fixture->relisten_error);
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
test_reentrant_server_incoming_connection (TcpServer *server,
                                           GSocket   *socket)
{
  Fixture *fixture = TEST_REENTRANT_SERVER (server)->fixture;

  fixture->n_incoming++;
  act (fixture, server, WHERE_INCOMING_CONNECTION);

  /* The caller holds a reference for the duration of the vfunc, so chaining
   * up after dropping ours is fine. */
  TCP_SERVER_CLASS (test_reentrant_server_parent_class)->incoming_connection (server, socket);
}

static void
test_reentrant_server_class_init (TestReentrantServerClass *klass)
{
  TCP_SERVER_CLASS (klass)->incoming_connection = test_reentrant_server_incoming_connection;
}

static void
test_reentrant_server_init (TestReentrantServer *self)
{
}

static void
new_connection_cb (TcpServer *server,
                   Fixture   *fixture)
{
  fixture->n_new++;
  act (fixture, server, WHERE_NEW_CONNECTION);
}

static void
pending_available_cb (TcpServer *server,
                      Fixture   *fixture)
{
  fixture->n_available++;
  act (fixture, server, WHERE_PENDING_AVAILABLE);
}

static void
accept_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = tcp_server_accept_finish (TCP_SERVER (object), result, &error);
  g_assert_no_error (error);
  fixture->n_accepted++;
  act (fixture, TCP_SERVER (object), WHERE_ACCEPT_ASYNC);
}

/* Reads from @client: end-of-file, or a reset (ECONNRESET) for a client the
 * server never accepted; never a timeout. */
static void
assert_client_hung_up (GSocket *client)
{
  g_autoptr(GError) error = NULL;
  gchar byte;
  gssize n;

  n = tcp_test_read_some (client, &byte, 1, &error);
  if (n < 0)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
    }
  else
    {
      g_assert_cmpint (n, ==, 0);
    }
}

static void
test_reentrancy (gconstpointer data)
{
  const Case *tc = data;
  Fixture fixture = { .tc = tc };
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) first = NULL;
  TestReentrantServer *server;

  server = g_object_new (TEST_TYPE_REENTRANT_SERVER, NULL);
  server->fixture = &fixture;
  fixture.server = TCP_SERVER (server);
  fixture.weak = TCP_SERVER (server);
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &fixture.weak);

  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &fixture);
  g_signal_connect (server, "pending-connection-available",
                    G_CALLBACK (pending_available_cb), &fixture);

  g_assert_true (tcp_server_listen (fixture.server, loopback, 0, &error));
  g_assert_no_error (error);
  fixture.port = tcp_server_get_server_port (fixture.server);

  if (tc->where == WHERE_ACCEPT_ASYNC)
    tcp_server_accept_async (fixture.server, NULL, accept_cb, &fixture);

  /* All clients wait in the kernel queue before the context first runs. */
  for (guint i = 0; i < N_CLIENTS; i++)
    fixture.clients[i] = tcp_test_connect (G_SOCKET_FAMILY_IPV4, fixture.port);

  g_assert_true (tcp_test_run_until_flag (NULL, &fixture.acted, TCP_TEST_TIMEOUT_MS));
  tcp_test_run_for (NULL, 100);

  /* The action happened on the first connection, and a closed or dropped
   * server accepted nothing after it. */
  g_assert_cmpuint (fixture.n_incoming, ==, 1);
  g_assert_cmpuint (fixture.n_new, ==, 1);
  g_assert_cmpuint (fixture.n_available, ==, 1);

  switch (tc->action)
    {
    case ACTION_CLOSE:
      g_assert_nonnull (fixture.weak);
      g_assert_false (tcp_server_is_listening (fixture.server));
      g_assert_cmpint (tcp_server_get_socket_descriptor (fixture.server), ==, -1);

      /* Closed from incoming_connection before chaining up, the connection
       * is queued on the closed server afterwards (add_pending_connection
       * works on a server that is not listening). Otherwise it was dropped
       * and its client hung up on. */
      if (tc->where == WHERE_INCOMING_CONNECTION)
        {
          first = tcp_server_next_pending_connection (fixture.server);
          g_assert_nonnull (first);
        }
      else if (tc->where != WHERE_ACCEPT_ASYNC)
        {
          g_assert_false (tcp_server_has_pending_connections (fixture.server));
          assert_client_hung_up (fixture.clients[0]);
        }

      /* The clients left in the kernel queue were reset with the socket. */
      for (guint i = 1; i < N_CLIENTS; i++)
        assert_client_hung_up (fixture.clients[i]);
      break;

    case ACTION_UNREF:
      g_assert_null (fixture.server);
      g_assert_null (fixture.weak);
      if (tc->where != WHERE_ACCEPT_ASYNC)
        assert_client_hung_up (fixture.clients[0]);
      for (guint i = 1; i < N_CLIENTS; i++)
        assert_client_hung_up (fixture.clients[i]);
      break;

    case ACTION_RELISTEN:
      g_assert_no_error (fixture.relisten_error);
      g_assert_true (fixture.relisten_ok);
      g_assert_true (tcp_server_is_listening (fixture.server));
      g_assert_cmpuint (tcp_server_get_server_port (fixture.server), ==, fixture.port);

      for (guint i = 1; i < N_CLIENTS; i++)
        assert_client_hung_up (fixture.clients[i]);

      /* The new listener accepts on the same port. */
      for (guint i = 1; i < N_CLIENTS; i++)
        {
          g_clear_object (&fixture.clients[i]);
          fixture.clients[i] = tcp_test_connect (G_SOCKET_FAMILY_IPV4, fixture.port);
        }
      g_assert_true (tcp_test_run_until_uint (NULL, &fixture.n_new, N_CLIENTS,
                                              TCP_TEST_TIMEOUT_MS));
      g_assert_cmpuint (fixture.n_incoming, ==, N_CLIENTS);
      break;

    default:
      g_assert_not_reached ();
    }

  if (tc->where == WHERE_ACCEPT_ASYNC)
    g_assert_cmpuint (fixture.n_accepted, ==, 1);

  g_clear_object (&first);
  g_clear_object (&fixture.server);
  g_assert_null (fixture.weak);
  for (guint i = 0; i < N_CLIENTS; i++)
    g_clear_object (&fixture.clients[i]);
  g_clear_error (&fixture.relisten_error);
}

/* close() from new-connection while wait_for_new_connection() runs the
 * accept path: the wait ends with an error instead of touching the closed
 * listener. */
static void
wait_close_cb (TcpServer *server,
               gpointer   user_data)
{
  tcp_server_close (server);
}

static void
test_reentrancy_wait_close (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  gboolean timed_out = TRUE;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_signal_connect (server, "new-connection", G_CALLBACK (wait_close_cb), NULL);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));

  g_assert_false (tcp_server_wait_for_new_connection (server, TCP_TEST_TIMEOUT_MS,
                                                      &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_assert_false (timed_out);
  g_assert_false (tcp_server_is_listening (server));
  assert_client_hung_up (client);
}

/* A new-connection handler that runs a nested main loop on the server's
 * context while another client waits in the kernel's queue. The accept
 * source must neither dispatch the handler again from inside itself nor
 * spin in the nested loop; the waiting client is accepted once the handler
 * returns. */
typedef struct
{
  guint16   port;
  GSocket  *second_client;
  guint     depth;
  guint     max_depth;
  guint     n_new;
  guint     n_nested_dispatches;
} Nested;

static void
nested_new_connection_cb (TcpServer *server,
                          gpointer   user_data)
{
  Nested *test = user_data;
  GIOStream *connection;

  test->depth++;
  test->max_depth = MAX (test->max_depth, test->depth);
  test->n_new++;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    g_object_unref (connection);

  if (test->second_client == NULL)
    {
      test->second_client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, test->port);
      test->n_nested_dispatches = tcp_test_count_dispatches (NULL, 200);
    }

  test->depth--;
}

static void
test_reentrancy_nested_main_loop (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GSocket) client = NULL;
  g_autoptr(GError) error = NULL;
  Nested test = { 0, };

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  test.port = tcp_server_get_server_port (server);
  g_signal_connect (server, "new-connection", G_CALLBACK (nested_new_connection_cb), &test);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, test.port);

  g_assert_true (tcp_test_run_until_uint (NULL, &test.n_new, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (test.max_depth, ==, 1);
  /* The nested loop saw the listener ready at most once before it left the
   * poll set; a spinning source would dispatch thousands of times. */
  g_assert_cmpuint (test.n_nested_dispatches, <=, 2);
  g_assert_true (tcp_server_is_listening (server));
  g_clear_object (&test.second_client);
}

/* add_pending_connection() called outside the accept batch (as a subclass
 * does once a TLS handshake completes, from its own callback), with the
 * accept_async() callback dropping the last reference to the server. */
typedef struct
{
  TcpServer         *server;
  TcpServer         *weak;
  GSocketConnection *connection;
  guint              n_accepted;
} OutsideBatch;

static void
outside_accept_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  OutsideBatch *test = user_data;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = tcp_server_accept_finish (TCP_SERVER (object), result, &error);
  g_assert_no_error (error);
  g_assert_true (connection == G_IO_STREAM (test->connection));
  test->n_accepted++;
  g_clear_object (&test->server);
}

static gboolean
outside_add_cb (gpointer user_data)
{
  OutsideBatch *test = user_data;

  tcp_server_add_pending_connection (test->server, G_IO_STREAM (test->connection));
  return G_SOURCE_REMOVE;
}

static void
test_reentrancy_add_pending_unref (void)
{
  OutsideBatch test = { 0, };
  g_autoptr(GSocket) a = NULL;
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  close (fds[1]);
  test.connection = g_socket_connection_factory_create_connection (a);

  test.server = tcp_server_new ();
  test.weak = test.server;
  g_object_add_weak_pointer (G_OBJECT (test.server), (gpointer *) &test.weak);
  g_assert_true (tcp_server_listen_on (test.server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);

  tcp_server_accept_async (test.server, NULL, outside_accept_cb, &test);
  g_idle_add (outside_add_cb, &test);

  g_assert_true (tcp_test_run_until_uint (NULL, &test.n_accepted, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_null (test.server);
  g_assert_null (test.weak);
  g_clear_object (&test.connection);
}

static const Case cases[] = {
  { "/Tcp/Server/reentrancy/new-connection/close", WHERE_NEW_CONNECTION, ACTION_CLOSE },
  { "/Tcp/Server/reentrancy/new-connection/unref", WHERE_NEW_CONNECTION, ACTION_UNREF },
  { "/Tcp/Server/reentrancy/new-connection/relisten", WHERE_NEW_CONNECTION, ACTION_RELISTEN },
  { "/Tcp/Server/reentrancy/pending-connection-available/close", WHERE_PENDING_AVAILABLE, ACTION_CLOSE },
  { "/Tcp/Server/reentrancy/pending-connection-available/unref", WHERE_PENDING_AVAILABLE, ACTION_UNREF },
  { "/Tcp/Server/reentrancy/pending-connection-available/relisten", WHERE_PENDING_AVAILABLE, ACTION_RELISTEN },
  { "/Tcp/Server/reentrancy/incoming-connection/close", WHERE_INCOMING_CONNECTION, ACTION_CLOSE },
  { "/Tcp/Server/reentrancy/incoming-connection/unref", WHERE_INCOMING_CONNECTION, ACTION_UNREF },
  { "/Tcp/Server/reentrancy/incoming-connection/relisten", WHERE_INCOMING_CONNECTION, ACTION_RELISTEN },
  { "/Tcp/Server/reentrancy/accept-async/close", WHERE_ACCEPT_ASYNC, ACTION_CLOSE },
  { "/Tcp/Server/reentrancy/accept-async/unref", WHERE_ACCEPT_ASYNC, ACTION_UNREF },
  { "/Tcp/Server/reentrancy/accept-async/relisten", WHERE_ACCEPT_ASYNC, ACTION_RELISTEN },
};

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_test_add_data_func (cases[i].path, &cases[i], test_reentrancy);
  g_test_add_func ("/Tcp/Server/reentrancy/wait/close", test_reentrancy_wait_close);
  g_test_add_func ("/Tcp/Server/reentrancy/new-connection/nested-main-loop",
                   test_reentrancy_nested_main_loop);
  g_test_add_func ("/Tcp/Server/reentrancy/add-pending/unref-in-accept-callback",
                   test_reentrancy_add_pending_unref);

  return g_test_run ();
}

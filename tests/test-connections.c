/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connections.c: the server knows its connections
 *
 * Copyright 2026 The libtcp authors
 *
 * get_connections() and n-connections, max-connections, the per-peer
 * limits and rules with connection-refused, the bound on what the server
 * remembers about peers, and shutdown_async(). Peers other than 127.0.0.1
 * are made by binding the client to another address of 127.0.0.0/8, all of
 * which is loopback.
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcp.h>

#include "tcp-server-private.h"
#include "tcp-test-util.h"

/* Helpers */

static TcpServer *
listening_server (void)
{
  TcpServer *server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  return server;
}

/* A blocking client from 127.@b.@c.@d to 127.0.0.1:@port; -1 if the
 * connect itself failed. */
static int
connect_from (guint8  b,
              guint8  c,
              guint8  d,
              guint16 port)
{
  struct sockaddr_in from = { .sin_family = AF_INET };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = g_htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  from.sin_addr.s_addr = g_htonl ((127u << 24) | ((guint32) b << 16) | ((guint32) c << 8) | d);
  to.sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &from, sizeof from), ==, 0);
  if (connect (fd, (struct sockaddr *) &to, sizeof to) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* What a refused client sees: the server reset the connection. */
static void
assert_reset (int fd)
{
  struct timeval tv = { .tv_sec = 10 };
  gchar c;

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  g_assert_cmpint (read (fd, &c, 1), ==, -1);
  g_assert_cmpint (errno, ==, ECONNRESET);
}

typedef struct
{
  guint       n_refused;
  TcpRefusal  last_reason;
  gchar      *last_peer;
  guint       n_items_changed;
  guint       n_count_notify;
} Events;

static void
refused_cb (TcpServer          *server,
            GInetSocketAddress *peer,
            TcpRefusal          reason,
            Events             *events)
{
  events->n_refused++;
  events->last_reason = reason;
  g_free (events->last_peer);
  events->last_peer = g_inet_address_to_string (g_inet_socket_address_get_address (peer));
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Events     *events)
{
  events->n_items_changed++;
}

static void
count_notify_cb (TcpServer  *server,
                 GParamSpec *pspec,
                 Events     *events)
{
  events->n_count_notify++;
}

static void
events_clear (Events *events)
{
  g_clear_pointer (&events->last_peer, g_free);
}

static gboolean
n_connections_is (gpointer user_data)
{
  gpointer *args = user_data;

  return tcp_server_get_n_connections (args[0]) == GPOINTER_TO_UINT (args[1]);
}

static void
wait_n_connections (TcpServer *server,
                    guint      n)
{
  gpointer args[2] = { server, GUINT_TO_POINTER (n) };

  g_assert_true (tcp_test_run_until (NULL, n_connections_is, args, TCP_TEST_TIMEOUT_MS));
}

/* The model */

/* Queued and handed-out connections are in the model, oldest first; a
 * closed one leaves it when the context runs, not inside the close; one
 * dropped without a close leaves too, and the model did not keep it. */
static void
test_model (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  GListModel *model = tcp_server_get_connections (server);
  guint16 port = tcp_server_get_server_port (server);
  g_autoptr(GSocket) c1 = NULL;
  g_autoptr(GSocket) c2 = NULL;
  g_autoptr(GIOStream) first = NULL;
  GIOStream *second;
  gpointer item;
  Events events = { 0 };

  g_assert_true (G_IS_LIST_MODEL (model));
  g_assert_true (tcp_server_get_connections (server) == model);
  g_assert_cmpint (g_list_model_get_item_type (model), ==, G_TYPE_IO_STREAM);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), &events);
  g_signal_connect (server, "notify::n-connections", G_CALLBACK (count_notify_cb), &events);

  c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  c2 = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 2);
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 2);
  g_assert_cmpuint (events.n_items_changed, ==, 2);
  g_assert_cmpuint (events.n_count_notify, ==, 2);

  /* Taking them changes nothing: handed out is still alive. */
  first = tcp_server_next_pending_connection (server);
  second = tcp_server_next_pending_connection (server);
  item = g_list_model_get_item (model, 0);
  g_assert_true (item == (gpointer) first);
  g_object_unref (item);
  item = g_list_model_get_item (model, 1);
  g_assert_true (item == (gpointer) second);
  g_object_unref (item);
  g_assert_null (g_list_model_get_item (model, 2));

  /* Closed: still there until the context runs. */
  g_assert_true (g_io_stream_close (first, NULL, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 2);
  g_assert_cmpuint (events.n_items_changed, ==, 2);
  wait_n_connections (server, 1);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
  g_assert_cmpuint (events.n_items_changed, ==, 3);

  /* Dropped without a close: finalized, and gone from the model. */
  g_object_add_weak_pointer (G_OBJECT (second), (gpointer *) &second);
  g_object_unref (second);
  g_assert_null (second);
  wait_n_connections (server, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_cmpuint (events.n_count_notify, ==, 4);
}

/* Asked for late, the model has every connection already alive. */
static void
test_model_late (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  g_autoptr(GSocket) c1 = tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                            tcp_server_get_server_port (server));
  g_autoptr(GIOStream) taken = NULL;
  GListModel *model;

  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  taken = tcp_server_next_pending_connection (server);
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 1);

  model = tcp_server_get_connections (server);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
}

typedef struct
{
  GIOStream *connection;
  gboolean   closed;
} CloseInThread;

static gpointer
close_thread (gpointer data)
{
  CloseInThread *job = data;

  g_io_stream_close (job->connection, NULL, NULL);
  g_clear_object (&job->connection);
  job->closed = TRUE;
  return NULL;
}

/* A connection closed and dropped in another thread leaves the model in
 * the server's thread, when its context runs. */
static void
test_model_other_thread (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  GListModel *model = tcp_server_get_connections (server);
  g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                tcp_server_get_server_port (server));
  CloseInThread job = { 0 };
  Events events = { 0 };
  GThread *thread;

  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), &events);
  job.connection = tcp_server_next_pending_connection (server);

  thread = g_thread_new ("closer", close_thread, &job);
  g_thread_join (thread);
  g_assert_true (job.closed);
  g_assert_cmpuint (events.n_items_changed, ==, 0);

  wait_n_connections (server, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_cmpuint (events.n_items_changed, ==, 1);
}

/* The model outlives its server when the application keeps it (a list
 * view does): it goes on following the connections it lists. */
static void
test_model_outlives_server (void)
{
  TcpServer *server = listening_server ();
  g_autoptr(GListModel) model = g_object_ref (tcp_server_get_connections (server));
  g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                tcp_server_get_server_port (server));
  g_autoptr(GIOStream) taken = NULL;
  Events events = { 0 };

  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  taken = tcp_server_next_pending_connection (server);
  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);

  g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), &events);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
  g_assert_true (g_io_stream_close (taken, NULL, NULL));
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_items_changed, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
}

static gpointer
unref_thread (gpointer data)
{
  g_object_unref (data);
  return NULL;
}

/* A connection finalized in another thread is listed until the server's
 * context runs; meanwhile get_item() gives a closed, empty stream in its
 * place, never %NULL. */
static void
test_model_finalized_item (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  GListModel *model = tcp_server_get_connections (server);
  g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                tcp_server_get_server_port (server));
  g_autoptr(GIOStream) placeholder = NULL;
  GIOStream *taken;

  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  taken = tcp_server_next_pending_connection (server);
  g_object_add_weak_pointer (G_OBJECT (taken), (gpointer *) &taken);
  g_thread_join (g_thread_new ("unref", unref_thread, taken));
  g_assert_null (taken);

  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
  placeholder = g_list_model_get_item (model, 0);
  g_assert_nonnull (placeholder);
  g_assert_true (G_IS_IO_STREAM (placeholder));
  g_assert_true (g_io_stream_is_closed (placeholder));
  wait_n_connections (server, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
}

/* The last reference to everything a server left behind goes in another
 * thread while the server's context runs: nothing is used after it is
 * freed (this is for ASan and valgrind to see). */
static void
test_model_last_ref_in_thread (void)
{
  for (guint round = 0; round < 30; round++)
    {
      TcpServer *server = listening_server ();
      GListModel *model = g_object_ref (tcp_server_get_connections (server));
      g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                    tcp_server_get_server_port (server));
      GIOStream *taken;
      GThread *thread;

      g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
      taken = tcp_server_next_pending_connection (server);
      g_object_unref (server);
      g_object_unref (model);

      g_object_add_weak_pointer (G_OBJECT (taken), (gpointer *) &taken);
      thread = g_thread_new ("unref", unref_thread, taken);
      while (g_atomic_pointer_get (&taken) != NULL)
        g_main_context_iteration (NULL, FALSE);
      g_thread_join (thread);
      tcp_test_run_for (NULL, 1);
    }
}

static void
close_in_handler_cb (TcpServer *server,
                     gpointer   user_data)
{
  GIOStream *connection;

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      g_io_stream_close (connection, NULL, NULL);
      g_object_unref (connection);
    }
}

/* A connection served and closed inside its new-connection handler, the
 * fortune-server pattern, never enters the model: no items-changed, no
 * count notification, nothing for a list view to redraw. */
static void
test_model_served_in_handler (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  GListModel *model = tcp_server_get_connections (server);
  guint16 port = tcp_server_get_server_port (server);
  guint n_new = 0;
  Events events = { 0 };

  g_signal_connect (server, "new-connection", G_CALLBACK (close_in_handler_cb), NULL);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), &events);
  g_signal_connect (server, "notify::n-connections", G_CALLBACK (count_notify_cb), &events);

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GSocket) client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, port);

      g_assert_true (tcp_test_run_until_uint (NULL, &n_new, i + 1, TCP_TEST_TIMEOUT_MS));
    }
  tcp_test_run_for (NULL, 20);

  g_assert_cmpuint (events.n_items_changed, ==, 0);
  g_assert_cmpuint (events.n_count_notify, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 0);
}

static void
drop_in_handler_cb (TcpServer  *server,
                    GIOStream **dropped)
{
  GIOStream *connection = tcp_server_next_pending_connection (server);

  g_assert_nonnull (connection);
  *dropped = connection;
  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) dropped);
  g_object_unref (connection);
}

/* Dropped without a close inside its handler: the model holds it only
 * until the handler has returned, then it is finalized and never listed. */
static void
test_model_dropped_in_handler (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  GListModel *model = tcp_server_get_connections (server);
  g_autoptr(GSocket) client = NULL;
  GIOStream *dropped = NULL;
  guint n_new = 0;
  gchar buffer[8];

  g_signal_connect (server, "new-connection", G_CALLBACK (drop_in_handler_cb), &dropped);
  g_signal_connect (server, "new-connection", G_CALLBACK (tcp_test_count_cb), &n_new);
  client = tcp_test_connect (G_SOCKET_FAMILY_IPV4, tcp_server_get_server_port (server));
  g_assert_true (tcp_test_run_until_uint (NULL, &n_new, 1, TCP_TEST_TIMEOUT_MS));

  /* new-connection has returned: the connection is gone already. */
  g_assert_null (dropped);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 0);
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 0);
  /* And closed: the client reads the end of the stream. */
  g_socket_set_timeout (client, 10);
  g_assert_cmpint (tcp_test_read_some (client, buffer, sizeof buffer, NULL), ==, 0);
}

/* max-connections */

/* At the limit the server stops accepting, without spinning, and resumes
 * by itself when a connection closes. */
static void
test_max_connections (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  guint16 port = tcp_server_get_server_port (server);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  guint dispatches;

  tcp_server_set_max_connections (server, 2);
  for (guint i = 0; i < 4; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, port));

  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  a = tcp_server_next_pending_connection (server);
  b = tcp_server_next_pending_connection (server);

  /* Two clients wait in the kernel; the queue is empty, yet nothing is
   * accepted, and the loop sleeps. */
  dispatches = tcp_test_count_dispatches (NULL, 300);
  g_assert_cmpuint (dispatches, <, 10);
  g_assert_false (tcp_server_has_pending_connections (server));
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 2);

  g_io_stream_close (a, NULL, NULL);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);

  /* Raising it resumes at once. */
  tcp_server_set_max_connections (server, 0);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
}

/* Per-peer admission */

/* The third connection from one address is refused with a reset and
 * PEER_LIMIT; another address is not affected. */
static void
test_per_peer_limit (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  guint16 port = tcp_server_get_server_port (server);
  Events events = { 0 };
  int fds[4];

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  tcp_server_set_max_connections_per_peer (server, 2);

  fds[0] = connect_from (0, 0, 1, port);
  fds[1] = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  fds[2] = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_PEER_LIMIT);
  g_assert_cmpstr (events.last_peer, ==, "127.0.0.1");
  assert_reset (fds[2]);

  fds[3] = connect_from (0, 0, 2, port);
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (events.n_refused, ==, 1);

  /* A connection that closes frees its place. */
  g_object_unref (tcp_server_next_pending_connection (server));
  tcp_test_run_for (NULL, 50);
  close (fds[2]);
  fds[2] = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (events.n_refused, ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  events_clear (&events);
}

/* A limit set while connections are open counts them: the peer table
 * starts counting only when a limit asks for it. */
static void
test_per_peer_limit_set_late (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  guint16 port = tcp_server_get_server_port (server);
  Events events = { 0 };
  int open_fd, other_fd;

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  open_fd = connect_from (0, 0, 3, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));

  tcp_server_set_max_connections_per_peer (server, 1);
  other_fd = connect_from (0, 0, 3, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_PEER_LIMIT);
  assert_reset (other_fd);
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);

  close (open_fd);
  close (other_fd);
  events_clear (&events);
}

/* A burst of up to the rate passes, the next is refused, and after a
 * quiet spell the peer may connect again. */
static void
test_rate_limit (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  guint16 port = tcp_server_get_server_port (server);
  Events events = { 0 };
  int fds[5];

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  tcp_server_set_max_connection_rate_per_peer (server, 3);

  for (guint i = 0; i < 4; i++)
    fds[i] = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_RATE_LIMIT);
  assert_reset (fds[3]);

  /* A third of a second buys one connection back. */
  g_usleep (400 * 1000);
  fds[4] = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_wait_pending (server, 4, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (events.n_refused, ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  events_clear (&events);
}

/* Deny wins over allow; once an allow rule exists, others are refused;
 * clear_peer_rules() admits everyone again. */
static void
test_rules (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  g_autoptr(GError) error = NULL;
  guint16 port = tcp_server_get_server_port (server);
  Events events = { 0 };
  int fd;

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  g_assert_true (tcp_server_allow_peers (server, "127.0.1.0/24", &error));
  g_assert_true (tcp_server_deny_peers (server, "127.0.1.66", &error));
  g_assert_no_error (error);

  fd = connect_from (0, 1, 1, port);          /* allowed */
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  close (fd);

  fd = connect_from (0, 1, 66, port);         /* allowed, but denied: deny wins */
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_DENIED);
  g_assert_cmpstr (events.last_peer, ==, "127.0.1.66");
  assert_reset (fd);
  close (fd);

  fd = connect_from (0, 2, 1, port);          /* matches no allow rule */
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpstr (events.last_peer, ==, "127.0.2.1");
  close (fd);

  tcp_server_clear_peer_rules (server);
  fd = connect_from (0, 1, 66, port);
  g_assert_true (tcp_test_wait_pending (server, 2, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (events.n_refused, ==, 2);
  close (fd);
  events_clear (&events);
}

/* A bad mask is INVALID_ARGUMENT and changes no rule. */
static void
test_bad_mask (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  const gchar *bad[] = { "", "10.0.0.0/33", "::1/129", "10.0.0.1/8", "localhost", "1.2.3",
                         "10.0.0.0/-1", "\xff" };
  guint16 port = tcp_server_get_server_port (server);
  Events events = { 0 };
  int fd;

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error2 = NULL;

      g_assert_false (tcp_server_allow_peers (server, bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_false (tcp_server_deny_peers (server, bad[i], &error2));
      g_assert_error (error2, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }

  /* No rule was added: an allow rule would refuse 127.0.0.1. */
  fd = connect_from (0, 0, 1, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpuint (events.n_refused, ==, 0);
  close (fd);
}

/* On a dual-stack server an IPv4 client arrives as ::ffff:a.b.c.d and
 * matches IPv4 rules and limits as its IPv4 address. */
static void
test_mapped_peers (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  Events events = { 0 };
  guint16 port;
  int fd;

  if (tcp_test_skip_without_ipv6 ())
    return;

  g_assert_true (tcp_server_listen (server, NULL, 0, &error));
  port = tcp_server_get_server_port (server);
  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  g_assert_true (tcp_server_deny_peers (server, "127.0.3.0/24", &error));

  fd = connect_from (0, 3, 9, port);
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_DENIED);
  close (fd);

  tcp_server_clear_peer_rules (server);
  tcp_server_set_max_connections_per_peer (server, 1);
  fd = connect_from (0, 3, 9, port);
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  {
    int second = connect_from (0, 3, 9, port);

    g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, 2, TCP_TEST_TIMEOUT_MS));
    g_assert_cmpint (events.last_reason, ==, TCP_REFUSAL_PEER_LIMIT);
    close (second);
  }
  close (fd);
  events_clear (&events);
}

/* A flood of denied connections while a good peer is served: the good
 * peer gets its connection, every refused one a reset. */
static void
test_flood (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  g_autoptr(GError) error = NULL;
  guint16 port = tcp_server_get_server_port (server);
  guint n = tcp_test_under_valgrind () ? 200 : 2000;
  Events events = { 0 };
  int good = -1;

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  g_assert_true (tcp_server_deny_peers (server, "127.0.4.4", &error));

  for (guint i = 0; i < n; i++)
    {
      int fd = connect_from (0, 4, 4, port);

      if (i == n / 2)
        good = connect_from (0, 0, 1, port);
      if (fd >= 0)
        close (fd);
      if (i % 100 == 99)
        tcp_test_run_for (NULL, 1);
    }
  g_assert_true (tcp_test_wait_pending (server, 1, TCP_TEST_TIMEOUT_MS));
  g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, n, TCP_TEST_TIMEOUT_MS * 3));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 1);
  close (good);
  events_clear (&events);
}

/* What the server remembers about peers is bounded: a few thousand
 * addresses, all refused, leave at most the bound. */
static void
test_peer_table_bound (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  g_autoptr(GError) error = NULL;
  guint16 port = tcp_server_get_server_port (server);
  guint n = tcp_test_under_valgrind () ? 300 : 3000;
  Events events = { 0 };

  g_signal_connect (server, "connection-refused", G_CALLBACK (refused_cb), &events);
  _tcp_server_set_peer_idle_max (server, 100);
  g_assert_true (tcp_server_deny_peers (server, "127.8.0.0/16", &error));

  for (guint i = 0; i < n; i++)
    {
      int fd = connect_from (8, i >> 8, i & 0xff, port);

      if (fd >= 0)
        close (fd);
      if (i % 100 == 99)
        {
          g_assert_true (tcp_test_run_until_uint (NULL, &events.n_refused, i + 1,
                                                  TCP_TEST_TIMEOUT_MS));
          g_assert_cmpuint (_tcp_server_get_n_peers (server), <=, 100);
        }
    }
  g_assert_cmpuint (_tcp_server_get_n_peers (server), ==, 100);
  events_clear (&events);
}

/* shutdown_async() */

typedef struct
{
  gboolean done;
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

  res->ok = tcp_server_shutdown_finish (TCP_SERVER (object), result, &res->n_forced,
                                        &res->error);
  res->done = TRUE;
}

/* Two connections handed out, one still queued. */
static TcpServer *
server_with_connections (GPtrArray  *clients,
                         GIOStream **a,
                         GIOStream **b)
{
  TcpServer *server = listening_server ();
  guint16 port = tcp_server_get_server_port (server);

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4, port));
  g_assert_true (tcp_test_wait_pending (server, 3, TCP_TEST_TIMEOUT_MS));
  *a = tcp_server_next_pending_connection (server);
  *b = tcp_server_next_pending_connection (server);
  return server;
}

/* -1: the wait ends when the application has closed the last one; the
 * queued one was closed at once. */
static void
test_shutdown_forever (void)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(TcpServer) server = server_with_connections (clients, &a, &b);
  ShutdownResult res = { 0 };

  tcp_server_shutdown_async (server, -1, NULL, shutdown_done_cb, &res);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_n_pending_connections (server), ==, 0);
  tcp_test_run_for (NULL, 100);
  g_assert_false (res.done);

  g_io_stream_close (a, NULL, NULL);
  tcp_test_run_for (NULL, 50);
  g_assert_false (res.done);
  g_io_stream_close (b, NULL, NULL);
  g_assert_true (tcp_test_run_until_flag (NULL, &res.done, TCP_TEST_TIMEOUT_MS));
  g_assert_true (res.ok);
  g_assert_no_error (res.error);
  g_assert_cmpuint (res.n_forced, ==, 0);
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 0);
}

/* A finite timeout: what the application did not close by then is closed
 * for it, and counted. */
static void
test_shutdown_timeout (void)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(TcpServer) server = server_with_connections (clients, &a, &b);
  ShutdownResult res = { 0 };

  tcp_server_shutdown_async (server, 200, NULL, shutdown_done_cb, &res);
  g_io_stream_close (a, NULL, NULL);
  g_assert_true (tcp_test_run_until_flag (NULL, &res.done, TCP_TEST_TIMEOUT_MS));
  g_assert_true (res.ok);
  g_assert_cmpuint (res.n_forced, ==, 1);
  g_assert_true (g_io_stream_is_closed (b));
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 0);
}

/* 0: everything is closed at once. */
static void
test_shutdown_now (void)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(TcpServer) server = server_with_connections (clients, &a, &b);
  ShutdownResult res = { 0 };
  gchar buf[4];

  tcp_server_shutdown_async (server, 0, NULL, shutdown_done_cb, &res);
  g_assert_true (tcp_test_run_until_flag (NULL, &res.done, TCP_TEST_TIMEOUT_MS));
  g_assert_true (res.ok);
  g_assert_cmpuint (res.n_forced, ==, 2);
  g_assert_true (g_io_stream_is_closed (a));
  g_assert_true (g_io_stream_is_closed (b));

  /* The clients see the end. */
  for (guint i = 0; i < clients->len; i++)
    {
      GSocket *client = g_ptr_array_index (clients, i);

      g_socket_set_blocking (client, TRUE);
      g_socket_set_timeout (client, 10);
      g_assert_cmpint (g_socket_receive (client, buf, sizeof buf, NULL, NULL), <=, 0);
    }
}

/* Cancelled: CANCELLED, and the connections stay open. */
static void
test_shutdown_cancelled (void)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  g_autoptr(TcpServer) server = server_with_connections (clients, &a, &b);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  ShutdownResult res = { 0 };

  tcp_server_shutdown_async (server, 100, cancellable, shutdown_done_cb, &res);
  g_cancellable_cancel (cancellable);
  g_assert_true (tcp_test_run_until_flag (NULL, &res.done, TCP_TEST_TIMEOUT_MS));
  g_assert_false (res.ok);
  g_assert_error (res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&res.error);

  /* The timeout never fires now. */
  tcp_test_run_for (NULL, 200);
  g_assert_false (g_io_stream_is_closed (a));
  g_assert_false (g_io_stream_is_closed (b));
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 2);
}

static void
shutdown_in_handler_cb (TcpServer      *server,
                        ShutdownResult *res)
{
  tcp_server_shutdown_async (server, 0, NULL, shutdown_done_cb, res);
}

/* From inside a signal handler, mid-batch. */
static void
test_shutdown_in_handler (void)
{
  g_autoptr(TcpServer) server = listening_server ();
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  ShutdownResult res = { 0 };

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, tcp_test_connect (G_SOCKET_FAMILY_IPV4,
                                                tcp_server_get_server_port (server)));
  g_signal_connect (server, "new-connection", G_CALLBACK (shutdown_in_handler_cb), &res);
  g_assert_true (tcp_test_run_until_flag (NULL, &res.done, TCP_TEST_TIMEOUT_MS));
  g_assert_true (res.ok);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_n_connections (server), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Connections/model", test_model);
  g_test_add_func ("/Tcp/Connections/model/late", test_model_late);
  g_test_add_func ("/Tcp/Connections/model/other-thread", test_model_other_thread);
  g_test_add_func ("/Tcp/Connections/model/outlives-server", test_model_outlives_server);
  g_test_add_func ("/Tcp/Connections/model/finalized-item", test_model_finalized_item);
  g_test_add_func ("/Tcp/Connections/model/last-ref-in-thread", test_model_last_ref_in_thread);
  g_test_add_func ("/Tcp/Connections/model/served-in-handler", test_model_served_in_handler);
  g_test_add_func ("/Tcp/Connections/model/dropped-in-handler", test_model_dropped_in_handler);
  g_test_add_func ("/Tcp/Connections/max-connections", test_max_connections);
  g_test_add_func ("/Tcp/Connections/per-peer/limit", test_per_peer_limit);
  g_test_add_func ("/Tcp/Connections/per-peer/limit-set-late", test_per_peer_limit_set_late);
  g_test_add_func ("/Tcp/Connections/per-peer/rate", test_rate_limit);
  g_test_add_func ("/Tcp/Connections/per-peer/rules", test_rules);
  g_test_add_func ("/Tcp/Connections/per-peer/bad-mask", test_bad_mask);
  g_test_add_func ("/Tcp/Connections/per-peer/ipv4-mapped", test_mapped_peers);
  g_test_add_func ("/Tcp/Connections/per-peer/flood", test_flood);
  g_test_add_func ("/Tcp/Connections/per-peer/table-bound", test_peer_table_bound);
  g_test_add_func ("/Tcp/Connections/shutdown/forever", test_shutdown_forever);
  g_test_add_func ("/Tcp/Connections/shutdown/timeout", test_shutdown_timeout);
  g_test_add_func ("/Tcp/Connections/shutdown/now", test_shutdown_now);
  g_test_add_func ("/Tcp/Connections/shutdown/cancelled", test_shutdown_cancelled);
  g_test_add_func ("/Tcp/Connections/shutdown/in-handler", test_shutdown_in_handler);

  return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-test-util.c: helpers shared by the C tests
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <glib/gstdio.h>

#include "tcp-test-util.h"

gboolean
tcp_test_under_valgrind (void)
{
  return g_getenv ("TCP_TEST_UNDER_VALGRIND") != NULL;
}

/* Whether ::1 can be bound: some containers run without IPv6. */
gboolean
tcp_test_have_ipv6 (void)
{
  static gsize result = 0;

  if (g_once_init_enter (&result))
    {
      g_autoptr(GSocket) socket = NULL;
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
      gboolean have;

      socket = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_TCP, NULL);
      have = socket != NULL && g_socket_bind (socket, address, FALSE, NULL);
      g_once_init_leave (&result, have ? 2 : 1);
    }

  return result == 2;
}

/* Call first in a test that needs IPv6: returns TRUE (and marks the test
 * skipped) when the machine has none. */
gboolean
tcp_test_skip_without_ipv6 (void)
{
  if (tcp_test_have_ipv6 ())
    return FALSE;

  g_test_skip ("no IPv6 loopback on this machine");
  return TRUE;
}

/* A plain blocking GSocket connect: no GSocketClient, so no proxy resolver
 * and no network monitor. On loopback the kernel completes the handshake
 * from its listen queue, so this returns before the server accepts. */
GSocket *
tcp_test_try_connect (GSocketFamily   family,
                      guint16         port,
                      GError        **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;

  /* Reads in the tests must fail rather than hang when a bug keeps the
   * server from answering. */
  g_socket_set_timeout (socket, TCP_TEST_TIMEOUT_MS / 1000);

  loopback = g_inet_address_new_loopback (family);
  address = g_inet_socket_address_new (loopback, port);
  if (!g_socket_connect (socket, address, NULL, error))
    return NULL;

  return g_steal_pointer (&socket);
}

GSocket *
tcp_test_connect (GSocketFamily family,
                  guint16       port)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = tcp_test_try_connect (family, port, &error);

  g_assert_no_error (error);
  g_assert_nonnull (socket);
  return socket;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context (NULL: the thread-default one) until @condition holds or
 * @timeout_ms pass. Returns whether @condition holds. */
gboolean
tcp_test_run_until (GMainContext     *context,
                    TcpTestCondition  condition,
                    gpointer          user_data,
                    guint             timeout_ms)
{
  g_autoptr(GSource) timeout = g_timeout_source_new (timeout_ms);
  gboolean timed_out = FALSE;

  if (context == NULL)
    context = g_main_context_get_thread_default ();

  g_source_set_callback (timeout, timeout_cb, &timed_out, NULL);
  g_source_set_static_name (timeout, "[tcp-test] timeout guard");
  g_source_attach (timeout, context);

  while (!condition (user_data) && !timed_out)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  return condition (user_data);
}

typedef struct
{
  const guint *counter;
  guint        target;
} UintCondition;

static gboolean
uint_reached (gpointer user_data)
{
  UintCondition *cond = user_data;

  return *cond->counter >= cond->target;
}

/* Runs until *@counter >= @target. */
gboolean
tcp_test_run_until_uint (GMainContext *context,
                         const guint  *counter,
                         guint         target,
                         guint         timeout_ms)
{
  UintCondition cond = { counter, target };

  return tcp_test_run_until (context, uint_reached, &cond, timeout_ms);
}

static gboolean
flag_set (gpointer user_data)
{
  return *(const gboolean *) user_data;
}

gboolean
tcp_test_run_until_flag (GMainContext   *context,
                         const gboolean *flag,
                         guint           timeout_ms)
{
  return tcp_test_run_until (context, flag_set, (gpointer) flag, timeout_ms);
}

static gboolean
never (gpointer user_data)
{
  return FALSE;
}

/* Iterates @context for @msec, dispatching whatever becomes ready. */
void
tcp_test_run_for (GMainContext *context,
                  guint         msec)
{
  tcp_test_run_until (context, never, NULL, msec);
}

/* Iterates @context for @msec and returns how many iterations dispatched
 * something (the timeout guard's own is not counted). An idle server
 * dispatches a handful; a busy loop dispatches thousands. */
guint
tcp_test_count_dispatches (GMainContext *context,
                           guint         msec)
{
  g_autoptr(GSource) timeout = g_timeout_source_new (msec);
  gboolean timed_out = FALSE;
  guint n = 0;

  g_source_set_callback (timeout, timeout_cb, &timed_out, NULL);
  g_source_set_static_name (timeout, "[tcp-test] dispatch counter");
  g_source_attach (timeout, context);

  while (!timed_out)
    {
      if (g_main_context_iteration (context, TRUE) && !timed_out)
        n++;
    }

  g_source_destroy (timeout);
  return n;
}

static gboolean
pending_reached (gpointer user_data)
{
  gpointer *args = user_data;

  return tcp_server_get_n_pending_connections (args[0]) >= GPOINTER_TO_UINT (args[1]);
}

/* Runs the thread-default context until @server holds @n pending
 * connections. */
gboolean
tcp_test_wait_pending (TcpServer *server,
                       guint      n,
                       guint      timeout_ms)
{
  gpointer args[2] = { server, GUINT_TO_POINTER (n) };

  return tcp_test_run_until (g_main_context_get_thread_default (),
                             pending_reached, args, timeout_ms);
}

/* A signal handler that counts emissions: connect with
 * G_CALLBACK (tcp_test_count_cb) and a guint * as data. */
void
tcp_test_count_cb (gpointer  instance,
                   guint    *counter)
{
  (*counter)++;
}

/* Reads what is available, blocking up to the socket's timeout. Returns the
 * byte count (0 at end of file) or -1 with @error set. */
gssize
tcp_test_read_some (GSocket  *socket,
                    gchar    *buffer,
                    gsize     size,
                    GError  **error)
{
  return g_socket_receive (socket, buffer, size, NULL, error);
}

guint16
tcp_test_socket_local_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (socket, NULL);

  g_assert_true (G_IS_INET_SOCKET_ADDRESS (address));
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

guint16
tcp_test_stream_remote_port (GIOStream *stream)
{
  g_autoptr(GSocketAddress) address = NULL;

  g_assert_true (G_IS_SOCKET_CONNECTION (stream));
  address = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (stream), NULL);
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (address));
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

/* Makes a fresh directory from @dir_template (mkdtemp style) and fills it
 * with throw-away certificates and keys from make-test-certs.sh (certtool).
 * Returns the directory; remove it with tcp_test_remove_certificates(). */
gchar *
tcp_test_make_certificates (const gchar *dir_template)
{
  g_autofree gchar *script = g_test_build_filename (G_TEST_DIST, "make-test-certs.sh", NULL);
  const gchar *argv[] = { "/bin/sh", script, NULL, NULL };
  g_autoptr(GError) error = NULL;
  gchar *dir;
  gint status;

  dir = g_dir_make_tmp (dir_template, &error);
  g_assert_no_error (error);

  argv[2] = dir;
  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);

  return dir;
}

void
tcp_test_remove_certificates (const gchar *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/* A GAsyncReadyCallback for tcp_server_accept_async(); @user_data is a
 * TcpTestAcceptResult. */
void
tcp_test_accept_result_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  TcpTestAcceptResult *res = user_data;

  res->connection = tcp_server_accept_finish (TCP_SERVER (object), result, &res->error);
  res->n_done++;
  if (res->order != NULL)
    g_string_append_c (res->order, res->tag);
}

void
tcp_test_accept_result_clear (TcpTestAcceptResult *result)
{
  g_clear_object (&result->connection);
  g_clear_error (&result->error);
}

gint64
tcp_test_thread_cpu_us (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts), ==, 0);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

struct _TcpTestOwner
{
  GMainContext     *context;
  GThread          *thread;
  TcpTestOwnerFunc  setup;
  TcpTestOwnerFunc  teardown;
  gpointer          data;
  gboolean          run;    /* iterate the context, or only hold it */
  GMutex            mutex;
  GCond             cond;
  gboolean          ready;
  gboolean          stop;
  guint             n_invoked;
};

static gpointer
owner_thread (gpointer data)
{
  TcpTestOwner *owner = data;

  g_main_context_push_thread_default (owner->context);
  owner->setup (owner->data);

  g_mutex_lock (&owner->mutex);
  owner->ready = TRUE;
  g_cond_broadcast (&owner->cond);
  while (!owner->stop)
    {
      if (owner->run)
        {
          g_mutex_unlock (&owner->mutex);
          g_main_context_iteration (owner->context, TRUE);
          g_mutex_lock (&owner->mutex);
        }
      else
        {
          g_cond_wait (&owner->cond, &owner->mutex);
        }
    }
  g_mutex_unlock (&owner->mutex);

  owner->teardown (owner->data);
  g_main_context_pop_thread_default (owner->context);
  return NULL;
}

/* Returns once @setup has run in the new thread. */
TcpTestOwner *
tcp_test_owner_start (gboolean         run,
                      TcpTestOwnerFunc setup,
                      TcpTestOwnerFunc teardown,
                      gpointer         data)
{
  TcpTestOwner *owner = g_new0 (TcpTestOwner, 1);

  owner->context = g_main_context_new ();
  owner->run = run;
  owner->setup = setup;
  owner->teardown = teardown;
  owner->data = data;
  g_mutex_init (&owner->mutex);
  g_cond_init (&owner->cond);
  owner->thread = g_thread_new ("context-owner", owner_thread, owner);

  g_mutex_lock (&owner->mutex);
  while (!owner->ready)
    g_cond_wait (&owner->cond, &owner->mutex);
  g_mutex_unlock (&owner->mutex);

  return owner;
}

GMainContext *
tcp_test_owner_get_context (TcpTestOwner *owner)
{
  return owner->context;
}

typedef struct
{
  TcpTestOwner     *owner;
  TcpTestOwnerFunc  func;
  gpointer          data;
} Invocation;

static gboolean
invoke_cb (gpointer user_data)
{
  Invocation *invocation = user_data;
  TcpTestOwner *owner = invocation->owner;

  invocation->func (invocation->data);
  g_mutex_lock (&owner->mutex);
  owner->n_invoked++;
  g_cond_broadcast (&owner->cond);
  g_mutex_unlock (&owner->mutex);
  return G_SOURCE_REMOVE;
}

/* Runs @func in a thread that iterates its context, and waits for it. */
void
tcp_test_owner_invoke_sync (TcpTestOwner     *owner,
                            TcpTestOwnerFunc  func,
                            gpointer          data)
{
  Invocation invocation = { owner, func, data };
  guint n;

  g_assert_true (owner->run);
  g_mutex_lock (&owner->mutex);
  n = owner->n_invoked;
  g_mutex_unlock (&owner->mutex);

  g_main_context_invoke (owner->context, invoke_cb, &invocation);

  g_mutex_lock (&owner->mutex);
  while (owner->n_invoked == n)
    g_cond_wait (&owner->cond, &owner->mutex);
  g_mutex_unlock (&owner->mutex);
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

void
tcp_test_owner_stop (TcpTestOwner *owner)
{
  g_mutex_lock (&owner->mutex);
  owner->stop = TRUE;
  g_cond_broadcast (&owner->cond);
  g_mutex_unlock (&owner->mutex);
  g_main_context_invoke (owner->context, wake_cb, NULL);
  g_thread_join (owner->thread);

  g_main_context_unref (owner->context);
  g_mutex_clear (&owner->mutex);
  g_cond_clear (&owner->cond);
  g_free (owner);
}

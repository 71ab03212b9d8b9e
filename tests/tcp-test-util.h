/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-test-util.h: helpers shared by the C tests
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <tcp.h>

G_BEGIN_DECLS

/* How long a test waits for something that should happen at once. Generous,
 * so that a slow machine or valgrind does not fail a correct test; a bug
 * still fails instead of hanging. */
#define TCP_TEST_TIMEOUT_MS 10000

typedef gboolean (*TcpTestCondition) (gpointer user_data);

gboolean  tcp_test_under_valgrind (void);
gboolean  tcp_test_have_ipv6      (void);
gboolean  tcp_test_skip_without_ipv6 (void);

GSocket  *tcp_test_try_connect    (GSocketFamily   family,
                                   guint16         port,
                                   GError        **error);
GSocket  *tcp_test_connect        (GSocketFamily   family,
                                   guint16         port);

gboolean  tcp_test_run_until      (GMainContext     *context,
                                   TcpTestCondition  condition,
                                   gpointer          user_data,
                                   guint             timeout_ms);
gboolean  tcp_test_run_until_uint (GMainContext     *context,
                                   const guint      *counter,
                                   guint             target,
                                   guint             timeout_ms);
gboolean  tcp_test_run_until_flag (GMainContext     *context,
                                   const gboolean   *flag,
                                   guint             timeout_ms);
void      tcp_test_run_for        (GMainContext     *context,
                                   guint             msec);
guint     tcp_test_count_dispatches (GMainContext   *context,
                                   guint             msec);

/* What tcp_test_accept_result_cb() records of one accept_async() call.
 * @order and @tag (optional) record the order in which several calls
 * completed: each appends its @tag to @order. */
typedef struct
{
  GIOStream *connection;
  GError    *error;
  guint      n_done;
  GString   *order;      /* nullable */
  gchar      tag;
} TcpTestAcceptResult;

void      tcp_test_accept_result_cb    (GObject             *object,
                                        GAsyncResult        *result,
                                        gpointer             user_data);
void      tcp_test_accept_result_clear (TcpTestAcceptResult *result);

gboolean  tcp_test_wait_pending   (TcpServer        *server,
                                   guint             n,
                                   guint             timeout_ms);

void      tcp_test_count_cb       (gpointer          instance,
                                   guint            *counter);

gssize    tcp_test_read_some      (GSocket          *socket,
                                   gchar            *buffer,
                                   gsize             size,
                                   GError          **error);

guint16   tcp_test_socket_local_port  (GSocket      *socket);
guint16   tcp_test_stream_remote_port (GIOStream    *stream);

gchar    *tcp_test_make_certificates  (const gchar  *dir_template);
void      tcp_test_remove_certificates (const gchar *dir);

/* The CPU time of the calling thread, in µs. */
gint64    tcp_test_thread_cpu_us  (void);

/* A thread that owns a context of its own: it pushes the context as its
 * thread-default, runs @setup there, then iterates the context (@run) or
 * only holds it until tcp_test_owner_stop(), which runs @teardown there
 * and joins it. For what another thread that owns a server's context does
 * to a caller of wait_for_new_connection(). */
typedef struct _TcpTestOwner TcpTestOwner;
typedef void (*TcpTestOwnerFunc) (gpointer data);

TcpTestOwner *tcp_test_owner_start       (gboolean          run,
                                          TcpTestOwnerFunc  setup,
                                          TcpTestOwnerFunc  teardown,
                                          gpointer          data);
GMainContext *tcp_test_owner_get_context (TcpTestOwner     *owner);
void          tcp_test_owner_invoke_sync (TcpTestOwner     *owner,
                                          TcpTestOwnerFunc  func,
                                          gpointer          data);
void          tcp_test_owner_stop        (TcpTestOwner     *owner);

G_END_DECLS

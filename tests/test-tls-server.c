/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-tls-server.c: TcpTlsServer against real TLS, plaintext and silent clients
 *
 * Copyright 2026 The libtcp authors
 *
 * The certificates are made fresh for every run by make-test-certs.sh; the
 * handshakes go through glib-networking's GnuTLS backend on both sides.
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <tcp.h>

#include "tcp-server-private.h"
#include "tcp-test-util.h"

static gchar *cert_dir;

static gchar *
cert_path (const gchar *name)
{
  return g_build_filename (cert_dir, name, NULL);
}

static GTlsCertificate *
load_pair (const gchar *name)
{
  g_autofree gchar *crt_name = g_strconcat (name, ".crt", NULL);
  g_autofree gchar *key_name = g_strconcat (name, ".key", NULL);
  g_autofree gchar *crt = cert_path (crt_name);
  g_autofree gchar *key = cert_path (key_name);
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate;

  certificate = g_tls_certificate_new_from_files (crt, key, &error);
  g_assert_no_error (error);
  return certificate;
}

static GTlsDatabase *
load_ca (void)
{
  g_autofree gchar *ca = cert_path ("ca.crt");
  g_autoptr(GError) error = NULL;
  GTlsDatabase *database;

  database = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  return database;
}

/* Slow under valgrind: a handshake there takes far longer than natively. */
static guint
short_timeout (void)
{
  /* Long enough for a real handshake on a loaded 2-core machine; valgrind
   * and the sanitizers (TCP_TEST_SLOW) make GnuTLS several times slower. */
  if (g_getenv ("TCP_TEST_UNDER_VALGRIND") != NULL || g_getenv ("TCP_TEST_SLOW") != NULL)
    return 3000;
  return 1000;
}

/* Iterates the default context until *@flag is set; fails after
 * @timeout_ms instead of hanging. */
static gboolean
guard_cb (gpointer user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer data);

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
run_until (Condition condition,
           gpointer  data,
           guint     timeout_ms)
{
  gboolean fired = FALSE;
  guint guard = g_timeout_add (timeout_ms, guard_cb, &fired);
  /* Some conditions change in other threads (GIO's TLS worker threads drop
   * the last reference to a connection), which wakes no main context. */
  guint tick = g_timeout_add (10, tick_cb, NULL);

  while (!condition (data) && !fired)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (tick);
  if (!fired)
    g_source_remove (guard);
  g_assert_true (condition (data));
}

/* Runs the default context for @ms whatever happens. */
static void
run_for (guint ms)
{
  gboolean fired = FALSE;

  g_timeout_add (ms, guard_cb, &fired);
  while (!fired)
    g_main_context_iteration (NULL, TRUE);
}

/* What a server did, as its signals told it. */
typedef struct
{
  TcpServer *server;
  GString   *events;        /* "S" started, "N" new-connection, "P" pending, "F" failed */
  guint      n_started;
  guint      n_new;
  guint      n_pending;
  guint      n_failed;
  guint      max_in_flight;
  GPtrArray *errors;        /* GError * from handshake-failed */
  GPtrArray *connections;   /* GIOStream * taken from the queue */
  GPtrArray *weak;          /* GIOStream ** watched until finalized */
  gboolean   greet;         /* write a line on every queued connection */
  gboolean   close_on_start;
} Record;

static void
started_cb (TcpTlsServer         *server,
            GTlsServerConnection *connection,
            Record               *record)
{
  GIOStream **slot = g_new0 (GIOStream *, 1);
  guint in_flight;

  g_assert_true (G_IS_TLS_SERVER_CONNECTION (connection));
  record->n_started++;
  g_string_append_c (record->events, 'S');

  /* Handshakes hold slots: never more in flight than the queue allows. */
  in_flight = tcp_tls_server_get_n_handshakes (server);
  record->max_in_flight = MAX (record->max_in_flight, in_flight);
  g_assert_cmpuint (in_flight + tcp_server_get_n_pending_connections (TCP_SERVER (server)), <=,
                    (guint) tcp_server_get_max_pending_connections (TCP_SERVER (server)));
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, in_flight);

  *slot = G_IO_STREAM (connection);
  g_object_add_weak_pointer (G_OBJECT (connection), (gpointer *) slot);
  g_ptr_array_add (record->weak, slot);

  if (record->close_on_start)
    tcp_server_close (TCP_SERVER (server));
}

static void
new_connection_cb (TcpServer *server,
                   Record    *record)
{
  record->n_new++;
  g_string_append_c (record->events, 'N');
}

static void
pending_cb (TcpServer *server,
            Record    *record)
{
  GIOStream *connection;

  record->n_pending++;
  g_string_append_c (record->events, 'P');

  while ((connection = tcp_server_next_pending_connection (server)) != NULL)
    {
      if (record->greet)
        {
          GOutputStream *out = g_io_stream_get_output_stream (connection);
          g_autoptr(GError) error = NULL;

          g_output_stream_write_all (out, "hello\n", 6, NULL, NULL, &error);
          g_assert_no_error (error);
        }
      g_ptr_array_add (record->connections, connection);
    }
}

static void
failed_cb (TcpTlsServer *server,
           GIOStream    *connection,
           const GError *error,
           Record       *record)
{
  g_assert_true (G_IS_IO_STREAM (connection));
  g_assert_nonnull (error);
  record->n_failed++;
  g_string_append_c (record->events, 'F');
  g_ptr_array_add (record->errors, g_error_copy (error));
}

static void
free_weak_slot (gpointer data)
{
  GIOStream **slot = data;

  if (*slot != NULL)
    g_object_remove_weak_pointer (G_OBJECT (*slot), (gpointer *) slot);
  g_free (slot);
}

static void
record_init (Record    *record,
             TcpServer *server)
{
  memset (record, 0, sizeof *record);
  record->server = server;
  record->events = g_string_new (NULL);
  record->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  record->connections = g_ptr_array_new_with_free_func (g_object_unref);
  record->weak = g_ptr_array_new_with_free_func (free_weak_slot);
  record->greet = TRUE;

  g_signal_connect (server, "started-encryption-handshake", G_CALLBACK (started_cb), record);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), record);
  g_signal_connect (server, "pending-connection-available", G_CALLBACK (pending_cb), record);
  g_signal_connect (server, "handshake-failed", G_CALLBACK (failed_cb), record);
}

static void
record_clear (Record *record)
{
  if (record->server != NULL)
    g_signal_handlers_disconnect_by_data (record->server, record);
  g_string_free (record->events, TRUE);
  g_ptr_array_unref (record->errors);
  g_ptr_array_unref (record->connections);
  g_ptr_array_unref (record->weak);
}

static gboolean
all_finalized (gpointer data)
{
  Record *record = data;

  for (guint i = 0; i < record->weak->len; i++)
    if (*(GIOStream **) g_ptr_array_index (record->weak, i) != NULL)
      return FALSE;
  return TRUE;
}

static gboolean
n_failed_reached (gpointer data)
{
  Record *record = data;

  return record->n_failed >= GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (record->server),
                                                                  "want-failed"));
}

/* Runs until @n handshakes failed. */
static void
run_until_failed (Record *record,
                  guint   n,
                  guint   timeout_ms)
{
  g_object_set_data (G_OBJECT (record->server), "want-failed", GUINT_TO_POINTER (n));
  run_until (n_failed_reached, record, timeout_ms);
}

static gboolean
n_handshakes_reached (gpointer data)
{
  TcpTlsServer *server = data;

  return tcp_tls_server_get_n_handshakes (server) >=
         GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (server), "want-handshakes"));
}

static void
run_until_handshakes (TcpTlsServer *server,
                      guint         n,
                      guint         timeout_ms)
{
  g_object_set_data (G_OBJECT (server), "want-handshakes", GUINT_TO_POINTER (n));
  run_until (n_handshakes_reached, server, timeout_ms);
}

static TcpTlsServer *
new_listening_server (void)
{
  g_autoptr(GTlsCertificate) certificate = load_pair ("server");
  g_autoptr(GError) error = NULL;
  TcpTlsServer *server = tcp_tls_server_new (certificate);

  g_assert_true (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  return server;
}

static GSocketConnection *
connect_plain (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  /* Reads in the tests must end, whatever the server does. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 20);
  return connection;
}

/* Reads until end-of-stream: TRUE if the server closed the connection
 * (EOF or a reset), FALSE if it sent data or the read timed out. */
static gboolean
reads_closed (GIOStream *connection)
{
  GInputStream *in = g_io_stream_get_input_stream (connection);
  g_autoptr(GError) error = NULL;
  gchar buffer[64];
  gssize n;

  n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &error);
  if (n == 0)
    return TRUE;
  return n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* A TLS client in its own thread, so that it runs whatever the main thread
 * does (blocking in wait_for_new_connection() included). */
typedef struct
{
  guint16          port;
  GTlsCertificate *certificate;     /* offered to the server, or NULL */
  GTlsDatabase    *ca;

  gboolean         connected;
  gboolean         handshake_ok;
  GError          *error;
  gchar           *line;            /* what the server sent after the handshake */
  GTlsCertificate *peer;
  gboolean         done;
  GThread         *thread;
} TlsClient;

static gpointer
tls_client_thread (gpointer data)
{
  TlsClient *client = data;
  g_autoptr(GSocketConnection) base = connect_plain (client->port);
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("localhost", client->port);
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GDataInputStream) lines = NULL;

  client->connected = TRUE;
  connection = g_tls_client_connection_new (G_IO_STREAM (base), identity, &client->error);
  if (connection == NULL)
    goto out;

  g_tls_connection_set_database (G_TLS_CONNECTION (connection), client->ca);
  if (client->certificate != NULL)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (connection), client->certificate);

  client->handshake_ok = g_tls_connection_handshake (G_TLS_CONNECTION (connection), NULL,
                                                     &client->error);
  if (!client->handshake_ok)
    goto out;

  client->peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (connection));
  if (client->peer != NULL)
    g_object_ref (client->peer);

  /* With TLS 1.3 the server judges a client certificate after the client's
   * handshake ends: a rejection shows up here. */
  lines = g_data_input_stream_new (g_io_stream_get_input_stream (connection));
  client->line = g_data_input_stream_read_line (lines, NULL, NULL, &client->error);
  g_io_stream_close (connection, NULL, NULL);

out:
  g_atomic_int_set (&client->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static TlsClient *
tls_client_start (guint16          port,
                  GTlsCertificate *certificate)
{
  TlsClient *client = g_new0 (TlsClient, 1);

  client->port = port;
  client->certificate = certificate != NULL ? g_object_ref (certificate) : NULL;
  client->ca = load_ca ();
  client->thread = g_thread_new ("tls-client", tls_client_thread, client);
  return client;
}

static gboolean
tls_client_done (gpointer data)
{
  TlsClient *client = data;

  return g_atomic_int_get (&client->done);
}

static void
tls_client_free (TlsClient *client)
{
  g_thread_join (client->thread);
  g_clear_object (&client->certificate);
  g_clear_object (&client->ca);
  g_clear_object (&client->peer);
  g_clear_error (&client->error);
  g_free (client->line);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlsClient, tls_client_free)

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_properties (void)
{
  g_autoptr(GTlsCertificate) certificate = load_pair ("server");
  g_autoptr(GTlsDatabase) ca = load_ca ();
  g_autoptr(TcpTlsServer) server = tcp_tls_server_new (NULL);
  g_autoptr(GTlsCertificate) got_certificate = NULL;
  g_autoptr(GTlsDatabase) got_database = NULL;
  GTlsAuthenticationMode mode;
  guint timeout, notified = 0;

  g_assert_true (TCP_IS_SERVER (server));
  g_assert_null (tcp_tls_server_get_certificate (server));
  g_assert_null (tcp_tls_server_get_database (server));
  g_assert_cmpint (tcp_tls_server_get_authentication_mode (server), ==,
                   G_TLS_AUTHENTICATION_NONE);
  g_assert_cmpuint (tcp_tls_server_get_handshake_timeout (server), ==, 5000);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpint (tcp_server_get_max_pending_connections (TCP_SERVER (server)), ==, 30);

  g_signal_connect (server, "notify", G_CALLBACK (count_notify_cb), &notified);

  tcp_tls_server_set_certificate (server, certificate);
  tcp_tls_server_set_certificate (server, certificate);
  tcp_tls_server_set_database (server, ca);
  tcp_tls_server_set_authentication_mode (server, G_TLS_AUTHENTICATION_REQUIRED);
  tcp_tls_server_set_handshake_timeout (server, 250);
  tcp_tls_server_set_handshake_timeout (server, 250);
  g_assert_cmpuint (notified, ==, 4);

  g_object_get (server,
                "certificate", &got_certificate,
                "database", &got_database,
                "authentication-mode", &mode,
                "handshake-timeout", &timeout,
                NULL);
  g_assert_true (got_certificate == certificate);
  g_assert_true (got_database == ca);
  g_assert_cmpint (mode, ==, G_TLS_AUTHENTICATION_REQUIRED);
  g_assert_cmpuint (timeout, ==, 250);

  tcp_tls_server_set_database (server, NULL);
  g_assert_null (tcp_tls_server_get_database (server));
  g_assert_cmpuint (notified, ==, 5);
}

static void
test_load (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autofree gchar *key = cert_path ("server.key");
  g_autofree gchar *other = cert_path ("other.key");
  g_autofree gchar *missing = cert_path ("missing.crt");
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(TcpTlsServer) server = NULL;
  g_autoptr(GError) error = NULL;

  certificate = tcp_tls_server_load_certificate (crt, key, &error);
  g_assert_no_error (error);
  g_assert_true (G_IS_TLS_CERTIFICATE (certificate));

  server = tcp_tls_server_new_from_files (crt, key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tcp_tls_server_get_certificate (server));
  g_clear_object (&server);

  /* A missing file. */
  server = tcp_tls_server_new_from_files (missing, key, &error);
  g_assert_null (server);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing.crt"));
  g_clear_error (&error);

  /* A key that belongs to another certificate. */
  server = tcp_tls_server_new_from_files (crt, other, &error);
  g_assert_null (server);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "does not match"));
  g_assert_nonnull (strstr (error->message, "other.key"));
  g_clear_error (&error);

  /* Files swapped: no key where the key should be. */
  server = tcp_tls_server_new_from_files (crt, crt, &error);
  g_assert_null (server);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
}

static void
test_listen_without_certificate (void)
{
  g_autofree gchar *crt = cert_path ("server.crt");
  g_autoptr(TcpTlsServer) server = tcp_tls_server_new (NULL);
  g_autoptr(GTlsCertificate) bare = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no certificate"));
  g_assert_false (tcp_server_is_listening (TCP_SERVER (server)));
  g_assert_cmpint (tcp_server_get_server_error (TCP_SERVER (server)), ==,
                   G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A certificate without its private key cannot serve. */
  bare = g_tls_certificate_new_from_file (crt, &error);
  g_assert_no_error (error);
  tcp_tls_server_set_certificate (server, bare);
  g_assert_false (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "private key"));
  g_assert_false (tcp_server_is_listening (TCP_SERVER (server)));
}

/* Runs in a child process whose GIO finds no TLS backend. */
static void
check_no_backend (void)
{
  g_autoptr(TcpTlsServer) server = tcp_tls_server_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_assert_false (g_tls_backend_supports_tls (g_tls_backend_get_default ()));

  g_assert_false (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "glib-networking"));
  g_assert_false (tcp_server_is_listening (TCP_SERVER (server)));
  g_clear_error (&error);

  g_assert_false (tcp_server_set_socket_descriptor (TCP_SERVER (server), 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  certificate = tcp_tls_server_load_certificate ("server.crt", "server.key", &error);
  g_assert_null (certificate);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}

static void
test_no_backend_dummy (void)
{
  if (g_test_subprocess ())
    {
      /* GIO's built-in dummy backend, chosen before anything asks for one. */
      g_setenv ("GIO_USE_TLS", "dummy", TRUE);
      check_no_backend ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_no_backend_module_dir (void)
{
  if (g_test_subprocess ())
    {
      /* No modules at all, as on a system without glib-networking. */
      g_autofree gchar *empty = g_dir_make_tmp ("tcp-no-modules-XXXXXX", NULL);

      g_assert_nonnull (empty);
      g_setenv ("GIO_MODULE_DIR", empty, TRUE);
      g_unsetenv ("GIO_EXTRA_MODULES");
      check_no_backend ();
      g_rmdir (empty);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_good_client (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(TlsClient) client = NULL;
  Record record;
  GIOStream *connection;

  record_init (&record, TCP_SERVER (server));
  client = tls_client_start (tcp_server_get_server_port (TCP_SERVER (server)), NULL);
  run_until (tls_client_done, client, 10000);

  g_assert_no_error (client->error);
  g_assert_true (client->handshake_ok);
  g_assert_cmpstr (client->line, ==, "hello");
  g_assert_nonnull (client->peer);
  g_assert_true (g_tls_certificate_is_same (client->peer, tcp_tls_server_get_certificate (server)));

  /* new-connection at accept, pending-connection-available after the
   * handshake; the started signal comes first. */
  g_assert_cmpstr (record.events->str, ==, "SNP");
  g_assert_cmpuint (record.connections->len, ==, 1);
  connection = g_ptr_array_index (record.connections, 0);
  g_assert_true (G_IS_TLS_SERVER_CONNECTION (connection));
  g_assert_true (connection == *(GIOStream **) g_ptr_array_index (record.weak, 0));
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, 0);

  /* Connections handed out survive close(). */
  tcp_server_close (TCP_SERVER (server));
  g_assert_false (g_io_stream_is_closed (connection));
  record_clear (&record);
}

static void
test_plaintext_client (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GSocketConnection) client = NULL;
  g_autoptr(GError) error = NULL;
  const gchar *request = "GET / HTTP/1.0\r\n\r\n";
  const GError *failure;
  Record record;
  gint64 elapsed;

  record_init (&record, TCP_SERVER (server));
  /* A long timeout: the drop must come from the bytes, not the clock. */
  tcp_tls_server_set_handshake_timeout (server, 20000);

  elapsed = g_get_monotonic_time ();
  client = connect_plain (tcp_server_get_server_port (TCP_SERVER (server)));
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (client)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);

  run_until_failed (&record, 1, 15000);
  elapsed = g_get_monotonic_time () - elapsed;

  g_assert_cmpuint (record.n_failed, ==, 1);
  g_assert_cmpuint (record.n_pending, ==, 0);
  g_assert_cmpstr (record.events->str, ==, "SNF");
  failure = g_ptr_array_index (record.errors, 0);
  /* Told by its first byte, before GIO is involved. */
  g_assert_error (failure, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS);
  g_assert_nonnull (strstr (failure->message, "127.0.0.1"));
  g_assert_nonnull (strstr (failure->message, "0x47"));
  g_assert_cmpint (elapsed, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, 0);
  g_assert_false (tcp_server_has_pending_connections (TCP_SERVER (server)));

  /* The server closed the socket. */
  g_assert_true (reads_closed (G_IO_STREAM (client)));
  run_until (all_finalized, &record, 5000);
  record_clear (&record);
}

static void
test_silent_client (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GSocketConnection) client = NULL;
  const GError *failure;
  Record record;
  gint64 elapsed;

  record_init (&record, TCP_SERVER (server));
  tcp_tls_server_set_handshake_timeout (server, short_timeout ());

  elapsed = g_get_monotonic_time ();
  client = connect_plain (tcp_server_get_server_port (TCP_SERVER (server)));
  run_until_handshakes (server, 1, 5000);
  run_until_failed (&record, 1, 10 * short_timeout ());
  elapsed = g_get_monotonic_time () - elapsed;

  g_assert_cmpstr (record.events->str, ==, "SNF");
  failure = g_ptr_array_index (record.errors, 0);
  g_assert_error (failure, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (failure->message, "did not complete"));
  g_assert_cmpint (elapsed, >=, (gint64) short_timeout () * 1000);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, 0);

  g_assert_true (reads_closed (G_IO_STREAM (client)));
  run_until (all_finalized, &record, 5000);
  record_clear (&record);
}

static void
test_slowloris (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GPtrArray) silent = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TlsClient) good = NULL;
  guint16 port = tcp_server_get_server_port (TCP_SERVER (server));
  Record record;
  gint64 start;

  record_init (&record, TCP_SERVER (server));
  tcp_tls_server_set_handshake_timeout (server, short_timeout ());
  tcp_server_set_max_pending_connections (TCP_SERVER (server), 5);

  /* Eight silent clients reach the kernel's queue before the good one. */
  start = g_get_monotonic_time ();
  for (guint i = 0; i < 8; i++)
    g_ptr_array_add (silent, connect_plain (port));
  good = tls_client_start (port, NULL);

  run_until (tls_client_done, good, 30 * short_timeout ());
  g_assert_no_error (good->error);
  g_assert_true (good->handshake_ok);
  g_assert_cmpstr (good->line, ==, "hello");
  /* It had to wait for the first five silent ones to time out. */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, (gint64) short_timeout () * 1000);
  /* It is the ninth client: four of the first five slots had to free up. */
  g_assert_cmpuint (record.n_failed, >=, 4);

  run_until_failed (&record, 8, 30 * short_timeout ());
  g_assert_cmpuint (record.n_started, ==, 9);
  g_assert_cmpuint (record.n_new, ==, 9);
  g_assert_cmpuint (record.n_pending, ==, 1);
  g_assert_cmpuint (record.max_in_flight, ==, 5);
  for (guint i = 0; i < record.errors->len; i++)
    g_assert_error ((GError *) g_ptr_array_index (record.errors, i),
                    G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  for (guint i = 0; i < silent->len; i++)
    g_assert_true (reads_closed (g_ptr_array_index (silent, i)));

  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, 0);
  g_clear_pointer (&record.connections, g_ptr_array_unref);
  record.connections = g_ptr_array_new_with_free_func (g_object_unref);
  run_until (all_finalized, &record, 5000);
  record_clear (&record);
}

static void
client_certificate (const gchar *which,
                    gboolean     accepted)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GTlsDatabase) ca = load_ca ();
  g_autoptr(GTlsCertificate) certificate = which != NULL ? load_pair (which) : NULL;
  g_autoptr(TlsClient) client = NULL;
  Record record;

  record_init (&record, TCP_SERVER (server));
  tcp_tls_server_set_authentication_mode (server, G_TLS_AUTHENTICATION_REQUIRED);
  tcp_tls_server_set_database (server, ca);

  client = tls_client_start (tcp_server_get_server_port (TCP_SERVER (server)), certificate);
  run_until (tls_client_done, client, 10000);

  if (accepted)
    {
      GIOStream *connection;
      GTlsCertificate *peer;

      g_assert_no_error (client->error);
      g_assert_cmpstr (client->line, ==, "hello");
      g_assert_cmpstr (record.events->str, ==, "SNP");
      connection = g_ptr_array_index (record.connections, 0);
      peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (connection));
      g_assert_nonnull (peer);
      g_assert_true (g_tls_certificate_is_same (peer, certificate));
      g_assert_cmpint (g_tls_connection_get_peer_certificate_errors (G_TLS_CONNECTION (connection)),
                       ==, 0);
    }
  else
    {
      const GError *failure;

      /* The client never got a greeting, and the server said why. */
      g_assert_null (client->line);
      run_until_failed (&record, 1, 10000);
      g_assert_cmpstr (record.events->str, ==, "SNF");
      failure = g_ptr_array_index (record.errors, 0);
      g_assert_true (failure->domain == G_TLS_ERROR);
      g_assert_cmpuint (record.n_pending, ==, 0);
    }

  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_clear_pointer (&record.connections, g_ptr_array_unref);
  record.connections = g_ptr_array_new_with_free_func (g_object_unref);
  run_until (all_finalized, &record, 5000);
  record_clear (&record);
}

static void
test_client_certificate_valid (void)
{
  client_certificate ("client", TRUE);
}

static void
test_client_certificate_missing (void)
{
  client_certificate (NULL, FALSE);
}

static void
test_client_certificate_untrusted (void)
{
  client_certificate ("rogue", FALSE);
}

static void
test_close_during_handshakes (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GPtrArray) silent = g_ptr_array_new_with_free_func (g_object_unref);
  guint16 port = tcp_server_get_server_port (TCP_SERVER (server));
  Record record;

  record_init (&record, TCP_SERVER (server));
  tcp_tls_server_set_handshake_timeout (server, short_timeout ());

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (silent, connect_plain (port));
  run_until_handshakes (server, 3, 5000);

  tcp_server_close (TCP_SERVER (server));
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_cmpuint (_tcp_server_get_n_reserved (TCP_SERVER (server)), ==, 0);

  /* Well past the timeout: nothing may be reported for them. */
  run_for (2 * short_timeout ());
  run_until (all_finalized, &record, 5000);
  g_assert_cmpstr (record.events->str, ==, "SNSNSN");
  g_assert_cmpuint (record.errors->len, ==, 0);
  for (guint i = 0; i < silent->len; i++)
    g_assert_true (reads_closed (g_ptr_array_index (silent, i)));

  /* The server listens again as if nothing happened. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TlsClient) client = NULL;

    g_assert_true (tcp_server_listen_on (TCP_SERVER (server), "127.0.0.1", 0, &error));
    g_assert_no_error (error);
    client = tls_client_start (tcp_server_get_server_port (TCP_SERVER (server)), NULL);
    run_until (tls_client_done, client, 10000);
    g_assert_no_error (client->error);
    g_assert_cmpstr (client->line, ==, "hello");
  }

  record_clear (&record);
}

static gboolean
started_once (gpointer data)
{
  Record *record = data;

  return record->n_started >= 1;
}

static void
test_close_in_started_handler (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(GSocketConnection) client = NULL;
  Record record;

  record_init (&record, TCP_SERVER (server));
  record.close_on_start = TRUE;

  client = connect_plain (tcp_server_get_server_port (TCP_SERVER (server)));
  run_until (started_once, &record, 5000);
  run_until (all_finalized, &record, 5000);
  g_assert_cmpuint (record.n_started, ==, 1);
  run_for (100);

  g_assert_false (tcp_server_is_listening (TCP_SERVER (server)));
  g_assert_cmpuint (record.n_failed, ==, 0);
  g_assert_cmpuint (record.n_pending, ==, 0);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 0);
  g_assert_true (reads_closed (G_IO_STREAM (client)));
  record_clear (&record);
}

static void
test_dispose_during_handshakes (void)
{
  TcpTlsServer *server = new_listening_server ();
  g_autoptr(GPtrArray) silent = g_ptr_array_new_with_free_func (g_object_unref);
  guint16 port = tcp_server_get_server_port (TCP_SERVER (server));
  Record record;

  record_init (&record, TCP_SERVER (server));
  tcp_tls_server_set_handshake_timeout (server, short_timeout ());

  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (silent, connect_plain (port));
  run_until_handshakes (server, 3, 5000);

  g_object_add_weak_pointer (G_OBJECT (server), (gpointer *) &server);
  g_object_unref (server);
  g_assert_null (server);
  record.server = NULL;

  run_for (2 * short_timeout ());
  run_until (all_finalized, &record, 5000);
  g_assert_cmpstr (record.events->str, ==, "SNSNSN");
  for (guint i = 0; i < silent->len; i++)
    g_assert_true (reads_closed (g_ptr_array_index (silent, i)));
  record_clear (&record);
}

static void
test_wait_for_new_connection (void)
{
  g_autoptr(TcpTlsServer) server = new_listening_server ();
  g_autoptr(TlsClient) client = NULL;
  g_autoptr(GSocketConnection) silent = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port = tcp_server_get_server_port (TCP_SERVER (server));
  gboolean timed_out = TRUE;
  Record record;

  record_init (&record, TCP_SERVER (server));
  record.greet = FALSE;
  /* pending_cb would take the connection first. */
  g_signal_handlers_disconnect_by_func (server, pending_cb, &record);

  /* A silent client holds a slot; the handshake timeout is long, so the
   * wait times out first. */
  silent = connect_plain (port);
  g_assert_false (tcp_server_wait_for_new_connection (TCP_SERVER (server), 200,
                                                      &timed_out, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (timed_out);
  g_clear_error (&error);
  g_assert_cmpuint (tcp_tls_server_get_n_handshakes (server), ==, 1);

  /* A good client: its handshake only completes if the wait runs the
   * server's context. */
  client = tls_client_start (port, NULL);
  g_assert_true (tcp_server_wait_for_new_connection (TCP_SERVER (server), 10000,
                                                     &timed_out, &error));
  g_assert_no_error (error);
  g_assert_false (timed_out);
  connection = tcp_server_next_pending_connection (TCP_SERVER (server));
  g_assert_true (G_IS_TLS_SERVER_CONNECTION (connection));
  g_output_stream_write_all (g_io_stream_get_output_stream (connection), "hello\n", 6,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  run_until (tls_client_done, client, 10000);
  g_assert_cmpstr (client->line, ==, "hello");
  g_assert_cmpstr (record.events->str, ==, "SNSN");

  tcp_server_close (TCP_SERVER (server));
  g_assert_true (reads_closed (G_IO_STREAM (silent)));
  g_clear_object (&connection);
  run_until (all_finalized, &record, 5000);
  g_assert_cmpuint (record.n_failed, ==, 0);
  record_clear (&record);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/TlsServer/no-backend/dummy", test_no_backend_dummy);
  g_test_add_func ("/Tcp/TlsServer/no-backend/empty-module-dir", test_no_backend_module_dir);

  /* Child processes run one no-backend test and need no certificates. */
  if (g_test_subprocess ())
    return g_test_run ();

  cert_dir = tcp_test_make_certificates ("tcp-tls-test-XXXXXX");

  g_test_add_func ("/Tcp/TlsServer/properties", test_properties);
  g_test_add_func ("/Tcp/TlsServer/load", test_load);
  g_test_add_func ("/Tcp/TlsServer/listen/no-certificate", test_listen_without_certificate);
  g_test_add_func ("/Tcp/TlsServer/handshake/good", test_good_client);
  g_test_add_func ("/Tcp/TlsServer/handshake/plaintext", test_plaintext_client);
  g_test_add_func ("/Tcp/TlsServer/handshake/silent", test_silent_client);
  g_test_add_func ("/Tcp/TlsServer/max-pending/slowloris", test_slowloris);
  g_test_add_func ("/Tcp/TlsServer/client-certificate/valid", test_client_certificate_valid);
  g_test_add_func ("/Tcp/TlsServer/client-certificate/missing", test_client_certificate_missing);
  g_test_add_func ("/Tcp/TlsServer/client-certificate/untrusted",
                   test_client_certificate_untrusted);
  g_test_add_func ("/Tcp/TlsServer/close/during-handshakes", test_close_during_handshakes);
  g_test_add_func ("/Tcp/TlsServer/close/in-started-handler", test_close_in_started_handler);
  g_test_add_func ("/Tcp/TlsServer/close/dispose-during-handshakes",
                   test_dispose_during_handshakes);
  g_test_add_func ("/Tcp/TlsServer/wait-for-new-connection", test_wait_for_new_connection);

  status = g_test_run ();

  tcp_test_remove_certificates (cert_dir);
  g_free (cert_dir);
  return status;
}

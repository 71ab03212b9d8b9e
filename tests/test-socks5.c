/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-socks5.c: listening through a SOCKS5 proxy
 *
 * Copyright 2026 The libtcp authors
 *
 * Three layers: the pure reply parser on byte strings; a scripted fake
 * proxy (a thread with blocking sockets) for the answers no real proxy
 * gives (garbage, truncation, silence, methods never offered); and Debian's
 * dante-server, started here on a free loopback port, for the real thing.
 */

#include "config.h"

#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <tcp.h>

#include "lib/tcp-socks5-parser-private.h"

#define DANTED "/usr/sbin/danted"
/* Created by build-aux/install-deps.sh for dante's username method. */
#define DANTE_USER "tcp-socks5-test"
#define DANTE_PASSWORD "socks5-test-pw"

#define GUARD_MS 20000

/* ------------------------------------------------------------------ */
/* Running the main loop                                              */

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default context until @cond holds; fails after GUARD_MS.
 * A ticker wakes the loop to see conditions set by the fake proxy's
 * thread. */
#define RUN_UNTIL(cond) G_STMT_START {                                  \
    gboolean guard_hit_ = FALSE;                                        \
    guint guard_id_ = g_timeout_add (GUARD_MS, flag_cb, &guard_hit_);   \
    guint tick_id_ = g_timeout_add (10, tick_cb, NULL);                 \
    while (!(cond) && !guard_hit_)                                      \
      g_main_context_iteration (NULL, TRUE);                            \
    g_assert_false (guard_hit_);                                        \
    g_source_remove (guard_id_);                                        \
    g_source_remove (tick_id_);                                         \
  } G_STMT_END

static void
run_for (guint msec)
{
  gboolean done = FALSE;

  g_timeout_add (msec, flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* What the server did, recorded by its signal handlers. */
typedef struct
{
  guint   n_listening_notify;
  guint   n_new_connection;
  guint   n_accept_error;
  GError *accept_error;
  GList  *listening_states;     /* GINT_TO_POINTER (listening) per notify */
} Events;

static void
listening_notify_cb (TcpServer  *server,
                     GParamSpec *pspec,
                     Events     *events)
{
  events->n_listening_notify++;
  events->listening_states = g_list_append (events->listening_states,
                                            GINT_TO_POINTER (tcp_server_is_listening (server)));
}

static void
new_connection_cb (TcpServer *server,
                   Events    *events)
{
  events->n_new_connection++;
}

static void
accept_error_cb (TcpServer    *server,
                 const GError *error,
                 Events       *events)
{
  events->n_accept_error++;
  g_clear_error (&events->accept_error);
  events->accept_error = g_error_copy (error);
}

static TcpServer *
server_new (const gchar *proxy,
            Events      *events)
{
  TcpServer *server = tcp_server_new ();

  memset (events, 0, sizeof *events);
  tcp_server_set_proxy (server, proxy);
  g_signal_connect (server, "notify::listening", G_CALLBACK (listening_notify_cb), events);
  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), events);
  g_signal_connect (server, "accept-error", G_CALLBACK (accept_error_cb), events);

  return server;
}

static void
events_clear (Events *events)
{
  g_clear_error (&events->accept_error);
  g_clear_pointer (&events->listening_states, g_list_free);
}

static void
store_result_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* A loopback port nobody listens on (for a moment). */
static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  g_socket_close (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* A blocking client of the address the server reports. */
static GSocketConnection *
dial_server (TcpServer *server)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_enable_proxy (client, FALSE);
  address = g_inet_socket_address_new (tcp_server_get_server_address (server),
                                       tcp_server_get_server_port (server));
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);

  return connection;
}

static void
assert_read (GIOStream   *stream,
             const gchar *expected)
{
  gchar buffer[64] = { 0 };
  gsize n = 0;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (strlen (expected), <, sizeof buffer);
  g_input_stream_read_all (g_io_stream_get_input_stream (stream), buffer, strlen (expected),
                           &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer, ==, expected);
}

static void
write_string (GIOStream   *stream,
              const gchar *data)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (stream), data, strlen (data),
                             NULL, NULL, &error);
  g_assert_no_error (error);
}

/* ------------------------------------------------------------------ */
/* The parser                                                         */

#define BYTES(s) (const guint8 *) (s), sizeof (s) - 1

static void
test_parser_method (void)
{
  g_autoptr(GError) error = NULL;
  gsize needed = 0;
  guint8 method = 0xaa;

  g_assert_cmpint (tcp_socks5_parse_method_reply (NULL, 0, &needed, &method, &error), ==,
                   TCP_SOCKS5_PARSE_NEED_MORE);
  g_assert_cmpuint (needed, ==, 2);
  g_assert_cmpint (tcp_socks5_parse_method_reply (BYTES ("\x05"), &needed, &method, &error), ==,
                   TCP_SOCKS5_PARSE_NEED_MORE);
  g_assert_cmpint (tcp_socks5_parse_method_reply (BYTES ("\x05\x02"), &needed, &method, &error),
                   ==, TCP_SOCKS5_PARSE_OK);
  g_assert_no_error (error);
  g_assert_cmpuint (needed, ==, 2);
  g_assert_cmpuint (method, ==, TCP_SOCKS5_METHOD_USERNAME);

  /* A wrong version is caught at the first byte. */
  g_assert_cmpint (tcp_socks5_parse_method_reply (BYTES ("\x04"), &needed, &method, &error), ==,
                   TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_clear_error (&error);

  g_assert_true (tcp_socks5_check_method (0x00, FALSE, &error));
  g_assert_true (tcp_socks5_check_method (0x02, TRUE, &error));
  g_assert_no_error (error);
  g_assert_false (tcp_socks5_check_method (0x02, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
  g_clear_error (&error);
  g_assert_false (tcp_socks5_check_method (0xff, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
  g_clear_error (&error);
  g_assert_false (tcp_socks5_check_method (0xff, TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED);
  g_clear_error (&error);
  g_assert_false (tcp_socks5_check_method (0x01, TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
}

static void
test_parser_auth (void)
{
  g_autoptr(GError) error = NULL;
  gsize needed = 0;

  g_assert_cmpint (tcp_socks5_parse_auth_reply (BYTES ("\x01"), &needed, &error), ==,
                   TCP_SOCKS5_PARSE_NEED_MORE);
  g_assert_cmpint (tcp_socks5_parse_auth_reply (BYTES ("\x01\x00"), &needed, &error), ==,
                   TCP_SOCKS5_PARSE_OK);
  g_assert_no_error (error);
  g_assert_cmpint (tcp_socks5_parse_auth_reply (BYTES ("\x01\x01"), &needed, &error), ==,
                   TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (tcp_socks5_parse_auth_reply (BYTES ("\x05\x00"), &needed, &error), ==,
                   TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
}

static void
test_parser_reply (void)
{
  static const guint8 ipv4_reply[] = { 5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90 };
  static const guint8 ipv6_reply[] = {
    5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autofree gchar *text = NULL;
  TcpSocks5Reply reply;
  gsize needed = 0;
  gsize i;

  /* Byte by byte, the parser asks for exactly what the reply still lacks. */
  for (i = 0; i < sizeof ipv4_reply; i++)
    {
      g_assert_cmpint (tcp_socks5_parse_reply (ipv4_reply, i, &needed, &reply, &error), ==,
                       TCP_SOCKS5_PARSE_NEED_MORE);
      g_assert_cmpuint (needed, >, i);
      g_assert_cmpuint (needed, <=, sizeof ipv4_reply);
    }
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90XYZ"),
                                           &needed, &reply, &error), ==, TCP_SOCKS5_PARSE_OK);
  g_assert_no_error (error);
  g_assert_cmpuint (needed, ==, 10);
  g_assert_cmpuint (reply.reply, ==, 0);
  g_assert_cmpuint (reply.port, ==, 8080);
  address = tcp_socks5_reply_get_address (&reply);
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, "127.0.0.1");
  g_assert_true (tcp_socks5_check_reply (&reply, &error));
  g_clear_object (&address);
  g_clear_pointer (&text, g_free);

  g_assert_cmpint (tcp_socks5_parse_reply (ipv6_reply, sizeof ipv6_reply, &needed, &reply,
                                           &error), ==, TCP_SOCKS5_PARSE_OK);
  g_assert_cmpuint (needed, ==, sizeof ipv6_reply);
  g_assert_cmpuint (reply.port, ==, 443);
  address = tcp_socks5_reply_get_address (&reply);
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, "2001:db8::1");
  g_clear_object (&address);

  /* A host name: numeric ones become addresses, others do not. */
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x03\x08" "10.0.0.1" "\x00\x50"),
                                           &needed, &reply, &error), ==, TCP_SOCKS5_PARSE_OK);
  g_assert_cmpuint (needed, ==, 15);
  address = tcp_socks5_reply_get_address (&reply);
  g_assert_nonnull (address);
  g_clear_object (&address);
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x03\x04" "prox" "\x00\x50"),
                                           &needed, &reply, &error), ==, TCP_SOCKS5_PARSE_OK);
  g_assert_null (tcp_socks5_reply_get_address (&reply));
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x03\x04" "p\0ox" "\x00\x50"),
                                           &needed, &reply, &error), ==, TCP_SOCKS5_PARSE_OK);
  g_assert_null (tcp_socks5_reply_get_address (&reply));

  /* Malformed replies. */
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x04\x5a"), &needed, &reply, &error), ==,
                   TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x01\x01"), &needed, &reply, &error),
                   ==, TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x07"), &needed, &reply, &error),
                   ==, TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (tcp_socks5_parse_reply (BYTES ("\x05\x00\x00\x03\x00"), &needed, &reply,
                                           &error), ==, TCP_SOCKS5_PARSE_ERROR);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_clear_error (&error);
}

static void
test_parser_reply_codes (void)
{
  static const struct { guint8 rep; gint code; } cases[] = {
    { 1, G_IO_ERROR_PROXY_FAILED },
    { 2, G_IO_ERROR_PROXY_NOT_ALLOWED },
    { 3, G_IO_ERROR_NETWORK_UNREACHABLE },
    { 4, G_IO_ERROR_HOST_UNREACHABLE },
    { 5, G_IO_ERROR_CONNECTION_REFUSED },
    { 6, G_IO_ERROR_TIMED_OUT },
    { 7, G_IO_ERROR_PROXY_FAILED },
    { 8, G_IO_ERROR_PROXY_FAILED },
    { 0x42, G_IO_ERROR_PROXY_FAILED },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      TcpSocks5Reply reply = { .reply = cases[i].rep };

      g_assert_false (tcp_socks5_check_reply (&reply, &error));
      g_assert_error (error, G_IO_ERROR, cases[i].code);
    }
}

static void
test_parser_build (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GInetAddress) ipv6 = g_inet_address_new_from_string ("::");
  g_autoptr(GError) error = NULL;
  g_autofree gchar *long_name = g_strnfill (256, 'u');

  tcp_socks5_build_greeting (out, FALSE);
  g_assert_cmpmem (out->data, out->len, "\x05\x01\x00", 3);
  g_byte_array_set_size (out, 0);
  tcp_socks5_build_greeting (out, TRUE);
  g_assert_cmpmem (out->data, out->len, "\x05\x02\x00\x02", 4);
  g_byte_array_set_size (out, 0);

  g_assert_true (tcp_socks5_build_auth (out, "user", "pw", &error));
  g_assert_cmpmem (out->data, out->len, "\x01\x04user\x02pw", 9);
  g_byte_array_set_size (out, 0);
  g_assert_false (tcp_socks5_build_auth (out, long_name, "pw", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (out->len, ==, 0);

  tcp_socks5_build_bind (out, NULL, 0x1234);
  g_assert_cmpmem (out->data, out->len, "\x05\x02\x00\x01\x00\x00\x00\x00\x12\x34", 10);
  g_byte_array_set_size (out, 0);
  tcp_socks5_build_bind (out, ipv6, 80);
  g_assert_cmpuint (out->len, ==, 22);
  g_assert_cmpuint (out->data[3], ==, TCP_SOCKS5_ATYP_IPV6);
  g_assert_cmpuint (out->data[21], ==, 80);
}

/* ------------------------------------------------------------------ */
/* A scripted fake proxy                                              */

typedef enum
{
  STEP_END,              /* then wait for the client to close */
  STEP_READ_GREETING,
  STEP_READ_AUTH,
  STEP_READ_REQUEST,
  STEP_WRITE,
  STEP_CLOSE,            /* close at once */
} StepKind;

typedef struct
{
  StepKind     kind;
  const gchar *bytes;
  gsize        len;
} Step;

#define WRITE(s) { STEP_WRITE, (s), sizeof (s) - 1 }
#define GREETING { STEP_READ_GREETING, NULL, 0 }
#define AUTH { STEP_READ_AUTH, NULL, 0 }
#define REQUEST { STEP_READ_REQUEST, NULL, 0 }
#define CLOSE { STEP_CLOSE, NULL, 0 }
#define END { STEP_END, NULL, 0 }
#define METHOD_NONE WRITE ("\x05\x00")
#define BOUND_127_4242 WRITE ("\x05\x00\x00\x01\x7f\x00\x00\x01\x10\x92")

typedef struct
{
  GSocket    *listener;
  guint16     port;
  const Step *steps;
  GByteArray *received;   /* everything the client sent, in order */
  gint        n_steps_done;
  GThread    *thread;
} FakeProxy;

static gboolean
read_exact (GSocket    *socket,
            GByteArray *into,
            gsize       n)
{
  while (n > 0)
    {
      guint8 buffer[256];
      gssize got = g_socket_receive (socket, (gchar *) buffer, MIN (n, sizeof buffer), NULL,
                                     NULL);

      if (got <= 0)
        return FALSE;
      g_byte_array_append (into, buffer, got);
      n -= got;
    }

  return TRUE;
}

static gboolean
read_step (GSocket    *socket,
           StepKind    kind,
           GByteArray *into)
{
  gsize start = into->len;

  switch (kind)
    {
    case STEP_READ_GREETING:
      return read_exact (socket, into, 2) && read_exact (socket, into, into->data[start + 1]);

    case STEP_READ_AUTH:
      return read_exact (socket, into, 2) &&
             read_exact (socket, into, into->data[start + 1] + 1) &&
             read_exact (socket, into, into->data[into->len - 1]);

    case STEP_READ_REQUEST:
      if (!read_exact (socket, into, 4))
        return FALSE;
      return read_exact (socket, into, (into->data[start + 3] == TCP_SOCKS5_ATYP_IPV6 ? 16 : 4) + 2);

    case STEP_END:
    case STEP_WRITE:
    case STEP_CLOSE:
    default:
      g_assert_not_reached ();
    }
}

static gpointer
fake_proxy_thread (gpointer user_data)
{
  FakeProxy *fake = user_data;
  g_autoptr(GSocket) socket = NULL;
  const Step *step;

  socket = g_socket_accept (fake->listener, NULL, NULL);
  if (socket == NULL)
    return NULL;
  g_socket_set_timeout (socket, GUARD_MS / 1000);

  for (step = fake->steps; step->kind != STEP_END; step++)
    {
      switch (step->kind)
        {
        case STEP_READ_GREETING:
        case STEP_READ_AUTH:
        case STEP_READ_REQUEST:
          if (!read_step (socket, step->kind, fake->received))
            return NULL;
          break;

        case STEP_WRITE:
          if (g_socket_send (socket, step->bytes, step->len, NULL, NULL) != (gssize) step->len)
            return NULL;
          break;

        case STEP_CLOSE:
          g_socket_close (socket, NULL);
          g_atomic_int_inc (&fake->n_steps_done);
          return NULL;

        case STEP_END:
        default:
          g_assert_not_reached ();
        }
      g_atomic_int_inc (&fake->n_steps_done);
    }

  /* Hold the connection until the client drops it. */
  for (;;)
    {
      gchar byte;

      if (g_socket_receive (socket, &byte, 1, NULL, NULL) <= 0)
        break;
    }

  return NULL;
}

static FakeProxy *
fake_proxy_start (const Step *steps)
{
  FakeProxy *fake = g_new0 (FakeProxy, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  fake->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (fake->listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (fake->listener, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (fake->listener, GUARD_MS / 1000);
  bound = g_socket_get_local_address (fake->listener, &error);
  g_assert_no_error (error);
  fake->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  fake->steps = steps;
  fake->received = g_byte_array_new ();
  fake->thread = g_thread_new ("fake-socks5", fake_proxy_thread, fake);

  return fake;
}

static gchar *
fake_proxy_uri (FakeProxy   *fake,
                const gchar *userinfo)
{
  return g_strdup_printf ("socks5://%s%s127.0.0.1:%u",
                          userinfo != NULL ? userinfo : "", userinfo != NULL ? "@" : "",
                          fake->port);
}

/* Waits for the script to finish (the client must have closed). */
static void
fake_proxy_free (FakeProxy *fake)
{
  g_thread_join (fake->thread);
  g_socket_close (fake->listener, NULL);
  g_object_unref (fake->listener);
  g_byte_array_unref (fake->received);
  g_free (fake);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeProxy, fake_proxy_free)

/* ------------------------------------------------------------------ */
/* Failures against the fake proxy                                    */

typedef struct
{
  const gchar *name;
  const gchar *userinfo;
  Step         steps[8];
  gint         code;
} FailureCase;

static const FailureCase failure_cases[] = {
  { "garbage", NULL, { GREETING, WRITE ("HTTP/1.0 400 Bad Request\r\n\r\n"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "silent-close", NULL, { GREETING, CLOSE }, G_IO_ERROR_PROXY_FAILED },
  { "truncated-method", NULL, { GREETING, WRITE ("\x05"), CLOSE }, G_IO_ERROR_PROXY_FAILED },
  { "truncated-reply", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x00\x00\x01\x7f\x00"), CLOSE },
    G_IO_ERROR_PROXY_FAILED },
  { "bad-address-type", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x00\x00\x09\x7f\x00\x00\x01\x10\x92"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "host-name", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x00\x00\x03\x04prox\x10\x92"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "method-not-offered", NULL, { GREETING, WRITE ("\x05\x01"), END }, G_IO_ERROR_PROXY_FAILED },
  { "needs-password", NULL, { GREETING, WRITE ("\x05\x02"), END }, G_IO_ERROR_PROXY_NEED_AUTH },
  { "no-acceptable-method", NULL, { GREETING, WRITE ("\x05\xff"), END },
    G_IO_ERROR_PROXY_NEED_AUTH },
  { "no-acceptable-method-with-password", "u:p", { GREETING, WRITE ("\x05\xff"), END },
    G_IO_ERROR_PROXY_AUTH_FAILED },
  { "password-rejected", "u:p", { GREETING, WRITE ("\x05\x02"), AUTH, WRITE ("\x01\x01"), END },
    G_IO_ERROR_PROXY_AUTH_FAILED },
  { "garbage-auth-reply", "u:p", { GREETING, WRITE ("\x05\x02"), AUTH, WRITE ("\x05\x00"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "general-failure", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "not-allowed", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"), END },
    G_IO_ERROR_PROXY_NOT_ALLOWED },
  { "refused", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"), END },
    G_IO_ERROR_CONNECTION_REFUSED },
  { "bind-unsupported", NULL,
    { GREETING, METHOD_NONE, REQUEST, WRITE ("\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00"), END },
    G_IO_ERROR_PROXY_FAILED },
  { "silent", NULL, { GREETING, END }, G_IO_ERROR_TIMED_OUT },
  { "silent-after-request", NULL, { GREETING, METHOD_NONE, REQUEST, END }, G_IO_ERROR_TIMED_OUT },
};

/* listen() blocks until the proxy fails and returns its error, as
 * g_socket_client_connect() would; nothing is emitted, the server never
 * listened. */
static void
test_fake_failure (gconstpointer data)
{
  const FailureCase *fc = data;
  g_autoptr(FakeProxy) fake = fake_proxy_start (fc->steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, fc->userinfo);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GError) error = NULL;

  tcp_server_set_proxy_timeout (server, 300);
  g_assert_false (tcp_server_listen (server, NULL, 0, &error));
  g_assert_error (error, G_IO_ERROR, fc->code);
  g_assert_nonnull (strstr (error->message, "SOCKS5 proxy 127.0.0.1:"));

  run_for (50);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  g_assert_cmpuint (events.n_listening_notify, ==, 0);
  g_assert_cmpuint (events.n_new_connection, ==, 0);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_null (tcp_server_get_server_address (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, fc->code);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, error->message);
  g_clear_error (&error);

  /* The server is free to listen again. */
  tcp_server_set_proxy (server, NULL);
  g_assert_true (tcp_server_listen_on (server, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  tcp_server_close (server);
  events_clear (&events);
}

/* The same through listen_async(): the error is the result, not a signal. */
static void
test_fake_failure_async (void)
{
  static const Step steps[] = { GREETING, WRITE ("\x05\x02"), END };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_false (tcp_server_listen_finish (server, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_PROXY_NEED_AUTH);
  g_assert_false (tcp_server_is_listening (server));
  events_clear (&events);
}

static void
test_unreachable (void)
{
  g_autofree gchar *uri = g_strdup_printf ("socks5://127.0.0.1:%u", free_port ());
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (tcp_server_listen (server, NULL, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_false (tcp_server_is_listening (server));
  g_clear_error (&error);

  tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_false (tcp_server_listen_finish (server, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  events_clear (&events);
}

/* A host name is looked up without blocking; every address is tried. */
static void
test_resolve (void)
{
  static const Step steps[] = { GREETING, METHOD_NONE, REQUEST, BOUND_127_4242, END };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = g_strdup_printf ("socks5://localhost:%u", fake->port);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_true (tcp_server_listen_finish (server, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 4242);
  tcp_server_close (server);
  events_clear (&events);
}

/* A resolver that knows no host, so that the test needs no DNS. */
typedef struct
{
  GResolver parent_instance;
} NoHostResolver;

typedef struct
{
  GResolverClass parent_class;
} NoHostResolverClass;

static GType no_host_resolver_get_type (void);
G_DEFINE_TYPE (NoHostResolver, no_host_resolver, G_TYPE_RESOLVER)

static void
no_host_lookup_async (GResolver               *resolver,
                      const gchar             *hostname,
                      GResolverNameLookupFlags flags,
                      GCancellable            *cancellable,
                      GAsyncReadyCallback      callback,
                      gpointer                 user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                           "No host called “%s”", hostname);
}

static void
no_host_lookup_by_name_async (GResolver           *resolver,
                              const gchar         *hostname,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  no_host_lookup_async (resolver, hostname, 0, cancellable, callback, user_data);
}

static GList *
no_host_lookup_finish (GResolver     *resolver,
                       GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
no_host_resolver_class_init (NoHostResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_by_name_async = no_host_lookup_by_name_async;
  resolver_class->lookup_by_name_finish = no_host_lookup_finish;
  resolver_class->lookup_by_name_with_flags_async = no_host_lookup_async;
  resolver_class->lookup_by_name_with_flags_finish = no_host_lookup_finish;
}

static void
no_host_resolver_init (NoHostResolver *self)
{
}

/* An unknown proxy host fails in the G_IO_ERROR domain. */
static void
test_resolve_failure (void)
{
  g_autoptr(GResolver) original = g_resolver_get_default ();
  g_autoptr(GResolver) no_host = g_object_new (no_host_resolver_get_type (), NULL);
  Events events;
  g_autoptr(TcpServer) server = server_new ("socks5://proxy.example:1080", &events);
  g_autoptr(GError) error = NULL;

  g_resolver_set_default (no_host);
  g_assert_false (tcp_server_listen (server, NULL, 0, &error));
  g_resolver_set_default (original);

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "proxy.example:1080"));
  g_assert_nonnull (strstr (error->message, "No host called"));
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  events_clear (&events);
}

/* ------------------------------------------------------------------ */
/* Successes and lifecycle against the fake proxy                     */

/* The proxy binds every interface and a peer's data follows the second
 * reply in the same packet: the address becomes the proxy's, and not one
 * byte of the peer's is lost. */
static void
test_fake_bind (void)
{
  static const Step steps[] = {
    GREETING, METHOD_NONE, REQUEST,
    WRITE ("\x05\x00\x00\x01\x00\x00\x00\x00\x10\x92"),
    WRITE ("\x05\x00\x00\x01\x7f\x00\x00\x01\xc3\x50" "DATA"),
    END
  };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;

  /* listen() returns at the first reply: listening on the proxy. */
  g_assert_true (tcp_server_listen (server, any, 5555, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpuint (events.n_listening_notify, ==, 1);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
  g_assert_null (tcp_server_get_socket (server));

  RUN_UNTIL (events.n_new_connection > 0);

  /* listening went TRUE at the first reply, FALSE at the second. */
  g_assert_cmpuint (events.n_listening_notify, ==, 2);
  g_assert_true (GPOINTER_TO_INT (events.listening_states->data));
  g_assert_false (GPOINTER_TO_INT (events.listening_states->next->data));
  g_assert_false (tcp_server_is_listening (server));
  g_assert_null (tcp_server_get_server_address (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 0);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);

  /* The request asked for 0.0.0.0:5555. */
  g_assert_cmpuint (fake->received->len, ==, 3 + 10);
  g_assert_cmpmem (fake->received->data, 3, "\x05\x01\x00", 3);
  g_assert_cmpmem (fake->received->data + 3, 10, "\x05\x02\x00\x01\x00\x00\x00\x00\x15\xb3", 10);

  connection = tcp_server_next_pending_connection (server);
  g_assert_true (G_IS_TCP_CONNECTION (connection));
  g_assert_null (tcp_server_next_pending_connection (server));
  assert_read (connection, "DATA");

  g_io_stream_close (connection, NULL, NULL);
  events_clear (&events);
}

static void
bound_address_cb (TcpServer  *server,
                  GParamSpec *pspec,
                  gchar     **out)
{
  if (tcp_server_is_listening (server))
    {
      g_autofree gchar *address =
        g_inet_address_to_string (tcp_server_get_server_address (server));

      g_free (*out);
      *out = g_strdup_printf ("%s:%u", address, tcp_server_get_server_port (server));
    }
}

/* server-address/server-port while listening: the proxy's side, with
 * 0.0.0.0 replaced by the proxy's own address. */
static void
test_fake_bound_address (void)
{
  static const Step steps[] = {
    GREETING, METHOD_NONE, REQUEST,
    WRITE ("\x05\x00\x00\x01\x00\x00\x00\x00\x10\x92"),
    END
  };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *text = NULL;

  g_assert_true (tcp_server_listen (server, NULL, 0, &error));
  RUN_UNTIL (tcp_server_is_listening (server));
  text = g_inet_address_to_string (tcp_server_get_server_address (server));
  g_assert_cmpstr (text, ==, "127.0.0.1");
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 4242);
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);

  /* Listening twice fails and leaves the BIND in place. */
  g_assert_false (tcp_server_listen (server, NULL, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_true (tcp_server_is_listening (server));

  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (events.n_listening_notify, ==, 2);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  events_clear (&events);
}

/* accept_async() waits through the exchange; one BIND, one connection. */
static void
test_fake_accept_async (void)
{
  static const Step ok_steps[] = {
    GREETING, METHOD_NONE, REQUEST, BOUND_127_4242,
    WRITE ("\x05\x00\x00\x01\x7f\x00\x00\x01\xc3\x50"),
    END
  };
  static const Step failing_steps[] = { GREETING, WRITE ("\x05\x02"), END };
  Events events;
  g_autoptr(TcpServer) server = server_new (NULL, &events);
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GAsyncResult) third = NULL;
  g_autoptr(GAsyncResult) listened = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (ok_steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);

    tcp_server_set_proxy (server, uri);
    g_assert_true (tcp_server_listen (server, NULL, 0, &error));
    tcp_server_accept_async (server, NULL, store_result_cb, &first);
    tcp_server_accept_async (server, NULL, store_result_cb, &second);
    RUN_UNTIL (first != NULL && second != NULL);

    connection = tcp_server_accept_finish (server, first, &error);
    g_assert_no_error (error);
    g_assert_true (G_IS_TCP_CONNECTION (connection));
    g_assert_null (tcp_server_accept_finish (server, second, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
    g_clear_error (&error);
    g_io_stream_close (connection, NULL, NULL);
  }

  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (failing_steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);

    /* Without blocking, accept_async() waits through the exchange and
     * gets the proxy's error. */
    tcp_server_set_proxy (server, uri);
    tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &listened);
    tcp_server_accept_async (server, NULL, store_result_cb, &third);
    RUN_UNTIL (third != NULL && listened != NULL);
    g_assert_null (tcp_server_accept_finish (server, third, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
    g_clear_error (&error);
    g_assert_false (tcp_server_listen_finish (server, listened, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
  }

  events_clear (&events);
}

/* A subclass sees the control connection in incoming_connection, while the
 * server still listens on the proxy, as it would see an accepted socket. */
typedef struct
{
  TcpServer     parent_instance;
  guint         n_incoming;
  gboolean      listening_in_incoming;
  GSocketFamily family;
} TestServer;

typedef struct
{
  TcpServerClass parent_class;
} TestServerClass;

static GType test_server_get_type (void);
G_DEFINE_TYPE (TestServer, test_server, TCP_TYPE_SERVER)

static void
test_server_incoming_connection (TcpServer *server,
                                 GSocket   *socket)
{
  TestServer *self = (TestServer *) server;

  self->n_incoming++;
  self->listening_in_incoming = tcp_server_is_listening (server);
  self->family = g_socket_get_family (socket);
  g_assert_cmpint (g_socket_get_fd (socket), >=, 0);
  g_assert_false (g_socket_get_blocking (socket));

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
}

static void
test_fake_subclass (void)
{
  static const Step steps[] = {
    GREETING, METHOD_NONE, REQUEST, BOUND_127_4242,
    WRITE ("\x05\x00\x00\x01\x7f\x00\x00\x01\xc3\x50"),
    END
  };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
  g_autoptr(TcpServer) base = g_object_new (test_server_get_type (), "proxy", uri, NULL);
  TestServer *server = (TestServer *) base;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  Events events = { 0 };

  g_signal_connect (server, "new-connection", G_CALLBACK (new_connection_cb), &events);
  g_assert_true (tcp_server_listen (TCP_SERVER (server), NULL, 0, &error));
  RUN_UNTIL (events.n_new_connection > 0);

  g_assert_cmpuint (server->n_incoming, ==, 1);
  g_assert_true (server->listening_in_incoming);
  g_assert_cmpint (server->family, ==, G_SOCKET_FAMILY_IPV4);
  g_assert_false (tcp_server_is_listening (TCP_SERVER (server)));
  connection = tcp_server_next_pending_connection (TCP_SERVER (server));
  g_assert_true (G_IS_TCP_CONNECTION (connection));
  g_io_stream_close (connection, NULL, NULL);
}

/* The second reply refuses: accept-error, and the server stops listening. */
static void
test_fake_second_reply_fails (void)
{
  static const Step steps[] = {
    GREETING, METHOD_NONE, REQUEST, BOUND_127_4242,
    WRITE ("\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x00"),
    END
  };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GError) error = NULL;
  g_autofree gchar *seen = NULL;

  g_signal_connect (server, "notify::listening", G_CALLBACK (bound_address_cb), &seen);
  g_assert_true (tcp_server_listen (server, NULL, 0, &error));
  RUN_UNTIL (events.n_accept_error > 0);
  g_assert_cmpstr (seen, ==, "127.0.0.1:4242");
  g_assert_error (events.accept_error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED);
  g_assert_nonnull (strstr (events.accept_error->message, "Lost the BIND"));
  g_assert_cmpuint (events.n_listening_notify, ==, 2);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (events.n_new_connection, ==, 0);
  events_clear (&events);
}

/* Credentials from the URI (percent-decoded) go out as RFC 1929 says. */
static void
test_fake_credentials (void)
{
  static const Step steps[] = {
    GREETING, WRITE ("\x05\x02"), AUTH, WRITE ("\x01\x00"), REQUEST, BOUND_127_4242, END
  };
  g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
  g_autofree gchar *uri = fake_proxy_uri (fake, "al%40ice:s3cr%3At");
  Events events;
  g_autoptr(TcpServer) server = server_new (uri, &events);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  static const gchar expected[] = "\x05\x02\x00\x02" "\x01\x06" "al@ice" "\x06" "s3cr:t"
                                  "\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00";

  tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_true (tcp_server_listen_finish (server, result, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 4242);
  g_assert_cmpmem (fake->received->data, fake->received->len, expected, sizeof expected - 1);
  tcp_server_close (server);
  events_clear (&events);
}

/* close() and cancelling abandon the exchange. */
static void
test_fake_close_during_negotiation (void)
{
  static const Step steps[] = { GREETING, END };
  Events events;
  g_autoptr(TcpServer) server = server_new (NULL, &events);
  g_autoptr(GError) error = NULL;
  guint i;

  /* 1: listen_async() then close(); 2: listen_async() then cancel.
   * (listen() cannot be interrupted: it blocks until the proxy answers or
   * the proxy timeout, see test_fake_failure().) */
  for (i = 1; i < 3; i++)
    {
      g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
      g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GAsyncResult) result = NULL;

      tcp_server_set_proxy (server, uri);
      tcp_server_listen_async (server, NULL, 0, cancellable, store_result_cb, &result);

      RUN_UNTIL (g_atomic_int_get (&fake->n_steps_done) >= 1);
      run_for (50);
      g_assert_null (result);

      if (i == 2)
        g_cancellable_cancel (cancellable);
      else
        tcp_server_close (server);

      RUN_UNTIL (result != NULL);
      g_assert_false (tcp_server_listen_finish (server, result, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_false (tcp_server_is_listening (server));
    }

  /* listen_async() keeps the server alive, as every GIO operation keeps its
   * source object: dropping the application's reference ends nothing until
   * the proxy times out, and then the server goes. */
  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);
    g_autoptr(GAsyncResult) result = NULL;
    TcpServer *dropped = tcp_server_new ();

    g_object_add_weak_pointer (G_OBJECT (dropped), (gpointer *) &dropped);
    tcp_server_set_proxy (dropped, uri);
    tcp_server_set_proxy_timeout (dropped, 100);
    tcp_server_listen_async (dropped, NULL, 0, NULL, store_result_cb, &result);
    RUN_UNTIL (g_atomic_int_get (&fake->n_steps_done) >= 1);
    g_object_unref (dropped);
    g_assert_nonnull (dropped);
    RUN_UNTIL (result != NULL);
    {
      g_autoptr(GObject) source = g_async_result_get_source_object (result);

      g_assert_false (tcp_server_listen_finish (TCP_SERVER (source), result, &error));
    }
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_clear_error (&error);
    g_clear_object (&result);
    g_assert_null (dropped);
  }

  /* Nothing fires later: the timeout and the sockets are gone. */
  run_for (100);
  g_assert_cmpuint (events.n_accept_error, ==, 0);
  g_assert_cmpuint (events.n_listening_notify, ==, 0);
  events_clear (&events);
}

/* wait_for_new_connection() drives the exchange without a main loop. */
static void
test_fake_wait (void)
{
  static const Step ok_steps[] = {
    GREETING, METHOD_NONE, REQUEST, BOUND_127_4242,
    WRITE ("\x05\x00\x00\x01\x7f\x00\x00\x01\xc3\x50" "hello"),
    END
  };
  static const Step refusing_steps[] = { GREETING, WRITE ("\x05\xff"), END };
  static const Step silent_steps[] = { GREETING, END };
  Events events;
  g_autoptr(TcpServer) server = server_new (NULL, &events);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GAsyncResult) listened = NULL;
  gboolean timed_out = TRUE;

  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (ok_steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);

    tcp_server_set_proxy (server, uri);
    g_assert_true (tcp_server_listen (server, NULL, 0, &error));
    g_assert_true (tcp_server_is_listening (server));
    g_assert_true (tcp_server_wait_for_new_connection (server, GUARD_MS, &timed_out, &error));
    g_assert_no_error (error);
    g_assert_false (timed_out);
    g_assert_cmpuint (events.n_new_connection, ==, 1);
    connection = tcp_server_next_pending_connection (server);
    assert_read (connection, "hello");
    g_io_stream_close (connection, NULL, NULL);
  }

  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (refusing_steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);

    /* listen() would return the error itself; listen_async() leaves the
     * exchange to wait_for_new_connection(). */
    tcp_server_set_proxy (server, uri);
    tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &listened);
    g_assert_false (tcp_server_wait_for_new_connection (server, GUARD_MS, &timed_out, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
    g_assert_false (timed_out);
    g_clear_error (&error);
    RUN_UNTIL (listened != NULL);
    g_assert_false (tcp_server_listen_finish (server, listened, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
    g_clear_error (&error);
    g_clear_object (&listened);
  }

  {
    g_autoptr(FakeProxy) fake = fake_proxy_start (silent_steps);
    g_autofree gchar *uri = fake_proxy_uri (fake, NULL);

    tcp_server_set_proxy (server, uri);
    tcp_server_set_proxy_timeout (server, 200);
    tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &listened);
    g_assert_false (tcp_server_wait_for_new_connection (server, GUARD_MS, &timed_out, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_assert_false (timed_out);
    g_clear_error (&error);
    g_assert_false (tcp_server_is_listening (server));
    RUN_UNTIL (listened != NULL);
  }

  g_assert_cmpuint (events.n_accept_error, ==, 0);
  events_clear (&events);
}

/* ------------------------------------------------------------------ */
/* When the proxy is not used                                         */

static void
test_uri_errors (void)
{
  static const struct { const gchar *uri; gint code; } cases[] = {
    { "http://127.0.0.1:3128", G_IO_ERROR_NOT_SUPPORTED },
    { "https://user:pw@127.0.0.1:3128", G_IO_ERROR_NOT_SUPPORTED },
    { "socks4://127.0.0.1:1080", G_IO_ERROR_NOT_SUPPORTED },
    { "127.0.0.1:1080", G_IO_ERROR_NOT_SUPPORTED },
    { "socks5://", G_IO_ERROR_INVALID_ARGUMENT },
    { "socks5://127.0.0.1:99999", G_IO_ERROR_INVALID_ARGUMENT },
    { "socks5://127.0.0.1:0", G_IO_ERROR_INVALID_ARGUMENT },
    { "socks5://:pw@127.0.0.1:1080", G_IO_ERROR_INVALID_ARGUMENT },
  };
  g_autofree gchar *long_user = g_strnfill (300, 'u');
  g_autofree gchar *long_uri = g_strdup_printf ("socks5://%s:pw@127.0.0.1:1080", long_user);
  gsize i;

  for (i = 0; i <= G_N_ELEMENTS (cases); i++)
    {
      const gchar *uri = i < G_N_ELEMENTS (cases) ? cases[i].uri : long_uri;
      gint code = i < G_N_ELEMENTS (cases) ? cases[i].code : G_IO_ERROR_INVALID_ARGUMENT;
      Events events;
      g_autoptr(TcpServer) server = server_new (uri, &events);
      g_autoptr(GError) error = NULL;
      g_autoptr(GAsyncResult) result = NULL;

      g_assert_false (tcp_server_listen (server, NULL, 0, &error));
      g_assert_error (error, G_IO_ERROR, code);
      g_assert_null (strstr (error->message, "pw"));
      g_assert_cmpint (tcp_server_get_server_error (server), ==, code);
      g_assert_false (tcp_server_is_listening (server));
      g_clear_error (&error);

      tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
      RUN_UNTIL (result != NULL);
      g_assert_false (tcp_server_listen_finish (server, result, &error));
      g_assert_error (error, G_IO_ERROR, code);
      g_assert_cmpuint (events.n_accept_error, ==, 0);
      events_clear (&events);
    }
}

/* Loopback addresses and an empty proxy listen directly, at once. */
static void
test_bypass (void)
{
  g_autofree gchar *unreachable = g_strdup_printf ("socks5://127.0.0.1:%u", free_port ());
  const gchar *addresses[] = { "127.0.0.1", "::1" };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      Events events;
      g_autoptr(TcpServer) server = server_new (unreachable, &events);
      g_autoptr(GError) error = NULL;

      if (!tcp_server_listen_on (server, addresses[i], 0, &error))
        {
          /* No IPv6 on this machine. */
          g_assert_cmpstr (addresses[i], ==, "::1");
          events_clear (&events);
          continue;
        }
      g_assert_true (tcp_server_is_listening (server));
      g_assert_cmpint (tcp_server_get_socket_descriptor (server), >=, 0);
      g_assert_cmpuint (events.n_listening_notify, ==, 1);
      tcp_server_close (server);
      events_clear (&events);
    }

  {
    Events events;
    g_autoptr(TcpServer) server = server_new ("", &events);
    g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GError) error = NULL;

    g_assert_true (tcp_server_listen (server, any, 0, &error));
    g_assert_no_error (error);
    g_assert_true (tcp_server_is_listening (server));
    g_assert_cmpint (tcp_server_get_socket_descriptor (server), >=, 0);
    tcp_server_close (server);
    events_clear (&events);
  }
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 guint      *count)
{
  (*count)++;
}

static void
test_proxy_timeout_property (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  guint notified = 0;
  guint value = 0;

  g_assert_cmpuint (tcp_server_get_proxy_timeout (server), ==, 5000);
  g_signal_connect (server, "notify::proxy-timeout", G_CALLBACK (count_notify_cb), &notified);
  tcp_server_set_proxy_timeout (server, 1234);
  tcp_server_set_proxy_timeout (server, 1234);
  g_object_get (server, "proxy-timeout", &value, NULL);
  g_assert_cmpuint (value, ==, 1234);
  g_assert_cmpuint (notified, ==, 1);
  g_object_set (server, "proxy-timeout", 0, NULL);
  g_assert_cmpuint (tcp_server_get_proxy_timeout (server), ==, 0);
  g_assert_cmpuint (notified, ==, 2);
}

/* ------------------------------------------------------------------ */
/* Dante                                                              */

typedef struct
{
  GSubprocess *process;
  gchar       *dir;
  guint16      port;
} Dante;

/* Starts danted on a free loopback port. @socksmethod is "none" or
 * "username"; @bind_rule "pass" or "block". */
static Dante *
dante_start (const gchar *socksmethod,
             const gchar *bind_rule)
{
  g_autoptr(GError) error = NULL;
  g_autofree gchar *config_path = NULL;
  g_autofree gchar *pid_path = NULL;
  g_autofree gchar *log_path = NULL;
  g_autofree gchar *config = NULL;
  Dante *dante;
  gint64 deadline;

  dante = g_new0 (Dante, 1);
  dante->dir = g_dir_make_tmp ("tcp-dante-XXXXXX", &error);
  g_assert_no_error (error);
  config_path = g_build_filename (dante->dir, "danted.conf", NULL);
  pid_path = g_build_filename (dante->dir, "danted.pid", NULL);
  log_path = g_build_filename (dante->dir, "danted.log", NULL);
  dante->port = free_port ();

  config = g_strdup_printf ("logoutput: %s\n"
                            "internal: 127.0.0.1 port = %u\n"
                            "external: 127.0.0.1\n"
                            "clientmethod: none\n"
                            "socksmethod: %s\n"
                            "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                            "socks %s { from: 0.0.0.0/0 to: 0.0.0.0/0 command: bind bindreply }\n",
                            log_path, dante->port, socksmethod, bind_rule);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  dante->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                     G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                     DANTED, "-f", config_path, "-p", pid_path, "-N", "1",
                                     NULL);
  g_assert_no_error (error);

  /* Ready once it accepts connections. */
  deadline = g_get_monotonic_time () + GUARD_MS * G_GINT64_CONSTANT (1000);
  for (;;)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = NULL;

      g_socket_client_set_enable_proxy (client, FALSE);
      connection = g_socket_client_connect_to_host (client, "127.0.0.1", dante->port, NULL,
                                                    NULL);
      if (connection != NULL)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree gchar *log = NULL;

          g_file_get_contents (log_path, &log, NULL, NULL);
          g_error ("danted did not start on port %u: %s", dante->port, log ? log : "(no log)");
        }
      g_usleep (20000);
    }

  return dante;
}

static gchar *
dante_uri (Dante       *dante,
           const gchar *userinfo)
{
  return g_strdup_printf ("socks5://%s%s127.0.0.1:%u",
                          userinfo != NULL ? userinfo : "", userinfo != NULL ? "@" : "",
                          dante->port);
}

static void
dante_stop (Dante *dante)
{
  const gchar *names[] = { "danted.conf", "danted.pid", "danted.log" };
  gsize i;

  g_subprocess_send_signal (dante->process, SIGTERM);
  g_subprocess_wait (dante->process, NULL, NULL);
  g_object_unref (dante->process);

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree gchar *path = g_build_filename (dante->dir, names[i], NULL);

      g_unlink (path);
    }
  g_rmdir (dante->dir);
  g_free (dante->dir);
  g_free (dante);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Dante, dante_stop)

static gboolean
have_dante (void)
{
  if (!g_file_test (DANTED, G_FILE_TEST_IS_EXECUTABLE))
    {
      /* A real proxy is the point of these tests: its absence is a failure. */
      g_test_fail_printf ("%s is missing: install dante-server (build-aux/install-deps.sh does)",
                          DANTED);
      return FALSE;
    }
  return TRUE;
}

static gboolean
have_dante_user (void)
{
  if (!have_dante ())
    return FALSE;
  if (geteuid () != 0)
    {
      /* dante checks the password in /etc/shadow, which only root reads. */
      g_test_skip ("dante's username method needs the test to run as root");
      return FALSE;
    }
  if (getpwnam (DANTE_USER) == NULL)
    {
      g_test_skip ("system user " DANTE_USER " is missing (build-aux/install-deps.sh "
                   "creates it in CI, or with TCP_SOCKS5_TEST_USER=1)");
      return FALSE;
    }
  return TRUE;
}

/* listen() through dante, a peer dials the announced port, and the
 * control connection becomes that peer's connection. */
static void
test_dante_bind (void)
{
  g_autoptr(Dante) dante = NULL;
  g_autofree gchar *uri = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GSocketConnection) peer = NULL;
  g_autoptr(GIOStream) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *address = NULL;
  Events events;

  if (!have_dante ())
    return;

  dante = dante_start ("none", "pass");
  uri = dante_uri (dante, NULL);
  server = server_new (uri, &events);

  g_assert_true (tcp_server_listen (server, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_listening (server));

  address = g_inet_address_to_string (tcp_server_get_server_address (server));
  g_assert_cmpstr (address, ==, "127.0.0.1");
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, 0);
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, dante->port);
  g_assert_cmpuint (events.n_listening_notify, ==, 1);

  peer = dial_server (server);
  RUN_UNTIL (events.n_new_connection > 0 || events.n_accept_error > 0);
  g_assert_no_error (events.accept_error);
  g_assert_false (tcp_server_is_listening (server));
  g_assert_cmpuint (events.n_listening_notify, ==, 2);

  connection = tcp_server_next_pending_connection (server);
  g_assert_true (G_IS_TCP_CONNECTION (connection));
  write_string (G_IO_STREAM (peer), "ping");
  assert_read (connection, "ping");
  write_string (connection, "pong");
  assert_read (G_IO_STREAM (peer), "pong");

  g_io_stream_close (connection, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (peer), NULL, NULL);
  events_clear (&events);
}

/* A fixed port asked for is the port dante binds. */
static void
test_dante_bind_port (void)
{
  g_autoptr(Dante) dante = NULL;
  g_autofree gchar *uri = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;
  Events events;

  if (!have_dante ())
    return;

  dante = dante_start ("none", "pass");
  uri = dante_uri (dante, NULL);
  server = server_new (uri, &events);
  port = free_port ();

  tcp_server_listen_async (server, NULL, port, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_true (tcp_server_listen_finish (server, result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, port);
  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
  events_clear (&events);
}

static void
test_dante_refused (void)
{
  g_autoptr(Dante) dante = NULL;
  g_autofree gchar *uri = NULL;
  g_autoptr(TcpServer) server = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Events events;

  if (!have_dante ())
    return;

  dante = dante_start ("none", "block");
  uri = dante_uri (dante, NULL);
  server = server_new (uri, &events);

  tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
  RUN_UNTIL (result != NULL);
  g_assert_false (tcp_server_listen_finish (server, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED);
  g_assert_false (tcp_server_is_listening (server));
  events_clear (&events);
}

static void
test_dante_username (void)
{
  g_autoptr(Dante) dante = NULL;
  g_autofree gchar *good = NULL;
  g_autofree gchar *bad = NULL;
  g_autofree gchar *none = NULL;
  const gchar *uris[3];
  const gint codes[3] = { 0, G_IO_ERROR_PROXY_AUTH_FAILED, G_IO_ERROR_PROXY_NEED_AUTH };
  gsize i;

  if (!have_dante_user ())
    return;

  dante = dante_start ("username", "pass");
  uris[0] = good = dante_uri (dante, DANTE_USER ":" DANTE_PASSWORD);
  uris[1] = bad = dante_uri (dante, DANTE_USER ":wrong");
  uris[2] = none = dante_uri (dante, NULL);

  for (i = 0; i < G_N_ELEMENTS (uris); i++)
    {
      Events events;
      g_autoptr(TcpServer) server = server_new (uris[i], &events);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;

      tcp_server_listen_async (server, NULL, 0, NULL, store_result_cb, &result);
      RUN_UNTIL (result != NULL);

      if (codes[i] == 0)
        {
          g_autoptr(GSocketConnection) peer = NULL;
          g_autoptr(GIOStream) connection = NULL;

          g_assert_true (tcp_server_listen_finish (server, result, &error));
          g_assert_no_error (error);
          peer = dial_server (server);
          RUN_UNTIL (events.n_new_connection > 0 || events.n_accept_error > 0);
          g_assert_no_error (events.accept_error);
          connection = tcp_server_next_pending_connection (server);
          write_string (connection, "authenticated");
          assert_read (G_IO_STREAM (peer), "authenticated");
          g_io_stream_close (connection, NULL, NULL);
        }
      else
        {
          g_assert_false (tcp_server_listen_finish (server, result, &error));
          g_assert_error (error, G_IO_ERROR, codes[i]);
          g_assert_false (tcp_server_is_listening (server));
        }
      events_clear (&events);
    }
}

int
main (int   argc,
      char *argv[])
{
  gsize i;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Socks5/parser/method", test_parser_method);
  g_test_add_func ("/Tcp/Socks5/parser/auth", test_parser_auth);
  g_test_add_func ("/Tcp/Socks5/parser/reply", test_parser_reply);
  g_test_add_func ("/Tcp/Socks5/parser/reply-codes", test_parser_reply_codes);
  g_test_add_func ("/Tcp/Socks5/parser/build", test_parser_build);

  for (i = 0; i < G_N_ELEMENTS (failure_cases); i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/Tcp/Socks5/fake/failure/%s",
                                                failure_cases[i].name);

      g_test_add_data_func (path, &failure_cases[i], test_fake_failure);
    }
  g_test_add_func ("/Tcp/Socks5/fake/failure-async", test_fake_failure_async);
  g_test_add_func ("/Tcp/Socks5/fake/bind", test_fake_bind);
  g_test_add_func ("/Tcp/Socks5/fake/bound-address", test_fake_bound_address);
  g_test_add_func ("/Tcp/Socks5/fake/second-reply-fails", test_fake_second_reply_fails);
  g_test_add_func ("/Tcp/Socks5/fake/credentials", test_fake_credentials);
  g_test_add_func ("/Tcp/Socks5/fake/subclass", test_fake_subclass);
  g_test_add_func ("/Tcp/Socks5/fake/accept-async", test_fake_accept_async);
  g_test_add_func ("/Tcp/Socks5/fake/close-during-negotiation",
                   test_fake_close_during_negotiation);
  g_test_add_func ("/Tcp/Socks5/fake/wait", test_fake_wait);
  g_test_add_func ("/Tcp/Socks5/unreachable", test_unreachable);
  g_test_add_func ("/Tcp/Socks5/resolve", test_resolve);
  g_test_add_func ("/Tcp/Socks5/resolve-failure", test_resolve_failure);
  g_test_add_func ("/Tcp/Socks5/uri-errors", test_uri_errors);
  g_test_add_func ("/Tcp/Socks5/bypass", test_bypass);
  g_test_add_func ("/Tcp/Socks5/proxy-timeout-property", test_proxy_timeout_property);
  g_test_add_func ("/Tcp/Socks5/dante/bind", test_dante_bind);
  g_test_add_func ("/Tcp/Socks5/dante/bind-port", test_dante_bind_port);
  g_test_add_func ("/Tcp/Socks5/dante/refused", test_dante_refused);
  g_test_add_func ("/Tcp/Socks5/dante/username", test_dante_username);

  return g_test_run ();
}

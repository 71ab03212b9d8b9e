/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tls-certificate.c: loading a TcpTlsServer's certificate
 *
 * Copyright 2026 The libtcp authors
 *
 * tcp_tls_server_load_certificate(): a certificate and its key from PEM
 * files, with the check GIO does not make, that the key belongs to the
 * certificate.
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp-tls-server.h"

typedef struct
{
  GIOStream *base;
  GIOStream *connection;
  GError    *error;
} KeyCheck;

static gpointer
key_check_server_thread (gpointer data)
{
  KeyCheck *check = data;

  if (!g_tls_connection_handshake (G_TLS_CONNECTION (check->connection), NULL, &check->error))
    g_io_stream_close (check->base, NULL, NULL);   /* unblocks the client side */
  return NULL;
}

static gboolean
accept_any_certificate_cb (GTlsConnection       *connection,
                           GTlsCertificate      *peer_certificate,
                           GTlsCertificateFlags  errors,
                           gpointer              user_data)
{
  return TRUE;
}

static GIOStream *
connection_from_fd (int      fd,
                    GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }

  /* Bounds the check if one side stalls. */
  g_socket_set_timeout (socket, 10);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* GIO loads a certificate and an unrelated key without complaint, and the
 * server would fail every handshake later. A handshake with itself, over a
 * socket pair, proves that the key signs for the certificate. */
static gboolean
check_key_matches (GTlsCertificate  *certificate,
                   GError          **error)
{
  g_autoptr(GIOStream) server_base = NULL;
  g_autoptr(GIOStream) client_base = NULL;
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GError) client_error = NULL;
  KeyCheck check = { NULL, NULL, NULL };
  GThread *thread;
  int fds[2];
  gboolean ok;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not check the private key: socketpair() failed: %s",
                   g_strerror (errsv));
      return FALSE;
    }

  server_base = connection_from_fd (fds[0], error);
  if (server_base == NULL)
    {
      close (fds[1]);
      return FALSE;
    }
  client_base = connection_from_fd (fds[1], error);
  if (client_base == NULL)
    return FALSE;

  check.base = server_base;
  check.connection = g_tls_server_connection_new (server_base, certificate, error);
  if (check.connection == NULL)
    return FALSE;
  client = g_tls_client_connection_new (client_base, NULL, error);
  if (client == NULL)
    {
      g_object_unref (check.connection);
      return FALSE;
    }

  /* Only the key is on trial, not who signed the certificate. */
  g_tls_connection_set_database (G_TLS_CONNECTION (client), NULL);
  g_signal_connect (client, "accept-certificate", G_CALLBACK (accept_any_certificate_cb), NULL);

  thread = g_thread_new ("tcp-key-check", key_check_server_thread, &check);
  ok = g_tls_connection_handshake (G_TLS_CONNECTION (client), NULL, &client_error);
  if (!ok)
    g_io_stream_close (client_base, NULL, NULL);   /* unblocks the server side */
  g_thread_join (thread);

  /* Which side failed first cannot be told reliably (each one's failure
   * makes the other fail), so the message carries both. */
  if (!ok || check.error != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 "the private key does not match the certificate, or TLS cannot use "
                 "them (a test handshake failed: %s%s%s)",
                 client_error != NULL ? client_error->message : "",
                 client_error != NULL && check.error != NULL ? "; " : "",
                 check.error != NULL ? check.error->message : "");
  ok = ok && check.error == NULL;

  g_io_stream_close (client, NULL, NULL);
  g_io_stream_close (check.connection, NULL, NULL);
  g_clear_error (&check.error);
  g_object_unref (check.connection);

  return ok;
}

/**
 * tcp_tls_server_load_certificate:
 * @cert_file: (type filename): a PEM file holding the certificate (and
 *   optionally its chain)
 * @key_file: (type filename): a PEM file holding the matching private key
 * @error: return location for a [struct@GLib.Error]
 *
 * Loads a certificate and its private key from PEM files, and checks that
 * the key belongs to the certificate (GIO itself does not, and a server with
 * a foreign key would fail every handshake). The check is a TLS handshake
 * with itself over a socket pair, some tens of milliseconds: load once, at
 * start-up.
 *
 * A missing or unreadable file fails with the matching
 * [error@Gio.IOErrorEnum] code (%G_IO_ERROR_NOT_FOUND, …), a file that holds
 * no certificate or no key, or a key that does not match, with
 * %G_IO_ERROR_INVALID_DATA; a system without a TLS backend fails with
 * %G_IO_ERROR_NOT_SUPPORTED. Every message names the files.
 *
 * Returns: (transfer full) (nullable): the certificate, or %NULL with
 *   @error set
 *
 * Since: 1.0
 */
GTlsCertificate *
tcp_tls_server_load_certificate (const gchar  *cert_file,
                                 const gchar  *key_file,
                                 GError      **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree gchar *cert_name = NULL;
  g_autofree gchar *key_name = NULL;

  g_return_val_if_fail (cert_file != NULL, NULL);
  g_return_val_if_fail (key_file != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Error messages are UTF-8 (bindings decode them); file names need not be. */
  cert_name = g_filename_display_name (cert_file);
  key_name = g_filename_display_name (key_file);

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not load the TLS certificate “%s” with the key “%s”: no TLS "
                   "backend is available (is glib-networking installed?)",
                   cert_name, key_name);
      return NULL;
    }

  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &local_error);
  if (certificate != NULL)
    check_key_matches (certificate, &local_error);

  if (local_error != NULL)
    {
      gint code = G_IO_ERROR_INVALID_DATA;

      if (local_error->domain == G_FILE_ERROR)
        code = g_io_error_from_file_error (local_error->code);
      else if (local_error->domain == G_IO_ERROR)
        code = local_error->code;

      g_set_error (error, G_IO_ERROR, code,
                   "Could not load the TLS certificate “%s” with the key “%s”: %s",
                   cert_name, key_name, local_error->message);
      return NULL;
    }

  return g_steal_pointer (&certificate);
}


/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-parser.c: the SOCKS5 wire format, without any I/O
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <string.h>

#include "tcp-socks5-parser-private.h"

/* Method selection reply (RFC 1928 §3): VER METHOD. */
TcpSocks5ParseResult
tcp_socks5_parse_method_reply (const guint8  *data,
                               gsize          len,
                               gsize         *needed,
                               guint8        *method,
                               GError       **error)
{
  g_assert (data != NULL || len == 0);

  *needed = 2;
  if (len >= 1 && data[0] != TCP_SOCKS5_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy answered the greeting with version %u, not SOCKS5",
                   data[0]);
      return TCP_SOCKS5_PARSE_ERROR;
    }
  if (len < 2)
    return TCP_SOCKS5_PARSE_NEED_MORE;

  *method = data[1];
  return TCP_SOCKS5_PARSE_OK;
}

/* Username/password status (RFC 1929 §2): VER STATUS. */
TcpSocks5ParseResult
tcp_socks5_parse_auth_reply (const guint8  *data,
                             gsize          len,
                             gsize         *needed,
                             GError       **error)
{
  g_assert (data != NULL || len == 0);

  *needed = 2;
  if (len >= 1 && data[0] != TCP_SOCKS5_AUTH_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy answered the username/password request with version %u, not 1",
                   data[0]);
      return TCP_SOCKS5_PARSE_ERROR;
    }
  if (len < 2)
    return TCP_SOCKS5_PARSE_NEED_MORE;

  if (data[1] != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED,
                   "The proxy rejected the user name and password (status %u)", data[1]);
      return TCP_SOCKS5_PARSE_ERROR;
    }

  return TCP_SOCKS5_PARSE_OK;
}

/* Request reply (RFC 1928 §6): VER REP RSV ATYP BND.ADDR BND.PORT, where
 * BND.ADDR is 4 bytes, 16 bytes, or a length byte and that many bytes. */
TcpSocks5ParseResult
tcp_socks5_parse_reply (const guint8    *data,
                        gsize            len,
                        gsize           *needed,
                        TcpSocks5Reply  *reply,
                        GError         **error)
{
  gsize address_len;
  gsize address_offset = 4;

  g_assert (data != NULL || len == 0);

  /* Enough to learn the address length. */
  *needed = 5;

  if (len >= 1 && data[0] != TCP_SOCKS5_VERSION)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy replied with version %u, not SOCKS5", data[0]);
      return TCP_SOCKS5_PARSE_ERROR;
    }
  if (len >= 3 && data[2] != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy sent a malformed reply (reserved byte is %u)", data[2]);
      return TCP_SOCKS5_PARSE_ERROR;
    }
  if (len < 4)
    return TCP_SOCKS5_PARSE_NEED_MORE;

  switch (data[3])
    {
    case TCP_SOCKS5_ATYP_IPV4:
      address_len = 4;
      break;

    case TCP_SOCKS5_ATYP_IPV6:
      address_len = 16;
      break;

    case TCP_SOCKS5_ATYP_DOMAIN:
      if (len < 5)
        return TCP_SOCKS5_PARSE_NEED_MORE;
      address_len = data[4];
      address_offset = 5;
      if (address_len == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                               "The proxy sent a malformed reply (empty host name)");
          return TCP_SOCKS5_PARSE_ERROR;
        }
      break;

    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy sent a malformed reply (unknown address type %u)", data[3]);
      return TCP_SOCKS5_PARSE_ERROR;
    }

  *needed = address_offset + address_len + 2;
  if (len < *needed)
    return TCP_SOCKS5_PARSE_NEED_MORE;

  reply->reply = data[1];
  reply->address_type = data[3];
  memcpy (reply->address, data + address_offset, address_len);
  reply->address_len = address_len;
  reply->port = (guint16) ((data[address_offset + address_len] << 8) |
                           data[address_offset + address_len + 1]);

  return TCP_SOCKS5_PARSE_OK;
}

/* Whether @method is one the client offered. A proxy that wants a password
 * from a client that has none is told apart: the user can fix that. */
gboolean
tcp_socks5_check_method (guint8    method,
                         gboolean  offered_username,
                         GError  **error)
{
  if (method == TCP_SOCKS5_METHOD_NONE)
    return TRUE;
  if (method == TCP_SOCKS5_METHOD_USERNAME && offered_username)
    return TRUE;

  if (method == TCP_SOCKS5_METHOD_USERNAME ||
      (method == TCP_SOCKS5_METHOD_NO_ACCEPTABLE && !offered_username))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH,
                         "The proxy requires authentication: give a user name and "
                         "password in the proxy URI");
  else if (method == TCP_SOCKS5_METHOD_NO_ACCEPTABLE)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED,
                         "The proxy accepts none of the offered authentication methods");
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                 "The proxy chose authentication method %u, which was not offered",
                 method);

  return FALSE;
}

/* Turns a reply's REP field into an error. */
gboolean
tcp_socks5_check_reply (const TcpSocks5Reply  *reply,
                        GError               **error)
{
  switch (reply->reply)
    {
    case 0x00:
      return TRUE;

    case 0x01:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                           "The proxy reported a general failure");
      break;

    case 0x02:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED,
                           "The proxy's rules do not allow this request");
      break;

    case 0x03:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                           "The proxy reported the network unreachable");
      break;

    case 0x04:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
                           "The proxy reported the host unreachable");
      break;

    case 0x05:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "The proxy reported the connection refused");
      break;

    case 0x06:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The proxy reported that the TTL expired");
      break;

    case 0x07:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                           "The proxy does not support the BIND command");
      break;

    case 0x08:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                           "The proxy does not support the address type");
      break;

    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   "The proxy refused the request (reply code %u)", reply->reply);
      break;
    }

  return FALSE;
}

/* Returns the reply's address, or %NULL for a host name that is not a
 * numeric address. */
GInetAddress *
tcp_socks5_reply_get_address (const TcpSocks5Reply *reply)
{
  gchar name[256];

  switch (reply->address_type)
    {
    case TCP_SOCKS5_ATYP_IPV4:
      return g_inet_address_new_from_bytes (reply->address, G_SOCKET_FAMILY_IPV4);

    case TCP_SOCKS5_ATYP_IPV6:
      return g_inet_address_new_from_bytes (reply->address, G_SOCKET_FAMILY_IPV6);

    case TCP_SOCKS5_ATYP_DOMAIN:
      g_assert (reply->address_len < sizeof name);
      memcpy (name, reply->address, reply->address_len);
      name[reply->address_len] = '\0';
      if (strlen (name) != reply->address_len)
        return NULL;
      return g_inet_address_new_from_string (name);

    default:
      return NULL;
    }
}

void
tcp_socks5_build_greeting (GByteArray *out,
                           gboolean    offer_username)
{
  guint8 greeting[] = {
    TCP_SOCKS5_VERSION, 1, TCP_SOCKS5_METHOD_NONE, TCP_SOCKS5_METHOD_USERNAME
  };

  greeting[1] = offer_username ? 2 : 1;
  g_byte_array_append (out, greeting, 2 + greeting[1]);
}

gboolean
tcp_socks5_build_auth (GByteArray   *out,
                       const gchar  *username,
                       const gchar  *password,
                       GError      **error)
{
  gsize username_len = strlen (username);
  gsize password_len = strlen (password);
  guint8 byte;

  if (username_len == 0 || username_len > TCP_SOCKS5_CREDENTIAL_MAX ||
      password_len > TCP_SOCKS5_CREDENTIAL_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "SOCKS5 user names must have 1 to %d bytes and passwords at most %d",
                   TCP_SOCKS5_CREDENTIAL_MAX, TCP_SOCKS5_CREDENTIAL_MAX);
      return FALSE;
    }

  byte = TCP_SOCKS5_AUTH_VERSION;
  g_byte_array_append (out, &byte, 1);
  byte = (guint8) username_len;
  g_byte_array_append (out, &byte, 1);
  g_byte_array_append (out, (const guint8 *) username, username_len);
  byte = (guint8) password_len;
  g_byte_array_append (out, &byte, 1);
  g_byte_array_append (out, (const guint8 *) password, password_len);

  return TRUE;
}

/* A BIND request for @address (%NULL: any IPv4 address) and @port. */
void
tcp_socks5_build_bind (GByteArray   *out,
                       GInetAddress *address,
                       guint16       port)
{
  guint8 header[] = { TCP_SOCKS5_VERSION, TCP_SOCKS5_COMMAND_BIND, 0, TCP_SOCKS5_ATYP_IPV4 };
  static const guint8 any_ipv4[4] = { 0, 0, 0, 0 };
  guint8 port_bytes[2] = { port >> 8, port & 0xff };

  if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    header[3] = TCP_SOCKS5_ATYP_IPV6;

  g_byte_array_append (out, header, sizeof header);
  if (address != NULL)
    g_byte_array_append (out, g_inet_address_to_bytes (address),
                         g_inet_address_get_native_size (address));
  else
    g_byte_array_append (out, any_ipv4, sizeof any_ipv4);
  g_byte_array_append (out, port_bytes, sizeof port_bytes);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-socks5-reply.c: libFuzzer target for the SOCKS5 reply parser
 *
 * Copyright 2026 The libtcp authors
 *
 * The input is what a proxy might send on the control connection. It is
 * parsed twice: each parser on the whole input, and as a session (method
 * selection, username/password status when the proxy picks that method,
 * then the two BIND replies), fed in the chunks the client would read.
 * The parsers' contract is checked on every call: NEED_MORE asks for more
 * than it was given, OK consumes no more than it was given, ERROR sets an
 * error in the G_IO_ERROR domain.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "lib/tcp-socks5-parser-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
check (TcpSocks5ParseResult  result,
       gsize                 len,
       gsize                 needed,
       GError              **error)
{
  switch (result)
    {
    case TCP_SOCKS5_PARSE_NEED_MORE:
      if (needed <= len || *error != NULL)
        abort ();
      break;

    case TCP_SOCKS5_PARSE_OK:
      if (needed == 0 || needed > len || *error != NULL)
        abort ();
      break;

    case TCP_SOCKS5_PARSE_ERROR:
      if (*error == NULL || (*error)->domain != G_IO_ERROR || (*error)->message == NULL)
        abort ();
      g_clear_error (error);
      break;

    default:
      abort ();
    }
}

static void
use_reply (const TcpSocks5Reply *reply)
{
  GError *error = NULL;
  GInetAddress *address;

  if (!tcp_socks5_check_reply (reply, &error))
    g_clear_error (&error);
  address = tcp_socks5_reply_get_address (reply);
  g_clear_object (&address);
}

/* Parses the input as the client reads it; returns FALSE when the session
 * ends (error or input exhausted). */
static gboolean
session_step (const uint8_t  *data,
              size_t          size,
              gsize          *offset,
              gint            which)
{
  GError *error = NULL;
  TcpSocks5Reply reply;
  guint8 method = 0;
  gsize len = 0;
  gsize needed = 0;
  TcpSocks5ParseResult result;

  for (;;)
    {
      const guint8 *start = data + *offset;

      if (which == 0)
        result = tcp_socks5_parse_method_reply (start, len, &needed, &method, &error);
      else if (which == 1)
        result = tcp_socks5_parse_auth_reply (start, len, &needed, &error);
      else
        result = tcp_socks5_parse_reply (start, len, &needed, &reply, &error);
      check (result, len, needed, &error);

      if (result == TCP_SOCKS5_PARSE_ERROR)
        return FALSE;
      if (result == TCP_SOCKS5_PARSE_OK)
        break;
      if (*offset + needed > size)
        return FALSE;
      len = needed;
    }

  *offset += needed;
  if (which == 0)
    {
      if (!tcp_socks5_check_method (method, TRUE, &error))
        {
          g_clear_error (&error);
          return FALSE;
        }
      return method != TCP_SOCKS5_METHOD_USERNAME || session_step (data, size, offset, 1);
    }
  if (which == 2)
    use_reply (&reply);

  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  GError *error = NULL;
  TcpSocks5Reply reply;
  guint8 method;
  gsize needed = 0;
  gsize offset = 0;

  check (tcp_socks5_parse_method_reply (data, size, &needed, &method, &error), size, needed,
         &error);
  check (tcp_socks5_parse_auth_reply (data, size, &needed, &error), size, needed, &error);
  if (tcp_socks5_parse_reply (data, size, &needed, &reply, &error) == TCP_SOCKS5_PARSE_OK)
    use_reply (&reply);
  else if (error != NULL)
    g_clear_error (&error);

  if (session_step (data, size, &offset, 0) &&
      session_step (data, size, &offset, 2))
    session_step (data, size, &offset, 2);

  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socks5-parser-private.h: the SOCKS5 wire format, without any I/O
 *
 * Copyright 2026 The libtcp authors
 *
 * Pure functions over byte buffers: they build the client's messages
 * (RFC 1928 greeting and requests, RFC 1929 username/password) and parse
 * the proxy's replies. Nothing here touches a socket, a main context or a
 * global, so a fuzzer can call the parsers on any input.
 *
 * Every parser takes the bytes received so far and returns
 * %TCP_SOCKS5_PARSE_NEED_MORE (with *needed set to the length the message
 * has at least, always more than @len), %TCP_SOCKS5_PARSE_OK (with *needed
 * set to the length of the message, which the caller consumes), or
 * %TCP_SOCKS5_PARSE_ERROR (with @error set). Reading exactly *needed bytes
 * never consumes what follows a reply: after the last one the connection
 * carries the peer's data.
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  TCP_SOCKS5_PARSE_ERROR = -1,
  TCP_SOCKS5_PARSE_NEED_MORE = 0,
  TCP_SOCKS5_PARSE_OK = 1,
} TcpSocks5ParseResult;

#define TCP_SOCKS5_VERSION              0x05
#define TCP_SOCKS5_AUTH_VERSION         0x01

#define TCP_SOCKS5_METHOD_NONE          0x00
#define TCP_SOCKS5_METHOD_USERNAME      0x02
#define TCP_SOCKS5_METHOD_NO_ACCEPTABLE 0xff

#define TCP_SOCKS5_COMMAND_BIND         0x02

#define TCP_SOCKS5_ATYP_IPV4            0x01
#define TCP_SOCKS5_ATYP_DOMAIN          0x03
#define TCP_SOCKS5_ATYP_IPV6            0x04

/* RFC 1929 caps the user name and the password at 255 bytes each. */
#define TCP_SOCKS5_CREDENTIAL_MAX       255

typedef struct
{
  guint8  reply;            /* REP: 0 is success */
  guint8  address_type;     /* ATYP */
  guint8  address[255];     /* 4 or 16 bytes, or the domain name (not NUL-terminated) */
  gsize   address_len;
  guint16 port;             /* host byte order */
} TcpSocks5Reply;

TcpSocks5ParseResult tcp_socks5_parse_method_reply (const guint8          *data,
                                                    gsize                  len,
                                                    gsize                 *needed,
                                                    guint8                *method,
                                                    GError               **error);
TcpSocks5ParseResult tcp_socks5_parse_auth_reply   (const guint8          *data,
                                                    gsize                  len,
                                                    gsize                 *needed,
                                                    GError               **error);
TcpSocks5ParseResult tcp_socks5_parse_reply        (const guint8          *data,
                                                    gsize                  len,
                                                    gsize                 *needed,
                                                    TcpSocks5Reply        *reply,
                                                    GError               **error);

gboolean             tcp_socks5_check_method       (guint8                 method,
                                                    gboolean               offered_username,
                                                    GError               **error);
gboolean             tcp_socks5_check_reply        (const TcpSocks5Reply  *reply,
                                                    GError               **error);
GInetAddress        *tcp_socks5_reply_get_address  (const TcpSocks5Reply  *reply);

void                 tcp_socks5_build_greeting     (GByteArray            *out,
                                                    gboolean               offer_username);
gboolean             tcp_socks5_build_auth         (GByteArray            *out,
                                                    const gchar           *username,
                                                    const gchar           *password,
                                                    GError               **error);
void                 tcp_socks5_build_bind         (GByteArray            *out,
                                                    GInetAddress          *address,
                                                    guint16                port);

G_END_DECLS

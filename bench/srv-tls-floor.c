/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-tls-floor.c: the TLS floor: a bare GnuTLS server, one thread, epoll
 *
 * Copyright 2026 The libtcp authors
 *
 * What a TLS fortune server costs with nothing but GnuTLS and the kernel:
 * accept4() in a loop after epoll_wait(), then per connection a GnuTLS
 * session driven by non-blocking gnutls_handshake() calls as the socket
 * becomes ready, the fortune in one record, close_notify
 * (gnutls_bye (GNUTLS_SHUT_WR)) and close(). The credentials (certificate
 * and key) and the priority cache are made once; there is no trust store,
 * since the server asks no client for a certificate.
 *
 * The accepted sockets get TCP_NODELAY: GnuTLS writes each handshake flight
 * at once, but the fortune and close_notify are two writes, and the floor
 * must not wait out the client's delayed ACK between them.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "bench-common.h"

typedef enum { ST_HANDSHAKE, ST_SEND, ST_BYE } State;

typedef struct
{
  int              fd;
  gnutls_session_t session;
  State            state;
  uint32_t         events;   /* what the fd is registered for, 0: nothing */
} Conn;

static int ep;
static gnutls_certificate_credentials_t creds;
static gnutls_priority_t priority;

static void
finish (Conn *c)
{
  gnutls_deinit (c->session);
  close (c->fd);   /* also leaves the epoll set */
  free (c);
}

/* Waits for the direction GnuTLS asked for. */
static void
wait_for (Conn *c)
{
  uint32_t events = gnutls_record_get_direction (c->session) ? EPOLLOUT : EPOLLIN;
  struct epoll_event ev = { .events = events, .data.ptr = c };

  if (c->events == events)
    return;
  if (epoll_ctl (ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
    {
      perror ("epoll_ctl");
      exit (1);
    }
  c->events = events;
}

/* Moves @c on as far as it goes without blocking, and frees it at the end
 * or on failure. */
static void
step (Conn *c)
{
  int ret;

  switch (c->state)
    {
    case ST_HANDSHAKE:
      do
        ret = gnutls_handshake (c->session);
      while (ret < 0 && !gnutls_error_is_fatal (ret) && ret != GNUTLS_E_AGAIN);
      if (ret == GNUTLS_E_AGAIN)
        {
          wait_for (c);
          return;
        }
      if (ret < 0)
        {
          finish (c);
          return;
        }
      c->state = ST_SEND;
      ret = gnutls_record_send (c->session, BENCH_FORTUNE, BENCH_FORTUNE_LEN);
      break;

    case ST_SEND:
      /* After GNUTLS_E_AGAIN, GnuTLS wants the call repeated with no data. */
      ret = gnutls_record_send (c->session, NULL, 0);
      break;

    case ST_BYE:
    default:
      ret = 0;
      break;
    }

  if (c->state == ST_SEND)
    {
      if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
        {
          wait_for (c);
          return;
        }
      if (ret < 0)
        {
          finish (c);
          return;
        }
      c->state = ST_BYE;
    }

  ret = gnutls_bye (c->session, GNUTLS_SHUT_WR);
  if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
    {
      wait_for (c);
      return;
    }
  finish (c);
}

static void
accept_all (int listener)
{
  int fd;

  while ((fd = accept4 (listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
    {
      Conn *c = calloc (1, sizeof *c);
      int one = 1;

      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c->fd = fd;
      c->state = ST_HANDSHAKE;
      if (gnutls_init (&c->session, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
          gnutls_priority_set (c->session, priority) < 0 ||
          gnutls_credentials_set (c->session, GNUTLS_CRD_CERTIFICATE, creds) < 0)
        {
          fprintf (stderr, "gnutls_init failed\n");
          exit (1);
        }
      gnutls_transport_set_int (c->session, fd);
      /* The ClientHello has often arrived with the connection. */
      step (c);
    }
}

int
main (int   argc,
      char *argv[])
{
  struct epoll_event events[256];
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  BenchArgs args;
  int listener, port, ret;

  bench_parse_args (argc, argv, &args);
  bench_require_tls (&args, argv[0]);

  if ((ret = gnutls_global_init ()) < 0 ||
      (ret = gnutls_certificate_allocate_credentials (&creds)) < 0 ||
      (ret = gnutls_certificate_set_x509_key_file (creds, args.cert_file, args.key_file,
                                                   GNUTLS_X509_FMT_PEM)) < 0 ||
      (ret = gnutls_priority_init (&priority, NULL, NULL)) < 0)
    {
      fprintf (stderr, "GnuTLS set-up: %s\n", gnutls_strerror (ret));
      return 1;
    }

  listener = bench_open_listener (&args, &port);
  ep = epoll_create1 (EPOLL_CLOEXEC);
  epoll_ctl (ep, EPOLL_CTL_ADD, listener, &ev);
  bench_write_port (&args, port);

  for (;;)
    {
      int n = epoll_wait (ep, events, 256, -1);

      for (int i = 0; i < n; i++)
        {
          if (events[i].data.ptr == NULL)
            accept_all (listener);
          else
            step (events[i].data.ptr);
        }
    }
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tls-loadgen.c: a one-thread epoll TLS load generator on GnuTLS
 *
 * Copyright 2026 The libtcp authors
 *
 * Makes N TLS connections to 127.0.0.1:PORT, at most C at a time, or as
 * many as it can start in S seconds (-s) if that comes first. Each one:
 * non-blocking connect(), a full TLS 1.3 handshake (X25519 only, no session
 * ticket offered, so no resumption either way), then reads the server's
 * fortune until the server closes, and closes. The client does not verify
 * the server's certificate chain (no trust store is loaded); the handshake
 * itself still checks the server's CertificateVerify signature, a fixed cost
 * that is the same whatever the server.
 *
 * Latency is from the start of connect() to the end of the client's
 * handshake (hs_), and to the end of the fortune (done_). A connection
 * counts as ok only if it negotiated TLS 1.3, did not resume, and read
 * exactly the fortune's BENCH_FORTUNE_LEN bytes.
 *
 * It stops at the deadline (-t) whatever happens, and prints one line of
 * key=value pairs:
 *
 *   mode=tls ok=4000 failed=0 secs=1.12 rate=3571 hs_p50_us=4210 hs_p99_us=6120
 *     done_p50_us=4390 done_p99_us=6300 client_cpu_us=251.3 client_busy_pct=89.7
 *     client_wait_pct=2.1
 *     session=(TLS1.3)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)
 *
 * client_cpu_us is the load generator's own CPU time per handshake, and
 * client_busy_pct its CPU time as a share of the run: near 100 % the client,
 * not the server, sets the pace. client_wait_pct is the time it was
 * runnable but waiting for its CPU (/proc/self/schedstat), as a share of
 * the run: other programs in its way.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "bench-common.h"
#include "loadgen-common.h"

#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519"

typedef enum { ST_CONNECTING, ST_HANDSHAKE, ST_READING } State;

typedef struct
{
  int              fd;
  gnutls_session_t session;
  State            state;
  uint32_t         events;      /* what the fd is registered for */
  uint64_t         started_ns;
  uint64_t         handshake_ns;
  size_t           got;         /* fortune bytes read */
} Conn;

static long total = 1000;
static int in_flight = 16;
static double seconds = 0.0;       /* 0: no time limit, only -n */
static double deadline_s = 60.0;
static int port = 0;
static struct sockaddr_in target;
static gnutls_certificate_credentials_t creds;
static gnutls_priority_t priority;
static int ep;
static long errors_shown;
static char session_desc[256] = "none";

static uint64_t
cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Time spent runnable but waiting for a CPU, in ns (one thread). */
static uint64_t
wait_ns (void)
{
  unsigned long long run = 0, wait = 0;
  FILE *f = fopen ("/proc/self/schedstat", "r");

  if (f != NULL)
    {
      if (fscanf (f, "%llu %llu", &run, &wait) != 2)
        wait = 0;
      fclose (f);
    }
  return wait;
}

/* The first few failures are worth reading; a flood is not. */
static void
report_error (const char *what,
              const char *detail)
{
  if (errors_shown++ < 5)
    fprintf (stderr, "tls-loadgen: %s: %s\n", what, detail);
}

static int
watch (Conn     *c,
       uint32_t  events)
{
  struct epoll_event ev = { .events = events, .data.ptr = c };

  if (c->events == events)
    return 0;
  if (epoll_ctl (ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
    return -1;
  c->events = events;
  return 0;
}

static void
close_conn (Conn *c)
{
  if (c->session != NULL)
    gnutls_deinit (c->session);
  c->session = NULL;
  /* close() also drops the fd from the epoll set. No close_notify: the
   * server has closed already, and a client that leaves just leaves. */
  close (c->fd);
  c->fd = -1;
}

static int
open_conn (Conn *c)
{
  int one = 1;
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      report_error ("socket", strerror (errno));
      return -1;
    }
  /* The client writes each of its flights at once, but it must never be
   * the one that waits out a delayed ACK. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  c->fd = fd;
  c->session = NULL;
  c->state = ST_CONNECTING;
  c->events = 0;
  c->got = 0;
  c->started_ns = now_ns ();
  if (connect (fd, (struct sockaddr *) &target, sizeof target) < 0 && errno != EINPROGRESS)
    {
      report_error ("connect", strerror (errno));
      close (fd);
      c->fd = -1;
      return -1;
    }
  if (watch (c, EPOLLOUT) < 0)
    {
      close (fd);
      c->fd = -1;
      return -1;
    }
  return 0;
}

static int
start_tls (Conn *c)
{
  int err = 0;
  socklen_t len = sizeof err;
  int ret;

  getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    {
      report_error ("connect", strerror (err));
      return -1;
    }

  ret = gnutls_init (&c->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_priority_set (c->session, priority);
  if (ret == GNUTLS_E_SUCCESS)
    ret = gnutls_credentials_set (c->session, GNUTLS_CRD_CERTIFICATE, creds);
  if (ret != GNUTLS_E_SUCCESS)
    {
      report_error ("gnutls_init", gnutls_strerror (ret));
      return -1;
    }
  gnutls_transport_set_int (c->session, c->fd);
  c->state = ST_HANDSHAKE;
  return 0;
}

/* Reads the fortune. 1: finished, 0: wants more, -1: failed. */
static int
read_fortune (Conn *c)
{
  char buf[4096];

  for (;;)
    {
      ssize_t r = gnutls_record_recv (c->session, buf, sizeof buf);

      if (r > 0)
        {
          c->got += r;
          continue;
        }
      if (r == GNUTLS_E_AGAIN)
        return watch (c, EPOLLIN) < 0 ? -1 : 0;
      if (r == GNUTLS_E_INTERRUPTED)
        continue;
      /* close_notify, or the end of the TCP stream without one: either
       * way the server is done. */
      if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
        {
          if (c->got == BENCH_FORTUNE_LEN)
            return 1;
          report_error ("fortune", "wrong length");
          return -1;
        }
      report_error ("gnutls_record_recv", gnutls_strerror (r));
      return -1;
    }
}

/* Moves @c on as far as it goes without blocking. 1: finished, 0: wants
 * more, -1: failed. */
static int
step (Conn    *c,
      Samples *hs_lat)
{
  int ret;

  if (c->state == ST_CONNECTING && start_tls (c) < 0)
    return -1;

  if (c->state == ST_HANDSHAKE)
    {
      do
        ret = gnutls_handshake (c->session);
      while (ret < 0 && !gnutls_error_is_fatal (ret) && ret != GNUTLS_E_AGAIN);

      if (ret == GNUTLS_E_AGAIN)
        return watch (c, gnutls_record_get_direction (c->session) ? EPOLLOUT : EPOLLIN) < 0 ? -1 : 0;
      if (ret < 0)
        {
          report_error ("gnutls_handshake", gnutls_strerror (ret));
          return -1;
        }

      c->handshake_ns = now_ns ();
      samples_add (hs_lat, c->handshake_ns - c->started_ns);
      if (gnutls_protocol_get_version (c->session) != GNUTLS_TLS1_3 ||
          gnutls_session_is_resumed (c->session))
        {
          report_error ("handshake", "not a full TLS 1.3 handshake");
          return -1;
        }
      if (strcmp (session_desc, "none") == 0)
        {
          char *desc = gnutls_session_get_desc (c->session);

          snprintf (session_desc, sizeof session_desc, "%s", desc);
          gnutls_free (desc);
        }
      c->state = ST_READING;
    }

  return read_fortune (c);
}

static void
usage (const char *argv0)
{
  fprintf (stderr,
           "usage: %s -p PORT [-n N] [-c C] [-s SECONDS] [-t DEADLINE]\n"
           "  -n  TLS connections to make (default 1000)\n"
           "  -c  connections in flight (default 16)\n"
           "  -s  start no connection after SECONDS (default: no limit)\n"
           "  -t  hard deadline in seconds (default 60)\n",
           argv0);
  exit (2);
}

int
main (int   argc,
      char *argv[])
{
  struct epoll_event events[256];
  Samples hs_lat = { 0 }, done_lat = { 0 };
  Conn *conns;
  long ok = 0, failed = 0, started = 0;
  int active = 0;
  uint64_t t0, t1, c0, c1, w0, w1, deadline, stop_starting;
  double secs;
  int opt, ret;

  while ((opt = getopt (argc, argv, "n:c:s:t:p:h")) != -1)
    {
      switch (opt)
        {
        case 'n': total = atol (optarg); break;
        case 'c': in_flight = atoi (optarg); break;
        case 's': seconds = atof (optarg); break;
        case 't': deadline_s = atof (optarg); break;
        case 'p': port = atoi (optarg); break;
        default: usage (argv[0]);
        }
    }

  if (port <= 0 || port > 65535 || in_flight <= 0 || total <= 0 || seconds < 0 ||
      deadline_s <= 0)
    usage (argv[0]);

  raise_nofile ();

  memset (&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons (port);
  target.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  if ((ret = gnutls_global_init ()) < 0 ||
      (ret = gnutls_certificate_allocate_credentials (&creds)) < 0 ||
      (ret = gnutls_priority_init (&priority, PRIORITY, NULL)) < 0)
    {
      fprintf (stderr, "tls-loadgen: GnuTLS set-up: %s\n", gnutls_strerror (ret));
      return 1;
    }

  conns = calloc (in_flight, sizeof *conns);
  ep = epoll_create1 (EPOLL_CLOEXEC);
  if (conns == NULL || ep < 0)
    {
      perror ("setup");
      return 1;
    }
  for (int i = 0; i < in_flight; i++)
    conns[i].fd = -1;

  t0 = now_ns ();
  c0 = cpu_ns ();
  w0 = wait_ns ();
  deadline = t0 + (uint64_t) (deadline_s * 1e9);
  stop_starting = seconds > 0 ? t0 + (uint64_t) (seconds * 1e9) : UINT64_MAX;

  for (int i = 0; i < in_flight && started < total; i++)
    {
      started++;
      if (open_conn (&conns[i]) < 0)
        failed++;
      else
        active++;
    }

  while (active > 0 && now_ns () < deadline)
    {
      int n = epoll_wait (ep, events, 256, 100);

      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          int r = step (c, &hs_lat);

          if (r == 0)
            continue;
          if (r > 0)
            {
              ok++;
              samples_add (&done_lat, now_ns () - c->started_ns);
            }
          else
            failed++;
          close_conn (c);
          active--;

          /* Reuse the slot for the next connection; after -s, let the
           * ones in flight finish. */
          if (now_ns () >= stop_starting)
            total = started;
          while (started < total)
            {
              started++;
              if (open_conn (c) == 0)
                {
                  active++;
                  break;
                }
              failed++;
            }
        }
    }

  t1 = now_ns ();
  c1 = cpu_ns ();
  w1 = wait_ns ();

  /* Whatever is still open at the deadline failed. */
  failed += active + (total - started);
  for (int i = 0; i < in_flight; i++)
    if (conns[i].fd >= 0)
      close_conn (&conns[i]);

  secs = (t1 - t0) / 1e9;
  samples_sort (&hs_lat);
  samples_sort (&done_lat);
  printf ("mode=tls ok=%ld failed=%ld secs=%.3f rate=%.0f hs_p50_us=%u hs_p99_us=%u "
          "done_p50_us=%u done_p99_us=%u client_cpu_us=%.1f client_busy_pct=%.1f "
          "client_wait_pct=%.1f session=%s\n",
          ok, failed, secs, ok / secs,
          percentile (&hs_lat, 0.50), percentile (&hs_lat, 0.99),
          percentile (&done_lat, 0.50), percentile (&done_lat, 0.99),
          (c1 - c0) / 1e3 / (ok > 0 ? ok : 1), 100.0 * (c1 - c0) / (t1 - t0),
          100.0 * (w1 - w0) / (t1 - t0), session_desc);

  free (hs_lat.v);
  free (done_lat.v);
  free (conns);
  close (ep);
  gnutls_priority_deinit (priority);
  gnutls_certificate_free_credentials (creds);
  gnutls_global_deinit ();
  return failed > 0 ? 3 : 0;
}

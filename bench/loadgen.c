/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loadgen.c: a one-thread epoll load generator for the accept benchmarks
 *
 * Copyright 2026 The libtcp authors
 *
 * fortune mode: opens N connections to 127.0.0.1:PORT, at most C at a time,
 * and reads each one until the server closes it. Latency is from the start
 * of connect() to the end of file.
 *
 * echo mode: keeps C connections open and, on each, sends 64 bytes and
 * waits for the same 64 bytes back, over and over, for S seconds. Latency is
 * one round trip.
 *
 * refused mode: as fortune, but each connection must be refused: closed by
 * the server (a reset or a FIN) before any byte arrives. Latency is from
 * the start of connect() to the reset.
 *
 * -B ADDR binds every connection to the source address ADDR (127.0.0.2: a
 * peer of its own for the server's per-peer rules). -W PID (fortune and
 * refused): stop opening connections once process PID has exited, so that
 * one load runs exactly as long as another.
 *
 * Every mode stops at the deadline (-t) whatever happens, and prints one line
 * of key=value pairs:
 *
 *   mode=fortune ok=20000 failed=0 secs=0.71 rate=28169 p50_us=1830 p99_us=4210
 *
 * No GLib: the load generator must cost the same whatever server it loads.
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

#include "loadgen-common.h"

#define ECHO_SIZE 64

typedef enum { MODE_FORTUNE, MODE_ECHO, MODE_REFUSED } Mode;

typedef struct
{
  int      fd;
  uint64_t started_ns;
  size_t   done;       /* echo: bytes of the current round trip received */
} Conn;

static Mode mode = MODE_FORTUNE;
static long total = 10000;         /* fortune: connections to make */
static int in_flight = 64;         /* both: concurrent connections */
static double seconds = 5.0;       /* echo: how long to run */
static double deadline_s = 60.0;   /* both: hard stop */
static int port = 0;
static struct sockaddr_in target;
static struct sockaddr_in source;  /* sin_family 0: no -B */
static pid_t watched = 0;          /* -W */

/* Starts a non-blocking connect; the fd is registered for @events. */
static int
open_conn (int       ep,
           Conn     *c,
           uint32_t  events)
{
  struct epoll_event ev = { .events = events, .data.ptr = c };
  int fd;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;

  if (mode == MODE_ECHO)
    {
      int one = 1;

      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

  if (source.sin_family != 0 &&
      bind (fd, (struct sockaddr *) &source, sizeof source) < 0)
    {
      close (fd);
      return -1;
    }

  c->fd = fd;
  c->done = 0;
  c->started_ns = now_ns ();
  if (connect (fd, (struct sockaddr *) &target, sizeof target) < 0 && errno != EINPROGRESS)
    {
      close (fd);
      c->fd = -1;
      return -1;
    }

  if (epoll_ctl (ep, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      close (fd);
      c->fd = -1;
      return -1;
    }
  return 0;
}

static void
close_conn (Conn *c)
{
  /* close() also drops the fd from the epoll set. */
  close (c->fd);
  c->fd = -1;
}

static void
usage (const char *argv0)
{
  fprintf (stderr,
           "usage: %s -p PORT [-m fortune|echo|refused] [-n N] [-c C] [-s SECONDS] [-t DEADLINE]\n"
           "                  [-B SOURCE_ADDR] [-W PID]\n"
           "  -m  fortune: N connections, C in flight, each read to EOF (default)\n"
           "      echo: C connections doing 64-byte round trips for SECONDS\n"
           "      refused: as fortune, each must be closed before any byte arrives\n"
           "  -B  bind each connection to this IPv4 source address\n"
           "  -W  fortune and refused: open no more connections once PID has exited\n"
           "  -n  fortune connections to make (default 10000)\n"
           "  -c  connections in flight (default 64)\n"
           "  -s  echo duration in seconds (default 5)\n"
           "  -t  hard deadline in seconds for either mode (default 60)\n",
           argv0);
  exit (2);
}

/* Whether -W's process has exited (or is a zombie), looked at no more
 * than every 5 ms. */
static int
watched_has_exited (void)
{
  static uint64_t next_look;
  static int exited;
  char path[64], stat[256];
  const char *state;
  uint64_t now;
  FILE *f;

  if (watched == 0 || exited)
    return exited;
  now = now_ns ();
  if (now < next_look)
    return 0;
  next_look = now + 5000000;

  snprintf (path, sizeof path, "/proc/%ld/stat", (long) watched);
  f = fopen (path, "r");
  if (f == NULL)
    return exited = 1;
  if (fgets (stat, sizeof stat, f) == NULL)
    stat[0] = '\0';
  fclose (f);
  state = strrchr (stat, ')');
  exited = state == NULL || state[1] == '\0' || state[2] == 'Z' || state[2] == 'X';
  return exited;
}

static int
run_fortune (int      ep,
             Conn    *conns,
             Samples *lat,
             long    *ok,
             long    *failed,
             uint64_t deadline)
{
  struct epoll_event events[256];
  long started = 0;
  int active = 0;
  char buf[4096];

  for (int i = 0; i < in_flight && started < total; i++)
    {
      started++;
      if (open_conn (ep, &conns[i], EPOLLIN | EPOLLRDHUP) < 0)
        (*failed)++;
      else
        active++;
    }

  while (active > 0 && now_ns () < deadline)
    {
      int n = epoll_wait (ep, events, 256, 100);

      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          int finished = 0;
          int broken = 0;

          if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            {
              for (;;)
                {
                  ssize_t r = read (c->fd, buf, sizeof buf);

                  if (r > 0)
                    {
                      c->done += r;
                      continue;
                    }
                  if (r == 0)
                    finished = 1;
                  else if (errno == EINTR)
                    continue;
                  else if (errno == ECONNRESET && mode == MODE_REFUSED)
                    finished = 1;
                  else if (errno != EAGAIN)
                    broken = 1;
                  break;
                }
              /* Refused means closed before a byte was served. */
              if (finished && mode == MODE_REFUSED && c->done > 0)
                {
                  finished = 0;
                  broken = 1;
                }
            }

          if (!finished && !broken)
            continue;

          if (finished)
            {
              (*ok)++;
              samples_add (lat, now_ns () - c->started_ns);
            }
          else
            (*failed)++;
          close_conn (c);
          active--;

          /* Reuse the slot for the next connection. */
          if (watched_has_exited ())
            total = started;
          while (started < total)
            {
              started++;
              if (open_conn (ep, c, EPOLLIN | EPOLLRDHUP) == 0)
                {
                  active++;
                  break;
                }
              (*failed)++;
            }
        }
    }

  /* Whatever is still open at the deadline failed. */
  *failed += active + (total - started);
  return 0;
}

static int
send_request (Conn *c)
{
  static const char payload[ECHO_SIZE] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";
  ssize_t w;

  c->started_ns = now_ns ();
  c->done = 0;
  do
    w = write (c->fd, payload, sizeof payload);
  while (w < 0 && errno == EINTR);
  return w == (ssize_t) sizeof payload ? 0 : -1;
}

static int
run_echo (int      ep,
          Conn    *conns,
          Samples *lat,
          long    *ok,
          long    *failed,
          uint64_t deadline)
{
  struct epoll_event events[256];
  uint64_t stop = now_ns () + (uint64_t) (seconds * 1e9);
  int active = 0;
  char buf[4096];

  if (stop > deadline)
    stop = deadline;

  /* Connect everybody first; a connection's first request goes out once
   * connect() completes (EPOLLOUT). */
  for (int i = 0; i < in_flight; i++)
    {
      if (open_conn (ep, &conns[i], EPOLLOUT) < 0)
        (*failed)++;
      else
        active++;
    }

  while (active > 0 && now_ns () < stop)
    {
      int n = epoll_wait (ep, events, 256, 100);

      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          int broken = 0;

          if (c->fd < 0)
            continue;

          if (events[i].events & EPOLLOUT)
            {
              struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
              int err = 0;
              socklen_t len = sizeof err;

              getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
              if (err != 0 || epoll_ctl (ep, EPOLL_CTL_MOD, c->fd, &ev) < 0 ||
                  send_request (c) < 0)
                broken = 1;
            }
          else
            {
              for (;;)
                {
                  ssize_t r = read (c->fd, buf, sizeof buf);

                  if (r > 0)
                    {
                      c->done += r;
                      continue;
                    }
                  if (r == 0)
                    broken = 1;   /* the server must not close in echo mode */
                  else if (errno == EINTR)
                    continue;
                  else if (errno != EAGAIN)
                    broken = 1;
                  break;
                }

              if (!broken && c->done >= ECHO_SIZE)
                {
                  (*ok)++;
                  samples_add (lat, now_ns () - c->started_ns);
                  if (now_ns () < stop && send_request (c) < 0)
                    broken = 1;
                }
            }

          if (broken)
            {
              (*failed)++;
              close_conn (c);
              active--;
            }
        }
    }

  for (int i = 0; i < in_flight; i++)
    if (conns[i].fd >= 0)
      close_conn (&conns[i]);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  Samples lat = { 0 };
  Conn *conns;
  long ok = 0, failed = 0;
  uint64_t t0, t1;
  double secs;
  int opt, ep;

  while ((opt = getopt (argc, argv, "m:n:c:s:t:p:B:W:h")) != -1)
    {
      switch (opt)
        {
        case 'm':
          if (strcmp (optarg, "fortune") == 0)
            mode = MODE_FORTUNE;
          else if (strcmp (optarg, "echo") == 0)
            mode = MODE_ECHO;
          else if (strcmp (optarg, "refused") == 0)
            mode = MODE_REFUSED;
          else
            usage (argv[0]);
          break;
        case 'n': total = atol (optarg); break;
        case 'c': in_flight = atoi (optarg); break;
        case 's': seconds = atof (optarg); break;
        case 't': deadline_s = atof (optarg); break;
        case 'p': port = atoi (optarg); break;
        case 'W': watched = (pid_t) atol (optarg); break;
        case 'B':
          source.sin_family = AF_INET;
          if (inet_pton (AF_INET, optarg, &source.sin_addr) != 1)
            usage (argv[0]);
          break;
        default: usage (argv[0]);
        }
    }

  if (port <= 0 || port > 65535 || in_flight <= 0 || total <= 0 ||
      seconds <= 0 || deadline_s <= 0)
    usage (argv[0]);

  raise_nofile ();

  memset (&target, 0, sizeof target);
  target.sin_family = AF_INET;
  target.sin_port = htons (port);
  target.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

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
  if (mode != MODE_ECHO)
    run_fortune (ep, conns, &lat, &ok, &failed, t0 + (uint64_t) (deadline_s * 1e9));
  else
    run_echo (ep, conns, &lat, &ok, &failed, t0 + (uint64_t) (deadline_s * 1e9));
  t1 = now_ns ();

  secs = (t1 - t0) / 1e9;
  samples_sort (&lat);
  printf ("mode=%s ok=%ld failed=%ld secs=%.3f rate=%.0f p50_us=%u p99_us=%u\n",
          mode == MODE_FORTUNE ? "fortune" : mode == MODE_ECHO ? "echo" : "refused",
          ok, failed, secs, ok / secs, percentile (&lat, 0.50), percentile (&lat, 0.99));

  free (lat.v);
  free (conns);
  close (ep);
  return failed > 0 ? 3 : 0;
}

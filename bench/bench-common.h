/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-common.h: the command line every benchmark server shares
 *
 * Copyright 2026 The libtcp authors
 *
 *   srv-NAME [-m fortune|echo|refuse] [-p PORT] [-f PORT_FILE] [-b BACKLOG]
 *            [-c CERT_FILE -k KEY_FILE] [-x OPTION,...]
 *
 * Every server listens on 127.0.0.1:PORT (0: any free port), writes the port
 * it got to PORT_FILE once it accepts, and serves until it is killed.
 * fortune: write BENCH_FORTUNE and close. echo: send back whatever arrives
 * until the client closes. refuse: close every connection at once, with a
 * reset, as a server refusing unwanted peers does; only the servers that
 * define BENCH_HAS_REFUSE before including this file have that mode.
 * -x passes options of one server's own (srv-libtcp, srv-epoll). -b sets
 * the listen backlog; without it each
 * server keeps its library's default (servers without one use 4096). The
TLS servers (srv-tls-*) need -c and -k, PEM files of their certificate and
its private key, and have no echo mode; the others ignore them.
 *
 * Plain C, also included from C++ (the Qt server).
 */

#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BENCH_FORTUNE "You will be surprised by a loud noise.\n"
#define BENCH_FORTUNE_LEN (sizeof BENCH_FORTUNE - 1)
#define BENCH_DEFAULT_BACKLOG 4096

#ifndef BENCH_HAS_REFUSE
#define BENCH_HAS_REFUSE 0
#endif

typedef struct
{
  int         echo;        /* 0: fortune mode, 1: echo mode */
  int         refuse;      /* 1: refuse mode */
  const char *extra;       /* -x, or "" */
  int         port;
  const char *port_file;
  int         backlog;     /* -1: the library's default */
  const char *cert_file;   /* TLS servers only */
  const char *key_file;
} BenchArgs;

static inline void
bench_parse_args (int        argc,
                  char     **argv,
                  BenchArgs *args)
{
  int opt;

  args->echo = 0;
  args->refuse = 0;
  args->extra = "";
  args->port = 0;
  args->port_file = NULL;
  args->backlog = -1;
  args->cert_file = NULL;
  args->key_file = NULL;

  while ((opt = getopt (argc, argv, "m:p:f:b:c:k:x:")) != -1)
    {
      switch (opt)
        {
        case 'm':
          if (strcmp (optarg, "echo") == 0)
            args->echo = 1;
          else if (strcmp (optarg, "refuse") == 0 && BENCH_HAS_REFUSE)
            args->refuse = 1;
          else if (strcmp (optarg, "fortune") != 0)
            goto usage;
          break;
        case 'p':
          args->port = atoi (optarg);
          break;
        case 'f':
          args->port_file = optarg;
          break;
        case 'b':
          args->backlog = atoi (optarg);
          break;
        case 'c':
          args->cert_file = optarg;
          break;
        case 'k':
          args->key_file = optarg;
          break;
        case 'x':
          args->extra = optarg;
          break;
        default:
          goto usage;
        }
    }

  if (args->port < 0 || args->port > 65535 || (args->backlog != -1 && args->backlog < 1))
    goto usage;
  return;

usage:
  fprintf (stderr, "usage: %s [-m fortune|echo%s] [-p PORT] [-f PORT_FILE] [-b BACKLOG] "
           "[-c CERT_FILE -k KEY_FILE] [-x OPTION,...]\n", argv[0],
           BENCH_HAS_REFUSE ? "|refuse" : "");
  exit (2);
}

/* For the TLS servers: fortune mode, with a certificate and a key. */
static inline void
bench_require_tls (const BenchArgs *args,
                   const char      *argv0)
{
  if (args->echo || args->cert_file == NULL || args->key_file == NULL)
    {
      fprintf (stderr, "usage: %s [-m fortune] [-p PORT] [-f PORT_FILE] [-b BACKLOG] "
               "-c CERT_FILE -k KEY_FILE\n", argv0);
      exit (2);
    }
}

/* Whether -x lists @option ("a,b=c": "a" and "b=c"); for one with a value
 * (@value not NULL), a copy of the text after "=" is returned through it. */
static inline int
bench_has_option (const BenchArgs *args,
                  const char      *option,
                  char           **value)
{
  size_t len = strlen (option);
  const char *p = args->extra;

  while (*p != '\0')
    {
      const char *end = strchr (p, ',');
      size_t n = end != NULL ? (size_t) (end - p) : strlen (p);

      if (n == len && strncmp (p, option, len) == 0 && value == NULL)
        return 1;
      if (n > len && strncmp (p, option, len) == 0 && p[len] == '=' && value != NULL)
        {
          *value = strndup (p + len + 1, n - len - 1);
          return 1;
        }
      p += n;
      if (*p == ',')
        p++;
    }
  return 0;
}

/* A non-blocking listening socket on 127.0.0.1:args->port with
 * SO_REUSEADDR and the backlog of -b; the port it got in @port (may be
 * NULL). For the servers that make their socket themselves. */
static inline int
bench_open_listener (const BenchArgs *args,
                     int             *port)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  int one = 1;
  int fd;

  memset (&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons (args->port);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
      listen (fd, args->backlog > 0 ? args->backlog : BENCH_DEFAULT_BACKLOG) < 0 ||
      getsockname (fd, (struct sockaddr *) &sin, &len) < 0)
    {
      perror ("listen");
      exit (1);
    }
  if (port != NULL)
    *port = ntohs (sin.sin_port);
  return fd;
}

/* Written atomically (rename) so that a reader never sees half a number. */
static inline void
bench_write_port (const BenchArgs *args,
                  int              port)
{
  char tmp[4096];
  FILE *f;

  printf ("listening on 127.0.0.1:%d\n", port);
  fflush (stdout);
  if (args->port_file == NULL)
    return;

  snprintf (tmp, sizeof tmp, "%s.tmp", args->port_file);
  f = fopen (tmp, "w");
  if (f == NULL || fprintf (f, "%d\n", port) < 0 || fclose (f) != 0 ||
      rename (tmp, args->port_file) != 0)
    {
      perror (args->port_file);
      exit (1);
    }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-epoll.c: the practical limit: epoll and an accept4() loop, nothing else
 *
 * Copyright 2026 The libtcp authors
 *
 * refuse mode: accept4() and close at once with a reset (SO_LINGER 0), as
 * libtcp closes a refused peer; -x fin closes with a FIN instead.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define BENCH_HAS_REFUSE 1
#include "bench-common.h"

static void
refuse (int fd,
        int with_fin)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };

  if (!with_fin)
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  close (fd);
}

static void
echo (int fd)
{
  char buf[4096];

  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n > 0)
        {
          if (write (fd, buf, n) != n)
            {
              close (fd);
              return;
            }
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      close (fd);   /* end of file or error; close() leaves the epoll set */
      return;
    }
}

int
main (int   argc,
      char *argv[])
{
  struct epoll_event events[256];
  struct epoll_event ev = { .events = EPOLLIN };
  BenchArgs args;
  int listener, ep, port, with_fin;

  bench_parse_args (argc, argv, &args);
  with_fin = bench_has_option (&args, "fin", NULL);
  listener = bench_open_listener (&args, &port);
  ep = epoll_create1 (EPOLL_CLOEXEC);
  ev.data.fd = listener;
  epoll_ctl (ep, EPOLL_CTL_ADD, listener, &ev);
  bench_write_port (&args, port);

  for (;;)
    {
      int n = epoll_wait (ep, events, 256, -1);

      for (int i = 0; i < n; i++)
        {
          int fd = events[i].data.fd;

          if (fd != listener)
            {
              echo (fd);
              continue;
            }

          while ((fd = accept4 (listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
            {
              if (args.refuse)
                {
                  refuse (fd, with_fin);
                }
              else if (args.echo)
                {
                  struct epoll_event cev = { .events = EPOLLIN, .data.fd = fd };

                  epoll_ctl (ep, EPOLL_CTL_ADD, fd, &cev);
                }
              else
                {
                  if (write (fd, BENCH_FORTUNE, BENCH_FORTUNE_LEN) < 0)
                    perror ("write");
                  close (fd);
                }
            }
        }
    }
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proc-cpu.c: prints the CPU time of whole processes, in nanoseconds
 *
 * Copyright 2026 The libtcp authors
 *
 *   proc-cpu PID...
 *
 * One line per PID: the process's CPU-time clock (clock_getcpuclockid()),
 * which the kernel keeps for the whole thread group: every live thread, and
 * every thread that has exited since the process started. Summing
 * /proc/PID/task/TID/schedstat over the threads misses the exited ones, and GLib's worker
 * threads (where glib-networking runs TLS handshakes) come and go; the
 * utime and stime of /proc/PID/stat count them too, but only in clock
 * ticks (10 ms).
 */

#define _GNU_SOURCE

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
main (int   argc,
      char *argv[])
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s PID...\n", argv[0]);
      return 2;
    }

  for (int i = 1; i < argc; i++)
    {
      clockid_t clock;
      struct timespec ts;
      int err;

      err = clock_getcpuclockid ((pid_t) atoi (argv[i]), &clock);
      if (err == 0 && clock_gettime (clock, &ts) != 0)
        err = errno;
      if (err != 0)
        {
          fprintf (stderr, "%s: %s: %s\n", argv[0], argv[i], strerror (err));
          return 1;
        }
      printf ("%llu\n", (unsigned long long) ts.tv_sec * 1000000000ull + ts.tv_nsec);
    }
  return 0;
}

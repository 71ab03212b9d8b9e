/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* malloc-count.c: an LD_PRELOAD allocation counter for the benchmarks
 *
 * Copyright 2026 The libtcp authors
 *
 *   LD_PRELOAD=bench/libmalloc-count.so G_SLICE=always-malloc srv-libtcp ...
 *   kill -USR2 PID     # prints the counters so far on stderr
 *
 * Counts calls to the allocation functions (not bytes), passing every call
 * on to glibc's own implementation. Set G_SLICE=always-malloc so that
 * GLib 2.74's slice allocator does not hide allocations in its magazines.
 */

#define _GNU_SOURCE

#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *ptr, size_t size);
extern void *__libc_memalign (size_t alignment, size_t size);
extern void  __libc_free (void *ptr);

static atomic_ulong n_malloc, n_calloc, n_realloc, n_memalign, n_free;

void *
malloc (size_t size)
{
  atomic_fetch_add_explicit (&n_malloc, 1, memory_order_relaxed);
  return __libc_malloc (size);
}

void *
calloc (size_t n,
        size_t size)
{
  atomic_fetch_add_explicit (&n_calloc, 1, memory_order_relaxed);
  return __libc_calloc (n, size);
}

void *
realloc (void   *ptr,
         size_t  size)
{
  atomic_fetch_add_explicit (&n_realloc, 1, memory_order_relaxed);
  return __libc_realloc (ptr, size);
}

void *
memalign (size_t alignment,
          size_t size)
{
  atomic_fetch_add_explicit (&n_memalign, 1, memory_order_relaxed);
  return __libc_memalign (alignment, size);
}

void *
aligned_alloc (size_t alignment,
               size_t size)
{
  return memalign (alignment, size);
}

int
posix_memalign (void   **out,
                size_t   alignment,
                size_t   size)
{
  void *p = memalign (alignment, size);

  if (p == NULL)
    return 12; /* ENOMEM */
  *out = p;
  return 0;
}

void
free (void *ptr)
{
  if (ptr != NULL)
    atomic_fetch_add_explicit (&n_free, 1, memory_order_relaxed);
  __libc_free (ptr);
}

static void
report_cb (int signum)
{
  char line[256];
  int len;

  /* snprintf of integers takes no lock in glibc; good enough for a bench. */
  len = snprintf (line, sizeof line,
                  "malloc-count: malloc=%lu calloc=%lu realloc=%lu memalign=%lu free=%lu\n",
                  atomic_load (&n_malloc), atomic_load (&n_calloc), atomic_load (&n_realloc),
                  atomic_load (&n_memalign), atomic_load (&n_free));
  if (len > 0 && write (STDERR_FILENO, line, len) < 0)
    return;
}

__attribute__ ((constructor)) static void
install_report (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = report_cb;
  sa.sa_flags = SA_RESTART;
  sigaction (SIGUSR2, &sa, NULL);
}

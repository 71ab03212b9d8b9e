/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* loadgen-common.h: what the two load generators share
 *
 * Copyright 2026 The libtcp authors
 *
 * The monotonic clock, latency samples with their percentiles, and the
 * descriptor limit raised to the hard one. No GLib: a load generator must
 * cost the same whatever server it loads.
 */

#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef struct
{
  uint32_t *v;      /* µs */
  size_t    len;
  size_t    cap;
} Samples;

static inline uint64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline void
samples_add (Samples *s,
             uint64_t ns)
{
  if (s->len == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 65536;
      s->v = realloc (s->v, s->cap * sizeof *s->v);
      if (s->v == NULL)
        {
          perror ("realloc");
          exit (1);
        }
    }
  s->v[s->len++] = (uint32_t) (ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
}

static inline int
cmp_u32 (const void *a,
         const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

  return x < y ? -1 : x > y;
}

/* The @p quantile of @s, which must be sorted (samples_sort()). */
static inline uint32_t
percentile (Samples *s,
            double   p)
{
  size_t i;

  if (s->len == 0)
    return 0;
  i = (size_t) (p * (s->len - 1) + 0.5);
  return s->v[i];
}

static inline void
samples_sort (Samples *s)
{
  qsort (s->v, s->len, sizeof *s->v, cmp_u32);
}

static inline void
raise_nofile (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

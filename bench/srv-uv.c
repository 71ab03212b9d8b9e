/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* srv-uv.c: libuv's uv_listen()/uv_accept(), as its guide shows
 *
 * Copyright 2026 The libtcp authors
 */

#include <uv.h>

#include "bench-common.h"

static BenchArgs args;

static void
free_handle_cb (uv_handle_t *handle)
{
  free (handle);
}

static void
alloc_cb (uv_handle_t *handle,
          size_t       suggested,
          uv_buf_t    *buf)
{
  static char slab[65536];

  /* One connection is read at a time on this single thread. */
  *buf = uv_buf_init (slab, sizeof slab);
}

static void
write_done_cb (uv_write_t *req,
               int         status)
{
  free (req);
}

static void
read_cb (uv_stream_t    *stream,
         ssize_t         nread,
         const uv_buf_t *buf)
{
  if (nread < 0)
    {
      uv_close ((uv_handle_t *) stream, free_handle_cb);
      return;
    }
  if (nread == 0)
    return;

  /* The common case writes at once; otherwise libuv copies nothing, so the
   * rest goes out through a request holding its own copy. */
  uv_buf_t out = uv_buf_init (buf->base, nread);
  int written = uv_try_write (stream, &out, 1);

  if (written < 0)
    written = 0;
  if (written < nread)
    {
      uv_write_t *req = malloc (sizeof *req + nread - written);
      char *copy = (char *) (req + 1);

      memcpy (copy, buf->base + written, nread - written);
      out = uv_buf_init (copy, nread - written);
      uv_write (req, stream, &out, 1, write_done_cb);
    }
}

static void
connection_cb (uv_stream_t *server,
               int          status)
{
  uv_tcp_t *client;

  if (status < 0)
    return;

  client = malloc (sizeof *client);
  uv_tcp_init (server->loop, client);
  if (uv_accept (server, (uv_stream_t *) client) != 0)
    {
      uv_close ((uv_handle_t *) client, free_handle_cb);
      return;
    }

  if (args.echo)
    {
      uv_read_start ((uv_stream_t *) client, alloc_cb, read_cb);
      return;
    }

  uv_buf_t buf = uv_buf_init ((char *) BENCH_FORTUNE, BENCH_FORTUNE_LEN);
  uv_try_write ((uv_stream_t *) client, &buf, 1);
  uv_close ((uv_handle_t *) client, free_handle_cb);
}

int
main (int   argc,
      char *argv[])
{
  uv_loop_t *loop = uv_default_loop ();
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_t server;
  int r;

  bench_parse_args (argc, argv, &args);

  uv_tcp_init (loop, &server);
  uv_ip4_addr ("127.0.0.1", args.port, &addr);
  r = uv_tcp_bind (&server, (const struct sockaddr *) &addr, 0);
  if (r == 0)
    r = uv_listen ((uv_stream_t *) &server,
                   args.backlog > 0 ? args.backlog : BENCH_DEFAULT_BACKLOG, connection_cb);
  if (r == 0)
    r = uv_tcp_getsockname (&server, (struct sockaddr *) &bound, &len);
  if (r != 0)
    {
      fprintf (stderr, "listen: %s\n", uv_strerror (r));
      return 1;
    }

  bench_write_port (&args, ntohs (((struct sockaddr_in *) &bound)->sin_port));
  return uv_run (loop, UV_RUN_DEFAULT);
}

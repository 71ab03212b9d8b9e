/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gio-echo.c: echo on a GIOStream's pollable streams
 *
 * Copyright 2026 The libtcp authors
 */

#include "gio-echo.h"

static void
echo_free (gpointer data)
{
  GIOStream *stream = data;

  g_io_stream_close (stream, NULL, NULL);
  g_object_unref (stream);
}

static gboolean
echo_readable_cb (GObject  *pollable,
                  gpointer  user_data)
{
  GIOStream *stream = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (stream);
  g_autoptr(GError) error = NULL;
  gchar buf[4096];
  gssize n;

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (pollable),
                                                buf, sizeof buf, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    return G_SOURCE_REMOVE;

  if (!g_output_stream_write_all (out, buf, n, NULL, NULL, NULL))
    return G_SOURCE_REMOVE;
  return G_SOURCE_CONTINUE;
}

void
bench_echo_start (GIOStream *stream)
{
  GInputStream *in = g_io_stream_get_input_stream (stream);
  g_autoptr(GSource) source = NULL;

  source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (echo_readable_cb),
                         g_object_ref (stream), echo_free);
  g_source_attach (source, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gio-echo.h: echo on a GIOStream's pollable streams
 *
 * Copyright 2026 The libtcp authors
 *
 * Shared by the GSocketService and the TcpServer peers so that their echo
 * numbers differ only by what each hands out.
 */

#pragma once

#include <gio/gio.h>

/* Takes a reference on @stream; closes and drops it when the peer closes. */
void bench_echo_start (GIOStream *stream);

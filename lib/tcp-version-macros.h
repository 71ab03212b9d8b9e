/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-version-macros.h: symbol visibility and availability annotations
 *
 * Copyright 2026 The libtcp authors
 *
 * As in GLib: an application may define TCP_VERSION_MIN_REQUIRED (the
 * oldest libtcp it supports) and TCP_VERSION_MAX_ALLOWED (the newest whose
 * API it may use) to one of the TCP_VERSION_1_x values before including
 * <tcp.h>. Using a symbol newer than TCP_VERSION_MAX_ALLOWED then warns at
 * compile time.
 */

#pragma once

#if !defined(TCP_INSIDE) && !defined(TCP_COMPILATION)
# error "Only <tcp.h> can be included directly."
#endif

#include <glib.h>

#include "tcp-version.h"

#ifndef _TCP_EXTERN
# define _TCP_EXTERN __attribute__((visibility ("default"))) extern
#endif

/**
 * TCP_VERSION_1_0:
 *
 * A value for `TCP_VERSION_MIN_REQUIRED` and `TCP_VERSION_MAX_ALLOWED`:
 * libtcp 1.0.
 *
 * Since: 1.1
 */
#define TCP_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/**
 * TCP_VERSION_1_1:
 *
 * A value for `TCP_VERSION_MIN_REQUIRED` and `TCP_VERSION_MAX_ALLOWED`:
 * libtcp 1.1.
 *
 * Since: 1.1
 */
#define TCP_VERSION_1_1 (G_ENCODE_VERSION (1, 1))

/* The version of these headers, rounded to a stable release. */
#define _TCP_VERSION_CUR_STABLE (G_ENCODE_VERSION (TCP_MAJOR_VERSION, TCP_MINOR_VERSION))

#ifndef TCP_VERSION_MIN_REQUIRED
# define TCP_VERSION_MIN_REQUIRED (_TCP_VERSION_CUR_STABLE)
#endif

#ifndef TCP_VERSION_MAX_ALLOWED
# define TCP_VERSION_MAX_ALLOWED (_TCP_VERSION_CUR_STABLE)
#endif

#if TCP_VERSION_MAX_ALLOWED < TCP_VERSION_MIN_REQUIRED
# error "TCP_VERSION_MAX_ALLOWED must be >= TCP_VERSION_MIN_REQUIRED"
#endif
#if TCP_VERSION_MIN_REQUIRED < TCP_VERSION_1_0
# error "TCP_VERSION_MIN_REQUIRED must be >= TCP_VERSION_1_0"
#endif

/* A symbol newer than TCP_VERSION_MAX_ALLOWED warns, as GLib's do. */
#ifdef TCP_DISABLE_DEPRECATION_WARNINGS
# define _TCP_UNAVAILABLE(maj,min) _TCP_EXTERN
#else
# define _TCP_UNAVAILABLE(maj,min) G_UNAVAILABLE (maj, min) _TCP_EXTERN
#endif

/**
 * TCP_AVAILABLE_IN_ALL:
 *
 * Marks a symbol that has been part of libtcp since its first release.
 *
 * Since: 1.0
 */
#define TCP_AVAILABLE_IN_ALL _TCP_EXTERN

/**
 * TCP_AVAILABLE_IN_1_1:
 *
 * Marks a symbol that was added in libtcp 1.1: using it warns when
 * `TCP_VERSION_MAX_ALLOWED` is older.
 *
 * Since: 1.1
 */
#if TCP_VERSION_MAX_ALLOWED < TCP_VERSION_1_1
# define TCP_AVAILABLE_IN_1_1 _TCP_UNAVAILABLE (1, 1)
#else
# define TCP_AVAILABLE_IN_1_1 _TCP_EXTERN
#endif

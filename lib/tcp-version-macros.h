/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-version-macros.h: symbol visibility and availability annotations
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#if !defined(TCP_INSIDE) && !defined(TCP_COMPILATION)
# error "Only <tcp.h> can be included directly."
#endif

#include <glib.h>

#ifndef _TCP_EXTERN
# define _TCP_EXTERN __attribute__((visibility ("default"))) extern
#endif

/**
 * TCP_DEPRECATED:
 *
 * Marks a symbol as deprecated: using it warns at compile time, unless
 * `TCP_DISABLE_DEPRECATION_WARNINGS` is defined.
 *
 * Since: 1.0
 */

/**
 * TCP_DEPRECATED_FOR:
 * @f: the symbol to use instead
 *
 * Marks a symbol as deprecated in favour of @f: using it warns at compile
 * time, naming @f, unless `TCP_DISABLE_DEPRECATION_WARNINGS` is defined.
 *
 * Since: 1.0
 */

/**
 * TCP_UNAVAILABLE:
 * @maj: the major version that introduced the symbol
 * @min: the minor version that introduced the symbol
 *
 * Marks a symbol that only exists from libtcp @maj.@min on: using it warns
 * at compile time (through `G_UNAVAILABLE`), unless
 * `TCP_DISABLE_DEPRECATION_WARNINGS` is defined.
 *
 * Since: 1.0
 */

#ifdef TCP_DISABLE_DEPRECATION_WARNINGS
# define TCP_DEPRECATED _TCP_EXTERN
# define TCP_DEPRECATED_FOR(f) _TCP_EXTERN
# define TCP_UNAVAILABLE(maj,min) _TCP_EXTERN
#else
# define TCP_DEPRECATED G_DEPRECATED _TCP_EXTERN
# define TCP_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _TCP_EXTERN
# define TCP_UNAVAILABLE(maj,min) G_UNAVAILABLE (maj, min) _TCP_EXTERN
#endif

#define TCP_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

#ifndef TCP_VERSION_MIN_REQUIRED
# define TCP_VERSION_MIN_REQUIRED TCP_VERSION_1_0
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
 * TCP_AVAILABLE_IN_1_0:
 *
 * Marks a symbol that was added in libtcp 1.0.
 *
 * Since: 1.0
 */
#define TCP_AVAILABLE_IN_1_0 _TCP_EXTERN

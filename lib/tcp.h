/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp.h: the only header applications include
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <gio/gio.h>

#define TCP_INSIDE
# include "tcp-version.h"
# include "tcp-version-macros.h"
# include "tcp-server.h"
# include "tcp-tls-server.h"
#undef TCP_INSIDE

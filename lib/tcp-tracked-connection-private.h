/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-tracked-connection-private.h: a GTcpConnection the server sees close
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <gio/gio.h>

#include "tcp-connection-tracker-private.h"

G_BEGIN_DECLS

#define TCP_TYPE_TRACKED_CONNECTION (tcp_tracked_connection_get_type ())

G_DECLARE_FINAL_TYPE (TcpTrackedConnection, tcp_tracked_connection, TCP, TRACKED_CONNECTION,
                      GTcpConnection)

GIOStream        *tcp_tracked_connection_new        (GSocket              *socket);
TcpTrackedRecord *tcp_tracked_connection_record_of  (GIOStream            *stream);

G_END_DECLS

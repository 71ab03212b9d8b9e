/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-consumer.h: a library whose API uses libtcp's types
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <tcp.h>

G_BEGIN_DECLS

TcpServer *tcp_consumer_new_loopback_server (GError **error);

G_END_DECLS

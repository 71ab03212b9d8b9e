/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-fault-util.h: helpers shared by the fault, bad-input and load tests
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#include <tcp.h>

#include "tcp-test-util.h"

G_BEGIN_DECLS

/* Makes the descriptors GLib opens once per process (the global main
 * context's wakeup, the GLib worker context GTask uses), so that they do not
 * count as descriptors a test gained. Call after g_test_init(). */
void      tcp_fault_warm_up           (void);

/* Open file descriptors of this process (entries of /proc/self/fd). */
guint     tcp_fault_count_fds         (void);
/* Resident set size, in KiB. */
gsize     tcp_fault_rss_kib           (void);
/* Bytes the application has allocated and not freed: the ASan allocator's
 * count under AddressSanitizer, glibc's arena statistics otherwise, 0 under
 * valgrind (which checks leaks itself). */
gsize     tcp_fault_heap_bytes        (void);
/* CPU time of the whole process (every thread), in microseconds. */
gint64    tcp_fault_cpu_time_us       (void);

/* @n normally, @valgrind_n under valgrind (the counts shrink, the
 * assertions stay). */
guint     tcp_fault_scale             (guint         n,
                                      guint         valgrind_n);
/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft
 * limit. */
guint     tcp_fault_raise_fd_limit    (void);

/* A blocking IPv4 client socket connected to 127.0.0.1:@port. */
int       tcp_fault_connect           (guint16       port);
/* A non-blocking client socket whose connect to 127.0.0.1:@port is under
 * way (or done), or -1 with errno set. */
int       tcp_fault_connect_nonblock  (guint16       port);
/* The local port of a connected (or connecting) socket. */
guint16   tcp_fault_local_port        (int           fd);
/* Makes close(@fd) send a RST instead of a FIN. */
void      tcp_fault_set_linger_zero   (int           fd);
/* Reads from a blocking @fd until end-of-file; returns the bytes read, or
 * -1 with errno set on an error such as ECONNRESET. */
gssize    tcp_fault_read_to_eof       (int           fd,
                                      gchar        *buf,
                                      gsize         size);

/* A server listening on 127.0.0.1, port 0, on the thread-default context. */
TcpServer *tcp_fault_server_new_listening (void);
/* The remote port of a connection taken from a server, or 0 when the peer
 * has already reset it (tcp_test_stream_remote_port() asserts instead). */
guint16   tcp_fault_remote_port       (GIOStream    *connection);

G_END_DECLS

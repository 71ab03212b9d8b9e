/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-fault-util.c: helpers shared by the fault, bad-input and load tests
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include "tcp-fault-util.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
/* From the sanitizer runtime (GCC does not install its header). */
size_t __sanitizer_get_current_allocated_bytes (void);
#endif

void
tcp_fault_warm_up (void)
{
  g_main_context_default ();
  g_type_class_unref (g_type_class_ref (G_TYPE_TASK));
}

guint
tcp_fault_count_fds (void)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 0;

  dir = g_dir_open ("/proc/self/fd", 0, &error);
  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n++;

  /* GDir's own descriptor is listed too. */
  return n - 1;
}

gsize
tcp_fault_rss_kib (void)
{
  g_autofree gchar *contents = NULL;
  g_autoptr(GError) error = NULL;
  unsigned long size_pages = 0, rss_pages = 0;

  g_file_get_contents ("/proc/self/statm", &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (contents, "%lu %lu", &size_pages, &rss_pages), ==, 2);

  return rss_pages * (sysconf (_SC_PAGESIZE) / 1024);
}

gsize
tcp_fault_heap_bytes (void)
{
#ifdef __SANITIZE_ADDRESS__
  return __sanitizer_get_current_allocated_bytes ();
#else
  struct mallinfo2 info;

  /* Under valgrind malloc is valgrind's, and neither mallinfo() nor
   * mallinfo2() tells what is in use (memcheck's leak check does). */
  if (tcp_test_under_valgrind ())
    return 0;

  info = mallinfo2 ();
  return info.uordblks + info.hblkhd;
#endif
}

gint64
tcp_fault_cpu_time_us (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts), ==, 0);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

guint
tcp_fault_scale (guint n,
                guint valgrind_n)
{
  return tcp_test_under_valgrind () ? valgrind_n : n;
}

guint
tcp_fault_raise_fd_limit (void)
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_cur < limit.rlim_max)
    {
      struct rlimit raised = { limit.rlim_max, limit.rlim_max };

      /* Valgrind keeps a few descriptors at the top for itself and may
       * refuse; the soft limit then stays where it was. */
      if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
        limit = raised;
    }

  return limit.rlim_cur > G_MAXINT ? G_MAXINT : (guint) limit.rlim_cur;
}

static void
loopback_address (struct sockaddr_in *sin,
                  guint16             port)
{
  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_port = g_htons (port);
  sin->sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
}

int
tcp_fault_connect (guint16 port)
{
  struct sockaddr_in sin;
  int fd;

  loopback_address (&sin, port);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  if (connect (fd, (struct sockaddr *) &sin, sizeof sin) != 0)
    g_error ("connect to 127.0.0.1:%u: %s", port, g_strerror (errno));

  return fd;
}

int
tcp_fault_connect_nonblock (guint16 port)
{
  struct sockaddr_in sin;
  int fd;

  loopback_address (&sin, port);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &sin, sizeof sin) != 0 && errno != EINPROGRESS)
    {
      int errsv = errno;

      close (fd);
      errno = errsv;
      return -1;
    }

  return fd;
}

guint16
tcp_fault_local_port (int fd)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;

  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  return g_ntohs (sin.sin_port);
}

void
tcp_fault_set_linger_zero (int fd)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };

  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger), ==, 0);
}

gssize
tcp_fault_read_to_eof (int    fd,
                      gchar *buf,
                      gsize  size)
{
  gsize total = 0;

  for (;;)
    {
      gssize n = read (fd, buf + total, size - total);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return total;
      total += n;
      if (total == size)
        return total;
    }
}

TcpServer *
tcp_fault_server_new_listening (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;

  tcp_server_listen_on (server, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, 0);

  return g_steal_pointer (&server);
}

guint16
tcp_fault_remote_port (GIOStream *connection)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (G_IS_SOCKET_CONNECTION (connection));
  address = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (connection), &error);
  if (address == NULL)
    return 0;   /* the peer reset before we asked */

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

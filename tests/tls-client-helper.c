/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tls-client-helper.c: hostile and friendly TLS clients, for test-tls-hostile
 *
 * Copyright 2026 The libtcp authors
 *
 *   tls-client-helper PORT MODE COUNT
 *
 * Opens COUNT connections to 127.0.0.1:PORT, each behaving as MODE says:
 *
 *   silent   connects and says nothing
 *   half     sends the first 3 bytes of a TLS record header
 *   partial  sends a TLS record header announcing 300 bytes, then 10 of them
 *   hello    sends a real ClientHello (made by GIO's own client), then nothing
 *   full     completes a TLS handshake, and keeps the connection
 *
 * prints "ready MS" (how long the connections took), then obeys its
 * standard input, a command a line:
 *
 *   wait-closed MS   prints "closed N": how many connections the server
 *                    closed (end-of-file or reset) within MS milliseconds
 *   exit             closes everything and exits
 *
 * It runs as a process of its own so that its memory and threads are not
 * counted as the server's.
 */

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

static int
connect_to (guint16 port)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = g_htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  to.sin_addr.s_addr = g_htonl (0x7f000001);
  if (fd < 0 || connect (fd, (struct sockaddr *) &to, sizeof to) != 0)
    g_error ("connect: %s", g_strerror (errno));
  return fd;
}

static gboolean
accept_anything_cb (GTlsConnection       *connection,
                    GTlsCertificate      *certificate,
                    GTlsCertificateFlags  errors,
                    gpointer              user_data)
{
  return TRUE;
}

/* A TLS client over @fd (taken), without a trust store to load. */
static GIOStream *
tls_client (int fd)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, NULL);
  g_autoptr(GIOStream) base = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("localhost", 443);
  g_autoptr(GError) error = NULL;
  GIOStream *connection;

  connection = g_tls_client_connection_new (base, identity, &error);
  if (connection == NULL)
    g_error ("TLS client: %s", error->message);
  g_tls_connection_set_database (G_TLS_CONNECTION (connection), NULL);
  g_signal_connect (connection, "accept-certificate", G_CALLBACK (accept_anything_cb), NULL);
  return connection;
}

static gpointer
handshake_thread (gpointer data)
{
  g_tls_connection_handshake (G_TLS_CONNECTION (data), NULL, NULL);
  return NULL;
}

/* The first record GIO's client sends: a real ClientHello, caught on a
 * socket pair. */
static GBytes *
make_client_hello (void)
{
  g_autoptr(GIOStream) client = NULL;
  guint8 header[5];
  guint8 *record;
  GThread *thread;
  int fds[2];
  gsize length;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));

  client = tls_client (fds[0]);
  thread = g_thread_new ("hello", handshake_thread, client);
  if (recv (fds[1], header, sizeof header, MSG_WAITALL) != sizeof header)
    g_error ("no ClientHello");
  length = ((gsize) header[3] << 8) | header[4];
  record = g_malloc (sizeof header + length);
  memcpy (record, header, sizeof header);
  if (recv (fds[1], record + sizeof header, length, MSG_WAITALL) != (gssize) length)
    g_error ("a short ClientHello");

  close (fds[1]);      /* the handshake fails, and the thread ends */
  g_thread_join (thread);
  return g_bytes_new_take (record, sizeof header + length);
}

static void
send_all (int           fd,
          const guint8 *data,
          gsize         size)
{
  if (send (fd, data, size, MSG_NOSIGNAL) != (gssize) size)
    g_error ("send: %s", g_strerror (errno));
}

/* How many of @fds the server closed within @ms. */
static guint
wait_closed (GArray *fds,
             guint   ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  g_autofree gboolean *closed = g_new0 (gboolean, fds->len);
  guint n_closed = 0;

  while (n_closed < fds->len)
    {
      g_autofree struct pollfd *pfds = g_new0 (struct pollfd, fds->len);
      gint64 left = deadline - g_get_monotonic_time ();

      if (left <= 0)
        break;
      for (guint i = 0; i < fds->len; i++)
        {
          pfds[i].fd = closed[i] ? -1 : g_array_index (fds, int, i);
          pfds[i].events = POLLIN;
        }
      if (poll (pfds, fds->len, (int) MAX (left / 1000, 1)) <= 0)
        continue;

      for (guint i = 0; i < fds->len; i++)
        {
          gchar buffer[4096];

          if (closed[i] || pfds[i].revents == 0)
            continue;
          /* Whatever the server sent (a ServerHello), then the end. */
          if (recv (pfds[i].fd, buffer, sizeof buffer, MSG_DONTWAIT) <= 0 &&
              errno != EAGAIN)
            {
              closed[i] = TRUE;
              n_closed++;
            }
          else if (pfds[i].revents & (POLLHUP | POLLERR))
            {
              closed[i] = TRUE;
              n_closed++;
            }
        }
    }

  return n_closed;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GBytes) hello = NULL;
  const gchar *mode;
  gchar line[128];
  guint16 port;
  guint count;
  gint64 start;

  if (argc != 4)
    {
      fprintf (stderr, "usage: %s PORT MODE COUNT\n", argv[0]);
      return 2;
    }
  port = (guint16) atoi (argv[1]);
  mode = argv[2];
  count = (guint) atoi (argv[3]);

  if (g_strcmp0 (mode, "hello") == 0)
    hello = make_client_hello ();

  start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    {
      int fd = connect_to (port);

      if (g_strcmp0 (mode, "half") == 0)
        send_all (fd, (const guint8 *) "\x16\x03\x01", 3);
      else if (g_strcmp0 (mode, "partial") == 0)
        send_all (fd, (const guint8 *) "\x16\x03\x01\x01\x2c" "0123456789", 15);
      else if (g_strcmp0 (mode, "hello") == 0)
        send_all (fd, g_bytes_get_data (hello, NULL), g_bytes_get_size (hello));
      else if (g_strcmp0 (mode, "full") == 0)
        {
          g_autoptr(GError) error = NULL;
          GIOStream *connection = tls_client (dup (fd));

          if (!g_tls_connection_handshake (G_TLS_CONNECTION (connection), NULL, &error))
            g_error ("handshake: %s", error->message);
          g_ptr_array_add (held, connection);
        }
      else if (g_strcmp0 (mode, "silent") != 0)
        g_error ("unknown mode %s", mode);

      g_array_append_val (fds, fd);
    }

  printf ("ready %" G_GINT64_FORMAT "\n", (g_get_monotonic_time () - start) / 1000);
  fflush (stdout);

  while (fgets (line, sizeof line, stdin) != NULL)
    {
      guint ms;

      if (sscanf (line, "wait-closed %u", &ms) == 1)
        {
          printf ("closed %u\n", wait_closed (fds, ms));
          fflush (stdout);
        }
      else if (g_str_has_prefix (line, "exit"))
        break;
    }

  return 0;
}

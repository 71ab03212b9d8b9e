/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-socket-listener.c: listening on kernel sockets
 *
 * Copyright 2026 The libtcp authors
 *
 * The TcpListener for sockets in the kernel, whichever way they came: bound
 * here (one address, the first free port of a range, or both loopback
 * addresses as one listener), adopted from a descriptor, or passed by
 * systemd socket activation. They differ only in how the sockets are
 * obtained (tcp-socket-setup.c); from then on each socket is polled by an
 * accept engine of its own, and every connection it accepts goes through
 * the same few steps here: admission, its options, a GSocket, the owner.
 *
 * It also keeps the process-wide register of the descriptors that some
 * listener owns, so that a second TcpServer cannot adopt a socket the
 * first will close.
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "tcp-socket-listener-private.h"
#include "tcp-accept-engine-private.h"
#include "tcp-socket-setup-private.h"

typedef struct
{
  TcpSocketListener *owner;     /* unowned: it frees us */
  GSocket           *socket;
  GSocketFamily      family;
  TcpAcceptEngine   *engine;    /* while started */
  guint              n_unset;   /* queued before the options were set */
} ListeningSocket;

struct _TcpSocketListener
{
  TcpListener  parent_instance;

  GPtrArray   *sockets;         /* ListeningSocket *; the first is the address */
};

G_DEFINE_FINAL_TYPE (TcpSocketListener, tcp_socket_listener, TCP_TYPE_LISTENER)

/* ------------------------------------------------------------------ */
/* The register of owned descriptors                                  */

G_LOCK_DEFINE_STATIC (owned_fds);
static GHashTable *owned_fds;   /* GINT_TO_POINTER (fd) set */

/* Called with the lock held. */
static gboolean
is_owned_locked (gint fd)
{
  return owned_fds != NULL && g_hash_table_contains (owned_fds, GINT_TO_POINTER (fd));
}

/* Called with the lock held. */
static void
own_locked (gint fd)
{
  if (owned_fds == NULL)
    owned_fds = g_hash_table_new (NULL, NULL);
  g_hash_table_add (owned_fds, GINT_TO_POINTER (fd));
}

static void
disown (gint fd)
{
  G_LOCK (owned_fds);
  if (owned_fds != NULL)
    g_hash_table_remove (owned_fds, GINT_TO_POINTER (fd));
  G_UNLOCK (owned_fds);
}

static void
set_busy_error (GError **error,
                gint     fd)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
               "Could not adopt socket descriptor %d: another TcpServer in this process "
               "already listens on it", fd);
}

/* ------------------------------------------------------------------ */
/* Sockets                                                            */

static void
listening_socket_free (ListeningSocket *ls)
{
  if (ls->engine != NULL)
    {
      tcp_accept_engine_stop (ls->engine);
      g_clear_pointer (&ls->engine, tcp_accept_engine_unref);
    }
  if (ls->socket != NULL)
    {
      disown (g_socket_get_fd (ls->socket));
      g_socket_close (ls->socket, NULL);
      g_clear_object (&ls->socket);
    }
  g_free (ls);
}

/* Takes @socket, whose descriptor the caller has registered as owned. */
static void
add_socket (TcpSocketListener *self,
            GSocket           *socket)
{
  ListeningSocket *ls = g_new0 (ListeningSocket, 1);

  ls->owner = self;
  ls->socket = socket;
  ls->family = g_socket_get_family (socket);
  g_ptr_array_add (self->sockets, ls);
}

static void
add_new_socket (TcpSocketListener *self,
                GSocket           *socket)
{
  G_LOCK (owned_fds);
  own_locked (g_socket_get_fd (socket));
  G_UNLOCK (owned_fds);
  add_socket (self, socket);
}

static ListeningSocket *
first_socket (TcpSocketListener *self)
{
  return self->sockets->len > 0 ? g_ptr_array_index (self->sockets, 0) : NULL;
}

/* The address of the first socket is the listener's. */
static void
set_bound_from_first_socket (TcpSocketListener *self)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (first_socket (self)->socket, NULL);

  if (G_IS_INET_SOCKET_ADDRESS (local))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (local);

      _tcp_listener_set_bound (TCP_LISTENER (self), g_inet_socket_address_get_address (inet),
                               g_inet_socket_address_get_port (inet));
    }
}

static void
apply_options (TcpSocketListener *self)
{
  const TcpSocketOptions *options = tcp_listener_get_options (TCP_LISTENER (self));

  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);
      guint queued = tcp_socket_set_listener_options (ls->socket, options);

      ls->n_unset = MAX (ls->n_unset, queued);
    }
}

/* ------------------------------------------------------------------ */
/* The accept path                                                    */

/* Closes a refused connection with a reset (SO_LINGER 0) rather than a FIN,
 * so that a flood of refused peers leaves no TIME_WAIT behind. */
static void
refuse (gint fd)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };

  setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  close (fd);
}

static gboolean
engine_accepted_cb (gint                   fd,
                    const struct sockaddr *peer,
                    socklen_t              peer_len,
                    gpointer               user_data)
{
  ListeningSocket *ls = user_data;
  TcpListener *listener = TCP_LISTENER (ls->owner);
  const TcpSocketOptions *options = tcp_listener_get_options (listener);
  const TcpSocketOptions *inherited = options;
  g_autoptr(GSocket) socket = NULL;

  if (_tcp_listener_admit (listener, peer, peer_len) == TCP_LISTENER_REFUSE)
    {
      refuse (fd);
      return TRUE;
    }

  /* Connections that were complete before the listener had its options
   * did not inherit them. */
  if (G_UNLIKELY (ls->n_unset > 0))
    {
      ls->n_unset--;
      inherited = NULL;
    }

  socket = tcp_socket_wrap_accepted (fd, ls->family, options, inherited, NULL);
  if (socket == NULL)
    return TRUE;   /* the peer reset in the meantime; the fd is closed */

  return _tcp_listener_accepted (listener, socket);
}

static void
engine_failed_cb (const GError *error,
                  gpointer      user_data)
{
  ListeningSocket *ls = user_data;

  _tcp_listener_accept_error (TCP_LISTENER (ls->owner), error);
}

/* ------------------------------------------------------------------ */
/* TcpListener                                                        */

static gboolean
tcp_socket_listener_start (TcpListener  *listener,
                           gboolean      blocking,
                           GError      **error)
{
  TcpSocketListener *self = TCP_SOCKET_LISTENER (listener);
  GMainContext *context = tcp_listener_get_context (listener);

  apply_options (self);

  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);

      ls->engine = tcp_accept_engine_new (g_socket_get_fd (ls->socket), context,
                                          engine_accepted_cb, engine_failed_cb, ls);
    }

  return TRUE;
}

static void
tcp_socket_listener_set_accepting (TcpListener *listener,
                                   gboolean     accepting)
{
  TcpSocketListener *self = TCP_SOCKET_LISTENER (listener);

  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);

      tcp_accept_engine_set_wanted (ls->engine, accepting);
    }
}

/* The shortest retry delay of the sockets that are backing off, or 0. */
static guint
shortest_backoff_ms (TcpSocketListener *self)
{
  guint shortest = 0;

  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);
      guint backoff_ms = tcp_accept_engine_get_backoff_ms (ls->engine);

      if (backoff_ms > 0 && (shortest == 0 || backoff_ms < shortest))
        shortest = backoff_ms;
    }

  return shortest;
}

/* Polls the sockets that are not backing off. A socket backing off is
 * retried when its delay has passed, never sooner: under descriptor
 * exhaustion a listening socket stays readable, and polling it would spin. */
static gboolean
tcp_socket_listener_wait (TcpListener *listener,
                          gint64       timeout_us)
{
  TcpSocketListener *self = g_object_ref (TCP_SOCKET_LISTENER (listener));
  g_autofree GPollFD *fds = g_new0 (GPollFD, self->sockets->len);
  guint backoff_ms = shortest_backoff_ms (self);
  guint n_fds = 0;
  gint timeout_ms;

  if (backoff_ms > 0)
    timeout_us = timeout_us >= 0 ? MIN (timeout_us, (gint64) backoff_ms * 1000)
                                 : (gint64) backoff_ms * 1000;
  timeout_ms = timeout_us < 0 ? -1 : (gint) MIN ((timeout_us + 999) / 1000, G_MAXINT);

  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);

      if (tcp_accept_engine_get_backoff_ms (ls->engine) == 0)
        {
          fds[n_fds].fd = g_socket_get_fd (ls->socket);
          fds[n_fds].events = G_IO_IN;
          n_fds++;
        }
    }

  if (n_fds > 0)
    g_poll (fds, n_fds, timeout_ms);
  else
    g_usleep ((gulong) MAX (timeout_ms, 0) * 1000);

  /* One connection at most, from the first socket that has one (or is due
   * a retry); each accept may run the owner's callbacks, which may stop us. */
  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);
      g_autoptr(TcpAcceptEngine) engine = tcp_accept_engine_ref (ls->engine);

      if (tcp_accept_engine_accept (engine, 1) > 0 || self->sockets->len == 0)
        break;
    }

  g_object_unref (self);
  return TRUE;
}

static gboolean
wake_dispatch (GSource     *source,
               GSourceFunc  callback,
               gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs wake_source_funcs = {
  .dispatch = wake_dispatch,
};

static GSource *
tcp_socket_listener_create_wake_source (TcpListener *listener)
{
  TcpSocketListener *self = TCP_SOCKET_LISTENER (listener);
  GSource *source = g_source_new (&wake_source_funcs, sizeof (GSource));
  guint backoff_ms = shortest_backoff_ms (self);

  g_source_set_static_name (source, "[tcp] wait for a connection");
  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListeningSocket *ls = g_ptr_array_index (self->sockets, i);

      if (tcp_accept_engine_get_backoff_ms (ls->engine) == 0)
        g_source_add_unix_fd (source, g_socket_get_fd (ls->socket), G_IO_IN);
    }
  if (backoff_ms > 0)
    g_source_set_ready_time (source, g_get_monotonic_time () + (gint64) backoff_ms * 1000);

  return source;
}

static void
tcp_socket_listener_stop (TcpListener *listener)
{
  TcpSocketListener *self = TCP_SOCKET_LISTENER (listener);

  /* The callbacks of an accept in progress may land here: freeing the
   * sockets is safe, the engines keep themselves alive until they return. */
  g_ptr_array_set_size (self->sockets, 0);
}

static void
tcp_socket_listener_options_changed (TcpListener *listener)
{
  apply_options (TCP_SOCKET_LISTENER (listener));
}

static GSocket *
tcp_socket_listener_get_socket (TcpListener *listener)
{
  ListeningSocket *ls = first_socket (TCP_SOCKET_LISTENER (listener));

  return ls != NULL ? ls->socket : NULL;
}

static void
tcp_socket_listener_finalize (GObject *object)
{
  TcpSocketListener *self = TCP_SOCKET_LISTENER (object);

  g_ptr_array_unref (self->sockets);

  G_OBJECT_CLASS (tcp_socket_listener_parent_class)->finalize (object);
}

static void
tcp_socket_listener_class_init (TcpSocketListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TcpListenerClass *listener_class = TCP_LISTENER_CLASS (klass);

  object_class->finalize = tcp_socket_listener_finalize;

  listener_class->start = tcp_socket_listener_start;
  listener_class->set_accepting = tcp_socket_listener_set_accepting;
  listener_class->wait = tcp_socket_listener_wait;
  listener_class->create_wake_source = tcp_socket_listener_create_wake_source;
  listener_class->stop = tcp_socket_listener_stop;
  listener_class->options_changed = tcp_socket_listener_options_changed;
  listener_class->get_socket = tcp_socket_listener_get_socket;
}

static void
tcp_socket_listener_init (TcpSocketListener *self)
{
  self->sockets = g_ptr_array_new_with_free_func ((GDestroyNotify) listening_socket_free);
}

/* ------------------------------------------------------------------ */
/* Constructors                                                       */

static TcpSocketListener *
listener_new (void)
{
  return g_object_new (TCP_TYPE_SOCKET_LISTENER, NULL);
}

static TcpListener *
finish_new (TcpSocketListener *self)
{
  set_bound_from_first_socket (self);
  return TCP_LISTENER (self);
}

/* Listens on @bind's address and @port (0: the system picks). */
TcpListener *
tcp_socket_listener_new_bound (const TcpBindOptions  *bind,
                               guint16                port,
                               GError               **error)
{
  g_autoptr(TcpSocketListener) self = NULL;
  GSocket *socket;

  socket = tcp_socket_open_listener (bind->address, bind->scope_id, port, bind->backlog,
                                     bind->reuse_port, error);
  if (socket == NULL)
    return NULL;

  self = listener_new ();
  add_new_socket (self, socket);
  return finish_new (g_steal_pointer (&self));
}

/* Listens on the first free port from @first_port to @last_port. */
TcpListener *
tcp_socket_listener_new_range (const TcpBindOptions  *bind,
                               guint16                first_port,
                               guint16                last_port,
                               GError               **error)
{
  g_autofree gchar *where = tcp_socket_describe (bind->address, first_port);

  if (first_port == 0 || first_port > last_port)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Could not listen on a port from %u to %u: not a range of ports",
                   first_port, last_port);
      return NULL;
    }

  for (guint port = first_port; port <= last_port; port++)
    {
      g_autoptr(GError) local_error = NULL;
      TcpListener *listener = tcp_socket_listener_new_bound (bind, port, &local_error);

      if (listener != NULL)
        return listener;
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }

  /* "127.0.0.1:8080" without its port: the address as the user gave it. */
  *strrchr (where, ':') = '\0';
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
               "Could not listen on %s: every port from %u to %u is in use",
               where, first_port, last_port);
  return NULL;
}

/* Listens on 127.0.0.1 and, where the system has IPv6, on ::1, on one
 * port. */
TcpListener *
tcp_socket_listener_new_localhost (const TcpBindOptions  *bind,
                                   guint16                port,
                                   GError               **error)
{
  g_autoptr(TcpSocketListener) self = NULL;
  GSocket *socket4 = NULL;
  GSocket *socket6 = NULL;

  if (!tcp_socket_open_localhost (port, bind->backlog, bind->reuse_port, &socket4, &socket6,
                                  error))
    return NULL;

  self = listener_new ();
  add_new_socket (self, socket4);
  if (socket6 != NULL)
    add_new_socket (self, socket6);
  return finish_new (g_steal_pointer (&self));
}

/* Adopts @fd, a listening TCP socket nobody in this process owns yet. */
TcpListener *
tcp_socket_listener_new_adopted (gint     fd,
                                 GError **error)
{
  g_autoptr(TcpSocketListener) self = NULL;
  GSocket *socket;

  /* The check and the registration are one step, so that two servers
   * adopting the same descriptor at once cannot both succeed. */
  G_LOCK (owned_fds);
  if (is_owned_locked (fd))
    {
      G_UNLOCK (owned_fds);
      set_busy_error (error, fd);
      return NULL;
    }
  socket = tcp_socket_adopt_listener (fd, error);
  if (socket != NULL)
    own_locked (fd);
  G_UNLOCK (owned_fds);

  if (socket == NULL)
    return NULL;

  self = listener_new ();
  add_socket (self, socket);
  return finish_new (g_steal_pointer (&self));
}

/* Adopts the socket that socket activation passed under @name (%NULL: the
 * first TCP listening socket passed) and nobody in this process owns. */
TcpListener *
tcp_socket_listener_new_activated (const gchar  *name,
                                   GError      **error)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GArray) fds = NULL;
  gboolean found_owned = FALSE;

  fds = tcp_socket_get_activated_fds (&names, error);
  if (fds == NULL)
    return NULL;

  for (guint i = 0; i < fds->len; i++)
    {
      gint fd = g_array_index (fds, gint, i);
      gboolean owned;

      if (name != NULL && g_strcmp0 (names[i], name) != 0)
        continue;

      G_LOCK (owned_fds);
      owned = is_owned_locked (fd);
      G_UNLOCK (owned_fds);
      if (owned)
        {
          found_owned = TRUE;
          continue;
        }

      /* Without a name, the first socket fit to listen on; with one, the
       * socket of that name, checked as set_socket_descriptor() checks. */
      if (name == NULL && !tcp_socket_is_listening_tcp (fd))
        continue;

      return tcp_socket_listener_new_adopted (fd, error);
    }

  if (found_owned)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "No socket activation socket %s%s%sis left: another TcpServer in this "
                 "process took it", name != NULL ? "named “" : "",
                 name != NULL ? name : "", name != NULL ? "” " : "");
  else if (name != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "No socket named “%s” was passed to this process by socket activation "
                 "(LISTEN_FDNAMES)", name);
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         "No listening TCP socket was passed to this process by socket "
                         "activation");
  return NULL;
}

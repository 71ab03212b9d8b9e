/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-accept-engine.c: the non-blocking accept loop
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp-accept-engine-private.h"

typedef enum
{
  ACCEPT_RESULT_SKIP,      /* this peer is gone; try the next one */
  ACCEPT_RESULT_DRAINED,   /* the kernel queue is empty */
  ACCEPT_RESULT_BACK_OFF,  /* exhaustion or an unexpected error: wait, retry */
} AcceptResult;

typedef struct
{
  GSource          source;
  TcpAcceptEngine *engine;   /* unowned: the engine destroys us first */
} TcpAcceptSource;

struct _TcpAcceptEngine
{
  gint                 ref_count;
  int                  fd;             /* not ours: the owner closes it */
  GMainContext        *context;
  GSource             *fd_source;
  gpointer             fd_tag;         /* NULL while not polling */
  GSource             *retry_source;
  TcpAcceptedFunc      accepted;
  TcpAcceptFailedFunc  failed;
  gpointer             user_data;
  guint                backoff_ms;     /* 0 outside an error episode */
  guint                wanted : 1;
  guint                polling : 1;
  guint                stopped : 1;
  guint                dispatching : 1;  /* inside accept_source_dispatch() */
  guint                nested : 1;       /* ...and a handler's nested loop found the fd ready */
};

static AcceptResult
classify_accept_errno (int errsv)
{
  switch (errsv)
    {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
      return ACCEPT_RESULT_DRAINED;

    /* The peer went away between SYN and accept, or the network hiccupped;
     * accept(2) says to treat these like EAGAIN and retry. */
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EPERM:   /* a firewall rule refused this one connection */
      return ACCEPT_RESULT_SKIP;

    default:      /* EMFILE, ENFILE, ENOBUFS, ENOMEM and the unexpected */
      return ACCEPT_RESULT_BACK_OFF;
    }
}

/* Polls the fd only when the owner wants connections, no retry is due and
 * no nested main loop runs under our own dispatch. */
static void
update_polling (TcpAcceptEngine *self)
{
  gboolean polling = self->wanted && self->retry_source == NULL && !self->nested;

  /* A stopped engine has no source left to modify. */
  if (self->stopped || polling == self->polling)
    return;

  self->polling = polling;

  /* GLib polls an fd even with an empty event mask, and poll() reports
   * POLLHUP and POLLERR whatever was asked: a listening socket in error
   * would dispatch on every iteration, a busy loop. Take the fd out of the
   * poll set instead. */
  if (polling)
    {
      self->fd_tag = g_source_add_unix_fd (self->fd_source, self->fd, G_IO_IN);
    }
  else
    {
      g_source_remove_unix_fd (self->fd_source, self->fd_tag);
      self->fd_tag = NULL;
    }
}

static gboolean
retry_cb (gpointer user_data)
{
  /* The accept below runs the owner's callbacks, which may stop the engine
   * and drop the owner's reference to it. */
  g_autoptr(TcpAcceptEngine) self = tcp_accept_engine_ref (user_data);

  g_clear_pointer (&self->retry_source, g_source_unref);

  if (self->wanted)
    tcp_accept_engine_accept (self, TCP_ACCEPT_ENGINE_BATCH_MAX);

  update_polling (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (TcpAcceptEngine *self)
{
  g_assert (self->retry_source == NULL);

  self->retry_source = g_timeout_source_new (self->backoff_ms);
  g_source_set_static_name (self->retry_source, "[tcp] accept retry");
  g_source_set_callback (self->retry_source, retry_cb, self, NULL);
  g_source_attach (self->retry_source, self->context);
  update_polling (self);
}

/* Reports the first failure of an episode, then waits 10 ms, 20 ms, ... up
 * to 1 s between attempts: never a busy loop, never a permanent stop. */
static void
back_off (TcpAcceptEngine *self,
          int              errsv)
{
  if (self->backoff_ms == 0)
    {
      g_autoptr(GError) error = NULL;

      self->backoff_ms = TCP_ACCEPT_ENGINE_BACKOFF_MIN_MS;
      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not accept a connection: %s", g_strerror (errsv));
      self->failed (error, self->user_data);
      if (self->stopped)
        return;
    }
  else
    {
      self->backoff_ms = MIN (self->backoff_ms * 2, TCP_ACCEPT_ENGINE_BACKOFF_MAX_MS);
    }

  if (self->retry_source == NULL)
    schedule_retry (self);
}

static void
end_error_episode (TcpAcceptEngine *self)
{
  self->backoff_ms = 0;
}

/* The source can recurse (see tcp_accept_engine_new()), so a handler that
 * runs a nested main loop on our context would find the fd ready again.
 * Accepting there would re-enter the handler; returning without accepting
 * would spin. Instead the fd leaves the poll set until the outer dispatch
 * returns, which is what GLib does for a source that cannot recurse. */
static gboolean
dispatch_nested (TcpAcceptEngine *self)
{
  if (!self->dispatching)
    return FALSE;

  self->nested = TRUE;
  update_polling (self);
  return TRUE;
}

static gboolean
accept_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  /* The owner's callbacks may drop its reference to the engine. */
  g_autoptr(TcpAcceptEngine) self = tcp_accept_engine_ref (((TcpAcceptSource *) source)->engine);

  if (dispatch_nested (self))
    return G_SOURCE_CONTINUE;

  /* An earlier source of this iteration may have paused us after the fd
   * was found ready. */
  if (self->polling)
    {
      self->dispatching = TRUE;
      tcp_accept_engine_accept (self, TCP_ACCEPT_ENGINE_BATCH_MAX);
      self->dispatching = FALSE;
    }

  if (self->nested)
    {
      self->nested = FALSE;
      update_polling (self);
    }

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs accept_source_funcs = {
  .dispatch = accept_source_dispatch,
};

/* Polls @fd, a listening socket that stays open until the engine is
 * stopped, on @context. */
TcpAcceptEngine *
tcp_accept_engine_new (gint                 fd,
                       GMainContext        *context,
                       TcpAcceptedFunc      accepted,
                       TcpAcceptFailedFunc  failed,
                       gpointer             user_data)
{
  TcpAcceptEngine *self;

  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (context != NULL, NULL);

  self = g_new0 (TcpAcceptEngine, 1);
  self->ref_count = 1;
  self->fd = fd;
  self->context = g_main_context_ref (context);
  self->accepted = accepted;
  self->failed = failed;
  self->user_data = user_data;

  self->fd_source = g_source_new (&accept_source_funcs, sizeof (TcpAcceptSource));
  ((TcpAcceptSource *) self->fd_source)->engine = self;
  g_source_set_static_name (self->fd_source, "[tcp] accept");
  /* GLib 2.74 takes the fds of a source that cannot recurse out of the poll
   * set for each dispatch and puts them back after it, and each change
   * signals the context's wakeup fd: two write()s, a read() and an extra
   * poll() per wakeup, over two system calls per connection under load
   * (bench/RESULTS.md, step 3).
   * accept_source_dispatch() guards against recursion itself, and only pays
   * that price when a nested main loop actually runs. */
  g_source_set_can_recurse (self->fd_source, TRUE);
  g_source_attach (self->fd_source, self->context);

  return self;
}

TcpAcceptEngine *
tcp_accept_engine_ref (TcpAcceptEngine *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  self->ref_count++;
  return self;
}

void
tcp_accept_engine_unref (TcpAcceptEngine *self)
{
  g_return_if_fail (self != NULL);

  if (--self->ref_count > 0)
    return;

  tcp_accept_engine_stop (self);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self);
}

/* After this the engine touches neither the fd nor its callbacks again, even
 * when called from inside one of those callbacks. */
void
tcp_accept_engine_stop (TcpAcceptEngine *self)
{
  g_return_if_fail (self != NULL);

  if (self->stopped)
    return;

  self->stopped = TRUE;
  self->wanted = FALSE;
  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
    }
  g_source_destroy (self->fd_source);
  g_clear_pointer (&self->fd_source, g_source_unref);
}

void
tcp_accept_engine_set_wanted (TcpAcceptEngine *self,
                              gboolean         wanted)
{
  g_return_if_fail (self != NULL);

  if (self->stopped)
    return;

  self->wanted = !!wanted;
  update_polling (self);
}

/* Accepts up to @max connections now, whatever the polling state. Returns how
 * many descriptors were handed to the owner. */
guint
tcp_accept_engine_accept (TcpAcceptEngine *self,
                          guint            max)
{
  g_autoptr(TcpAcceptEngine) hold = tcp_accept_engine_ref (self);
  guint n_accepted = 0;

  while (!self->stopped && n_accepted < max)
    {
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      int fd;

      fd = accept4 (self->fd, (struct sockaddr *) &peer, &peer_len,
                    SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        {
          int errsv = errno;

          switch (classify_accept_errno (errsv))
            {
            case ACCEPT_RESULT_SKIP:
              continue;
            case ACCEPT_RESULT_DRAINED:
              end_error_episode (self);
              return n_accepted;
            case ACCEPT_RESULT_BACK_OFF:
            default:
              back_off (self, errsv);
              return n_accepted;
            }
        }

      end_error_episode (self);

      n_accepted++;
      if (!self->accepted (fd, (struct sockaddr *) &peer, peer_len, self->user_data))
        break;
    }

  return n_accepted;
}

/* The current retry delay, or 0 when accepting works. */
guint
tcp_accept_engine_get_backoff_ms (TcpAcceptEngine *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->retry_source != NULL ? self->backoff_ms : 0;
}

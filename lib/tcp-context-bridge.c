/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-context-bridge.c: a private main context, run from another
 *
 * Copyright 2026 The libtcp authors
 *
 * See tcp-context-bridge-private.h. The outer source follows GLib's
 * protocol for running a context from outside (prepare, query, poll,
 * check, dispatch, the way an external main loop drives one): its prepare
 * prepares the inner context and registers the inner context's poll
 * descriptors (its wakeup descriptor, through which other threads announce
 * a source) with the outer one; its check and dispatch check and dispatch
 * the inner context. The inner context is acquired from its prepare until
 * its dispatch, or until a check finds nothing ready.
 */

#include "config.h"

#include "tcp-context-bridge-private.h"

typedef struct
{
  GSource       source;
  GMainContext *inner;          /* a reference */
  GPollFD      *fds;            /* registered with the outer context, in place */
  gint          n_registered;
  gint          n_allocated;
  gint          max_priority;
  gboolean      acquired;
  gboolean      checked;
} BridgeSource;

struct _TcpContextBridge
{
  GMainContext *inner;
  GSource      *source;         /* on the outer context, while attached */
};

static void
register_fds (BridgeSource *self,
              gint          n_fds)
{
  for (gint i = 0; i < self->n_registered; i++)
    g_source_remove_poll (&self->source, &self->fds[i]);
  for (gint i = 0; i < n_fds; i++)
    g_source_add_poll (&self->source, &self->fds[i]);
  self->n_registered = n_fds;
}

/* Asks the inner context what to poll; the outer context reads the fds
 * and events from our GPollFDs, so only a change in their number (or a new
 * array) means registering again. */
static gint
query_inner (BridgeSource *self)
{
  gint timeout = -1;
  gint n_fds = g_main_context_query (self->inner, self->max_priority, &timeout, self->fds,
                                     self->n_allocated);

  if (n_fds > self->n_allocated)
    {
      register_fds (self, 0);
      self->n_allocated = n_fds;
      self->fds = g_renew (GPollFD, self->fds, self->n_allocated);
      n_fds = g_main_context_query (self->inner, self->max_priority, &timeout, self->fds,
                                    self->n_allocated);
    }

  if (n_fds != self->n_registered)
    register_fds (self, n_fds);

  return timeout;
}

static void
release_inner (BridgeSource *self)
{
  if (!self->acquired)
    return;

  g_main_context_release (self->inner);
  self->acquired = FALSE;
}

static gboolean
bridge_prepare (GSource *source,
                gint    *timeout)
{
  BridgeSource *self = (BridgeSource *) source;
  gboolean ready;
  gint inner_timeout;

  /* Another thread is running the inner context by itself (a close()
   * waiting for its handshakes): nothing to do for us meanwhile. */
  if (!self->acquired && !g_main_context_acquire (self->inner))
    {
      *timeout = -1;
      return FALSE;
    }
  self->acquired = TRUE;
  self->checked = FALSE;

  ready = g_main_context_prepare (self->inner, &self->max_priority);
  inner_timeout = query_inner (self);
  *timeout = ready ? 0 : inner_timeout;

  return ready;
}

static gboolean
bridge_check (GSource *source)
{
  BridgeSource *self = (BridgeSource *) source;
  gboolean ready;

  if (!self->acquired)
    return FALSE;

  ready = g_main_context_check (self->inner, self->max_priority, self->fds, self->n_registered);
  self->checked = TRUE;
  if (!ready)
    release_inner (self);

  return ready;
}

static gboolean
bridge_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  BridgeSource *self = (BridgeSource *) source;

  if (!self->acquired)
    return G_SOURCE_CONTINUE;

  /* A prepare that found a source ready spares the outer check. */
  if (!self->checked)
    g_main_context_check (self->inner, self->max_priority, self->fds, self->n_registered);
  g_main_context_dispatch (self->inner);
  release_inner (self);

  return G_SOURCE_CONTINUE;
}

static void
bridge_finalize (GSource *source)
{
  BridgeSource *self = (BridgeSource *) source;

  release_inner (self);
  g_clear_pointer (&self->inner, g_main_context_unref);
  g_free (self->fds);
}

static GSourceFuncs bridge_source_funcs = {
  .prepare = bridge_prepare,
  .check = bridge_check,
  .dispatch = bridge_dispatch,
  .finalize = bridge_finalize,
};

TcpContextBridge *
tcp_context_bridge_new (void)
{
  TcpContextBridge *self = g_new0 (TcpContextBridge, 1);

  self->inner = g_main_context_new ();
  return self;
}

void
tcp_context_bridge_free (TcpContextBridge *self)
{
  tcp_context_bridge_detach (self);
  g_main_context_unref (self->inner);
  g_free (self);
}

GMainContext *
tcp_context_bridge_get_context (TcpContextBridge *self)
{
  return self->inner;
}

/* Runs the inner context from @outer from now on (and no longer from the
 * context it was attached to before). */
void
tcp_context_bridge_attach (TcpContextBridge *self,
                           GMainContext     *outer)
{
  BridgeSource *bridge;

  if (self->source != NULL && g_source_get_context (self->source) == outer)
    return;

  tcp_context_bridge_detach (self);

  self->source = g_source_new (&bridge_source_funcs, sizeof (BridgeSource));
  bridge = (BridgeSource *) self->source;
  bridge->inner = g_main_context_ref (self->inner);
  bridge->n_allocated = 4;
  bridge->fds = g_new0 (GPollFD, bridge->n_allocated);
  g_source_set_static_name (self->source, "[tcp] TLS handshakes");
  g_source_attach (self->source, outer);
}

/* In the outer context's thread, or with that context not running. */
void
tcp_context_bridge_detach (TcpContextBridge *self)
{
  if (self->source == NULL)
    return;

  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

/* Runs one iteration of the inner context alone, waiting at most
 * @timeout_us for something to do. Returns FALSE if another thread owns it. */
gboolean
tcp_context_bridge_iterate (TcpContextBridge *self,
                            gint64            timeout_us)
{
  g_autoptr(GSource) timer = NULL;

  if (!g_main_context_acquire (self->inner))
    return FALSE;

  timer = g_timeout_source_new ((guint) MAX ((timeout_us + 999) / 1000, 0));
  g_source_set_callback (timer, wake_cb, NULL, NULL);
  g_source_attach (timer, self->inner);
  g_main_context_iteration (self->inner, TRUE);
  g_source_destroy (timer);

  g_main_context_release (self->inner);
  return TRUE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-listener-private.h: how a TcpServer listens, whatever it listens on
 *
 * Copyright 2026 The libtcp authors
 *
 * A TcpListener is the one seam between TcpServer and the ways of getting
 * connections: kernel sockets it bound, adopted or was handed by socket
 * activation (TcpSocketListener, on the accept engine), or a SOCKS5 proxy's
 * BIND (TcpSocks5Listener). The server drives every kind through the same
 * few calls and hears back through one set of callbacks; it never asks which
 * kind it holds.
 *
 * Life of a listener: made by its kind's constructor (which may already
 * bind, and fail with a GError), started once on a GMainContext, then
 * asked to accept or not (set_accepting) as the server's queue and limits
 * allow, possibly asked to wait once for a connection without a main loop
 * (wait_for_new_connection()), and stopped. After stop no callback runs.
 */

#pragma once

#include <gio/gio.h>
#include <sys/socket.h>

#include "tcp-accepted-socket-private.h"

G_BEGIN_DECLS

#define TCP_TYPE_LISTENER (tcp_listener_get_type ())

G_DECLARE_DERIVABLE_TYPE (TcpListener, tcp_listener, TCP, LISTENER, GObject)

/* What becomes of a connection before any object exists for it. */
typedef enum
{
  TCP_LISTENER_ADMIT,
  TCP_LISTENER_REFUSE,
} TcpListenerAdmission;

/* The owner's side. Every callback runs on the listener's context (or in
 * the thread that called tcp_listener_wait()), and may stop the listener
 * and drop the owner's reference to it. */
typedef struct
{
  /* A listener started without blocking now has its address (SOCKS5: the
   * proxy's first reply). */
  void                 (*bound)        (TcpListener            *listener,
                                        gpointer                user_data);
  /* Decides a connection from @peer right after accept: %NULL admits all. */
  TcpListenerAdmission (*admit)        (TcpListener            *listener,
                                        const struct sockaddr  *peer,
                                        socklen_t               peer_len,
                                        gpointer                user_data);
  /* A connection was accepted. Returns whether the listener may go on
   * accepting in this batch. */
  gboolean             (*accepted)     (TcpListener            *listener,
                                        GSocket                *socket,
                                        gpointer                user_data);
  /* Accepting failed, and the listener goes on by itself (it backs off on
   * descriptor or memory exhaustion). */
  void                 (*accept_error) (TcpListener            *listener,
                                        const GError           *error,
                                        gpointer                user_data);
  /* The listener failed for good (before it bound, or by losing what it
   * listened on) and has stopped. */
  void                 (*failed)       (TcpListener            *listener,
                                        const GError           *error,
                                        gpointer                user_data);
  /* The listener has served the last connection it can (a SOCKS5 BIND
   * serves one) and has stopped. */
  void                 (*finished)     (TcpListener            *listener,
                                        gpointer                user_data);
} TcpListenerCallbacks;

struct _TcpListenerClass
{
  GObjectClass parent_class;

  /* Starts on the listener's context. Blocking: returns once the listener
   * is bound, or FALSE with @error. Otherwise returns at once, reporting
   * later through bound or failed. */
  gboolean  (*start)              (TcpListener  *self,
                                   gboolean      blocking,
                                   GError      **error);
  void      (*set_accepting)      (TcpListener  *self,
                                   gboolean      accepting);
  /* Blocks until the listener can make progress or @timeout_us (-1:
   * forever) passes, then makes it (at most one connection), running the
   * callbacks in the calling thread. Returns FALSE at once if progress can
   * only come through the listener's context. */
  gboolean  (*wait)               (TcpListener  *self,
                                   gint64        timeout_us);
  /* A source that wakes the context when the listener can make progress,
   * or %NULL. */
  GSource * (*create_wake_source) (TcpListener  *self);
  void      (*stop)               (TcpListener  *self);
  /* The per-connection options changed (see tcp_listener_set_options()). */
  void      (*options_changed)    (TcpListener  *self);
  GSocket * (*get_socket)         (TcpListener  *self);
  /* Where it listens, for messages: "on 127.0.0.1:8080". */
  gchar *   (*describe)           (TcpListener  *self);
};

gboolean       tcp_listener_start              (TcpListener                *self,
                                                GMainContext               *context,
                                                const TcpListenerCallbacks *callbacks,
                                                gpointer                    user_data,
                                                gboolean                    blocking,
                                                GError                    **error);
void           tcp_listener_set_accepting      (TcpListener                *self,
                                                gboolean                    accepting);
gboolean       tcp_listener_wait               (TcpListener                *self,
                                                gint64                      timeout_us);
GSource       *tcp_listener_create_wake_source (TcpListener                *self);
void           tcp_listener_stop               (TcpListener                *self);
void           tcp_listener_set_options        (TcpListener                *self,
                                                const TcpSocketOptions     *options);
const TcpSocketOptions *
               tcp_listener_get_options        (TcpListener                *self);
gboolean       tcp_listener_is_bound           (TcpListener                *self);
GInetAddress  *tcp_listener_get_address        (TcpListener                *self);
guint16        tcp_listener_get_port           (TcpListener                *self);
gchar         *tcp_listener_describe           (TcpListener                *self);
GSocket       *tcp_listener_get_socket         (TcpListener                *self);
GMainContext  *tcp_listener_get_context        (TcpListener                *self);

/* For the kinds of listener. */
void           _tcp_listener_set_bound         (TcpListener                *self,
                                                GInetAddress               *address,
                                                guint16                     port);
TcpListenerAdmission
               _tcp_listener_admit             (TcpListener                *self,
                                                const struct sockaddr      *peer,
                                                socklen_t                   peer_len);
gboolean       _tcp_listener_accepted          (TcpListener                *self,
                                                GSocket                    *socket);
void           _tcp_listener_accept_error      (TcpListener                *self,
                                                const GError               *error);
void           _tcp_listener_failed            (TcpListener                *self,
                                                const GError               *error);
void           _tcp_listener_finished          (TcpListener                *self);

G_END_DECLS

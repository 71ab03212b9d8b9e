/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server-impl-private.h: TcpServer's own state
 *
 * Copyright 2026 The libtcp authors
 *
 * TcpServer's implementation is spread over a few files, one concern each:
 * tcp-server.c (the class: properties, signals, the listener it holds and
 * that listener's callbacks), tcp-server-listen.c (the ways to start
 * listening, and what it listens on), tcp-server-settings.c (the settings
 * that shape listeners), tcp-server-queue.c (the pending queue, pausing,
 * accept_async()) and tcp-server-wait.c (waiting without a main loop). They share the instance state declared here; nothing else includes
 * this header. Subclasses inside libtcp use tcp-server-private.h instead.
 */

#pragma once

#include "tcp-server.h"
#include "tcp-server-private.h"
#include "tcp-listener-private.h"
#include "tcp-connection-tracker-private.h"

G_BEGIN_DECLS

enum {
  PROP_0,
  PROP_LISTENING,
  PROP_SERVER_ADDRESS,
  PROP_SERVER_PORT,
  PROP_MAX_PENDING_CONNECTIONS,
  PROP_LISTEN_BACKLOG_SIZE,
  PROP_REUSE_PORT,
  PROP_PAUSED,
  PROP_PROXY,
  PROP_PROXY_TIMEOUT,
  PROP_NO_DELAY,
  PROP_KEEPALIVE,
  PROP_N_CONNECTIONS,
  PROP_MAX_CONNECTIONS,
  PROP_MAX_CONNECTIONS_PER_PEER,
  PROP_MAX_CONNECTION_RATE_PER_PEER,
  N_PROPS
};

enum {
  SIGNAL_NEW_CONNECTION,
  SIGNAL_PENDING_CONNECTION_AVAILABLE,
  SIGNAL_ACCEPT_ERROR,
  SIGNAL_CONNECTION_REFUSED,
  N_SIGNALS
};

extern GParamSpec *_tcp_server_properties[N_PROPS];
extern guint _tcp_server_signals[N_SIGNALS];

#define TCP_SERVER_DEFAULT_MAX_PENDING    30
#define TCP_SERVER_DEFAULT_BACKLOG      4096
#define TCP_SERVER_DEFAULT_PROXY_TIMEOUT 5000

typedef struct
{
  GMainContext    *context;         /* thread-default at the last listen() */
  TcpListener     *listener;        /* NULL when not listening */
  GTask           *listen_task;     /* listen_async() waiting for the listener to bind */

  GQueue           pending;         /* GIOStream *, oldest first */
  guint            n_reserved;      /* slots held by work in flight (TLS handshakes) */
  GQueue           waiters;         /* GTask * from accept_async() */

  gint             max_pending;
  gint             backlog;
  gboolean         reuse_port;
  gboolean         paused;
  TcpSocketOptions options;         /* no-delay, keepalive */

  GIOErrorEnum     error_code;
  gchar           *error_string;
  guint            n_errors;        /* how many were recorded */
  gchar           *proxy;
  guint            proxy_timeout;   /* ms, 0: none */

  /* new-connection is never emitted inside its own handler (see
   * emit_new_connection()). */
  gboolean         in_new_connection;
  guint            accept_depth;    /* inside listener_accepted_cb() */
  guint            n_deferred_new_connection;

  /* The connections it accepted (tcp-server-connections.c). */
  TcpConnectionTracker *tracker;
  GObject         *connections;     /* the model, once asked for */
  guint            n_connections;   /* as last announced */
  guint            max_connections; /* 0: no limit */
  TcpAdmissionRules rules;
  GQueue           shutdowns;       /* GTask * from shutdown_async() */

  /* wait_for_new_connection() in a thread that cannot run the server's
   * context sleeps here until that context's thread has news. */
  GMutex           news_mutex;
  GCond            news_cond;
  guint            news_serial;
  gint             n_news_waiters;  /* atomic */
} TcpServerPrivate;

/* The private data's offset, set once the class exists; inline because the
 * accept path asks for it a dozen times per connection. */
extern gint _tcp_server_private_offset;

static inline TcpServerPrivate *
_tcp_server_get_private (TcpServer *self)
{
  return G_STRUCT_MEMBER_P (self, _tcp_server_private_offset);
}


/* Listening: a listener that has its address (a SOCKS5 proxy's only from
 * its first reply on). */
static inline gboolean
_tcp_server_is_bound (TcpServerPrivate *priv)
{
  return priv->listener != NULL && tcp_listener_is_bound (priv->listener);
}

/* tcp-server.c */
extern const TcpListenerCallbacks _tcp_server_listener_callbacks;
const TcpServerHooks *_tcp_server_get_hooks  (TcpServer     *self);
void              _tcp_server_notify_listening_state (TcpServer *self);
/* Records @error as the server's last error (serverError()/errorString()). */
void              _tcp_server_set_error      (TcpServer     *self,
                                              const GError  *error);
/* Records @local_error, hands it to @error and returns FALSE. */
gboolean          _tcp_server_fail           (TcpServer     *self,
                                              GError       **error,
                                              GError        *local_error);
/* tcp-server-connections.c */
void              _tcp_server_connections_class_init (TcpServerClass *klass);
void              _tcp_server_connections_init    (TcpServer     *self);
void              _tcp_server_connections_dispose (TcpServer     *self);
void              _tcp_server_connections_flush   (TcpServer     *self);
void              _tcp_server_connections_settle  (TcpServer     *self,
                                                   gboolean       in_accept_path);
void              _tcp_server_connections_finalize (TcpServer    *self);
void              _tcp_server_connections_set_context (TcpServer *self,
                                                       GMainContext *context);
TcpListenerAdmission _tcp_server_admit           (TcpServer             *self,
                                                  const struct sockaddr *peer,
                                                  socklen_t              peer_len);
void              _tcp_server_refused            (TcpServer             *self,
                                                  const struct sockaddr *peer,
                                                  socklen_t              peer_len,
                                                  TcpListenerAdmission   reason);
void              _tcp_server_track_accepted     (TcpServer             *self,
                                                  GSocket               *socket,
                                                  const struct sockaddr *peer,
                                                  socklen_t              peer_len);
void              _tcp_server_track_queued       (TcpServer             *self,
                                                  GIOStream             *connection);
gboolean          _tcp_server_below_max_connections (TcpServer          *self);

/* tcp-server-shutdown.c */
void              _tcp_server_check_shutdowns    (TcpServer             *self);

/* tcp-server-listen.c */
/* Drops the listener, the work in flight and the queue. Returns the
 * accept_async() waiters, to fail once the server is consistent again. */
GQueue            _tcp_server_stop_listening (TcpServer     *self);
/* Fails unless the server is free to listen (not listening, and its
 * subclass agrees). */
gboolean          _tcp_server_check_can_listen (TcpServer   *self,
                                                GError     **error);
/* Listens through @listener (taken), on the thread-default context. With
 * @task (listen_async()) it completes @task when the listener has bound;
 * otherwise it blocks until then. */
gboolean          _tcp_server_start_listener (TcpServer     *self,
                                              TcpListener   *listener,
                                              GTask         *task,
                                              GError       **error);
/* tcp-server-queue.c */
void              _tcp_server_queue_class_init (TcpServerClass *klass);
/* Whether the server may take one more connection now (max-pending). */
gboolean          _tcp_server_has_room       (TcpServer     *self);
/* Whether the listener should accept: listening, not paused, room left. */
gboolean          _tcp_server_accepting_wanted (TcpServer   *self);
/* Tells the listener what _tcp_server_accepting_wanted() says. */
void              _tcp_server_update_accepting (TcpServer   *self);
void              _tcp_server_tell_waiting_threads (TcpServer *self);
void              _tcp_server_fail_waiters_with (GQueue       *waiters,
                                                 const GError *error);
void              _tcp_server_fail_waiters   (GQueue        *waiters,
                                              gint           code,
                                              const gchar   *message);
void              _tcp_server_fail_hopeless_waiters (TcpServer *self);
void              _tcp_server_watch_cancellable (GTask        *task,
                                                 GCancellable *cancellable,
                                                 GSourceFunc   callback,
                                                 GMainContext *context,
                                                 const gchar  *name);

G_END_DECLS

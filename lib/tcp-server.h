/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tcp-server.h: a TCP server on GSocket, Qt's QTcpServer the GLib way
 *
 * Copyright 2026 The libtcp authors
 */

#pragma once

#if !defined(TCP_INSIDE) && !defined(TCP_COMPILATION)
# error "Only <tcp.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tcp-version-macros.h"

G_BEGIN_DECLS

#define TCP_TYPE_SERVER (tcp_server_get_type ())

TCP_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (TcpServer, tcp_server, TCP, SERVER, GObject)

/**
 * TcpServerClass:
 * @parent_class: the parent class
 * @incoming_connection: called once for every socket the server accepts,
 *   on the main context the server listens on. @socket is connected and
 *   non-blocking. The default implementation wraps it in a
 *   [class@Gio.SocketConnection] and passes that to
 *   [method@Tcp.Server.add_pending_connection]. An override that wants the
 *   connection to reach the pending queue must do the same (or chain up).
 * @has_pending_connections: returns whether the pending queue holds a
 *   connection; see [method@Tcp.Server.has_pending_connections]
 * @next_pending_connection: takes the oldest connection from the pending
 *   queue; see [method@Tcp.Server.next_pending_connection]
 *
 * The class structure of [class@Tcp.Server]. Subclasses override
 * @incoming_connection to decide what becomes of each accepted socket, the
 * way [class@Tcp.TlsServer] runs a TLS handshake before queueing.
 *
 * Since: 1.0
 */

/**
 * TcpServerClass::incoming_connection:
 * @self: a [class@Tcp.Server]
 * @socket: the accepted socket: connected, non-blocking, close-on-exec
 *
 * Called once for every socket the server accepts, on the
 * [struct@GLib.MainContext] the server listens on, before
 * [signal@Tcp.Server::new-connection] is emitted. This is Qt's
 * `incomingConnection()`, with a [class@Gio.Socket] where Qt passes a
 * descriptor; `g_socket_get_fd()` gives the descriptor.
 *
 * The default implementation wraps @socket in a [class@Gio.SocketConnection]
 * and passes that to [method@Tcp.Server.add_pending_connection]. An override
 * that wants the connection to reach the pending queue must do the same, or
 * chain up. The server drops its reference to @socket when the call returns:
 * keep one (or a connection made from it) to keep the socket open.
 *
 * Python overrides it as `do_incoming_connection`, GJS as
 * `vfunc_incoming_connection`, Vala as `override void incoming_connection`.
 *
 * Since: 1.0
 */
struct _TcpServerClass
{
  GObjectClass parent_class;

  void        (*incoming_connection)     (TcpServer *self,
                                          GSocket   *socket);
  gboolean    (*has_pending_connections) (TcpServer *self);
  GIOStream * (*next_pending_connection) (TcpServer *self);

  /*< private >*/
  gpointer padding[8];
};

TCP_AVAILABLE_IN_ALL
TcpServer     *tcp_server_new                          (void);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_listen                       (TcpServer            *self,
                                                        GInetAddress         *address,
                                                        guint16               port,
                                                        GError              **error);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_listen_on                    (TcpServer            *self,
                                                        const gchar          *host,
                                                        guint16               port,
                                                        GError              **error);
TCP_AVAILABLE_IN_1_1
gboolean       tcp_server_listen_range                 (TcpServer            *self,
                                                        GInetAddress         *address,
                                                        guint16               first_port,
                                                        guint16               last_port,
                                                        GError              **error);
TCP_AVAILABLE_IN_1_1
gboolean       tcp_server_listen_activated             (TcpServer            *self,
                                                        const gchar          *name,
                                                        GError              **error);
TCP_AVAILABLE_IN_ALL
void           tcp_server_close                        (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_is_listening                 (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
GInetAddress  *tcp_server_get_server_address           (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
guint16        tcp_server_get_server_port              (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gint           tcp_server_get_max_pending_connections  (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_set_max_pending_connections  (TcpServer            *self,
                                                        gint                  n);
TCP_AVAILABLE_IN_ALL
gint           tcp_server_get_listen_backlog_size      (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_set_listen_backlog_size      (TcpServer            *self,
                                                        gint                  size);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_get_reuse_port               (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_set_reuse_port               (TcpServer            *self,
                                                        gboolean              reuse_port);
TCP_AVAILABLE_IN_1_1
gboolean       tcp_server_get_no_delay                 (TcpServer            *self);
TCP_AVAILABLE_IN_1_1
void           tcp_server_set_no_delay                 (TcpServer            *self,
                                                        gboolean              no_delay);
TCP_AVAILABLE_IN_1_1
gboolean       tcp_server_get_keepalive                (TcpServer            *self);
TCP_AVAILABLE_IN_1_1
void           tcp_server_set_keepalive                (TcpServer            *self,
                                                        gboolean              keepalive);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_has_pending_connections      (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
GIOStream     *tcp_server_next_pending_connection      (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
guint          tcp_server_get_n_pending_connections    (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_add_pending_connection       (TcpServer            *self,
                                                        GIOStream            *connection);
TCP_AVAILABLE_IN_ALL
void           tcp_server_pause_accepting              (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_resume_accepting             (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_is_paused                    (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gint           tcp_server_get_socket_descriptor        (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_set_socket_descriptor        (TcpServer            *self,
                                                        gint                  fd,
                                                        GError              **error);
TCP_AVAILABLE_IN_ALL
GSocket       *tcp_server_get_socket                   (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_wait_for_new_connection      (TcpServer            *self,
                                                        gint                  msec,
                                                        gboolean             *timed_out,
                                                        GError              **error);
TCP_AVAILABLE_IN_ALL
GIOErrorEnum   tcp_server_get_server_error             (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
const gchar   *tcp_server_get_error_string             (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
const gchar   *tcp_server_get_proxy                    (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_set_proxy                    (TcpServer            *self,
                                                        const gchar          *uri);
TCP_AVAILABLE_IN_ALL
void           tcp_server_accept_async                 (TcpServer            *self,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
TCP_AVAILABLE_IN_ALL
GIOStream     *tcp_server_accept_finish                (TcpServer            *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);
TCP_AVAILABLE_IN_ALL
guint          tcp_server_get_proxy_timeout            (TcpServer            *self);
TCP_AVAILABLE_IN_ALL
void           tcp_server_set_proxy_timeout            (TcpServer            *self,
                                                        guint                 msec);
TCP_AVAILABLE_IN_ALL
void           tcp_server_listen_async                 (TcpServer            *self,
                                                        GInetAddress         *address,
                                                        guint16               port,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
TCP_AVAILABLE_IN_ALL
gboolean       tcp_server_listen_finish                (TcpServer            *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-server.c: TcpServer behaviour
 *
 * Copyright 2026 The libtcp authors
 */

#include "config.h"

#include <tcp.h>

static void
test_default_state (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();

  g_assert_false (tcp_server_is_listening (server));
  g_assert_null (tcp_server_get_server_address (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), ==, 0);
  g_assert_cmpint (tcp_server_get_max_pending_connections (server), ==, 30);
  g_assert_cmpint (tcp_server_get_listen_backlog_size (server), ==, 4096);
  g_assert_false (tcp_server_has_pending_connections (server));
  g_assert_null (tcp_server_next_pending_connection (server));
  g_assert_cmpint (tcp_server_get_socket_descriptor (server), ==, -1);
  g_assert_null (tcp_server_get_socket (server));
  g_assert_cmpint (tcp_server_get_server_error (server), ==, G_IO_ERROR_FAILED);
  g_assert_cmpstr (tcp_server_get_error_string (server), ==, "");
  g_assert_null (tcp_server_get_proxy (server));
  tcp_server_close (server);
}

static void
test_listen_ipv4 (void)
{
  g_autoptr(TcpServer) server = tcp_server_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) out = NULL;
  g_autoptr(GIOStream) in = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);

  g_assert_true (tcp_server_listen (server, loopback, 0, &error));
  g_assert_no_error (error);
  g_assert_true (tcp_server_is_listening (server));
  g_assert_cmpuint (tcp_server_get_server_port (server), !=, 0);
  g_assert_true (g_inet_address_equal (tcp_server_get_server_address (server), loopback));

  out = g_socket_client_connect_to_host (client, "127.0.0.1",
                                         tcp_server_get_server_port (server), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tcp_server_wait_for_new_connection (server, 5000, NULL, &error));
  g_assert_no_error (error);
  in = tcp_server_next_pending_connection (server);
  g_assert_true (G_IS_TCP_CONNECTION (in));

  tcp_server_close (server);
  g_assert_false (tcp_server_is_listening (server));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Tcp/Server/default-state", test_default_state);
  g_test_add_func ("/Tcp/Server/listen/ipv4", test_listen_ipv4);

  return g_test_run ();
}

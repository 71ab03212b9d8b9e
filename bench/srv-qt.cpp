// SPDX-License-Identifier: LGPL-2.1-or-later
// srv-qt.cpp: Qt 5's QTcpServer, as Qt's Fortune Server example uses it
//
// Copyright 2026 The libtcp authors
//
// Qt 5 has no setListenBacklogSize() (it listens with 50), so -b makes the
// listening socket by hand and hands it over with setSocketDescriptor().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <QCoreApplication>
#include <QTcpServer>
#include <QTcpSocket>

#include "bench-common.h"

static int
open_listener (const BenchArgs *args)
{
  struct sockaddr_in sin = {};
  int one = 1;
  int fd;

  sin.sin_family = AF_INET;
  sin.sin_port = htons (args->port);
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
      listen (fd, args->backlog) < 0)
    {
      perror ("listen");
      exit (1);
    }
  return fd;
}

int
main (int   argc,
      char *argv[])
{
  BenchArgs args;

  bench_parse_args (argc, argv, &args);

  QCoreApplication app (argc, argv);
  QTcpServer server;

  if (args.backlog > 0)
    {
      if (!server.setSocketDescriptor (open_listener (&args)))
        {
          fprintf (stderr, "listen: %s\n", qPrintable (server.errorString ()));
          return 1;
        }
    }
  else if (!server.listen (QHostAddress::LocalHost, args.port))
    {
      fprintf (stderr, "listen: %s\n", qPrintable (server.errorString ()));
      return 1;
    }

  QObject::connect (&server, &QTcpServer::newConnection, [&] () {
    while (server.hasPendingConnections ())
      {
        QTcpSocket *socket = server.nextPendingConnection ();

        QObject::connect (socket, &QAbstractSocket::disconnected,
                          socket, &QObject::deleteLater);
        if (args.echo)
          {
            QObject::connect (socket, &QIODevice::readyRead, [socket] () {
              socket->write (socket->readAll ());
            });
          }
        else
          {
            socket->write (BENCH_FORTUNE, BENCH_FORTUNE_LEN);
            socket->disconnectFromHost ();
          }
      }
  });

  bench_write_port (&args, server.serverPort ());
  return app.exec ();
}

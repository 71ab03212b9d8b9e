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
      if (!server.setSocketDescriptor (bench_open_listener (&args, NULL)))
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

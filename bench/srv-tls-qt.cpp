// SPDX-License-Identifier: LGPL-2.1-or-later
// srv-tls-qt.cpp: Qt 6's QSslServer (OpenSSL backend), as a Qt application
// would use it
//
// Copyright 2026 The libtcp authors
//
// The certificate and key go into the default QSslConfiguration; a
// pendingConnectionAvailable handler (emitted once a connection's handshake
// is done) drains nextPendingConnection(), writes the fortune and calls
// disconnectFromHost(), as in Qt's Fortune Server example.

#include <QCoreApplication>
#include <QFile>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>

#include "bench-common.h"

int
main (int   argc,
      char *argv[])
{
  BenchArgs args;

  bench_parse_args (argc, argv, &args);
  bench_require_tls (&args, argv[0]);

  QCoreApplication app (argc, argv);
  QSslServer server;

  const QList<QSslCertificate> chain = QSslCertificate::fromPath (QString::fromLocal8Bit (args.cert_file),
                                                                  QSsl::Pem);
  QFile key_file (QString::fromLocal8Bit (args.key_file));
  if (chain.isEmpty () || !key_file.open (QIODevice::ReadOnly))
    {
      fprintf (stderr, "certificate: cannot read %s or %s\n", args.cert_file, args.key_file);
      return 1;
    }
  QSslKey key (&key_file, QSsl::Ec, QSsl::Pem);
  if (key.isNull ())
    {
      fprintf (stderr, "certificate: %s holds no EC private key\n", args.key_file);
      return 1;
    }

  QSslConfiguration configuration = QSslConfiguration::defaultConfiguration ();
  configuration.setLocalCertificateChain (chain);
  configuration.setPrivateKey (key);
  server.setSslConfiguration (configuration);

  if (args.backlog > 0)
    server.setListenBacklogSize (args.backlog);
  if (!server.listen (QHostAddress::LocalHost, args.port))
    {
      fprintf (stderr, "listen: %s\n", qPrintable (server.errorString ()));
      return 1;
    }

  QObject::connect (&server, &QTcpServer::pendingConnectionAvailable, [&] () {
    while (server.hasPendingConnections ())
      {
        QTcpSocket *socket = server.nextPendingConnection ();

        QObject::connect (socket, &QAbstractSocket::disconnected,
                          socket, &QObject::deleteLater);
        socket->write (BENCH_FORTUNE, BENCH_FORTUNE_LEN);
        socket->disconnectFromHost ();
      }
  });

  bench_write_port (&args, server.serverPort ());
  return app.exec ();
}

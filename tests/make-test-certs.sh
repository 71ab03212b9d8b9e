#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Creates throw-away TLS credentials for the tests in DIR (which must exist):
#   ca.crt/ca.key          a test certificate authority
#   server.crt/server.key  a server certificate for localhost and 127.0.0.1, signed by the CA
#   client.crt/client.key  a client certificate signed by the CA
#   rogue.crt/rogue.key    a self-signed client certificate the CA never signed
#   other.key              a key that matches none of the certificates
# Nothing here is committed: every test run makes fresh keys with certtool.
#   make-test-certs.sh DIR
set -eu

dir=$1
cd "$dir"

key () {
  certtool --generate-privkey --key-type=ecdsa --outfile "$1" 2>/dev/null
}

cat > ca.tmpl <<'TMPL'
cn = "libtcp test CA"
ca
cert_signing_key
expiration_days = 2
TMPL

cat > server.tmpl <<'TMPL'
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
ip_address = "::1"
tls_www_server
signing_key
encryption_key
expiration_days = 2
TMPL

cat > client.tmpl <<'TMPL'
cn = "libtcp test client"
tls_www_client
signing_key
expiration_days = 2
TMPL

key ca.key
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
  --outfile ca.crt 2>/dev/null

for name in server client; do
  key $name.key
  certtool --generate-certificate --load-privkey $name.key \
    --load-ca-certificate ca.crt --load-ca-privkey ca.key \
    --template $name.tmpl --outfile $name.crt 2>/dev/null
done

key rogue.key
certtool --generate-self-signed --load-privkey rogue.key --template client.tmpl \
  --outfile rogue.crt 2>/dev/null

key other.key
rm -f ca.tmpl server.tmpl client.tmpl

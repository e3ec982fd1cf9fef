#!/usr/bin/env bash
# Makes the certificates of the TLS tests (src/eval/adapters/http.rs): a certificate
# authority, and a certificate it signed for `localhost` and 127.0.0.1, both valid for a
# hundred years from the day they were made. Made once and kept: run it again only to
# replace them.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=quandary test CA" -keyout ca.key -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
  -out server.pem -extfile <(printf '%s\n' \
    "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth")
# The server's key in PKCS#8, as rustls reads it.
openssl pkcs8 -topk8 -nocrypt -in server.key -out server.key.pk8
mv server.key.pk8 server.key
rm -f server.csr ca.key ca.srl

#!/bin/sh
# Makes the certificates this lab mounts, as the course's gencerts.sh did: a private CA and
# RSA-2048 leaf certificates signed by it (CN = the certificate name), under certs/.
set -eu
cd "$(dirname "$0")"
mkdir -p certs/CA/
[ -f certs/CA/ca.crt ] || openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj '/CN=envoy-ca' \
  -keyout certs/CA/ca.key -out certs/CA/ca.crt
serial=4096
leaf() { # dir file-prefix common-name extended-key-usage
  mkdir -p "$1"
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1/$2.key" -out "$1/$2.csr"
  printf 'extendedKeyUsage = %s\nbasicConstraints = CA:FALSE\n' "$4" > "$1/$2.ext"
  openssl x509 -req -in "$1/$2.csr" -CA certs/CA/ca.crt -CAkey certs/CA/ca.key -set_serial "$serial" \
    -days 3650 -sha256 -extfile "$1/$2.ext" -out "$1/$2.crt"
  rm -f "$1/$2.csr" "$1/$2.ext"
  serial=$((serial + 1))
}
leaf certs/webserver01 server 'webserver01' serverAuth
leaf certs/webserver02 server 'webserver02' serverAuth
# Envoy runs as uid 101 in its image; let it read the keys.
chmod -R a+rX certs

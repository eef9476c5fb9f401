#!/usr/bin/env bash
# Makes a small PKI for tls: with GnuTLS's certtool (gnutls-bin): a CA, a
# server certificate for the names given, and a client certificate.
#   tls-certs.sh DIR [CLIENT-CN] [SERVER-NAME...]   (default: localhost 127.0.0.1)
# Writes DIR/ca.pem ca.key server.pem server.key client.pem client.key and
# the SHA-256 fingerprints server.fp and client.fp ("sha256:HEX", what
# WORMHOLE_TLS_PIN and a policy's `cert =` take).  ECDSA P-256 keys, 30 days:
# meant for tests and first set-ups; a site uses its own CA.
set -euo pipefail
dir=$1; cn=${2:-client}; shift $(( $# > 1 ? 2 : 1 ))
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1)
mkdir -p "$dir"; cd "$dir"
umask 077
key() { certtool --generate-privkey --key-type ecdsa --outfile "$1" >/dev/null 2>&1; }
printf 'cn = "Wormhole CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >ca.tmpl
{
	printf 'cn = "%s"\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 30\n' "${names[0]}"
	for n in "${names[@]}"; do
		if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then printf 'ip_address = "%s"\n' "$n"
		else printf 'dns_name = "%s"\n' "$n"; fi
	done
} >server.tmpl
printf 'cn = "%s"\ntls_www_client\nsigning_key\nexpiration_days = 30\n' "$cn" >client.tmpl
key ca.key; key server.key; key client.key
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem >/dev/null 2>&1
for w in server client; do
	certtool --generate-certificate --load-privkey $w.key --load-ca-certificate ca.pem \
		--load-ca-privkey ca.key --template $w.tmpl --outfile $w.pem >/dev/null 2>&1
	echo "sha256:$(certtool --fingerprint --hash sha256 --infile $w.pem)" >$w.fp
done
chmod 644 ca.pem server.pem client.pem server.fp client.fp
rm -f ca.tmpl server.tmpl client.tmpl

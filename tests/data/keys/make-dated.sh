#!/bin/sh
# Makes the dated key fixtures: a self-signed certificate whose validity lies
# wholly in the past (bad-expired/) and one that starts far in the future
# (bad-not-yet-valid/).  `openssl req` cannot set dates in the past and
# OpenSSL 3.0's `openssl x509` has no -not_before/-not_after, so the
# certificates are self-signed with `openssl ca -selfsign`, which takes
# -startdate and -enddate.  The output is committed; run this again only to
# change the fixtures (it overwrites them).
set -eu
cd "$(dirname "$0")"

make_one() {	# DIR STARTDATE ENDDATE
	dir=$1; start=$2; end=$3
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$dir"
	printf 'fixture-password-%s' "$dir" > "$dir/password"
	: > "$tmp/index.txt"
	cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = fixture
[fixture]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = ext
[anything]
commonName = supplied
organizationName = optional
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
[req]
distinguished_name = dn
prompt = no
[dn]
CN = samlbroker test fixture $dir
O = Example Contact Centre
CNF
	openssl rand -hex 16 > "$tmp/serial"
	openssl req -new -nodes -newkey rsa:2048 -config "$tmp/ca.cnf" \
	    -keyout "$tmp/key.pem" -out "$tmp/req.pem" 2>/dev/null
	openssl ca -batch -notext -config "$tmp/ca.cnf" -selfsign \
	    -keyfile "$tmp/key.pem" -in "$tmp/req.pem" -out "$tmp/cert.pem" \
	    -startdate "$start" -enddate "$end" 2>/dev/null
	openssl rsa -in "$tmp/key.pem" -out "$tmp/key.pem.enc" -aes256 \
	    -passout "file:$dir/password" 2>/dev/null
	openssl base64 -in "$tmp/cert.pem" -out "$dir/cert.pem.b64"
	openssl base64 -in "$tmp/key.pem.enc" -out "$dir/key.pem.enc.b64"
	cat > "$dir/README" <<TXT
Made by ../make-dated.sh: a matching 2048-bit RSA certificate and encrypted
key whose certificate is valid from $start to $end
(self-signed with openssl ca -selfsign -startdate -enddate).
The keystore loads it; the configuration judges the dates.
TXT
	rm -rf "$tmp"
	trap - EXIT
}

make_one bad-expired 20200101000000Z 20210101000000Z
make_one bad-not-yet-valid 20900101000000Z 20910101000000Z

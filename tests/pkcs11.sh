#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# pkcs11.sh - a tenant key in a PKCS#11 token (SoftHSM2, through libp11's
# OpenSSL engine): `pkey = pkcs11:...` with the PIN in password.  check
# loads it, mint signs inside the token and xmlsec1 verifies with the
# fixture certificate, signer processes mint with it, and a wrong PIN, a
# missing object and a PIN inside the URI are refused with the option's
# name.  Skipped (77) without softhsm2-util, the engine or xmlsec1.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin="$top_builddir/samlbroker"
keys="$top_srcdir/tests/data/keys/vendor-pkcs8"
module=/usr/lib/softhsm/libsofthsm2.so
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

for tool in softhsm2-util xmlsec1 openssl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -f "$module" ] || { echo "SKIP: no SoftHSM2 module at $module"; exit 77; }
enginesdir=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
[ -f "$enginesdir/pkcs11.so" ] || { echo "SKIP: no pkcs11 engine (libengine-pkcs11-openssl)"; exit 77; }

# A token of our own, with the fixture key in it.
mkdir "$tmp/tokens" "$tmp/tenants"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$tmp" >"$tmp/softhsm2.conf"
SOFTHSM2_CONF="$tmp/softhsm2.conf"
export SOFTHSM2_CONF
base64 -d "$keys/key.pem.enc.b64" >"$tmp/enc.pem"
openssl pkey -in "$tmp/enc.pem" -passin "file:$keys/password" -out "$tmp/plain.pem" || exit 1
softhsm2-util --init-token --free --label sbtest --pin 4321 --so-pin 8765 >/dev/null || exit 1
softhsm2-util --import "$tmp/plain.pem" --token sbtest --label acme --id 01 --pin 4321 \
    >/dev/null || exit 1
rm -f "$tmp/plain.pem" "$tmp/enc.pem"

# tenant PKEY PASSWORD
tenant() {
	{
		printf '[general]\norganization_sname = acme-org\n'
		printf 'organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n'
		printf 'base_auth_url = https://login.mypurecloud.ie/oauth/token\n'
		printf 'base_service_url = https://api.mypurecloud.ie/api/\n'
		printf '[saml]\nissuer = https://www.genesys.com/pureengage\n'
		printf 'certificate = %s\n' "$(tr -d '\n' <"$keys/cert.pem.b64")"
		printf 'pkey = %s\npassword = %s\n' "$1" "$2"
		printf '[saml_auth]\nclient_id = 7d1e2f3a-0000-4000-8000-00000000a001\n'
		printf 'password = SECRET-saml-auth-client\n'
	} >"$tmp/tenants/acme.cfg"
	chmod 600 "$tmp/tenants/acme.cfg"
}
printf '[broker]\ntenants_dir = %s/tenants\n' "$tmp" >"$tmp/samlbroker.conf"
chmod 600 "$tmp/samlbroker.conf"
uri="pkcs11:token=sbtest;object=acme;type=private?module-path=$module"

tenant "$uri" 4321
if ! "$bin" check -c "$tmp/samlbroker.conf" >"$tmp/out" 2>&1; then
	echo "FAIL: check refuses the token key:"; sed 's/^/    /' "$tmp/out"; exit 1
fi
if ! "$bin" mint -c "$tmp/samlbroker.conf" -t acme -u agent@example.com --xml \
    >"$tmp/m.xml" 2>"$tmp/out"; then
	echo "FAIL: mint with the token key:"; sed 's/^/    /' "$tmp/out"; exit 1
fi
id=$(sed -n 's/.*<saml:Assertion [^>]* ID="\([^"]*\)".*/\1/p' "$tmp/m.xml" | head -n 1)
if xmlsec1 --verify --enabled-reference-uris same-doc \
    --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion \
    --pubkey-cert-pem "$keys/cert.pem" --node-id "$id" "$tmp/m.xml" >"$tmp/out" 2>&1; then
	echo "ok   - a token-signed assertion verifies with the certificate"
else
	echo "FAIL - xmlsec1 does not verify the token-signed assertion"; fail=1
fi

# Two signer processes mint with the token key (no failures, none busy).
if "$top_builddir/tests/bench_pool" -c "$tmp/samlbroker.conf" -t acme -s 2 -n 100 -j 4 \
    --exe "$bin" >"$tmp/out" 2>&1 && grep -q 'mints=100 .* busy=0 failed=0' "$tmp/out"; then
	echo "ok   - signer processes mint with the token key"
else
	echo "FAIL - signer processes with the token key:"; sed 's/^/    /' "$tmp/out"; fail=1
fi

# refused PKEY PASSWORD EXPECTED-TEXT
refused() {
	tenant "$1" "$2"
	if "$bin" check -c "$tmp/samlbroker.conf" >"$tmp/out" 2>&1 || ! grep -qF "$3" "$tmp/out"; then
		echo "FAIL - not refused with '$3':"; sed 's/^/    /' "$tmp/out"; fail=1
	elif grep -q 9999 "$tmp/out"; then
		echo "FAIL - the PIN appears in the error"; fail=1
	else
		echo "ok   - refused: $3"
	fi
}
refused "$uri" 9999 "[saml] pkey: no private key found for this pkcs11: URI"
refused "pkcs11:token=sbtest;object=nosuchkey;type=private?module-path=$module" 4321 \
    "[saml] pkey: no private key found for this pkcs11: URI"
refused "pkcs11:token=sbtest;object=acme;type=private?pin-value=9999&module-path=$module" 4321 \
    "[saml] pkey: the PIN goes in password, not in the URI"
exit "$fail"

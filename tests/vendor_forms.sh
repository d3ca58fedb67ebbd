#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# vendor_forms.sh - the vendor's encoded files in every form a tenant file
# holds them (tests/data/vendor-forms/, made by its make-fixtures.sh from
# key files the vendor's exact openssl commands made): wrapped continuation
# lines, indented ones (spaces, a tab with CRLF, after an empty first
# line), and file: to the .b64 files, each for a PKCS#8 and a traditional
# encrypted key.  Each passes `samlbroker check` with the fixture's
# certificate and mints an assertion whose signature xmlsec1 verifies with
# cert.pem; the flat form of the same keys is the reference.  A .b64 pkey
# file others may read is refused, and a wrapped value cut short fails.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin="$top_builddir/samlbroker"
data="$top_srcdir/tests/data"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# A private copy: tenant files and key files must be the owner's only.
mkdir -p "$tmp/tests/data"
cp -R "$data/keys" "$data/vendor-forms" "$tmp/tests/data/" || exit 1
find "$tmp/tests" -type f -exec chmod 600 {} +
have_xmlsec=no
command -v xmlsec1 >/dev/null 2>&1 && have_xmlsec=yes

for dir in "$tmp"/tests/data/vendor-forms/*/; do
	case=$(basename "$dir")
	kind=${case%%-*}
	conf="$dir/samlbroker.conf"
	subject=$(openssl x509 -in "$tmp/tests/data/keys/vendor-$kind/cert.pem" -noout \
	    -subject -nameopt oneline,-esc_msb | sed 's/^subject= *//')
	if ${SAMLBROKER_WRAPPER:-} "$bin" check -c "$conf" > "$tmp/out" 2> "$tmp/err" &&
	    grep -qF "certificate=\"$subject\"" "$tmp/out" &&
	    grep -qx "configuration OK" "$tmp/out"; then
		pass "$case: check"
	else
		fail "$case: check: $(cat "$tmp/out" "$tmp/err")"
		continue
	fi
	if ! ${SAMLBROKER_WRAPPER:-} "$bin" mint -c "$conf" -t acme -u agent@example.com --xml \
	    > "$tmp/assertion.xml" 2> "$tmp/err"; then
		fail "$case: mint: $(cat "$tmp/err")"
		continue
	fi
	if [ $have_xmlsec = yes ]; then
		if xmlsec1 --verify --pubkey-cert-pem "$tmp/tests/data/keys/vendor-$kind/cert.pem" \
		    --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion \
		    --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response \
		    --node-xpath '//*[local-name()="Assertion"]/*[local-name()="Signature"]' \
		    "$tmp/assertion.xml" > /dev/null 2>&1; then
			pass "$case: mint, signature verifies with cert.pem"
		else
			fail "$case: the minted signature does not verify with cert.pem"
		fi
	else
		pass "$case: mint (xmlsec1 absent: signature not verified)"
	fi
done

# The pkey .b64 file as `openssl base64 -out` leaves it (0644): refused.
d="$tmp/tests/data/vendor-forms/pkcs8-file"
chmod 644 "$tmp/tests/data/keys/vendor-pkcs8/key.pem.enc.b64"
"$bin" check -c "$d/samlbroker.conf" > "$tmp/out" 2> "$tmp/err"
if [ $? = 1 ] && grep -q "\[saml\] pkey: file:.*key.pem.enc.b64: mode 0644 lets other users read" "$tmp/err"; then
	pass "a pkey file others may read is refused"
else
	fail "world-readable pkey file: $(cat "$tmp/err")"
fi
chmod 600 "$tmp/tests/data/keys/vendor-pkcs8/key.pem.enc.b64"

# A wrapped certificate whose last lines were lost: not a certificate.
d="$tmp/tests/data/vendor-forms/pkcs8-wrapped"
awk '/^certificate =/ { c = 1 } c && /^[A-Za-z0-9+\/=]+$/ && ++n > 20 { next } /^pkey =/ { c = 0 } { print }' \
    "$d/tenants/acme.cfg" > "$d/tenants/acme.new" && mv "$d/tenants/acme.new" "$d/tenants/acme.cfg"
chmod 600 "$d/tenants/acme.cfg"
"$bin" check -c "$d/samlbroker.conf" > "$tmp/out" 2> "$tmp/err"
if [ $? = 1 ] && grep -q "\[saml\] certificate: " "$tmp/err"; then
	pass "a wrapped certificate cut short is an error at [saml] certificate"
else
	fail "cut certificate: $(cat "$tmp/err")"
fi

# Nothing secret printed.
if grep -q "fixture-password-\|SECRET-" "$tmp/out" "$tmp/err"; then
	fail "a secret was printed"
fi
[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
